//! `openssh_keypair` (`community.crypto.openssh_keypair`): an SSH key pair made by the host's
//! `ssh-keygen`.
//!
//! Decided as Ansible's `opensshbin` backend decides it: the key is read with
//! `ssh-keygen -l` (size, type, fingerprint) and `ssh-keygen -y` (readable without a
//! passphrase, and its public key); by default (`regenerate: partial_idempotence`) a key of
//! another type or size is replaced, an unreadable one is an error, and a public key file that
//! is missing or does not match the private key (comment included, when `comment` is given) is
//! written again. Only the public half and the fingerprint reach the controller.
//!
//! A restored public key is written with the `comment` asked for: Ansible writes it without
//! and relies on `ssh-keygen -c`, which leaves the file alone when the private key's comment
//! is already right, so that Ansible restores the file again on every run.
//!
//! Differences from Ansible: `passphrase`, `private_key_format` other than `auto` and
//! `backend: cryptography` are refused; a task that generates or changes the key registers
//! the command's result, not the key's `fingerprint` and `public_key` (a converged one
//! registers them).

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::keyfile::{self, Attributes, FileInfo};
use super::lifecycle::{key_values, plain_path, value_of, Args, BuildContext, Resource, Step};
use super::support::{after_apply, answer_after_apply, detach_stdin};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Generates an SSH key pair.
///
/// ```yaml
/// - community.crypto.openssh_keypair:
///     path: /etc/ssh/ssh_host_rsa_key
///     type: rsa
///     size: 4096
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "openssh_keypair",
    fqcn: "community.crypto.openssh_keypair",
    params: &[
        P::new("path", Path).required(),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["present", "absent"]),
        P::new("size", Int),
        P::new("type", Str)
            .default(D::Str("rsa"))
            .choices(&["rsa", "dsa", "rsa1", "ecdsa", "ed25519"]),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("comment", Str),
        P::new("regenerate", Str)
            .default(D::Str("partial_idempotence"))
            .choices(&["never", "fail", "partial_idempotence", "full_idempotence", "always"]),
        P::new("passphrase", Str),
        P::new("private_key_format", Str)
            .default(D::Str("auto"))
            .choices(&["auto", "pkcs1", "pkcs8", "ssh"]),
        P::new("backend", Str)
            .default(D::Str("auto"))
            .choices(&["auto", "cryptography", "opensshbin"]),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("seuser", Str),
        P::new("serole", Str),
        P::new("setype", Str),
        P::new("selevel", Str),
        P::new("unsafe_writes", Bool),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// When an existing key is replaced (Ansible's `regenerate`, `force` meaning `always`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regenerate {
    Never,
    Fail,
    PartialIdempotence,
    FullIdempotence,
    Always,
}

/// A key pair as `openssh_keypair` converges it.
#[derive(Clone, Debug, PartialEq)]
pub struct Keypair {
    pub path: String,
    pub present: bool,
    /// `rsa`, `dsa`, `rsa1`, `ecdsa`, `ed25519`.
    pub kind: String,
    /// Bits, defaulted per type as Ansible does (ed25519 is always 256).
    pub size: i64,
    pub comment: Option<String>,
    pub regenerate: Regenerate,
    pub attributes: Attributes,
}

/// What `ssh-keygen -l` says about an existing private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateKey {
    pub size: i64,
    pub kind: String,
    pub fingerprint: String,
}

/// A public key line: `type data comment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub kind: String,
    pub data: String,
    pub comment: Option<String>,
}

impl PublicKey {
    /// Ansible's `PublicKey.from_string`/`load`; `None` when there are not two fields.
    pub fn parse(text: &str) -> Option<PublicKey> {
        let mut fields = text.trim_matches([' ', '\n']).splitn(3, ' ');
        let kind = fields.next()?.to_string();
        let data = fields.next()?.to_string();
        Some(PublicKey {
            kind,
            data,
            comment: Some(fields.next().unwrap_or("").to_string()),
        })
    }

