//! `password_hash('sha512')`: SHA-crypt (`$6$`), byte-identical to passlib's.
//!
//! The `user` module compares the hash in `/etc/shadow` with the one a role computes, so a
//! role that sets `password: "{{ pw | password_hash('sha512', 'salt') }}"` only converges if
//! the hash is exactly the one Ansible computes. This is Ulrich Drepper's SHA-crypt
//! specification, with Ansible's default of 656000 rounds (written in the hash, as passlib does).

use sha2::{Digest, Sha512};

/// The rounds Ansible asks passlib for when none are given.
pub const DEFAULT_ROUNDS: u32 = 656_000;
/// The rounds the specification implies when the hash does not say.
const IMPLICIT_ROUNDS: u32 = 5_000;

const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `salt` only uses the characters crypt salts may hold.
pub fn valid_salt(salt: &str) -> bool {
    salt.bytes().all(|b| ALPHABET.contains(&b))
}

/// `$6$[rounds=N$]salt$hash`; the salt is cut to 16 characters, rounds clamped to 1000..=999999999.
pub fn sha512_crypt(password: &[u8], salt: &str, rounds: u32) -> String {
    let rounds = rounds.clamp(1000, 999_999_999);
    let salt = &salt.as_bytes()[..salt.len().min(16)];
    let digest_b = Sha512::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();

    let mut a = Sha512::new().chain_update(password).chain_update(salt);
    let mut remaining = password.len();
    while remaining > 64 {
        a.update(digest_b);
        remaining -= 64;
    }
    a.update(&digest_b[..remaining]);
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            a.update(digest_b);
        } else {
            a.update(password);
        }
        length >>= 1;
    }
    let digest_a = a.finalize();

    let mut dp = Sha512::new();
    for _ in 0..password.len() {
        dp.update(password);
    }
    let p_bytes = repeat_to(&dp.finalize(), password.len());
    let mut ds = Sha512::new();
    for _ in 0..16 + usize::from(digest_a[0]) {
        ds.update(salt);
    }
    let s_bytes = repeat_to(&ds.finalize(), salt.len());

    let mut c = digest_a;
    for i in 0..rounds {
        let mut ctx = Sha512::new();
        if i % 2 == 1 {
            ctx.update(&p_bytes);
        } else {
            ctx.update(c);
        }
        if i % 3 != 0 {
            ctx.update(&s_bytes);
        }
        if i % 7 != 0 {
            ctx.update(&p_bytes);
        }
        if i % 2 == 1 {
            ctx.update(c);
        } else {
            ctx.update(&p_bytes);
        }
        c = ctx.finalize();
    }

    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut encoded = String::with_capacity(86);
    for (x, y, z) in ORDER {
        encode_24(&mut encoded, c[x], c[y], c[z], 4);
    }
    encode_24(&mut encoded, 0, 0, c[63], 2);

    let salt = String::from_utf8_lossy(salt);
    if rounds == IMPLICIT_ROUNDS {
        format!("$6${salt}${encoded}")
    } else {
        format!("$6$rounds={rounds}${salt}${encoded}")
    }
}

fn repeat_to(digest: &[u8], length: usize) -> Vec<u8> {
    digest.iter().copied().cycle().take(length).collect()
}

fn encode_24(out: &mut String, b2: u8, b1: u8, b0: u8, chars: usize) {
    let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
    for _ in 0..chars {
        out.push(char::from(ALPHABET[(w & 0x3f) as usize]));
        w >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors from the SHA-crypt specification.
    #[test]
    fn matches_the_specification_vectors() {
        assert_eq!(
            sha512_crypt(b"Hello world!", "saltstring", 5000),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            sha512_crypt(b"Hello world!", "saltstringsaltstring", 10000),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
    }
}
