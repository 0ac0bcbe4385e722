//! `command`: runs a program without a shell; converged only through `creates`/`removes`.
//!
//! As in Ansible, each word has `~` and the environment's `$NAME`/`${NAME}` expanded on the
//! host (an unset name stays as written, so `awk '{print $1}'` passes `$1` through), unless
//! `expand_argument_vars: false`.
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use super::run_command;
use super::{DefaultValue as D, FreeForm, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Runs a command (no shell: no pipes, redirections or variables).
///
/// ```yaml
/// - command: /srv/app/bin/migrate chdir=/srv/app creates=/srv/app/.migrated
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "command",
    fqcn: "ansible.builtin.command",
    kind: ModuleKind::Command,
    free_form: FreeForm::Raw("cmd"),
    params: &[
        P::new("cmd", Str),
        P::new("argv", List),
        P::new("chdir", Path),
        P::new("creates", Path),
        P::new("removes", Path),
        P::new("stdin", Str),
        P::new("stdin_add_newline", Bool).default(D::Bool(true)),
        P::new("strip_empty_ends", Bool).default(D::Bool(true)),
        P::new("expand_argument_vars", Bool).default(D::Bool(true)),
    ],
    mutually_exclusive: &[&["cmd", "argv"]],
    required_one_of: &[&["cmd", "argv"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let program = run_command::command_program(args)?;
    Ok(Box::new(run_command::from_args(args, program)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};
    use serde_json::json;

    #[test]
    fn builds_from_cmd_or_argv() {
        let step = build(&SPEC, json!({"cmd": "echo 'a b' c", "creates": "/x"}), &NoContext).unwrap();
        assert_eq!(step.target(), "echo 'a b' c");
        assert!(step.plan(&section("creates=yes\n")).unwrap().0.is_converged());
        let step = build(
            &SPEC,
            json!({"argv": ["echo", "$HOME"], "expand_argument_vars": false}),
            &NoContext,
        )
        .unwrap();
        assert_eq!(step.plan(&section("")).unwrap().0.action, Action::Run);
    }

    #[test]
    fn refuses_what_it_would_run_differently() {
        let err = build(&SPEC, json!({"cmd": "ls", "strip_empty_ends": false}), &NoContext)
            .err()
            .unwrap();
        assert!(err.to_string().contains("strip_empty_ends"), "{err}");
    }

    #[test]
    fn expands_words_as_pythons_expandvars_and_expanduser() {
        let words = [
            "{print $1}",
            "$HOME/x",
            "${HOME}:y",
            "$DEPLOY_SURELY_UNSET_1 and ${DEPLOY_SURELY_UNSET_2}",
            "~/a",
            "~",
            "~root/b",
            "~deploy-no-such-user/c",
            "a$",
            "$$ ${ $'q'",
        ];
        let mut argv = vec!["printf".to_string(), "%s\\0".to_string()];
        argv.extend(words.iter().map(|w| w.to_string()));
        let step = build(&SPEC, json!({"argv": argv}), &NoContext).unwrap();
        let (_, script) = step.plan(&section("")).unwrap();
        let out = crate::resource::text_edit::testing::run(&script);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // Ansible's own expansion, by the oracle: Python on this machine, same environment.
        let python = std::process::Command::new("python3")
            .arg("-c")
            .arg("import os, sys\nfor w in sys.argv[1:]: sys.stdout.write(os.path.expandvars(os.path.expanduser(w)) + '\\0')")
            .args(words)
            .output()
            .expect("python3 runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&python.stdout)
        );
    }
}
