//! Ansible Vault: the files and inline `!vault` values teams keep their secrets in, read and
//! written byte for byte as `ansible-vault` does.
//!
//! The format (`$ANSIBLE_VAULT;1.1;AES256`, or `1.2;AES256;LABEL` with a vault id): a header
//! line, then the hex of `hex(salt) \n hex(hmac) \n hex(ciphertext)` in lines of 80. The keys
//! come from PBKDF2-HMAC-SHA256 over the password and the 32-byte salt (10,000 rounds, 80
//! bytes: the AES-256 key, the HMAC-SHA256 key, the CTR counter's start); the plaintext is
//! PKCS#7-padded and encrypted with AES-256 in CTR mode; the HMAC covers the ciphertext and is
//! checked (in constant time) before anything is decrypted.
//!
//! The passwords of a run form the [`Keyring`], installed once by the command line before
//! anything is loaded: the YAML reader decrypts vault files and `!vault` scalars as it meets
//! them, wherever they are, and hands every plaintext to [`taint`] so that no output shows it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, RwLock};

use aes::Aes256;
use anyhow::{bail, Context, Result};
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::digest::hex;

const HEADER: &str = "$ANSIBLE_VAULT";
const CIPHER: &str = "AES256";
const ROUNDS: u32 = 10_000;
const LINE: usize = 80;
/// The label of a password given without one (`--vault-password-file`, `--ask-vault-pass`).
pub const DEFAULT_LABEL: &str = "default";

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Whether `text` is vault ciphertext (a vault file, or an inline value).
pub fn is_vault(text: &[u8]) -> bool {
    text.starts_with(HEADER.as_bytes())
}

/// One password, with the vault id it was given under.
pub struct VaultSecret {
    pub label: String,
    password: Zeroizing<Vec<u8>>,
    /// Where it came from, for errors (`--vault-password-file FILE`, `prompt`).
    pub source: String,
}

impl VaultSecret {
    pub fn new(label: &str, password: Vec<u8>, source: impl Into<String>) -> VaultSecret {
        VaultSecret {
            label: label.to_string(),
            password: Zeroizing::new(password),
            source: source.into(),
        }
    }
}

impl std::fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultSecret({}@{})", self.label, self.source)
    }
}

/// The passwords of a run, in the order given.
#[derive(Debug, Default)]
pub struct Keyring {
    pub secrets: Vec<VaultSecret>,
}

static KEYRING: OnceLock<Keyring> = OnceLock::new();

/// Makes `keyring` the run's passwords (possibly none). The command line does this once,
/// before loading anything; the YAML reader is called from every loader (inventories, plays,
/// roles, vars files, include_vars), and a process-wide keyring spares each of them a
/// parameter that only vault files need.
pub fn install(keyring: Keyring) {
    let _ = KEYRING.set(keyring);
}

/// Whether a keyring was installed. Without one (the library used directly, as the YAML
/// differential tests do), inline `!vault` values keep their ciphertext as text; with one,
/// they are decrypted or refused.
pub fn configured() -> bool {
    KEYRING.get().is_some()
}

fn installed() -> Option<&'static Keyring> {
    KEYRING.get().filter(|k| !k.secrets.is_empty())
}

/// A controller file's content, decrypted if it was a vault file.
pub struct Plain {
    pub bytes: Vec<u8>,
    /// It was a vault file: the caller taints what it holds (the values of a YAML file, the
    /// lines of any other file).
    pub from_vault: bool,
}

/// Reads a controller file (a vars file, an inventory, a `copy`/`template` source), decrypted
/// when it is a vault file. The plaintext stays in memory: it is never written back to the
/// controller's disk.
pub fn read_file(path: &Path) -> Result<Plain> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    open_bytes(bytes, path)
}

