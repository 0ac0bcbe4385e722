//! `wait_for`: waits for a port, a file or a pattern in a file.
//!
//! Waiting changes nothing, so it never reports a change (as in Ansible). The plan says
//! converged when the condition already holds and "known after apply" otherwise; the step
//! keeps its script either way (see `support::Rechecked`), because as a handler it waits for
//! a service that an earlier change is about to restart. Ports are checked with bash's
//! `/dev/tcp` (bash is Essential on Debian), or `nc -z` where bash is missing.

use anyhow::{bail, Result};

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no, Rechecked};
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

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
    kind: ModuleKind::Wait,
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
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["exclude_hosts", "active_connection_states"])?;
    let state = args.str("state")?.unwrap_or_else(|| "started".to_string());
    let wants_present = match state.as_str() {
        "started" | "present" => true,
        "stopped" | "absent" => false,
        other => bail!("`wait_for` with `state: {other}` is not supported by deploy"),
    };
    let condition = match (args.int("port")?, args.str("path")?) {
        (Some(port), None) => {
            if args.str("search_regex")?.is_some() {
                bail!("`search_regex` on a port is not supported by deploy (only on a `path`)");
            }
            if !(1..=65535).contains(&port) {
                bail!("`port` {port} is not a TCP port");
            }
            Condition::Port {
                host: args.str("host")?.unwrap_or_else(|| "127.0.0.1".to_string()),
                port: port as u16,
            }
        }
        (None, Some(path)) => Condition::Path {
            path,
            search_regex: args.str("search_regex")?,
        },
        (None, None) => Condition::Sleep,
        (Some(_), Some(_)) => bail!("`port` and `path` are mutually exclusive"),
    };
    let seconds = |name: &str, default: i64| -> Result<u64> {
        let value = args.int(name)?.unwrap_or(default);
        u64::try_from(value).map_err(|_| anyhow::anyhow!("`{name}` must not be negative"))
    };
    Ok(Box::new(Rechecked(WaitFor {
        condition,
        wants_present,
        timeout: seconds("timeout", 300)?,
        delay: seconds("delay", 0)?,
        sleep: seconds("sleep", 1)?.max(1),
        connect_timeout: seconds("connect_timeout", 5)?.max(1),
        msg: args.str("msg")?,
    })))
}

/// What to wait for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Port {
        host: String,
        port: u16,
    },
    Path {
        path: String,
        search_regex: Option<String>,
    },
    /// Neither: Ansible just waits `timeout` seconds.
    Sleep,
}

/// A wait until a condition holds (or stops holding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitFor {
    pub condition: Condition,
    /// `started`/`present` rather than `stopped`/`absent`.
    pub wants_present: bool,
    pub timeout: u64,
    pub delay: u64,
    pub sleep: u64,
    pub connect_timeout: u64,
    pub msg: Option<String>,
}

