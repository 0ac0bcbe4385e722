//! `apt_repository`: an APT source line in `/etc/apt/sources.list.d/`.
//!
//! The `.list` file is named and written as Ansible names and writes it (one source per line,
//! mode 0644), edited in place through [`EditedFile`] so that other sources in the same file
//! stay, and `apt-get update` runs after a change unless `update_cache: no`.
use anyhow::{bail, Result};
use serde_json::Value;

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::text_edit::{EditState, EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Adds or removes an APT repository.
///
/// ```yaml
/// - apt_repository:
///     repo: deb https://artifacts.elastic.co/packages/8.x/apt stable main
///     filename: elastic-8.x
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_repository",
    fqcn: "ansible.builtin.apt_repository",
    params: &[
        P::new("repo", Str).required(),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("filename", Str),
        P::new("update_cache", Bool)
            .default(D::Bool(true))
            .aliases(&["update-cache"]),
        P::new("update_cache_retries", Int).default(D::Int(5)),
        P::new("update_cache_retry_max_delay", Int).default(D::Int(12)),
        P::new("mode", Mode),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("codename", Str),
        P::new("install_python_apt", Bool).default(D::Bool(true)),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&[
        "update_cache_retries",
        "update_cache_retry_max_delay",
        "validate_certs",
        "codename",
        "install_python_apt",
    ])?;
    let repo = args.required_str("repo")?;
    if repo.starts_with("ppa:") {
        bail!("PPA repositories are not supported by deploy; give the `deb ...` line");
    }
    let source = repo.split_whitespace().collect::<Vec<_>>().join(" ");
    if !(source.starts_with("deb ") || source.starts_with("deb-src ")) {
        bail!("Invalid repository string: {repo}");
    }
    let path = format!(
        "/etc/apt/sources.list.d/{}",
        list_file_name(&source, args.str("filename")?.as_deref())
    );
    let edit = RepoLine {
        source,
        present: args.str("state")?.as_deref() != Some("absent"),
    };
    let file = EditedFile {
        path,
        edit,
        // Ansible gives the source files it writes mode 0644.
        mode: Some(args.value("mode").unwrap_or_else(|| Value::from("0644"))),
        owner: None,
        group: None,
        backup: false,
        validate: None,
    };
    Ok(Box::new(AptRepository {
        file,
        update_cache: args.bool("update_cache")?.unwrap_or(true),
    }))
}

/// The `.list` file Ansible picks for a source line: `filename` when given, else the
/// repository's host and path with every other character turned into `_`.
pub fn list_file_name(source: &str, filename: Option<&str>) -> String {
    if let Some(name) = filename {
        return format!("{name}.list");
    }
    let options = regex::Regex::new(r"\[[^\]]+\]").expect("a fixed pattern");
    let protocol = regex::Regex::new(r"\w+://").expect("a fixed pattern");
    let line = options.replace_all(source, "");
    let line = protocol.replace_all(&line, "");
    let first = line
        .split_whitespace()
        .find(|part| !matches!(*part, "deb" | "deb-src"))
        .unwrap_or_default();
    let first = first.split_once('@').map_or(first, |(_, host)| host);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

/// A source line present (enabled) or absent in a `.list` file.
#[derive(Clone, Debug)]
pub struct RepoLine {
    pub source: String,
    pub present: bool,
}

impl RepoLine {
    /// The source a line holds, whitespace-normalised, and whether it is enabled.
    fn parse(line: &str) -> Option<(String, bool)> {
        let trimmed = line.trim();
        let (text, enabled) = match trimmed.strip_prefix('#') {
            Some(rest) => (rest.trim_start(), false),
            None => (trimmed, true),
        };
        let text = text.split(" #").next().unwrap_or(text);
        let source = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (source.starts_with("deb ") || source.starts_with("deb-src ")).then_some((source, enabled))
    }
}

impl TextEdit for RepoLine {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let text = String::from_utf8_lossy(current.unwrap_or_default()).into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let matching: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| Self::parse(l).is_some_and(|(s, _)| s == self.source))
            .map(|(i, _)| i)
            .collect();
        if self.present {
            if matching
                .iter()
                .any(|&i| Self::parse(&lines[i]).is_some_and(|(_, enabled)| enabled))
            {
                return Ok(None);
            }
            match matching.first() {
                // A disabled copy of the line is enabled again, as Ansible does.
                Some(&i) => lines[i] = self.source.clone(),
                None => lines.push(self.source.clone()),
            }
        } else {
            if matching.is_empty() {
                return Ok(None);
            }
            lines = lines
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !matching.contains(i))
                .map(|(_, l)| l)
                .collect();
        }
        let mut out = lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        Ok(Some(out.into_bytes()))
    }
}

