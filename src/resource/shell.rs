//! `shell`: runs a command line through `/bin/sh`; converged only through `creates`/`removes`.
use super::{DefaultValue as D, FreeForm, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Runs a shell command line or script.
///
/// ```yaml
/// - shell: >
///     pg_dump app | gzip > /var/backups/app.sql.gz
///   args:
///     creates: /var/backups/app.sql.gz
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "shell",
    fqcn: "ansible.builtin.shell",
    kind: ModuleKind::Command,
    free_form: FreeForm::Raw("cmd"),
    params: &[
        P::new("cmd", Str).required(),
        P::new("chdir", Path),
        P::new("creates", Path),
        P::new("removes", Path),
        P::new("executable", Path),
        P::new("stdin", Str),
        P::new("stdin_add_newline", Bool).default(D::Bool(true)),
        P::new("strip_empty_ends", Bool).default(D::Bool(true)),
    ],
    ..ModuleSpec::DEFAULT
};
