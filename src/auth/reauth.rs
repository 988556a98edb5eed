//! Re-authentication: a signed-in user proves again that they hold the
//! account's credentials — the password, a second-factor code, or both —
//! before sudo mode opens, the password changes, MFA is turned off or the
//! account is deleted.
//!
//! Invariant: every re-check goes through `Reauth::confirm`, which owns the
//! throttle for it. It refuses with 429 while the account or the address is
//! locked out (the sign-in counters: a stolen session cookie must not become
//! an unthrottled way to guess the password), charges a failure to both
//! counters, and clears the account's counter on success, exactly as a
//! sign-in does — from a browser trusted for the account, the device's own
//! counter instead (`auth::devices`, malicious lock-out). The handler only
//! maps the typed outcome to its field error.

use std::sync::Arc;

use axum::http::HeaderMap;

use crate::auth::devices;
use crate::auth::mfa::{CodeError, CodeKind, verify_code};
use crate::auth::password::{HashError, PasswordHasher};
use crate::auth::throttle::{self, Throttled};
use crate::authz::proof::CurrentUser;
use crate::cipher::Cipher;
use crate::config::Config;
use crate::db::Db;
use crate::domain::Password;

/// What the form asked the user to enter again.
#[derive(Clone, Copy)]
pub enum Factors<'a> {
    /// The current password alone (password change).
    Password(&'a Password),
    /// The password, and a TOTP or backup code when the user has MFA on
    /// (sudo confirmation, account deletion).
    PasswordAndCode {
        password: &'a Password,
        code: &'a str,
    },
    /// A TOTP or backup code alone (turning MFA off, inside sudo mode).
    Code(&'a str),
}

/// The result of a re-check the handler shows: which field was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was right; `code` says which kind of code was
    /// accepted, if one was asked for.
    Confirmed {
        code: Option<CodeKind>,
    },
    WrongPassword,
    /// The password (if asked) was right, the code was not, or it was
    /// already used.
    WrongCode,
}

impl Outcome {
    pub fn is_confirmed(self) -> bool {
        matches!(self, Outcome::Confirmed { .. })
    }
}

/// Why a re-check could not be made. A lockout (`Throttled`, also for too
/// many code checks) is 429; anything else is an internal error with its
/// cause kept.
#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error("second-factor check")]
    Code(#[from] CodeError),
    #[error("password check")]
    Hash(#[from] HashError),
    #[error("database")]
    Storage(#[from] sqlx::Error),
}

/// What a re-check needs: storage for the hash and the counters, the
/// configured limits, the hasher, the cipher that opens TOTP secrets, and
/// the request's headers (a device cookie trusted for the account has its
/// own failure counter, `auth::devices`).
pub struct Reauth<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    pub passwords: &'a Arc<PasswordHasher>,
    pub cipher: &'a Cipher,
    pub headers: &'a HeaderMap,
}

impl Reauth<'_> {
    /// Checks `factors` for `user`, from address `ip`, at `now`.
    pub async fn confirm(
        &self,
        user: &CurrentUser,
        ip: &str,
        factors: Factors<'_>,
        now: i64,
    ) -> Result<Outcome, ReauthError> {
        let subject =
            devices::signin_subject(self.db, self.config, self.headers, user.email()).await?;
        throttle::check_signin(self.db, self.config, subject, ip, now).await?;
        let outcome = self.check(user, factors, now).await?;
        if outcome.is_confirmed() {
            throttle::clear_signin_failures(self.db, self.config, subject).await?;
        } else {
            throttle::record_signin_failure(self.db, self.config, subject, ip, now).await?;
        }
        Ok(outcome)
    }

    async fn check(
        &self,
        user: &CurrentUser,
        factors: Factors<'_>,
        now: i64,
    ) -> Result<Outcome, ReauthError> {
        let (password, code) = match factors {
            Factors::Password(p) => (Some(p), None),
            Factors::PasswordAndCode { password, code } => (Some(password), Some(code)),
            Factors::Code(c) => (None, Some(c)),
        };
        if let Some(password) = password {
            let stored = self.db.password_hash(user).await?;
            // A hash with weaker parameters is replaced at sign-in only; a
            // re-check just needs the yes or no.
            if !self
                .passwords
                .verify(password, Some(&stored))
                .await?
                .is_ok()
            {
                // The code is not looked at (nor consumed) when the password
                // is wrong.
                return Ok(Outcome::WrongPassword);
            }
        }
        let Some(code) = code else {
            return Ok(Outcome::Confirmed { code: None });
        };
        // With the password asked too, the code is wanted only where MFA is
        // on; asked alone, a user without MFA has no right code.
        if password.is_some() && !self.db.user_has_totp(user.id()).await? {
            return Ok(Outcome::Confirmed { code: None });
        }
        Ok(
            match verify_code(self.db, self.cipher, user.id(), code, now).await? {
                Some(kind) => Outcome::Confirmed { code: Some(kind) },
                None => Outcome::WrongCode,
            },
        )
    }
}