/// A `.list` file converged, then `apt-get update` when it changed.
#[derive(Debug)]
pub struct AptRepository {
    pub file: EditedFile<RepoLine>,
    pub update_cache: bool,
}

impl Resource for AptRepository {
    type State = EditState;

    fn target(&self) -> String {
        self.file.edit.source.clone()
    }

    fn probe(&self) -> Script {
        Resource::probe(&self.file)
    }

    fn inspect(&self, out: &Section) -> Result<EditState> {
        Resource::inspect(&self.file, out)
    }

    fn diff(&self, have: &EditState) -> Diff {
        Resource::diff(&self.file, have)
    }

    fn apply(&self, have: &EditState, diff: &Diff) -> Script {
        let mut script = Resource::apply(&self.file, have, diff);
        if self.update_cache && diff.content.is_some() {
            script.raw("apt-get update -q >&2 || { echo 'apt-get update failed' >&2; exit 1; }");
        }
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::{file_probe, values};
    use serde_json::json;

    const ELASTIC: &str = "deb https://artifacts.elastic.co/packages/8.x/apt stable main";

    #[test]
    fn names_the_file_as_ansible_does() {
        assert_eq!(
            list_file_name(ELASTIC, None),
            "artifacts_elastic_co_packages_8_x_apt.list"
        );
        assert_eq!(
            list_file_name(
                "deb [signed-by=/k.gpg arch=amd64] http://u:p@apt.example.org/debian bookworm main",
                None
            ),
            "apt_example_org_debian.list"
        );
        assert_eq!(list_file_name(ELASTIC, Some("elastic-8.x")), "elastic-8.x.list");
    }

    #[test]
    fn edits_the_list_file() {
        let line = RepoLine {
            source: ELASTIC.to_string(),
            present: true,
        };
        assert_eq!(
            line.edit(None).unwrap().unwrap(),
            format!("{ELASTIC}\n").into_bytes()
        );
        assert_eq!(line.edit(Some(format!("{ELASTIC}\n").as_bytes())).unwrap(), None);
        assert_eq!(
            line.edit(Some(format!("# {ELASTIC}\n").as_bytes()))
                .unwrap()
                .unwrap(),
            format!("{ELASTIC}\n").into_bytes()
        );
        let gone = RepoLine {
            source: ELASTIC.to_string(),
            present: false,
        };
        assert_eq!(
            gone.edit(Some(format!("deb x y\n{ELASTIC}\n").as_bytes()))
                .unwrap()
                .unwrap(),
            b"deb x y\n"
        );
    }

    #[test]
    fn plans_and_updates_the_cache_after_a_change() {
        let map = values(json!({"repo": ELASTIC, "filename": "elastic-8.x"}));
        let task = build(&Args::new(&SPEC, &map), &NoContext).unwrap();
        assert_eq!(task.target(), ELASTIC);
        let path = "/etc/apt/sources.list.d/elastic-8.x.list";
        let (diff, script) = task.plan(&file_probe(path, None)).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(script.as_str().contains("apt-get update"));
        let (diff, _) = task
            .plan(&file_probe(path, Some(format!("{ELASTIC}\n").as_bytes())))
            .unwrap();
        assert!(diff.is_converged(), "{diff:?}");
    }

    #[test]
    fn converges_a_real_list_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.list");
        let file = EditedFile {
            path: path.to_str().unwrap().to_string(),
            edit: RepoLine {
                source: ELASTIC.to_string(),
                present: true,
            },
            mode: Some(Value::from("0644")),
            owner: None,
            group: None,
            backup: false,
            validate: None,
        };
        let task = AptRepository {
            file,
            update_cache: false,
        };
        assert_eq!(
            crate::resource::text_edit::testing::converge_here(&task).action,
            Action::Create
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{ELASTIC}\n"));
    }
}
