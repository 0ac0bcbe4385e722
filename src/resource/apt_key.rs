//! `apt_key`: an OpenPGP key in apt's keyring (`apt-key`), converged by key id.
//!
//! Like Ansible's module, the key id comes from `id`, else from the key itself (`file`, `data`
//! or `url`, read with `gpg --with-colons` in a throw-away GNUPGHOME), and the key counts as
//! present when `apt-key adv --list-public-keys` lists that id (the long id; the short one for
//! an 8-digit `id`). A `url` is read on the host: `file://` as a path, anything else through
//! apt's own downloader (`apt-helper download-file`), so apt's proxy settings apply. The key
//! is added from the same source, or fetched from `keyserver`, then checked again.
//!
//! Differences from Ansible: a `file://` URL is read (Ansible's download refuses it, having
//! no HTTP status); a host without `gpg` fails the step (Ansible reports success and does
//! nothing); `validate_certs: false` is refused; the registered result leaves out `after`.

use anyhow::{bail, Result};
use serde_json::json;

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::support::lines;
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Adds or removes an apt signing key.
///
/// ```yaml
/// - apt_key:
///     url: https://artifacts.elastic.co/GPG-KEY-elasticsearch
///     state: present
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_key",
    fqcn: "ansible.builtin.apt_key",
    params: &[
        P::new("id", Str),
        P::new("url", Str),
        P::new("data", Str),
        P::new("file", Path),
        P::new("keyring", Path),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("keyserver", Str),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
    ],
    mutually_exclusive: &[&["data", "file", "keyserver", "url"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

/// Where the key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A file on the host.
    File(String),
    /// The key itself, given in the task.
    Data(String),
    /// Downloaded by apt's downloader on the host.
    Url(String),
    /// Fetched from a keyserver by id.
    Keyserver(String),
    None,
}

/// The ids Ansible derives from a key id: the short id (last 8 digits), the one compared (last
/// 16, or all of an 8-digit id), and the whole id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyId {
    pub short: String,
    pub fingerprint: String,
    pub full: String,
}

impl KeyId {
    /// Ansible's `parse_key_id`: hex, an optional `0x`, 8, 16 or more than 16 digits.
    pub fn parse(text: &str) -> Result<KeyId> {
        let upper = text.trim().to_uppercase();
        let id = upper.strip_prefix("0X").unwrap_or(&upper);
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("Invalid key_id `{text}`");
        }
        if id.len() != 8 && id.len() < 16 {
            bail!("Invalid key_id `{text}`: key_id must be 8, 16, or 16+ hexadecimal characters in length");
        }
        let tail = |n: usize| id[id.len().saturating_sub(n)..].to_string();
        Ok(KeyId {
            short: tail(8),
            fingerprint: if id.len() > 16 { tail(16) } else { id.to_string() },
            full: id.to_string(),
        })
    }

    fn short_format(&self) -> bool {
        self.full.len() == 8
    }
}

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    if args.bool("validate_certs")? == Some(false) {
        bail!("parameter `validate_certs: false` of module `apt_key` is not supported by deploy");
    }
    let id = args.str("id")?.filter(|i| !i.is_empty()).map(|i| KeyId::parse(&i)).transpose()?;
    let source = if let Some(file) = args.str("file")? {
        KeySource::File(file)
    } else if let Some(data) = args.str("data")? {
        KeySource::Data(data)
    } else if let Some(url) = args.str("url")? {
        KeySource::Url(url)
    } else if let Some(server) = args.str("keyserver")? {
        KeySource::Keyserver(server)
    } else {
        KeySource::None
    };
    let present = args.str("state")?.as_deref() != Some("absent");
    if id.is_none() {
        match source {
            KeySource::Keyserver(_) => bail!("Missing key_id, required with keyserver."),
            KeySource::None => bail!("`apt_key` needs `id`, or a key in `file`, `data` or `url`"),
            _ => {}
        }
    }
    if present && source == KeySource::None {
        bail!("`apt_key` with `state: present` needs the key: `file`, `data`, `url` or `keyserver`");
    }
    Ok(Box::new(AptKey {
        id,
        source,
        keyring: args.str("keyring")?,
        present,
    }))
}

#[derive(Debug)]
pub struct AptKey {
    pub id: Option<KeyId>,
    pub source: KeySource,
    pub keyring: Option<String>,
    pub present: bool,
}

/// What the probe saw.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The key's id: `id`, or the first key of the given key; `None` when the host could not
    /// read the key (its download failed), which apply tries again.
    pub id: Option<KeyId>,
    /// The long ids apt's keyring lists (short ones when the id is short), as Ansible's
    /// `before`.
    pub keys: Vec<String>,
}

