//! `deb822_repository`: an APT source in `/etc/apt/sources.list.d/NAME.sources`, deb822 style.
//!
//! The file is rendered here exactly as Ansible's module renders it with python-debian (fields
//! in the order of their parameter names, `yes`/`no` booleans, lists joined by spaces, a
//! multi-line `signed_by` key indented with `.` for blank lines), so that both tools write
//! the same bytes, and converged as `copy` converges a file (atomic write, diff in the plan,
//! `mode`, 0644 by default). `signed_by` is a key block or a keyring path, written as given.
//! `state: absent` removes the file and the key files Ansible keeps beside it in
//! `/etc/apt/keyrings/`. Like Ansible, it does not update apt's lists.
//!
//! Differences from Ansible: a `signed_by` URL is refused (Ansible downloads it into
//! `/etc/apt/keyrings/`); a list written as one string with spaces after its commas
//! (`architectures: amd64, all`) is written `amd64 all`, where Ansible keeps the space of each
//! item (`amd64  all`), since deploy's loader trims list items; the registered result holds
//! `dest`, `repo` and `key_filename`.

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::content::FileContent;
use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::path_state::PathState;
use super::support::lines;
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Adds or removes a deb822 APT source.
///
/// ```yaml
/// - deb822_repository:
///     name: elastic
///     uris: https://artifacts.elastic.co/packages/8.x/apt
///     suites: stable
///     components: main
///     signed_by: /etc/apt/keyrings/elastic.asc
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "deb822_repository",
    fqcn: "ansible.builtin.deb822_repository",
    params: &[
        P::new("allow_downgrade_to_insecure", Bool),
        P::new("allow_insecure", Bool),
        P::new("allow_weak", Bool),
        P::new("architectures", List),
        P::new("by_hash", Bool),
        P::new("check_date", Bool),
        P::new("check_valid_until", Bool),
        P::new("components", List),
        P::new("date_max_future", Int),
        P::new("enabled", Bool),
        P::new("inrelease_path", Str),
        P::new("languages", List),
        P::new("name", Str).required(),
        P::new("pdiffs", Bool),
        P::new("signed_by", Str),
        P::new("suites", List),
        P::new("targets", List),
        P::new("trusted", Bool),
        P::new("types", List).default(D::Str("deb")),
        P::new("uris", List),
        P::new("mode", Raw).default(D::Str("0644")),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

/// The deb822 fields, by parameter name, in the order Ansible writes them (sorted by name).
const FIELDS: &[&str] = &[
    "allow_downgrade_to_insecure",
    "allow_insecure",
    "allow_weak",
    "architectures",
    "by_hash",
    "check_date",
    "check_valid_until",
    "components",
    "date_max_future",
    "enabled",
    "inrelease_path",
    "languages",
    "name",
    "pdiffs",
    "signed_by",
    "suites",
    "targets",
    "trusted",
    "types",
    "uris",
];

/// Ansible's `format_field_name`.
fn field_name(param: &str) -> String {
    match param {
        "name" => "X-Repolib-Name".to_string(),
        "uris" => "URIs".to_string(),
        other => other
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or(String::new(), |first| {
                    first.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase()
                })
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// Ansible's `format_multiline`: a value over several lines continues on indented lines, an
/// empty one written `.`.
fn multiline(value: &str) -> String {
    let lines: Vec<String> = value
        .trim()
        .lines()
        .map(|line| match line.trim() {
            "" => "    .".to_string(),
            text => format!("    {text}"),
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The file's name: Ansible's slug of `name`.
pub fn slug(name: &str) -> String {
    let lower = name.to_lowercase();
    let dashed = regex::Regex::new(r"[_\s]+")
        .expect("a fixed pattern")
        .replace_all(&lower, "-")
        .into_owned();
    dashed
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// The `.sources` text for the task's parameters, as python-debian's `Deb822.dump` writes it.
pub fn render(args: &Args) -> Result<String> {
    let mut text = String::new();
    for param in FIELDS {
        let value = match args.value(param) {
            None | Some(Value::Null) => continue,
            Some(value) => value,
        };
        let value = match value {
            Value::Bool(b) => if b { "yes" } else { "no" }.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) => args.list(param)?.join(" "),
            Value::String(_) if SPEC.param(param).is_some_and(|p| p.kind == List) => {
                args.list(param)?.join(" ")
            }
            Value::String(s) if SPEC.param(param).is_some_and(|p| p.kind == Bool) => {
                match super::parse_bool(&s) {
                    Some(b) => if b { "yes" } else { "no" }.to_string(),
                    None => bail!("parameter `{param}` must be a boolean, found `{s}`"),
                }
            }
            Value::String(s) => s,
            other => bail!("parameter `{param}` must be a string, found {other}"),
        };
        if *param == "types" {
            if let Some(bad) = value.split(' ').find(|t| !matches!(*t, "deb" | "deb-src")) {
                bail!("parameter `types` must be deb or deb-src, found `{bad}`");
            }
        }
        let value = if value.contains('\n') {
            multiline(&value)
        } else {
            value
        };
        let name = field_name(param);
        if value.is_empty() || value.starts_with('\n') {
            text.push_str(&format!("{name}:{value}\n"));
        } else {
            text.push_str(&format!("{name}: {value}\n"));
        }
    }
    Ok(text)
}

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let name = args.required_str("name")?;
    let slug = slug(&name);
    if slug.is_empty() {
        bail!("`name` {name:?} leaves no file name");
    }
    let dest = format!("/etc/apt/sources.list.d/{slug}.sources");
    if args.str("state")?.as_deref() == Some("absent") {
        return Ok(Box::new(Absent {
            paths: vec![
                dest,
                format!("/etc/apt/keyrings/{slug}.asc"),
                format!("/etc/apt/keyrings/{slug}.gpg"),
            ],
        }));
    }
    if let Some(signed_by) = args.str("signed_by")? {
        let single = signed_by.trim();
        if !single.contains('\n') && regex::Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*://").expect("a fixed pattern").is_match(single) {
            bail!("`signed_by: {single}`: deploy takes a key block or a keyring path, not a URL; fetch the key first (`get_url`)");
        }
    }
    let content = render(args)?;
    let mode = args.value("mode").unwrap_or_else(|| Value::from("0644"));
    Ok(Box::new(Present {
        file: FileContent {
            dest,
            content: content.into_bytes(),
            mode: Some(mode),
            owner: None,
            group: None,
            force: true,
            backup: false,
            validate: None,
        },
    }))
}

/// The `.sources` file, written.
#[derive(Debug)]
pub struct Present {
    pub file: FileContent,
}

impl Resource for Present {
    type State = PathState;

    fn target(&self) -> String {
        self.file.dest.clone()
    }

    fn probe(&self) -> Script {
        Resource::probe(&self.file)
    }

    fn inspect(&self, out: &Section) -> Result<PathState> {
        Resource::inspect(&self.file, out)
    }

    fn diff(&self, have: &PathState) -> Diff {
        Resource::diff(&self.file, have)
    }

    fn apply(&self, have: &PathState, diff: &Diff) -> Script {
        let mut script = Script::new();
        script.raw("mkdir -p /etc/apt/sources.list.d || exit 1");
        script.append(&Resource::apply(&self.file, have, diff));
        script
    }

    fn confined_to(&self, out: &Section) -> Option<Vec<String>> {
        Resource::confined_to(&self.file, out)
    }

    fn result(&self, _out: &Section) -> Result<Option<Value>> {
        Ok(Some(json!({
            "changed": false,
            "dest": self.file.dest,
            "repo": String::from_utf8_lossy(&self.file.content),
            "key_filename": null,
        })))
    }
}

/// The `.sources` file and its key files, removed.
#[derive(Debug)]
pub struct Absent {
    pub paths: Vec<String>,
}

impl Resource for Absent {
    type State = Vec<String>;

    fn target(&self) -> String {
        self.paths[0].clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        for path in &self.paths {
            script.line("if [ -e {} ] || [ -L {} ]; then echo yes; else echo no; fi", &[path, path]);
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<Vec<String>> {
        let answers = lines(out)?;
        if answers.len() != self.paths.len() || answers.iter().any(|a| !matches!(*a, "yes" | "no")) {
            bail!("probe: unexpected deb822_repository output {answers:?}");
        }
        Ok(self
            .paths
            .iter()
            .zip(answers)
            .filter(|(_, a)| *a == "yes")
            .map(|(p, _)| p.clone())
            .collect())
    }

    fn diff(&self, have: &Vec<String>) -> Diff {
        if have.is_empty() {
            return Diff::converged();
        }
        let mut diff = Diff::from_attributes(
            have.iter()
                .map(|p| AttributeChange::new(&format!("- {p}"), None::<String>, None::<String>))
                .collect(),
        );
        diff.action = Action::Remove;
        diff
    }

    fn apply(&self, _have: &Vec<String>, _diff: &Diff) -> Script {
        let mut script = Script::new();
        for path in &self.paths {
            script.line(
                "if [ -e {} ] || [ -L {} ]; then rm -f -- {} || exit 1; deploy_changed; fi",
                &[path, path, path],
            );
        }
        script
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        Some(self.paths.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::values;

    fn rendered(params: Value) -> String {
        let map = values(params);
        render(&Args::new(&SPEC, &map)).unwrap()
    }

    #[test]
    fn renders_as_python_debian_dumps_it() {
        let text = rendered(json!({
            "name": "Elastic 8_x",
            "types": ["deb"],
            "uris": "https://artifacts.elastic.co/packages/8.x/apt",
            "suites": ["stable"],
            "components": "main, contrib",
            "architectures": ["amd64"],
            "enabled": true,
            "trusted": "no",
            "date_max_future": 10,
            "signed_by": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEY\n=IE0r\n-----END PGP PUBLIC KEY BLOCK-----",
        }));
        assert_eq!(
            text,
            "Architectures: amd64\nComponents: main contrib\nDate-Max-Future: 10\nEnabled: yes\n\
             X-Repolib-Name: Elastic 8_x\nSigned-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mDMEY\n    =IE0r\n    -----END PGP PUBLIC KEY BLOCK-----\n\
             Suites: stable\nTrusted: no\nTypes: deb\nURIs: https://artifacts.elastic.co/packages/8.x/apt\n"
        );
        assert_eq!(slug("Elastic 8_x"), "elastic-8-x");
        assert_eq!(field_name("check_valid_until"), "Check-Valid-Until");
        assert_eq!(field_name("inrelease_path"), "Inrelease-Path");
    }

    #[test]
    fn the_default_type_is_deb() {
        assert_eq!(rendered(json!({"name": "x"})), "X-Repolib-Name: x\nTypes: deb\n");
    }

    #[test]
    fn present_writes_the_file_and_absent_removes_it_with_its_keys() {
        use crate::resource::support::testing::{build, section};
        let step = build(&SPEC, json!({"name": "Local", "uris": "file:/srv/repo", "suites": "./"}), &NoContext).unwrap();
        assert_eq!(step.target(), "/etc/apt/sources.list.d/local.sources");
        let gone = build(&SPEC, json!({"name": "Local", "state": "absent"}), &NoContext).unwrap();
        assert!(gone.plan(&section("no\nno\nno\n")).unwrap().0.is_converged());
        let (diff, script) = gone.plan(&section("yes\nno\nyes\n")).unwrap();
        assert_eq!(diff.action, Action::Remove);
        assert_eq!(diff.attributes[1].describe(), "- /etc/apt/keyrings/local.gpg");
        assert!(script.as_str().contains("rm -f -- /etc/apt/keyrings/local.asc"));
        assert!(gone.plan(&section("maybe\n")).is_err());
        assert!(build(&SPEC, json!({"name": "x", "signed_by": "https://k/key.asc"}), &NoContext).is_err());
        assert!(build(&SPEC, json!({"name": "x", "types": "rpm"}), &NoContext).is_err());
    }
}