    /// Ansible's equality: a comment counts only when both sides have one.
    fn matches(&self, other: &PublicKey) -> bool {
        self.kind == other.kind
            && self.data == other.data
            && match (&self.comment, &other.comment) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// What the probe learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeypairState {
    pub private: FileInfo,
    pub public: FileInfo,
    /// `None`: missing, or not a key `ssh-keygen -l` reads.
    pub original_private: Option<PrivateKey>,
    /// Readable without a passphrase (`ssh-keygen -y` succeeded or failed for another reason).
    pub readable: bool,
    /// The public key derived from the private one, when `ssh-keygen -y` succeeded.
    pub derived: Option<PublicKey>,
    /// The public key file's key, when it holds one.
    pub original_public: Option<PublicKey>,
    pub keygen_missing: bool,
}

/// What the apply does, decided from the probe.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Plan {
    Generate,
    RestorePublic,
    Nothing,
}

fn decode(pairs: &[(String, String)], key: &str) -> Result<Option<String>> {
    value_of(pairs, key)
        .map(|v| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v)
                .with_context(|| format!("probe: bad base64 in {key}"))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        })
        .transpose()
}

/// Ansible's `PrivateKey.from_string` over `ssh-keygen -l` output:
/// `4096 SHA256:... comment (RSA)`.
pub fn parse_fingerprint_line(line: &str) -> Option<PrivateKey> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let last = fields.last()?;
    let kind = last.strip_prefix('(')?.strip_suffix(')')?.to_lowercase();
    Some(PrivateKey {
        size: fields.first()?.parse().ok()?,
        kind,
        fingerprint: fields.get(1)?.to_string(),
    })
}

impl Keypair {
    fn public_path(&self) -> String {
        format!("{}.pub", self.path)
    }

    /// Ansible's `_validate_key_load`, `_should_generate` and `_public_key_valid`.
    fn decide(&self, have: &KeypairState) -> Result<Plan> {
        if have.private.exists
            && matches!(
                self.regenerate,
                Regenerate::Never | Regenerate::Fail | Regenerate::PartialIdempotence
            )
            && (have.original_private.is_none() || !have.readable)
        {
            bail!(
                "Unable to read the key. The key is protected with a passphrase or broken. Will not proceed. \
                 To force regeneration, call the module with `generate` set to `full_idempotence` or `always`, \
                 or with `force=true`."
            );
        }
        let valid = have
            .original_private
            .as_ref()
            .is_some_and(|k| k.size == self.size && k.kind == self.kind);
        let generate = match (&have.original_private, self.regenerate) {
            (None, _) => true,
            (Some(_), Regenerate::Never) => false,
            (Some(_), Regenerate::Fail) if !valid => bail!(
                "Key has wrong type and/or size. Will not proceed. To force regeneration, call the module with \
                 `generate` set to `partial_idempotence`, `full_idempotence` or `always`, or with `force=true`."
            ),
            (Some(_), Regenerate::Fail) => false,
            (Some(_), Regenerate::PartialIdempotence | Regenerate::FullIdempotence) => !valid,
            (Some(_), Regenerate::Always) => true,
        };
        if generate {
            return Ok(Plan::Generate);
        }
        let public_valid = match (&have.original_public, &have.derived) {
            (Some(original), Some(derived)) => {
                let wanted = PublicKey {
                    comment: self.comment.clone(),
                    ..derived.clone()
                };
                original.matches(&wanted)
            }
            _ => false,
        };
        Ok(if public_valid {
            Plan::Nothing
        } else {
            Plan::RestorePublic
        })
    }
}

impl Resource for Keypair {
    type State = KeypairState;

