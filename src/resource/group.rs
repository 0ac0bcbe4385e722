//! `group`: a local group, created with `groupadd`, renumbered with `groupmod`, removed with
//! `groupdel`, as Ansible's `group` module does on Linux. A converged task registers what
//! Ansible returns (`name`, `state`, `gid`, `system`).

use anyhow::{bail, Result};

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::detach_stdin;
use super::user::check_account_name;
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Manages a local group.
///
/// ```yaml
/// - group:
///     name: app
///     system: yes
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "group",
    fqcn: "ansible.builtin.group",
    params: &[
        P::new("name", Str).required(),
        P::new("gid", Int),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("system", Bool).default(D::Bool(false)),
        P::new("local", Bool).default(D::Bool(false)),
        P::new("non_unique", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("gid_min", Int),
        P::new("gid_max", Int),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["local", "gid_min", "gid_max"])?;
    let name = args.required_str("name")?;
    check_account_name("group", &name)?;
    Ok(Box::new(Group {
        name,
        gid: args.int("gid")?,
        present: args.str("state")?.as_deref() != Some("absent"),
        system: args.flag("system")?,
        non_unique: args.flag("non_unique")?,
        force: args.flag("force")?,
    }))
}

/// A local group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: Option<i64>,
    pub present: bool,
    pub system: bool,
    pub non_unique: bool,
    /// `groupdel -f`: remove even a user's primary group.
    pub force: bool,
}

impl Resource for Group {
    /// The group's gid, if it exists.
    type State = Option<i64>;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line(
            "if e=$(getent group -- {}); then printf 'group=%s\\n' \"$e\"; else echo group=absent; fi",
            &[&self.name],
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<Option<i64>> {
        let pairs = key_values(out)?;
        match value_of(&pairs, "group") {
            Some("absent") => Ok(None),
            Some(entry) => {
                let gid = entry.split(':').nth(2).and_then(|g| g.parse().ok());
                match gid {
                    Some(gid) => Ok(Some(gid)),
                    None => bail!("probe: bad group entry {entry:?}"),
                }
            }
            None => bail!("probe: no group line"),
        }
    }

    fn diff(&self, have: &Option<i64>) -> Diff {
        match (have, self.present) {
            (None, false) => Diff::converged(),
            (Some(_), false) => Diff::new(Action::Remove),
            (None, true) => {
                let mut diff = Diff::new(Action::Create);
                if let Some(gid) = self.gid {
                    diff.attributes
                        .push(AttributeChange::new("gid", None::<String>, Some(gid.to_string())));
                }
                if self.system {
                    diff.attributes
                        .push(AttributeChange::new("system", None::<String>, Some("yes")));
                }
                diff
            }
            (Some(current), true) => Diff::from_attributes(
                self.gid
                    .filter(|gid| gid != current)
                    .map(|gid| AttributeChange::new("gid", Some(current.to_string()), Some(gid.to_string())))
                    .into_iter()
                    .collect(),
            ),
        }
    }

    fn apply(&self, _have: &Option<i64>, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.line("g={}", &[&self.name]);
        let mut words: Vec<String> = Vec::new();
        if let Some(gid) = self.gid {
            words.extend(["-g".into(), gid.to_string()]);
            if self.non_unique {
                words.push("-o".into());
            }
        }
        script.raw("set --");
        if !self.present {
            if self.force {
                script.raw("set -- '-f'");
            }
            script.raw(r#"if getent group -- "$g" >/dev/null; then groupdel "$@" "$g" >&2 || exit 1; deploy_changed; fi"#);
            return script;
        }
        if self.system {
            script.raw("set -- '-r'");
        }
        for word in &words {
            script.line("set -- \"$@\" {}", &[word]);
        }
        script
            .raw(r#"if ! e=$(getent group -- "$g"); then groupadd "$@" "$g" >&2 || exit 1; deploy_changed"#);
        if let Some(gid) = self.gid {
            let gid = gid.to_string();
            script.line(
                r#"elif [ "$(printf '%s\n' "$e" | cut -d: -f3)" != {} ]; then"#,
                &[&gid],
            );
            if self.non_unique {
                script.line(
                    r#"  groupmod -o -g {} "$g" >&2 || exit 1; deploy_changed"#,
                    &[&gid],
                );
            } else {
                script.line(r#"  groupmod -g {} "$g" >&2 || exit 1; deploy_changed"#, &[&gid]);
            }
        }
        script.raw("fi");
        script
    }

    fn result(&self, out: &Section) -> Result<Option<serde_json::Value>> {
        let mut result = serde_json::json!({"changed": false, "failed": false, "name": self.name,
            "state": if self.present { "present" } else { "absent" }});
        if let (true, Some(gid)) = (self.present, self.inspect(out)?) {
            result["gid"] = gid.into();
            result["system"] = self.system.into();
        }
        Ok(Some(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};
    use serde_json::json;

    fn plan(params: serde_json::Value, probe: &str) -> (Diff, Script) {
        build(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap()
    }

    #[test]
    fn converged_create_change_remove() {
        assert!(
            plan(json!({"name": "app", "gid": 990}), "group=app:x:990:alice\n")
                .0
                .is_converged()
        );
        assert!(plan(json!({"name": "app"}), "group=app:x:990:\n")
            .0
            .is_converged());
        let (diff, script) = plan(
            json!({"name": "app", "gid": 990, "system": true}),
            "group=absent\n",
        );
        assert_eq!(diff.action, Action::Create);
        assert_eq!(diff.attributes[0].describe(), "gid 990");
        assert!(script.as_str().contains("groupadd"));
        let (diff, script) = plan(json!({"name": "app", "gid": 991}), "group=app:x:990:\n");
        assert_eq!(diff.attributes[0].describe(), "gid 990 → 991");
        assert!(script.as_str().contains("groupmod"));
        let (diff, script) = plan(json!({"name": "app", "state": "absent"}), "group=app:x:990:\n");
        assert_eq!(diff.action, Action::Remove);
        assert!(script.as_str().contains("groupdel"));
        assert!(plan(json!({"name": "app", "state": "absent"}), "group=absent\n")
            .0
            .is_converged());
    }

    #[test]
    fn refuses_lies_and_bad_names() {
        let step = build(&SPEC, json!({"name": "app"}), &NoContext).unwrap();
        assert!(step.plan(&section("group=app:x:zz:\n")).is_err());
        assert!(step.plan(&section("")).is_err());
        assert!(build(&SPEC, json!({"name": "-x"}), &NoContext).is_err());
        let answer = step.result(&section("group=app:x:990:\n")).unwrap().unwrap();
        assert_eq!(answer["gid"], json!(990));
        assert_eq!(answer["state"], json!("present"));
    }

    #[test]
    fn the_probe_runs_here() {
        let dir = tempfile::tempdir().unwrap();
        let step = build(&SPEC, json!({"name": "root", "gid": 0}), &NoContext).unwrap();
        let probe = crate::resource::support::testing::run_probe(&step.probe(), dir.path());
        assert!(step.plan(&probe).unwrap().0.is_converged());
    }
}
