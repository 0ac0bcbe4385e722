//! `systemd` (alias `systemd_service`): a unit's state, enablement and masking.
//!
//! `service` on a systemd host is this module too (Ansible's `service` action delegates to
//! `systemd` there), so both build the [`Service`] resource defined here. Decisions follow
//! Ansible's `systemd` module: `daemon_reload` first, then masking, enablement, state;
//! `restarted`/`reloaded` always act and count as a change; a unit that is not found fails.
//!
//! A bare `daemon_reload: true` is converged in the plan (Ansible reports it unchanged), but its
//! step keeps a script (see `support::Rechecked`) so a notified handler still reloads; so does
//! `daemon_reexec`. `scope: user` and `scope: global` point every `systemctl` call at that
//! manager (`--user`, with `XDG_RUNTIME_DIR` set to the user's runtime directory when missing,
//! as Ansible does; `--global`).
//!
//! Differences from Ansible: `force` and `no_block` are refused when given a value other
//! than their default.

use anyhow::{bail, Result};

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no, Rechecked};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

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
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["force", "no_block"])?;
    Ok(into_step(from_args(args, context)?))
}

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

/// The state a unit should reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitState {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl UnitState {
    fn parse(text: &str) -> Result<UnitState> {
        Ok(match text {
            "started" => UnitState::Started,
            "stopped" => UnitState::Stopped,
            "restarted" => UnitState::Restarted,
            "reloaded" => UnitState::Reloaded,
            other => bail!("unknown service state `{other}`"),
        })
    }
}

/// Which init system runs the host's services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    /// `/etc/init.d` scripts, `service NAME status`, `/etc/rc?.d` links.
    SysVinit,
}

/// A service or unit as `service` and `systemd` converge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Empty for a bare `daemon_reload`.
    pub name: String,
    pub state: Option<UnitState>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    pub manager: Manager,
    /// `systemd`'s `scope`: which service manager `systemctl` talks to.
    pub scope: Scope,
    /// What only a SysV init host uses (Ansible's `service` drops them on systemd hosts).
    pub sysv: SysvOptions,
}

/// The service manager a `systemd` task talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    System,
    /// The running user's manager (`systemctl --user`), found through `XDG_RUNTIME_DIR`.
    User,
    /// Every user's defaults (`systemctl --global`).
    Global,
}

/// `service`'s options for init scripts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysvOptions {
    /// Extra words given to the init script (`service NAME ACTION ARGUMENTS`).
    pub arguments: Vec<String>,
    /// Seconds between the stop and the start of a restart.
    pub sleep: Option<u64>,
    /// Running means a process whose command line contains this, instead of `status`.
    pub pattern: Option<String>,
}

/// What the probe saw of a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceState {
    /// The unit or its init script exists.
    pub found: bool,
    pub running: bool,
    /// `deactivating`: stopping already, but `stopped` still stops it, as Ansible does.
    pub deactivating: bool,
    pub enabled: bool,
    pub masked: bool,
    /// `ActiveState`/`SubState`, for the plan.
    pub active_state: String,
}

/// Shell functions for the apply script. They mirror what the probe prints and what Ansible's
/// `systemd` module decides from `systemctl` (enabled means `is-enabled` succeeded with
/// anything but `enabled-runtime`, `indirect` or `alias`, or an enabled SysV script).
const SYSTEMD_FUNCTIONS: &str = r#"deploy_unit_found() {
  [ "$(systemctl show -p LoadState --value -- "$u" 2>/dev/null)" != not-found ] || [ -e "/etc/init.d/$u" ]
}
deploy_unit_running() {
  case $(systemctl show -p ActiveState --value -- "$u" 2>/dev/null) in active|activating) return 0;; esac; return 1
}
deploy_unit_enabled() {
  _out=$(systemctl is-enabled -l -- "$u" 2>/dev/null); _rc=$?
  # systemd 252 lists the unit's links after its state: keep the first line only.
  _out=${_out%%"$deploy_nl"*}
  if [ "$_rc" -eq 0 ]; then
    case $_out in enabled-runtime|indirect|alias) return 1;; esac; return 0
  fi
  if [ "$_rc" -eq 1 ] && [ -e "/etc/init.d/$u" ]; then
    case $_out in *disabled) return 1;; esac
    for _l in /etc/rc?.d/S??"$u"; do [ -e "$_l" ] && return 0; done
  fi
  return 1
}
deploy_unit_missing() { printf 'Could not find the requested service %s: host\n' "$u" >&2; exit 1; }"#;