impl KeyState {
    fn has_key(&self) -> bool {
        self.id.as_ref().is_some_and(|id| {
            let wanted = if id.short_format() { &id.short } else { &id.fingerprint };
            self.keys.contains(wanted)
        })
    }
}

/// Ansible's `parse_output_for_keys`: the id of each `pub`/`sub` line that has not expired,
/// from apt-key's listing (`pub   rsa4096/ID 2019-…`) or gpg's colons (`pub:-:…:ID:…`).
pub fn parse_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| (l.starts_with("pub") || l.starts_with("sub")) && !l.contains("expired"))
        .filter_map(|line| {
            let apt_key_form = line.split_whitespace().nth(1).and_then(|code| {
                let parts: Vec<&str> = code.split('/').collect();
                (parts.len() == 2).then(|| parts[1].to_string())
            });
            apt_key_form.or_else(|| line.split(':').nth(4).map(str::to_string))
        })
        .collect()
}

impl AptKey {
    fn apt_key_words(&self) -> Vec<&str> {
        match &self.keyring {
            Some(keyring) => vec!["apt-key", "--keyring", keyring],
            None => vec!["apt-key"],
        }
    }

    /// Shell that writes the key from a file, data or URL source into "$k".
    fn fetch_key(&self, script: &mut Script) {
        match &self.source {
            KeySource::File(path) => {
                script.line("cat -- {} > \"$k\" || exit 1", &[path]);
            }
            KeySource::Data(data) => {
                script.write_bytes(data.as_bytes(), "> \"$k\" || exit 1", &[]);
            }
            KeySource::Url(url) => match url.strip_prefix("file://") {
                Some(path) => {
                    script.line(
                        "cat -- {} > \"$k\" || { echo 'Error getting key id from url: '{} >&2; exit 1; }",
                        &[path, url],
                    );
                }
                None => {
                    script.line(
                        "/usr/lib/apt/apt-helper download-file {} \"$k\" >/dev/null 2>&1 || { echo 'Error getting key id from url: '{} >&2; exit 1; }",
                        &[url, url],
                    );
                }
            },
            KeySource::Keyserver(_) | KeySource::None => {}
        }
    }

    /// Lists apt's keys into "$l" (and prints them as `have` lines for the probe), with the
    /// apt-key command line left in "$@".
    fn list_keys(&self, script: &mut Script, print: bool) {
        script.raw("set --");
        for word in self.apt_key_words() {
            script.line("set -- \"$@\" {}", &[word]);
        }
        script.raw(
            r#"l=$("$@" adv --list-public-keys --keyid-format=long 2>/dev/null) || { echo 'Unable to list public keys' >&2; exit 1; }"#,
        );
        if print {
            script.raw(r#"printf '%s\n' "$l" | sed -n 's/^\(pub\|sub\)/have	&/p'"#);
        }
    }
}

impl Resource for AptKey {
    type State = KeyState;

