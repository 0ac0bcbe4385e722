//! What the key-writing modules share (`openssh_keypair`, `openssl_privatekey`,
//! `openssl_dhparam`): a file's kind and attributes in the probe, Ansible's `mode`, `owner`
//! and `group` compared and set, and a generated file moved into place.
//!
//! Keys are generated on the host by its own tool into a temporary file beside the
//! destination (so the move is a rename), with the replaced file's mode and ownership, or the
//! mode Ansible gives a new one; the key material never leaves the host.

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::file::{id_or_name, same_account};
use super::lifecycle::{value_of, Args};
use super::path_state::{format_mode, resolve_mode};
use crate::plan::AttributeChange;
use crate::shell::Script;

/// A file as the probe saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileInfo {
    pub exists: bool,
    pub is_directory: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Adds lines printing `PREFIXkind=` and, for an existing path, its mode and ownership.
pub fn probe_file(script: &mut Script, path: &str, prefix: &str) {
    script.line("k={}; f={}", &[prefix, path]);
    script.raw(
        r#"if [ -d "$f" ]; then echo "${k}kind=directory"; elif [ -e "$f" ]; then echo "${k}kind=file"; else echo "${k}kind=absent"; fi
if [ -e "$f" ]; then stat -c "${k}mode=%a
${k}uid=%u
${k}gid=%g
${k}owner=%U
${k}group=%G" -- "$f"; fi"#,
    );
}

/// Reads what [`probe_file`] printed under `prefix`.
pub fn inspect_file(pairs: &[(String, String)], prefix: &str) -> Result<FileInfo> {
    let get = |key: &str| value_of(pairs, &format!("{prefix}{key}"));
    let number = |key: &str, radix: u32| -> Result<Option<u32>> {
        get(key)
            .map(|v| u32::from_str_radix(v, radix).with_context(|| format!("probe: bad {prefix}{key} {v:?}")))
            .transpose()
    };
    let kind = get("kind").with_context(|| format!("probe: no {prefix}kind"))?;
    if !["file", "directory", "absent"].contains(&kind) {
        bail!("probe: unknown {prefix}kind {kind:?}");
    }
    Ok(FileInfo {
        exists: kind != "absent",
        is_directory: kind == "directory",
        mode: number("mode", 8)?,
        uid: number("uid", 10)?,
        gid: number("gid", 10)?,
        owner: get("owner").map(str::to_string),
        group: get("group").map(str::to_string),
    })
}

