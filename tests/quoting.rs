//! Property test of the one place shell text is built: any string put through
//! `shell::quote`, `Script::line`, `Script::pipe_bytes` or `join_words` reaches a real `sh`
//! (`/bin/sh`, dash on Debian) byte-exact, as one word, and nothing in it is executed.
//!
//! Strings are generated with a strong bias to what breaks naive quoting: quotes, `$()`,
//! backticks, newlines, globs, leading dashes, backslashes, `%` (printf) and non-ASCII. Each
//! value also carries a command that would create a canary file if it ever ran.

use std::path::Path;
use std::process::Command;

use deploy::shell::{join_words, quote, Script};
use proptest::prelude::*;

/// Pieces that a shell would interpret if a value escaped its quotes.
const HOSTILE: &[&str] = &[
    "'",
    "\"",
    "\\",
    "$",
    "`",
    "$(",
    ")",
    "${",
    "}",
    "\n",
    "\r",
    "\t",
    " ",
    "*",
    "?",
    "[",
    "]",
    "-",
    "--",
    "-n",
    "-e",
    "%",
    "%s",
    "%b",
    "\\n",
    "\\0",
    ";",
    "&",
    "&&",
    "|",
    "||",
    "<",
    ">",
    ">>",
    "#",
    "~",
    "!",
    "=",
    "'\\''",
    "\\'",
    "é",
    "日本",
    "\u{202e}",
    "\u{1f600}",
    "\u{0}",
];

/// A value: a concatenation of hostile pieces, arbitrary text and a canary command.
fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        2 => any::<String>(),
        1 => Just("$(touch CANARY)".to_string()),
        1 => Just("`touch CANARY`".to_string()),
        1 => Just("; touch CANARY".to_string()),
        1 => Just("'; touch CANARY; '".to_string()),
    ];
    proptest::collection::vec(piece, 0..8)
        // A C string (an argv word, a shell variable) cannot hold NUL; values never do.
        .prop_map(|pieces| pieces.concat().replace('\0', ""))
}

/// Runs `script` with `sh` in `dir` and returns its stdout; the canary must not appear.
fn run_sh(dir: &Path, script: &str) -> Vec<u8> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("CANARY", dir.join("canary"))
        .output()
        .expect("/bin/sh runs");
    assert!(
        out.status.success(),
        "sh failed on {script:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let touched: Vec<_> = std::fs::read_dir(dir).expect("temp dir").collect();
    assert!(
        touched.is_empty(),
        "the script created files, so part of a value ran: {script:?}"
    );
    out.stdout
}

/// `printf '%s\0'` of each argument: words arrive as NUL-terminated records.
fn records(words: &[String]) -> Vec<u8> {
    words.iter().flat_map(|w| w.bytes().chain([0])).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn quoted_values_arrive_byte_exact(value in value()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = format!("printf '%s\\0' {}", quote(&value));
        prop_assert_eq!(run_sh(dir.path(), &script), records(&[value]));
    }

    #[test]
    fn script_lines_fill_every_hole_with_one_word(a in value(), b in value()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut script = Script::new();
        script.line("printf '%s\\0' {} {}", &[&a, &b]);
        script.line("set -- {}; printf '%s\\0' \"$#\"", &[&a]);
        prop_assert_eq!(
            run_sh(dir.path(), script.as_str()),
            records(&[a, b, "1".to_string()])
        );
    }

    #[test]
    fn joined_words_stay_separate_words(words in proptest::collection::vec(value(), 1..5)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = format!("printf '%s\\0' {}", join_words(&words));
        prop_assert_eq!(run_sh(dir.path(), &script), records(&words));
    }

    #[test]
    fn piped_bytes_and_words_arrive_byte_exact(
        content in proptest::collection::vec(any::<u8>(), 0..512),
        word in value(),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut script = Script::new();
        // `sh -c 'cat; printf ...' sh WORD`: the word travels as an argument next to stdin.
        script.pipe_bytes(&content, &["sh", "-c", "cat; printf '\\0%s' \"$1\"", "sh", &word], "|| exit 1");
        let mut expected = content.clone();
        expected.push(0);
        expected.extend(word.bytes());
        prop_assert_eq!(run_sh(dir.path(), script.as_str()), expected);
    }
}
