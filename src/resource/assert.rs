//! `assert`: fails the host when a condition does not hold.
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Checks conditions (Jinja expressions, as in `when`).
///
/// ```yaml
/// - assert:
///     that:
///       - app_port | int > 1024
///     fail_msg: app_port must be unprivileged
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "assert",
    fqcn: "ansible.builtin.assert",
    kind: ModuleKind::Control,
    params: &[
        P::new("that", List).required(),
        P::new("fail_msg", Raw).aliases(&["msg"]),
        P::new("success_msg", Raw),
        P::new("quiet", Bool).default(D::Bool(false)),
    ],
    ..ModuleSpec::DEFAULT
};
