//! `debug`: prints a message or a variable; changes nothing.
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Prints a message or a variable's value.
///
/// ```yaml
/// - debug:
///     msg: "deploying {{ app_version }}"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "debug",
    fqcn: "ansible.builtin.debug",
    kind: ModuleKind::Control,
    params: &[
        P::new("msg", Raw).default(D::Str("Hello world!")),
        P::new("var", Str),
        P::new("verbosity", Int).default(D::Int(0)),
    ],
    mutually_exclusive: &[&["msg", "var"]],
    ..ModuleSpec::DEFAULT
};
