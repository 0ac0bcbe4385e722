//! `--log-file`: one JSON line appended per event (each step's outcome, each `debug`, each
//! host's end), for log shippers and post-mortems.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use serde_json::{json, Value as Json};

use crate::engine::host::{HostReport, Status};
use crate::engine::Events;
use crate::plan::PlannedStep;

/// The open log file.
#[derive(Debug)]
pub struct LogFile(Mutex<std::fs::File>);

impl LogFile {
    /// Opens `path` for appending (creating it).
    pub fn open(path: &Path) -> Result<LogFile> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the log file {}", path.display()))?;
        Ok(LogFile(Mutex::new(file)))
    }

    fn append(&self, event: Json) {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut line = json!({ "time": seconds });
        if let (Json::Object(line), Json::Object(event)) = (&mut line, event) {
            line.extend(event);
        }
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A log that cannot be written must not stop the run it describes.
        let _ = writeln!(file, "{line}");
    }
}

impl Events for LogFile {
    fn step_done(&self, host: &str, step: &PlannedStep, status: &Status, _planned: usize) {
        self.append(json!({
            "event": "step", "host": host, "status": status, "module": step.module,
            "target": step.target, "task": step.task, "location": step.location,
        }));
    }

    fn debug(&self, host: &str, message: &str) {
        self.append(json!({"event": "debug", "host": host, "message": message}));
    }

    fn warning(&self, _: &str) {}

    fn host_done(&self, host: &HostReport) {
        self.append(json!({
            "event": "host", "host": host.plan.host, "unreachable": host.unreachable,
            "failed": host.failed(), "error": host.plan.error, "execs": host.execs,
            "changed": host.count(&Status::Changed), "ok": host.count(&Status::Ok),
        }));
    }
}
