//! A file with given content and attributes: what `copy` and `template` both converge.
//!
//! The content is known locally (read from `files/`, given inline, or rendered from
//! `templates/`), so the probe only hashes the host's copy, and the plan shows a unified diff
//! when it differs. The write is atomic and validated (`deploy_write` in the apply prelude).

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::plan::{unified_diff, Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::resource::lifecycle::{Args, Resource};
use crate::resource::path_state::{self, format_mode, resolve_mode, Kind, PathState};
use crate::shell::Script;

/// The file `dest` should hold `content`, with these attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileContent {
    pub dest: String,
    pub content: Vec<u8>,
    /// The `mode:` parameter as written (integer, octal string or symbolic).
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// `force: no`: only create the file when it is missing.
    pub force: bool,
    /// Keep the previous version beside the file, with a timestamp.
    pub backup: bool,
    /// The `validate:` command, `%s` standing for the new file, split into words.
    pub validate: Option<Vec<String>>,
}

impl FileContent {
    fn sha256(&self) -> String {
        crate::digest::sha256_hex(&self.content)
    }

    fn wanted_mode(&self, have: &PathState) -> Result<Option<String>> {
        let current = have.mode.as_deref().and_then(|m| u32::from_str_radix(m, 8).ok());
        self.mode
            .as_ref()
            .map(|m| resolve_mode(m, current, false).map(format_mode))
            .transpose()
    }
}

impl Resource for FileContent {
    type State = PathState;

    fn target(&self) -> String {
        self.dest.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        path_state::probe(&mut script, &self.dest, Some(&self.sha256()));
        script
    }

    fn inspect(&self, out: &Section) -> Result<PathState> {
        let state = path_state::inspect(out)?;
        match state.kind {
            Kind::Absent | Kind::File | Kind::Link => {}
            other => bail!("{} is a {} on the host, not a file", self.dest, other.name()),
        }
        // Checked here because a diff cannot fail: a bad symbolic mode is the user's error.
        self.wanted_mode(&state)?;
        Ok(state)
    }

    fn diff(&self, have: &PathState) -> Diff {
        let wanted_mode = self.wanted_mode(have).ok().flatten();
        if have.kind != Kind::File {
            let mut diff = Diff::new(if have.kind == Kind::Absent {
                Action::Create
            } else {
                Action::Change
            });
            if have.kind == Kind::Link {
                diff.attributes
                    .push(AttributeChange::new("type", Some("link"), Some("file")));
            }
            for (name, value) in [
                ("mode", wanted_mode),
                ("owner", self.owner.clone()),
                ("group", self.group.clone()),
            ] {
                if let Some(value) = value {
                    diff.attributes
                        .push(AttributeChange::new(name, None::<String>, Some(value)));
                }
            }
            diff.content = Some(content_diff(b"", &self.content, &self.dest));
            return diff;
        }
        let mut attributes = Vec::new();
        if let (Some(wanted), Some(current)) = (&wanted_mode, &have.mode) {
            if wanted != current {
                attributes.push(AttributeChange::new(
                    "mode",
                    Some(current.clone()),
                    Some(wanted.clone()),
                ));
            }
        }
        if let Some(owner) = &self.owner {
            if !same_account(owner, have.owner.as_deref(), have.uid) {
                attributes.push(AttributeChange::new(
                    "owner",
                    have.owner.clone(),
                    Some(owner.clone()),
                ));
            }
        }
        if let Some(group) = &self.group {
            if !same_account(group, have.group.as_deref(), have.gid) {
                attributes.push(AttributeChange::new(
                    "group",
                    have.group.clone(),
                    Some(group.clone()),
                ));
            }
        }
        let mut diff = Diff::from_attributes(attributes);
        if self.force && have.sha256.as_deref() != Some(self.sha256().as_str()) {
            diff.action = Action::Change;
            diff.content = Some(match &have.content {
                Some(old) => content_diff(old, &self.content, &self.dest),
                None => format!(
                    "content differs (sha256 {} → {}); the current file is too large to show",
                    have.sha256.as_deref().unwrap_or("?"),
                    self.sha256()
                ),
            });
        }
        diff
    }

