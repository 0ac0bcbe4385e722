//! `template`: a file rendered from a Jinja2 template of the controller.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Renders a template (from the role's `templates/`) to a file on the host.
///
/// ```yaml
/// - template:
///     src: nginx.conf.j2
///     dest: /etc/nginx/nginx.conf
///   notify: reload nginx
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "template",
    fqcn: "ansible.builtin.template",
    params: &[
        P::new("src", Path).required(),
        P::new("dest", Path).required(),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(true)),
        P::new("validate", Str),
        P::new("newline_sequence", Str).choices(&["\\n", "\\r", "\\r\\n"]),
        P::new("trim_blocks", Bool).default(D::Bool(true)),
        P::new("lstrip_blocks", Bool).default(D::Bool(false)),
        P::new("block_start_string", Str),
        P::new("block_end_string", Str),
        P::new("variable_start_string", Str),
        P::new("variable_end_string", Str),
        P::new("comment_start_string", Str),
        P::new("comment_end_string", Str),
        P::new("output_encoding", Str),
        P::new("follow", Bool).default(D::Bool(false)),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    ..ModuleSpec::DEFAULT
};
