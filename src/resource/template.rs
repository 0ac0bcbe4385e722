//! `template`: a file rendered from a Jinja2 template of the controller.
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use crate::template::FileOptions;

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
        // Written escaped (`'\n'` in single quotes) or as the characters themselves.
        P::new("newline_sequence", Str).choices(&["\\n", "\\r", "\\r\\n", "\n", "\r", "\r\n"]),
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
    args.refuse(&["follow", "attributes", "output_encoding"])?;
    let source = args.required_str("src")?;
    let mut options = FileOptions {
        trim_blocks: args.bool("trim_blocks")?.unwrap_or(true),
        lstrip_blocks: args.bool("lstrip_blocks")?.unwrap_or(false),
        ..FileOptions::default()
    };
    if let Some(newline) = args.str("newline_sequence")? {
        // The task writes the sequence escaped (`\r\n`), as the module's choices are.
        options.newline_sequence = newline.replace("\\r", "\r").replace("\\n", "\n");
    }
    for (name, field) in [
        ("block_start_string", &mut options.block_start_string),
        ("block_end_string", &mut options.block_end_string),
        ("variable_start_string", &mut options.variable_start_string),
        ("variable_end_string", &mut options.variable_end_string),
        ("comment_start_string", &mut options.comment_start_string),
        ("comment_end_string", &mut options.comment_end_string),
    ] {
        if let Some(value) = args.str(name)? {
            *field = value;
        }
    }
    let text = context.render_template(&source, &options)?;
    let name = source.strip_suffix(".j2").unwrap_or(&source);
    Ok(Box::new(content::from_args(args, text.into_bytes(), Some(name))?))
}
