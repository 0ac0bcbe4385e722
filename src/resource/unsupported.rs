//! The stand-in for a module `deploy` does not run: Ansible has it (a builtin, a collection's,
//! one for another OS family), so a task naming it loads, with its parameters kept as written,
//! and a host that reaches it fails with the reason the loader recorded on the task
//! (`Task::unsupported`). It is not in the registry: nothing resolves to it by name.

use super::{FreeForm, ModuleKind, ModuleSpec};

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "unsupported",
    fqcn: "",
    kind: ModuleKind::Resource,
    // Free text too: `yum: name=httpd state=present` and `win_shell: dir` load alike.
    free_form: FreeForm::Raw("_raw_params"),
    any_params: true,
    ..ModuleSpec::DEFAULT
};
