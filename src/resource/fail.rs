//! `fail`: fails the host with a message.
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Fails the host, usually under a `when`.
///
/// ```yaml
/// - fail:
///     msg: this role needs Debian
///   when: ansible_os_family != "Debian"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "fail",
    fqcn: "ansible.builtin.fail",
    kind: ModuleKind::Control,
    params: &[P::new("msg", Raw).default(D::Str("Failed as requested from task"))],
    ..ModuleSpec::DEFAULT
};
