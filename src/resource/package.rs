//! `package`: packages through the host's package manager (`apt` on the fleet's Debian).
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Installs or removes packages, whatever the distribution's manager.
///
/// ```yaml
/// - package:
///     name: tree
///     state: present
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "package",
    fqcn: "ansible.builtin.package",
    params: &[
        P::new("name", List).required(),
        P::new("state", Str).required(),
        P::new("use", Str).default(D::Str("auto")),
    ],
    ..ModuleSpec::DEFAULT
};
