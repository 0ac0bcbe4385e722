//! `service_facts`: the host's services as the fact `ansible_facts.services`, keyed and shaped
//! as Ansible's module keys them (`ssh.service` from systemd with `state` and `status`, `ssh`
//! from the SysV scripts with `state`), for `when: "'nginx.service' in ansible_facts.services"`.
//!
//! A query answered from the probe: the same listings Ansible reads (`service --status-all`,
//! `systemctl list-units`, `systemctl list-unit-files`, and `systemctl show` for a unit file
//! no unit stands for) run inside the probe round and are parsed here.
//!
//! Differences from Ansible: only the SysV and systemd scanners (Debian's); upstart, OpenRC,
//! chkconfig and the BSD ones are left out.

use anyhow::Result;
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::ModuleSpec;
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Lists the host's services.
///
/// ```yaml
/// - service_facts:
/// - debug:
///     msg: "{{ ansible_facts.services['ssh.service'].state }}"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "service_facts",
    fqcn: "ansible.builtin.service_facts",
    params: &[],
    build: Some(build),
    publishes_facts: true,
    ..ModuleSpec::DEFAULT
};

fn build(_args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(ServiceFacts))
}

#[derive(Debug)]
pub struct ServiceFacts;

/// Prints `sysv=`, `unit=`, `file=` and `active=NAME RC VALUE` lines. The SysV listing runs only
/// where Ansible runs it (`service` there, no `chkconfig` or `rc-status`); the systemd ones
/// where systemd is the running init, as Ansible's `is_systemd_managed` decides.
const PROBE: &str = r#"export LC_ALL=C LANG=C
if command -v service >/dev/null && ! command -v chkconfig >/dev/null && ! command -v rc-status >/dev/null; then
  service --status-all 2>/dev/null </dev/null | while IFS= read -r l; do printf 'sysv=%s\n' "$l"; done
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  if u=$(systemctl list-units --no-pager --type service --all --plain 2>/dev/null); then
    printf '%s\n' "$u" | while IFS= read -r l; do printf 'unit=%s\n' "$l"; done
  else echo unit-failed=1; fi
  n=$(printf '%s\n' "$u" | while read -r s rest; do printf '/%s/' "$s"; done)
  systemctl list-unit-files --no-pager --type service --all 2>/dev/null | while IFS= read -r l; do
    printf 'file=%s\n' "$l"
    case "$l" in *.service*) ;; *) continue;; esac
    s=${l%%[ 	]*}
    case "$n" in *"/$s/"*) continue;; esac
    a=$(systemctl show "$s" --property=ActiveState 2>/dev/null); printf 'active=%s %s %s\n' "$s" "$?" "$a"
  done
fi"#;

/// The systemd statuses Ansible keeps over what a later listing says.
const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

