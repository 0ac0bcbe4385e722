//! `openssl_privatekey` (`community.crypto.openssl_privatekey`): a private key made by the
//! host's `openssl`.
//!
//! Decided as Ansible's module decides it with its default `regenerate: full_idempotence`: a
//! missing key, one that cannot be read without a passphrase, or one of another type, size
//! (RSA, DSA) or curve (ECC) is generated again; the file format is not compared
//! (`format: auto_ignore`), and new keys are written as the module writes them (PKCS#1 for
//! RSA, DSA and ECC, PKCS#8 for the others). The file gets mode `0600` unless `mode` says
//! otherwise. The probe reads the key's public half only (`openssl pkey -pubout`), so no key
//! material reaches the controller.
//!
//! Differences from Ansible: `passphrase`, `cipher`, `format` other than `auto_ignore`,
//! `format_mismatch: convert`, `backup` and `return_content` are refused; the registered
//! result leaves out `fingerprint` and `diff`.

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

/// The curves Ansible accepts, with the names OpenSSL gives them.
const CURVES: &[(&str, &str)] = &[
    ("secp224r1", "secp224r1"),
    ("secp256k1", "secp256k1"),
    ("secp256r1", "prime256v1"),
    ("secp384r1", "secp384r1"),
    ("secp521r1", "secp521r1"),
    ("secp192r1", "prime192v1"),
    ("brainpoolP256r1", "brainpoolP256r1"),
    ("brainpoolP384r1", "brainpoolP384r1"),
    ("brainpoolP512r1", "brainpoolP512r1"),
    ("sect163k1", "sect163k1"),
    ("sect163r2", "sect163r2"),
    ("sect233k1", "sect233k1"),
    ("sect233r1", "sect233r1"),
    ("sect283k1", "sect283k1"),
    ("sect283r1", "sect283r1"),
    ("sect409k1", "sect409k1"),
    ("sect409r1", "sect409r1"),
    ("sect571k1", "sect571k1"),
    ("sect571r1", "sect571r1"),
];

/// Generates a private key.
///
/// ```yaml
/// - community.crypto.openssl_privatekey:
///     path: /etc/ssl/private/app.key
///     type: ECC
///     curve: secp384r1
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "openssl_privatekey",
    fqcn: "community.crypto.openssl_privatekey",
    params: &[
        P::new("path", Path).required(),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["present", "absent"]),
        P::new("size", Int).default(D::Int(4096)),
        P::new("type", Str)
            .default(D::Str("RSA"))
            .choices(&["DSA", "ECC", "Ed25519", "Ed448", "RSA", "X25519", "X448"]),
        P::new("curve", Str).choices(&[
            "secp224r1",
            "secp256k1",
            "secp256r1",
            "secp384r1",
            "secp521r1",
            "secp192r1",
            "brainpoolP256r1",
            "brainpoolP384r1",
            "brainpoolP512r1",
            "sect163k1",
            "sect163r2",
            "sect233k1",
            "sect233r1",
            "sect283k1",
            "sect283r1",
            "sect409k1",
            "sect409r1",
            "sect571k1",
            "sect571r1",
        ]),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("regenerate", Str)
            .default(D::Str("full_idempotence"))
            .choices(&["never", "fail", "partial_idempotence", "full_idempotence", "always"]),
        P::new("passphrase", Str),
        P::new("cipher", Str).default(D::Str("auto")),
        P::new("format", Str)
            .default(D::Str("auto_ignore"))
            .choices(&["pkcs1", "pkcs8", "raw", "auto", "auto_ignore"]),
        P::new("format_mismatch", Str)
            .default(D::Str("regenerate"))
            .choices(&["regenerate", "convert"]),
        P::new("select_crypto_backend", Str)
            .default(D::Str("auto"))
            .choices(&["auto", "cryptography"]),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("return_content", Bool).default(D::Bool(false)),
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

/// A private key as `openssl_privatekey` converges it.
#[derive(Clone, Debug, PartialEq)]
pub struct PrivateKey {
    pub path: String,
    pub present: bool,
    /// Ansible's spelling: `RSA`, `DSA`, `ECC`, `Ed25519`, ...
    pub kind: String,
    pub size: i64,
    /// Ansible's curve name, for ECC.
    pub curve: Option<String>,
    /// `None`: `never` (keep any key); `Some(false)`: `fail` on a mismatch; `Some(true)`:
    /// regenerate on a mismatch; `always` is [`PrivateKey::always`].
    pub on_mismatch: Option<bool>,
    /// `full_idempotence`: an unreadable key is replaced instead of an error.
    pub replace_unreadable: bool,
    pub always: bool,
    pub attributes: Attributes,
}

