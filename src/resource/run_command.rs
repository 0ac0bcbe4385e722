//! What `command` and `shell` share: running a user's program, guarded by `creates`/`removes`.
//!
//! A command is not state, so the only thing a probe can learn is whether its guard says to
//! skip it. As in Ansible, `chdir` applies before the guards (relative guard paths are relative
//! to it), the guards are glob patterns, and a command that runs always counts as a change.
//! `command` runs an argument vector with no shell: each word is quoted on its own, so nothing
//! in it is expanded or executed by the host's `sh`. `shell` hands its text, as one argument,
//! to `/bin/sh -c` (or `executable`), exactly as Ansible does.

use anyhow::{bail, Context, Result};

use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::resource::lifecycle::{key_values, value_of, Args, Resource};
use crate::resource::support::{detach_stdin, yes_no};
use crate::shell::Script;

/// What runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Program {
    /// `command`: words, run without a shell.
    Argv(Vec<String>),
    /// `command` with `expand_argument_vars` (its default): words in which the host expands
    /// `~` and `$NAME`/`${NAME}` from its environment, as Python's `os.path.expanduser` and
    /// `os.path.expandvars` do; an unset variable stays as written (`awk '{print $1}'`).
    Expanded(Vec<String>),
    /// `shell`: text for `EXECUTABLE -c TEXT`.
    Shell { text: String, executable: String },
    /// `script`: a controller file copied to a temporary file on the host and run there with
    /// its arguments (through `executable` when given), then removed.
    Script {
        name: String,
        content: Vec<u8>,
        args: Vec<String>,
        executable: Option<String>,
    },
}

/// A command and its guards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCommand {
    pub program: Program,
    pub chdir: Option<String>,
    /// Skip when this glob matches an existing path.
    pub creates: Option<String>,
    /// Skip unless this glob matches an existing path.
    pub removes: Option<String>,
    /// Bytes fed on the command's stdin (otherwise it reads nothing).
    pub stdin: Option<String>,
}

/// What the probe learned: whether each guard's pattern matched something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guards {
    pub creates_exists: Option<bool>,
    pub removes_exists: Option<bool>,
    /// `chdir` names no directory (yet): guards relative to it could not be checked.
    pub chdir_missing: bool,
}

impl RunCommand {
    /// What the plan prints as the target: the command line, or a shell script's first line.
    fn display(&self) -> String {
        let text = match &self.program {
            Program::Argv(words) | Program::Expanded(words) => crate::shell::join_words(words),
            Program::Shell { text, .. } => text.trim().to_string(),
            Program::Script { name, args, .. } => {
                crate::shell::join_words(&std::iter::once(name).chain(args).collect::<Vec<_>>())
            }
        };
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default().to_string();
        let first = if first.chars().count() > 80 {
            format!("{}…", first.chars().take(79).collect::<String>())
        } else {
            first
        };
        if lines.next().is_some() && !first.ends_with('…') {
            format!("{first} …")
        } else {
            first
        }
    }

    fn has_guard(&self) -> bool {
        self.creates.is_some() || self.removes.is_some()
    }
}

/// Adds a snippet that sets `$found` to yes when the glob in `$pattern` matches an existing
/// path. The pattern travels quoted into a variable and is expanded unquoted with field
/// splitting off: the host's `sh` does pathname expansion on it, and nothing else.
fn glob_test(script: &mut Script, pattern: &str) {
    script.line("pattern={}", &[pattern]);
    script.raw(
        r#"found=no
deploy_ifs=$IFS; IFS=
for f in $pattern; do if [ -e "$f" ] || [ -L "$f" ]; then found=yes; break; fi; done
IFS=$deploy_ifs"#,
    );
}

impl Resource for RunCommand {
    type State = Guards;

