//! `blockinfile`: a block of lines between `# BEGIN/END ANSIBLE MANAGED BLOCK` markers.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Ensures a marked block of text is in (or out of) a file.
///
/// ```yaml
/// - blockinfile:
///     path: /etc/hosts
///     block: |
///       10.0.0.1 db
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "blockinfile",
    fqcn: "ansible.builtin.blockinfile",
    params: &[
        P::new("path", Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("marker", Str).default(D::Str("# {mark} ANSIBLE MANAGED BLOCK")),
        P::new("block", Str).default(D::Str("")).aliases(&["content"]),
        P::new("insertafter", Str),
        P::new("insertbefore", Str),
        P::new("create", Bool).default(D::Bool(false)),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("marker_begin", Str).default(D::Str("BEGIN")),
        P::new("marker_end", Str).default(D::Str("END")),
        P::new("append_newline", Bool).default(D::Bool(false)),
        P::new("prepend_newline", Bool).default(D::Bool(false)),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("validate", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    mutually_exclusive: &[&["insertbefore", "insertafter"]],
    ..ModuleSpec::DEFAULT
};
