//! What happened on one host, for the report: each step's status and the host's plan.

use crate::plan::{HostPlan, PlannedStep};

/// The outcome of one step, for the apply report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    NotRun,
}

impl Status {
    /// How progress lines and logs name it.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
            Status::NotRun => "not run",
        }
    }
}

/// One applied step, for the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepResult {
    pub step: PlannedStep,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Everything that happened on one host.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct HostReport {
    pub plan: HostPlan,
    pub results: Vec<StepResult>,
    pub unreachable: bool,
    /// Remote execs used (after connecting).
    pub execs: usize,
}

impl HostReport {
    pub fn failed(&self) -> bool {
        self.plan.error.is_some()
    }

    pub fn count(&self, status: &Status) -> usize {
        self.results.iter().filter(|r| &r.status == status).count()
    }
}
