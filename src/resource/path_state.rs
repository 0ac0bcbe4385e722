//! What a path is on the host, shared by `file`, `copy` and `template`.
//!
//! One probe snippet reports a path's kind, mode, ownership, size and digest. When the engine
//! already knows the content it wants (a rendered template), it passes that digest in, and the
//! snippet sends the current content back only when it differs: a converged file costs a hash
//! on the host, never a transfer, while a changed one brings what the plan's diff needs.

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde_json::Value;

use crate::probe::Section;
use crate::resource::lifecycle::{key_values, value_of};
use crate::shell::Script;

/// Largest current content brought back for a diff; beyond it the plan says "binary or large".
pub const DIFF_LIMIT: u64 = 256 * 1024;

/// What kind of thing a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Absent,
    File,
    Directory,
    Link,
    Other,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Absent => "absent",
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Link => "link",
            Kind::Other => "special file",
        }
    }
}

/// A path's state as the probe saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathState {
    pub kind: Kind,
    /// Four octal digits, `0644`.
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// A link's target.
    pub link: Option<String>,
    /// The current content, when it differs from the wanted one and is small enough.
    pub content: Option<Vec<u8>>,
}

/// Adds the snippet reporting `path` (`desired_sha256`: send content back only if it differs).
pub fn probe(script: &mut Script, path: &str, desired_sha256: Option<&str>) {
    probe_metadata(script, path);
    digest_probe(script, desired_sha256);
}

/// Adds the part of [`probe`] that does not read the file: a file's access time stays as it
/// was (`file` with `access_time`).
pub fn probe_metadata(script: &mut Script, path: &str) {
    script.line("p={}", &[path]);
    script.raw(
        r#"if [ -L "$p" ]; then echo kind=link; printf 'link=%s\n' "$(readlink -- "$p" | base64 -w0)"
elif [ -d "$p" ]; then echo kind=directory
elif [ -f "$p" ]; then echo kind=file
elif [ -e "$p" ]; then echo kind=other
else echo kind=absent; fi
if [ -e "$p" ] || [ -L "$p" ]; then stat -c 'mode=%a
uid=%u
gid=%g
owner=%U
group=%G
size=%s
inode=%d:%i' -- "$p"; fi"#,
    );
}

fn digest_probe(script: &mut Script, desired_sha256: Option<&str>) {
    match desired_sha256 {
        Some(sha) => {
            script.line("want={}", &[sha]);
            script.line(
                r#"if [ -f "$p" ] && [ ! -L "$p" ]; then have=$(sha256sum < "$p"); have=${have%% *}; echo "sha256=$have"
  if [ "$have" != "$want" ] && [ "$(stat -c %s -- "$p")" -le {} ]; then printf 'content=%s\n' "$(base64 -w0 -- "$p")"; fi
fi"#,
                &[&DIFF_LIMIT.to_string()],
            );
        }
        None => {
            script.raw(
                r#"if [ -f "$p" ] && [ ! -L "$p" ]; then h=$(sha256sum < "$p"); echo "sha256=${h%% *}"; fi"#,
            );
        }
    }
}

/// The confinement (see `Resource::confined_to`) of a step that writes only `path`, from what
/// [`probe`] printed: none when `path` is a link now, or not a plain absolute path.
pub fn confinement(out: &Section, path: &str) -> Option<Vec<String>> {
    if inspect(out).ok()?.kind == Kind::Link {
        return None;
    }
    Some(vec![super::lifecycle::plain_path(path)?])
}

/// Reads what [`probe`] printed.
pub fn inspect(out: &Section) -> Result<PathState> {
    let pairs = key_values(out)?;
    let kind = match value_of(&pairs, "kind") {
        Some("absent") => Kind::Absent,
        Some("file") => Kind::File,
        Some("directory") => Kind::Directory,
        Some("link") => Kind::Link,
        Some("other") => Kind::Other,
        other => bail!("probe: unknown path kind {other:?}"),
    };
    let decode = |key: &str| -> Result<Option<Vec<u8>>> {
        value_of(&pairs, key)
            .map(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .with_context(|| format!("probe: bad base64 in {key}"))
            })
            .transpose()
    };
    let link = decode("link")?
        .map(|bytes| String::from_utf8(bytes).context("probe: link target is not UTF-8"))
        .transpose()?
        .map(|t| t.trim_end_matches('\n').to_string());
    let number = |key: &str| -> Result<Option<u64>> {
        value_of(&pairs, key)
            .map(|v| {
                v.parse::<u64>()
                    .with_context(|| format!("probe: bad {key} {v:?}"))
            })
            .transpose()
    };
    let mode = value_of(&pairs, "mode")
        .map(|m| {
            u32::from_str_radix(m, 8)
                .map(format_mode)
                .with_context(|| format!("probe: bad mode {m:?}"))
        })
        .transpose()?;
    let state = PathState {
        kind,
        mode,
        owner: value_of(&pairs, "owner").map(str::to_string),
        group: value_of(&pairs, "group").map(str::to_string),
        uid: number("uid")?.map(|n| n as u32),
        gid: number("gid")?.map(|n| n as u32),
        size: number("size")?,
        sha256: value_of(&pairs, "sha256").map(str::to_string),
        link,
        content: decode("content")?,
    };
    if state.kind != Kind::Absent && state.mode.is_none() {
        bail!("probe: no mode reported for an existing path");
    }
    Ok(state)
}