/// `deploy_holds` succeeds when the port answers or the file (with its pattern) is there.
fn define_check(script: &mut Script, condition: &Condition, connect_timeout: u64) {
    match condition {
        Condition::Port { host, port } => {
            script.line(
                "host={}; port={}; ct={}",
                &[host, &port.to_string(), &connect_timeout.to_string()],
            );
            script.raw(
                r#"deploy_holds() {
  if command -v bash >/dev/null; then timeout "$ct" bash -c 'exec 3<>"/dev/tcp/$1/$2"' deploy "$host" "$port" 2>/dev/null
  elif command -v nc >/dev/null; then nc -z -w "$ct" "$host" "$port" 2>/dev/null
  else echo 'wait_for needs bash or nc on the host to check a port' >&2; exit 1; fi
}"#,
            );
        }
        Condition::Path {
            path,
            search_regex: None,
        } => {
            script.line("path={}", &[path]);
            script.raw(r#"deploy_holds() { [ -e "$path" ]; }"#);
        }
        Condition::Path {
            path,
            search_regex: Some(regex),
        } => {
            script.line("path={}; regex={}", &[path, regex]);
            script.raw(r#"deploy_holds() { [ -e "$path" ] && grep -Pq -- "$regex" "$path" 2>/dev/null; }"#);
        }
        Condition::Sleep => {
            script.raw("deploy_holds() { false; }");
        }
    }
}

impl WaitFor {
    fn describe(&self) -> String {
        match &self.condition {
            Condition::Port { host, port } => format!("{host}:{port}"),
            Condition::Path { path, .. } => path.clone(),
            Condition::Sleep => format!("{}s", self.timeout),
        }
    }
}

impl Resource for WaitFor {
    /// Whether the condition holds now.
    type State = bool;

    fn target(&self) -> String {
        self.describe()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        if self.condition == Condition::Sleep {
            return script;
        }
        define_check(&mut script, &self.condition, self.connect_timeout.min(2));
        script.raw("if deploy_holds; then echo holds=yes; else echo holds=no; fi");
        script
    }

    fn inspect(&self, out: &Section) -> Result<bool> {
        if self.condition == Condition::Sleep {
            return Ok(false);
        }
        let holds = yes_no(value_of(&key_values(out)?, "holds"), "holds")?;
        Ok(holds == self.wants_present)
    }

    fn diff(&self, satisfied: &bool) -> Diff {
        if *satisfied {
            return Diff::converged();
        }
        let mut diff = Diff::new(Action::Unknown);
        let what = match (&self.condition, self.wants_present) {
            (Condition::Sleep, _) => "sleep",
            (Condition::Port { .. }, true) => "wait until open",
            (Condition::Port { .. }, false) => "wait until closed",
            (Condition::Path { .. }, true) => "wait until present",
            (Condition::Path { .. }, false) => "wait until absent",
        };
        diff.attributes.push(AttributeChange::new(
            what,
            None::<String>,
            Some(format!("up to {}s", self.timeout)),
        ));
        diff
    }

    fn apply(&self, _satisfied: &bool, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        let total = self.delay + self.timeout;
        if self.condition == Condition::Sleep {
            script.line("sleep {}", &[&total.to_string()]);
            return script;
        }
        define_check(&mut script, &self.condition, self.connect_timeout);
        let message = self.msg.clone().unwrap_or_else(|| match &self.condition {
            Condition::Path { path, .. } => format!("Timeout when waiting for file {path}"),
            _ => format!("Timeout when waiting for {}", self.describe()),
        });
        script.line(
            "delay={}; timeout={}; pause={}; message={}",
            &[
                &self.delay.to_string(),
                &self.timeout.to_string(),
                &self.sleep.to_string(),
                &message,
            ],
        );
        script.raw(if self.wants_present { "want=0" } else { "want=1" });
        script.raw(
            r#"[ "$delay" -eq 0 ] || sleep "$delay"
end=$(( $(date +%s) + timeout ))
while :; do
  deploy_holds; [ $? -eq "$want" ] && exit 0
  [ "$(date +%s)" -lt "$end" ] || { printf '%s
' "$message" >&2; exit 1; }
  sleep "$pause"
done"#,
        );
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, run_apply, run_probe, section};
    use serde_json::json;

    #[test]
    fn converged_when_it_holds_but_the_script_stays() {
        let step = build(&SPEC, json!({"port": 9200}), &NoContext).unwrap();
        let (diff, script) = step.plan(&section("holds=yes\n")).unwrap();
        assert!(diff.is_converged());
        assert!(script.as_str().contains("/dev/tcp/"));
        assert!(!script.as_str().contains("deploy_changed"));
        let (diff, _) = step.plan(&section("holds=no\n")).unwrap();
        assert_eq!(diff.action, Action::Unknown);
        assert_eq!(diff.attributes[0].describe(), "wait until open up to 300s");
        assert!(step.plan(&section("")).is_err());
    }

    #[test]
    fn waits_for_a_file_and_a_pattern_for_real() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready");
        let params = json!({"path": path.to_str().unwrap(), "search_regex": "^up \\d+$", "timeout": 3});
        let step = build(&SPEC, params, &NoContext).unwrap();
        let (diff, script) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        assert_eq!(diff.action, Action::Unknown);
        std::fs::write(&path, "booting\nup 42\n").unwrap();
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!changed, "waiting never counts as a change");
        assert!(step
            .plan(&run_probe(&step.probe(), dir.path()))
            .unwrap()
            .0
            .is_converged());
    }

    #[test]
    fn times_out_with_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let params = json!({"path": "/nonexistent/deploy", "timeout": 1, "msg": "never came"});
        let step = build(&SPEC, params, &NoContext).unwrap();
        let (_, script) = step.plan(&section("holds=no\n")).unwrap();
        let (out, _) = run_apply(&script, dir.path());
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "never came\n");
    }

    #[test]
    fn a_closed_port_for_real() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let step = build(&SPEC, json!({"port": port, "timeout": 5}), &NoContext).unwrap();
        assert!(step
            .plan(&run_probe(&step.probe(), dir.path()))
            .unwrap()
            .0
            .is_converged());
        drop(listener);
        let stopped = build(
            &SPEC,
            json!({"port": port, "state": "stopped", "timeout": 5}),
            &NoContext,
        )
        .unwrap();
        let (diff, script) = stopped.plan(&run_probe(&stopped.probe(), dir.path())).unwrap();
        assert!(diff.is_converged());
        let (out, _) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn refuses_what_it_does_not_do() {
        assert!(build(&SPEC, json!({"port": 1, "state": "drained"}), &NoContext).is_err());
        assert!(build(&SPEC, json!({"port": 1, "search_regex": "x"}), &NoContext).is_err());
        assert!(build(&SPEC, json!({"port": 70000}), &NoContext).is_err());
    }
}