    fn apply(&self, have: &PathState, diff: &Diff) -> Script {
        let mut script = Script::new();
        let mode = self.wanted_mode(have).ok().flatten().unwrap_or_default();
        let owner = self.owner.clone().unwrap_or_default();
        let group = self.group.clone().unwrap_or_default();
        script.line("p={}", &[&self.dest]);
        script.line("want={}", &[&self.sha256()]);
        let rewrite = diff.content.is_some();
        if rewrite {
            // The guard: the host may already hold the content (another run, a manual fix).
            script.raw(r#"if [ -L "$p" ] || [ ! -f "$p" ] || [ "$(sha256sum < "$p" | cut -c1-64)" != "$want" ]; then"#);
            if self.backup {
                script.raw(r#"  deploy_backup "$p" || exit 1"#);
            }
            script.line(r#"  deploy_clean_temps "$(dirname -- {})""#, &[&self.dest]);
            let mut words: Vec<&str> = vec!["deploy_write", &self.dest, &mode, &owner, &group];
            words.extend(self.validate.iter().flatten().map(String::as_str));
            script.pipe_bytes(&self.content, &words, "|| exit 1");
            script.raw("  deploy_changed");
            script.raw("fi");
        }
        // Attributes are re-checked on the host even after a write (the write sets them, but
        // a file left as it was may still have the wrong ones).
        if !mode.is_empty() {
            let bare = mode.trim_start_matches('0');
            let bare = if bare.is_empty() { "0" } else { bare };
            script.line(
                r#"[ "$(stat -c %a -- "$p")" = {} ] || { chmod {} "$p" && deploy_changed; } || exit 1"#,
                &[bare, &mode],
            );
        }
        if !owner.is_empty() {
            let field = if owner.bytes().all(|b| b.is_ascii_digit()) {
                "%u"
            } else {
                "%U"
            };
            script.line(
                r#"[ "$(stat -c {} -- "$p")" = {} ] || { chown {} "$p" && deploy_changed; } || exit 1"#,
                &[field, &owner, &owner],
            );
        }
        if !group.is_empty() {
            let field = if group.bytes().all(|b| b.is_ascii_digit()) {
                "%g"
            } else {
                "%G"
            };
            script.line(
                r#"[ "$(stat -c {} -- "$p")" = {} ] || { chgrp {} "$p" && deploy_changed; } || exit 1"#,
                &[field, &group, &group],
            );
        }
        script
    }

    /// The file replaced by a rename, or a file below `dest` when it is a directory.
    fn confined_to(&self, out: &Section) -> Option<Vec<String>> {
        path_state::confinement(out, &self.dest)
    }
}

/// Whether an `owner:`/`group:` parameter (a name or a number) names the current one.
fn same_account(wanted: &str, name: Option<&str>, id: Option<u32>) -> bool {
    match wanted.parse::<u32>() {
        Ok(number) => id == Some(number),
        Err(_) => name == Some(wanted),
    }
}

/// Builds the resource from the parameters `copy` and `template` share.
pub fn from_args(args: &Args, content: Vec<u8>, source_name: Option<&str>) -> Result<FileContent> {
    let mut dest = args.required_str("dest")?;
    if dest.ends_with('/') {
        let name = source_name
            .and_then(|s| s.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!("`dest` {dest} is a directory but there is no `src` to name the file")
            })?;
        dest.push_str(name);
    }
    let validate = match args.str("validate")? {
        None => None,
        Some(command) => {
            if !command.contains("%s") {
                bail!("`validate` must contain %s, which stands for the file to check");
            }
            Some(crate::shell::split(&command, false).context("cannot split `validate`")?)
        }
    };
    Ok(FileContent {
        dest,
        content,
        mode: args.value("mode"),
        owner: args.str("owner")?,
        group: args.str("group")?,
        force: args.bool("force")?.unwrap_or(true),
        backup: args.flag("backup")?,
        validate,
    })
}

/// A unified diff of two contents, or a note when either is not text.
pub fn content_diff(before: &[u8], after: &[u8], path: &str) -> String {
    match (std::str::from_utf8(before), std::str::from_utf8(after)) {
        (Ok(b), Ok(a)) if !b.contains('\0') && !a.contains('\0') => unified_diff(b, a, path),
        _ => format!(
            "binary content differs ({} → {} bytes)",
            before.len(),
            after.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::Step;
    use serde_json::json;

    fn wanted(content: &str) -> FileContent {
        FileContent {
            dest: "/etc/app.conf".into(),
            content: content.as_bytes().to_vec(),
            mode: Some(json!("0640")),
            owner: Some("root".into()),
            group: None,
            force: true,
            backup: false,
            validate: None,
        }
    }

    fn section(text: &str) -> Section {
        Section {
            output: text.as_bytes().to_vec(),
            status: 0,
        }
    }

    #[test]
    fn a_missing_file_is_created_with_its_whole_content() {
        let (diff, script) = wanted("a\n").plan(&section("kind=absent\n")).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(diff.content.unwrap().contains("+a"));
        assert!(script.as_str().contains("deploy_write"));
    }

    #[test]
    fn a_converged_file_has_an_empty_diff_and_no_script() {
        let file = wanted("a\n");
        let probe = format!(
            "kind=file\nmode=640\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=2\nsha256={}\n",
            file.sha256()
        );
        let (diff, script) = file.plan(&section(&probe)).unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
    }

    #[test]
    fn content_and_mode_changes_are_shown() {
        let probe =
            "kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=2\nsha256=00\ncontent=Ygo=\n";
        let (diff, _) = wanted("a\n").plan(&section(probe)).unwrap();
        assert_eq!(diff.action, Action::Change);
        assert_eq!(diff.attributes[0].describe(), "mode 0644 → 0640");
        let content = diff.content.unwrap();
        assert!(content.contains("-b\n+a\n"), "{content}");
    }

    #[test]
    fn a_directory_in_the_way_is_an_error() {
        let probe = "kind=directory\nmode=755\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=4096\n";
        let err = wanted("a\n").plan(&section(probe)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/app.conf is a directory on the host, not a file"
        );
    }

    #[test]
    fn force_no_leaves_existing_content() {
        let mut file = wanted("a\n");
        file.force = false;
        let probe =
            "kind=file\nmode=640\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=2\nsha256=00\ncontent=Ygo=\n";
        assert!(file.plan(&section(probe)).unwrap().0.is_converged());
    }

    #[test]
    fn plan_then_apply_converges_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app.conf");
        std::fs::write(&dest, "old\n").unwrap();
        let mut file = wanted("new $(touch pwned) 'quoted'\n");
        file.dest = dest.to_str().unwrap().to_string();
        file.owner = None;
        let run = |script: &Script| {
            let text = format!("{}\n{}", crate::apply::PRELUDE, script.as_str());
            std::process::Command::new("sh")
                .arg("-c")
                .arg(text)
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        let probe = run(&Step::probe(&file));
        let (diff, script) = file
            .plan(&section(std::str::from_utf8(&probe.stdout).unwrap()))
            .unwrap();
        assert_eq!(diff.action, Action::Change);
        let applied = run(&script);
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "new $(touch pwned) 'quoted'\n"
        );
        assert!(!dir.path().join("pwned").exists());
        let probe = run(&Step::probe(&file));
        let (diff, _) = file
            .plan(&section(std::str::from_utf8(&probe.stdout).unwrap()))
            .unwrap();
        assert!(diff.is_converged(), "{diff:?}");
    }
}
