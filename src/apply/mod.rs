//! Changing hosts: the apply scripts.
//!
//! Each stage of a host's plan becomes one script, run in one exec. Every step in it re-checks
//! its own guard on the host, changes only what differs, and reports a status record, so a
//! host that changed between plan and apply is still handled correctly. The functions all
//! steps share (atomic file writes above all) live in `prelude.sh`, sent once per script.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::probe::{ProbeScript, Section};
use crate::shell::Script;

/// Shell functions every apply script starts with.
pub const PRELUDE: &str = include_str!("prelude.sh");

/// One step of a stage, as the host reports it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    pub status: i32,
    pub changed: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The script of one stage: its steps in order, each framed so that its stdout, stderr, exit
/// status and whether it changed something come back separately.
pub struct StageScript {
    frames: ProbeScript,
    steps: Vec<String>,
}

impl StageScript {
    pub fn new(token: &str) -> StageScript {
        let mut frames = ProbeScript::new(token);
        frames.glue(PRELUDE);
        frames.glue(
            "deploy_o=$(mktemp) && deploy_e=$(mktemp) && deploy_c=$(mktemp) || \
             { echo 'deploy: cannot create temporary files on the host' >&2; exit 111; }",
        );
        frames.glue("deploy_stop=0");
        StageScript {
            frames,
            steps: Vec::new(),
        }
    }

    /// Adds a step. With `stop_on_failure`, a failure ends the stage: later steps do not run.
    pub fn step(&mut self, id: &str, body: &Script, stop_on_failure: bool) -> &mut Self {
        self.steps.push(id.to_string());
        self.frames.glue("if [ \"$deploy_stop\" = 0 ]; then");
        let mut run = Script::new();
        run.raw(": > \"$deploy_c\"");
        run.raw("( :");
        run.append(body);
        run.raw(") > \"$deploy_o\" 2> \"$deploy_e\" 3> \"$deploy_c\"");
        run.raw("deploy_rc=$?");
        run.raw("if [ -s \"$deploy_c\" ]; then echo changed; else echo ok; fi");
        run.raw("exit $deploy_rc");
        let mut out = Script::new();
        out.raw("cat \"$deploy_o\"");
        let mut err = Script::new();
        err.raw("cat \"$deploy_e\"");
        self.frames.section(&format!("{id}.run"), &run);
        self.frames.glue("deploy_step_rc=$deploy_last");
        self.frames
            .section(&format!("{id}.out"), &out)
            .section(&format!("{id}.err"), &err);
        if stop_on_failure {
            self.frames.glue("[ \"$deploy_step_rc\" -eq 0 ] || deploy_stop=1");
        }
        self.frames.glue("fi");
        self
    }

    /// The complete script: the steps, then removal of the stage's temporary files. It never
    /// exits the shell, so it can run inside a longer conversation.
    pub fn finish(mut self) -> FinishedStage {
        self.frames
            .glue("rm -f \"$deploy_o\" \"$deploy_e\" \"$deploy_c\"");
        FinishedStage(self)
    }
}

/// A stage ready to send.
pub struct FinishedStage(StageScript);

impl FinishedStage {
    pub fn script(&self) -> &Script {
        self.0.frames.script()
    }

    /// The outcome of each step that ran, by id; steps after a fatal failure are absent.
    pub fn parse(&self, stdout: &[u8]) -> Result<BTreeMap<String, StepOutcome>> {
        self.outcomes(self.0.frames.parse_partial(stdout)?)
    }

    /// The outcomes of the steps that finished before the connection was lost: what the host
    /// printed up to then, its last step possibly cut off.
    pub fn parse_cut_short(&self, stdout: &[u8]) -> Result<BTreeMap<String, StepOutcome>> {
        self.outcomes(self.0.frames.parse_cut_short(stdout)?)
    }

