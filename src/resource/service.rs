//! `service`: a service running or stopped, enabled at boot or not.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Manages a service through the host's init system (systemd on the fleet).
///
/// ```yaml
/// - service:
///     name: nginx
///     state: started
///     enabled: yes
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "service",
    fqcn: "ansible.builtin.service",
    params: &[
        P::new("name", Str).required(),
        P::new("state", Str).choices(&["reloaded", "restarted", "started", "stopped"]),
        P::new("enabled", Bool),
        P::new("sleep", Int),
        P::new("pattern", Str),
        P::new("arguments", Str).default(D::Str("")).aliases(&["args"]),
        P::new("runlevel", Str).default(D::Str("default")),
        P::new("use", Str).default(D::Str("auto")),
    ],
    required_one_of: &[&["state", "enabled"]],
    ..ModuleSpec::DEFAULT
};