/// A file's bytes already read, decrypted when they are a vault file (`path` names it in errors).
pub fn open_bytes(bytes: Vec<u8>, path: &Path) -> Result<Plain> {
    if !is_vault(&bytes) {
        return Ok(Plain {
            bytes,
            from_vault: false,
        });
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("{}: not a valid vault file: it is not text", path.display()))?;
    let plain = decrypt(text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(Plain {
        bytes: plain.to_vec(),
        from_vault: true,
    })
}

/// Reads a file's content to send or render (`copy`, `template`, the `file` lookup): a vault
/// file's lines are all tainted.
pub fn read_content(path: &Path) -> Result<Vec<u8>> {
    let plain = read_file(path)?;
    if plain.from_vault {
        taint(&String::from_utf8_lossy(&plain.bytes));
    }
    Ok(plain.bytes)
}

/// A parsed vault envelope.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    pub version: String,
    pub label: Option<String>,
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// What is wrong with a vault text, or why it could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum VaultError {
    /// Not the format `ansible-vault` writes (truncated, not hex, a bad header).
    Format(String),
    /// A version or cipher this format does not have.
    Unsupported(String),
    /// No password was given at all.
    NoPassword,
    /// No given password opens it (a wrong password, or a tampered file: the HMAC differs).
    WrongPassword { label: Option<String> },
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultError::Format(why) => write!(f, "not a valid vault text: {why}"),
            VaultError::Unsupported(what) => write!(f, "unsupported vault format: {what}"),
            VaultError::NoPassword => f.write_str(
                "vault-encrypted, but no vault password was given (--vault-password-file, \
                 --ask-vault-pass or --vault-id)",
            ),
            VaultError::WrongPassword { label: Some(label) } => write!(
                f,
                "no vault password given opens it (it was encrypted with vault id `{label}`): \
                 a wrong password, or the file was altered"
            ),
            VaultError::WrongPassword { label: None } => {
                f.write_str("no vault password given opens it: a wrong password, or the file was altered")
            }
        }
    }
}

impl std::error::Error for VaultError {}

fn unhex(text: &[u8], what: &str) -> Result<Vec<u8>, VaultError> {
    if text.len() % 2 != 0 {
        return Err(VaultError::Format(format!(
            "the {what} has an odd number of hex digits (truncated?)"
        )));
    }
    text.chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| VaultError::Format(format!("the {what} is not hex")))
        })
        .collect()
}

/// Reads the envelope: header, then the hex body (whitespace at the line ends ignored).
pub fn parse(text: &str) -> Result<Envelope, VaultError> {
    let text = text.trim_start();
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("").trim();
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    if fields.first() != Some(&HEADER) || fields.len() < 3 {
        return Err(VaultError::Format(format!(
            "the first line must be `{HEADER};1.1;AES256`"
        )));
    }
    let version = fields[1].to_string();
    let label = match (version.as_str(), fields.get(3)) {
        ("1.1", _) => None,
        ("1.2", Some(label)) if !label.is_empty() => Some(label.to_string()),
        ("1.2", _) => {
            return Err(VaultError::Format(
                "a version 1.2 header names its vault id".into(),
            ))
        }
        (other, _) => {
            return Err(VaultError::Unsupported(format!(
                "version {other} (known: 1.1, 1.2)"
            )))
        }
    };
    if fields[2] != CIPHER {
        return Err(VaultError::Unsupported(format!(
            "cipher {} (known: {CIPHER})",
            fields[2]
        )));
    }
    let body: String = lines.map(str::trim).collect();
    if body.is_empty() {
        return Err(VaultError::Format("nothing after the header (truncated?)".into()));
    }
    let inner = unhex(body.as_bytes(), "body")?;
    let mut parts = inner.splitn(3, |&b| b == b'\n');
    let (Some(salt), Some(hmac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::Format(
            "the body lacks its salt, HMAC or ciphertext (truncated?)".into(),
        ));
    };
    let envelope = Envelope {
        version,
        label,
        salt: unhex(salt, "salt")?,
        hmac: unhex(hmac, "HMAC")?,
        ciphertext: unhex(ciphertext, "ciphertext")?,
    };
    if envelope.salt.is_empty() || envelope.hmac.len() != 32 || envelope.ciphertext.is_empty() {
        return Err(VaultError::Format(
            "the salt, HMAC or ciphertext is cut short (truncated?)".into(),
        ));
    }
    Ok(envelope)
}

/// The AES key, the HMAC key and the counter's start, from the password and salt.
fn derive(password: &[u8], salt: &[u8]) -> Zeroizing<[u8; 80]> {
    let mut out = Zeroizing::new([0u8; 80]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, out.as_mut());
    out
}

