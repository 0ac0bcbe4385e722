//! `template`: a file rendered from a Jinja2 template of the controller.
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use super::{content, DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

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
    build: Some(build),
    source_dir: Some("templates"),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&[
        "follow",
        "attributes",
        "output_encoding",
        "block_start_string",
        "block_end_string",
        "variable_start_string",
        "variable_end_string",
        "comment_start_string",
        "comment_end_string",
        "lstrip_blocks",
    ])?;
    let source = args.required_str("src")?;
    let mut text = context.render_template(&source)?;
    if let Some(newline) = args.str("newline_sequence")? {
        let newline = newline.replace("\\r", "\r").replace("\\n", "\n");
        if newline != "\n" {
            text = text.replace('\n', &newline);
        }
    }
    let name = source.strip_suffix(".j2").unwrap_or(&source);
    Ok(Box::new(content::from_args(args, text.into_bytes(), Some(name))?))
}
