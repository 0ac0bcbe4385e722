//! A file whose new content is computed from its current content: `lineinfile`,
//! `blockinfile`, the file half of `sysctl`.
//!
//! Ansible's editing modules run Python on the host; `deploy` instead brings the file's
//! content back in the probe, computes the new content locally with the same algorithm, and
//! converges it as [`FileContent`] does (atomic, validated write; attributes). Because the
//! new content depends on what the probe saw, the apply script first checks that the host file
//! still holds exactly that: an edit made by someone else in between fails the step ("changed
//! since the plan") instead of being overwritten.

use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::Value;

use crate::digest::sha256_hex;
use crate::plan::Diff;
use crate::probe::Section;
use crate::resource::content::FileContent;
use crate::resource::lifecycle::{key_values, value_of, Args, Resource};
use crate::resource::path_state::{self, Kind, PathState};
use crate::shell::Script;

/// How a module turns a file's current content into the wanted one.
pub trait TextEdit: Send + Sync + std::fmt::Debug {
    /// The wanted content given the current one (`None`: the file is missing), or `None` to
    /// leave the file as it is (and missing if it is). Errors are the module's own failures
    /// ("does not exist", a bad replacement template).
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>>;
}

/// A file edited in place by `edit`, with the attributes the task asks for.
#[derive(Debug)]
pub struct EditedFile<E> {
    /// The path as the task names it; a symlink is followed, as Ansible does.
    pub path: String,
    pub edit: E,
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub backup: bool,
    /// The `validate:` command split into words, `%s` standing for the new file.
    pub validate: Option<Vec<String>>,
}

/// What the probe found, and what the edit makes of it.
#[derive(Debug)]
pub struct EditState {
    /// The path with symlinks resolved: the file that is read and written.
    pub real_path: String,
    pub path: PathState,
    pub content: Option<Vec<u8>>,
    /// What the file should hold; `None` leaves it as it is.
    pub wanted: Option<Vec<u8>>,
}

impl<E: TextEdit> EditedFile<E> {
    /// Builds from the parameters the editing modules share (`path`, `mode`, `owner`,
    /// `group`, `backup`, `validate`).
    pub fn from_args(args: &Args, edit: E) -> Result<EditedFile<E>> {
        Ok(EditedFile {
            path: args.required_str("path")?,
            edit,
            mode: args.value("mode"),
            owner: args.str("owner")?,
            group: args.str("group")?,
            backup: args.flag("backup")?,
            validate: validate_words(args)?,
        })
    }

    fn file_content(&self, state: &EditState, content: Vec<u8>) -> FileContent {
        FileContent {
            dest: state.real_path.clone(),
            content,
            mode: self.mode.clone(),
            owner: self.owner.clone(),
            group: self.group.clone(),
            force: true,
            backup: self.backup,
            validate: self.validate.clone(),
        }
    }

    /// The file as it should be, or `None` when it stays missing.
    fn wanted_file(&self, state: &EditState) -> Option<FileContent> {
        match (&state.wanted, &state.content) {
            (Some(wanted), _) => Some(self.file_content(state, wanted.clone())),
            (None, Some(current)) => Some(self.file_content(state, current.clone())),
            (None, None) => None,
        }
    }
}

/// The `validate:` parameter split into words.
pub fn validate_words(args: &Args) -> Result<Option<Vec<String>>> {
    match args.str("validate")? {
        None => Ok(None),
        Some(command) => {
            if !command.contains("%s") {
                anyhow::bail!("`validate` must contain %s, which stands for the file to check");
            }
            Ok(Some(
                crate::shell::split(&command, false).context("cannot split `validate`")?,
            ))
        }
    }
}

/// Adds the snippet reporting the file at `path` (symlinks followed) with its whole content.
pub fn probe_with_content(script: &mut Script, path: &str) {
    script.line("p={}", &[path]);
    probe_content_of_p(script);
}

