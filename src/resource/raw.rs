//! `raw`: a command line run as it is, with no module machinery around it.
//!
//! Ansible sends `raw` text over a bare SSH exec, outside its module wrapper, so that it
//! works on hosts without Python (bootstrapping). `deploy` needs nothing but `sh` on a host
//! anyway, so the text runs like `shell`'s, handed as one argument to `executable -c`
//! (`/bin/sh` by default), in order with the other steps of its stage. It has no guard:
//! it always runs and always counts as a change, as in Ansible.
//!
//! Differences from Ansible: Ansible gives each `raw` task an SSH exec of its own, run by the
//! remote user's login shell; `deploy` runs it inside the host's one remote shell session
//! (`/bin/sh -c` unless `executable` says otherwise), so it costs no exec of its own, and a
//! play that uses it still takes one exec per host. Its output is registered as `command`'s
//! (`rc`, `stdout`, `stderr`, their `_lines`).
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use super::run_command::{self, Program};
use super::{FreeForm, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Runs a command line without a module around it.
///
/// ```yaml
/// - raw: test -e /usr/bin/python3 || (apt-get update && apt-get install -y python3)
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "raw",
    fqcn: "ansible.builtin.raw",
    kind: ModuleKind::Command,
    free_form: FreeForm::Raw("free_form"),
    params: &[P::new("free_form", Str).required(), P::new("executable", Path)],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let program = Program::Shell {
        text: args.required_str("free_form")?,
        executable: args.str("executable")?.unwrap_or_else(|| "/bin/sh".to_string()),
    };
    Ok(Box::new(run_command::from_args(args, program)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, run_apply, section};
    use serde_json::json;

    #[test]
    fn runs_the_text_every_time_with_the_executable() {
        let dir = tempfile::tempdir().unwrap();
        let step = build(
            &SPEC,
            json!({"free_form": "echo \"$0\" | sed 's,.*/,,'; exit 4", "executable": "/bin/sh"}),
            &NoContext,
        )
        .unwrap();
        assert!(step.probe().is_empty(), "nothing to probe");
        let (diff, script) = step.plan(&section("")).unwrap();
        assert_eq!(diff.action, Action::Run);
        let (out, changed) = run_apply(&script, dir.path());
        assert_eq!(out.status.code(), Some(4));
        assert!(changed);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "sh\n");
    }
}
