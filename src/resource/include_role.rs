//! `include_role`: a role run as a task, when the task runs.
use super::{DefaultValue as D, IncludeKind, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Runs a role (or one of its task files) as a task.
///
/// ```yaml
/// - include_role:
///     name: nginx
///     tasks_from: vhost
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "include_role",
    fqcn: "ansible.builtin.include_role",
    kind: ModuleKind::Include(IncludeKind::IncludeRole),
    params: &[
        P::new("name", Str).required(),
        P::new("tasks_from", Str).default(D::Str("main")),
        P::new("vars_from", Str).default(D::Str("main")),
        P::new("defaults_from", Str).default(D::Str("main")),
        P::new("handlers_from", Str).default(D::Str("main")),
        P::new("apply", Dict),
        P::new("public", Bool).default(D::Bool(false)),
        P::new("allow_duplicates", Bool).default(D::Bool(true)),
        P::new("rolespec_validate", Bool).default(D::Bool(true)),
    ],
    ..ModuleSpec::DEFAULT
};
