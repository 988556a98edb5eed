//! Password hashing with argon2id at the OWASP parameters (19 MiB, 2 passes,
//! 1 lane), always off the async runtime.
//!
//! At most `concurrency` hashes run at once (a semaphore), each in one of as
//! many preallocated 19 MiB buffers: a burst of sign-ins can neither exhaust
//! memory nor stall the other requests, and the allocator never has to hold
//! on to hundreds of freed hash buffers. Verification recomputes the hash
//! with the stored parameters and salt into such a buffer and compares in
//! constant time. Unknown accounts are verified against a dummy hash so that
//! they take as long as a wrong password.
//!
//! Passwords are Unicode-normalised (NFKC, NIST SP 800-63B 5.1.1.2) before
//! hashing, so the same password typed in composed or decomposed form (é as
//! U+00E9 or as e + U+0301) is the same password. Hashes made before that
//! from the raw input still verify: when the normalised input does not match
//! and the raw input differs from it, the raw input is tried too, and a match
//! is rehashed from the normalised form. Whether that second attempt runs
//! depends only on what was typed, never on the account, so its time says
//! nothing about which accounts exist or how their hash was made.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use unicode_normalization::{UnicodeNormalization as _, is_nfkc};

use crate::domain::{NewPassword, Password};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but the stored hash uses weaker parameters: here is a new one.
    YesRehashed(String),
}

impl Verified {
    pub fn is_ok(&self) -> bool {
        !matches!(self, Verified::No)
    }
}

#[derive(Debug)]
pub struct PasswordHasher {
    permits: Semaphore,
    buffers: Mutex<Vec<Vec<Block>>>,
    max_buffers: usize,
    params: Params,
    dummy_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(String),
    #[error("password hashing task failed")]
    Join,
}

/// The password as hashed: its NFKC form (borrowed when already in it).
fn normalized(password: &str) -> Cow<'_, str> {
    if is_nfkc(password) {
        Cow::Borrowed(password)
    } else {
        Cow::Owned(password.nfkc().collect())
    }
}

fn owasp_params() -> Params {
    // 19 MiB, 2 passes, 1 lane, 32-byte output: OWASP's argon2id baseline.
    Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or(Params::DEFAULT)
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Result<Arc<Self>, HashError> {
        let concurrency = concurrency.max(1);
        let params = owasp_params();
        let mut hasher = Self {
            permits: Semaphore::new(concurrency),
            buffers: Mutex::new(Vec::with_capacity(concurrency)),
            max_buffers: concurrency,
            params,
            dummy_hash: String::new(),
        };
        hasher.dummy_hash = hasher.hash_blocking(b"gatehouse dummy password for timing")?;
        Ok(Arc::new(hasher))
    }

    /// Hashes a new password, NFKC-normalised, into a PHC string.
    pub async fn hash(self: &Arc<Self>, password: &NewPassword) -> Result<String, HashError> {
        let bytes = normalized(password.expose()).into_owned().into_bytes();
        self.run(move |h| h.hash_blocking(&bytes)).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no account or no password (`stored` is `None` or empty), so
    /// every case takes the same time.
    pub async fn verify(
        self: &Arc<Self>,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let raw = password.expose();
        let normal = normalized(raw);
        // The raw form, only when normalising changed it (then it may be
        // what a hash from before normalisation was made from).
        let legacy = matches!(normal, Cow::Owned(_)).then(|| raw.as_bytes().to_vec());
        let bytes = normal.into_owned().into_bytes();
        // An account with no password yet (provisioned by SCIM: an empty
        // hash) is verified like an unknown one, so it takes as long.
        let stored = stored.filter(|s| !s.is_empty());
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let verified = self
            .run(move |h| {
                let verified = h.verify_blocking(&bytes, &stored)?;
                let Some(legacy) = legacy.filter(|_| !verified.is_ok()) else {
                    return Ok(verified);
                };
                // Also for the dummy hash: an unknown account takes as long
                // as a known one with the same input.
                Ok(match h.verify_blocking(&legacy, &stored)? {
                    Verified::No => Verified::No,
                    _ => Verified::YesRehashed(h.hash_blocking(&bytes)?),
                })
            })
            .await?;
        Ok(if exists { verified } else { Verified::No })
    }

    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Self) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|_| HashError::Join)?
    }

    fn take_buffer(&self, blocks: usize) -> Vec<Block> {
        let pooled = self.buffers.lock().ok().and_then(|mut pool| pool.pop());
        match pooled {
            Some(buf) if buf.len() == blocks => buf,
            _ => vec![Block::default(); blocks],
        }
    }

    fn return_buffer(&self, buf: Vec<Block>) {
        // Only buffers of the current size are kept, and never more than the
        // number of permits.
        if buf.len() == self.params.block_count()
            && let Ok(mut pool) = self.buffers.lock()
            && pool.len() < self.max_buffers
        {
            pool.push(buf);
        }
    }

    fn compute(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        let mut buf = self.take_buffer(params.block_count());
        let result = Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, out, &mut buf)
            .map_err(|e| HashError::Argon2(e.to_string()));
        self.return_buffer(buf);
        result
    }

    fn hash_blocking(&self, password: &[u8]) -> Result<String, HashError> {
        let mut salt_bytes = [0u8; 16];
        rand::fill(&mut salt_bytes);
        let salt = Salt::new(&salt_bytes).map_err(|e| HashError::Argon2(e.to_string()))?;
        let mut out = [0u8; 32];
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
            password,
            &salt_bytes,
            &mut out,
        )?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)
                .map_err(|e| HashError::Argon2(e.to_string()))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| HashError::Argon2(e.to_string()))?),
        };
        Ok(phc.to_string())
    }

    fn verify_blocking(&self, password: &[u8], stored: &str) -> Result<Verified, HashError> {
        let Ok(phc) = PasswordHash::new(stored) else {
            return Ok(Verified::No);
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(phc.algorithm.as_str()),
            Params::try_from(&phc),
            phc.salt.as_ref(),
            phc.hash.as_ref(),
        ) else {
            return Ok(Verified::No);
        };
        let version = phc
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or(Version::V0x13);
        let mut out = vec![0u8; expected.len()];
        self.compute(
            algorithm,
            version,
            params.clone(),
            password,
            salt.as_ref(),
            &mut out,
        )?;
        if !bool::from(out.as_slice().ct_eq(expected.as_ref())) {
            return Ok(Verified::No);
        }
        let current = algorithm == Algorithm::Argon2id
            && version == Version::V0x13
            && params.m_cost() >= self.params.m_cost()
            && params.t_cost() >= self.params.t_cost()
            && params.p_cost() >= self.params.p_cost();
        if current {
            Ok(Verified::Yes)
        } else {
            Ok(Verified::YesRehashed(self.hash_blocking(password)?))
        }
    }
}

