//! `debconf`: an answer preseeded in the debconf database, for packages installed after it.
//!
//! The probe reads the package's questions with `debconf-show`, as Ansible does; a password is
//! compared by its SHA-256, computed on the host from `debconf-get-selections` (debconf-utils),
//! so the secret never comes back to the controller and never reaches a plan. The change is
//! one `debconf-set-selections` line read from stdin, never from argv.
//!
//! Differences from Ansible: a `multiselect` value given as a string is compared as written
//! (Ansible too), a list sorted; the registered result holds `current` (and `previous` when a
//! change was planned, without passwords).

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::support::lines;
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::digest::sha256_hex;
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Preseeds a debconf answer.
///
/// ```yaml
/// - debconf:
///     name: tzdata
///     question: tzdata/Areas
///     value: Europe
///     vtype: select
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "debconf",
    fqcn: "ansible.builtin.debconf",
    params: &[
        P::new("name", Str).required().aliases(&["pkg"]),
        P::new("question", Str).aliases(&["selection", "setting"]),
        P::new("vtype", Str).choices(&[
            "boolean",
            "error",
            "multiselect",
            "note",
            "password",
            "seen",
            "select",
            "string",
            "text",
            "title",
        ]),
        P::new("value", Raw).aliases(&["answer"]),
        P::new("unseen", Bool).default(D::Bool(false)),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

/// A value as Python's `to_text` prints it.
fn python_text(value: &Value) -> Result<String> {
    Ok(match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        other => bail!("`value` must be a string, a number or a boolean, found {other}"),
    })
}

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let package = args.required_str("name")?;
    let question = args.str("question")?;
    let vtype = args.str("vtype")?;
    let value = args.value("value");
    let answer = match (question, vtype, value) {
        (None, None, None) => None,
        (Some(question), Some(vtype), Some(value)) => {
            let value = match (&value, vtype.as_str()) {
                (Value::Array(items), "multiselect") => {
                    let mut items = items.iter().map(python_text).collect::<Result<Vec<_>>>()?;
                    items.sort();
                    Wanted::List(items)
                }
                (_, "boolean") => Wanted::Text(python_text(&value)?.to_lowercase()),
                _ => Wanted::Text(python_text(&value)?),
            };
            Some(Answer {
                question,
                vtype,
                value,
            })
        }
        _ => bail!("parameters are required together: question, vtype, value"),
    };
    // Each field is one word of debconf-set-selections' line (the value is the rest of it).
    let word = |text: &str| !text.is_empty() && !text.chars().any(char::is_whitespace);
    if !word(&package) || answer.as_ref().is_some_and(|a| !word(&a.question)) {
        bail!("`name` and `question` must be single words");
    }
    if let Some(Answer {
        value: Wanted::Text(text),
        ..
    }) = &answer
    {
        if text.contains('\n') {
            bail!("a debconf value cannot hold a newline");
        }
    }
    Ok(Box::new(Debconf {
        package,
        answer,
        unseen: args.flag("unseen")?,
    }))
}

/// What the task answers.
#[derive(Debug)]
pub struct Answer {
    pub question: String,
    pub vtype: String,
    pub value: Wanted,
}

/// The wanted value: text, or a multiselect list (sorted, compared item by item).
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    Text(String),
    List(Vec<String>),
}

impl Wanted {
    /// As debconf-set-selections takes it.
    fn line_value(&self) -> String {
        match self {
            Wanted::Text(text) => text.clone(),
            Wanted::List(items) => items.join(", "),
        }
    }
}

#[derive(Debug)]
pub struct Debconf {
    pub package: String,
    pub answer: Option<Answer>,
    pub unseen: bool,
}

/// The package's questions as `debconf-show` lists them, and the stored password's hash.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selections {
    pub values: Vec<(String, String)>,
    /// SHA-256 of the stored password (`password` questions only).
    pub password_sha256: Option<String>,
}

impl Selections {
    fn get(&self, question: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(q, _)| q == question)
            .map(|(_, v)| v.as_str())
    }
}

impl Debconf {
    fn is_password(&self) -> bool {
        self.answer.as_ref().is_some_and(|a| a.vtype == "password")
    }

