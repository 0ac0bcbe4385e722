//! `authorized_key` (`ansible.posix.authorized_key`): SSH public keys in a user's
//! `authorized_keys` file.
//!
//! The probe reads the user's passwd entry (the default file is `~/.ssh/authorized_keys`) and
//! the file; the new content is computed here with the module's algorithm ([`edit_keys`]):
//! keys are matched by their base64 blob, a key whose options or comment differ is moved to
//! the end with the new ones, `exclusive` drops every other line, and a rewritten file has
//! each key re-serialized as `options type blob comment`. Only a change of content writes the
//! file (atomically, owned by the user, mode 0600), creating the directory with mode 0700 when
//! `manage_dir` is on, as the module does.
//!
//! Differences from Ansible: keys given as `http(s)://` or `file://` URLs are refused (give the
//! keys' text, e.g. with `lookup('file', ...)`); a symlinked key file is written through, as
//! with `follow: true`; `validate_certs` is ignored; the registered result holds only `changed`.

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use indexmap::IndexMap;

use super::content::FileContent;
use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::path_state::PathState;
use super::text_edit::{guard_unchanged, inspect_with_content, probe_content_of_p};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Adds or removes SSH authorized keys.
///
/// ```yaml
/// - authorized_key:
///     user: deploy
///     key: "{{ lookup('file', 'files/deploy.pub') }}"
///     key_options: no-port-forwarding
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "authorized_key",
    fqcn: "ansible.posix.authorized_key",
    params: &[
        P::new("user", Str).required(),
        P::new("key", Str).required(),
        P::new("path", Path),
        P::new("manage_dir", Bool).default(D::Bool(true)),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("key_options", Str),
        P::new("exclusive", Bool).default(D::Bool(false)),
        P::new("comment", Str),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("follow", Bool).default(D::Bool(false)),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let user = args.required_str("user")?;
    let key = args.required_str("key")?;
    if key.starts_with("http") || key.starts_with("file") {
        bail!("keys given by URL are not supported by deploy: give the keys' text (`lookup('file', ...)`)");
    }
    Ok(Box::new(AuthorizedKey {
        user,
        path: args.str("path")?,
        manage_dir: args.bool("manage_dir")?.unwrap_or(true),
        edit: KeysEdit::from_args(args, &key)?,
    }))
}

/// One parsed line of an `authorized_keys` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Key(Key),
    /// A comment or a line that holds no key, written back as it was.
    Skipped { line: String, rank: usize },
}

/// A key: its options, type, base64 blob and comment, and its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub blob: String,
    pub kind: String,
    /// In order; an option may repeat (`permitopen` twice).
    pub options: Vec<(String, Option<String>)>,
    pub comment: String,
    pub rank: usize,
}

impl Key {
    /// What the module compares (its tuple's first four items): options as a mapping from a
    /// name to its values in order.
    fn same_as(&self, other: &Key) -> bool {
        fn map(k: &Key) -> std::collections::BTreeMap<&str, Vec<&Option<String>>> {
            let mut map: std::collections::BTreeMap<&str, Vec<&Option<String>>> = Default::default();
            for (name, value) in &k.options {
                map.entry(name.as_str()).or_default().push(value);
            }
            map
        }
        self.blob == other.blob && self.kind == other.kind && self.comment == other.comment && map(self) == map(other)
    }

    fn line(&self) -> String {
        let mut options: String = self
            .options
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect::<Vec<_>>()
            .join(",");
        if !options.is_empty() {
            options.push(' ');
        }
        format!("{options}{} {} {}\n", self.kind, self.blob, self.comment)
    }
}

impl Entry {
    fn rank(&self) -> usize {
        match self {
            Entry::Key(k) => k.rank,
            Entry::Skipped { rank, .. } => *rank,
        }
    }
}

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// The module's `parseoptions`: options split on commas outside double or single quotes.
pub fn parse_options(options: Option<&str>) -> Vec<(String, Option<String>)> {
    let Some(options) = options else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in options.chars() {
        match (quote, c) {
            (None, ',') => parts.push(std::mem::take(&mut current)),
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (Some(q), _) if q == c => {
                quote = None;
                current.push(c);
            }
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (part, None),
        })
        .collect()
}

