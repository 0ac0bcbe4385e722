//! `sysctl` (`ansible.posix.sysctl`): a kernel parameter in a sysctl file and, by default, live.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Sets a kernel parameter.
///
/// ```yaml
/// - sysctl:
///     name: vm.max_map_count
///     value: "262144"
///     sysctl_set: yes
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "sysctl",
    fqcn: "ansible.posix.sysctl",
    params: &[
        P::new("name", Str).required().aliases(&["key"]),
        P::new("value", Str).aliases(&["val"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["present", "absent"]),
        P::new("reload", Bool).default(D::Bool(true)),
        P::new("sysctl_file", Path).default(D::Str("/etc/sysctl.conf")),
        P::new("sysctl_set", Bool).default(D::Bool(false)),
        P::new("ignoreerrors", Bool).default(D::Bool(false)),
    ],
    required_if: &[("state", "present", &["value"])],
    ..ModuleSpec::DEFAULT
};
