//! Digests, password hashes and UUIDs.

use super::*;

pub(super) fn hash(value: &Value, kind: Option<&str>) -> Result<String, Error> {
    let data = text_of(value)?;
    let data = data.as_bytes();
    Ok(match kind.unwrap_or("sha1") {
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "md5" => hex(&md5::Md5::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: unsupported hash type '{other}' (supported: md5, sha1, sha224, sha256, sha384, sha512)"
            )))
        }
    })
}

pub(super) fn random_salt() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| invalid(format!("password_hash: no randomness for a salt: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 64)]))
        .collect())
}

pub(super) fn password_hash(
    value: &Value,
    kind: Option<String>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let salt = kwargs.get::<Option<Value>>("salt")?.or(salt);
    let rounds = kwargs.get::<Option<u32>>("rounds")?;
    kwargs.assert_all_used()?;
    let kind = kind.unwrap_or_else(|| "sha512".to_string());
    if kind != "sha512" && kind != "sha512_crypt" {
        return Err(invalid(format!(
            "password_hash: unsupported hash type '{kind}' (supported: sha512)"
        )));
    }
    let salt = match salt.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(s) => text_of(&s)?,
        None => random_salt()?,
    };
    if !crate::template::crypt::valid_salt(&salt) {
        return Err(invalid(
            "password_hash: the salt may only hold the characters ./0-9A-Za-z",
        ));
    }
    let password = text_of(value)?;
    Ok(crate::template::crypt::sha512_crypt(
        password.as_bytes(),
        &salt,
        rounds.unwrap_or(crate::template::crypt::DEFAULT_ROUNDS),
    ))
}

/// `to_uuid`: a version 5 UUID in Ansible's namespace.
pub(super) fn to_uuid(value: &Value, namespace: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let namespace = kwargs.get::<Option<String>>("namespace")?.or(namespace);
    kwargs.assert_all_used()?;
    let namespace = namespace.unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".to_string());
    let ns_hex: String = namespace.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if ns_hex.len() != 32 {
        return Err(invalid(format!("to_uuid: invalid namespace '{namespace}'")));
    }
    let ns_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&ns_hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    let mut hasher = sha1::Sha1::new();
    hasher.update(&ns_bytes);
    hasher.update(text_of(value)?.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
