//! The lifecycle every resource follows: probe, inspect, diff, apply.
//!
//! All four are pure: a resource only builds shell text and reads shell output, and the
//! transport alone does I/O. That is what lets each resource be unit-tested from canned probe
//! output, and what lets the engine batch every resource of a host into one probe exec.

use anyhow::Result;

use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// A piece of host state that a task converges.
pub trait Resource: Send + Sync {
    /// What `inspect` learns about the host.
    type State: Send + Sync + std::fmt::Debug;

    /// What it manages, as the plan shows it: a path, a package list, a service name.
    fn target(&self) -> String;

    /// Shell that prints the current state (run inside the probe, in a subshell).
    fn probe(&self) -> Script;

    /// Reads the probe's output.
    fn inspect(&self, out: &Section) -> Result<Self::State>;

    /// What differs; an empty diff means converged.
    fn diff(&self, have: &Self::State) -> Diff;

    /// A guarded, idempotent script making the change. It re-checks each guard on the host
    /// (the host may have changed since the probe), calls `deploy_changed` when it changed
    /// something, and exits non-zero on failure.
    fn apply(&self, have: &Self::State, diff: &Diff) -> Script;
}

/// The object-safe face of a resource that the engine schedules.
pub trait Step: Send + Sync {
    fn target(&self) -> String;
    fn probe(&self) -> Script;
    /// Inspects and diffs, and prepares the apply script for that diff.
    fn plan(&self, out: &Section) -> Result<(Diff, Script)>;
}

impl<R: Resource> Step for R {
    fn target(&self) -> String {
        Resource::target(self)
    }

    fn probe(&self) -> Script {
        Resource::probe(self)
    }

    fn plan(&self, out: &Section) -> Result<(Diff, Script)> {
        let have = self.inspect(out)?;
        let diff = self.diff(&have);
        let script = if diff.is_converged() {
            Script::new()
        } else {
            self.apply(&have, &diff)
        };
        Ok((diff, script))
    }
}

/// Parses `key=value` lines of probe output; a value may not contain a newline, and content
/// that could travels base64-encoded.
pub fn key_values(out: &Section) -> Result<Vec<(String, String)>> {
    let text = std::str::from_utf8(&out.output)
        .map_err(|_| anyhow::anyhow!("probe output is not UTF-8 where key=value lines were expected"))?;
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("unexpected probe line {line:?}"))
        })
        .collect()
}

/// The value of `key` among parsed `key=value` lines.
pub fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
