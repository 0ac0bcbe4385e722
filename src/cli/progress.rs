//! Progress while applying: one line per host on a terminal (indicatif), plain one-line
//! events on stderr otherwise (they read well in a log), nothing when quiet.
//!
//! The engine reports through [`Events`]; this is the implementation a person watches.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::engine::host::{HostReport, Status};
use crate::engine::Events;
use crate::plan::PlannedStep;

/// Progress lines (or plain lines) on stderr.
#[derive(Debug, Default)]
pub struct Progress {
    quiet: bool,
    bars: Option<indicatif::MultiProgress>,
    host_bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl Progress {
    /// `bars`: draw progress lines (a terminal, no `-v`); `quiet`: print nothing.
    pub fn new(quiet: bool, bars: bool) -> Progress {
        Progress {
            quiet,
            bars: (bars && !quiet).then(indicatif::MultiProgress::new),
            host_bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, host: &str) -> Option<indicatif::ProgressBar> {
        let bars = self.bars.as_ref()?;
        let mut map = self.host_bars.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            map.entry(host.to_string())
                .or_insert_with(|| {
                    let bar = bars.add(indicatif::ProgressBar::new_spinner());
                    let style = indicatif::ProgressStyle::with_template(
                        "{prefix:>14} {pos:>4}/{len:<4} steps  {wide_msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
                    bar.set_style(style);
                    bar.set_prefix(host.to_string());
                    bar
                })
                .clone(),
        )
    }
}

impl Events for Progress {
    fn step_done(&self, host: &str, step: &PlannedStep, status: &Status, planned: usize) {
        if self.quiet {
            return;
        }
        let word = status.word();
        match self.bar(host) {
            Some(bar) => {
                bar.set_length(planned as u64);
                bar.inc(1);
                bar.set_message(format!("{word} {} {}", step.module, step.target));
            }
            None => eprintln!(
                "{host}: {word:8} {} {}  ({})",
                step.module, step.target, step.task
            ),
        }
    }

    fn debug(&self, host: &str, message: &str) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(format!("{host}: {message}"));
            }
            None => eprintln!("{host}: debug    {message}"),
        }
    }

    fn warning(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    fn host_done(&self, _: &HostReport) {}

    fn finished(&self) {
        for (_, bar) in self.host_bars.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            bar.finish_and_clear();
        }
    }
}
