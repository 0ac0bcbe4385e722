//! `stat`: what a path is on the host, for the tasks after it (`when: not conf.stat.exists`).
//!
//! A query: it changes nothing, and answers from its probe, in the same round as every other
//! step of the stage, so a role full of `stat` checks costs no extra exec. The answer has
//! Ansible's names and types (`mode` as `"0644"`, `exists`, `isdir`, `checksum`, `pw_name`,
//! ...), read with coreutils' `stat` and `sha1sum` (or the digest asked for).

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{key_values, plain_path, value_of, Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Reads a path's metadata.
///
/// ```yaml
/// - stat:
///     path: /etc/nginx/nginx.conf
///   register: conf
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "stat",
    fqcn: "ansible.builtin.stat",
    params: &[
        P::new("path", Path).required().aliases(&["dest", "name"]),
        P::new("follow", Bool).default(D::Bool(false)),
        P::new("get_checksum", Bool).default(D::Bool(true)),
        P::new("checksum_algorithm", Str)
            .default(D::Str("sha1"))
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
            .aliases(&["checksum", "checksum_algo"]),
        // Accepted as Ansible has them; the answer leaves out MIME types and attributes.
        P::new("get_mime", Bool).default(D::Bool(true)).aliases(&["mime", "mime_type", "mime-type"]),
        P::new("get_attributes", Bool)
            .default(D::Bool(true))
            .aliases(&["attr", "attributes"]),
        P::new("get_selinux_context", Bool).default(D::Bool(false)),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let path = args.required_str("path")?;
    if path.is_empty() {
        bail!("`path` is empty");
    }
    Ok(Box::new(Stat {
        path,
        follow: args.flag("follow")?,
        checksum: if args.bool("get_checksum")?.unwrap_or(true) {
            Some(args.str("checksum_algorithm")?.unwrap_or_else(|| "sha1".into()))
        } else {
            None
        },
    }))
}

#[derive(Debug)]
pub struct Stat {
    pub path: String,
    pub follow: bool,
    /// The digest to compute for a regular file (`sha1`, ...), if any.
    pub checksum: Option<String>,
}

impl Resource for Stat {
    type State = Json;

    fn target(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        let follow = if self.follow { "-L" } else { "" };
        script.line("p={}; f={}", &[&self.path, follow]);
        // `[ -L ]` too: a dangling link exists for `lstat`.
        script.raw(r#"if [ -e "$p" ] || { [ -z "$f" ] && [ -L "$p" ]; }; then"#);
        script.raw("  echo exists=1");
        script.raw(r#"  stat $f -c 'mode=%a
uid=%u
gid=%g
pw_name=%U
gr_name=%G
size=%s
inode=%i
dev=%d
nlink=%h
atime=%X
mtime=%Y
ctime=%Z
type=%F' -- "$p" || exit 1"#);
        script.raw(r#"  if [ -L "$p" ]; then echo "lnk_target=$(readlink -- "$p")"; echo "lnk_source=$(readlink -f -- "$p")"; fi"#);
        script.raw(r#"  [ -r "$p" ] && echo readable=1; [ -w "$p" ] && echo writeable=1; [ -x "$p" ] && echo executable=1"#);
        if let Some(algorithm) = &self.checksum {
            let tool = format!("{algorithm}sum");
            script.line(
                r#"  if [ -f "$p" ] && [ -r "$p" ] && { [ -n "$f" ] || [ ! -L "$p" ]; }; then c=$({} -- "$p") || exit 1; echo "checksum=${c%% *}"; fi"#,
                &[&tool],
            );
        }
        script.raw("else echo exists=0; fi");
        script
    }

    fn inspect(&self, out: &Section) -> Result<Json> {
        let pairs = key_values(out)?;
        if value_of(&pairs, "exists") != Some("1") {
            return Ok(json!({"exists": false}));
        }
        let get = |key: &str| value_of(&pairs, key).with_context(|| format!("stat printed no {key}"));
        let number = |key: &str| -> Result<i64> {
            get(key)?
                .parse()
                .with_context(|| format!("stat printed a {key} that is not a number"))
        };
        let mode = i64::from_str_radix(get("mode")?, 8).context("stat printed a mode that is not octal")?;
        let mut stat = Map::new();
        stat.insert("exists".into(), json!(true));
        stat.insert("path".into(), json!(self.path));
        mode_fields(&mut stat, mode, get("type")?);
        for key in ["uid", "gid", "size", "inode", "dev", "nlink"] {
            stat.insert(key.into(), json!(number(key)?));
        }
        for key in ["atime", "mtime", "ctime"] {
            stat.insert(key.into(), json!(number(key)? as f64));
        }
        for key in ["pw_name", "gr_name"] {
            stat.insert(key.into(), json!(get(key)?));
        }
        for key in ["readable", "writeable", "executable"] {
            stat.insert(key.into(), json!(value_of(&pairs, key) == Some("1")));
        }
        for key in ["lnk_source", "lnk_target", "checksum"] {
            if let Some(value) = value_of(&pairs, key) {
                stat.insert(key.into(), json!(value));
            }
        }
        Ok(Json::Object(stat))
    }

    fn diff(&self, _have: &Json) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &Json, _diff: &Diff) -> Script {
        Script::new()
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        plain_path(&self.path).map(|p| vec![p])
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        Ok(Some(json!({"changed": false, "failed": false, "stat": self.inspect(out)?})))
    }
}

/// The fields of Ansible's answers (`stat`, `find`) read from a mode and the type `stat -c %F`
/// prints: `mode` as `"0644"`, `isdir`, `isreg`, ..., and the permission bits (`rusr`, ...).
pub fn mode_fields(stat: &mut Map<String, Json>, mode: i64, kind: &str) {
    let bit = |b: i64| mode & b != 0;
    stat.insert("mode".into(), json!(format!("{:04o}", mode & 0o7777)));
    for (name, is) in [
        ("isdir", kind == "directory"),
        ("isreg", kind.starts_with("regular")),
        ("islnk", kind == "symbolic link"),
        ("ischr", kind == "character special file"),
        ("isblk", kind == "block special file"),
        ("isfifo", kind == "fifo"),
        ("issock", kind == "socket"),
    ] {
        stat.insert(name.into(), json!(is));
    }
        for (name, mask) in [
            ("rusr", 0o400),
            ("wusr", 0o200),
            ("xusr", 0o100),
            ("rgrp", 0o040),
            ("wgrp", 0o020),
            ("xgrp", 0o010),
            ("roth", 0o004),
            ("woth", 0o002),
            ("xoth", 0o001),
            ("isuid", 0o4000),
            ("isgid", 0o2000),
        ] {
            stat.insert(name.into(), json!(bit(mask)));
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};

    #[test]
    fn answers_with_ansibles_names_and_types() {
        let step = build_step(&SPEC, json!({"path": "/etc/motd"}), &NoContext).unwrap();
        assert!(step.plan(&section("exists=0\n")).unwrap().0.is_converged());
        assert_eq!(
            step.result(&section("exists=0\n")).unwrap().unwrap(),
            json!({"changed": false, "failed": false, "stat": {"exists": false}})
        );
        let out = "exists=1\nmode=644\nuid=0\ngid=0\npw_name=root\ngr_name=root\nsize=12\ninode=7\ndev=2049\nnlink=1\natime=1700000000\nmtime=1700000001\nctime=1700000002\ntype=regular file\nreadable=1\nwriteable=1\nchecksum=0123abcd\n";
        let answer = step.result(&section(out)).unwrap().unwrap();
        let stat = &answer["stat"];
        assert_eq!(stat["mode"], json!("0644"));
        assert_eq!(stat["isreg"], json!(true));
        assert_eq!(stat["isdir"], json!(false));
        assert_eq!(stat["size"], json!(12));
        assert_eq!(stat["mtime"], json!(1700000001.0));
        assert_eq!(stat["roth"], json!(true));
        assert_eq!(stat["xusr"], json!(false));
        assert_eq!(stat["executable"], json!(false));
        assert_eq!(stat["checksum"], json!("0123abcd"));
        assert_eq!(stat["path"], json!("/etc/motd"));
        let link = "exists=1\nmode=777\nuid=0\ngid=0\npw_name=root\ngr_name=root\nsize=9\ninode=8\ndev=2049\nnlink=1\natime=1\nmtime=1\nctime=1\ntype=symbolic link\nlnk_target=/etc/x\nlnk_source=/etc/x\n";
        let stat = step.result(&section(link)).unwrap().unwrap()["stat"].clone();
        assert_eq!(stat["islnk"], json!(true));
        assert_eq!(stat["lnk_source"], json!("/etc/x"));
        assert!(stat.get("checksum").is_none());
        assert!(step.result(&section("exists=1\nmode=zz\n")).is_err());
    }

    #[test]
    fn the_probe_quotes_the_path_and_picks_the_digest() {
        let step = build_step(
            &SPEC,
            json!({"path": "/tmp/a b'c", "checksum_algorithm": "sha256", "follow": true}),
            &NoContext,
        )
        .unwrap();
        let probe = step.probe();
        assert!(probe.as_str().contains(r#"p='/tmp/a b'\''c'; f='-L'"#), "{}", probe.as_str());
        assert!(probe.as_str().contains("sha256sum"));
    }
}