/// [`probe_with_content`] for a path the probe works out itself (a home directory), held in
/// `$p`.
pub fn probe_content_of_p(script: &mut Script) {
    script.raw(
        r#"r=$(readlink -m -- "$p") || exit 1
if [ "$r" = "$p" ]; then echo real_is_path=yes; else printf 'real=%s\n' "$(printf '%s' "$r" | base64 -w0)"; fi
p=$r
if [ -L "$p" ]; then echo kind=link
elif [ -d "$p" ]; then echo kind=directory
elif [ -f "$p" ]; then echo kind=file
elif [ -e "$p" ]; then echo kind=other
else echo kind=absent; fi
if [ -e "$p" ]; then stat -c 'mode=%a
uid=%u
gid=%g
owner=%U
group=%G
size=%s' -- "$p" || exit 1; fi
if [ -f "$p" ]; then c=$(base64 -w0 -- "$p") || exit 1; printf 'content=%s\n' "$c"; fi"#,
    );
}

/// Reads what [`probe_with_content`] printed: the real path, its state and its content.
pub fn inspect_with_content(out: &Section, path: &str) -> Result<(String, PathState, Option<Vec<u8>>)> {
    if out.status != 0 {
        anyhow::bail!(
            "probing {path} failed (exit {}): {}",
            out.status,
            String::from_utf8_lossy(&out.output).trim()
        );
    }
    let pairs = key_values(out)?;
    // The probe spares itself an exec when no link or `..` was resolved.
    let real = if value_of(&pairs, "real_is_path") == Some("yes") {
        path.to_string()
    } else {
        let real = value_of(&pairs, "real").context("probe: no real path reported")?;
        let real = base64::engine::general_purpose::STANDARD
            .decode(real)
            .context("probe: bad base64 in real")?;
        String::from_utf8(real).context("probe: the real path is not UTF-8")?
    };
    let mut state = path_state::inspect(out)?;
    match state.kind {
        Kind::Absent => Ok((real, state, None)),
        Kind::File => {
            // Kept in the path state too: the content diff shows it as the "before". Its
            // hash is taken here rather than by one more exec on the host; apply compares it
            // with the file's hash then, to refuse a file changed since the probe.
            let content = state.content.clone().context("probe: no content reported")?;
            state.sha256 = Some(sha256_hex(&content));
            Ok((real, state, Some(content)))
        }
        Kind::Directory => anyhow::bail!("Path {path} is a directory !"),
        other => anyhow::bail!("{path} is a {} on the host, not a file", other.name()),
    }
}

impl<E: TextEdit> Resource for EditedFile<E> {
    type State = EditState;

    fn target(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        probe_with_content(&mut script, &self.path);
        script
    }

    fn inspect(&self, out: &Section) -> Result<EditState> {
        let (real_path, path, content) = inspect_with_content(out, &self.path)?;
        let wanted = self
            .edit
            .edit(content.as_deref())
            .with_context(|| self.path.clone())?;
        let state = EditState {
            real_path,
            path,
            content,
            wanted,
        };
        if let Some(mode) = &self.mode {
            // Checked here because a diff cannot fail: a bad symbolic mode is the user's error.
            let current = state
                .path
                .mode
                .as_deref()
                .and_then(|m| u32::from_str_radix(m, 8).ok());
            path_state::resolve_mode(mode, current, false)?;
        }
        Ok(state)
    }

    fn diff(&self, have: &EditState) -> Diff {
        match self.wanted_file(have) {
            Some(file) => file.diff(&have.path),
            None => Diff::converged(),
        }
    }

