//! `import_tasks`: a task file expanded in place when the playbook is loaded.
use super::{FreeForm, IncludeKind, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Imports a task file statically; its keywords apply to every imported task.
///
/// ```yaml
/// - import_tasks: install.yml
///   tags: install
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "import_tasks",
    fqcn: "ansible.builtin.import_tasks",
    kind: ModuleKind::Include(IncludeKind::ImportTasks),
    free_form: FreeForm::Raw("file"),
    params: &[P::new("file", Str).required()],
    ..ModuleSpec::DEFAULT
};
