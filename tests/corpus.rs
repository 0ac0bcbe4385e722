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

/// The fuzz targets themselves (`fuzz/src/lib.rs`), so that their committed corpus and seeded
/// mutations of it run under `cargo test` without nightly or libFuzzer.
#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

type Target = fn(&[u8]);

const FUZZ_TARGETS: &[(&str, Target)] = &[
    ("yaml", fuzz_targets::yaml),
    ("ini_inventory", fuzz_targets::ini_inventory),
    ("yaml_inventory", fuzz_targets::yaml_inventory),
    ("playbook", fuzz_targets::playbook),
    ("probe", fuzz_targets::probe),
];

fn fuzz_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = common::project_root().join("fuzz/corpus").join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable corpus entry").path())
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("readable corpus file"))
        })
        .collect();
    inputs.sort();
    inputs
}

/// Runs one input; a panic is reported with the input saved where it can be replayed.
fn run_target(target: &str, run: Target, label: &str, input: &[u8]) -> Result<(), String> {
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(|| run(input));
    if started.elapsed() > CASE_TIMEOUT {
        return Err(format!("{target}: {label} took {:?}", started.elapsed()));
    }
    outcome.map_err(|_| {
        let saved = std::env::temp_dir().join(format!("deploy-fuzz-{target}-{label}"));
        let _ = std::fs::write(&saved, input);
        format!("{target}: {label} panicked; input saved as {}", saved.display())
    })
}

#[test]
fn fuzz_corpus_replays_without_panics() {
    let mut failures = Vec::new();
    for (target, run) in FUZZ_TARGETS {
        let corpus = fuzz_corpus(target);
        assert!(!corpus.is_empty(), "fuzz/corpus/{target} is empty");
        for (name, input) in &corpus {
            failures.extend(run_target(target, *run, name, input).err());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Pieces that steer mutations towards the grammar of each input.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b": ",
    b"- ",
    b"\n",
    b"\n  ",
    b"\t",
    b"'",
    b"\"",
    b"&a ",
    b"*a",
    b"<<: ",
    b"? ",
    b"|",
    b">",
    b"#",
    b"%",
    b"!!str ",
    b"{{ ",
    b" }}",
    b"{% if x %}",
    b"=",
    b"[1:3]",
    b"[a:",
    b":children]",
    b":vars]",
    b"\n[g]\n",
    b"ansible_port=",
    b"hosts:",
    b"children:",
    b"vars:",
    b"import_tasks: ",
    b"roles:",
    b"loop: ",
    b"@@T0K begin facts\n",
    b"\n@@T0K end path 0\n",
    b"kind=link\nlink=",
    b"mode=",
    b"\xff",
    b"\x00",
];

/// A small deterministic generator: the same mutations on every run and every machine.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut XorShift, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            1 if at < data.len() => data[at] = rng.next() as u8,
            2 => {
                let start = rng.below(other.len());
                let end = (start + rng.below(64)).min(other.len());
                data.splice(at..at, other[start..end].iter().copied());
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + rng.below(32)).min(data.len());
                let copy = data[start..end].to_vec();
                data.splice(at..at, copy);
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
        }
    }
    data
}

#[test]
fn fuzz_targets_survive_seeded_mutations() {
    // FUZZ_ITERATIONS raises the count for a longer local run; the default keeps CI short.
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let mut failures = Vec::new();
    for (index, (target, run)) in FUZZ_TARGETS.iter().enumerate() {
        let corpus = fuzz_corpus(target);
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ index as u64);
        for round in 0..iterations {
            let seed = &corpus[rng.below(corpus.len())].1;
            let other = &corpus[rng.below(corpus.len())].1;
            let input = mutate(&mut rng, seed, other);
            failures.extend(run_target(target, *run, &format!("mutation-{round}"), &input).err());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
