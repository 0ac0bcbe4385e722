//! Everything `plan`, `check` and `apply` print, as pure functions of the run's outcome: text
//! for a terminal, Markdown for a merge request, drift lines for cron, JSON for programs (the
//! Prometheus metrics of `check` are in `metrics`). The command line chooses and prints.
//!
//! A reviewer reads plans in a merge request and cron reads check output, so output is
//! deterministic (hosts in natural order, steps in playbook order, no timestamps), readable
//! without colour, and coloured only on a terminal. Hosts whose plans are identical are shown
//! once, so a plan for fifty web servers stays as short as a plan for one.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{json, Value as Json};

use crate::engine::{Mode, RunReport};
use crate::plan::{Action, HostPlan, PlannedHandler, PlannedStep};

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

/// The JSON document of `--format json` (docs/json.md, docs/schema/deploy-output-v1.json),
/// built here only; `exit_code` is the one the command exits with.
pub fn json_document(report: &RunReport, mode: Mode, exit_code: u8) -> Json {
    let changes: usize = report.hosts.iter().map(|h| h.plan.changes()).sum();
    let mut document = json!({
        "version": 1,
        "command": command_name(mode),
        "exit_code": exit_code,
        "summary": {
            "hosts": report.hosts.len(),
            "changes": changes,
            "failed": report.hosts.iter().filter(|h| h.failed()).count(),
            "unreachable": report.hosts.iter().filter(|h| h.unreachable).count(),
        },
        "hosts": report.hosts,
    });
    if let Some(reason) = &report.aborted {
        document["aborted"] = json!(reason);
    }
    if !report.untouched.is_empty() {
        document["untouched"] = json!(report.untouched);
    }
    document
}

/// The JSON document printed instead of a report when the run could not start (a playbook
/// that does not load, a bad inventory): scripts still read one document from stdout.
pub fn error_document(mode: Mode, err: &anyhow::Error, exit_code: u8) -> Json {
    let mut document = json!({
        "version": 1,
        "command": command_name(mode),
        "exit_code": exit_code,
        "error": format!("{err:#}"),
    });
    if let Some(hint) = crate::error::hint_of(err) {
        document["hint"] = json!(hint);
    }
    document
}

fn command_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Plan => "plan",
        Mode::Check => "check",
        Mode::Apply => "apply",
    }
}

/// Hosts whose plans are identical, shown once.
struct HostGroup<'p> {
    plans: Vec<&'p HostPlan>,
}

impl<'p> HostGroup<'p> {
    fn first(&self) -> &'p HostPlan {
        self.plans[0]
    }

    fn names(&self) -> Vec<&'p str> {
        self.plans.iter().map(|p| p.host.as_str()).collect()
    }

    fn changing(&self) -> Vec<&'p PlannedStep> {
        changing_steps(self.first())
    }
}

fn changing_steps(plan: &HostPlan) -> Vec<&PlannedStep> {
    plan.steps.iter().filter(|s| s.diff.action.is_change()).collect()
}

/// Whether two hosts show the same plan: the same changing steps (module, target, task,
/// location, attributes, diff, notifications), handlers, error and resource count. Compared
/// exactly: a diff that mentions the host's own name keeps that host apart.
fn same_plan(a: &HostPlan, b: &HostPlan) -> bool {
    a.error == b.error
        && a.handlers == b.handlers
        && changing_steps(a) == changing_steps(b)
        && (a.changes() > 0 || a.resources() == b.resources())
}

/// Sorts hosts in natural order and groups identical plans, in the order of each group's
/// first host.
fn group_hosts(plans: &[HostPlan]) -> Vec<HostGroup<'_>> {
    let mut sorted: Vec<&HostPlan> = plans.iter().collect();
    sorted.sort_by(|a, b| natural_cmp(&a.host, &b.host));
    let mut groups: Vec<HostGroup> = Vec::new();
    for plan in sorted {
        match groups.iter_mut().find(|g| same_plan(g.first(), plan)) {
            Some(group) => group.plans.push(plan),
            None => groups.push(HostGroup { plans: vec![plan] }),
        }
    }
    groups
}

/// Compares host names as people number them: `web2` before `web10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (digits_a, rest_a) = split_digits(a);
                let (digits_b, rest_b) = split_digits(b);
                let value_a = digits_a.trim_start_matches('0');
                let value_b = digits_b.trim_start_matches('0');
                let order = value_a
                    .len()
                    .cmp(&value_b.len())
                    .then_with(|| value_a.cmp(value_b))
                    .then_with(|| digits_a.len().cmp(&digits_b.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (rest_a, rest_b);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
            }
        }
    }
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text.split_at(end)
}