/// Parses the probe's lines into Ansible's `services` mapping.
fn services(text: &str) -> Map<String, Json> {
    let mut services = Map::new();
    let lines = || text.lines().filter_map(|l| l.split_once('='));
    for (key, line) in lines() {
        if key != "sysv" {
            continue;
        }
        // `^\s*\[ (\+|\-) \]\s+(.+)$`, as Ansible matches it.
        let rest = line.trim_start();
        let state = if let Some(r) = rest.strip_prefix("[ + ]") {
            Some(("running", r))
        } else {
            rest.strip_prefix("[ - ]").map(|r| ("stopped", r))
        };
        if let Some((state, name)) = state {
            if name.starts_with(char::is_whitespace) && !name.trim_start().is_empty() {
                let name = name.trim_start();
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "source": "sysv"}),
                );
            }
        }
    }
    for (key, line) in lines() {
        if key != "unit" || !line.contains(".service") {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let described = &fields[..fields.len() - 1];
        let status = BAD_STATES
            .iter()
            .find(|bad| described.contains(bad))
            .map_or(fields[2], |bad| *bad);
        let state = if fields[3] == "running" { "running" } else { "stopped" };
        services.insert(
            fields[0].to_string(),
            json!({"name": fields[0], "state": state, "status": status, "source": "systemd"}),
        );
    }
    let active: Vec<(&str, &str)> = lines().filter(|(k, _)| *k == "active").map(|(_, l)| {
        let mut parts = l.splitn(3, ' ');
        let name = parts.next().unwrap_or_default();
        let rc = parts.next().unwrap_or_default();
        let value = parts.next().unwrap_or_default();
        let state = if rc == "0" && !value.is_empty() { value } else { "" };
        (name, state)
    }).collect();
    for (key, line) in lines() {
        if key != "file" || !line.contains(".service") {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(name), Some(status)) = (fields.next(), fields.next()) else {
            continue;
        };
        match services.get_mut(name) {
            None => {
                let state = active
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, s)| s.replace("ActiveState=", "").trim_end().to_string())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "unknown".to_string());
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                );
            }
            Some(service) => {
                let current = service["status"].as_str().unwrap_or_default();
                if !BAD_STATES.contains(&current) {
                    service["status"] = json!(status);
                }
            }
        }
    }
    services
}

fn answer(out: &Section) -> Json {
    let services = services(&String::from_utf8_lossy(&out.output));
    if services.is_empty() {
        json!({"changed": false, "skipped": true,
            "msg": "Failed to find any services. This can be due to privileges or some other configuration issue."})
    } else {
        json!({"changed": false, "failed": false, "ansible_facts": {"services": services}})
    }
}

impl Resource for ServiceFacts {
    type State = ();

    fn target(&self) -> String {
        "services".to_string()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw(PROBE);
        script
    }

    fn inspect(&self, _out: &Section) -> Result<()> {
        Ok(())
    }

    fn diff(&self, _have: &()) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &(), _diff: &Diff) -> Script {
        Script::new()
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        Ok(Some(answer(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::support::testing::section;

    #[test]
    fn systemd_and_sysv_services_as_ansible_names_them() {
        let out = "sysv= [ + ]  ssh\nsysv= [ - ]  procps\nsysv= [ ? ]  hwclock.sh\n\
unit=ssh.service                 loaded    active   running OpenBSD Secure Shell server\n\
unit=nginx.service               loaded    failed   failed  A high performance web server\n\
unit=gone.service                not-found inactive dead    gone.service\n\
unit=cron.service                loaded    inactive dead    Regular background program processing daemon\n\
file=UNIT FILE                 STATE           PRESET\n\
file=ssh.service               enabled         enabled\n\
file=nginx.service             enabled         enabled\n\
file=cron.service              disabled        enabled\n\
file=getty@.service            static          -\n\
active=getty@.service 0 ActiveState=inactive\n\
file=rescue.service            static          -\n\
active=rescue.service 1 \n\
file=4 unit files listed.\n";
        let answer = answer(&section(out));
        let services = &answer["ansible_facts"]["services"];
        assert_eq!(
            services["ssh"],
            json!({"name": "ssh", "state": "running", "source": "sysv"})
        );
        assert_eq!(services["procps"]["state"], json!("stopped"));
        assert!(services.get("hwclock.sh").is_none());
        assert_eq!(
            services["ssh.service"],
            json!({"name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(services["nginx.service"]["status"], json!("failed"), "a bad state stays");
        assert_eq!(services["gone.service"]["status"], json!("not-found"));
        assert_eq!(services["cron.service"]["state"], json!("stopped"));
        assert_eq!(services["cron.service"]["status"], json!("disabled"));
        assert_eq!(services["getty@.service"]["state"], json!("inactive"));
        assert_eq!(services["getty@.service"]["status"], json!("static"));
        assert_eq!(services["rescue.service"]["state"], json!("unknown"));
    }

    #[test]
    fn no_services_is_a_skip() {
        assert_eq!(answer(&section(""))["skipped"], json!(true));
    }
}