const SYSV_FUNCTIONS: &str = r#"deploy_unit_found() { [ -e "/etc/init.d/$u" ]; }
deploy_unit_running() { service "$u" status >/dev/null 2>&1; }
deploy_unit_enabled() {
  for _l in /etc/rc?.d/S??"$u"; do [ -e "$_l" ] && return 0; done; return 1
}
deploy_unit_missing() { printf 'Could not find the requested service %s: host\n' "$u" >&2; exit 1; }"#;

impl Service {
    /// Points every `systemctl` of the probe or apply script at the task's scope, as
    /// Ansible's module adds `--user`/`--global` to each call (with `XDG_RUNTIME_DIR` set to
    /// the user's runtime directory when missing).
    fn scope_prelude(&self, script: &mut Script) {
        match self.scope {
            Scope::System => {}
            Scope::User => {
                script.raw(r#"[ -n "${XDG_RUNTIME_DIR:-}" ] || { XDG_RUNTIME_DIR=/run/user/$(id -u); export XDG_RUNTIME_DIR; }"#);
                script.raw(r#"systemctl() { command systemctl --user "$@"; }"#);
            }
            Scope::Global => {
                script.raw(r#"systemctl() { command systemctl --global "$@"; }"#);
            }
        }
    }

    /// SysV helpers that the task's `pattern`, `arguments` and `sleep` replace.
    fn sysv_overrides(&self, script: &mut Script) {
        if let Some(pattern) = &self.sysv.pattern {
            // As Ansible's `ps auxww` check: any process whose command line holds the
            // pattern, read from /proc so that `ps` need not be installed.
            script.line("deploy_pattern={}", &[pattern]);
            script.raw(
                r#"deploy_unit_running() {
  for _c in /proc/[0-9]*/cmdline; do
    _a=$(tr '\000' ' ' < "$_c" 2>/dev/null) || continue
    case $_a in *"$deploy_pattern"*) return 0;; esac
  done; return 1
}"#,
            );
        }
        if !self.sysv.arguments.is_empty() || self.sysv.sleep.is_some() {
            // The arguments travel as one quoted command-line fragment, re-split by `eval`.
            let arguments = crate::shell::join_words(&self.sysv.arguments);
            script.line("deploy_args={}", &[&arguments]);
            script.line("deploy_sleep={}", &[&self.sysv.sleep.unwrap_or(0).to_string()]);
            script.raw(
                r#"deploy_unit_do() {
  if [ "$1" = restart ] && [ "$deploy_sleep" -gt 0 ]; then
    eval "service \"\$u\" stop $deploy_args" || { printf 'Unable to stop service %s\n' "$u" >&2; exit 1; }
    sleep "$deploy_sleep"; _do=start
  else _do=$1; fi
  eval "service \"\$u\" \"\$_do\" $deploy_args" || { printf 'Unable to %s service %s\n' "$_do" "$u" >&2; exit 1; }
  deploy_changed
}"#,
            );
        }
    }

    fn acts_on_unit(&self) -> bool {
        self.state.is_some() || self.enabled.is_some() || self.masked.is_some()
    }
}

impl Resource for Service {
    type State = ServiceState;

