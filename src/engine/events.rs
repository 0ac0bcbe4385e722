//! What a run tells its watchers while it goes: each step's outcome, `debug` messages,
//! warnings, each host's end.
//!
//! The engine knows nothing of terminals or files: the command line gives it an [`Events`]
//! implementation (progress lines on a terminal, plain lines in a log, JSON lines for
//! `--log-file`, or several at once) and the engine calls it. See docs/architecture.md.

use crate::engine::host::{HostReport, Status};
use crate::plan::PlannedStep;

/// Receives a run's events, from every host's task at once (so: `Send + Sync`). Secrets are
/// already redacted from what it receives.
pub trait Events: Send + Sync {
    /// A step ended; `planned` is how many steps the host has planned so far (it grows when a
    /// later stage resolves more).
    fn step_done(&self, host: &str, step: &PlannedStep, status: &Status, planned: usize);
    /// A `debug` task's message.
    fn debug(&self, host: &str, message: &str);
    /// Something the user should know that is not an error (a host pattern matching nothing).
    fn warning(&self, message: &str);
    /// A host finished the run (its last play, or its failure).
    fn host_done(&self, host: &HostReport);
    /// The run ended: every host is done.
    fn finished(&self) {}
}

/// Several watchers at once, each told every event in turn.
pub struct Fanout(pub Vec<Box<dyn Events>>);

impl Events for Fanout {
    fn step_done(&self, host: &str, step: &PlannedStep, status: &Status, planned: usize) {
        self.0
            .iter()
            .for_each(|e| e.step_done(host, step, status, planned));
    }

    fn debug(&self, host: &str, message: &str) {
        self.0.iter().for_each(|e| e.debug(host, message));
    }

    fn warning(&self, message: &str) {
        self.0.iter().for_each(|e| e.warning(message));
    }

    fn host_done(&self, host: &HostReport) {
        self.0.iter().for_each(|e| e.host_done(host));
    }

    fn finished(&self) {
        self.0.iter().for_each(|e| e.finished());
    }
}
