//! Stopping a run from outside: first softly (no new steps start; running ones finish and
//! are reported), then at once (the run returns, every connection is closed).
//!
//! The command line turns Ctrl-C into these; the engine only reads the flags, so a library
//! caller can stop a run the same way. Stopping at once never skips destructors: the run's
//! future is dropped, and with it every host's connection and ssh ControlMaster.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// A handle shared by whoever may stop the run and the run itself.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<Flags>);

#[derive(Debug, Default)]
struct Flags {
    no_new_steps: AtomicBool,
    now: AtomicBool,
    stopped: Notify,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// No step starts after this; the ones running finish.
    pub fn stop_starting(&self) {
        self.0.no_new_steps.store(true, Ordering::SeqCst);
    }

    /// Stop now: the run returns [`Stopped`] without waiting for running steps.
    pub fn stop_now(&self) {
        self.stop_starting();
        self.0.now.store(true, Ordering::SeqCst);
        self.0.stopped.notify_waiters();
    }

    /// Whether new steps may still start.
    pub fn stopping(&self) -> bool {
        self.0.no_new_steps.load(Ordering::SeqCst)
    }

    /// Resolves once [`stop_now`](Self::stop_now) is called.
    pub async fn stopped_now(&self) {
        let notified = self.0.stopped.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a stop between the two is not missed.
        notified.as_mut().enable();
        if self.0.now.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

/// The error of a run stopped at once.
#[derive(Debug)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped at once (Ctrl-C twice): running steps may or may not have finished")
    }
}

impl std::error::Error for Stopped {}
