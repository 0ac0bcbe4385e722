//! The bad-input corpus: every directory under `tests/corpus/` is one broken project that
//! `deploy` must refuse with one exact, located message, without panicking and before it
//! contacts any host.
//!
//! A case holds its input files plus `cmd` (the arguments, split on spaces, `'...'` keeping a
//! word together), `expected` (the exact stderr) and `exit` (the exit code); `stdout`, when
//! present, is the exact stdout (run-time failures reported per host), otherwise stdout must be
//! empty. Cases run with the case directory as working directory. `UPDATE_CORPUS=1` rewrites
//! `expected`, `exit` and existing `stdout` files from what the binary prints now, for review
//! with `git diff`.

mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A case that runs longer than this is a hang (deep nesting, alias bombs, include loops).
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

fn corpus_dir() -> PathBuf {
    common::project_root().join("tests/corpus")
}

/// Splits `cmd` into arguments: spaces separate words, `'...'` quotes (possibly empty).
fn split_cmd(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = cmd.trim_end_matches('\n').chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            ' ' => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

struct Outcome {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run_case(dir: &Path, args: &[String]) -> Result<Outcome, String> {
    let mut child = common::deploy()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("ANSIBLE_INVENTORY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start deploy: {e}"))?;
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > CASE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {CASE_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    let case = dir.to_string_lossy();
    let clean = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).replace(case.as_ref(), "$CASE");
    Ok(Outcome {
        stdout: clean(stdout),
        stderr: clean(stderr),
        code: status.code(),
    })
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Checks one case; returns what is wrong with it, if anything.
fn check_case(dir: &Path, update: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(cmd) = read(&dir.join("cmd")) else {
        return vec!["no `cmd` file".to_string()];
    };
    let outcome = match run_case(dir, &split_cmd(&cmd)) {
        Ok(outcome) => outcome,
        Err(why) => return vec![why],
    };
    let code = outcome
        .code
        .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
    for (stream, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
            problems.push(format!("panic on {stream}:\n{text}"));
        }
    }
    if outcome.stderr.lines().count() > 3 {
        problems.push(format!(
            "more than an error line and a hint on stderr:\n{}",
            outcome.stderr
        ));
    }
    let expected_stdout = dir.join("stdout");
    if update {
        std::fs::write(dir.join("expected"), &outcome.stderr).expect("write expected");
        std::fs::write(dir.join("exit"), format!("{code}\n")).expect("write exit");
        if expected_stdout.exists() {
            std::fs::write(&expected_stdout, &outcome.stdout).expect("write stdout");
        }
    }
    let want_exit = read(&dir.join("exit")).unwrap_or_default();
    if want_exit.trim() != code {
        problems.push(format!("exit code {code}, expected {}", want_exit.trim()));
    }
    if code == "0" {
        problems.push("a bad input was accepted (exit 0)".to_string());
    }
    let want_stderr = read(&dir.join("expected")).unwrap_or_default();
    if want_stderr != outcome.stderr {
        problems.push(format!(
            "stderr differs\n--- expected\n{want_stderr}--- actual\n{}",
            outcome.stderr
        ));
    }
    match read(&expected_stdout) {
        Some(want) if want != outcome.stdout => problems.push(format!(
            "stdout differs\n--- expected\n{want}--- actual\n{}",
            outcome.stdout
        )),
        None if !outcome.stdout.is_empty() => {
            problems.push(format!("unexpected stdout:\n{}", outcome.stdout));
        }
        _ => {}
    }
    problems
}

#[test]
fn every_bad_input_is_refused_with_its_exact_message() {
    let update = std::env::var_os("UPDATE_CORPUS").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus exists")
        .map(|entry| entry.expect("readable corpus entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 100, "the corpus has only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| {
            let problems = check_case(dir, update);
            let name = dir.file_name().expect("case name").to_string_lossy();
            (!problems.is_empty()).then(|| format!("== {name}\n{}", problems.join("\n")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed (UPDATE_CORPUS=1 rewrites the expectations):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn commands_split_like_a_shell_would_for_simple_quoting() {
    assert_eq!(
        split_cmd("plan -i hosts site.yml\n"),
        ["plan", "-i", "hosts", "site.yml"]
    );
    assert_eq!(split_cmd("plan -e '' -l 'a b'"), ["plan", "-e", "", "-l", "a b"]);
}
