//! Encryption of the secrets the server must read back (TOTP shared secrets):
//! AES-256-GCM under one 32-byte key, with a fresh random 96-bit nonce for
//! every sealing, stored in front of the ciphertext (`nonce || ciphertext ||
//! tag`).
//!
//! Invariants: a `Sealed` value is made only by `Cipher::seal` or read back
//! from storage, so a query that stores a `Sealed` cannot be handed a
//! plaintext secret by mistake. Every sealing binds a *context* (what the
//! secret is and whose it is) as associated data, so a sealed value copied
//! into another user's row does not open there. Random nonces are safe at
//! this volume: NIST SP 800-38D 8.3 allows 2^32 random-nonce sealings per key,
//! and Gatehouse seals once per MFA enrolment (and once per secret at rekey).
//!
//! This module is pure: it knows no storage and no configuration.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine as _;
use zeroize::Zeroizing;

pub const KEY_BYTES: usize = 32;
pub const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// The 32-byte key. `Debug` never prints it, and it is wiped when dropped.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_BYTES]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Why a key text is not a key. The messages never quote the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("it is not base64")]
    NotBase64,
    #[error("it decodes to {0} bytes, not 32")]
    WrongLength(usize),
}

impl SecretKey {
    /// 256 random bits from the thread's CSPRNG.
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random::<[u8; KEY_BYTES]>()))
    }

    /// A key written as standard base64 of 32 bytes (with or without the
    /// trailing `=`), as `openssl rand -base64 32` prints it. Surrounding
    /// white space (a key file's newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let text = text.trim_end_matches('=');
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(text)
                .map_err(|_| KeyError::NotBase64)?,
        );
        let key: [u8; KEY_BYTES] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength(bytes.len()))?;
        Ok(Self(Zeroizing::new(key)))
    }

    /// The key as `parse` reads it (for writing a key file).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0.as_slice()))
    }
}

/// A sealed secret as stored: nonce, ciphertext and tag. Not secret itself,
/// but useless without the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl Sealed {
    /// A value read back from storage (it is checked when it is opened).
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// Wrong key, wrong context, or altered bytes: GCM cannot tell which.
    #[error("the sealed secret does not open with this key (wrong key, or altered data)")]
    DoesNotOpen,
    #[error("the secret is too long to seal")]
    TooLong,
}

/// AES-256-GCM under one key. `Debug` never prints the key; the expanded
/// key schedule is wiped when dropped (aes-gcm's `zeroize` feature).
pub struct Cipher(Aes256Gcm);

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(<redacted>)")
    }
}

impl Cipher {
    pub fn new(key: &SecretKey) -> Self {
        Self(Aes256Gcm::new(&(*key.0).into()))
    }

    /// Seals `plaintext` under a new random nonce, bound to `context`.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Sealed, CipherError> {
        let nonce_bytes = rand::random::<[u8; NONCE_BYTES]>();
        let ciphertext = self
            .0
            .encrypt(
                &nonce_bytes.into(),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| CipherError::TooLong)?;
        let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        Ok(Sealed(out))
    }

    /// Opens what `seal` made with the same key and context; anything else
    /// (another key, another context, one flipped bit) is refused.
    pub fn open(&self, context: &[u8], sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        if sealed.0.len() < NONCE_BYTES + TAG_BYTES {
            return Err(CipherError::DoesNotOpen);
        }
        let (nonce, ciphertext) = sealed.0.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| CipherError::DoesNotOpen)?;
        self.0
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CipherError::DoesNotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_context() {
        let cipher = Cipher::new(&SecretKey::generate());
        let sealed = cipher.seal(b"ctx", SECRET).unwrap();
        assert_eq!(
            sealed.as_bytes().len(),
            NONCE_BYTES + SECRET.len() + TAG_BYTES
        );
        assert!(!sealed.as_bytes().windows(SECRET.len()).any(|w| w == SECRET));
        assert_eq!(cipher.open(b"ctx", &sealed).unwrap().as_slice(), SECRET);
    }

    #[test]
    fn every_sealing_uses_a_new_nonce() {
        let cipher = Cipher::new(&SecretKey::generate());
        let a = cipher.seal(b"ctx", SECRET).unwrap();
        let b = cipher.seal(b"ctx", SECRET).unwrap();
        assert_ne!(a.as_bytes()[..NONCE_BYTES], b.as_bytes()[..NONCE_BYTES]);
        assert_ne!(a, b);
    }

    #[test]
    fn tampered_ciphertext_nonce_or_tag_is_refused() {
        let cipher = Cipher::new(&SecretKey::generate());
        let sealed = cipher.seal(b"ctx", SECRET).unwrap();
        for i in [0, NONCE_BYTES, sealed.as_bytes().len() - 1] {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 1;
            assert_eq!(
                cipher.open(b"ctx", &Sealed::from_stored(bytes)),
                Err(CipherError::DoesNotOpen),
                "flipped byte {i}"
            );
        }
        let short = Sealed::from_stored(sealed.as_bytes()[..NONCE_BYTES + 3].to_vec());
        assert_eq!(cipher.open(b"ctx", &short), Err(CipherError::DoesNotOpen));
        assert_eq!(
            cipher.open(b"ctx", &Sealed::from_stored(SECRET.to_vec())),
            Err(CipherError::DoesNotOpen)
        );
    }

    #[test]
    fn a_wrong_key_or_another_context_is_refused() {
        let cipher = Cipher::new(&SecretKey::generate());
        let other = Cipher::new(&SecretKey::generate());
        let sealed = cipher.seal(b"user a", SECRET).unwrap();
        assert_eq!(
            other.open(b"user a", &sealed),
            Err(CipherError::DoesNotOpen)
        );
        assert_eq!(
            cipher.open(b"user b", &sealed),
            Err(CipherError::DoesNotOpen)
        );
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_never_printed() {
        let key = SecretKey::generate();
        let text = key.to_base64();
        let again = SecretKey::parse(&format!("  {}\n", text.as_str())).unwrap();
        let sealed = Cipher::new(&key).seal(b"c", SECRET).unwrap();
        assert_eq!(
            Cipher::new(&again).open(b"c", &sealed).unwrap().as_slice(),
            SECRET
        );
        // Without the padding, as some generators print it.
        assert!(SecretKey::parse(text.trim_end_matches('=')).is_ok());
        assert_eq!(
            SecretKey::parse("not base64!").unwrap_err(),
            KeyError::NotBase64
        );
        assert_eq!(
            SecretKey::parse("c2hvcnQ=").unwrap_err(),
            KeyError::WrongLength(5)
        );
        let hex = "00".repeat(32);
        assert_eq!(
            SecretKey::parse(&hex).unwrap_err(),
            KeyError::WrongLength(48)
        );
        assert!(!format!("{key:?}").contains(text.as_str()));
        assert_eq!(format!("{:?}", Cipher::new(&key)), "Cipher(<redacted>)");
    }
}
