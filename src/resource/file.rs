//! `file`: a path's existence, type (file, directory, link), mode and ownership.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Sets the state of a path.
///
/// ```yaml
/// - file:
///     path: /srv/app
///     state: directory
///     owner: app
///     mode: "0755"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "file",
    fqcn: "ansible.builtin.file",
    params: &[
        P::new("path", Path).required().aliases(&["dest", "name"]),
        P::new("state", Str).choices(&["absent", "directory", "file", "hard", "link", "touch"]),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("src", Path),
        P::new("recurse", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("follow", Bool).default(D::Bool(true)),
        P::new("modification_time", Str),
        P::new("modification_time_format", Str),
        P::new("access_time", Str),
        P::new("access_time_format", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    required_if: &[("state", "link", &["src"]), ("state", "hard", &["src"])],
    ..ModuleSpec::DEFAULT
};
