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

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

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

    /// Hashes a new password into a PHC string.
    pub async fn hash(self: &Arc<Self>, password: &NewPassword) -> Result<String, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        self.run(move |h| h.hash_blocking(&bytes)).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no account (`stored` is `None`), so both take the same time.
    pub async fn verify(
        self: &Arc<Self>,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let verified = self
            .run(move |h| h.verify_blocking(&bytes, &stored))
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
