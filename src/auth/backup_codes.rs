//! Backup codes: ten single-use codes a person keeps on paper for the day
//! their phone is lost.
//!
//! Each code is 12 characters drawn uniformly from an alphabet without look-
//! alikes (no 0/o, 1/l/i), shown as `xxxx-xxxx-xxxx`: about 59 bits of
//! entropy. Only a SHA-256 digest is stored. A fast hash is enough here, unlike
//! for passwords: the codes are random, not chosen by people, so there is no
//! dictionary to try, and a brute force over 2^59 candidates per code is out
//! of reach. The user id is mixed into the digest so that equal codes of two
//! users never share a digest.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How many codes a set has.
pub const COUNT: usize = 10;
/// Characters per code (separators excluded).
pub const LEN: usize = 12;
/// At or below this many unused codes the security page warns.
pub const LOW_WATERMARK: i64 = 3;

const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const GROUP: usize = 4;

/// A fresh set of codes, as they are shown (`xxxx-xxxx-xxxx`).
pub fn generate() -> Vec<String> {
    (0..COUNT).map(|_| generate_one()).collect()
}

fn generate_one() -> String {
    let raw: String = (0..LEN)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect();
    display(&raw)
}

fn display(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    chars
        .chunks(GROUP)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form of what a person typed, if it can be a backup code:
/// separators and spaces dropped, case folded.
pub fn normalize(input: &str) -> Option<String> {
    let raw: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = raw.len() == LEN && raw.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(raw)
}

/// What is stored for a code of `user_id` (in canonical form).
pub fn digest(user_id: Uuid, normalized: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(user_id.as_bytes());
    h.update(normalized.as_bytes());
    h.finalize().to_vec()
}

/// The digests of a freshly generated set, for storage.
pub fn digests(user_id: Uuid, codes: &[String]) -> Vec<Vec<u8>> {
    codes
        .iter()
        .filter_map(|c| normalize(c))
        .map(|n| digest(user_id, &n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_has_ten_distinct_well_formed_codes() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        for c in &codes {
            assert_eq!(c.len(), LEN + 2, "{c}");
            let n = normalize(c).unwrap();
            assert_eq!(n.len(), LEN);
            assert!(!n.contains(['0', '1', 'o', 'l', 'i']));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        assert_eq!(digests(Uuid::nil(), &codes).len(), COUNT);
    }

    #[test]
    fn typing_is_forgiving_about_case_spaces_and_dashes_only() {
        assert_eq!(normalize("ABCD-EFGH-JKMN"), Some("abcdefghjkmn".into()));
        assert_eq!(normalize(" abcd efgh jkmn "), Some("abcdefghjkmn".into()));
        assert_eq!(normalize("abcd-efgh-jkm"), None, "too short");
        assert_eq!(
            normalize("abcd-efgh-jkmo"),
            None,
            "o is not in the alphabet"
        );
        assert_eq!(normalize("123456"), None);
    }

    #[test]
    fn digests_differ_between_users() {
        let a = digest(Uuid::nil(), "abcdefghjkmn");
        let b = digest(Uuid::max(), "abcdefghjkmn");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }
}
