//! `command`: runs a program without a shell; converged only through `creates`/`removes`.
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use super::run_command::{self, Program};
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
    let words = run_command::command_words(args)?;
    Ok(Box::new(run_command::from_args(args, Program::Argv(words))?))
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
        let err = build(&SPEC, json!({"cmd": "ls $HOME"}), &NoContext)
            .err()
            .unwrap();
        assert!(err.to_string().contains("use `shell`"), "{err}");
        let err = build(&SPEC, json!({"cmd": "ls", "strip_empty_ends": false}), &NoContext)
            .err()
            .unwrap();
        assert!(err.to_string().contains("strip_empty_ends"), "{err}");
    }
}