fn open(envelope: &Envelope, password: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let keys = derive(password, &envelope.salt);
    let mut mac = Hmac::<Sha256>::new_from_slice(&keys[32..64]).expect("HMAC takes any key length");
    mac.update(&envelope.ciphertext);
    // Constant-time comparison: a wrong password or a tampered body gives nothing away.
    mac.verify_slice(&envelope.hmac).ok()?;
    let mut plain = Zeroizing::new(envelope.ciphertext.clone());
    let mut cipher = Aes256Ctr::new(keys[..32].into(), keys[64..80].into());
    cipher.apply_keystream(&mut plain);
    // PKCS#7: the last byte says how many bytes of padding there are.
    let pad = usize::from(*plain.last()?);
    if pad == 0
        || pad > 16
        || pad > plain.len()
        || !plain[plain.len() - pad..].iter().all(|&b| usize::from(b) == pad)
    {
        return None;
    }
    let keep = plain.len() - pad;
    plain.truncate(keep);
    Some(plain)
}

/// Decrypts with the passwords of `keyring`: those whose label matches the envelope's vault id
/// first, then the others (as Ansible tries them).
pub fn decrypt_with(text: &str, keyring: &Keyring) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    open_with(text, keyring).map(|(_, plain)| plain)
}

/// Like [`decrypt_with`], also saying which of the keyring's passwords opened it.
pub fn open_with(text: &str, keyring: &Keyring) -> Result<(usize, Zeroizing<Vec<u8>>), VaultError> {
    let envelope = parse(text)?;
    if keyring.secrets.is_empty() {
        return Err(VaultError::NoPassword);
    }
    let label = envelope.label.as_deref();
    let secrets = keyring.secrets.iter().enumerate();
    let ordered = secrets
        .clone()
        .filter(|(_, s)| Some(s.label.as_str()) == label)
        .chain(secrets.filter(|(_, s)| Some(s.label.as_str()) != label));
    for (index, secret) in ordered {
        if let Some(plain) = open(&envelope, &secret.password) {
            return Ok((index, plain));
        }
    }
    Err(VaultError::WrongPassword {
        label: envelope.label.clone(),
    })
}

/// Decrypts with the run's passwords. The caller taints what the plaintext holds.
pub fn decrypt(text: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let keyring = installed().ok_or(VaultError::NoPassword)?;
    decrypt_with(text, keyring)
}

/// Decrypts an inline `!vault` value, for the YAML reader (which places the error).
pub fn decrypt_inline(text: &str) -> Result<String, String> {
    let plain = decrypt(text).map_err(|err| format!("this `!vault` value: {err}"))?;
    let text = String::from_utf8(plain.to_vec())
        .map_err(|_| "the `!vault` value decrypts to bytes that are not UTF-8 text".to_string())?;
    taint(&text);
    Ok(text)
}

/// Encrypts `plain` with `secret`, as `ansible-vault` writes it: format 1.1, or 1.2 naming the
/// vault id when it is not `default`.
pub fn encrypt(plain: &[u8], secret: &VaultSecret) -> Result<String> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for the vault salt: {e}"))?;
    Ok(encrypt_with_salt(plain, secret, &salt))
}

fn encrypt_with_salt(plain: &[u8], secret: &VaultSecret, salt: &[u8; 32]) -> String {
    let keys = derive(&secret.password, salt);
    let pad = 16 - plain.len() % 16;
    let mut data = Zeroizing::new(Vec::with_capacity(plain.len() + pad));
    data.extend_from_slice(plain);
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut cipher = Aes256Ctr::new(keys[..32].into(), keys[64..80].into());
    cipher.apply_keystream(&mut data);
    let mut mac = Hmac::<Sha256>::new_from_slice(&keys[32..64]).expect("HMAC takes any key length");
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let inner = format!("{}\n{}\n{}", hex(salt), hex(&tag), hex(&data));
    let body = hex(inner.as_bytes());
    let mut out = if secret.label == DEFAULT_LABEL {
        format!("{HEADER};1.1;{CIPHER}\n")
    } else {
        format!("{HEADER};1.2;{CIPHER};{}\n", secret.label)
    };
    for chunk in body.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).expect("hex is ASCII"));
        out.push('\n');
    }
    data.zeroize();
    out
}

// ---- never shown --------------------------------------------------------------------------