/// The module's `parsekey`: `None` for a line with no key type (kept as written).
pub fn parse_key(raw: &str, rank: usize) -> Option<Entry> {
    let raw = raw.replace("\\#", "#");
    // shlex with no quotes, no comments and whitespace splitting: plain words.
    let parts: Vec<&str> = raw.split([' ', '\t', '\r', '\n']).filter(|p| !p.is_empty()).collect();
    if parts.first() == Some(&"#") {
        return Some(Entry::Skipped { line: raw, rank });
    }
    let index = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let options = (index > 0).then(|| parts[..index].join(" "));
    let blob = parts.get(index + 1)?;
    Some(Entry::Key(Key {
        blob: (*blob).to_string(),
        kind: parts[index].to_string(),
        options: parse_options(options.as_deref()),
        comment: parts.get(index + 2..).unwrap_or_default().join(" "),
        rank,
    }))
}

/// The keys a task asks for, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysEdit {
    pub keys: Vec<Key>,
    pub present: bool,
    pub exclusive: bool,
}

impl KeysEdit {
    /// The keys of `key` (one a line), with `key_options` and `comment` applied.
    pub fn from_args(args: &Args, key: &str) -> Result<KeysEdit> {
        let present = args.str("state")?.as_deref() != Some("absent");
        let key_options = args.str("key_options")?;
        let comment = args.str("comment")?;
        let mut keys = Vec::new();
        for (rank, line) in key
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .enumerate()
        {
            let Some(Entry::Key(mut parsed)) = parse_key(line, rank) else {
                bail!("invalid key specified: {line}");
            };
            if let Some(options) = &key_options {
                parsed.options = parse_options(Some(options));
            }
            if let Some(comment) = &comment {
                parsed.comment.clone_from(comment);
            }
            keys.push(parsed);
        }
        Ok(KeysEdit {
            keys,
            present,
            exclusive: args.flag("exclusive")?,
        })
    }
}

/// The module's `enforce_state` on a file's content: the new content, or `None` when it does
/// not write.
pub fn edit_keys(edit: &KeysEdit, existing: &str) -> Option<String> {
    let mut entries: IndexMap<String, Entry> = IndexMap::new();
    for (rank, line) in existing.split_inclusive('\n').enumerate() {
        match parse_key(line, rank) {
            Some(Entry::Key(key)) => {
                entries.insert(key.blob.clone(), Entry::Key(key));
            }
            Some(skipped @ Entry::Skipped { .. }) => {
                entries.insert(line.replace("\\#", "#"), skipped);
            }
            None => {
                entries.insert(line.to_string(), Entry::Skipped { line: line.to_string(), rank });
            }
        }
    }
    let max_rank = entries.len();
    let mut write = false;
    let mut to_exist = Vec::new();
    for key in &edit.keys {
        let existing = match entries.get(&key.blob) {
            Some(Entry::Key(existing)) => Some(existing.clone()),
            _ => None,
        };
        let differs = existing.as_ref().is_some_and(|e| !e.same_as(key));
        let matched = entries.contains_key(&key.blob) && !(differs && edit.present);
        if edit.present {
            to_exist.push(key.blob.clone());
            if differs {
                entries.shift_remove(&key.blob);
                write = true;
            }
            if !matched {
                let mut new = key.clone();
                new.rank = max_rank + key.rank;
                entries.insert(key.blob.clone(), Entry::Key(new));
                write = true;
            }
        } else if matched {
            entries.shift_remove(&key.blob);
            write = true;
        }
    }
    if edit.present && edit.exclusive {
        let before = entries.len();
        entries.retain(|k, _| to_exist.contains(k));
        write |= entries.len() != before;
    }
    if !write {
        return None;
    }
    let mut ordered: Vec<&Entry> = entries.values().collect();
    ordered.sort_by_key(|e| e.rank());
    Some(
        ordered
            .into_iter()
            .map(|e| match e {
                Entry::Key(k) => k.line(),
                Entry::Skipped { line, .. } => line.clone(),
            })
            .collect(),
    )
}