/// A host name cut around its last number: `web`, `07`, `.example.org`.
fn numbered(name: &str) -> Option<(&str, &str, &str)> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = name[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    Some((&name[..start], &name[start..end], &name[end..]))
}

/// Whether `next` is the host numbered right after `previous`: `web9` then `web10`,
/// `web09` then `web10`, but not `web9` then `web010`.
fn follows(previous: &str, next: &str) -> bool {
    let (Some((p_prefix, p_number, p_suffix)), Some((n_prefix, n_number, n_suffix))) =
        (numbered(previous), numbered(next))
    else {
        return false;
    };
    let (Ok(p_value), Ok(n_value)) = (p_number.parse::<u64>(), n_number.parse::<u64>()) else {
        return false;
    };
    let padded = |n: &str| n.len() > 1 && n.starts_with('0');
    let same_width = p_number.len() == n_number.len() || !(padded(p_number) || padded(n_number));
    p_prefix == n_prefix && p_suffix == n_suffix && n_value == p_value + 1 && same_width
}

/// Names hosts briefly: runs of three or more consecutively numbered hosts become
/// `web1..web12`, the others are listed: `web1..web12, db1, db3`. Expects natural order.
pub fn describe_hosts(names: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    while start < names.len() {
        let mut end = start;
        while end + 1 < names.len() && follows(names[end], names[end + 1]) {
            end += 1;
        }
        if end - start >= 2 {
            parts.push(format!("{}..{}", names[start], names[end]));
        } else {
            parts.extend(names[start..=end].iter().map(|n| n.to_string()));
        }
        start = end + 1;
    }
    parts.join(", ")
}

/// `local1 (10.0.0.1)` for one host; `web1..web12 (12 hosts)` for a group.
fn group_title(group: &HostGroup) -> String {
    if group.plans.len() > 1 {
        return format!("{} ({} hosts)", describe_hosts(&group.names()), group.plans.len());
    }
    let plan = group.first();
    if plan.address.is_empty() || plan.address == plan.host {
        plan.host.clone()
    } else {
        format!("{} ({})", plan.host, plan.address)
    }
}

/// `app : configuration` as Ansible names a role's task, or the task's name alone.
fn task_label(step: &PlannedStep) -> String {
    match &step.role {
        Some(role) => format!("{role} : {}", step.task),
        None => step.task.clone(),
    }
}

/// The target and its attribute changes: `/etc/app.conf  mode 0644 → 0600`.
fn target_label(step: &PlannedStep) -> String {
    let attributes: Vec<String> = step.diff.attributes.iter().map(|a| a.describe()).collect();
    if attributes.is_empty() {
        step.target.clone()
    } else {
        format!("{}  {}", step.target, attributes.join(", "))
    }
}

fn each(count: usize) -> &'static str {
    if count > 1 {
        " each"
    } else {
        ""
    }
}

/// The plan of every host (identical plans once), then the run's summary line.
pub fn render_plan(plans: &[HostPlan], style: Style) -> String {
    let mut out = String::new();
    for group in group_hosts(plans) {
        render_group(&mut out, &group, style);
    }
    out.push('\n');
    out.push_str(&plan_summary(plans));
    out.push('\n');
    out
}

/// `Plan: 3 changes on 1 of 2 hosts; 1 host converged.`
fn plan_summary(plans: &[HostPlan]) -> String {
    let changed = plans.iter().filter(|p| p.changes() > 0).count();
    let failed = plans.iter().filter(|p| p.error.is_some()).count();
    let converged = plans.iter().filter(|p| p.is_converged()).count();
    let changes: usize = plans.iter().map(HostPlan::changes).sum();
    let mut out = format!(
        "Plan: {changes} change{} on {changed} of {} host{}; {converged} host{} converged",
        plural(changes),
        plans.len(),
        plural(plans.len()),
        plural(converged)
    );
    if failed > 0 {
        let _ = write!(out, "; {failed} host{} failed", plural(failed));
    }
    out.push('.');
    out
}