/// `0o644` → `"0644"`.
pub fn format_mode(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// The mode a `mode:` parameter asks for, given the current one (symbolic modes are relative).
///
/// As in Ansible: an integer is the mode itself (YAML `0644` is 420, that is `0o644`); a string
/// of octal digits is octal; anything else is a symbolic mode like `u=rw,g=r,o=`.
pub fn resolve_mode(wanted: &Value, current: Option<u32>, is_directory: bool) -> Result<u32> {
    match wanted {
        Value::Number(n) => {
            let n = n.as_u64().context("a mode must be a non-negative integer")?;
            if n > 0o7777 {
                bail!("mode {n} is out of range");
            }
            Ok(n as u32)
        }
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
            let n = u32::from_str_radix(s, 8).with_context(|| format!("bad mode {s:?}"))?;
            if n > 0o7777 {
                bail!("mode {s} is out of range");
            }
            Ok(n)
        }
        Value::String(s) => symbolic_mode(s, current.unwrap_or(0), is_directory),
        other => bail!("a mode is an octal string or a symbolic mode, not {other}"),
    }
}

/// Applies a symbolic mode (`u+rwx,g-w,o=`) to `current`, as chmod does.
fn symbolic_mode(spec: &str, current: u32, is_directory: bool) -> Result<u32> {
    let mut mode = current & 0o7777;
    for clause in spec.split(',') {
        let who_end = clause
            .find(['+', '-', '='])
            .with_context(|| format!("bad symbolic mode {spec:?}: `{clause}` has no operator (+, - or =)"))?;
        let (who, mut actions) = clause.split_at(who_end);
        let mut mask = 0u32;
        for w in who.chars() {
            mask |= match w {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => bail!("bad symbolic mode {spec:?}: unknown class `{w}`"),
            };
        }
        if who.is_empty() {
            mask = 0o7777;
        }
        while !actions.is_empty() {
            let op = actions.chars().next().expect("actions is not empty");
            let rest = &actions[1..];
            let perms_end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let perms = &rest[..perms_end];
            actions = &rest[perms_end..];
            let mut bits = 0u32;
            for p in perms.chars() {
                bits |= match p {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_directory || mode & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => bail!("bad symbolic mode {spec:?}: unknown permission `{p}`"),
                };
            }
            let bits = bits & mask;
            match op {
                '+' => mode |= bits,
                '-' => mode &= !bits,
                '=' => mode = (mode & !(mask & 0o777 | mask & 0o7000)) | bits,
                _ => unreachable!("operators are found by the search above"),
            }
        }
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn section(text: &str) -> Section {
        Section {
            output: text.as_bytes().to_vec(),
            status: 0,
        }
    }

    #[test]
    fn inspects_a_file_whose_content_differs() {
        let state = inspect(&section(
            "kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=4\nsha256=abc\ncontent=b2xkCg==\n",
        ))
        .unwrap();
        assert_eq!(state.kind, Kind::File);
        assert_eq!(state.mode.as_deref(), Some("0644"));
        assert_eq!(state.owner.as_deref(), Some("root"));
        assert_eq!(state.content.as_deref(), Some(&b"old\n"[..]));
    }

    #[test]
    fn inspects_absent_and_links() {
        assert_eq!(inspect(&section("kind=absent\n")).unwrap().kind, Kind::Absent);
        let link = inspect(&section(
            "kind=link\nlink=L2V0Yy9mb28K\nmode=777\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=8\n",
        ))
        .unwrap();
        assert_eq!(link.link.as_deref(), Some("/etc/foo"));
    }

    #[test]
    fn refuses_lies() {
        assert!(inspect(&section("kind=weird\n")).is_err());
        assert!(
            inspect(&section("kind=file\n")).is_err(),
            "an existing path without a mode"
        );
        assert!(inspect(&section("kind=file\nmode=99z\n")).is_err());
    }

    #[test]
    fn resolves_modes_as_ansible_does() {
        assert_eq!(resolve_mode(&json!(420), None, false).unwrap(), 0o644);
        assert_eq!(resolve_mode(&json!("0644"), None, false).unwrap(), 0o644);
        assert_eq!(resolve_mode(&json!("644"), None, false).unwrap(), 0o644);
        assert_eq!(
            resolve_mode(&json!("u=rw,g=r,o="), Some(0o777), false).unwrap(),
            0o640
        );
        assert_eq!(resolve_mode(&json!("g+w"), Some(0o644), false).unwrap(), 0o664);
        assert_eq!(resolve_mode(&json!("a+X"), Some(0o644), true).unwrap(), 0o755);
        assert_eq!(resolve_mode(&json!("a+X"), Some(0o644), false).unwrap(), 0o644);
        assert_eq!(resolve_mode(&json!("u+s"), Some(0o755), false).unwrap(), 0o4755);
        assert_eq!(resolve_mode(&json!("o-rwx"), Some(0o755), false).unwrap(), 0o750);
        assert!(resolve_mode(&json!("z+r"), None, false).is_err());
        assert!(resolve_mode(&json!("0999"), None, false).is_err());
    }

    #[test]
    fn the_probe_runs_here() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "old\n").unwrap();
        let mut script = Script::new();
        probe(&mut script, file.to_str().unwrap(), Some("0000"));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .output()
            .unwrap();
        let state = inspect(&section(std::str::from_utf8(&out.stdout).unwrap())).unwrap();
        assert_eq!(state.kind, Kind::File);
        assert_eq!(state.content.as_deref(), Some(&b"old\n"[..]));
        assert_eq!(state.size, Some(4));
        let mut script = Script::new();
        probe(&mut script, dir.path().join("missing").to_str().unwrap(), None);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .output()
            .unwrap();
        assert_eq!(
            inspect(&section(std::str::from_utf8(&out.stdout).unwrap()))
                .unwrap()
                .kind,
            Kind::Absent
        );
    }
}