static TAINTED: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// Marks `text` as secret for the rest of the process: reports, plans, diffs, logs and JSON
/// show `********` in its place. Each of its lines is marked too, so that a diff of a file
/// holding a decrypted key shows which lines changed but not what they hold. Fragments
/// shorter than 3 characters would mask unrelated text, and are left.
pub fn taint(text: &str) {
    let mut set = TAINTED.write().unwrap_or_else(|e| e.into_inner());
    for piece in std::iter::once(text).chain(text.lines()) {
        let piece = piece.trim_end_matches('\r');
        if piece.trim().chars().count() >= 3 {
            set.insert(piece.to_string());
        }
    }
}

/// Every tainted value so far.
pub fn tainted() -> BTreeSet<String> {
    TAINTED.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Whether nothing is tainted (the common case: no vault in the run), to skip checks.
pub fn nothing_tainted() -> bool {
    TAINTED.read().unwrap_or_else(|e| e.into_inner()).is_empty()
}

/// Whether `value` holds a tainted string, anywhere inside it.
pub fn holds_tainted(value: &serde_json::Value) -> bool {
    if nothing_tainted() {
        return false;
    }
    let set = TAINTED.read().unwrap_or_else(|e| e.into_inner());
    fn walk(value: &serde_json::Value, set: &BTreeSet<String>) -> bool {
        match value {
            serde_json::Value::String(s) => set.contains(s) || set.iter().any(|t| s.contains(t.as_str())),
            serde_json::Value::Array(items) => items.iter().any(|v| walk(v, set)),
            serde_json::Value::Object(map) => map.values().any(|v| walk(v, set)),
            _ => false,
        }
    }
    walk(value, &set)
}

/// Taints every string inside `value` (a value computed from a tainted one).
pub fn taint_value(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => taint(s),
        serde_json::Value::Array(items) => items.iter().for_each(taint_value),
        serde_json::Value::Object(map) => map.values().for_each(taint_value),
        // Numbers and booleans are left: masking every `443` of a report would hide more than
        // it protects.
        _ => {}
    }
}

// ---- passwords ------------------------------------------------------------------------------

/// Where a password comes from, as `--vault-id label@source` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Prompt,
    File(PathBuf),
}

/// Parses a `--vault-id`: `label@source`, or a bare source under the default label.
pub fn parse_vault_id(text: &str) -> (String, Source) {
    let (label, source) = match text.split_once('@') {
        Some((label, source)) if !label.is_empty() => (label.to_string(), source),
        _ => (DEFAULT_LABEL.to_string(), text),
    };
    let source = match source {
        "prompt" | "prompt_ask_vault_pass" => Source::Prompt,
        path => Source::File(PathBuf::from(path)),
    };
    (label, source)
}

