//! `wait_for`: waits for a port, a file or a pattern in a file.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Waits until a condition holds on the host (a port answers, a file appears).
///
/// ```yaml
/// - wait_for:
///     port: 9200
///     timeout: 60
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "wait_for",
    fqcn: "ansible.builtin.wait_for",
    params: &[
        P::new("host", Str).default(D::Str("127.0.0.1")),
        P::new("port", Int),
        P::new("path", Path),
        P::new("state", Str)
            .default(D::Str("started"))
            .choices(&["absent", "drained", "present", "started", "stopped"]),
        P::new("timeout", Int).default(D::Int(300)),
        P::new("connect_timeout", Int).default(D::Int(5)),
        P::new("delay", Int).default(D::Int(0)),
        P::new("sleep", Int).default(D::Int(1)),
        P::new("search_regex", Str),
        P::new("exclude_hosts", List),
        P::new("active_connection_states", List),
        P::new("msg", Str),
    ],
    mutually_exclusive: &[&["port", "path"]],
    ..ModuleSpec::DEFAULT
};
