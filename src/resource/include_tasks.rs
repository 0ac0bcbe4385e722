//! `include_tasks`: a task file included when the task runs (its name may be templated).
use super::{FreeForm, IncludeKind, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Includes a task file at run time; may loop and be conditional as a whole.
///
/// ```yaml
/// - include_tasks: "{{ ansible_distribution | lower }}.yml"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "include_tasks",
    fqcn: "ansible.builtin.include_tasks",
    kind: ModuleKind::Include(IncludeKind::IncludeTasks),
    free_form: FreeForm::Raw("file"),
    params: &[P::new("file", Str).required(), P::new("apply", Dict)],
    ..ModuleSpec::DEFAULT
};