    fn target(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        keyfile::probe_file(&mut script, &self.path, "");
        keyfile::probe_file(&mut script, &self.public_path(), "pub_");
        script.line("p={}", &[&self.path]);
        script.raw(
            r#"if [ -f "$p.pub" ]; then printf 'pub_content=%s\n' "$(head -c 65536 -- "$p.pub" | base64 -w0)"; fi
if [ -f "$p" ]; then
  if ! command -v ssh-keygen >/dev/null 2>&1; then echo keygen=missing; exit 0; fi
  if l=$(ssh-keygen -l -f "$p" 2>/dev/null); then printf 'listed=%s\n' "$(printf '%s' "$l" | base64 -w0)"; fi
  y=$(ssh-keygen -P '' -y -f "$p" 2>&1 </dev/null); echo "derived_rc=$?"
  printf 'derived=%s\n' "$(printf '%s' "$y" | head -c 65536 | base64 -w0)"
fi"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<KeypairState> {
        let pairs = key_values(out)?;
        let private = keyfile::inspect_file(&pairs, "")?;
        if private.is_directory {
            bail!("{} is a directory. Please specify a path to a file.", self.path);
        }
        let public = keyfile::inspect_file(&pairs, "pub_")?;
        let derived_text = decode(&pairs, "derived")?.unwrap_or_default();
        let derived_rc = value_of(&pairs, "derived_rc");
        // Ansible's `_private_key_readable`: only these failures mean a passphrase or garbage.
        let readable = !(derived_rc == Some("255")
            || ["is not a public key file", "incorrect passphrase", "load failed"]
                .iter()
                .any(|m| derived_text.contains(m)));
        Ok(KeypairState {
            keygen_missing: value_of(&pairs, "keygen") == Some("missing"),
            original_private: decode(&pairs, "listed")?
                .as_deref()
                .and_then(parse_fingerprint_line),
            readable,
            derived: (derived_rc == Some("0"))
                .then(|| PublicKey::parse(&derived_text))
                .flatten(),
            original_public: decode(&pairs, "pub_content")?
                .as_deref()
                .and_then(PublicKey::parse),
            private,
            public,
        })
    }

    fn diff(&self, have: &KeypairState) -> Diff {
        let nothing = None::<String>;
        if !self.present {
            return if have.private.exists || have.public.exists {
                Diff::new(Action::Remove)
            } else {
                Diff::converged()
            };
        }
        if have.keygen_missing {
            let mut diff = Diff::new(Action::Unknown);
            diff.attributes.push(AttributeChange::new(
                "ssh-keygen is not installed yet (package openssh-client)",
                nothing.clone(),
                nothing,
            ));
            return diff;
        }
        let plan = match self.decide(have) {
            Ok(plan) => plan,
            Err(err) => {
                // The apply fails with the same message: the diff cannot fail.
                let mut diff = Diff::new(Action::Change);
                diff.attributes
                    .push(AttributeChange::new(&err.to_string(), nothing.clone(), nothing));
                return diff;
            }
        };
        let wanted = format!("{} {}", self.kind, self.size);
        let mut changes = Vec::new();
        match plan {
            Plan::Generate if !have.private.exists => {
                let mut diff = Diff::new(Action::Create);
                diff.attributes.push(AttributeChange::new("key", nothing.clone(), Some(wanted)));
                if let Some(comment) = &self.comment {
                    diff.attributes
                        .push(AttributeChange::new("comment", nothing, Some(comment.clone())));
                }
                return diff;
            }
            Plan::Generate => changes.push(AttributeChange::new(
                "key (regenerated)",
                Some(
                    have.original_private
                        .as_ref()
                        .map_or("unreadable".to_string(), |k| format!("{} {}", k.kind, k.size)),
                ),
                Some(wanted),
            )),
            Plan::RestorePublic => {
                let before = have.original_public.as_ref().map_or("missing", |_| "differs");
                changes.push(AttributeChange::new(
                    "public key",
                    Some(before),
                    Some("restored from the private key"),
                ));
                if let (Some(comment), Some(original)) = (&self.comment, &have.original_public) {
                    if original.comment.as_ref() != Some(comment) {
                        changes.push(AttributeChange::new(
                            "comment",
                            original.comment.clone(),
                            Some(comment.clone()),
                        ));
                    }
                }
            }
            Plan::Nothing => {}
        }
        changes.extend(self.attributes.changes(&have.private, ""));
        if have.public.exists {
            changes.extend(self.attributes.changes(&have.public, "public key "));
        }
        Diff::from_attributes(changes)
    }

    fn apply(&self, have: &KeypairState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        if !self.present {
            script.line("p={}", &[&self.path]);
            script.raw(
                r#"if [ -e "$p" ] || [ -e "$p.pub" ]; then rm -f -- "$p" "$p.pub" || exit 1; deploy_changed; fi"#,
            );
            return script;
        }
        match self.decide(have) {
            Err(err) => {
                script.line("printf '%s\\n' {} >&2; exit 1", &[&err.to_string()]);
                return script;
            }
            Ok(Plan::Generate) => {
                keyfile::start_generation(&mut script, &self.path);
                let size = self.size.to_string();
                let comment = self.comment.clone().unwrap_or_default();
                script.line(
                    r#"ssh-keygen -q -N '' -b {} -t {} -f "$tmp/key" -C {} </dev/null || exit 1"#,
                    &[&size, &self.kind, &comment],
                );
                keyfile::move_into_place(&mut script, "key", &self.path, "0600");
                keyfile::move_into_place(&mut script, "key.pub", &self.public_path(), "0644");
                script.raw("deploy_changed");
            }
            Ok(Plan::RestorePublic) => {
                keyfile::start_generation(&mut script, &self.public_path());
                script.line("p={}", &[&self.path]);
                let comment = self.comment.clone().unwrap_or_default();
                if !comment.is_empty() {
                    // Sets the private key's comment (and rewrites the public key when the
                    // comment changes; an unchanged one leaves it, hence the write below).
                    script.line(
                        r#"ssh-keygen -q -c -C {} -f "$p" </dev/null >/dev/null || exit 1"#,
                        &[&comment],
                    );
                }
                // The public key as Ansible writes it: type and data, then the comment if given.
                script.raw(
                    r#"set -f; set -- $(ssh-keygen -P '' -y -f "$p" </dev/null) || exit 1; set +f
[ -n "$2" ] || { echo 'The public key is missing or does not match the private key. Unable to regenerate the public key.' >&2; exit 1; }"#,
                );
                script.line(
                    r#"if [ -n {} ]; then printf '%s %s %s\n' "$1" "$2" {}; else printf '%s %s\n' "$1" "$2"; fi > "$tmp/key.pub" || exit 1"#,
                    &[&comment, &comment],
                );
                keyfile::move_into_place(&mut script, "key.pub", &self.public_path(), "0644");
                script.raw("deploy_changed");
            }
            Ok(Plan::Nothing) => {}
        }
        let fresh = |info: &FileInfo| if info.exists { info.mode } else { None };
        self.attributes
            .apply(&mut script, &self.path, fresh(&have.private).or(Some(0o600)));
        self.attributes
            .apply(&mut script, &self.public_path(), fresh(&have.public).or(Some(0o644)));
        answer_after_apply(&mut script, &Resource::probe(self));
        script
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        let path = plain_path(&self.path)?;
        let dir = path.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d })?;
        // The temporary directory is beside the key.
        Some(vec![dir.to_string()])
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        let have = self.inspect(out)?;
        let public = have.original_public.as_ref();
        Ok(Some(json!({
            "changed": false,
            "failed": false,
            "size": self.size,
            "type": self.kind,
            "filename": self.path,
            "fingerprint": have.original_private.as_ref().map_or(String::new(), |k| k.fingerprint.clone()),
            "public_key": public.map_or(String::new(), |k| format!("{} {}", k.kind, k.data)),
            "comment": public.and_then(|k| k.comment.clone()).unwrap_or_default(),
        })))
    }

    fn applied_result(&self, stdout: &[u8]) -> Result<Option<Json>> {
        match after_apply(stdout) {
            Some(out) => Resource::result(self, &out),
            None => Ok(None),
        }
    }
}

