//! Human-readable output of plans and results.
//!
//! A reviewer reads this in a merge request, so it is deterministic (hosts sorted, steps in
//! playbook order, no timestamps), readable without colour, and coloured only when asked.

use std::fmt::Write as _;

use crate::plan::{Action, HostPlan};

/// How to print.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The plan of every host, then the run's summary line.
pub fn render_plan(plans: &[HostPlan], style: Style) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&HostPlan> = plans.iter().collect();
    sorted.sort_by(|a, b| a.host.cmp(&b.host));
    for plan in &sorted {
        render_host(&mut out, plan, style);
    }
    let changed = sorted.iter().filter(|p| p.changes() > 0).count();
    let failed = sorted.iter().filter(|p| p.error.is_some()).count();
    let converged = sorted.iter().filter(|p| p.is_converged()).count();
    let changes: usize = sorted.iter().map(|p| p.changes()).sum();
    let _ = write!(
        out,
        "\nPlan: {changes} change{} on {changed} of {} host{}; {converged} host{} converged",
        plural(changes),
        sorted.len(),
        plural(sorted.len()),
        plural(converged)
    );
    if failed > 0 {
        let _ = write!(out, "; {failed} host{} failed", plural(failed));
    }
    out.push_str(".\n");
    out
}

fn render_host(out: &mut String, plan: &HostPlan, style: Style) {
    let header = if plan.address.is_empty() || plan.address == plan.host {
        plan.host.clone()
    } else {
        format!("{} ({})", plan.host, plan.address)
    };
    if let Some(error) = &plan.error {
        let _ = writeln!(
            out,
            "{}  {}",
            style.paint("1", &header),
            style.paint("31", &format!("failed: {error}"))
        );
        return;
    }
    if plan.changes() == 0 {
        let resources = plan.resources();
        let _ = writeln!(
            out,
            "{}  converged, {resources} resource{}",
            style.paint("1", &header),
            plural(resources)
        );
        return;
    }
    let _ = writeln!(out, "{}", style.paint("1", &header));
    let module_width = plan.steps.iter().map(|s| s.module.len()).max().unwrap_or(0);
    let changing: Vec<_> = plan.steps.iter().filter(|s| s.diff.action.is_change()).collect();
    let targets: Vec<String> = changing
        .iter()
        .map(|step| {
            let attributes: Vec<String> = step.diff.attributes.iter().map(|a| a.describe()).collect();
            if attributes.is_empty() {
                step.target.clone()
            } else {
                format!("{}  {}", step.target, attributes.join(", "))
            }
        })
        .collect();
    let target_width = targets
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    for (step, target) in changing.iter().zip(&targets) {
        let sign = step.diff.action.sign();
        let color = match step.diff.action {
            Action::Create => "32",
            Action::Remove => "31",
            Action::Run | Action::Unknown => "35",
            _ => "33",
        };
        let _ = writeln!(
            out,
            "  {} {:mw$}  {:tw$}  {}  {}",
            style.paint(color, sign),
            step.module,
            target,
            step.location,
            step.task,
            mw = module_width,
            tw = target_width
        );
        if let Some(content) = &step.diff.content {
            for line in content.lines() {
                let painted = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => style.paint("32", line),
                    Some('-') if !line.starts_with("---") => style.paint("31", line),
                    Some('@') => style.paint("36", line),
                    _ => line.to_string(),
                };
                let _ = writeln!(out, "      {painted}");
            }
        }
    }
    for handler in &plan.handlers {
        let _ = writeln!(
            out,
            "  {} handler  {}  (notified by: {})",
            style.paint("35", "!"),
            handler.name,
            handler.notified_by.join(", ")
        );
    }
}

