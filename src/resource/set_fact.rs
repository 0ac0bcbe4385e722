//! `set_fact`: sets host variables for the rest of the run.
use super::{ModuleKind, ModuleSpec};

/// Sets variables on the host; every parameter is a variable name.
///
/// ```yaml
/// - set_fact:
///     app_url: "https://{{ inventory_hostname }}/"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "set_fact",
    fqcn: "ansible.builtin.set_fact",
    kind: ModuleKind::Control,
    any_params: true,
    ..ModuleSpec::DEFAULT
};
