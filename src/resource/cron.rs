//! `cron`: a crontab entry, written under `#Ansible: NAME` as Ansible writes it.
//!
//! The probe reads the whole crontab (`crontab -l -u USER`, or the `cron_file`); the new one
//! is computed here with Ansible's rules (a `#Ansible: NAME` comment line above each job, an
//! identical unnamed job adopted, variables as `NAME="value"` at the top), and installed with
//! `crontab -u USER -` or an atomic write of the cron file, if the crontab is still the one
//! the plan was made from.
use anyhow::{bail, Context, Result};
use base64::Engine as _;

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{unified_diff, Action, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Manages a cron job (or a crontab variable with `env: yes`).
///
/// ```yaml
/// - cron:
///     name: backup
///     minute: "0"
///     hour: "3"
///     job: /usr/local/bin/backup
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "cron",
    fqcn: "ansible.builtin.cron",
    params: &[
        P::new("name", Str),
        P::new("user", Str),
        P::new("job", Str).aliases(&["value"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("cron_file", Path),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("minute", Str).default(D::Str("*")),
        P::new("hour", Str).default(D::Str("*")),
        P::new("day", Str).default(D::Str("*")).aliases(&["dom"]),
        P::new("month", Str).default(D::Str("*")),
        P::new("weekday", Str).default(D::Str("*")).aliases(&["dow"]),
        P::new("special_time", Str).choices(&[
            "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
        ]),
        P::new("disabled", Bool).default(D::Bool(false)),
        P::new("env", Bool).default(D::Bool(false)),
        P::new("insertafter", Str),
        P::new("insertbefore", Str),
    ],
    mutually_exclusive: &[&["insertafter", "insertbefore"]],
    required_if: &[("state", "present", &["job"])],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(Cron::from_args(args)?))
}

impl Cron {
    pub fn from_args(args: &Args) -> Result<Cron> {
        args.refuse(&["backup"])?;
        let name = args
            .str("name")?
            .context("`cron` needs the parameter `name` (Ansible requires it)")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let user = args.str("user")?;
        let cron_file = args.str("cron_file")?.map(|file| {
            if file.starts_with('/') {
                file
            } else {
                format!("/etc/cron.d/{file}")
            }
        });
        if cron_file.as_deref() == Some("/etc/crontab") {
            bail!("Will not manage /etc/crontab via cron_file, see documentation.");
        }
        let times: Vec<String> = ["minute", "hour", "day", "month", "weekday"]
            .iter()
            .map(|name| args.str(name).map(Option::unwrap_or_default))
            .collect::<Result<_>>()?;
        let special_time = args.str("special_time")?;
        if special_time.is_some() && times.iter().any(|t| t != "*") {
            bail!("You cannot combine special_time with any of the time or day/date parameters.");
        }
        let env = args.flag("env")?;
        let insertafter = args.str("insertafter")?;
        let insertbefore = args.str("insertbefore")?;
        let job = args.str("job")?;
        if present {
            if cron_file.is_some() && user.is_none() {
                bail!("To use cron_file=... parameter you must specify user=... as well");
            }
            if job.is_none() {
                bail!("You must specify 'job' to install a new cron job or variable");
            }
            if (insertafter.is_some() || insertbefore.is_some()) && !env {
                bail!("Insertafter and insertbefore parameters are valid only with env=yes");
            }
        }
        if env && name.contains(' ') {
            bail!("Invalid name for environment variable");
        }
        let entry = CronEntry {
            name,
            present,
            job: job.unwrap_or_default(),
            times,
            special_time,
            disabled: args.flag("disabled")?,
            env,
            insertafter,
            insertbefore,
            user: user.clone(),
            in_cron_file: cron_file.is_some(),
        };
        Ok(Cron {
            entry,
            user,
            cron_file,
        })
    }
}

/// One cron job or variable, and Ansible's way of placing it in a crontab.
#[derive(Clone, Debug)]
pub struct CronEntry {
    pub name: String,
    pub present: bool,
    pub job: String,
    /// minute, hour, day, month, weekday.
    pub times: Vec<String>,
    pub special_time: Option<String>,
    pub disabled: bool,
    pub env: bool,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    /// The user column of a `cron_file` line.
    pub user: Option<String>,
    pub in_cron_file: bool,
}

const ANSIBLE: &str = "#Ansible: ";

impl CronEntry {
    /// The job line as Ansible writes it.
    pub fn job_line(&self) -> String {
        let job = self.job.trim_matches(['\r', '\n']);
        let prefix = if self.disabled { "#" } else { "" };
        let user = self.user.as_deref().unwrap_or("None");
        match (&self.special_time, self.in_cron_file) {
            (Some(special), true) => format!("{prefix}@{special} {user} {job}"),
            (Some(special), false) => format!("{prefix}@{special} {job}"),
            (None, true) => format!("{prefix}{} {user} {job}", self.times.join(" ")),
            (None, false) => format!("{prefix}{} {job}", self.times.join(" ")),
        }
    }

    /// The crontab after this entry is applied (Ansible's `cron` module), or `None` when it
    /// does not change; `Some(None)` when a `cron_file` left empty is to be removed.
    pub fn apply_to(&self, existing: &str) -> Result<Option<Option<String>>> {
        let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
        let mut changed = false;
        if self.env {
            let decl = format!("{}=\"{}\"", self.name, self.job);
            let prefix = format!("{}=", self.name);
            let old = lines.iter().position(|l| l.starts_with(&prefix));
            if self.present {
                match old {
                    None => {
                        let index = match (&self.insertafter, &self.insertbefore) {
                            (None, None) => 0,
                            (after, before) => {
                                let other = after.as_ref().or(before.as_ref()).expect("one is set");
                                let other_prefix = format!("{other}=");
                                let found = lines
                                    .iter()
                                    .position(|l| l.starts_with(&other_prefix))
                                    .with_context(|| format!("Variable named '{other}' not found."))?;
                                if after.is_some() {
                                    found + 1
                                } else {
                                    found
                                }
                            }
                        };
                        lines.insert(index, decl);
                        changed = true;
                    }
                    Some(index) if lines[index] != decl => {
                        lines = lines
                            .into_iter()
                            .map(|l| if l.starts_with(&prefix) { decl.clone() } else { l })
                            .collect();
                        changed = true;
                    }
                    Some(_) => {}
                }
            } else if old.is_some() {
                lines.retain(|l| !l.starts_with(&prefix));
                changed = true;
            }
        } else if self.present {
            let job = self.job_line();
            let old = find_job(&mut lines, &self.name, Some(&job));
            match old.len() {
                0 => {
                    lines.push(format!("{ANSIBLE}{}", self.name));
                    lines.push(job);
                    changed = true;
                }
                _ if old[1] != job || old.len() > 2 => {
                    lines = update_job(lines, &self.name, Some(&job));
                    changed = true;
                }
                _ => {}
            }
        } else if !find_job(&mut lines, &self.name, None).is_empty() {
            lines = update_job(lines, &self.name, None);
            if self.in_cron_file && lines.iter().all(|l| l.trim().is_empty()) {
                return Ok(Some(None));
            }
            changed = true;
        }
        if !changed && !existing.is_empty() && !existing.ends_with(['\r', '\n']) {
            changed = true;
        }
        if !changed {
            return Ok(None);
        }
        let mut rendered = lines.join("\n");
        if !rendered.is_empty() {
            rendered = format!("{}\n", rendered.trim_end_matches(['\r', '\n']));
        }
        Ok(Some(Some(rendered)))
    }
}

/// Ansible's `find_job`: the `#Ansible: NAME` comment and its job line; with `job`, an
/// unnamed identical job line is adopted (a comment is inserted above it) and a third element
/// says so.
fn find_job(lines: &mut Vec<String>, name: &str, job: Option<&str>) -> Vec<String> {
    let mut comment: Option<String> = None;
    for line in lines.iter() {
        if let Some(current) = comment.take() {
            if current == name {
                return vec![current, line.clone()];
            }
        } else if let Some(rest) = line.strip_prefix(ANSIBLE) {
            comment = Some(rest.to_string());
        }
    }
    if let Some(job) = job {
        for i in 0..lines.len() {
            if lines[i] == job {
                // Python's lines[i - 1] is the last line when i is 0.
                let previous = if i == 0 { lines.len() - 1 } else { i - 1 };
                if !lines[previous].starts_with(ANSIBLE) {
                    lines.insert(i, format!("{ANSIBLE}{name}"));
                    return vec![lines[i].clone(), job.to_string(), String::new()];
                } else if lines[previous] == format!("{ANSIBLE}None") {
                    lines[previous] = format!("{ANSIBLE}{name}");
                    return vec![lines[previous].clone(), job.to_string(), String::new()];
                }
            }
        }
    }
    Vec::new()
}

/// Ansible's `_update_job`: each `#Ansible: NAME` comment and the line after it are
/// replaced by the comment and `job`, or dropped when `job` is `None`.
fn update_job(lines: Vec<String>, name: &str, job: Option<&str>) -> Vec<String> {
    let marker = format!("{ANSIBLE}{name}");
    let mut out = Vec::with_capacity(lines.len() + 2);
    let mut comment: Option<String> = None;
    for line in lines {
        if let Some(current) = comment.take() {
            if let Some(job) = job {
                out.push(current);
                out.push(job.to_string());
            }
        } else if line == marker {
            comment = Some(line);
        } else {
            out.push(line);
        }
    }
    out
}

/// A cron entry in a user's crontab or in a `cron_file`.
#[derive(Clone, Debug)]
pub struct Cron {
    pub entry: CronEntry,
    /// `crontab -u USER`; the connecting (or become) user when `None`.
    pub user: Option<String>,
    pub cron_file: Option<String>,
}

/// The crontab the probe read.
#[derive(Clone, Debug)]
pub struct CrontabState {
    /// Without the headers some `crontab -l` implementations add; `None`: no crontab or file.
    pub content: Option<String>,
    pub sha256: String,
    /// What it should become: `None` unchanged, `Some(None)` the cron file removed.
    pub wanted: Option<Option<String>>,
}

impl Resource for Cron {
    type State = CrontabState;

    fn target(&self) -> String {
        match (&self.cron_file, &self.user) {
            (Some(file), _) => format!("{file} {}", self.entry.name),
            (None, Some(user)) => format!("crontab of {user}: {}", self.entry.name),
            (None, None) => format!("crontab: {}", self.entry.name),
        }
    }

    /// Every entry of one crontab edits the same file.
    fn key(&self) -> String {
        match (&self.cron_file, &self.user) {
            (Some(file), _) => format!("cron file {file}"),
            (None, Some(user)) => format!("crontab of {user}"),
            (None, None) => "crontab".to_string(),
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        match (&self.cron_file, &self.user) {
            (Some(file), _) => {
                script.line(
                    r#"f={}; if [ -f "$f" ]; then echo rc=0; printf 'content=%s\n' "$(base64 -w0 -- "$f")"; else echo rc=1; fi"#,
                    &[file],
                );
            }
            (None, Some(user)) => {
                script.line(
                    r#"u={}; crontab -l -u "$u" >/dev/null 2>&1; echo "rc=$?"; printf 'content=%s\n' "$(crontab -l -u "$u" 2>/dev/null | base64 -w0)""#,
                    &[user],
                );
            }
            (None, None) => {
                script.raw(
                    r#"crontab -l >/dev/null 2>&1; echo "rc=$?"; printf 'content=%s\n' "$(crontab -l 2>/dev/null | base64 -w0)""#,
                );
            }
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<CrontabState> {
        let pairs = key_values(out)?;
        let rc = value_of(&pairs, "rc").context("probe: no crontab status")?;
        let content = match rc {
            "0" => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value_of(&pairs, "content").unwrap_or_default())
                    .context("probe: bad base64 in the crontab")?;
                Some(String::from_utf8(bytes).context("the crontab is not UTF-8")?)
            }
            "1" => None,
            other => bail!("could not read the crontab (crontab -l exited {other}): is cron installed?"),
        };
        let sha256 = crate::digest::sha256_hex(content.as_deref().unwrap_or_default().as_bytes());
        let existing = match (&content, &self.cron_file) {
            (Some(text), None) => strip_headers(text),
            (Some(text), Some(_)) => text.clone(),
            (None, _) => String::new(),
        };
        let mut wanted = self.entry.apply_to(&existing)?;
        if self.cron_file.is_some() && content.is_none() && wanted == Some(None) {
            wanted = None;
        }
        Ok(CrontabState {
            content,
            sha256,
            wanted,
        })
    }

    fn diff(&self, have: &CrontabState) -> Diff {
        let before = have.content.clone().unwrap_or_default();
        match &have.wanted {
            None => Diff::converged(),
            Some(None) => {
                let mut diff = Diff::new(Action::Remove);
                diff.content = Some(unified_diff(&before, "", &Resource::target(self)));
                diff
            }
            Some(Some(after)) => {
                let mut diff = Diff::new(if have.content.is_none() {
                    Action::Create
                } else {
                    Action::Change
                });
                let label = self.cron_file.clone().unwrap_or_else(|| Resource::target(self));
                diff.content = Some(unified_diff(&strip_headers(&before), after, &label));
                diff
            }
        }
    }

    fn apply(&self, have: &CrontabState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        let Some(wanted) = &have.wanted else {
            return script;
        };
        script.line("seen={}", &[&have.sha256]);
        let changed_error = r#"[ "$cur" = "$seen" ] || { echo "the crontab changed since the plan; not overwriting it" >&2; exit 1; }"#;
        match (&self.cron_file, wanted) {
            (Some(file), None) => {
                script.line("f={}", &[file]);
                script.raw(r#"cur=$(cat -- "$f" 2>/dev/null | sha256sum | cut -c1-64)"#);
                script.raw(changed_error);
                script.raw(r#"rm -f -- "$f" || exit 1; deploy_changed"#);
            }
            (Some(file), Some(content)) => {
                script.line("f={}", &[file]);
                script.raw(r#"cur=$(cat -- "$f" 2>/dev/null | sha256sum | cut -c1-64)"#);
                script.raw(changed_error);
                // Ansible writes cron files with umask 022.
                script.raw("umask 022");
                script.line(r#"deploy_clean_temps "$(dirname -- {})""#, &[file]);
                script.pipe_bytes(
                    content.as_bytes(),
                    &["deploy_write", file, "", "", ""],
                    "|| exit 1",
                );
                script.raw("deploy_changed");
            }
            (None, wanted) => {
                let content = wanted.clone().unwrap_or_default();
                match &self.user {
                    Some(user) => {
                        script.line("u={}", &[user]);
                        script.raw(r#"cur=$(crontab -l -u "$u" 2>/dev/null | sha256sum | cut -c1-64)"#);
                        script.raw(changed_error);
                        script.pipe_bytes(content.as_bytes(), &["crontab", "-u", user, "-"], "|| exit 1");
                    }
                    None => {
                        script.raw(r#"cur=$(crontab -l 2>/dev/null | sha256sum | cut -c1-64)"#);
                        script.raw(changed_error);
                        script.pipe_bytes(content.as_bytes(), &["crontab", "-"], "|| exit 1");
                    }
                }
                script.raw("deploy_changed");
            }
        }
        script
    }
}

/// Drops the "DO NOT EDIT" header lines some `crontab -l` print first, as Ansible does.
fn strip_headers(text: &str) -> String {
    let mut kept = text.to_string();
    for (count, line) in text.lines().enumerate() {
        if count > 2 {
            break;
        }
        let header = line.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.")
            || (line.starts_with("# (/tmp/") && line.contains("installed on") && line.ends_with(')'))
            || (line.starts_with("# (") && line.contains("version"));
        if header {
            kept = kept.replacen(&format!("{line}\n"), "", 1);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::{converge_here, section, values};
    use serde_json::json;

    fn cron(params: serde_json::Value) -> Cron {
        let map = values(params);
        Cron::from_args(&Args::new(&SPEC, &map)).unwrap()
    }

    fn applied(params: serde_json::Value, existing: &str) -> Option<Option<String>> {
        cron(params).entry.apply_to(existing).unwrap()
    }

    #[test]
    fn writes_jobs_as_ansible_does() {
        let backup = json!({"name": "backup", "minute": "0", "hour": "3", "job": "/usr/local/bin/backup"});
        let written = "#Ansible: backup\n0 3 * * * /usr/local/bin/backup\n";
        assert_eq!(applied(backup.clone(), ""), Some(Some(written.to_string())));
        assert_eq!(applied(backup.clone(), written), None, "converged");
        assert_eq!(
            applied(backup.clone(), "MAILTO=x\n#Ansible: backup\n5 3 * * * old\n# end"),
            Some(Some(format!("MAILTO=x\n{written}# end\n")))
        );
        assert_eq!(
            applied(backup, "0 3 * * * /usr/local/bin/backup\n"),
            Some(Some(written.to_string())),
            "an identical unnamed job is adopted"
        );
        let reboot = json!({"name": "r", "special_time": "reboot", "job": "x", "disabled": true});
        assert_eq!(
            applied(reboot, ""),
            Some(Some("#Ansible: r\n#@reboot x\n".to_string()))
        );
        assert_eq!(
            applied(json!({"name": "a", "job": "x"}), "#Ansible: a\n* * * * * x"),
            Some(Some("#Ansible: a\n* * * * * x\n".to_string())),
            "a missing final newline is a change"
        );
    }

    #[test]
    fn absent_variables_and_cron_files() {
        let absent = json!({"name": "backup", "state": "absent"});
        assert_eq!(
            applied(absent.clone(), "a\n#Ansible: backup\njob\nb\n"),
            Some(Some("a\nb\n".to_string()))
        );
        assert_eq!(applied(absent, "a\n"), None);
        let env = json!({"name": "MAILTO", "env": true, "job": "ops@example.org"});
        assert_eq!(
            applied(env.clone(), "#Ansible: x\n* * * * * y\n"),
            Some(Some(
                "MAILTO=\"ops@example.org\"\n#Ansible: x\n* * * * * y\n".to_string()
            ))
        );
        assert_eq!(applied(env, "MAILTO=\"ops@example.org\"\n"), None);
        let file = json!({"name": "j", "job": "x", "user": "app", "cron_file": "app", "hour": "1"});
        assert_eq!(
            applied(file, ""),
            Some(Some("#Ansible: j\n* 1 * * * app x\n".to_string()))
        );
        let gone = json!({"name": "j", "state": "absent", "cron_file": "app"});
        assert_eq!(
            applied(gone, "#Ansible: j\n* 1 * * * app x\n"),
            Some(None),
            "an emptied cron file is removed"
        );
    }

    #[test]
    fn plans_from_canned_output() {
        let task = cron(json!({"name": "backup", "user": "postgres", "hour": "3", "job": "pg_dumpall"}));
        let (diff, script) = Step::plan(&task, &section("rc=1\ncontent=\n")).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(diff.content.unwrap().contains("+* 3 * * * pg_dumpall"));
        assert!(
            script.as_str().contains("| crontab '-u' postgres '-'"),
            "{}",
            script.as_str()
        );
        let existing =
            base64::engine::general_purpose::STANDARD.encode("#Ansible: backup\n* 3 * * * pg_dumpall\n");
        let (diff, _) = Step::plan(&task, &section(&format!("rc=0\ncontent={existing}\n"))).unwrap();
        assert!(diff.is_converged());
        assert!(Step::plan(&task, &section("rc=127\ncontent=\n")).is_err());
        let map = values(json!({"name": "x", "job": "y", "cron_file": "f"}));
        assert!(
            build(&Args::new(&SPEC, &map), &NoContext).is_err(),
            "cron_file needs user"
        );
    }

    #[test]
    fn converges_a_real_cron_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app");
        let task = cron(json!({"name": "j", "job": "x", "user": "app", "cron_file": file.to_str().unwrap()}));
        assert_eq!(converge_here(&task).action, Action::Create);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "#Ansible: j\n* * * * * app x\n"
        );
        let task = cron(json!({"name": "j", "state": "absent", "cron_file": file.to_str().unwrap()}));
        assert_eq!(converge_here(&task).action, Action::Remove);
        assert!(!file.exists());
    }
}
