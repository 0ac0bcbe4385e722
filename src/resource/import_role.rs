//! `import_role`: a role expanded in place when the playbook is loaded.
use super::{DefaultValue as D, IncludeKind, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Imports a role statically; its keywords apply to every task of the role.
///
/// ```yaml
/// - import_role:
///     name: common
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "import_role",
    fqcn: "ansible.builtin.import_role",
    kind: ModuleKind::Include(IncludeKind::ImportRole),
    params: &[
        P::new("name", Str).required(),
        P::new("tasks_from", Str).default(D::Str("main")),
        P::new("vars_from", Str).default(D::Str("main")),
        P::new("defaults_from", Str).default(D::Str("main")),
        P::new("handlers_from", Str).default(D::Str("main")),
        P::new("public", Bool).default(D::Bool(true)),
        P::new("allow_duplicates", Bool).default(D::Bool(true)),
        P::new("rolespec_validate", Bool).default(D::Bool(true)),
    ],
    ..ModuleSpec::DEFAULT
};
