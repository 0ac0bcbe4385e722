//! `dpkg_selections`: a package's dpkg selection (`install`, `hold`, `deinstall`, `purge`).
//!
//! The probe reads `dpkg --get-selections NAME`; the change is one `dpkg --set-selections`
//! line, re-checked on the host first. A package dpkg has never heard of fails, as under
//! Ansible; one it only remembers (`not present`) is a change.
//!
//! Differences from Ansible: none known; the registered result holds `before` and `after`.

use anyhow::{bail, Result};
use serde_json::json;

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::support::lines;
use super::{ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Sets a package's dpkg selection.
///
/// ```yaml
/// - dpkg_selections:
///     name: elasticsearch
///     selection: hold
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "dpkg_selections",
    fqcn: "ansible.builtin.dpkg_selections",
    params: &[
        P::new("name", Str).required(),
        P::new("selection", Str)
            .required()
            .choices(&["install", "hold", "deinstall", "purge"]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let name = args.required_str("name")?;
    // The name is one word of dpkg's selection line: nothing that would split or extend it.
    if name.is_empty() || name.starts_with('-') || name.chars().any(|c| c.is_whitespace()) {
        bail!("`{name}` is not a package name");
    }
    Ok(Box::new(DpkgSelection {
        name,
        selection: args.required_str("selection")?,
    }))
}

#[derive(Debug)]
pub struct DpkgSelection {
    pub name: String,
    pub selection: String,
}

/// The current selection: `not present` when dpkg knows the package but lists no selection.
#[derive(Debug, PartialEq, Eq)]
pub struct Selection(pub String);

impl Resource for DpkgSelection {
    type State = Selection;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line("n={}", &[&self.name]);
        script.raw(
            r#"o=$(LC_ALL=C dpkg --get-selections -- "$n" 2>&1) || { printf '%s\n' "$o" >&2; exit 1; }
case $o in *"no packages found matching"*) echo unknown;; "") echo 'selection=not present';; *) printf 'selection=%s\n' "$(printf '%s' "$o" | awk 'NR==1 {print $2}')";; esac"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<Selection> {
        if out.status != 0 {
            bail!(
                "dpkg --get-selections failed: {}",
                String::from_utf8_lossy(&out.output).trim()
            );
        }
        match lines(out)?.as_slice() {
            ["unknown"] => bail!(
                "Failed to find package '{}' to perform selection '{}'.",
                self.name,
                self.selection
            ),
            [line] if line.starts_with("selection=") => Ok(Selection(line["selection=".len()..].to_string())),
            other => bail!("probe: unexpected dpkg_selections output {other:?}"),
        }
    }

    fn diff(&self, have: &Selection) -> Diff {
        if have.0 == self.selection {
            return Diff::converged();
        }
        let mut diff = Diff::from_attributes(vec![AttributeChange::new(
            "selection",
            Some(have.0.clone()),
            Some(self.selection.clone()),
        )]);
        diff.action = Action::Change;
        diff
    }

    fn apply(&self, _have: &Selection, _diff: &Diff) -> Script {
        let mut script = Script::new();
        script.line("n={}; s={}", &[&self.name, &self.selection]);
        script.raw(
            r#"[ "$(LC_ALL=C dpkg --get-selections -- "$n" 2>/dev/null | awk 'NR==1 {print $2}')" = "$s" ] && exit 0
printf '%s %s\n' "$n" "$s" | dpkg --set-selections || exit 1
deploy_changed"#,
        );
        script
    }

    fn result(&self, out: &Section) -> Result<Option<serde_json::Value>> {
        let have = self.inspect(out)?;
        Ok(Some(json!({
            "changed": false,
            "before": have.0,
            "after": self.selection,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};
    use serde_json::json;

    fn plan(probe: &str) -> Result<(Diff, Script)> {
        build(&SPEC, json!({"name": "nginx", "selection": "hold"}), &NoContext)?.plan(&section(probe))
    }

    #[test]
    fn converges_on_the_selection() {
        assert!(plan("selection=hold\n").unwrap().0.is_converged());
        let (diff, script) = plan("selection=install\n").unwrap();
        assert_eq!(diff.attributes[0].describe(), "selection install → hold");
        assert!(script.as_str().contains("n=nginx; s=hold"));
        let (diff, _) = plan("selection=not present\n").unwrap();
        assert_eq!(diff.attributes[0].describe(), "selection not present → hold");
    }

    #[test]
    fn an_unknown_package_fails_as_under_ansible() {
        let err = plan("unknown\n").unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "Failed to find package 'nginx' to perform selection 'hold'."
        );
        assert!(plan("what\n").is_err());
        assert!(build(&SPEC, json!({"name": "a b", "selection": "hold"}), &NoContext).is_err());
    }
}