/// A user's authorized keys.
#[derive(Debug)]
pub struct AuthorizedKey {
    pub user: String,
    pub path: Option<String>,
    pub manage_dir: bool,
    pub edit: KeysEdit,
}

/// What the probe found.
#[derive(Debug)]
pub struct KeysState {
    /// The key file the task names (before symlinks).
    pub keyfile: String,
    /// The file actually read and written.
    pub real_path: String,
    pub path: PathState,
    pub content: String,
    pub wanted: Option<String>,
    pub uid: String,
    pub gid: String,
    pub group: String,
}

impl AuthorizedKey {
    fn file(&self, have: &KeysState) -> Option<FileContent> {
        have.wanted.as_ref().map(|wanted| FileContent {
            dest: have.real_path.clone(),
            content: wanted.clone().into_bytes(),
            mode: Some(serde_json::Value::from("0600")),
            owner: Some(self.user.clone()),
            group: Some(have.group.clone()),
            force: true,
            backup: false,
            validate: None,
        })
    }
}

impl Resource for AuthorizedKey {
    type State = KeysState;

    fn target(&self) -> String {
        match &self.path {
            Some(path) => path.clone(),
            None => format!("~{}/.ssh/authorized_keys", self.user),
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line("u={}", &[&self.user]);
        script.raw(
            r#"if ! e=$(getent passwd -- "$u"); then echo passwd=absent; exit 0; fi
printf 'passwd=%s\n' "$e"
printf 'primary_group=%s\n' "$(id -gn -- "$u")""#,
        );
        match &self.path {
            Some(path) => script.line("p={}", &[path]),
            None => script.raw(r#"p="$(printf '%s' "$e" | cut -d: -f6)/.ssh/authorized_keys""#),
        };
        script.raw(r#"printf 'keyfile=%s\n' "$(printf '%s' "$p" | base64 -w0)""#);
        probe_content_of_p(&mut script);
        script
    }

    fn inspect(&self, out: &Section) -> Result<KeysState> {
        let pairs = key_values(out)?;
        let passwd = match value_of(&pairs, "passwd") {
            Some("absent") => bail!("Failed to lookup user {}: 'getpwnam(): name not found: {}'", self.user, self.user),
            Some(entry) => entry.to_string(),
            None => bail!("probe: no passwd line"),
        };
        let fields: Vec<&str> = passwd.split(':').collect();
        let (Some(uid), Some(gid)) = (fields.get(2), fields.get(3)) else {
            bail!("probe: bad passwd entry {passwd:?}");
        };
        let group = value_of(&pairs, "primary_group").unwrap_or(gid).to_string();
        let keyfile = value_of(&pairs, "keyfile").context("probe: no key file reported")?;
        let keyfile = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(keyfile)
                .context("probe: bad base64 in keyfile")?,
        )
        .context("probe: the key file's path is not UTF-8")?;
        let (real_path, path, content) = inspect_with_content(out, &keyfile)?;
        let content = String::from_utf8(content.unwrap_or_default())
            .with_context(|| format!("{keyfile} is not UTF-8 text"))?;
        let wanted = edit_keys(&self.edit, &content);
        Ok(KeysState {
            keyfile,
            real_path,
            path,
            content,
            wanted,
            uid: (*uid).to_string(),
            gid: (*gid).to_string(),
            group,
        })
    }

    fn diff(&self, have: &KeysState) -> Diff {
        match self.file(have) {
            Some(file) => file.diff(&have.path),
            None => Diff::converged(),
        }
    }

    fn apply(&self, have: &KeysState, diff: &Diff) -> Script {
        let mut script = Script::new();
        let Some(file) = self.file(have) else {
            return script;
        };
        guard_unchanged(&mut script, &have.real_path, have.path.sha256.as_deref(), &file.content);
        script.line("owner={}", &[&format!("{}:{}", have.uid, have.gid)]);
        if self.manage_dir {
            let dir = std::path::Path::new(&have.keyfile)
                .parent()
                .map_or_else(|| "/".to_string(), |d| d.to_string_lossy().into_owned());
            script.line("d={}", &[&dir]);
            script.raw(r#"[ -e "$d" ] || mkdir -m 0700 -- "$d" || exit 1
chown "$owner" "$d" && chmod 0700 "$d" || exit 1"#);
        }
        script.raw(r#"[ -d "$(dirname -- "$p")" ] || mkdir -p -- "$(dirname -- "$p")" || exit 1"#);
        script.append(&file.apply(&have.path, diff));
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop";
    const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob";

    fn edit(keys: &str, present: bool, exclusive: bool, existing: &str) -> Option<String> {
        let keys = keys
            .lines()
            .enumerate()
            .map(|(rank, line)| match parse_key(line, rank) {
                Some(Entry::Key(k)) => k,
                other => panic!("{other:?}"),
            })
            .collect();
        edit_keys(&KeysEdit { keys, present, exclusive }, existing)
    }

    #[test]
    fn parses_options_and_comments_as_the_module_does() {
        let Some(Entry::Key(key)) = parse_key(
            r#"no-pty,command="echo a,b",from="10.0.0.1" ssh-ed25519 AAAA one two"#,
            3,
        ) else {
            panic!()
        };
        assert_eq!(key.kind, "ssh-ed25519");
        assert_eq!(key.comment, "one two");
        assert_eq!(
            key.options,
            vec![
                ("no-pty".into(), None),
                ("command".into(), Some("\"echo a,b\"".into())),
                ("from".into(), Some("\"10.0.0.1\"".into())),
            ]
        );
        assert_eq!(parse_key("not a key", 0), None);
        assert!(matches!(parse_key("# ssh-rsa AAAA", 0), Some(Entry::Skipped { .. })));
    }

    #[test]
    fn edits_keys_as_the_module_does() {
        assert_eq!(edit(A, true, false, ""), Some(format!("{A}\n")));
        assert_eq!(edit(A, true, false, &format!("# keys\n{A}\n")), None);
        assert_eq!(
            edit("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", true, false, &format!("{A}\n{B}\n")),
            Some(format!("{B}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA \n")),
            "a key whose comment differs moves to the end; no comment leaves a trailing space"
        );
        assert_eq!(
            edit(A, true, true, &format!("# keys\n{B}\n{A}\n")),
            Some(format!("{A}\n")),
            "exclusive keeps only the given keys"
        );
        assert_eq!(edit(A, false, false, &format!("{A}\n{B}\n")), Some(format!("{B}\n")));
        assert_eq!(edit(A, false, false, &format!("{B}\n")), None);
    }

    fn probe(content: Option<&str>) -> Section {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let path = "/home/deploy/.ssh/authorized_keys";
        let mut text = format!(
            "passwd=deploy:x:1001:1001::/home/deploy:/bin/sh\nprimary_group=deploy\nkeyfile={}\n",
            b64(path)
        );
        text.push_str(&String::from_utf8(crate::resource::text_edit::testing::file_probe(path, content.map(str::as_bytes)).output).unwrap());
        section(&text)
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let step = build_step(&SPEC, json!({"user": "deploy", "key": format!("{A}\n{B}\n")}), &NoContext).unwrap();
        let both = format!("{A}\n{B}\n");
        assert!(step.plan(&probe(Some(&both))).unwrap().0.is_converged());
        let (diff, script) = step.plan(&probe(None)).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(diff.content.unwrap().contains(&format!("+{B}")));
        assert!(script.as_str().contains("mkdir -m 0700"));
        assert!(step.plan(&section("passwd=absent\n")).is_err());
        for key in ["https://github.com/x.keys", "garbage"] {
            assert!(build_step(&SPEC, json!({"user": "u", "key": key}), &NoContext).is_err());
        }
    }
}
