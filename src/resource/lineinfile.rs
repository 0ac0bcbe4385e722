//! `lineinfile`: one line of a file, present or absent, found by regexp or content.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Ensures a line is in (or out of) a file.
///
/// ```yaml
/// - lineinfile:
///     path: /etc/default/app
///     regexp: '^PORT='
///     line: PORT=8081
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "lineinfile",
    fqcn: "ansible.builtin.lineinfile",
    params: &[
        P::new("path", Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        P::new("regexp", Str).aliases(&["regex"]),
        P::new("search_string", Str),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("line", Str).aliases(&["value"]),
        P::new("backrefs", Bool).default(D::Bool(false)),
        P::new("insertafter", Str),
        P::new("insertbefore", Str),
        P::new("create", Bool).default(D::Bool(false)),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("firstmatch", Bool).default(D::Bool(false)),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("validate", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    mutually_exclusive: &[
        &["insertbefore", "insertafter"],
        &["regexp", "search_string"],
        &["backrefs", "search_string"],
    ],
    ..ModuleSpec::DEFAULT
};
