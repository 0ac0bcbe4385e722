//! `service`: a service running or stopped, enabled at boot or not.
//!
//! On systemd hosts it is the `systemd` module's resource; see `systemd.rs`. There, as
//! Ansible's `service` action drops them, `sleep`, `pattern` and `arguments` have no effect;
//! on a SysV init host, `arguments` go to the init script, `sleep` is the pause between the
//! stop and the start of a restart, and `pattern` decides whether the service runs (a
//! process whose command line contains it, read from `/proc`).
//!
//! Differences from Ansible: `runlevel` is refused when given a value other than its default.
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
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
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["runlevel"])?;
    if let Some(manager) = args.str("use")?.filter(|u| u != "auto") {
        if !matches!(manager.as_str(), "systemd" | "sysvinit" | "service") {
            anyhow::bail!("`service` with `use: {manager}` is not supported by deploy");
        }
    }
    Ok(super::systemd::into_step(super::systemd::from_args(
        args, context,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section, Facts};
    use serde_json::json;

    #[test]
    fn on_systemd_it_is_the_systemd_resource() {
        let step = build(&SPEC, json!({"name": "nginx", "state": "reloaded"}), &NoContext).unwrap();
        assert!(step.probe().as_str().contains("systemctl show"));
        let probe = "LoadState=loaded\nActiveState=active\nSubState=running\nis_enabled_rc=0\n\
            is_enabled=enabled\ninitd=yes\nrc_links=no\nrc_links=yes\n";
        let (diff, script) = step.plan(&section(probe)).unwrap();
        assert_eq!(diff.action, Action::Run);
        assert!(script.as_str().contains("deploy_unit_do reload"));
    }

    #[test]
    fn on_sysv_it_uses_init_scripts() {
        let sysv = Facts(&[("ansible_service_mgr", "sysvinit")]);
        let step = build(
            &SPEC,
            json!({"name": "ntp", "state": "started", "enabled": true}),
            &sysv,
        )
        .unwrap();
        assert!(step.probe().as_str().contains("service \"$u\" status"));
        let (diff, _) = step
            .plan(&section("running=yes\ninitd=yes\nrc_links=no\nrc_links=yes\n"))
            .unwrap();
        assert!(diff.is_converged());
        let (diff, script) = step
            .plan(&section("running=no\ninitd=yes\nrc_links=no\n"))
            .unwrap();
        assert_eq!(diff.attributes.len(), 2);
        assert!(script.as_str().contains("update-rc.d"));
    }

    #[test]
    fn refuses_unsupported_parameters() {
        let err = build(
            &SPEC,
            json!({"name": "x", "state": "started", "runlevel": "3"}),
            &NoContext,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("runlevel"), "{err}");
    }
}
