//! `script`: a file from the controller, copied to the host and run there.
//!
//! The file is found where Ansible finds it (the role's `files/`, then beside the playbook),
//! travels inside the stage script, is written to a temporary file (`mktemp`) with mode 0700,
//! run with its arguments (through `executable` when given, else by its `#!` line), and
//! removed whatever its outcome. `creates`/`removes` guard it and `chdir` applies first,
//! exactly as for `command` (see `run_command`).
//!
//! Differences from Ansible: `decrypt` is accepted and has no effect (a vaulted script file
//! is not decrypted); the temporary file is in the host's `$TMPDIR` (`/tmp`), not under
//! `~/.ansible/tmp`.
use anyhow::{bail, Context, Result};

use super::lifecycle::{Args, BuildContext, Step};
use super::run_command::{self, Program};
use super::{DefaultValue as D, FreeForm, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Runs a local script on the host.
///
/// ```yaml
/// - script: setup.sh --quick
///   args:
///     creates: /srv/app/.set-up
///     chdir: /srv/app
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "script",
    fqcn: "ansible.builtin.script",
    kind: ModuleKind::Command,
    free_form: FreeForm::Raw("free_form"),
    params: &[
        P::new("free_form", Str),
        P::new("cmd", Str),
        P::new("chdir", Path),
        P::new("creates", Path),
        P::new("removes", Path),
        P::new("executable", Path),
        P::new("decrypt", Bool).default(D::Bool(true)),
    ],
    mutually_exclusive: &[&["free_form", "cmd"]],
    required_one_of: &[&["free_form", "cmd"]],
    source_dir: Some("files"),
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let line = match args.str("free_form")? {
        Some(text) => text,
        None => args.required_str("cmd")?,
    };
    let mut words = crate::shell::split(&line, false).context("cannot split the script's command line")?;
    if words.is_empty() {
        bail!("`script` needs the path of a script to run");
    }
    let name = words.remove(0);
    let content = context.read_source(&name)?;
    let program = Program::Script {
        name,
        content,
        args: words,
        executable: args.str("executable")?,
    };
    Ok(Box::new(run_command::from_args(args, program)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::BuildContext;
    use crate::resource::support::testing::{build, run_apply, section};
    use serde_json::json;

    /// A controller with one script, `hello.sh`.
    struct OneScript;

    impl BuildContext for OneScript {
        fn read_source(&self, src: &str) -> Result<Vec<u8>> {
            match src {
                "hello.sh" => Ok(b"#!/bin/sh\nprintf '%s|' \"$0\" \"$@\" | sed 's,/tmp/[^|]*,TMP,'; pwd\n".to_vec()),
                other => bail!("no file {other}"),
            }
        }
        fn render_template(&self, src: &str, _: &crate::template::FileOptions) -> Result<String> {
            bail!("no template {src}")
        }
        fn fact(&self, _name: &str) -> Option<serde_json::Value> {
            None
        }
    }

    #[test]
    fn copies_runs_and_removes_the_script_with_its_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let step = build(
            &SPEC,
            json!({"free_form": "hello.sh 'a b' '$(id)'", "chdir": work.to_str().unwrap(), "creates": "done"}),
            &OneScript,
        )
        .unwrap();
        assert_eq!(step.target(), "hello.sh 'a b' '$(id)'");
        assert!(step.plan(&section("chdir=ok\ncreates=yes\n")).unwrap().0.is_converged());
        let (diff, script) = step.plan(&section("chdir=ok\ncreates=no\n")).unwrap();
        assert_eq!(diff.action, Action::Run);
        let tmp_before = std::fs::read_dir("/tmp").unwrap().count();
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("TMP|a b|$(id)|{}\n", work.display())
        );
        assert!(std::fs::read_dir("/tmp").unwrap().count() <= tmp_before, "the copy is removed");
    }

    #[test]
    fn an_executable_runs_it_and_a_missing_file_is_an_error() {
        let step = build(&SPEC, json!({"cmd": "hello.sh", "executable": "/bin/bash"}), &OneScript).unwrap();
        let (_, script) = step.plan(&section("")).unwrap();
        assert!(script.as_str().contains("set -- /bin/bash\n"), "{}", script.as_str());
        let err = build(&SPEC, json!({"free_form": "missing.sh"}), &OneScript).err().unwrap();
        assert!(err.to_string().contains("missing.sh"), "{err}");
    }
}