fn render_group(out: &mut String, group: &HostGroup, style: Style) {
    let title = style.paint("1", &group_title(group));
    let plan = group.first();
    if let Some(error) = &plan.error {
        let _ = writeln!(out, "{title}  {}", style.paint("31", &format!("failed: {error}")));
        return;
    }
    if plan.changes() == 0 {
        let resources = plan.resources();
        let _ = writeln!(
            out,
            "{title}  converged, {resources} resource{}{}",
            plural(resources),
            each(group.plans.len())
        );
        return;
    }
    if group.plans.len() > 1 {
        let _ = writeln!(out, "{title}  same changes on each");
    } else {
        let _ = writeln!(out, "{title}");
    }
    let changing = group.changing();
    let module_width = changing.iter().map(|s| s.module.len()).max().unwrap_or(0);
    let targets: Vec<String> = changing.iter().map(|s| target_label(s)).collect();
    let target_width = targets
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let location_width = changing
        .iter()
        .map(|s| s.location.chars().count())
        .max()
        .unwrap_or(0);
    for (step, target) in changing.iter().zip(&targets) {
        let color = match step.diff.action {
            Action::Create => "32",
            Action::Remove => "31",
            Action::Run | Action::Unknown => "35",
            _ => "33",
        };
        let _ = writeln!(
            out,
            "  {} {:mw$}  {:tw$}  {:lw$}  {}",
            style.paint(color, step.diff.action.sign()),
            step.module,
            target,
            step.location,
            task_label(step),
            mw = module_width,
            tw = target_width,
            lw = location_width,
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
            handler.notified_by.join(", "),
        );
    }
}

/// Diffs longer than this many lines fold under `<details>` in Markdown.
const MARKDOWN_FOLD_LINES: usize = 20;

/// The plan as Markdown for a merge request: a summary table, then a section per host or
/// group of identical hosts, with its steps in a table and its diffs in `diff` blocks.
pub fn render_plan_markdown(plans: &[HostPlan], title: &str) -> String {
    let groups = group_hosts(plans);
    let mut out = format!("## {title}\n\n{}\n\n", plan_summary(plans));
    out.push_str("| Hosts | `+` | `~` | `-` | `!` | `?` | Handlers | Status |\n");
    out.push_str("|---|--:|--:|--:|--:|--:|--:|---|\n");
    for group in &groups {
        let plan = group.first();
        let count = |action: Action| plan.steps.iter().filter(|s| s.diff.action == action).count();
        let status = if let Some(error) = &plan.error {
            format!("failed: {}", cell(error))
        } else if plan.changes() == 0 {
            format!(
                "converged, {} resource{}{}",
                plan.resources(),
                plural(plan.resources()),
                each(group.plans.len())
            )
        } else {
            format!(
                "{} change{}{}",
                plan.changes(),
                plural(plan.changes()),
                each(group.plans.len())
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {status} |",
            cell(&group_title(group)),
            count(Action::Create),
            count(Action::Change),
            count(Action::Remove),
            count(Action::Run),
            count(Action::Unknown),
            plan.handlers.len(),
        );
    }
    for group in groups
        .iter()
        .filter(|g| g.first().changes() > 0 && g.first().error.is_none())
    {
        render_group_markdown(&mut out, group);
    }
    out
}

fn render_group_markdown(out: &mut String, group: &HostGroup) {
    let plan = group.first();
    let _ = writeln!(out, "\n### {}\n", group_title(group).replace('#', "\\#"));
    if group.plans.len() > 1 {
        let _ = writeln!(out, "Same changes on each of: {}.\n", group.names().join(", "));
    }
    out.push_str("| | Module | Target | Changes | Task | Location |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    let changing = group.changing();
    for step in &changing {
        let attributes: Vec<String> = step.diff.attributes.iter().map(|a| a.describe()).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            step.diff.action.sign(),
            cell(&step.module),
            code(&step.target),
            cell(&attributes.join(", ")),
            cell(&task_label(step)),
            code(&step.location),
        );
    }
    for PlannedHandler { name, notified_by } in &plan.handlers {
        let _ = writeln!(
            out,
            "| `!` | handler | {} | notified by: {} | | |",
            cell(name),
            cell(&notified_by.join(", "))
        );
    }
    for step in changing {
        let Some(content) = &step.diff.content else {
            continue;
        };
        let fence = fence_for(content);
        let label = format!("{} {} {}", step.diff.action.sign(), step.module, step.target);
        let lines = content.lines().count();
        if lines > MARKDOWN_FOLD_LINES {
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code> ({lines} lines of diff)</summary>\n",
                html(&label)
            );
        } else {
            let _ = writeln!(out, "\n{}\n", code(&label));
        }
        let _ = writeln!(out, "{fence}diff\n{}{fence}", with_final_newline(content));
        if lines > MARKDOWN_FOLD_LINES {
            out.push_str("\n</details>\n");
        }
    }
}