    fn target(&self) -> String {
        self.display()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        if !self.has_guard() {
            return script;
        }
        if let Some(dir) = &self.chdir {
            script.line(
                "if cd -- {} 2>/dev/null; then echo chdir=ok; else echo chdir=missing; fi",
                &[dir],
            );
        }
        for (key, pattern) in [("creates", &self.creates), ("removes", &self.removes)] {
            if let Some(pattern) = pattern {
                glob_test(&mut script, pattern);
                script.line("echo {}=$found", &[key]);
            }
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<Guards> {
        let pairs = key_values(out)?;
        let chdir_missing = value_of(&pairs, "chdir") == Some("missing");
        let guard = |key: &str, wanted: bool| -> Result<Option<bool>> {
            if !wanted {
                return Ok(None);
            }
            yes_no(value_of(&pairs, key), key).map(Some)
        };
        Ok(Guards {
            creates_exists: guard("creates", self.creates.is_some())?,
            removes_exists: guard("removes", self.removes.is_some())?,
            chdir_missing,
        })
    }

    fn diff(&self, have: &Guards) -> Diff {
        if !self.has_guard() {
            let mut diff = Diff::new(Action::Run);
            diff.attributes.push(AttributeChange::new(
                "runs every time (no creates/removes guard)",
                None::<String>,
                None::<String>,
            ));
            return diff;
        }
        let relative = |p: &Option<String>| p.as_deref().is_some_and(|p| !p.starts_with('/'));
        let guards_unknown = have.chdir_missing && (relative(&self.creates) || relative(&self.removes));
        let skip =
            !guards_unknown && (have.creates_exists == Some(true) || have.removes_exists == Some(false));
        if skip {
            return Diff::converged();
        }
        let mut diff = Diff::new(Action::Run);
        if let Some(creates) = &self.creates {
            diff.attributes.push(AttributeChange::new(
                "creates",
                None::<String>,
                Some(format!("{creates} (missing)")),
            ));
        }
        if let Some(removes) = &self.removes {
            diff.attributes.push(AttributeChange::new(
                "removes",
                None::<String>,
                Some(format!("{removes} (present)")),
            ));
        }
        diff
    }

    fn apply(&self, _have: &Guards, _diff: &Diff) -> Script {
        let mut script = Script::new();
        if self.stdin.is_none() {
            detach_stdin(&mut script);
        }
        if let Some(dir) = &self.chdir {
            script.line(
                "cd -- {} || { printf 'Unable to change directory before execution: %s\\n' {} >&2; exit 1; }",
                &[dir, dir],
            );
        }
        // The guards again: the host may have changed since the probe.
        if let Some(pattern) = &self.creates {
            glob_test(&mut script, pattern);
            script.raw(r#"[ "$found" = no ] || exit 0"#);
        }
        if let Some(pattern) = &self.removes {
            glob_test(&mut script, pattern);
            script.raw(r#"[ "$found" = yes ] || exit 0"#);
        }
        // Ansible reports a command that ran as changed, whether it succeeded or not.
        script.raw("deploy_changed");
        match &self.program {
            Program::Argv(words) => {
                script.raw("set --");
                for word in words {
                    script.line("set -- \"$@\" {}", &[word]);
                }
            }
            Program::Expanded(words) => {
                script.raw("set --");
                for word in words {
                    expanded_word(&mut script, word);
                }
            }
            Program::Shell { text, executable } => {
                script.raw("set --");
                for word in [executable.as_str(), "-c", text] {
                    script.line("set -- \"$@\" {}", &[word]);
                }
            }
            Program::Script {
                content,
                args,
                executable,
                ..
            } => {
                // Written where the user running it can read it, removed whatever happens.
                script.raw(r#"deploy_script=$(mktemp) || exit 1; trap 'rm -f -- "$deploy_script"' EXIT"#);
                script.write_bytes(content, r#"> "$deploy_script" || exit 1"#, &[]);
                script.raw(r#"chmod 0700 -- "$deploy_script" || exit 1"#);
                script.raw("set --");
                if let Some(executable) = executable {
                    script.line("set -- {}", &[executable]);
                }
                script.raw(r#"set -- "$@" "$deploy_script""#);
                for word in args {
                    script.line("set -- \"$@\" {}", &[word]);
                }
            }
        }
        match &self.stdin {
            None => script.raw(r#""$@""#),
            Some(input) => script.line(r#"printf '%s' {} | "$@""#, &[input]),
        };
        script
    }
}

/// The parameters `command` and `shell` share; `program` is built by each module.
pub fn from_args(args: &Args, program: Program) -> Result<RunCommand> {
    args.refuse(&["strip_empty_ends"])?;
    let stdin = match args.str("stdin")? {
        Some(mut text) => {
            if args.bool("stdin_add_newline")?.unwrap_or(true) {
                text.push('\n');
            }
            Some(text)
        }
        None => None,
    };
    Ok(RunCommand {
        program,
        chdir: args.str("chdir")?,
        creates: args.str("creates")?,
        removes: args.str("removes")?,
        stdin,
    })
}

/// The words of a `command`: `argv` as given, or `cmd` split as a shell would (no expansion).
pub fn command_words(args: &Args) -> Result<Vec<String>> {
    let words = match args.str("cmd")? {
        Some(cmd) => crate::shell::split(&cmd, false).context("cannot split `cmd`")?,
        None => args.list("argv")?,
    };
    if words.is_empty() {
        bail!("`command` needs a command to run: `cmd` or `argv` is empty");
    }
    Ok(words)
}

/// The program of a `command` task: its words, expanded on the host unless
/// `expand_argument_vars: false`.
pub fn command_program(args: &Args) -> Result<Program> {
    let words = command_words(args)?;
    let expands = |w: &String| w.starts_with('~') || !variable_references(w).is_empty();
    Ok(
        if args.bool("expand_argument_vars")?.unwrap_or(true) && words.iter().any(expands) {
            Program::Expanded(words)
        } else {
            Program::Argv(words)
        },
    )
}

/// The `$NAME` and `${NAME}` references in `word` that Python's `os.path.expandvars` looks
/// up (`\$(\w+|\{[^}]*\})`, ASCII): each one's byte span and the variable's name.
fn variable_references(word: &str) -> Vec<(usize, usize, &str)> {
    let bytes = word.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let start = i;
        let rest = &word[i + 1..];
        if let Some(braced) = rest.strip_prefix('{') {
            if let Some(close) = braced.find('}') {
                found.push((start, start + close + 3, &braced[..close]));
                i = start + close + 3;
                continue;
            }
        }
        let length = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if length > 0 {
            found.push((start, start + 1 + length, &rest[..length]));
            i = start + 1 + length;
        } else {
            i += 1;
        }
    }
    found
}

/// Appends `word` to `"$@"`, expanded on the host as Ansible expands a `command` argument:
/// a leading `~` or `~user` becomes that home directory (unchanged when unknown), then each
/// variable of the environment its value (unchanged when unset, since names such as `1` in
/// `awk '{print $1}'` are no environment variable). Values are read with `printenv`, so only
/// the environment counts, never the script's own variables.
fn expanded_word(script: &mut Script, word: &str) {
    script.raw("w=");
    let mut rest = word;
    if let Some(after) = word.strip_prefix('~') {
        let (user, tail) = after.split_at(after.find('/').unwrap_or(after.len()));
        if user.is_empty() {
            script.raw(
                r#"if h=$(printenv HOME); then :; else h=$(getent passwd "$(id -u)" | cut -d: -f6); fi"#,
            );
        } else {
            script.line(r#"h=$(getent passwd {} | cut -d: -f6)"#, &[user]);
        }
        // Python strips the home's trailing slashes, and keeps the word when it knows no home.
        script.line(
            r#"if [ -n "$h" ]; then while [ "$h" != "${h%/}" ]; do h=${h%/}; done; w=$h; else w={}; fi"#,
            &[&word[..1 + user.len()]],
        );
        rest = tail;
    }
    let mut at = 0;
    for (start, end, name) in variable_references(rest) {
        script.line(r#"w="$w"{}"#, &[&rest[at..start]]);
        // `printenv` ends the value with a newline, and command substitution would strip more
        // than that one: an `x` after it keeps the value whole.
        script.line(
            r#"if v=$(printenv {} && echo x); then v=${v%x}; w="$w${v%?}"; else w="$w"{}; fi"#,
            &[name, &rest[start..end]],
        );
        at = end;
    }
    script.line(r#"w="$w"{}"#, &[&rest[at..]]);
    script.raw(r#"set -- "$@" "$w""#);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::Step;
    use crate::resource::support::testing::{run_apply, run_probe, section};

    fn argv(words: &[&str]) -> RunCommand {
        RunCommand {
            program: Program::Argv(words.iter().map(|w| w.to_string()).collect()),
            chdir: None,
            creates: None,
            removes: None,
            stdin: None,
        }
    }

    fn plan_here(cmd: &RunCommand, dir: &std::path::Path) -> (Diff, Script) {
        cmd.plan(&run_probe(&Step::probe(cmd), dir)).unwrap()
    }

    #[test]
    fn an_unguarded_command_always_runs() {
        let cmd = argv(&["ls"]);
        assert!(Step::probe(&cmd).is_empty(), "nothing to probe");
        let (diff, script) = cmd.plan(&section("")).unwrap();
        assert_eq!(diff.action, Action::Run);
        assert!(script.as_str().contains("deploy_changed"));
    }

    #[test]
    fn guards_from_canned_output() {
        let mut cmd = argv(&["make"]);
        cmd.creates = Some("/srv/done".into());
        assert!(cmd.plan(&section("creates=yes\n")).unwrap().0.is_converged());
        let (diff, _) = cmd.plan(&section("creates=no\n")).unwrap();
        assert_eq!(diff.action, Action::Run);
        assert_eq!(diff.attributes[0].describe(), "creates /srv/done (missing)");
        assert!(cmd.plan(&section("")).is_err(), "a probe that said nothing");
        cmd.creates = None;
        cmd.removes = Some("/srv/old".into());
        assert!(cmd.plan(&section("removes=no\n")).unwrap().0.is_converged());
        assert_eq!(cmd.plan(&section("removes=yes\n")).unwrap().0.action, Action::Run);
    }

    #[test]
    fn hostile_arguments_round_trip_and_nothing_is_executed() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = argv(&[
            "printf",
            "%s|",
            "$(touch pwned)",
            "a'b",
            "*",
            "`id`",
            "x\ny",
            "-n",
        ]);
        let (_, script) = plan_here(&cmd, dir.path());
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "$(touch pwned)|a'b|*|`id`|x\ny|-n|"
        );
        assert!(!dir.path().join("pwned").exists());
    }

    #[test]
    fn creates_with_a_glob_and_chdir_converge_for_real() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work dir")).unwrap();
        let mut cmd = argv(&["touch", "made.done"]);
        cmd.chdir = Some(dir.path().join("work dir").to_str().unwrap().to_string());
        cmd.creates = Some("*.done".into());
        let (diff, script) = plan_here(&cmd, dir.path());
        assert_eq!(diff.action, Action::Run);
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert!(dir.path().join("work dir/made.done").exists());
        let (diff, _) = plan_here(&cmd, dir.path());
        assert!(diff.is_converged(), "{diff:?}");
        // Applying a stale plan re-checks the guard on the host and does nothing.
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success());
        assert!(!changed);
    }

    #[test]
    fn removes_and_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = argv(&["sh", "-c", "rm -- \"$1\"; exit 3", "sh", "old file"]);
        cmd.removes = Some(dir.path().join("old file").to_str().unwrap().to_string());
        assert!(plan_here(&cmd, dir.path()).0.is_converged());
        std::fs::write(dir.path().join("old file"), "x").unwrap();
        let (diff, script) = plan_here(&cmd, dir.path());
        assert_eq!(diff.action, Action::Run);
        let (out, changed) = run_apply(&script, dir.path());
        assert_eq!(
            out.status.code(),
            Some(3),
            "the command's exit code is the step's"
        );
        assert!(
            changed,
            "Ansible counts a command that ran as changed, even failing"
        );
        assert!(plan_here(&cmd, dir.path()).0.is_converged());
    }

    #[test]
    fn shell_text_and_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = RunCommand {
            program: Program::Shell {
                text: "read line; echo \"got $line\" | tr a-z A-Z; echo err >&2".into(),
                executable: "/bin/sh".into(),
            },
            chdir: None,
            creates: None,
            removes: None,
            stdin: Some("it's $(x)\n".into()),
        };
        let (_, script) = plan_here(&cmd, dir.path());
        let (out, _) = run_apply(&script, dir.path());
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "GOT IT'S $(X)\n");
        assert_eq!(String::from_utf8(out.stderr).unwrap(), "err\n");
    }

    #[test]
    fn a_command_cannot_read_the_rest_of_the_stage_script() {
        let dir = tempfile::tempdir().unwrap();
        let (_, script) = plan_here(&argv(&["cat"]), dir.path());
        assert!(script.as_str().starts_with("exec </dev/null\n"));
    }

    #[test]
    fn a_missing_chdir_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = argv(&["true"]);
        cmd.chdir = Some("/nonexistent/deploy".into());
        cmd.creates = Some("x".into());
        let (diff, script) = plan_here(&cmd, dir.path());
        assert_eq!(
            diff.action,
            Action::Run,
            "a relative guard under a missing chdir is unknown"
        );
        let (out, _) = run_apply(&script, dir.path());
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr)
            .contains("Unable to change directory before execution: /nonexistent/deploy"));
    }

    #[test]
    fn targets_are_short() {
        assert_eq!(Resource::target(&argv(&["ls", "a b"])), "ls 'a b'");
        let long = RunCommand {
            program: Program::Shell {
                text: "set -e\nmake all\n".into(),
                executable: "/bin/sh".into(),
            },
            ..argv(&[])
        };
        assert_eq!(Resource::target(&long), "set -e …");
    }
}