/// Reads a password from a file, or runs it when it is executable and takes what it prints, as
/// Ansible does (a script named `*-client` or `*-client.EXT` is asked for the label with
/// `--vault-id LABEL`). Surrounding whitespace is not part of the password.
pub fn read_password_file(label: &str, path: &Path) -> Result<VaultSecret> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the vault password file {}", path.display()))?;
    let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
    let mut bytes = if executable {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let mut command = std::process::Command::new(path);
        if stem.ends_with("-client") {
            command.args(["--vault-id", label]);
        }
        let output = command
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run the vault password script {}", path.display()))?;
        if !output.status.success() {
            bail!(
                "the vault password script {} failed ({})",
                path.display(),
                output.status
            );
        }
        output.stdout
    } else {
        std::fs::read(path)
            .with_context(|| format!("cannot read the vault password file {}", path.display()))?
    };
    let password = trim_ascii(&bytes).to_vec();
    bytes.zeroize();
    if password.is_empty() {
        bail!("the vault password file {} is empty", path.display());
    }
    Ok(VaultSecret::new(label, password, path.display().to_string()))
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(label: &str, password: &str) -> VaultSecret {
        VaultSecret::new(label, password.as_bytes().to_vec(), "test")
    }

    fn ring(secrets: Vec<VaultSecret>) -> Keyring {
        Keyring { secrets }
    }

    #[test]
    fn what_is_encrypted_decrypts_with_the_same_password_only() {
        let text = encrypt(b"db_password: hunter22\n", &secret("default", "pw")).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert!(text.lines().skip(1).all(|l| l.len() <= 80));
        let plain = decrypt_with(&text, &ring(vec![secret("default", "pw")])).unwrap();
        assert_eq!(&plain[..], b"db_password: hunter22\n");
        assert_eq!(
            decrypt_with(&text, &ring(vec![secret("default", "nope")])),
            Err(VaultError::WrongPassword { label: None })
        );
        assert_eq!(decrypt_with(&text, &ring(vec![])), Err(VaultError::NoPassword));
    }

    #[test]
    fn a_labelled_secret_writes_version_1_2_and_any_password_may_open_it() {
        let text = encrypt(b"x", &secret("prod", "pw")).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"), "{text}");
        assert_eq!(parse(&text).unwrap().label.as_deref(), Some("prod"));
        // Tried after the matching label, as Ansible does.
        let keyring = ring(vec![secret("dev", "other"), secret("staging", "pw")]);
        assert_eq!(&decrypt_with(&text, &keyring).unwrap()[..], b"x");
    }

    #[test]
    fn block_sized_and_empty_plaintexts_round_trip() {
        for plain in [&b""[..], b"0123456789abcdef", b"0123456789abcdef0"] {
            let text = encrypt(plain, &secret("default", "pw")).unwrap();
            assert_eq!(
                &decrypt_with(&text, &ring(vec![secret("default", "pw")])).unwrap()[..],
                plain
            );
        }
    }

    #[test]
    fn damaged_texts_are_named_for_what_is_wrong() {
        let text = encrypt(b"secret", &secret("default", "pw")).unwrap();
        let keyring = ring(vec![secret("default", "pw")]);
        let truncated: String = text.chars().take(text.len() / 2).collect();
        assert!(matches!(
            decrypt_with(&truncated, &keyring),
            Err(VaultError::Format(_))
        ));
        // One flipped hex digit in the ciphertext: the HMAC no longer matches.
        let mut tampered = text.clone().into_bytes();
        let at = tampered.len() - 3;
        tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            decrypt_with(std::str::from_utf8(&tampered).unwrap(), &keyring),
            Err(VaultError::WrongPassword { .. } | VaultError::Format(_))
        ));
        let version = text.replacen("1.1", "9.9", 1);
        assert!(matches!(
            decrypt_with(&version, &keyring),
            Err(VaultError::Unsupported(_))
        ));
        let cipher = text.replacen("AES256", "AES", 1);
        assert!(matches!(
            decrypt_with(&cipher, &keyring),
            Err(VaultError::Unsupported(_))
        ));
        assert!(matches!(
            parse("$ANSIBLE_VAULT;1.1;AES256\nzz\n"),
            Err(VaultError::Format(_))
        ));
    }

    #[test]
    fn vault_ids_name_a_label_and_a_source() {
        assert_eq!(parse_vault_id("prod@prompt"), ("prod".into(), Source::Prompt));
        assert_eq!(
            parse_vault_id("dev@/a/b"),
            ("dev".into(), Source::File("/a/b".into()))
        );
        assert_eq!(
            parse_vault_id("/a/b"),
            ("default".into(), Source::File("/a/b".into()))
        );
        assert_eq!(
            parse_vault_id("@x"),
            ("default".into(), Source::File("@x".into()))
        );
    }

    #[test]
    fn a_password_file_is_read_without_surrounding_whitespace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        std::fs::write(&path, "  s3cret \n").unwrap();
        let secret = read_password_file("default", &path).unwrap();
        assert_eq!(&secret.password[..], b"s3cret");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_password_file("default", &path)
            .unwrap_err()
            .to_string()
            .contains("is empty"));
    }

    #[test]
    fn an_executable_password_file_is_run_and_a_client_script_is_told_the_label() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pass.sh");
        std::fs::write(&script, "#!/bin/sh\necho from-script\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            &read_password_file("default", &script).unwrap().password[..],
            b"from-script"
        );
        let client = dir.path().join("store-client.sh");
        std::fs::write(
            &client,
            "#!/bin/sh\n[ \"$1\" = --vault-id ] && echo \"pw-for-$2\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            &read_password_file("prod", &client).unwrap().password[..],
            b"pw-for-prod"
        );
        let failing = dir.path().join("fail.sh");
        std::fs::write(&failing, "#!/bin/sh\nexit 3\n").unwrap();
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(read_password_file("default", &failing)
            .unwrap_err()
            .to_string()
            .contains("failed"));
    }
}