/// `deploy apply --format markdown`: the recap as a table.
pub fn render_recap_markdown(report: &RunReport) -> String {
    use crate::engine::host::Status;
    let mut out = String::from("## Apply\n\n| Host | ok | changed | failed | skipped | not run | State |\n");
    out.push_str("|---|--:|--:|--:|--:|--:|---|\n");
    for host in sorted_hosts(report) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&host.plan.host),
            host.count(&Status::Ok),
            host.count(&Status::Changed),
            host.count(&Status::Failed),
            host.count(&Status::Skipped),
            host.count(&Status::NotRun),
            cell(&host_state(report, host)),
        );
    }
    out
}

fn sorted_hosts(report: &RunReport) -> Vec<&crate::engine::host::HostReport> {
    let mut hosts: Vec<_> = report.hosts.iter().collect();
    hosts.sort_by(|a, b| natural_cmp(&a.plan.host, &b.plan.host));
    hosts
}

/// A Markdown table cell: no line breaks, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Inline code that survives backticks in the text, inside a table cell.
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let mut ticks = "`".to_string();
    while text.contains(&ticks) {
        ticks.push('`');
    }
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    // A pipe ends a table cell even inside a code span; GitHub reads `\|` there as a pipe.
    format!("{ticks}{pad}{}{pad}{ticks}", text.replace('|', "\\|"))
}

/// A code fence longer than any run of backticks in the text.
fn fence_for(text: &str) -> String {
    let mut fence = "```".to_string();
    while text.contains(&fence) {
        fence.push('`');
    }
    fence
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn with_final_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// `deploy check`: one line per drifted resource, and one per host that could not be
/// checked; nothing at all when converged.
pub fn render_drift(plans: &[HostPlan]) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&HostPlan> = plans.iter().collect();
    sorted.sort_by(|a, b| natural_cmp(&a.host, &b.host));
    for plan in sorted {
        if let Some(error) = &plan.error {
            let _ = writeln!(out, "{}: error: {error}", plan.host);
            continue;
        }
        for step in plan.steps.iter().filter(|s| s.diff.action.is_change()) {
            let mut attributes: Vec<String> = step.diff.attributes.iter().map(|a| a.describe()).collect();
            if step.diff.content.is_some() && step.diff.action == Action::Change {
                attributes.push("content".to_string());
            }
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
                task_label(step),
                step.location
            );
        }
    }
    out
}

/// The last line of `deploy check` on a terminal: what was checked.
pub fn drift_summary(plans: &[HostPlan]) -> String {
    // A host that could not be checked has no drift count: its plan stops at the error.
    let checked: Vec<&HostPlan> = plans.iter().filter(|p| p.error.is_none()).collect();
    let drifted = checked.iter().filter(|p| p.changes() > 0).count();
    let failed = plans.len() - checked.len();
    let resources: usize = checked.iter().map(|p| p.changes()).sum();
    let mut out = if drifted == 0 && failed == 0 {
        let resources: usize = checked.iter().map(|p| p.resources()).sum();
        format!(
            "No drift: {} host{} {} the playbook ({resources} resource{}).",
            plans.len(),
            plural(plans.len()),
            if plans.len() == 1 { "matches" } else { "match" },
            plural(resources)
        )
    } else {
        format!(
            "Drift: {resources} resource{} on {drifted} of {} host{}",
            plural(resources),
            plans.len(),
            plural(plans.len())
        )
    };
    if failed > 0 {
        let _ = write!(out, "; {failed} host{} could not be checked.", plural(failed));
    } else if drifted > 0 {
        out.push('.');
    }
    out.push('\n');
    out
}

fn host_state(report: &RunReport, host: &crate::engine::host::HostReport) -> String {
    if report.untouched.contains(&host.plan.host) {
        "never touched (the run stopped first)".to_string()
    } else if host.unreachable {
        "unreachable".to_string()
    } else if host.failed() {
        "failed".to_string()
    } else {
        "ok".to_string()
    }
}

