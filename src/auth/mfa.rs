//! The second factor: checking a code a person typed (a TOTP code or a backup
//! code), and the session state of the flows that need one.
//!
//! - A **pending sign-in** (`PendingSignIn`) is what a session holds between
//!   a correct password and a correct code. It lives under its own key, not
//!   the `uid` key: `CurrentUser` (and so every page) still treats the
//!   session as anonymous, and the session row has no user id — only a
//!   `pending_user_id`, so that a password change, "sign out everywhere
//!   else", disabling or deleting the account ends it (`auth::store`). It expires
//!   after `PENDING_TTL_SECS` and after `limits::MAX_CHALLENGE_FAILURES` wrong codes.
//! - An **enrolment** (`Enrolment`) keeps the new secret in the session until
//!   a code confirms it; nothing reaches the database before that.
//! - **Fresh backup codes** (`FreshCodes`) keep a just-generated set in the
//!   session for a few minutes, for the page that shows them and the one
//!   download; they are never readable again after that.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::backup_codes;
use super::session::{AppSession, SessionError};
use super::store::KEY_PENDING_SIGN_IN as KEY_PENDING;
use super::throttle;
use super::totp::{TotpSecret, TotpSetupError};
use crate::cipher::CipherError;
use crate::cipher::{Cipher, Sealed};
use crate::db::Db;
use crate::db::mfa::PLAINTEXT;

/// How long a person has to type the code after the password.
pub const PENDING_TTL_SECS: i64 = 5 * 60;
/// How long just-generated backup codes stay readable in the session.
pub const FRESH_CODES_TTL_SECS: i64 = 10 * 60;

const KEY_ENROLMENT: &str = "mfa_enrolment";
const KEY_FRESH_CODES: &str = "mfa_fresh_codes";

/// Why a code could not be checked (a wrong code is not an error: it is
/// `Ok(None)`). The HTML error converts from it, keeping the cause.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Too many code checks for this user: 429.
    #[error(transparent)]
    Throttled(#[from] throttle::Throttled),
    #[error("database")]
    Storage(#[from] sqlx::Error),
    #[error("TOTP")]
    Totp(#[from] TotpSetupError),
    #[error("stored TOTP secret has the wrong length")]
    CorruptSecret,
    #[error("stored TOTP secret does not open")]
    Sealed(#[from] CipherError),
}

/// Which kind of code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Totp,
    BackupCode,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Totp => "totp",
            CodeKind::BackupCode => "backup_code",
        }
    }
}

/// Checks `input` as the second factor of `user_id` at `now`, and consumes
/// it when it is right: a TOTP step is recorded (a replay of it, or of any
/// earlier step, is refused from then on) and a backup code is marked used.
/// `None` when the code is wrong, already used, or the user has no MFA.
///
/// Every call first reserves an attempt in the user's code-attempt bucket
/// (429 beyond the limit, whatever the code), so parallel guesses are
/// counted before any of them is checked; a right code clears the bucket.
pub async fn verify_code(
    db: &Db,
    cipher: &Cipher,
    user_id: Uuid,
    input: &str,
    now: i64,
) -> Result<Option<CodeKind>, CodeError> {
    throttle::reserve_code_attempt(db, user_id, now).await?;
    let kind = check_code(db, cipher, user_id, input, now).await?;
    if kind.is_some() {
        throttle::clear_code_attempts(db, user_id).await?;
    }
    Ok(kind)
}

async fn check_code(
    db: &Db,
    cipher: &Cipher,
    user_id: Uuid,
    input: &str,
    now: i64,
) -> Result<Option<CodeKind>, CodeError> {
    let Some(stored) = db.mfa_secret(user_id).await? else {
        return Ok(None);
    };
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.len() == usize::from(super::totp::DIGITS)
        && compact.bytes().all(|b| b.is_ascii_digit())
    {
        let secret = if stored.secret_format == PLAINTEXT {
            // Written by an instance that predates encryption at rest (a
            // rolling upgrade); the next start-up seals it.
            TotpSecret::from_bytes(stored.totp_secret).ok_or(CodeError::CorruptSecret)?
        } else {
            TotpSecret::open(cipher, user_id, &Sealed::from_stored(stored.totp_secret))?
        };
        let step = secret.matching_step(&compact, now)?;
        return Ok(match step {
            // The conditional update refuses a step not above the last one
            // used: the same code twice, or an older code after a newer one.
            Some(step) if db.accept_totp_step(user_id, step).await? => Some(CodeKind::Totp),
            _ => None,
        });
    }
    if let Some(normalized) = backup_codes::normalize(input) {
        let digest = backup_codes::digest(user_id, &normalized);
        if db.consume_backup_code(user_id, &digest, now).await? {
            return Ok(Some(CodeKind::BackupCode));
        }
    }
    Ok(None)
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub user_id: Uuid,
    pub started_at: i64,
    pub failures: u32,
    /// Where to go after the challenge (already checked by `safe_next`).
    pub next: String,
    /// The trusted device the password step came from, if any: the code
    /// step counts failures against the same counter (`throttle`).
    #[serde(default)]
    pub device: Option<Uuid>,
}