    fn target(&self) -> String {
        let what = match (&self.id, &self.source) {
            (Some(id), _) => id.full.clone(),
            (None, KeySource::File(p)) => p.clone(),
            (None, KeySource::Url(u)) => u.clone(),
            (None, _) => "key from data".to_string(),
        };
        match &self.keyring {
            Some(keyring) => format!("{what} in {keyring}"),
            None => what,
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw(
            r#"command -v apt-key >/dev/null || { echo 'Failed to find required executable "apt-key". Apt-key has been deprecated. See the deb822_repository as an alternative.' >&2; exit 1; }
command -v gpg >/dev/null || { echo 'Failed to find required executable "gpg" (install gnupg or gpg)' >&2; exit 1; }"#,
        );
        if self.id.is_none() {
            // A key the host cannot read (a download that fails) is not a probe error: the
            // step plans to add it and fails where Ansible's module fails, on the task.
            script.raw(r#"g=$(mktemp -d) && k=$g/key || exit 1"#);
            script.raw("if (");
            self.fetch_key(&mut script);
            script.raw(
                r#") 2>/dev/null; then
o=$(GNUPGHOME=$g gpg --with-colons "$k" 2>/dev/null) || { rm -rf "$g"; echo 'Unable to extract key from the key given' >&2; exit 1; }
printf '%s\n' "$o" | sed -n 's/^\(pub\|sub\)/key	&/p'
else echo unreadable; fi
rm -rf "$g""#,
            );
        }
        self.list_keys(&mut script, true);
        script
    }

    fn inspect(&self, out: &Section) -> Result<KeyState> {
        if out.status != 0 {
            bail!("{}", String::from_utf8_lossy(&out.output).trim());
        }
        let (mut given, mut have) = (String::new(), String::new());
        let mut unreadable = false;
        for line in lines(out)? {
            if line == "unreadable" {
                unreadable = true;
            } else if let Some(rest) = line.strip_prefix("key\t") {
                given.push_str(rest);
                given.push('\n');
            } else if let Some(rest) = line.strip_prefix("have\t") {
                have.push_str(rest);
                have.push('\n');
            } else {
                bail!("probe: unexpected apt_key probe line {line:?}");
            }
        }
        let id = match &self.id {
            Some(id) => id.clone(),
            // A download that fails fails the task when applied; a file that is not there yet
            // (copied by an earlier task) is probed again once that task is applied.
            None if unreadable && matches!(&self.source, KeySource::Url(u) if !u.starts_with("file://")) => {
                return Ok(KeyState {
                    id: None,
                    keys: parse_keys(&have),
                })
            }
            None if unreadable => bail!("Unable to extract key from {}: not readable on the host", Resource::target(self)),
            None => {
                let first = parse_keys(&given).into_iter().next().ok_or_else(|| {
                    anyhow::anyhow!(
                        "Unable to continue as we could not extract a valid fingerprint to compare against existing keys."
                    )
                })?;
                KeyId::parse(&first)?
            }
        };
        let mut keys = parse_keys(&have);
        if id.short_format() {
            keys = keys.iter().map(|k| k[k.len().saturating_sub(8)..].to_string()).collect();
        }
        Ok(KeyState { id: Some(id), keys })
    }

    fn diff(&self, have: &KeyState) -> Diff {
        let Some(id) = &have.id else {
            let mut diff = Diff::from_attributes(vec![AttributeChange::new(
                &format!("key from {} (not readable on the host)", Resource::target(self)),
                None::<String>,
                None::<String>,
            )]);
            diff.action = Action::Create;
            return diff;
        };
        let present = have.has_key();
        // Ansible removes only by the long id.
        let remove = !self.present && have.keys.contains(&id.fingerprint);
        if (self.present && present) || (!self.present && !remove) {
            return Diff::converged();
        }
        let mut diff = Diff::from_attributes(vec![AttributeChange::new(
            &format!("key {}", id.fingerprint),
            None::<String>,
            None::<String>,
        )]);
        diff.action = if self.present {
            Action::Create
        } else {
            Action::Remove
        };
        diff
    }

    fn apply(&self, have: &KeyState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        script.raw("exec </dev/null");
        self.list_keys(&mut script, false);
        let Some(id) = &have.id else {
            // The probe could not read the key: read it again, failing as Ansible does.
            script.raw(r#"g=$(mktemp -d) && k=$g/key || exit 1"#);
            self.fetch_key(&mut script);
            if !self.present {
                script.raw("echo 'key is required to remove a key' >&2; exit 1");
            }
            script.raw(r#""$@" add "$k" >&2 || { rm -rf "$g"; echo 'Unable to add the key' >&2; exit 1; }"#);
            script.raw(r#"rm -rf "$g""#);
            script.raw("deploy_changed");
            return script;
        };
        let compared = if id.short_format() { &id.short } else { &id.fingerprint };
        if self.present {
            // Checked again on the host: listed since the probe means nothing to do.
            script.line(
                r#"printf '%s\n' "$l" | grep -qF -- {} && exit 0"#,
                &[&format!("{compared} ")],
            );
            match &self.source {
                KeySource::Keyserver(server) => {
                    script.line(
                        r#""$@" adv --no-tty --keyserver {} --recv {} >&2 || { echo 'Error fetching key '{}' from keyserver: '{} >&2; exit 1; }"#,
                        &[server, &id.full, &id.full, server],
                    );
                }
                _ => {
                    script.raw(r#"g=$(mktemp -d) && k=$g/key || exit 1"#);
                    self.fetch_key(&mut script);
                    script.raw(r#""$@" add "$k" >&2 || { rm -rf "$g"; echo 'Unable to add the key' >&2; exit 1; }"#);
                    script.raw(r#"rm -rf "$g""#);
                }
            }
            script.raw(r#"l=$("$@" adv --list-public-keys --keyid-format=long 2>/dev/null)"#);
            script.line(
                r#"printf '%s\n' "$l" | grep -qF -- {} || { echo 'apt-key did not return an error, but failed to add the key (check that the id is correct and *not* a subkey)' >&2; exit 1; }"#,
                &[&format!("{compared} ")],
            );
        } else {
            script.line(
                r#"printf '%s\n' "$l" | grep -qF -- {} || exit 0"#,
                &[&format!("{} ", id.fingerprint)],
            );
            script.line(
                r#""$@" del {} >&2 || { echo 'Unable to remove a key with id '{} >&2; exit 1; }"#,
                &[&id.short, &id.short],
            );
        }
        script.raw("deploy_changed");
        script
    }

    fn result(&self, out: &Section) -> Result<Option<serde_json::Value>> {
        let have = self.inspect(out)?;
        let Some(id) = &have.id else {
            return Ok(None);
        };
        Ok(Some(json!({
            "changed": false,
            "id": id.full,
            "short_id": id.short,
            "fp": id.fingerprint,
            "key_id": id.full,
            "before": have.keys,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};

    const LISTED: &str = "have\tpub   rsa4096/D27D666CD88E42B4 2013-09-16 [SC]\nhave\tsub   rsa4096/4A7D5A1B2B4E1B0A 2013-09-16 [E]\n";
    const GIVEN: &str = "key\tpub:-:4096:1:D27D666CD88E42B4:1379339921:::-:::scESC::::::23::0:\n";

    fn plan(params: serde_json::Value, probe: &str) -> Result<(Diff, Script)> {
        build(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    #[test]
    fn key_ids_as_ansible_parses_them() {
        let id = KeyId::parse("0xd27d666cd88e42b4").unwrap();
        assert_eq!((id.short.as_str(), id.fingerprint.as_str()), ("D88E42B4", "D27D666CD88E42B4"));
        let long = KeyId::parse("46095ACC8548582C1A2699A9D27D666CD88E42B4").unwrap();
        assert_eq!(long.fingerprint, "D27D666CD88E42B4");
        assert!(KeyId::parse("D88E42B4").unwrap().short_format());
        for bad in ["xyz", "123", "0123456789ABC", ""] {
            assert!(KeyId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_apt_key_and_gpg_listings() {
        assert_eq!(
            parse_keys("pub   rsa4096/D27D666CD88E42B4 2013-09-16 [SC]\nuid  x\nsub   rsa2048/AAAA000011112222 2013 [expired: 2020]\n"),
            ["D27D666CD88E42B4"]
        );
        assert_eq!(parse_keys("pub:-:255:22:A86F1C08A4293245:1796314511:::-:\n"), ["A86F1C08A4293245"]);
    }

    #[test]
    fn converges_by_the_keys_id() {
        let file = serde_json::json!({"file": "/tmp/k.asc"});
        assert!(plan(file.clone(), &format!("{GIVEN}{LISTED}")).unwrap().0.is_converged());
        let (diff, script) = plan(file, GIVEN).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert_eq!(diff.attributes[0].describe(), "key D27D666CD88E42B4");
        assert!(script.as_str().contains("cat -- /tmp/k.asc > \"$k\""));
        assert!(script.as_str().contains(r#""$@" add "$k""#));
        // With an id, the key is not read at all unless it is missing.
        let by_id = serde_json::json!({"id": "D88E42B4", "url": "https://example.org/key", "keyring": "/etc/apt/trusted.gpg.d/x.gpg"});
        let step = build(&SPEC, by_id.clone(), &NoContext).unwrap();
        assert!(!step.probe().as_str().contains("apt-helper"));
        assert!(step.probe().as_str().contains("--keyring"));
        assert!(plan(by_id.clone(), LISTED).unwrap().0.is_converged());
        let (_, script) = plan(by_id, "").unwrap();
        assert!(script.as_str().contains("apt-helper download-file https://example.org/key"));
    }

    #[test]
    fn removal_and_bad_input() {
        let absent = serde_json::json!({"id": "D27D666CD88E42B4", "state": "absent"});
        let (diff, script) = plan(absent.clone(), LISTED).unwrap();
        assert_eq!(diff.action, Action::Remove);
        assert!(script.as_str().contains(r#""$@" del D88E42B4"#));
        assert!(plan(absent, "").unwrap().0.is_converged());
        assert!(build(&SPEC, serde_json::json!({"keyserver": "k"}), &NoContext).is_err());
        assert!(build(&SPEC, serde_json::json!({"id": "zz", "file": "/k"}), &NoContext).is_err());
        let err = plan(serde_json::json!({"data": "junk"}), "").unwrap_err();
        assert!(format!("{err:#}").contains("could not extract a valid fingerprint"));
        assert!(plan(serde_json::json!({"data": "junk"}), "odd\n").is_err());
        // A download that fails plans the key, and apply fails where Ansible fails.
        let url = serde_json::json!({"url": "https://example.org/key"});
        let (diff, script) = plan(url, "unreadable\n").unwrap();
        assert_eq!(
            diff.attributes[0].describe(),
            "key from https://example.org/key (not readable on the host)"
        );
        assert!(script.as_str().contains("Error getting key id from url: "));
    }

    #[test]
    fn registers_ansibles_ids() {
        let step = build(&SPEC, serde_json::json!({"file": "/k"}), &NoContext).unwrap();
        let registered = step.result(&section(&format!("{GIVEN}{LISTED}"))).unwrap().unwrap();
        assert_eq!(registered["fp"], "D27D666CD88E42B4");
        assert_eq!(registered["short_id"], "D88E42B4");
        assert_eq!(registered["before"][1], "4A7D5A1B2B4E1B0A");
    }
}