/// The end of `deploy apply`: per host, what happened.
pub fn render_recap(report: &RunReport) -> String {
    use crate::engine::host::Status;
    let mut out = String::from("\nRecap:\n");
    for host in sorted_hosts(report) {
        let _ = writeln!(
            out,
            "  {:16} ok={} changed={} failed={} skipped={} not_run={} execs={}  {}",
            host.plan.host,
            host.count(&Status::Ok),
            host.count(&Status::Changed),
            host.count(&Status::Failed),
            host.count(&Status::Skipped),
            host.count(&Status::NotRun),
            host.execs,
            host_state(report, host),
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

    fn host(name: &str, steps: Vec<PlannedStep>) -> HostPlan {
        HostPlan {
            host: name.into(),
            address: name.into(),
            steps,
            handlers: vec![],
            error: None,
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
  ~ template  /srv/app/conf/app.conf          roles/app/tasks/main.yml:38  app : a task
      --- /srv/app/conf/app.conf (on host)
      +++ /srv/app/conf/app.conf (planned)
      @@ -1 +1 @@
      -LISTEN = 8081
      +listen = 8081
  + apt       tree                            roles/app/tasks/main.yml:38  app : a task
  ~ service   nginx  state stopped → started  roles/app/tasks/main.yml:38  app : a task
  ! handler  reload nginx  (notified by: app config)

Plan: 3 changes on 1 of 2 hosts; 1 host converged.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn identical_plans_are_shown_once() {
        let mode = || Diff::from_attributes(vec![AttributeChange::new("mode", Some("0644"), Some("0600"))]);
        let mut plans: Vec<HostPlan> = (1..=12)
            .map(|i| host(&format!("web{i}"), vec![step("file", "/etc/key", mode())]))
            .collect();
        plans.push(host("db1", vec![step("file", "/etc/other", mode())]));
        plans.push(host("cache1", vec![step("file", "/etc/key", Diff::converged())]));
        plans.push(host("cache2", vec![step("file", "/etc/key", Diff::converged())]));
        let text = render_plan(&plans, Style::default());
        let expected = "\
cache1, cache2 (2 hosts)  converged, 1 resource each
db1
  ~ file  /etc/other  mode 0644 → 0600  roles/app/tasks/main.yml:38  app : a task
web1..web12 (12 hosts)  same changes on each
  ~ file  /etc/key  mode 0644 → 0600  roles/app/tasks/main.yml:38  app : a task

Plan: 13 changes on 13 of 15 hosts; 2 hosts converged.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn hosts_are_named_by_ranges_when_numbered_consecutively() {
        assert_eq!(describe_hosts(&["web1", "web2", "web3"]), "web1..web3");
        assert_eq!(describe_hosts(&["web1", "web2"]), "web1, web2");
        assert_eq!(
            describe_hosts(&["web8", "web9", "web10", "web12", "db1"]),
            "web8..web10, web12, db1"
        );
        assert_eq!(
            describe_hosts(&["web01.example.org", "web02.example.org", "web03.example.org"]),
            "web01.example.org..web03.example.org"
        );
        assert_eq!(describe_hosts(&["a9", "a010", "a011"]), "a9, a010, a011");
        assert_eq!(describe_hosts(&["alpha", "beta"]), "alpha, beta");
    }

    #[test]
    fn hosts_sort_as_people_number_them() {
        let mut names = vec!["web10", "web2", "db1", "web1", "web02"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["db1", "web1", "web2", "web02", "web10"]);
    }

    #[test]
    fn markdown_escapes_what_would_break_a_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(fence_for("```\nx"), "````");
    }

    #[test]
    fn long_diffs_fold_in_markdown() {
        let before: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let after: String = (0..40).map(|i| format!("line {}\n", i * 2)).collect();
        let mut diff = Diff::new(Action::Change);
        diff.content = Some(unified_diff(&before, &after, "/etc/long"));
        let plans = vec![host("h1", vec![step("copy", "/etc/long", diff)])];
        let text = render_plan_markdown(&plans, "Plan");
        assert!(
            text.contains("<details><summary><code>~ copy /etc/long</code>"),
            "{text}"
        );
        assert!(text.contains("```diff\n--- /etc/long (on host)\n"), "{text}");
        assert!(
            text.contains("| h1 | 0 | 1 | 0 | 0 | 0 | 0 | 1 change |"),
            "{text}"
        );
    }

    #[test]
    fn drift_is_one_line_per_resource() {
        let mut broken = host("h2", vec![]);
        broken.error = Some("unreachable: connection refused".into());
        let plans = vec![
            broken,
            host(
                "h1",
                vec![
                    step("file", "/etc/x", Diff::converged()),
                    step("apt", "jq", Diff::new(Action::Create)),
                ],
            ),
        ];
        assert_eq!(
            render_drift(&plans),
            "h1: + apt jq  (app : a task, roles/app/tasks/main.yml:38)\n\
             h2: error: unreachable: connection refused\n"
        );
    }
}
