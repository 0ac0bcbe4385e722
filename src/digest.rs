//! The one place digests are computed and spelled out.
//!
//! Plans compare file contents, password hashes and saved inputs by their SHA-256, and the
//! `hash` filter prints digests the way Python's `hexdigest()` does. Every one of them must be
//! the same lowercase hex of the same bytes, or a file that is up to date would look changed
//! (or the reverse); so they are all made here.

use sha2::{Digest as _, Sha256};

/// Lowercase hex of `bytes`, two digits a byte, as Python's `hexdigest()` spells a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The SHA-256 of `bytes`, in lowercase hex (what `sha256sum` prints).
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex(&Sha256::digest(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0, 1, 0xab, 0xff]), "0001abff");
    }

    #[test]
    fn sha256_matches_sha256sum() {
        // `printf '' | sha256sum` and `printf 'abc' | sha256sum`.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