/// `deploy check`: one line per drifted resource, nothing at all when converged.
pub fn render_drift(plans: &[HostPlan]) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&HostPlan> = plans.iter().collect();
    sorted.sort_by(|a, b| a.host.cmp(&b.host));
    for plan in sorted {
        if let Some(error) = &plan.error {
            let _ = writeln!(out, "{}: error: {error}", plan.host);
            continue;
        }
        for step in plan.steps.iter().filter(|s| s.diff.action.is_change()) {
            let attributes: Vec<String> = step.diff.attributes.iter().map(|a| a.describe()).collect();
            let detail = if attributes.is_empty() {
                String::new()
            } else {
                format!("  {}", attributes.join(", "))
            };
            let _ = writeln!(
                out,
                "{}: {} {} {}{detail}  ({}, {})",
                plan.host,
                step.diff.action.sign(),
                step.module,
                step.target,
                step.task,
                step.location
            );
        }
    }
    out
}

/// The end of `deploy apply`: per host, what happened.
pub fn render_recap(report: &crate::engine::RunReport) -> String {
    use crate::engine::host::Status;
    let mut out = String::from("\nRecap:\n");
    for host in &report.hosts {
        let state = if report.untouched.contains(&host.plan.host) {
            "never touched (the run stopped first)".to_string()
        } else if host.unreachable {
            "unreachable".to_string()
        } else if host.failed() {
            "failed".to_string()
        } else {
            "ok".to_string()
        };
        let _ = writeln!(
            out,
            "  {:16} ok={} changed={} failed={} skipped={} not_run={}  {state}",
            host.plan.host,
            host.count(&Status::Ok),
            host.count(&Status::Changed),
            host.count(&Status::Failed),
            host.count(&Status::Skipped),
            host.count(&Status::NotRun),
        );
        if let Some(error) = &host.plan.error {
            let _ = writeln!(out, "    {error}");
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{unified_diff, AttributeChange, Diff, PlannedHandler, PlannedStep};

    fn step(module: &str, target: &str, diff: Diff) -> PlannedStep {
        PlannedStep {
            module: module.into(),
            target: target.into(),
            task: "a task".into(),
            location: "roles/app/tasks/main.yml:38".into(),
            role: Some("app".into()),
            diff,
            notify: vec![],
            fingerprint: None,
        }
    }

    #[test]
    fn renders_a_reviewable_plan() {
        let mut content = Diff::new(Action::Change);
        content.content = Some(unified_diff(
            "LISTEN = 8081\n",
            "listen = 8081\n",
            "/srv/app/conf/app.conf",
        ));
        let service = Diff::from_attributes(vec![AttributeChange::new(
            "state",
            Some("stopped"),
            Some("started"),
        )]);
        let plans = vec![
            HostPlan {
                host: "h2".into(),
                address: "10.213.0.12".into(),
                steps: vec![
                    step("template", "/srv/app/conf/app.conf", content),
                    step("apt", "tree", Diff::new(Action::Create)),
                    step("service", "nginx", service),
                    step("file", "/etc/x", Diff::converged()),
                ],
                handlers: vec![PlannedHandler {
                    name: "reload nginx".into(),
                    notified_by: vec!["app config".into()],
                }],
                error: None,
            },
            HostPlan {
                host: "h1".into(),
                address: "10.213.0.11".into(),
                steps: vec![step("file", "/etc/x", Diff::converged())],
                handlers: vec![],
                error: None,
            },
        ];
        let text = render_plan(&plans, Style::default());
        let expected = "\
h1 (10.213.0.11)  converged, 1 resource
h2 (10.213.0.12)
  ~ template  /srv/app/conf/app.conf          roles/app/tasks/main.yml:38  a task
      --- /srv/app/conf/app.conf (on host)
      +++ /srv/app/conf/app.conf (planned)
      @@ -1 +1 @@
      -LISTEN = 8081
      +listen = 8081
  + apt       tree                            roles/app/tasks/main.yml:38  a task
  ~ service   nginx  state stopped → started  roles/app/tasks/main.yml:38  a task
  ! handler  reload nginx  (notified by: app config)

Plan: 3 changes on 1 of 2 hosts; 1 host converged.
";
        assert_eq!(text, expected);
    }
}
