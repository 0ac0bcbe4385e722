//! `group`: a local group.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Manages a local group.
///
/// ```yaml
/// - group:
///     name: app
///     system: yes
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "group",
    fqcn: "ansible.builtin.group",
    params: &[
        P::new("name", Str).required(),
        P::new("gid", Int),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("system", Bool).default(D::Bool(false)),
        P::new("local", Bool).default(D::Bool(false)),
        P::new("non_unique", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("gid_min", Int),
        P::new("gid_max", Int),
    ],
    ..ModuleSpec::DEFAULT
};
