//! `systemd` (alias `systemd_service`): a unit's state, enablement and masking.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Manages a systemd unit; `daemon_reload` re-reads unit files first.
///
/// ```yaml
/// - systemd:
///     name: app.service
///     state: restarted
///     daemon_reload: yes
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "systemd",
    fqcn: "ansible.builtin.systemd",
    aliases: &["systemd_service"],
    params: &[
        P::new("name", Str).aliases(&["service", "unit"]),
        P::new("state", Str).choices(&["reloaded", "restarted", "started", "stopped"]),
        P::new("enabled", Bool),
        P::new("force", Bool),
        P::new("masked", Bool),
        P::new("daemon_reload", Bool)
            .default(D::Bool(false))
            .aliases(&["daemon-reload"]),
        P::new("daemon_reexec", Bool)
            .default(D::Bool(false))
            .aliases(&["daemon-reexec"]),
        P::new("scope", Str)
            .default(D::Str("system"))
            .choices(&["system", "user", "global"]),
        P::new("no_block", Bool).default(D::Bool(false)),
    ],
    required_one_of: &[&["state", "enabled", "masked", "daemon_reload", "daemon_reexec"]],
    validate: Some(needs_name),
    ..ModuleSpec::DEFAULT
};

/// A unit name is needed for anything but a bare daemon reload or re-exec.
fn needs_name(spec: &ModuleSpec, params: &super::Params, pos: &crate::error::Pos) -> anyhow::Result<()> {
    let acts_on_unit = ["state", "enabled", "masked"]
        .iter()
        .any(|p| params.contains_key(*p));
    if acts_on_unit && !params.contains_key("name") {
        return Err(crate::error::located_hint(
            pos,
            format!(
                "`{}` needs the parameter `name` to change a unit's state",
                spec.name
            ),
            "add `name: UNIT`",
        ));
    }
    Ok(())
}
