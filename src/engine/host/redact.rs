//! Secrets never shown: the values of `deploy_secret_vars`, `no_log` parameters and
//! passwords are collected per host and replaced by `********` in everything reported.

use super::*;

impl HostRunner {
    /// Remembers the values a run must never show: strings of at least 3 characters.
    pub(super) fn add_secrets(&mut self, value: &Json) {
        match value {
            Json::String(text) if text.chars().count() >= 3 && !crate::template::is_omit(value) => {
                self.secrets.insert(text.clone());
            }
            Json::Array(items) => items.iter().for_each(|v| self.add_secrets(v)),
            Json::Object(map) => map.values().for_each(|v| self.add_secrets(v)),
            _ => {}
        }
    }

    /// `text` with every secret replaced.
    pub(super) fn redact(&self, text: &str) -> String {
        redact_text(text, &self.all_secrets())
    }

    /// This host's secrets and every value a vault gave (or that was computed from one).
    pub(super) fn all_secrets(&self) -> BTreeSet<String> {
        let mut secrets = self.secrets.clone();
        secrets.extend(crate::vault::tainted());
        secrets
    }

    /// The values of the variables listed in `deploy_secret_vars` (and the become password).
    pub(super) fn collect_secret_vars(&mut self, run: &RunShared, stack: &VarStack) -> Result<()> {
        if let Some(password) = run
            .options
            .become_password
            .as_ref()
            .or(run.become_passwords.get(&self.name))
        {
            self.secrets.insert(password.expose().to_string());
        }
        if stack.lookup("deploy_secret_vars").is_none() {
            return Ok(());
        }
        let origin = Origin::new(crate::error::Pos::file_start(std::path::Path::new(
            "deploy_secret_vars",
        )));
        let names = run.templar.resolve_var("deploy_secret_vars", stack, &origin)?;
        let names: Vec<String> = match names {
            Json::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Json::String(name) => vec![name],
            other => bail!("`deploy_secret_vars` must be a list of variable names, found {other}"),
        };
        for name in names {
            if stack.lookup(&name).is_some() {
                let value = run.templar.resolve_var(&name, stack, &origin)?;
                self.add_secrets(&value);
            }
        }
        Ok(())
    }
}

/// Replaces every secret in `text`, longest first (so a secret containing another goes whole).
pub fn redact_text(text: &str, secrets: &BTreeSet<String>) -> String {
    let mut ordered: Vec<&String> = secrets.iter().collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for secret in ordered {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "********");
        }
    }
    out
}

/// Removes secrets from everything a report will show: plans, diffs, errors, messages.
pub(super) fn redact_report(report: &mut HostReport, secrets: &BTreeSet<String>) {
    if secrets.is_empty() {
        return;
    }
    let redact_step = |step: &mut PlannedStep| {
        step.target = redact_text(&step.target, secrets);
        step.task = redact_text(&step.task, secrets);
        if let Some(content) = &step.diff.content {
            step.diff.content = Some(redact_text(content, secrets));
        }
        for attribute in &mut step.diff.attributes {
            attribute.before = attribute.before.as_ref().map(|b| redact_text(b, secrets));
            attribute.after = attribute.after.as_ref().map(|a| redact_text(a, secrets));
        }
    };
    report.plan.steps.iter_mut().for_each(redact_step);
    for result in &mut report.results {
        redact_step(&mut result.step);
        result.message = result.message.as_ref().map(|m| redact_text(m, secrets));
    }
    report.plan.error = report.plan.error.as_ref().map(|e| redact_text(e, secrets));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_longest_first() {
        let secrets: BTreeSet<String> = ["hunter2".to_string(), "hunter22".to_string()].into();
        assert_eq!(
            redact_text("pw=hunter22 and hunter2", &secrets),
            "pw=******** and ********"
        );
    }
}