    fn target(&self) -> String {
        if self.name.is_empty() {
            "daemon-reload".to_string()
        } else {
            self.name.clone()
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        if !self.acts_on_unit() {
            return script;
        }
        script.line("u={}", &[&self.name]);
        self.scope_prelude(&mut script);
        match self.manager {
            Manager::Systemd => {
                script.raw(
                    "command -v systemctl >/dev/null || { echo 'systemctl is not on the host' >&2; exit 1; }",
                );
                script.raw("systemctl show -p LoadState -p ActiveState -p SubState -- \"$u\" || exit 1");
                // systemd 252 lists the unit's links after its state: keep the first line only.
                script.raw(
                    r#"e=$(systemctl is-enabled -l -- "$u" 2>/dev/null); echo "is_enabled_rc=$?"; echo "is_enabled=${e%%"$deploy_nl"*}""#,
                );
            }
            Manager::SysVinit if self.sysv.pattern.is_some() => {
                script.raw(r#"deploy_unit_running() { service "$u" status >/dev/null 2>&1; }"#);
                self.sysv_overrides(&mut script);
                script.raw(r#"if deploy_unit_running; then echo running=yes; else echo running=no; fi"#);
            }
            Manager::SysVinit => {
                script.raw(r#"if service "$u" status >/dev/null 2>&1; then echo running=yes; else echo running=no; fi"#);
            }
        }
        script.raw(r#"if [ -e "/etc/init.d/$u" ]; then echo initd=yes; else echo initd=no; fi"#);
        script.raw(r#"echo rc_links=no; for l in /etc/rc?.d/S??"$u"; do [ -e "$l" ] && { echo rc_links=yes; break; }; done"#);
        script
    }

    fn inspect(&self, out: &Section) -> Result<ServiceState> {
        if !self.acts_on_unit() {
            return Ok(ServiceState {
                found: true,
                running: false,
                deactivating: false,
                enabled: false,
                masked: false,
                active_state: String::new(),
            });
        }
        let pairs = key_values(out)?;
        let initd = yes_no(value_of(&pairs, "initd"), "initd")?;
        // The last `rc_links` line wins: `no` is printed first, `yes` after it when found.
        let rc_links = pairs
            .iter()
            .rev()
            .find(|(k, _)| k == "rc_links")
            .map(|(_, v)| v.as_str());
        let rc_links = yes_no(rc_links, "rc_links")?;
        match self.manager {
            Manager::SysVinit => {
                let running = yes_no(value_of(&pairs, "running"), "running")?;
                Ok(ServiceState {
                    found: initd,
                    running,
                    deactivating: false,
                    enabled: rc_links,
                    masked: false,
                    active_state: if running { "running" } else { "stopped" }.to_string(),
                })
            }
            Manager::Systemd => {
                let field = |key: &str| {
                    value_of(&pairs, key).ok_or_else(|| {
                        anyhow::anyhow!("probe: systemctl show printed no {key} for {}", self.name)
                    })
                };
                let load = field("LoadState")?;
                let active = field("ActiveState")?;
                let sub = field("SubState")?;
                let is_enabled = field("is_enabled")?;
                let rc: i32 = field("is_enabled_rc")?
                    .parse()
                    .map_err(|_| anyhow::anyhow!("probe: bad is_enabled_rc"))?;
                let enabled = match rc {
                    0 => !matches!(is_enabled, "enabled-runtime" | "indirect" | "alias"),
                    1 => initd && !is_enabled.ends_with("disabled") && rc_links,
                    _ => false,
                };
                Ok(ServiceState {
                    found: load != "not-found" || initd,
                    running: matches!(active, "active" | "activating"),
                    deactivating: active == "deactivating",
                    enabled,
                    masked: is_enabled == "masked",
                    active_state: format!("{active}/{sub}"),
                })
            }
        }
    }

    fn diff(&self, have: &ServiceState) -> Diff {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut attributes = Vec::new();
        if let Some(masked) = self.masked {
            if masked != have.masked {
                attributes.push(AttributeChange::new(
                    "masked",
                    Some(yes_no(have.masked)),
                    Some(yes_no(masked)),
                ));
            }
        }
        if let Some(enabled) = self.enabled {
            if enabled != have.enabled || !have.found {
                attributes.push(AttributeChange::new(
                    "enabled",
                    Some(yes_no(have.enabled)),
                    Some(yes_no(enabled)),
                ));
            }
        }
        let running = if have.running { "started" } else { "stopped" };
        let mut always = false;
        match self.state {
            None => {}
            Some(UnitState::Started) if !have.running || !have.found => {
                attributes.push(AttributeChange::new("state", Some(running), Some("started")));
            }
            Some(UnitState::Stopped) if have.running || have.deactivating => {
                attributes.push(AttributeChange::new("state", Some(running), Some("stopped")));
            }
            Some(UnitState::Started | UnitState::Stopped) => {}
            Some(state @ (UnitState::Restarted | UnitState::Reloaded)) => {
                always = true;
                let verb = match (state, have.running) {
                    (_, false) => "started",
                    (UnitState::Restarted, true) => "restarted",
                    _ => "reloaded",
                };
                attributes.push(AttributeChange::new("state", Some(running), Some(verb)));
            }
        }
        if !have.found {
            // An earlier step (a package) may install it: known after apply, checked there.
            attributes.push(AttributeChange::new(
                "not found on the host yet",
                None::<String>,
                None::<String>,
            ));
            let mut diff = Diff::new(Action::Unknown);
            diff.attributes = attributes;
            return diff;
        }
        let mut diff = Diff::from_attributes(attributes);
        if always {
            diff.action = Action::Run;
        }
        diff
    }

    fn apply(&self, _have: &ServiceState, diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        self.scope_prelude(&mut script);
        if self.daemon_reload {
            script.raw("systemctl daemon-reload || { echo 'failure during daemon-reload' >&2; exit 1; }");
        }
        if self.daemon_reexec {
            script.raw("systemctl daemon-reexec || { echo 'failure during daemon-reexec' >&2; exit 1; }");
        }
        if !self.acts_on_unit() || (diff.is_converged() && !self.daemon_reload) {
            return script;
        }
        script.line("u={}", &[&self.name]);
        script.raw(match self.manager {
            Manager::Systemd => SYSTEMD_FUNCTIONS,
            Manager::SysVinit => SYSV_FUNCTIONS,
        });
        if let Some(masked) = self.masked {
            // systemd can mask a unit that is not installed yet, so no existence check here.
            if masked {
                script.raw(r#"if [ "$(systemctl is-enabled -- "$u" 2>/dev/null)" != masked ]; then systemctl mask -- "$u" || exit 1; deploy_changed; fi"#);
            } else {
                script.raw(r#"if [ "$(systemctl is-enabled -- "$u" 2>/dev/null)" = masked ]; then systemctl unmask -- "$u" || exit 1; deploy_changed; fi"#);
            }
        }
        if self.enabled.is_some() || self.state.is_some() {
            script.raw("deploy_unit_found || deploy_unit_missing");
        }
        match (self.enabled, self.manager) {
            (Some(true), Manager::Systemd) => script.raw(
                r#"deploy_unit_enabled || { systemctl enable -- "$u" >&2 || { printf 'Unable to enable service %s\n' "$u" >&2; exit 1; }; deploy_changed; }"#,
            ),
            (Some(false), Manager::Systemd) => script.raw(
                r#"! deploy_unit_enabled || { systemctl disable -- "$u" >&2 || { printf 'Unable to disable service %s\n' "$u" >&2; exit 1; }; deploy_changed; }"#,
            ),
            (Some(true), Manager::SysVinit) => script.raw(
                r#"deploy_unit_enabled || { { update-rc.d "$u" defaults && update-rc.d "$u" enable; } >&2 || { printf 'Unable to enable service %s\n' "$u" >&2; exit 1; }; deploy_changed; }"#,
            ),
            (Some(false), Manager::SysVinit) => script.raw(
                r#"! deploy_unit_enabled || { update-rc.d "$u" disable >&2 || { printf 'Unable to disable service %s\n' "$u" >&2; exit 1; }; deploy_changed; }"#,
            ),
            (None, _) => &mut script,
        };
        let control = match self.manager {
            Manager::Systemd => {
                r#"deploy_unit_do() { systemctl "$1" -- "$u" || { printf 'Unable to %s service %s\n' "$1" "$u" >&2; exit 1; }; deploy_changed; }"#
            }
            Manager::SysVinit => {
                r#"deploy_unit_do() { service "$u" "$1" || { printf 'Unable to %s service %s\n' "$1" "$u" >&2; exit 1; }; deploy_changed; }"#
            }
        };
        if self.state.is_some() {
            script.raw(control);
            if self.manager == Manager::SysVinit {
                self.sysv_overrides(&mut script);
            }
        }
        match (self.state, self.manager) {
            (Some(UnitState::Started), _) => script.raw("deploy_unit_running || deploy_unit_do start"),
            (Some(UnitState::Stopped), Manager::Systemd) => script.raw(
                r#"case $(systemctl show -p ActiveState --value -- "$u" 2>/dev/null) in active|activating|deactivating) deploy_unit_do stop;; esac"#,
            ),
            (Some(UnitState::Stopped), Manager::SysVinit) => script.raw("! deploy_unit_running || deploy_unit_do stop"),
            (Some(UnitState::Restarted), _) => {
                script.raw("if deploy_unit_running; then deploy_unit_do restart; else deploy_unit_do start; fi")
            }
            (Some(UnitState::Reloaded), _) => {
                script.raw("if deploy_unit_running; then deploy_unit_do reload; else deploy_unit_do start; fi")
            }
            (None, _) => &mut script,
        };
        script
    }
}

/// Builds the resource for `service` or `systemd` from their shared parameters.
pub fn from_args(args: &Args, context: &dyn BuildContext) -> Result<Service> {
    let manager = match context
        .fact("ansible_service_mgr")
        .as_ref()
        .and_then(|v| v.as_str())
    {
        Some("systemd") => Manager::Systemd,
        Some("sysvinit" | "service") => Manager::SysVinit,
        Some(other) => bail!(
            "`{}` supports systemd and SysV init, not the host's {other}",
            args.module()
        ),
        None => bail!(
            "`{}` needs the fact ansible_service_mgr (facts were not gathered)",
            args.module()
        ),
    };
    let service = Service {
        name: args.str("name")?.unwrap_or_default(),
        state: args.str("state")?.as_deref().map(UnitState::parse).transpose()?,
        enabled: args.bool("enabled")?,
        // `service` has none of these: they read as not given.
        masked: args.bool("masked")?,
        daemon_reload: args.flag("daemon_reload")?,
        daemon_reexec: args.flag("daemon_reexec")?,
        manager,
        scope: match args.str("scope")?.as_deref() {
            None | Some("system") => Scope::System,
            Some("user") => Scope::User,
            Some("global") => Scope::Global,
            Some(other) => bail!("unknown scope `{other}`"),
        },
        // `service` has these and `systemd` does not: on systemd hosts Ansible's `service`
        // drops them (with a warning), so they are read for SysV init only.
        sysv: if manager == Manager::SysVinit {
            SysvOptions {
                arguments: crate::shell::split(&args.str("arguments")?.unwrap_or_default(), false)
                    .map_err(|e| anyhow::anyhow!("cannot split `arguments`: {e}"))?,
                sleep: args
                    .int("sleep")?
                    .map(|s| u64::try_from(s).map_err(|_| anyhow::anyhow!("`sleep` must not be negative")))
                    .transpose()?,
                pattern: args.str("pattern")?.filter(|p| !p.is_empty()),
            }
        } else {
            SysvOptions::default()
        },
    };
    if manager == Manager::SysVinit
        && (service.masked.is_some() || service.daemon_reload || service.daemon_reexec)
    {
        bail!("`masked`, `daemon_reload` and `daemon_reexec` need systemd, and the host runs SysV init");
    }
    if service.name.is_empty() && service.acts_on_unit() {
        bail!("`{}` needs `name` to change a unit", args.module());
    }
    Ok(service)
}

/// The step for a service: a bare `daemon_reload` and a `daemon_reload` before other changes
/// keep their script even when converged (see [`Rechecked`]).
pub fn into_step(service: Service) -> Box<dyn Step> {
    if service.daemon_reload || service.daemon_reexec {
        Box::new(Rechecked(service))
    } else {
        Box::new(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, run_apply, section, Facts};
    use serde_json::json;

    const RUNNING_ENABLED: &str = "LoadState=loaded\nActiveState=active\nSubState=running\n\
        is_enabled_rc=0\nis_enabled=enabled\ninitd=no\nrc_links=no\n";
    const STOPPED_DISABLED: &str = "ActiveState=inactive\nSubState=dead\nLoadState=loaded\n\
        is_enabled_rc=1\nis_enabled=disabled\ninitd=no\nrc_links=no\n";
    const NOT_FOUND: &str = "LoadState=not-found\nActiveState=inactive\nSubState=dead\n\
        is_enabled_rc=4\nis_enabled=\ninitd=no\nrc_links=no\n";

    fn plan(params: serde_json::Value, probe: &str) -> (Diff, Script) {
        build(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap()
    }

    #[test]
    fn a_running_enabled_unit_is_converged() {
        let (diff, script) = plan(
            json!({"name": "nginx", "state": "started", "enabled": true}),
            RUNNING_ENABLED,
        );
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
    }

    #[test]
    fn a_stopped_disabled_unit_is_started_and_enabled() {
        let (diff, script) = plan(
            json!({"name": "nginx", "state": "started", "enabled": true}),
            STOPPED_DISABLED,
        );
        assert_eq!(diff.action, Action::Change);
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert_eq!(shown, ["enabled no → yes", "state stopped → started"]);
        let text = script.as_str();
        assert!(text.contains("u=nginx\n"));
        assert!(text.contains("deploy_unit_running || deploy_unit_do start"));
        assert!(text.contains("systemctl enable"));
    }

    #[test]
    fn stopping_and_disabling() {
        let (diff, script) = plan(
            json!({"name": "nginx", "state": "stopped", "enabled": false}),
            RUNNING_ENABLED,
        );
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert_eq!(shown, ["enabled yes → no", "state started → stopped"]);
        assert!(script.as_str().contains("systemctl disable"));
        let deactivating = STOPPED_DISABLED.replace("ActiveState=inactive", "ActiveState=deactivating");
        let (diff, _) = plan(json!({"name": "nginx", "state": "stopped"}), &deactivating);
        assert_eq!(diff.action, Action::Change, "Ansible stops a deactivating unit");
    }

    #[test]
    fn restarted_and_reloaded_always_run() {
        let (diff, script) = plan(json!({"name": "nginx", "state": "restarted"}), RUNNING_ENABLED);
        assert_eq!(diff.action, Action::Run);
        assert_eq!(diff.attributes[0].describe(), "state started → restarted");
        assert!(script.as_str().contains("deploy_unit_do restart"));
        let (diff, _) = plan(json!({"name": "nginx", "state": "reloaded"}), STOPPED_DISABLED);
        assert_eq!(diff.attributes[0].describe(), "state stopped → started");
    }

    #[test]
    fn a_missing_unit_is_known_after_apply_and_fails_there() {
        let (diff, script) = plan(json!({"name": "nginx", "state": "started"}), NOT_FOUND);
        assert_eq!(diff.action, Action::Unknown);
        assert!(script
            .as_str()
            .contains("deploy_unit_found || deploy_unit_missing"));
    }

    #[test]
    fn enablement_follows_ansible() {
        for (is_enabled, rc, enabled) in [
            ("static", 0, true),
            ("indirect", 0, false),
            ("enabled-runtime", 0, false),
            ("alias", 0, false),
            ("generated", 0, true),
            ("masked", 1, false),
        ] {
            let probe = RUNNING_ENABLED
                .replace("is_enabled_rc=0", &format!("is_enabled_rc={rc}"))
                .replace("is_enabled=enabled", &format!("is_enabled={is_enabled}"));
            let (diff, _) = plan(json!({"name": "x", "enabled": true}), &probe);
            assert_eq!(diff.is_converged(), enabled, "{is_enabled}");
        }
        // A SysV script enabled through rc links, seen by systemd as generated but disabled.
        let probe = "LoadState=loaded\nActiveState=active\nSubState=running\n\
            is_enabled_rc=1\nis_enabled=\ninitd=yes\nrc_links=no\nrc_links=yes\n";
        assert!(plan(json!({"name": "x", "enabled": true}), probe)
            .0
            .is_converged());
    }

    #[test]
    fn masking() {
        let masked = "LoadState=masked\nActiveState=inactive\nSubState=dead\n\
            is_enabled_rc=1\nis_enabled=masked\ninitd=no\nrc_links=no\n";
        assert!(plan(json!({"name": "x", "masked": true}), masked)
            .0
            .is_converged());
        let (diff, script) = plan(json!({"name": "x", "masked": true}), RUNNING_ENABLED);
        assert_eq!(diff.attributes[0].describe(), "masked no → yes");
        assert!(script.as_str().contains("systemctl mask"));
    }

    #[test]
    fn a_bare_daemon_reload_is_converged_but_keeps_its_script() {
        let step = build(&SPEC, json!({"daemon_reload": true}), &NoContext).unwrap();
        assert!(step.probe().is_empty());
        let (diff, script) = step.plan(&section("")).unwrap();
        assert!(
            diff.is_converged(),
            "Ansible reports a bare daemon-reload unchanged"
        );
        assert!(script.as_str().contains("systemctl daemon-reload"));
        assert!(!script.as_str().contains("deploy_changed"));
        let (diff, script) = plan(
            json!({"name": "app", "state": "started", "daemon_reload": true}),
            RUNNING_ENABLED,
        );
        assert!(diff.is_converged());
        assert!(script
            .as_str()
            .starts_with("exec </dev/null\nsystemctl daemon-reload"));
    }

    #[test]
    fn refuses_what_it_does_not_do() {
        let err = build(
            &SPEC,
            json!({"name": "x", "state": "started", "no_block": true}),
            &NoContext,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("no_block"), "{err}");
        let err = build(
            &SPEC,
            json!({"name": "x", "masked": true}),
            &Facts(&[("ansible_service_mgr", "sysvinit")]),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("need systemd"), "{err}");
        assert!(build(&SPEC, json!({"name": "x", "state": "started"}), &Facts(&[])).is_err());
    }

    #[test]
    fn a_user_scope_talks_to_the_users_manager_and_sysv_options_reach_init_scripts() {
        let step = build(
            &SPEC,
            json!({"name": "app", "state": "started", "scope": "user"}),
            &NoContext,
        )
        .unwrap();
        let probe = step.probe();
        assert!(probe.as_str().contains(r#"systemctl() { command systemctl --user "$@"; }"#));
        assert!(probe.as_str().contains("XDG_RUNTIME_DIR=/run/user/$(id -u)"));
        let sysv = Facts(&[("ansible_service_mgr", "sysvinit")]);
        let step = build(
            &crate::resource::service::SPEC,
            json!({"name": "ntp", "state": "restarted", "sleep": 2, "pattern": "ntpd -g", "arguments": "--quiet 'a b'"}),
            &sysv,
        )
        .unwrap();
        assert!(step.probe().as_str().contains("deploy_pattern='ntpd -g'"));
        let (_, script) = step.plan(&section("running=yes\ninitd=yes\nrc_links=yes\n")).unwrap();
        let text = script.as_str();
        let arguments = crate::shell::join_words(&["--quiet", "a b"]);
        assert!(text.contains(&format!("deploy_args={}", crate::shell::quote(&arguments))), "{text}");
        assert!(text.contains("deploy_sleep=2"));
        // On systemd, Ansible's `service` drops them: so does deploy.
        let step = build(
            &crate::resource::service::SPEC,
            json!({"name": "ntp", "state": "started", "sleep": 2, "pattern": "ntpd"}),
            &NoContext,
        )
        .unwrap();
        assert!(!step.probe().as_str().contains("deploy_pattern"));
    }

    /// A stand-in `systemctl` keeping each unit's state in files, to run apply scripts for real.
    const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
d=$(dirname "$0")/state
echo "$*" >> "$d/calls"
case $1 in
show) shift; unit=; prop=; while [ $# -gt 0 ]; do case $1 in -p) prop=$2; shift;; --value|--) ;; *) unit=$1;; esac; shift; done
  if [ "$prop" = LoadState ]; then echo loaded; else cat "$d/$unit.active"; fi;;
is-enabled) for a; do unit=$a; done; s=$(cat "$d/$unit.enabled"); echo "$s"; [ "$s" = enabled ];;
start|restart|reload) echo active > "$d/$3.active";;
stop) echo inactive > "$d/$3.active";;
enable) echo enabled > "$d/$3.enabled";;
disable) echo disabled > "$d/$3.enabled";;
daemon-reload) ;;
esac
"#;

    #[test]
    fn apply_re_checks_on_the_host() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(bin.join("state")).unwrap();
        let fake = bin.join("systemctl");
        std::fs::write(&fake, FAKE_SYSTEMCTL).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("state/web.active"), "inactive\n").unwrap();
        std::fs::write(bin.join("state/web.enabled"), "disabled\n").unwrap();
        let (_, script) = plan(
            json!({"name": "web", "state": "started", "enabled": true}),
            STOPPED_DISABLED,
        );
        let mut with_path = Script::new();
        with_path.line("PATH={}:$PATH", &[bin.to_str().unwrap()]);
        with_path.append(&script);
        let (out, changed) = run_apply(&with_path, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        let calls = std::fs::read_to_string(bin.join("state/calls")).unwrap();
        assert!(
            calls.contains("enable -- web") && calls.contains("start -- web"),
            "{calls}"
        );
        // The same script again: the host already matches, nothing runs, nothing changes.
        std::fs::write(bin.join("state/calls"), "").unwrap();
        let (out, changed) = run_apply(&with_path, dir.path());
        assert!(out.status.success());
        assert!(!changed);
        let calls = std::fs::read_to_string(bin.join("state/calls")).unwrap();
        assert!(!calls.contains("start") && !calls.contains("enable "), "{calls}");
    }
}
