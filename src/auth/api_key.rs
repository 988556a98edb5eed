//! The API key format and its digest.
//!
//! A key reads `gtk_<public id>_<secret><checksum>`:
//! - `gtk_`: a fixed prefix, so secret scanners can recognise a Gatehouse key;
//! - the public id: 12 base62 characters, the key's name in URLs and the
//!   index it is looked up by (O(1));
//! - the secret: 32 base62 characters from the OS random generator (≈190 bits);
//! - the checksum: CRC32 of everything before it, 6 base62 characters, so a
//!   typo or a truncated copy is rejected before any database lookup.
//!
//! Only the SHA-256 of the secret is stored; a presented secret is compared
//! with it in constant time. (The secret is random and long, so a fast hash
//! is the right one: there is nothing to brute-force.)

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "gtk_";
pub const PUBLIC_ID_LEN: usize = 12;
pub const SECRET_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Uniform random base62 text (rejection sampling: no modulo bias).
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut buf = [0u8; 64];
        rand::fill(&mut buf);
        for b in buf {
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

fn checksum(body: &str) -> String {
    let crc = crc32fast::hash(body.as_bytes());
    let encoded = base62::encode(crc);
    format!("{encoded:0>width$}", width = CHECKSUM_LEN)
}

/// A full key, as shown once to its owner. `Debug` never prints it.
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A freshly generated key: its public id, the token to show once and the
/// digest to store.
#[derive(Debug)]
pub struct Issued {
    pub public_id: String,
    pub token: Token,
    pub digest: Vec<u8>,
}

/// Generates a key with a new public id.
pub fn issue() -> Issued {
    issue_for(&random_base62(PUBLIC_ID_LEN))
}

/// Generates a new secret for an existing public id (rotation).
pub fn issue_for(public_id: &str) -> Issued {
    let secret = random_base62(SECRET_LEN);
    let body = format!("{PREFIX}{public_id}_{secret}");
    let token = format!("{body}{}", checksum(&body));
    Issued {
        public_id: public_id.to_owned(),
        token: Token(token),
        digest: digest(&secret),
    }
}

pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Why a presented string is not a well-formed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    Malformed,
    BadChecksum,
}

/// A well-formed key with a valid checksum (not yet checked against the
/// database).
pub struct Presented<'a> {
    pub public_id: &'a str,
    secret: &'a str,
}

impl fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Presented({})", self.public_id)
    }
}

impl<'a> Presented<'a> {
    pub fn parse(token: &'a str) -> Result<Self, FormatError> {
        let rest = token.strip_prefix(PREFIX).ok_or(FormatError::Malformed)?;
        let (public_id, tail) = rest.split_once('_').ok_or(FormatError::Malformed)?;
        let well_formed = public_id.len() == PUBLIC_ID_LEN
            && tail.len() == SECRET_LEN + CHECKSUM_LEN
            && public_id
                .bytes()
                .chain(tail.bytes())
                .all(|b| b.is_ascii_alphanumeric());
        if !well_formed {
            return Err(FormatError::Malformed);
        }
        let (secret, sum) = tail.split_at(SECRET_LEN);
        let body = &token[..token.len() - CHECKSUM_LEN];
        if checksum(body) != sum {
            return Err(FormatError::BadChecksum);
        }
        Ok(Self { public_id, secret })
    }

    /// Constant-time comparison of the secret with a stored digest.
    pub fn matches(&self, stored: &[u8]) -> bool {
        bool::from(digest(self.secret).as_slice().ct_eq(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_parse_and_match_their_digest() {
        let k = issue();
        let t = k.token.expose();
        assert!(t.starts_with("gtk_"));
        assert_eq!(t.len(), 4 + PUBLIC_ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN);
        let p = Presented::parse(t).unwrap();
        assert_eq!(p.public_id, k.public_id);
        assert!(p.matches(&k.digest));
        assert!(!p.matches(&issue().digest));
    }

    #[test]
    fn a_typo_fails_the_checksum_before_any_lookup() {
        let k = issue();
        let t = k.token.expose();
        let i = 4 + PUBLIC_ID_LEN + 1 + 5;
        let mut chars: Vec<char> = t.chars().collect();
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(
            Presented::parse(&typo).unwrap_err(),
            FormatError::BadChecksum
        );
    }

    #[test]
    fn malformed_strings_are_refused() {
        for bad in [
            "",
            "gtk_",
            "ghp_abc",
            "gtk_short_x",
            "Bearer gtk_x",
            "gtk_!!!!!!!!!!!!_xxx",
        ] {
            assert_eq!(
                Presented::parse(bad).unwrap_err(),
                FormatError::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn rotation_keeps_the_public_id() {
        let k = issue();
        let r = issue_for(&k.public_id);
        assert_eq!(r.public_id, k.public_id);
        assert_ne!(r.token.expose(), k.token.expose());
    }

    #[test]
    fn debug_never_prints_the_token() {
        let k = issue();
        assert!(!format!("{k:?}").contains(k.token.expose()));
    }

    #[test]
    fn random_text_uses_the_whole_alphabet() {
        let s = random_base62(4000);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(s.contains('z') && s.contains('0') && s.contains('Z'));
    }
}
