//! `pause`: waits a number of seconds or minutes between two tasks.
//!
//! Ansible's `pause` waits on the controller; `deploy` waits in the host's stage script
//! (`sleep`), in order with the steps around it, which makes the same pause between the
//! step before and the step after. Like `wait_for`, it never reports a change, and a plan
//! does not wait. Without a terminal to ask (`deploy` never reads one), a `prompt` is not
//! waited for, as Ansible does when its stdin is not interactive: a pause with a prompt and
//! no duration goes on at once.
//!
//! Differences from Ansible: the wait happens on each host (in parallel) rather than once on
//! the controller; a prompt is not shown (with a duration, it goes to the step's stderr);
//! `stdout` is `Paused for N seconds` with the duration asked, not measured; `user_input`,
//! `start`, `stop`, `delta` and `echo` are not registered.

use anyhow::{bail, Result};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::support::Rechecked;
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Pauses the play for a while.
///
/// ```yaml
/// - pause:
///     seconds: 5
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "pause",
    fqcn: "ansible.builtin.pause",
    kind: ModuleKind::Wait,
    params: &[
        P::new("seconds", Int),
        P::new("minutes", Int),
        P::new("prompt", Str),
        P::new("echo", Bool).default(D::Bool(true)),
    ],
    mutually_exclusive: &[&["minutes", "seconds"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let (amount, unit) = match (args.int("seconds")?, args.int("minutes")?) {
        (Some(seconds), None) => (Some(seconds), "seconds"),
        (None, Some(minutes)) => (Some(minutes), "minutes"),
        (None, None) => (None, "minutes"),
        (Some(_), Some(_)) => bail!("parameters are mutually exclusive: minutes|seconds"),
    };
    // Ansible waits at least a second once a duration is given.
    let seconds = amount.map(|n| if unit == "minutes" { n * 60 } else { n }.max(1) as u64);
    Ok(Box::new(Rechecked(Pause {
        seconds,
        unit,
        prompt: args.str("prompt")?,
    })))
}

/// A pause of some seconds (none: a prompt nobody can answer, so no wait).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pause {
    pub seconds: Option<u64>,
    /// How Ansible reports the duration: `seconds` or `minutes`.
    pub unit: &'static str,
    pub prompt: Option<String>,
}

impl Resource for Pause {
    type State = ();

    fn target(&self) -> String {
        match self.seconds {
            Some(seconds) => format!("{seconds} s"),
            None => "prompt (no terminal: not waited for)".to_string(),
        }
    }

    fn probe(&self) -> Script {
        Script::new()
    }

    fn inspect(&self, _out: &Section) -> Result<()> {
        Ok(())
    }

    fn diff(&self, _have: &()) -> Diff {
        match self.seconds {
            // Waiting is no drift: the engine runs it at apply without counting a change.
            Some(seconds) => {
                let mut diff = Diff::new(Action::Run);
                diff.attributes.push(AttributeChange::new(
                    "waits",
                    None::<String>,
                    Some(format!("{seconds} s")),
                ));
                diff
            }
            None => Diff::converged(),
        }
    }

    fn apply(&self, _have: &(), _diff: &Diff) -> Script {
        let mut script = Script::new();
        if let Some(prompt) = &self.prompt {
            script.line("printf '%s\\n' {} >&2", &[prompt]);
        }
        let Some(seconds) = self.seconds else {
            return script;
        };
        let seconds = seconds.to_string();
        script.line("sleep {}", &[&seconds]);
        // What Ansible registers as `stdout`; the duration slept is the one asked.
        let shown = if self.unit == "minutes" {
            format!("Paused for {} minutes", format_float(seconds.parse::<f64>().unwrap_or(0.0) / 60.0))
        } else {
            format!("Paused for {} seconds", format_float(seconds.parse::<f64>().unwrap_or(0.0)))
        };
        script.line("printf '%s\\n' {}", &[&shown]);
        script
    }
}

/// A duration as Python prints `round(x, 2)`: `5.0`, `0.5`, `1.25`.
fn format_float(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.1}")
    } else {
        format!("{rounded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, run_apply, section};
    use serde_json::json;

    #[test]
    fn sleeps_the_seconds_or_minutes_asked() {
        let step = build_step(&SPEC, json!({"seconds": 0}), &NoContext).unwrap();
        let (diff, script) = step.plan(&section("")).unwrap();
        assert_eq!(diff.action, Action::Run, "the engine runs a wait without drift");
        assert!(script.as_str().contains("sleep 1\n"), "at least a second");
        let dir = tempfile::tempdir().unwrap();
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success());
        assert!(!changed);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "Paused for 1.0 seconds\n");
        let step = build_step(&SPEC, json!({"minutes": 2}), &NoContext).unwrap();
        let (_, script) = step.plan(&section("")).unwrap();
        assert!(script.as_str().contains("sleep 120\n"));
        assert!(script.as_str().contains("Paused for 2.0 minutes"));
        assert_eq!(format_float(0.5), "0.5");
    }

    #[test]
    fn a_prompt_without_a_duration_does_not_wait() {
        let step = build_step(&SPEC, json!({"prompt": "Check $(the) logs"}), &NoContext).unwrap();
        let (diff, script) = step.plan(&section("")).unwrap();
        assert!(diff.is_converged());
        assert!(!script.as_str().contains("sleep"));
        let dir = tempfile::tempdir().unwrap();
        let (out, _) = run_apply(&script, dir.path());
        assert_eq!(String::from_utf8(out.stderr).unwrap(), "Check $(the) logs\n");
        assert!(build_step(&SPEC, json!({"seconds": 1, "minutes": 1}), &NoContext).is_err());
    }
}
