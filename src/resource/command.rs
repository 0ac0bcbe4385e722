//! `command`: runs a program without a shell; converged only through `creates`/`removes`.
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
    ..ModuleSpec::DEFAULT
};