    /// Whether the stored answer differs, as Ansible compares it.
    fn differs(&self, have: &Selections) -> bool {
        let Some(answer) = &self.answer else {
            return false;
        };
        let Some(existing) = have.get(&answer.question) else {
            return true;
        };
        match (&answer.value, answer.vtype.as_str()) {
            (Wanted::Text(text), "password") => {
                have.password_sha256.as_deref() != Some(sha256_hex(text.as_bytes()).as_str())
            }
            (Wanted::Text(text), "boolean") => existing.to_lowercase() != *text,
            (Wanted::Text(text), _) => existing != text,
            (Wanted::List(items), _) => {
                let mut current: Vec<String> = existing.split(',').map(|i| i.trim().to_string()).collect();
                current.sort();
                current != *items
            }
        }
    }

    /// The questions as a mapping, passwords hidden as `debconf-show` hides them.
    fn current(&self, have: &Selections) -> Value {
        let map: Map<String, Value> = have
            .values
            .iter()
            .map(|(q, v)| (q.clone(), Value::from(v.as_str())))
            .collect();
        Value::Object(map)
    }
}

impl Resource for Debconf {
    type State = Selections;

    fn target(&self) -> String {
        match &self.answer {
            Some(answer) => format!("{} {}", self.package, answer.question),
            None => self.package.clone(),
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line("pkg={}", &[&self.package]);
        script.raw(
            r#"command -v debconf-show >/dev/null || { echo 'debconf-show is not on the host' >&2; exit 1; }
o=$(debconf-show "$pkg") || exit 1
[ -z "$o" ] || printf '%s\n' "$o" | sed -n 's/^/show	/p'"#,
        );
        if let (true, Some(answer)) = (self.is_password(), &self.answer) {
            script.line("q={}; t={}", &[&answer.question, &answer.vtype]);
            // Ansible's get_password_value, hashed on the host.
            script.raw(
                r#"command -v debconf-get-selections >/dev/null || { echo 'Failed to find required executable "debconf-get-selections" (debconf-utils)' >&2; exit 1; }
v=$(debconf-get-selections | awk -F'	' -v p="$pkg" -v q="$q" -v t="$t" 'index($0, p) == 1 { if (NF <= 3) { print ""; exit } if ($2 == q && $3 == t) { print $4; exit } }') || exit 1
printf 'password_sha256	%s\n' "$(printf '%s' "$v" | sha256sum | cut -c1-64)""#,
            );
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<Selections> {
        if out.status != 0 {
            bail!("{}", String::from_utf8_lossy(&out.output).trim());
        }
        let mut have = Selections::default();
        for line in lines(out)? {
            if let Some(shown) = line.strip_prefix("show\t") {
                let Some((key, value)) = shown.split_once(':') else {
                    bail!("probe: unexpected debconf-show line {shown:?}");
                };
                let key = key.trim().trim_matches('*').trim();
                have.values.push((key.to_string(), value.trim().to_string()));
            } else if let Some(hash) = line.strip_prefix("password_sha256\t") {
                have.password_sha256 = Some(hash.to_string());
            } else {
                bail!("probe: unexpected debconf probe line {line:?}");
            }
        }
        Ok(have)
    }

    fn diff(&self, have: &Selections) -> Diff {
        let Some(answer) = self.answer.as_ref().filter(|_| self.differs(have)) else {
            return Diff::converged();
        };
        let change = if self.is_password() {
            AttributeChange::new(&format!("{} (password)", answer.question), None::<String>, Some("(hidden)"))
        } else {
            AttributeChange::new(
                &answer.question,
                Some(have.get(&answer.question).unwrap_or("(unset)")),
                Some(answer.value.line_value()),
            )
        };
        let mut diff = Diff::from_attributes(vec![change]);
        diff.action = Action::Change;
        diff
    }

    fn apply(&self, _have: &Selections, _diff: &Diff) -> Script {
        let mut script = Script::new();
        let Some(answer) = &self.answer else {
            return script;
        };
        let line = format!(
            "{} {} {} {}\n",
            self.package,
            answer.question,
            answer.vtype,
            answer.value.line_value()
        );
        let words: &[&str] = if self.unseen {
            &["debconf-set-selections", "-u"]
        } else {
            &["debconf-set-selections"]
        };
        script.pipe_bytes(line.as_bytes(), words, "|| exit 1");
        script.raw("deploy_changed");
        script
    }

    fn result(&self, out: &Section) -> Result<Option<Value>> {
        let have = self.inspect(out)?;
        Ok(Some(json!({"changed": false, "msg": "", "current": self.current(&have)})))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};

    fn plan(params: Value, probe: &str) -> (Diff, Script) {
        build(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap()
    }

    const TZDATA: &str = "show\t* tzdata/Areas: Europe\nshow\t  tzdata/Zones/Europe: Paris\n";

    #[test]
    fn compares_the_answer_debconf_show_gives() {
        let params = json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": "Europe"});
        assert!(plan(params, TZDATA).0.is_converged());
        let params = json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": "Asia"});
        let (diff, script) = plan(params, TZDATA);
        assert_eq!(diff.attributes[0].describe(), "tzdata/Areas Europe → Asia");
        assert!(script.as_str().contains("| debconf-set-selections ||"));
        let params = json!({"name": "tzdata", "question": "tzdata/Other", "vtype": "string", "value": "x", "unseen": true});
        let (diff, script) = plan(params, TZDATA);
        assert_eq!(diff.attributes[0].describe(), "tzdata/Other (unset) → x");
        assert!(script.as_str().contains("debconf-set-selections '-u'"));
    }

    #[test]
    fn booleans_and_multiselect_compare_as_ansible_does() {
        let probe = "show\t  p/flag: true\nshow\t  p/many: b, a\n";
        let flag = json!({"name": "p", "question": "p/flag", "vtype": "boolean", "value": true});
        assert!(plan(flag, probe).0.is_converged());
        let many = json!({"name": "p", "question": "p/many", "vtype": "multiselect", "value": ["a", "b"]});
        assert!(plan(many, probe).0.is_converged());
        let many = json!({"name": "p", "question": "p/many", "vtype": "multiselect", "value": ["a", "c"]});
        let (diff, script) = plan(many, probe);
        assert_eq!(diff.attributes[0].describe(), "p/many b, a → a, c");
        assert!(!script.is_empty());
    }

    #[test]
    fn passwords_are_compared_by_hash_and_never_shown() {
        let params = json!({"name": "p", "question": "p/pw", "vtype": "password", "value": "s3cret"});
        let step = build(&SPEC, params.clone(), &NoContext).unwrap();
        assert!(step.probe().as_str().contains("debconf-get-selections"));
        let same = format!("show\t  p/pw: (password omitted)\npassword_sha256\t{}\n", sha256_hex(b"s3cret"));
        assert!(plan(params.clone(), &same).0.is_converged());
        let other = format!("show\t  p/pw: (password omitted)\npassword_sha256\t{}\n", sha256_hex(b""));
        let (diff, script) = plan(params, &other);
        let shown = serde_json::to_string(&diff).unwrap();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(diff.attributes[0].describe(), "p/pw (password) (hidden)");
        // In the script only as base64, on the stdin of debconf-set-selections.
        assert!(!script.as_str().contains("s3cret"));
    }

    #[test]
    fn a_package_without_questions_has_none() {
        let params = json!({"name": "p", "question": "p/q", "vtype": "string", "value": "x"});
        let step = build(&SPEC, params, &NoContext).unwrap();
        // A debconf-show that knows no question of the package prints nothing.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let stub = dir.path().join("debconf-show");
        std::fs::write(&stub, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut script = Script::new();
        script.line("PATH={}:$PATH", &[dir.path().to_str().unwrap()]);
        script.append(&step.probe());
        let out = crate::resource::support::testing::run_probe(&script, dir.path());
        let (diff, _) = step.plan(&out).unwrap();
        assert_eq!(diff.attributes[0].describe(), "p/q (unset) → x");
    }

    #[test]
    fn a_question_needs_vtype_and_value() {
        assert!(build(&SPEC, json!({"name": "p", "question": "p/q"}), &NoContext).is_err());
        let (diff, _) = plan(json!({"name": "tzdata"}), TZDATA);
        assert!(diff.is_converged());
        let step = build(&SPEC, json!({"name": "tzdata"}), &NoContext).unwrap();
        let registered = step.result(&section(TZDATA)).unwrap().unwrap();
        assert_eq!(registered["current"]["tzdata/Zones/Europe"], "Paris");
        assert!(step.plan(&section("junk\n")).is_err());
    }
}