    fn apply(&self, have: &EditState, diff: &Diff) -> Script {
        let mut script = Script::new();
        let Some(file) = self.wanted_file(have) else {
            return script;
        };
        if diff.content.is_some() {
            guard_unchanged(
                &mut script,
                &have.real_path,
                have.path.sha256.as_deref(),
                &file.content,
            );
            if have.content.is_none() {
                // Ansible creates the missing parent directories of a created file.
                script.raw(r#"[ -d "$(dirname -- "$p")" ] || mkdir -p -- "$(dirname -- "$p")" || exit 1"#);
            }
        }
        script.append(&file.apply(&have.path, diff));
        script
    }
}

/// Refuses to go on when the file at `path` (into `$p`) holds neither what the probe saw
/// (`seen`, its sha256, `None` when absent) nor already `want`: the new content was computed
/// from what the probe saw, and someone else's edit in between must not be overwritten.
pub fn guard_unchanged(script: &mut Script, path: &str, seen: Option<&str>, want: &[u8]) {
    script.line("p={}", &[path]);
    script.line("seen={}", &[seen.unwrap_or("absent")]);
    script.line("want={}", &[&sha256_hex(want)]);
    script.raw(
        r#"if [ -f "$p" ]; then cur=$(sha256sum < "$p" | cut -c1-64); elif [ -e "$p" ]; then cur=other; else cur=absent; fi
if [ "$cur" != "$seen" ] && [ "$cur" != "$want" ]; then printf '%s changed since the plan; not overwriting it\n' "$p" >&2; exit 1; fi"#,
    );
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at `\n`, `\r\n` or `\r`.
pub fn split_lines_universal(text: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\n' => {
                lines.push(text[start..=i].to_vec());
                start = i + 1;
            }
            b'\r' => {
                let end = if text.get(i + 1) == Some(&b'\n') { i + 1 } else { i };
                lines.push(text[start..=end].to_vec());
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(text[start..].to_vec());
    }
    lines
}

/// Python's `readlines()` on a binary file: lines end at `\n` only.
pub fn split_lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Helpers for the unit tests of the modules built on this one and on plain files.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::Step;

    /// A task's parameters from a JSON object.
    pub fn values(json: Value) -> indexmap::IndexMap<String, Value> {
        match json {
            Value::Object(map) => map.into_iter().collect(),
            other => panic!("parameters are an object, not {other}"),
        }
    }

    pub fn section(text: &str) -> Section {
        Section {
            output: text.as_bytes().to_vec(),
            status: 0,
        }
    }

    /// What [`probe_with_content`] prints for a regular file holding `content` (or a missing
    /// one), owned by root, mode 0644.
    pub fn file_probe(path: &str, content: Option<&[u8]>) -> Section {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let text = match content {
            None => format!("real={}\nkind=absent\n", b64(path.as_bytes())),
            Some(content) => format!(
                "real_is_path=yes\nkind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize={}\ncontent={}\n",
                content.len(),
                b64(content)
            ),
        };
        section(&text)
    }

    /// Runs `script` (after the apply prelude) with local `sh`.
    pub fn run(script: &Script) -> std::process::Output {
        // The engine reads change records on fd 3; here they are dropped.
        let text = format!("exec 3>/dev/null\n{}\n{}", crate::apply::PRELUDE, script.as_str());
        std::process::Command::new("sh")
            .arg("-c")
            .arg(text)
            .output()
            .expect("sh runs")
    }

    /// Probes, plans and applies `step` on this machine, then checks that a second probe
    /// finds it converged. Returns the first diff.
    pub fn converge_here(step: &dyn Step) -> Diff {
        let probe = run(&step.probe());
        let (diff, script) = step
            .plan(&Section {
                output: probe.stdout,
                status: probe.status.code().unwrap_or(-1),
            })
            .expect("the first plan succeeds");
        let applied = run(&script);
        assert!(
            applied.status.success(),
            "apply failed: {}\n{}",
            String::from_utf8_lossy(&applied.stderr),
            script.as_str()
        );
        let probe = run(&step.probe());
        let (again, _) = step
            .plan(&Section {
                output: probe.stdout,
                status: probe.status.code().unwrap_or(-1),
            })
            .expect("the second plan succeeds");
        assert_eq!(again.action, Action::Converged, "second run: {again:?}");
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_as_python() {
        assert_eq!(
            split_lines_universal(b"a\nb\r\nc\rd"),
            vec![b"a\n".to_vec(), b"b\r\n".to_vec(), b"c\r".to_vec(), b"d".to_vec()]
        );
        assert!(split_lines_universal(b"").is_empty());
        assert_eq!(split_lines(b"a\r\nb"), vec![b"a\r\n".to_vec(), b"b".to_vec()]);
        assert!(split_lines(b"").is_empty());
    }
}
