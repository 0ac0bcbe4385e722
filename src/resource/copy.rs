//! `copy`: a file on the host with the content of a controller file or a literal string.
use anyhow::Result;
use serde_json::Value;

use super::lifecycle::{Args, BuildContext, Step};
use super::{content, DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Copies a file (from the role's `files/`) or literal content to the host.
///
/// ```yaml
/// - copy:
///     src: motd
///     dest: /etc/motd
///     mode: "0644"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "copy",
    fqcn: "ansible.builtin.copy",
    params: &[
        P::new("src", Path),
        P::new("content", Str),
        P::new("dest", Path).required(),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(true)).aliases(&["thirsty"]),
        P::new("remote_src", Bool).default(D::Bool(false)),
        P::new("validate", Str),
        P::new("directory_mode", Mode),
        P::new("follow", Bool).default(D::Bool(false)),
        P::new("local_follow", Bool).default(D::Bool(true)),
        P::new("checksum", Str),
        P::new("decrypt", Bool).default(D::Bool(true)),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    mutually_exclusive: &[&["src", "content"]],
    required_one_of: &[&["src", "content"]],
    build: Some(build),
    source_dir: Some("files"),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["remote_src", "directory_mode", "checksum", "attributes", "follow"])?;
    let source = args.str("src")?;
    let bytes = match (args.value("content"), &source) {
        // Ansible writes structured `content` as JSON.
        (Some(Value::String(text)), _) => text.into_bytes(),
        (Some(other), _) => serde_json::to_string(&other)?.into_bytes(),
        (None, Some(src)) => context.read_source(src)?,
        (None, None) => anyhow::bail!("`copy` needs `src` or `content`"),
    };
    Ok(Box::new(content::from_args(args, bytes, source.as_deref())?))
}