/// What `openssl pkey -pubin -text` says about an existing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// Ansible's spelling of the type.
    pub kind: String,
    pub bits: Option<i64>,
    /// OpenSSL's curve name.
    pub curve: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyState {
    pub file: FileInfo,
    /// `None` when missing or not readable without a passphrase.
    pub key: Option<KeyInfo>,
}

/// Reads the public key's `-text` header lines (`Public-Key: (2048 bit)`, `Modulus:`,
/// `ASN1 OID: prime256v1`, `ED25519 Public-Key:`).
pub fn parse_key_text(text: &str) -> Option<KeyInfo> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
    let bits = lines.iter().find_map(|l| {
        l.strip_prefix("Public-Key: (")?
            .split_once(" bit")?
            .0
            .parse()
            .ok()
    });
    let curve = lines
        .iter()
        .find_map(|l| l.strip_prefix("ASN1 OID: "))
        .map(str::to_string);
    let kind = if has("Modulus") {
        "RSA"
    } else if curve.is_some() {
        "ECC"
    } else if let Some(named) = ["ED25519", "ED448", "X25519", "X448"]
        .iter()
        .find(|n| has(&format!("{n} Public-Key")))
    {
        match *named {
            "ED25519" => "Ed25519",
            "ED448" => "Ed448",
            other => other,
        }
    } else if bits.is_some() {
        "DSA"
    } else {
        return None;
    };
    Some(KeyInfo {
        kind: kind.to_string(),
        bits,
        curve,
    })
}

fn openssl_curve(curve: &str) -> Option<&'static str> {
    CURVES.iter().find(|(a, _)| *a == curve).map(|(_, o)| *o)
}

impl PrivateKey {
    /// Ansible's `_check_size_and_type`.
    fn matches(&self, key: &KeyInfo) -> bool {
        if key.kind != self.kind {
            return false;
        }
        match self.kind.as_str() {
            "RSA" | "DSA" => key.bits == Some(self.size),
            "ECC" => {
                self.curve.as_deref().and_then(openssl_curve).is_some() && key.curve.as_deref() == self.curve.as_deref().and_then(openssl_curve)
            }
            _ => true,
        }
    }

    /// Ansible's `needs_regeneration`; an error for `fail`/unreadable.
    fn needs_generation(&self, have: &KeyState) -> Result<bool> {
        if self.always || !have.file.exists {
            return Ok(true);
        }
        let Some(key) = &have.key else {
            if self.replace_unreadable {
                return Ok(true);
            }
            bail!(
                "Unable to read the key. The key is protected with a another passphrase / no passphrase or broken. \
                 Will not proceed. To force regeneration, call the module with `generate` set to `full_idempotence` \
                 or `always`, or with `force=true`."
            );
        };
        match self.on_mismatch {
            Some(regenerate) if !self.matches(key) => {
                if regenerate {
                    Ok(true)
                } else {
                    bail!(
                        "Key has wrong type and/or size. Will not proceed. To force regeneration, call the module with \
                         `generate` set to `partial_idempotence`, `full_idempotence` or `always`, or with `force=true`."
                    )
                }
            }
            _ => Ok(false),
        }
    }

    fn describe_wanted(&self) -> String {
        match self.kind.as_str() {
            "RSA" | "DSA" => format!("{} {}", self.kind, self.size),
            "ECC" => format!("ECC {}", self.curve.as_deref().unwrap_or("?")),
            other => other.to_string(),
        }
    }
}

fn describe(key: &KeyInfo) -> String {
    match (key.kind.as_str(), key.bits, &key.curve) {
        ("ECC", _, Some(curve)) => format!("ECC {curve}"),
        ("RSA" | "DSA", Some(bits), _) => format!("{} {bits}", key.kind),
        _ => key.kind.clone(),
    }
}

impl Resource for PrivateKey {
    type State = KeyState;

    fn target(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        keyfile::probe_file(&mut script, &self.path, "");
        script.line("p={}", &[&self.path]);
        // Only the public half leaves `openssl`; an empty passphrase fails on an encrypted key.
        script.raw(
            r#"if [ -f "$p" ]; then
  command -v openssl >/dev/null 2>&1 || { echo openssl=missing; exit 0; }
  if pub=$(openssl pkey -in "$p" -passin pass: -pubout 2>/dev/null </dev/null); then
    printf 'text=%s\n' "$(printf '%s\n' "$pub" | openssl pkey -pubin -noout -text 2>/dev/null | grep -E '^ *(Public-Key|Modulus|ASN1 OID|ED25519|ED448|X25519|X448)' | base64 -w0)"
  fi
fi"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<KeyState> {
        let pairs = key_values(out)?;
        let file = keyfile::inspect_file(&pairs, "")?;
        if file.is_directory {
            bail!("{} is a directory", self.path);
        }
        let decode = |key: &str| -> Result<Option<String>> {
            value_of(&pairs, key)
                .map(|v| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .with_context(|| format!("probe: bad base64 in {key}"))?;
                    Ok(String::from_utf8_lossy(&bytes).into_owned())
                })
                .transpose()
        };
        let key = decode("text")?.as_deref().and_then(parse_key_text);
        Ok(KeyState { file, key })
    }

