//! `shell`: runs a command line through `/bin/sh`; converged only through `creates`/`removes`.
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use super::run_command::{self, Program};
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
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let program = Program::Shell {
        text: args.required_str("cmd")?,
        executable: args.str("executable")?.unwrap_or_else(|| "/bin/sh".to_string()),
    };
    Ok(Box::new(run_command::from_args(args, program)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, run_apply, section};
    use serde_json::json;

    #[test]
    fn runs_the_text_with_the_executable() {
        let dir = tempfile::tempdir().unwrap();
        let step = build(
            &SPEC,
            json!({"cmd": "echo \"$0\" | sed 's,.*/,,'; echo ~ >/dev/null", "executable": "/bin/sh", "removes": "/"}),
            &NoContext,
        )
        .unwrap();
        let (diff, script) = step.plan(&section("removes=yes\n")).unwrap();
        assert!(!diff.is_converged());
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "sh\n");
    }
}