/// Hashes with weaker parameters than the current ones: only for tests that
/// prove old hashes are upgraded at sign-in.
#[doc(hidden)]
pub fn weak_hash_for_tests(password: &str) -> String {
    use argon2::PasswordHasher as _;
    let params = Params::new(1024, 1, 1, Some(32)).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> NewPassword {
        NewPassword::parse(&Password::new(s), &[]).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher.hash(&pw("Correct-Horse-Battery-42!")).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let ok = hasher
            .verify(&Password::new("Correct-Horse-Battery-42!"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(ok, Verified::Yes);
        let bad = hasher
            .verify(&Password::new("Correct-Horse-Battery-43!"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(bad, Verified::No);
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(1).unwrap();
        let v = hasher
            .verify(&Password::new("gatehouse dummy password for timing"), None)
            .await
            .unwrap();
        assert_eq!(v, Verified::No);
    }

    #[tokio::test]
    async fn an_account_without_a_password_never_verifies_and_pays_the_same_hash() {
        let hasher = PasswordHasher::new(1).unwrap();
        // The dummy hash's own password, to show the dummy was checked and
        // still refused.
        let v = hasher
            .verify(
                &Password::new("gatehouse dummy password for timing"),
                Some(""),
            )
            .await
            .unwrap();
        assert_eq!(v, Verified::No);
    }

    #[tokio::test]
    async fn weaker_hashes_are_upgraded() {
        let hasher = PasswordHasher::new(1).unwrap();
        let weak = weak_hash_for_tests("Correct-Horse-Battery-42!");
        let v = hasher
            .verify(&Password::new("Correct-Horse-Battery-42!"), Some(&weak))
            .await
            .unwrap();
        let Verified::YesRehashed(new) = v else {
            panic!("expected a rehash, got {v:?}");
        };
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    const COMPOSED: &str = "Caf\u{e9}-Correct-Horse-9!";
    const DECOMPOSED: &str = "Cafe\u{301}-Correct-Horse-9!";

    #[tokio::test]
    async fn composed_and_decomposed_forms_are_the_same_password() {
        assert_ne!(COMPOSED, DECOMPOSED);
        let hasher = PasswordHasher::new(1).unwrap();
        for typed_at_signup in [COMPOSED, DECOMPOSED] {
            let hash = hasher.hash(&pw(typed_at_signup)).await.unwrap();
            for typed in [COMPOSED, DECOMPOSED] {
                let v = hasher.verify(&Password::new(typed), Some(&hash)).await;
                assert_eq!(
                    v.unwrap(),
                    Verified::Yes,
                    "{typed_at_signup:?} then {typed:?}"
                );
            }
            let wrong = Password::new("Cafe-Correct-Horse-9!");
            let v = hasher.verify(&wrong, Some(&hash)).await;
            assert_eq!(v.unwrap(), Verified::No);
        }
    }

    #[tokio::test]
    async fn a_hash_of_the_raw_decomposed_input_verifies_and_is_rehashed_normalised() {
        use argon2::PasswordHasher as _;
        let hasher = PasswordHasher::new(1).unwrap();
        // As hashed before normalisation: the raw bytes, current parameters.
        let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
            .hash_password(DECOMPOSED.as_bytes())
            .unwrap()
            .to_string();
        let v = hasher.verify(&Password::new(DECOMPOSED), Some(&old)).await;
        let Verified::YesRehashed(new) = v.unwrap() else {
            panic!("expected a rehash from the normalised form");
        };
        for typed in [COMPOSED, DECOMPOSED] {
            let v = hasher.verify(&Password::new(typed), Some(&new)).await;
            assert_eq!(v.unwrap(), Verified::Yes, "{typed:?}");
        }
        // The composed form never matched the raw decomposed hash, and a
        // wrong password with a non-normal form does not either.
        let v = hasher.verify(&Password::new(COMPOSED), Some(&old)).await;
        assert_eq!(v.unwrap(), Verified::No);
        let wrong = Password::new("Cafe\u{301}-Wrong-Horse-9!");
        let v = hasher.verify(&wrong, Some(&old)).await;
        assert_eq!(v.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn garbage_hashes_do_not_verify() {
        let hasher = PasswordHasher::new(1).unwrap();
        let v = hasher
            .verify(&Password::new("x"), Some("not a phc string"))
            .await
            .unwrap();
        assert_eq!(v, Verified::No);
    }
}
