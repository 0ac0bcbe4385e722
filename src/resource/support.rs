//! Pieces the system modules (packages, services, accounts, commands, PostgreSQL) share.
//!
//! Most resources are converged or not, and a converged one has nothing to run. A few steps do
//! work whose need the probe cannot see, because it arises from earlier changes in the same run:
//! `systemd: daemon_reload` re-reads unit files another step just wrote, `wait_for` waits for a
//! service a handler just restarted. [`Rechecked`] gives those a script even when their plan is
//! converged, so the engine can run it for a notified handler without marking a plan dirty.

use anyhow::Result;

use crate::plan::Diff;
use crate::probe::Section;
use crate::resource::lifecycle::{Resource, Step};
use crate::shell::Script;

/// A resource whose apply script is returned even for a converged diff. The script re-checks
/// everything on the host, so running it when nothing differs changes nothing (or only does
/// what Ansible does without reporting a change, like `systemctl daemon-reload`).
pub struct Rechecked<R>(pub R);

impl<R: Resource> Step for Rechecked<R> {
    fn target(&self) -> String {
        self.0.target()
    }

    fn key(&self) -> String {
        self.0.key()
    }

    fn probe(&self) -> Script {
        self.0.probe()
    }

    fn plan(&self, out: &Section) -> Result<(Diff, Script)> {
        let have = self.0.inspect(out)?;
        let diff = self.0.diff(&have);
        let script = self.0.apply(&have, &diff);
        Ok((diff, script))
    }
}

/// Every apply script of these modules starts here: the stage script reaches the host's `sh`
/// on its stdin, so a program that reads stdin (a package hook, a user's command) would
/// swallow the steps after it. Each step body runs in its own subshell, so this stays local.
pub fn detach_stdin(script: &mut Script) {
    script.raw("exec </dev/null");
}

/// Splits probe output into lines, refusing anything that is not UTF-8.
pub fn lines(out: &Section) -> Result<Vec<&str>> {
    let text = std::str::from_utf8(&out.output).map_err(|_| anyhow::anyhow!("probe output is not UTF-8"))?;
    Ok(text.lines().filter(|l| !l.is_empty()).collect())
}

/// Parses a `yes`/`no` probe value.
pub fn yes_no(value: Option<&str>, key: &str) -> Result<bool> {
    match value {
        Some("yes") => Ok(true),
        Some("no") => Ok(false),
        other => anyhow::bail!("probe: expected {key}=yes or {key}=no, found {other:?}"),
    }
}

/// The line after which an apply script prints its probe again (see [`answer_after_apply`]).
const ANSWER_MARKER: &str = "deploy-answer-after-apply";

/// Ends an apply script by running `probe` again after a marker line, so that what the task
/// registers (a generated key's fingerprint) is read from the host as the change left it,
/// with the same parser as a converged step's answer ([`after_apply`] finds it).
pub fn answer_after_apply(script: &mut Script, probe: &Script) {
    script.line("echo {}", &[ANSWER_MARKER]);
    script.raw("(");
    script.append(probe);
    script.raw(") </dev/null");
}

/// The probe output an apply script printed with [`answer_after_apply`], if it did.
pub fn after_apply(stdout: &[u8]) -> Option<Section> {
    let marker = format!("{ANSWER_MARKER}\n");
    let start = stdout
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())?;
    Some(Section {
        output: stdout[start + marker.len()..].to_vec(),
        status: 0,
    })
}

#[cfg(test)]
pub mod testing {
    //! Helpers for the unit tests of the system modules.
    use indexmap::IndexMap;
    use serde_json::Value;

    use crate::probe::Section;
    use crate::resource::lifecycle::{Args, BuildContext, Step};
    use crate::resource::ModuleSpec;
    use crate::shell::Script;

    pub fn section(text: &str) -> Section {
        Section {
            output: text.as_bytes().to_vec(),
            status: 0,
        }
    }

    /// Builds a step from parameters written as a JSON object.
    pub fn build(
        spec: &'static ModuleSpec,
        params: Value,
        context: &dyn BuildContext,
    ) -> anyhow::Result<Box<dyn Step>> {
        let map: IndexMap<String, Value> = params
            .as_object()
            .expect("parameters are an object")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let args = Args::new(spec, &map);
        (spec.build.expect("the module builds a resource"))(&args, context)
    }

    /// Runs a script with the apply prelude in local `sh`, in `dir`, with fd 3 recording
    /// `deploy_changed` into the returned flag.
    pub fn run_apply(script: &Script, dir: &std::path::Path) -> (std::process::Output, bool) {
        let text = format!(
            "{}\n( {}\n) 3> .deploy-changed",
            crate::apply::PRELUDE,
            script.as_str()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(text)
            .current_dir(dir)
            .output()
            .expect("sh runs");
        let changed_file = dir.join(".deploy-changed");
        let changed = std::fs::read(&changed_file)
            .map(|c| !c.is_empty())
            .unwrap_or(false);
        let _ = std::fs::remove_file(changed_file);
        (out, changed)
    }

    /// Runs a probe snippet in local `sh`, in `dir`.
    pub fn run_probe(script: &Script, dir: &std::path::Path) -> Section {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("( {}\n) </dev/null", script.as_str()))
            .current_dir(dir)
            .output()
            .expect("sh runs");
        Section {
            output: out.stdout,
            status: out.status.code().unwrap_or(-1),
        }
    }

    /// A build context answering facts from a list.
    pub struct Facts(pub &'static [(&'static str, &'static str)]);

    impl BuildContext for Facts {
        fn read_source(&self, src: &str) -> anyhow::Result<Vec<u8>> {
            anyhow::bail!("no file {src} in tests")
        }
        fn render_template(&self, src: &str, _: &crate::template::FileOptions) -> anyhow::Result<String> {
            anyhow::bail!("no template {src} in tests")
        }
        fn fact(&self, name: &str) -> Option<Value> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| Value::from(*v))
        }
    }
}