    fn diff(&self, have: &KeyState) -> Diff {
        let nothing = None::<String>;
        if !self.present {
            return if have.file.exists {
                Diff::new(Action::Remove)
            } else {
                Diff::converged()
            };
        }
        match self.needs_generation(have) {
            Err(err) => {
                let mut diff = Diff::new(Action::Change);
                diff.attributes
                    .push(AttributeChange::new(&err.to_string(), nothing.clone(), nothing));
                diff
            }
            Ok(true) if !have.file.exists => {
                let mut diff = Diff::new(Action::Create);
                diff.attributes
                    .push(AttributeChange::new("key", nothing, Some(self.describe_wanted())));
                diff
            }
            Ok(generate) => {
                let mut changes = Vec::new();
                if generate {
                    changes.push(AttributeChange::new(
                        "key (regenerated)",
                        Some(have.key.as_ref().map_or("unreadable".to_string(), describe)),
                        Some(self.describe_wanted()),
                    ));
                }
                changes.extend(self.attributes.changes(&have.file, ""));
                Diff::from_attributes(changes)
            }
        }
    }

    fn apply(&self, have: &KeyState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        if !self.present {
            script.line("p={}", &[&self.path]);
            script.raw(r#"if [ -e "$p" ]; then rm -f -- "$p" || exit 1; deploy_changed; fi"#);
            return script;
        }
        match self.needs_generation(have) {
            Err(err) => {
                script.line("printf '%s\\n' {} >&2; exit 1", &[&err.to_string()]);
                return script;
            }
            Ok(true) => {
                keyfile::start_generation(&mut script, &self.path);
                script.raw("umask 077");
                let size = self.size.to_string();
                match self.kind.as_str() {
                    "RSA" => script.line(
                        r#"openssl genrsa -traditional -out "$tmp/key" {} 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }"#,
                        &[&size],
                    ),
                    "DSA" => script.line(
                        r#"openssl dsaparam -genkey -noout -out "$tmp/key" {} 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }"#,
                        &[&size],
                    ),
                    "ECC" => script.line(
                        r#"openssl ecparam -name {} -genkey -noout -out "$tmp/key" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }"#,
                        &[self.curve.as_deref().and_then(openssl_curve).unwrap_or("")],
                    ),
                    other => script.line(
                        r#"openssl genpkey -algorithm {} -out "$tmp/key" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }"#,
                        &[other],
                    ),
                };
                keyfile::move_into_place(&mut script, "key", &self.path, "0600");
                script.raw("deploy_changed");
            }
            Ok(false) => {}
        }
        let current = if have.file.exists { have.file.mode } else { Some(0o600) };
        self.attributes.apply(&mut script, &self.path, current);
        answer_after_apply(&mut script, &Resource::probe(self));
        script
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        let path = plain_path(&self.path)?;
        let dir = path.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d })?;
        Some(vec![dir.to_string()])
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        self.inspect(out)?;
        let mut answer = json!({
            "changed": false,
            "failed": false,
            "type": self.kind,
            "size": self.size,
            "filename": self.path,
        });
        if self.kind == "ECC" {
            answer["curve"] = json!(self.curve);
        }
        Ok(Some(answer))
    }

    fn applied_result(&self, stdout: &[u8]) -> Result<Option<Json>> {
        match after_apply(stdout) {
            Some(out) => Resource::result(self, &out),
            None => Ok(None),
        }
    }
}

