//! `timezone` (`community.general.timezone`): the system's time zone and whether the hardware
//! clock keeps local time, read and set with `timedatectl` as the Ansible module does on
//! systemd hosts.
//!
//! The probe reads `timedatectl status` (the two lines Ansible's regular expressions read) and
//! whether the zone exists under `/usr/share/zoneinfo`, so an unknown zone fails at plan time,
//! as the module fails before changing anything. Where `timedatectl` cannot answer (no systemd
//! running), the zone is read from `/etc/timezone` and set there and in the `/etc/localtime`
//! link, which is what Ansible's fallback does on Debian.
//!
//! Differences from Ansible: without a usable `timedatectl`, `hwclock` is refused rather than
//! edited in `/etc/adjtime`; the `diff` return value is left out.

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::detach_stdin;
use super::{ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Sets the system time zone.
///
/// ```yaml
/// - timezone:
///     name: Europe/Paris
///     hwclock: UTC
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "timezone",
    fqcn: "community.general.timezone",
    params: &[
        P::new("name", Str),
        P::new("hwclock", Str)
            .choices(&["local", "UTC"])
            .aliases(&["rtc"]),
    ],
    required_one_of: &[&["name", "hwclock"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let name = args.str("name")?;
    let hwclock = args.str("hwclock")?;
    if name.is_none() && hwclock.is_none() {
        bail!("one of the following is required: hwclock, name");
    }
    if let Some(name) = &name {
        // The zone names a file under /usr/share/zoneinfo; `..` would leave that directory.
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|p| p == ".." || p.is_empty()) {
            bail!("given timezone \"{name}\" is not available");
        }
    }
    if let Some(clock) = &hwclock {
        if clock != "local" && clock != "UTC" {
            bail!("value of hwclock must be one of: local, UTC, got: {clock}");
        }
    }
    Ok(Box::new(Timezone { name, hwclock }))
}

/// The time zone and the hardware clock's reference, as asked.
#[derive(Debug)]
pub struct Timezone {
    pub name: Option<String>,
    /// `local` or `UTC`.
    pub hwclock: Option<String>,
}

/// What the probe found.
#[derive(Debug, PartialEq, Eq)]
pub struct TimezoneState {
    /// Whether `timedatectl status` answered, so that it is the tool to set with.
    pub timedatectl: bool,
    pub name: Option<String>,
    /// `local` or `UTC`, when `timedatectl` says.
    pub hwclock: Option<String>,
    /// Whether the wanted zone's file exists.
    pub zone_known: bool,
}

/// The value after `label:` on a line of `timedatectl status`, as Ansible's regular expressions
/// read it (`Time zone: Etc/UTC (UTC, +0000)` gives `Etc/UTC`).
fn status_value(status: &str, matches: fn(&str) -> bool) -> Option<String> {
    status.lines().find_map(|line| {
        let (label, value) = line.split_once(':')?;
        matches(label.trim()).then(|| value.split_whitespace().next().map(str::to_string))?
    })
}

/// Parses the probe's output (pure, for tests).
pub fn parse_probe(out: &Section) -> Result<TimezoneState> {
    let pairs = key_values(out)?;
    let zone_known = value_of(&pairs, "zone") != Some("missing");
    match value_of(&pairs, "timedatectl") {
        Some("yes") => {
            let status = value_of(&pairs, "status").context("probe: no timedatectl status")?;
            let status = base64::engine::general_purpose::STANDARD.decode(status).context("probe: bad base64 in status")?;
            let status = String::from_utf8_lossy(&status);
            let name = status_value(&status, |l| l == "Time zone" || l == "Timezone");
            let hwclock = status_value(&status, |l| l == "RTC in local TZ")
                .map(|v| if super::parse_bool(&v) == Some(true) { "local" } else { "UTC" }.to_string());
            Ok(TimezoneState {
                timedatectl: true,
                name,
                hwclock,
                zone_known,
            })
        }
        Some("no") => Ok(TimezoneState {
            timedatectl: false,
            name: value_of(&pairs, "etc_timezone")
                .and_then(|v| v.split_whitespace().next())
                .map(str::to_string),
            hwclock: None,
            zone_known,
        }),
        other => bail!("probe: expected timedatectl=yes or no, found {other:?}"),
    }
}

impl Resource for Timezone {
    type State = TimezoneState;

    fn target(&self) -> String {
        self.name.clone().unwrap_or_else(|| "hardware clock".to_string())
    }

    /// The one system setting, whatever the task names.
    fn key(&self) -> String {
        "timezone".to_string()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw(
            r#"if command -v timedatectl >/dev/null 2>&1 && s=$(timedatectl status 2>/dev/null); then echo timedatectl=yes; printf 'status=%s\n' "$(printf '%s\n' "$s" | base64 -w0)"
else echo timedatectl=no; if [ -f /etc/timezone ]; then printf 'etc_timezone=%s\n' "$(head -n1 /etc/timezone)"; fi; fi"#,
        );
        if let Some(name) = &self.name {
            script.line("[ -f /usr/share/zoneinfo/{} ] || echo zone=missing", &[name]);
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<TimezoneState> {
        let state = parse_probe(out)?;
        if let Some(name) = &self.name {
            if !state.zone_known {
                bail!("given timezone \"{name}\" is not available");
            }
        }
        if self.hwclock.is_some() && !state.timedatectl {
            bail!("hwclock is set with timedatectl, which does not answer on this host");
        }
        Ok(state)
    }

    fn diff(&self, have: &TimezoneState) -> Diff {
        let mut changes = Vec::new();
        if let Some(name) = &self.name {
            if have.name.as_ref() != Some(name) {
                changes.push(AttributeChange::new("timezone", have.name.clone(), Some(name.clone())));
            }
        }
        if let Some(clock) = &self.hwclock {
            if have.hwclock.as_ref() != Some(clock) {
                changes.push(AttributeChange::new("hwclock", have.hwclock.clone(), Some(clock.clone())));
            }
        }
        Diff::from_attributes(changes)
    }

    fn apply(&self, have: &TimezoneState, diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        let changes = |name: &str| diff.attributes.iter().any(|a| a.name == name);
        if let (Some(name), true) = (&self.name, changes("timezone")) {
            if have.timedatectl {
                script.line("timedatectl set-timezone {} >&2 || exit 1", &[name]);
            } else {
                script.line("z={}", &[name]);
                script.raw(
                    r#"printf '%s\n' "$z" > /etc/timezone.deploy-tmp && mv -f /etc/timezone.deploy-tmp /etc/timezone || exit 1
ln -sfn "/usr/share/zoneinfo/$z" /etc/localtime || exit 1"#,
                );
            }
            script.raw("deploy_changed");
        }
        if let (Some(clock), true) = (&self.hwclock, changes("hwclock")) {
            let local = if clock == "local" { "yes" } else { "no" };
            script.line("timedatectl set-local-rtc {} >&2 || exit 1", &[local]);
            script.raw("deploy_changed");
        }
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    const STATUS: &str = "               Local time: Thu 2026-12-03 15:47:17 UTC
           Universal time: Thu 2026-12-03 15:47:17 UTC
                 RTC time: n/a
                Time zone: Etc/UTC (UTC, +0000)
System clock synchronized: no
              NTP service: n/a
          RTC in local TZ: no
";

    fn systemd_probe(status: &str) -> String {
        format!(
            "timedatectl=yes\nstatus={}\n",
            base64::engine::general_purpose::STANDARD.encode(status)
        )
    }

    #[test]
    fn reads_timedatectl_status_as_ansible_does() {
        let state = parse_probe(&section(&systemd_probe(STATUS))).unwrap();
        assert_eq!(
            state,
            TimezoneState {
                timedatectl: true,
                name: Some("Etc/UTC".into()),
                hwclock: Some("UTC".into()),
                zone_known: true,
            }
        );
        let state = parse_probe(&section("timedatectl=no\netc_timezone=Europe/Paris\nzone=missing\n")).unwrap();
        assert_eq!(state.name.as_deref(), Some("Europe/Paris"));
        assert!(!state.zone_known);
        assert!(parse_probe(&section("")).is_err());
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let step = build_step(&SPEC, json!({"name": "Etc/UTC", "hwclock": "UTC"}), &NoContext).unwrap();
        let (diff, script) = step.plan(&section(&systemd_probe(STATUS))).unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let step = build_step(&SPEC, json!({"name": "Europe/Paris"}), &NoContext).unwrap();
        let (diff, script) = step.plan(&section(&systemd_probe(STATUS))).unwrap();
        assert_eq!(diff.action, Action::Change);
        assert_eq!(diff.attributes[0].describe(), "timezone Etc/UTC → Europe/Paris");
        assert!(script.as_str().contains("timedatectl set-timezone Europe/Paris"));
        let (_, script) = step
            .plan(&section("timedatectl=no\netc_timezone=Etc/UTC\n"))
            .unwrap();
        assert!(script.as_str().contains("/etc/localtime"), "{}", script.as_str());
        let err = step
            .plan(&section(&format!("{}zone=missing\n", systemd_probe(STATUS))))
            .unwrap_err();
        assert_eq!(err.to_string(), "given timezone \"Europe/Paris\" is not available");
        let step = build_step(&SPEC, json!({"hwclock": "local"}), &NoContext).unwrap();
        let (diff, script) = step.plan(&section(&systemd_probe(STATUS))).unwrap();
        assert_eq!(diff.attributes[0].describe(), "hwclock UTC → local");
        assert!(script.as_str().contains("set-local-rtc yes"));
    }

    #[test]
    fn refuses_zones_outside_zoneinfo() {
        for name in ["../../etc/passwd", "/etc/x", "", "Europe//Paris"] {
            assert!(build_step(&SPEC, json!({"name": name}), &NoContext).is_err(), "{name}");
        }
    }
}