    fn outcomes(&self, sections: BTreeMap<String, Section>) -> Result<BTreeMap<String, StepOutcome>> {
        let mut outcomes = BTreeMap::new();
        for id in &self.0.steps {
            let (Some(run), Some(out), Some(err)) = (
                sections.get(&format!("{id}.run")),
                sections.get(&format!("{id}.out")),
                sections.get(&format!("{id}.err")),
            ) else {
                break;
            };
            let changed = match run.output.as_slice() {
                b"changed\n" => true,
                b"ok\n" => false,
                _ => bail!("garbled apply output for step {id}"),
            };
            outcomes.insert(
                id.clone(),
                StepOutcome {
                    status: run.status,
                    changed,
                    stdout: out.output.clone(),
                    stderr: err.output.clone(),
                },
            );
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::Script;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn run(script: &Script) -> std::process::Output {
        let text = format!("{PRELUDE}\n{}", script.as_str());
        Command::new("sh").arg("-c").arg(text).output().expect("sh runs")
    }

    #[test]
    fn writes_atomically_with_mode_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("secret.conf");
        let dest = dest.to_str().unwrap();
        let mut script = Script::new();
        script.write_bytes(b"password=s3cret\n", "| deploy_write {} 0600 '' ''", &[dest]);
        let out = run(&script);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(dest).unwrap(), b"password=s3cret\n");
        let mode = std::fs::metadata(dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left");
    }

    /// A secret file is never readable by others, not even while it is being written: a watcher
    /// looks at the temporary file while its content is still arriving.
    #[test]
    fn temporary_files_have_the_asked_mode_before_their_first_byte() {
        for (mode, allowed) in [("0600", 0o600), ("0640", 0o640)] {
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("secret");
            let watched = dir.path().to_path_buf();
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let watcher = {
                let stop = std::sync::Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        for entry in std::fs::read_dir(&watched).unwrap().flatten() {
                            if entry.file_name().to_string_lossy().starts_with(".deploy-tmp.") {
                                if let Ok(meta) = entry.metadata() {
                                    seen.push((meta.permissions().mode() & 0o7777, meta.len()));
                                }
                            }
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    seen
                })
            };
            let mut script = Script::new();
            // The content arrives in two parts, a second apart: the temporary file exists,
            // partly written, in between.
            script.line(
                "{ printf 'first part '; sleep 1; printf 'second part'; } | deploy_write {} {} '' ''",
                &[dest.to_str().unwrap(), mode],
            );
            let out = run(&script);
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let seen = watcher.join().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(
                seen.iter().any(|(_, len)| *len > 0),
                "the watcher saw the file being written"
            );
            for (observed, len) in seen {
                assert_eq!(
                    observed & !allowed,
                    0,
                    "mode {observed:o} with {len} bytes written, asked {mode}"
                );
            }
            assert_eq!(std::fs::read_to_string(&dest).unwrap(), "first part second part");
        }
    }

    #[test]
    fn failed_validation_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("nginx.conf");
        std::fs::write(&dest, "old\n").unwrap();
        let dest = dest.to_str().unwrap();
        let mut script = Script::new();
        script.write_bytes(
            b"new but bad\n",
            "| deploy_write {} '' '' '' grep -q good %s",
            &[dest],
        );
        let out = run(&script);
        assert!(!out.status.success());
        assert_eq!(std::fs::read(dest).unwrap(), b"old\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("validation failed (exit 1): grep -q good %s"),
            "{stderr}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // The same content passes a validator that accepts it.
        let mut script = Script::new();
        script.write_bytes(
            b"new and good\n",
            "| deploy_write {} '' '' '' grep -q good %s",
            &[dest],
        );
        assert!(run(&script).status.success());
        assert_eq!(std::fs::read(dest).unwrap(), b"new and good\n");
    }

    #[test]
    fn keeps_the_mode_of_an_existing_file_when_none_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        std::fs::write(&dest, "old\n").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o640)).unwrap();
        let dest = dest.to_str().unwrap();
        let mut script = Script::new();
        script.write_bytes(b"new\n", "| deploy_write {} '' '' ''", &[dest]);
        assert!(run(&script).status.success());
        let mode = std::fs::metadata(dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }

    fn run_stage(stage: StageScript) -> BTreeMap<String, StepOutcome> {
        let stage = stage.finish();
        let out = Command::new("sh")
            .arg("-c")
            .arg(stage.script().as_str())
            .output()
            .unwrap();
        stage.parse(&out.stdout).unwrap()
    }

    #[test]
    fn a_stage_reports_each_step_and_stops_at_a_fatal_failure() {
        let mut stage = StageScript::new("tok1");
        let mut changes = Script::new();
        changes.raw("echo out1; echo err1 >&2; deploy_changed");
        let mut quiet = Script::new();
        quiet.raw("true");
        let mut tolerated = Script::new();
        tolerated.raw("echo soft >&2; exit 4");
        let mut fatal = Script::new();
        fatal.raw("echo boom >&2; exit 2");
        stage
            .step("s1", &changes, true)
            .step("s2", &quiet, true)
            .step("s3", &tolerated, false)
            .step("s4", &fatal, true)
            .step("s5", &quiet, true);
        let outcomes = run_stage(stage);
        assert_eq!(
            outcomes["s1"],
            StepOutcome {
                status: 0,
                changed: true,
                stdout: b"out1\n".to_vec(),
                stderr: b"err1\n".to_vec()
            }
        );
        assert!(!outcomes["s2"].changed);
        assert_eq!(outcomes["s3"].status, 4);
        assert_eq!(outcomes["s4"].status, 2);
        assert_eq!(outcomes["s4"].stderr, b"boom\n");
        assert!(!outcomes.contains_key("s5"), "nothing runs after a fatal failure");
    }

    #[test]
    fn cleans_temporary_files_of_interrupted_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".deploy-tmp.ABCDEFGH"), "partial").unwrap();
        // A writer that is gone (no such PID) left this one; a live writer's is kept.
        std::fs::write(dir.path().join(".deploy-tmp.999999999.ABCDEFGH"), "partial").unwrap();
        std::fs::write(
            dir.path()
                .join(format!(".deploy-tmp.{}.ABCDEFGH", std::process::id())),
            "live",
        )
        .unwrap();
        std::fs::write(dir.path().join("keep"), "x").unwrap();
        let mut script = Script::new();
        script.line("deploy_clean_temps {}", &[dir.path().to_str().unwrap()]);
        assert!(run(&script).status.success());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(
            names,
            [
                format!(".deploy-tmp.{}.ABCDEFGH", std::process::id()),
                "keep".to_string()
            ]
        );
    }
}