/// Builds the resource from `openssl_privatekey`'s parameters.
pub fn from_args(args: &Args) -> Result<PrivateKey> {
    args.refuse(&["passphrase", "cipher", "backup", "return_content"])?;
    if !matches!(args.str("format")?.as_deref(), None | Some("auto_ignore")) {
        bail!("parameter `format` of module `openssl_privatekey` is not supported by deploy (only `auto_ignore`)");
    }
    if args.str("format_mismatch")?.as_deref() == Some("convert") {
        bail!("`format_mismatch: convert` is not supported by deploy");
    }
    let path = args.required_str("path")?;
    if path.is_empty() {
        bail!("`path` is empty");
    }
    let kind = args.str("type")?.unwrap_or_else(|| "RSA".into());
    let curve = args.str("curve")?.filter(|c| !c.is_empty());
    if kind == "ECC" && curve.as_deref().and_then(openssl_curve).is_none() {
        bail!("Curve must be specified for ECC keys (one of secp256r1, secp384r1, ...)");
    }
    let size = args.int("size")?.unwrap_or(4096);
    if matches!(kind.as_str(), "RSA" | "DSA") && size < 512 {
        bail!("`size` {size} is too small for a {kind} key");
    }
    let regenerate = args.str("regenerate")?.unwrap_or_else(|| "full_idempotence".into());
    let always = args.flag("force")? || regenerate == "always";
    Ok(PrivateKey {
        present: args.str("state")?.as_deref() != Some("absent"),
        kind,
        size,
        curve,
        on_mismatch: match regenerate.as_str() {
            "never" => None,
            "fail" => Some(false),
            _ => Some(true),
        },
        replace_unreadable: regenerate == "full_idempotence",
        always,
        attributes: Attributes::from_args(args, Some("0600"))?,
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

    fn existing(text: &str) -> String {
        format!(
            "kind=file\nmode=600\nuid=0\ngid=0\nowner=root\ngroup=root\ntext={}\n",
            b64(text)
        )
    }

    fn plan(params: Json, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    fn shown(diff: &Diff) -> Vec<String> {
        diff.attributes.iter().map(|a| a.describe()).collect()
    }

    #[test]
    fn decides_from_canned_probe_output() {
        let rsa = "Public-Key: (2048 bit)\nModulus:\n";
        let ec = "Public-Key: (384 bit)\nASN1 OID: secp384r1\n";
        assert!(plan(json!({"path": "/k", "size": 2048}), &existing(rsa)).unwrap().0.is_converged());
        let (diff, script) = plan(json!({"path": "/k"}), &existing(rsa)).unwrap();
        assert_eq!(shown(&diff), ["key (regenerated) RSA 2048 → RSA 4096"]);
        assert!(script.as_str().contains("openssl genrsa -traditional -out \"$tmp/key\" 4096"));
        let ecc = json!({"path": "/k", "type": "ECC", "curve": "secp384r1", "mode": "0640"});
        let (diff, _) = plan(ecc.clone(), &existing(ec)).unwrap();
        assert_eq!(shown(&diff), ["mode 0600 → 0640"]);
        let (diff, script) = plan(json!({"path": "/k", "type": "ECC", "curve": "secp256r1"}), &existing(ec)).unwrap();
        assert_eq!(shown(&diff), ["key (regenerated) ECC secp384r1 → ECC secp256r1"]);
        assert!(script.as_str().contains("ecparam -name prime256v1"));
        let (diff, _) = plan(json!({"path": "/k", "type": "Ed25519"}), "kind=absent\n").unwrap();
        assert_eq!((diff.action, shown(&diff)), (Action::Create, vec!["key Ed25519".to_string()]));
        assert!(plan(json!({"path": "/k", "type": "Ed25519"}), &existing("ED25519 Public-Key:\n")).unwrap().0.is_converged());
        // Unreadable: replaced by default, an error with `partial_idempotence`.
        let unreadable = "kind=file\nmode=600\nuid=0\ngid=0\nowner=root\ngroup=root\n";
        assert_eq!(shown(&plan(json!({"path": "/k"}), unreadable).unwrap().0), ["key (regenerated) unreadable → RSA 4096"]);
        let (diff, script) = plan(json!({"path": "/k", "regenerate": "partial_idempotence"}), unreadable).unwrap();
        assert!(shown(&diff)[0].starts_with("Unable to read the key"));
        assert!(script.as_str().contains("exit 1"));
        assert!(plan(json!({"path": "/k", "type": "ECC"}), "kind=absent\n").is_err());
    }

    #[test]
    fn round_trip_with_openssl() {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.key").to_string_lossy().into_owned();
        let step = build_step(&SPEC, json!({"path": path, "type": "ECC", "curve": "secp256r1"}), &NoContext).unwrap();
        let (diff, script) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        assert_eq!(diff.action, Action::Create);
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success() && changed, "{}", String::from_utf8_lossy(&out.stderr));
        let probe = run_probe(&step.probe(), dir.path());
        assert!(step.plan(&probe).unwrap().0.is_converged(), "{:?}", step.plan(&probe));
        let answer = step.result(&probe).unwrap().unwrap();
        assert_eq!((answer["type"].as_str(), answer["curve"].as_str()), (Some("ECC"), Some("secp256r1")));
        assert!(!String::from_utf8_lossy(&probe.output).contains("PRIVATE"));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
