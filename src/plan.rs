//! What a run intends to do, host by host: the data behind `plan`, `check` and `apply`.
//!
//! The engine fills these in from each resource's diff; the reporter prints them and the JSON
//! output serialises them. Order is the playbook's order, so plans are deterministic and can be
//! read in code review and snapshot-tested.

use serde::{Deserialize, Serialize};

/// What a step will do to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do: the host matches.
    Converged,
    /// `+`: the resource does not exist and will be created.
    Create,
    /// `~`: the resource exists and some of its attributes will change.
    Change,
    /// `-`: the resource exists and will be removed.
    Remove,
    /// `!`: a command that runs every time (no `creates`/`removes` guard): not idempotent.
    Run,
    /// `?`: depends on the outcome of an earlier change; known after apply.
    Unknown,
    /// The task's `when` is false for this host.
    Skipped,
}

impl Action {
    /// The one-character sign used in plans.
    pub fn sign(self) -> &'static str {
        match self {
            Action::Converged => "=",
            Action::Create => "+",
            Action::Change => "~",
            Action::Remove => "-",
            Action::Run => "!",
            Action::Unknown => "?",
            Action::Skipped => " ",
        }
    }

    /// Whether this action changes the host (or may).
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Change | Action::Remove | Action::Run | Action::Unknown
        )
    }
}

/// One attribute that differs, as the plan shows it: `mode 0644 → 0600`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AttributeChange {
    pub fn new(
        name: &str,
        before: Option<impl Into<String>>,
        after: Option<impl Into<String>>,
    ) -> AttributeChange {
        AttributeChange {
            name: name.to_string(),
            before: before.map(Into::into),
            after: after.map(Into::into),
        }
    }

    /// `mode 0644 → 0600`, `state stopped → started`, `+ mode 0644`.
    pub fn describe(&self) -> String {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => format!("{} {b} → {a}", self.name),
            (None, Some(a)) => format!("{} {a}", self.name),
            (Some(b), None) => format!("{} {b} → (none)", self.name),
            (None, None) => self.name.clone(),
        }
    }
}

/// The difference between what a resource is and what it should be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeChange>,
    /// A unified diff of a file's content, or a redaction notice for secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl Diff {
    pub fn converged() -> Diff {
        Diff::new(Action::Converged)
    }

    pub fn new(action: Action) -> Diff {
        Diff {
            action,
            attributes: Vec::new(),
            content: None,
        }
    }

    /// A change made of attribute changes; converged when there are none.
    pub fn from_attributes(attributes: Vec<AttributeChange>) -> Diff {
        Diff {
            action: if attributes.is_empty() {
                Action::Converged
            } else {
                Action::Change
            },
            attributes,
            content: None,
        }
    }

    /// `?`: what the step will do is known only after earlier changes are applied, for
    /// `reason` (shown beside the target).
    pub fn known_after_apply(reason: &str) -> Diff {
        let mut diff = Diff::new(Action::Unknown);
        diff.attributes
            .push(AttributeChange::new(reason, None::<String>, None::<String>));
        diff
    }

    pub fn is_converged(&self) -> bool {
        self.action == Action::Converged
    }
}

/// A unified diff of two texts, labelled with the file's path; empty when they are equal.
pub fn unified_diff(before: &str, after: &str, path: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (on host)"), &format!("{path} (planned)"))
        .missing_newline_hint(true)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_show_changed_lines() {
        let diff = unified_diff("a\nLISTEN = 8081\nc\n", "a\nlisten = 8081\nc\n", "/srv/app.conf");
        assert!(diff.contains("-LISTEN = 8081\n+listen = 8081\n"), "{diff}");
        assert!(diff.contains("--- /srv/app.conf (on host)"), "{diff}");
        assert_eq!(unified_diff("same\n", "same\n", "/x"), "");
    }

    #[test]
    fn attribute_changes_read_naturally() {
        assert_eq!(
            AttributeChange::new("mode", Some("0644"), Some("0600")).describe(),
            "mode 0644 → 0600"
        );
        assert_eq!(
            Diff::from_attributes(vec![]).action,
            Action::Converged,
            "no attribute differs: converged"
        );
    }
}

/// One step of a host's plan: a task (one loop item of it) and its diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// The module, by its short name: `template`, `apt`, ...
    pub module: String,
    /// What it manages: a path, a package list, a service name.
    pub target: String,
    /// The task's name (or the module and target when it has none).
    pub task: String,
    /// `roles/app/tasks/main.yml:38`, relative to the project.
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub diff: Diff,
    /// Handlers this step notifies if it changes something.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// A digest of what the probe saw for this step, to detect drift between a saved plan and
    /// its apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A handler that will run, and which steps notify it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedHandler {
    pub name: String,
    pub notified_by: Vec<String>,
}

/// Everything planned for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPlan {
    pub host: String,
    pub address: String,
    pub steps: Vec<PlannedStep>,
    pub handlers: Vec<PlannedHandler>,
    /// Why this host could not be planned (unreachable, probe failed, bad template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HostPlan {
    pub fn changes(&self) -> usize {
        self.steps.iter().filter(|s| s.diff.action.is_change()).count()
    }

    pub fn resources(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.diff.action != Action::Skipped)
            .count()
    }

    pub fn is_converged(&self) -> bool {
        self.error.is_none() && self.changes() == 0
    }
}
