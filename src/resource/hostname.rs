//! `hostname` (`ansible.builtin.hostname`): the host's name, static and transient, set with
//! `hostnamectl` where systemd runs (Ansible's `systemd` strategy, which `use: debian` also
//! names), else written to `/etc/hostname` (the module's file strategy for Debian).
//!
//! The probe reads both names (`hostnamectl --static status` and `--transient status`); the
//! static one is set first, as the module does, so that a network manager never sees a
//! transient name it did not expect.
//!
//! Differences from Ansible: `use` other than `systemd` and `debian` (strategies for other
//! systems) is refused; the `ansible_hostname`/`ansible_nodename` facts are not updated by
//! the task (the next run's facts have them); the registered result holds only `changed`.

use anyhow::{bail, Result};

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no};
use super::{ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Sets the host's name.
///
/// ```yaml
/// - hostname:
///     name: web1.example.org
///     use: systemd
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "hostname",
    fqcn: "ansible.builtin.hostname",
    params: &[
        P::new("name", Str).required(),
        P::new("use", Str).choices(&[
            "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd",
            "openrc", "redhat", "sles", "solaris", "systemd",
        ]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let name = args.required_str("name")?;
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        bail!("`{name}` is not a host name");
    }
    let strategy = match args.str("use")?.as_deref() {
        None => Strategy::Detect,
        Some("systemd" | "debian") => Strategy::Systemd,
        Some(other) => bail!("`use: {other}` of module `hostname` is not supported by deploy (it supports systemd and debian)"),
    };
    if strategy == Strategy::Systemd && name.len() > 64 {
        bail!("name cannot be longer than 64 characters on systemd servers, try a shorter name");
    }
    Ok(Box::new(Hostname { name, strategy }))
}

/// How the name is read and set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `hostnamectl`, whether systemd runs or not (as asked by `use`).
    Systemd,
    /// `hostnamectl` when systemd runs, else `/etc/hostname`.
    Detect,
}

/// The host's name.
#[derive(Debug)]
pub struct Hostname {
    pub name: String,
    pub strategy: Strategy,
}

/// What the probe found.
#[derive(Debug, PartialEq, Eq)]
pub struct HostnameState {
    /// Whether `hostnamectl` is the tool (else `/etc/hostname`).
    pub systemd: bool,
    pub static_name: String,
    /// With `hostnamectl` only: the file strategy's current name is its static one.
    pub transient: Option<String>,
}

/// Parses the probe's output (pure, for tests).
pub fn parse_probe(out: &Section) -> Result<HostnameState> {
    if out.status != 0 {
        bail!(
            "reading the host name failed (exit {}): {}",
            out.status,
            String::from_utf8_lossy(&out.output).trim()
        );
    }
    let pairs = key_values(out)?;
    let systemd = yes_no(value_of(&pairs, "systemd"), "systemd")?;
    let Some(static_name) = value_of(&pairs, "static") else {
        bail!("probe: no static host name reported");
    };
    let transient = value_of(&pairs, "transient").map(str::to_string);
    if systemd && transient.is_none() {
        bail!("probe: no transient host name reported");
    }
    Ok(HostnameState {
        systemd,
        static_name: static_name.trim().to_string(),
        transient: transient.map(|t| t.trim().to_string()),
    })
}

impl Resource for Hostname {
    type State = HostnameState;

    fn target(&self) -> String {
        self.name.clone()
    }

    /// The one host name, whatever the task names.
    fn key(&self) -> String {
        "hostname".to_string()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        if self.strategy == Strategy::Systemd {
            script.raw("s=yes");
        } else {
            script.raw("s=no; if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then s=yes; fi");
        }
        script.raw(
            r#"echo "systemd=$s"
if [ "$s" = yes ]; then st=$(hostnamectl --static status) || exit 1; tr=$(hostnamectl --transient status) || exit 1; printf 'static=%s\ntransient=%s\n' "$st" "$tr"
else printf 'static=%s\n' "$(head -n1 /etc/hostname 2>/dev/null)"; fi"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<HostnameState> {
        parse_probe(out)
    }

    fn diff(&self, have: &HostnameState) -> Diff {
        let mut changes = Vec::new();
        if have.static_name != self.name {
            changes.push(AttributeChange::new(
                "hostname",
                Some(have.static_name.clone()),
                Some(self.name.clone()),
            ));
        }
        if let Some(transient) = &have.transient {
            if *transient != self.name {
                changes.push(AttributeChange::new(
                    "transient hostname",
                    Some(transient.clone()),
                    Some(self.name.clone()),
                ));
            }
        }
        Diff::from_attributes(changes)
    }

    fn apply(&self, have: &HostnameState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.line("n={}", &[&self.name]);
        if have.systemd {
            script.raw(
                r#"if [ "$(hostnamectl --static status)" != "$n" ]; then hostnamectl --pretty --static set-hostname "$n" >&2 || exit 1; deploy_changed; fi
if [ "$(hostnamectl --transient status)" != "$n" ]; then hostnamectl --transient set-hostname "$n" >&2 || exit 1; deploy_changed; fi"#,
            );
        } else {
            script.raw(
                r#"if [ "$(cat /etc/hostname 2>/dev/null)" != "$n" ]; then printf '%s\n' "$n" > /etc/.hostname.deploy-tmp && mv -f /etc/.hostname.deploy-tmp /etc/hostname || exit 1; deploy_changed; fi"#,
            );
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

    #[test]
    fn plans_from_canned_probe_output() {
        let step = build_step(&SPEC, json!({"name": "web1"}), &NoContext).unwrap();
        let probe = "systemd=yes\nstatic=web1\ntransient=web1\n";
        assert!(step.plan(&section(probe)).unwrap().0.is_converged());
        let (diff, script) = step
            .plan(&section("systemd=yes\nstatic=h1\ntransient=h1\n"))
            .unwrap();
        assert_eq!(diff.action, Action::Change);
        assert_eq!(diff.attributes[0].describe(), "hostname h1 → web1");
        assert_eq!(diff.attributes[1].describe(), "transient hostname h1 → web1");
        assert!(script.as_str().contains("hostnamectl --pretty --static set-hostname"));
        let (diff, script) = step.plan(&section("systemd=no\nstatic=h1\n")).unwrap();
        assert_eq!(diff.attributes.len(), 1);
        assert!(script.as_str().contains("/etc/hostname"));
        assert!(step.plan(&section("systemd=yes\nstatic=h1\n")).is_err());
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for params in [
            json!({"name": "a b"}),
            json!({"name": "web1", "use": "redhat"}),
            json!({"name": "x".repeat(65), "use": "systemd"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }
}