impl PendingSignIn {
    pub fn expired(&self, now: i64) -> bool {
        now >= self.started_at + PENDING_TTL_SECS
    }
}

impl AppSession {
    /// Turns this session into a pending sign-in: everything earlier is
    /// dropped and the id rotated (as at sign-in), then the pending state is
    /// stored. The session stays anonymous until `sign_in`.
    pub async fn begin_mfa_challenge(&self, pending: &PendingSignIn) -> Result<(), SessionError> {
        self.reset().await?;
        self.put(KEY_PENDING, pending).await
    }

    pub async fn pending_sign_in(&self) -> Result<Option<PendingSignIn>, SessionError> {
        self.get(KEY_PENDING).await
    }

    pub async fn update_pending_sign_in(
        &self,
        pending: &PendingSignIn,
    ) -> Result<(), SessionError> {
        self.put(KEY_PENDING, pending).await
    }

    pub async fn drop_pending_sign_in(&self) -> Result<(), SessionError> {
        self.remove(KEY_PENDING).await
    }
}

/// A secret being enrolled, not yet confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Enrolment {
    secret: String,
}

impl AppSession {
    /// The secret of the enrolment in progress, or a new one. Reloading the
    /// setup page keeps the secret the person may already have scanned.
    pub async fn enrolment_secret(&self) -> Result<TotpSecret, SessionError> {
        if let Some(e) = self.get::<Enrolment>(KEY_ENROLMENT).await?
            && let Some(secret) = TotpSecret::from_base32(&e.secret)
        {
            return Ok(secret);
        }
        let secret = TotpSecret::generate();
        self.put(
            KEY_ENROLMENT,
            &Enrolment {
                secret: secret.to_base32(),
            },
        )
        .await?;
        Ok(secret)
    }

    /// The secret of the enrolment in progress, if any (without creating one).
    pub async fn existing_enrolment_secret(&self) -> Result<Option<TotpSecret>, SessionError> {
        Ok(self
            .get::<Enrolment>(KEY_ENROLMENT)
            .await?
            .and_then(|e| TotpSecret::from_base32(&e.secret)))
    }

    pub async fn end_enrolment(&self) -> Result<(), SessionError> {
        self.remove(KEY_ENROLMENT).await
    }
}

/// Backup codes just generated, readable for a few minutes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FreshCodes {
    codes: Vec<String>,
    created_at: i64,
}

impl AppSession {
    pub async fn keep_fresh_codes(&self, codes: &[String], now: i64) -> Result<(), SessionError> {
        self.put(
            KEY_FRESH_CODES,
            &FreshCodes {
                codes: codes.to_vec(),
                created_at: now,
            },
        )
        .await
    }

    /// The fresh codes, if still readable.
    pub async fn fresh_codes(&self, now: i64) -> Result<Option<Vec<String>>, SessionError> {
        let Some(fresh) = self.get::<FreshCodes>(KEY_FRESH_CODES).await? else {
            return Ok(None);
        };
        if now >= fresh.created_at + FRESH_CODES_TTL_SECS {
            self.remove(KEY_FRESH_CODES).await?;
            return Ok(None);
        }
        Ok(Some(fresh.codes))
    }

    /// The fresh codes, removed from the session (the one download).
    pub async fn take_fresh_codes(&self, now: i64) -> Result<Option<Vec<String>>, SessionError> {
        let codes = self.fresh_codes(now).await?;
        if codes.is_some() {
            self.remove(KEY_FRESH_CODES).await?;
        }
        Ok(codes)
    }

    /// Forgets the fresh codes if there are any (without marking the
    /// session modified otherwise).
    pub async fn forget_fresh_codes(&self) -> Result<(), SessionError> {
        if self
            .get::<serde_json::Value>(KEY_FRESH_CODES)
            .await?
            .is_some()
        {
            self.remove(KEY_FRESH_CODES).await?;
        }
        Ok(())
    }
}