/// Ansible's file attributes (`mode`, `owner`, `group`) as a module asks for them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes {
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attributes {
    /// Reads `mode`, `owner` and `group`; `default_mode` applies when `mode` is not given
    /// (`openssl_privatekey` gives its keys `0600`). `attributes`/`selinux` options are refused.
    pub fn from_args(args: &Args, default_mode: Option<&str>) -> Result<Attributes> {
        args.refuse(&["attributes", "seuser", "serole", "setype", "selevel"])?;
        let mode = match args.value("mode") {
            Some(Value::String(s)) if s.is_empty() => None,
            Some(value) => Some(value),
            None => default_mode.map(Value::from),
        };
        if let Some(mode) = &mode {
            resolve_mode(mode, Some(0), false).context("parameter `mode`")?;
        }
        let nonempty = |key: &str| -> Result<Option<String>> { Ok(args.str(key)?.filter(|v| !v.is_empty())) };
        Ok(Attributes {
            mode,
            owner: nonempty("owner")?,
            group: nonempty("group")?,
        })
    }

    /// The mode wanted for a file whose mode is `current` now.
    fn wanted_mode(&self, current: Option<u32>) -> Option<u32> {
        self.mode
            .as_ref()
            .and_then(|m| resolve_mode(m, current, false).ok())
    }

    /// What differs on an existing file; `label` names it in the plan (`"public key "`).
    pub fn changes(&self, info: &FileInfo, label: &str) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        if let (Some(wanted), Some(current)) = (self.wanted_mode(info.mode), info.mode) {
            if wanted != current & 0o7777 {
                changes.push(AttributeChange::new(
                    &format!("{label}mode"),
                    Some(format_mode(current)),
                    Some(format_mode(wanted)),
                ));
            }
        }
        for (name, wanted, current_name, current_id) in [
            ("owner", &self.owner, &info.owner, info.uid),
            ("group", &self.group, &info.group, info.gid),
        ] {
            if let Some(wanted) = wanted {
                if !same_account(wanted, current_name.as_deref(), current_id) {
                    changes.push(AttributeChange::new(
                        &format!("{label}{name}"),
                        current_name.clone(),
                        Some(wanted.clone()),
                    ));
                }
            }
        }
        changes
    }

    /// Lines setting the attributes on `path` where they differ, each re-checked on the host.
    /// `current_mode` is the mode a symbolic `mode` is relative to.
    pub fn apply(&self, script: &mut Script, path: &str, current_mode: Option<u32>) {
        script.line("t={}", &[path]);
        if let Some(mode) = self.wanted_mode(current_mode) {
            let octal = format!("{mode:o}");
            script.line(
                r#"[ "$(stat -c %a -- "$t")" = {} ] || { chmod {} "$t" && deploy_changed; } || exit 1"#,
                &[&octal, &format_mode(mode)],
            );
        }
        if let Some(owner) = &self.owner {
            script.line(
                r#"[ "$(stat -c {} -- "$t")" = {} ] || { chown -- {} "$t" && deploy_changed; } || exit 1"#,
                &[id_or_name(owner, "%u", "%U"), owner, owner],
            );
        }
        if let Some(group) = &self.group {
            script.line(
                r#"[ "$(stat -c {} -- "$t")" = {} ] || { chgrp -- {} "$t" && deploy_changed; } || exit 1"#,
                &[id_or_name(group, "%g", "%G"), group, group],
            );
        }
    }
}

/// Starts a generation: `$tmp` is a fresh directory beside `path` (same file system, so the
/// final move is a rename), removed when the step ends.
pub fn start_generation(script: &mut Script, path: &str) {
    script.line("dest={}", &[path]);
    script.raw(
        r#"case $dest in */*) dir=${dest%/*}; dir=${dir:-/};; *) dir=.;; esac
[ -d "$dir" ] || { printf 'The directory %s does not exist or the file is not a directory\n' "$dir" >&2; exit 1; }
tmp=$(mktemp -d "$dir/.deploy-key.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT"#,
    );
}

/// Moves the generated `$tmp/NAME` onto `path` as Ansible's atomic move does: a replaced
/// file's mode and ownership carry over, a new one gets `new_mode`.
pub fn move_into_place(script: &mut Script, name: &str, path: &str, new_mode: &str) {
    script.line("src=\"$tmp\"/{}; t={}", &[name, path]);
    script.line(
        r#"if [ -e "$t" ]; then chmod --reference="$t" "$src" && chown --reference="$t" "$src"; else chmod {} "$src"; fi || exit 1"#,
        &[new_mode],
    );
    script.raw(r#"mv -f -- "$src" "$t" || exit 1"#);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn attributes_compare_as_ansible_sets_them() {
        let info = inspect_file(
            &pairs("pub_kind=file\npub_mode=644\npub_uid=0\npub_gid=0\npub_owner=root\npub_group=root\n"),
            "pub_",
        )
        .unwrap();
        assert!(info.exists && !info.is_directory);
        let wanted = Attributes {
            mode: Some(Value::from("0600")),
            owner: Some("0".into()),
            group: Some("ssh".into()),
        };
        let shown: Vec<String> = wanted
            .changes(&info, "public key ")
            .iter()
            .map(|c| c.describe())
            .collect();
        assert_eq!(
            shown,
            ["public key mode 0644 → 0600", "public key group root → ssh"]
        );
        let symbolic = Attributes {
            mode: Some(Value::from("u=rw,go=r")),
            ..Attributes::default()
        };
        assert!(symbolic.changes(&info, "").is_empty());
        assert!(inspect_file(&pairs("kind=fifo\n"), "").is_err());
        assert!(!inspect_file(&pairs("kind=absent\n"), "").unwrap().exists);
    }
}