/// Builds the resource from `openssh_keypair`'s parameters.
pub fn from_args(args: &Args) -> Result<Keypair> {
    args.refuse(&["passphrase", "private_key_format"])?;
    if args.str("backend")?.as_deref() == Some("cryptography") {
        bail!("`backend: cryptography` is not supported by deploy: it runs ssh-keygen (`opensshbin`)");
    }
    let path = args.required_str("path")?;
    if path.is_empty() {
        bail!("`path` is empty");
    }
    let kind = args.str("type")?.unwrap_or_else(|| "rsa".into());
    let size = args.int("size")?;
    // Ansible's `_get_size`, with its messages.
    let size = match kind.as_str() {
        "rsa" | "rsa1" => {
            let size = size.unwrap_or(4096);
            if size < 1024 {
                bail!(
                    "For RSA keys, the minimum size is 1024 bits and the default is 4096 bits. \
                     Attempting to use bit lengths under 1024 will cause the module to fail."
                );
            }
            size
        }
        "dsa" => {
            let size = size.unwrap_or(1024);
            if size != 1024 {
                bail!("DSA keys must be exactly 1024 bits as specified by FIPS 186-2.");
            }
            size
        }
        "ecdsa" => {
            let size = size.unwrap_or(256);
            if ![256, 384, 521].contains(&size) {
                bail!(
                    "For ECDSA keys, size determines the key length by selecting from one of three elliptic \
                     curve sizes: 256, 384 or 521 bits. Attempting to use bit lengths other than these three \
                     values for ECDSA keys will cause this module to fail."
                );
            }
            size
        }
        "ed25519" => 256,
        other => bail!("{other} is not a valid value for key type"),
    };
    let regenerate = if args.flag("force")? {
        Regenerate::Always
    } else {
        match args.str("regenerate")?.as_deref() {
            Some("never") => Regenerate::Never,
            Some("fail") => Regenerate::Fail,
            Some("full_idempotence") => Regenerate::FullIdempotence,
            Some("always") => Regenerate::Always,
            _ => Regenerate::PartialIdempotence,
        }
    };
    Ok(Keypair {
        present: args.str("state")?.as_deref() != Some("absent"),
        kind,
        size,
        comment: args.str("comment")?,
        regenerate,
        attributes: Attributes::from_args(args, None)?,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, run_apply, run_probe, section};
    use serde_json::json;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn existing(listed: &str, derived: &str, public: Option<&str>) -> String {
        let mut text = format!(
            "kind=file\nmode=600\nuid=0\ngid=0\nowner=root\ngroup=root\nlisted={}\nderived_rc=0\nderived={}\n",
            b64(listed),
            b64(derived)
        );
        match public {
            Some(public) => text.push_str(&format!(
                "pub_kind=file\npub_mode=644\npub_uid=0\npub_gid=0\npub_owner=root\npub_group=root\npub_content={}\n",
                b64(public)
            )),
            None => text.push_str("pub_kind=absent\n"),
        }
        text
    }

    fn plan(params: Json, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    fn shown(diff: &Diff) -> Vec<String> {
        diff.attributes.iter().map(|a| a.describe()).collect()
    }

    #[test]
    fn decides_from_canned_probe_output() {
        let rsa = "4096 SHA256:abc root@h (RSA)";
        let params = json!({"path": "/etc/ssh/k", "size": 4096});
        let (diff, script) = plan(params.clone(), &existing(rsa, "ssh-rsa AAAA root@h", Some("ssh-rsa AAAA root@h\n"))).unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        // A 3072-bit host key is replaced, as partial_idempotence does.
        let (diff, script) = plan(
            params.clone(),
            &existing("3072 SHA256:x root@h (RSA)", "ssh-rsa BBBB", Some("ssh-rsa BBBB root@h\n")),
        )
        .unwrap();
        assert_eq!(shown(&diff), ["key (regenerated) rsa 3072 → rsa 4096"]);
        assert!(script.as_str().contains("ssh-keygen -q -N '' -b 4096 -t rsa"));
        let (diff, _) = plan(json!({"path": "/k", "type": "ed25519", "comment": "new"}), "kind=absent\npub_kind=absent\n").unwrap();
        assert_eq!(diff.action, Action::Create);
        assert_eq!(shown(&diff), ["key ed25519 256", "comment new"]);
        // A comment that differs restores the public key and sets it.
        let (diff, script) = plan(
            json!({"path": "/k", "type": "ed25519", "comment": "new"}),
            &existing("256 SHA256:e old (ED25519)", "ssh-ed25519 CCCC old", Some("ssh-ed25519 CCCC old\n")),
        )
        .unwrap();
        assert_eq!(shown(&diff), ["public key differs → restored from the private key", "comment old → new"]);
        assert!(script.as_str().contains("ssh-keygen -q -c -C new"));
        // Without a `comment`, any comment matches.
        let (diff, _) = plan(
            json!({"path": "/k", "type": "ed25519", "mode": "0640"}),
            &existing("256 SHA256:e old (ED25519)", "ssh-ed25519 CCCC old", Some("ssh-ed25519 CCCC other\n")),
        )
        .unwrap();
        assert_eq!(shown(&diff), ["mode 0600 → 0640", "public key mode 0644 → 0640"]);
        let unreadable = "kind=file\nmode=600\nuid=0\ngid=0\nowner=root\ngroup=root\nderived_rc=255\nderived=\npub_kind=absent\n";
        let (diff, script) = plan(params.clone(), unreadable).unwrap();
        assert!(shown(&diff)[0].starts_with("Unable to read the key."), "{diff:?}");
        assert!(script.as_str().contains("exit 1"));
        let (diff, _) = plan(json!({"path": "/k", "regenerate": "full_idempotence"}), unreadable).unwrap();
        assert_eq!(shown(&diff), ["key (regenerated) unreadable → rsa 4096"]);
        assert_eq!(plan(json!({"path": "/k", "state": "absent"}), unreadable).unwrap().0.action, Action::Remove);
        assert!(plan(json!({"path": "/k", "state": "absent"}), "kind=absent\npub_kind=absent\n").unwrap().0.is_converged());
        assert!(plan(params, "kind=directory\npub_kind=absent\n").is_err());
    }

    #[test]
    fn refuses_what_ansible_refuses() {
        for params in [
            json!({"path": "/k", "size": 512}),
            json!({"path": "/k", "type": "dsa", "size": 2048}),
            json!({"path": "/k", "type": "ecdsa", "size": 255}),
            json!({"path": "/k", "passphrase": "x"}),
            json!({"path": "/k", "backend": "cryptography"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
        assert_eq!(
            parse_fingerprint_line("256 SHA256:abc a comment (ED25519)"),
            Some(PrivateKey { size: 256, kind: "ed25519".into(), fingerprint: "SHA256:abc".into() })
        );
    }

    /// Generates, converges, restores a lost public key, with the host's ssh-keygen.
    #[test]
    fn round_trip_with_ssh_keygen() {
        if std::process::Command::new("ssh-keygen").arg("-?").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id").to_string_lossy().into_owned();
        let step = build_step(&SPEC, json!({"path": path, "type": "ed25519", "comment": "deploy"}), &NoContext).unwrap();
        let (diff, script) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        assert_eq!(diff.action, Action::Create);
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success() && changed, "{}", String::from_utf8_lossy(&out.stderr));
        let probe = run_probe(&step.probe(), dir.path());
        assert!(step.plan(&probe).unwrap().0.is_converged());
        let answer = step.result(&probe).unwrap().unwrap();
        assert_eq!(answer["comment"], "deploy");
        assert!(answer["public_key"].as_str().unwrap().starts_with("ssh-ed25519 "));
        std::fs::remove_file(format!("{path}.pub")).unwrap();
        let (diff, script) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        assert_eq!(shown(&diff), ["public key missing → restored from the private key"]);
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success() && changed, "{}", String::from_utf8_lossy(&out.stderr));
        let probe = run_probe(&step.probe(), dir.path());
        assert!(step.plan(&probe).unwrap().0.is_converged());
        assert_eq!(step.result(&probe).unwrap().unwrap()["public_key"], answer["public_key"]);
    }
}
