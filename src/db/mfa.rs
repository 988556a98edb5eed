//! Multi-factor authentication: a user's TOTP secret, the last accepted step
//! and the backup-code digests.
//!
//! Invariants: MFA is on exactly when a `user_mfa` row exists; a TOTP step
//! and a backup code are each accepted at most once, decided by a single
//! conditional UPDATE so that two concurrent requests with the same code
//! cannot both succeed. Writes that a person makes on their own account take
//! the `CurrentUser` proof; the sign-in challenge, which runs before there is
//! one, takes the user id from the pending sign-in in the session.
//!
//! The TOTP secret is stored sealed (`crate::cipher`): new rows take a
//! `Sealed` value, never bytes, and `secret_format` says which rows predate
//! encryption (`PLAINTEXT`) until the start-up sweep seals them. Storage
//! only moves bytes; the caller passes the cryptography in as closures.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::CurrentUser;
use crate::cipher::Sealed;

/// `secret_format` of a secret stored before encryption at rest.
pub const PLAINTEXT: i64 = 0;
/// `secret_format` of a secret sealed with AES-256-GCM.
pub const SEALED_V1: i64 = 1;

/// MFA as the security page shows it.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct MfaStatus {
    pub enabled_at: i64,
    pub backup_codes_left: i64,
}

/// What checking a code needs.
#[derive(Debug, Clone, FromRow)]
pub struct MfaSecret {
    pub totp_secret: Vec<u8>,
    /// `PLAINTEXT` or `SEALED_V1`.
    pub secret_format: i64,
    pub last_used_step: Option<i64>,
}

/// A stored value that the key in use must open, checked before any
/// secret is rewritten.
#[derive(Debug)]
pub enum StoredSecret {
    /// The key-check value of `secret_key_check`.
    KeyCheck(Sealed),
    /// A user's sealed TOTP secret.
    Totp { user_id: Uuid, sealed: Sealed },
}

/// Replaces every backup code of `$user_id`, used or not, with the digests
/// `$digests`, inside the transaction `$tx` (enrolment and regeneration
/// both write a whole set). A macro because the transaction's type differs
/// per engine.
macro_rules! replace_codes {
    ($tx:ident, $user_id:expr, $digests:expr, $now:expr) => {
        sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        for digest in $digests {
            sqlx::query(
                "INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) \
                 VALUES ($1, $2, $3)",
            )
            .bind($user_id)
            .bind(digest)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

impl Db {
    /// Whether the user has a second factor: TOTP or a passkey (the
    /// organization policy hook).
    pub async fn user_has_mfa(&self, user_id: Uuid) -> Result<bool, sqlx::Error> {
        let n = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT (SELECT COUNT(*) FROM user_mfa WHERE user_id = $1) \
                 + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1)",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await
        })?;
        Ok(n > 0)
    }

    /// Whether the user has TOTP on (and so backup codes): the forms that
    /// ask for a code.
    pub async fn user_has_totp(&self, user_id: Uuid) -> Result<bool, sqlx::Error> {
        let n = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM user_mfa WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await
        })?;
        Ok(n > 0)
    }

    pub async fn mfa_status(&self, user_id: Uuid) -> Result<Option<MfaStatus>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MfaStatus>(
                "SELECT m.enabled_at, \
                 (SELECT COUNT(*) FROM mfa_backup_codes c \
                  WHERE c.user_id = m.user_id AND c.used_at IS NULL) AS backup_codes_left \
                 FROM user_mfa m WHERE m.user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn mfa_secret(&self, user_id: Uuid) -> Result<Option<MfaSecret>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MfaSecret>(
                "SELECT totp_secret, secret_format, last_used_step FROM user_mfa WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Turns MFA on with a confirmed secret and a fresh set of backup codes.
    /// `confirmed_step` is the step of the code that confirmed it, so that
    /// code cannot be replayed to sign in. Returns false (and changes
    /// nothing) when MFA was already on. `notice` (the security email) and
    /// `event` are written with the change.
    #[allow(clippy::too_many_arguments)]
    pub async fn enable_mfa(
        &self,
        user: &CurrentUser,
        secret: &Sealed,
        confirmed_step: i64,
        code_digests: &[Vec<u8>],
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let enabled = in_tx!(self, |tx| {
            // ON CONFLICT: a second confirmation racing this one inserts
            // nothing and keeps the first one's secret and codes.
            let inserted = sqlx::query(
                "INSERT INTO user_mfa \
                 (user_id, totp_secret, secret_format, last_used_step, enabled_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user.id())
            .bind(secret.as_bytes())
            .bind(SEALED_V1)
            .bind(confirmed_step)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                // Enrolled again: an operator's "enrol at next sign-in" is done.
                sqlx::query("UPDATE users SET must_enrol_mfa = FALSE WHERE id = $1")
                    .bind(user.id())
                    .execute(&mut *tx)
                    .await?;
                replace_codes!(tx, user.id(), code_digests, now);
                insert_mail!(&mut *tx, notice, now)?;
                insert_event!(&mut *tx, &event, now)?;
            }
            inserted == 1
        });
        Ok(enabled)
    }

    /// Records `step` as used if it is later than every step used before;
    /// false means the code is a replay (or older than one already used).
    pub async fn accept_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool, sqlx::Error> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE user_mfa SET last_used_step = $1 \
                 WHERE user_id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
            )
            .bind(step)
            .bind(user_id)
        )?;
        Ok(n == 1)
    }

    /// Marks an unused backup code as used; false when there is no such
    /// unused code.
    pub async fn consume_backup_code(
        &self,
        user_id: Uuid,
        digest: &[u8],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE mfa_backup_codes SET used_at = $1 \
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .bind(digest)
        )?;
        Ok(n == 1)
    }

    /// Replaces every backup code, used or not, with a new set. Returns false
    /// (and changes nothing) when MFA is off.
    pub async fn replace_backup_codes(
        &self,
        user: &CurrentUser,
        code_digests: &[Vec<u8>],
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let replaced = in_tx!(self, |tx| {
            let exists =
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM user_mfa WHERE user_id = $1")
                    .bind(user.id())
                    .fetch_one(&mut *tx)
                    .await?;
            if exists > 0 {
                replace_codes!(tx, user.id(), code_digests, now);
                insert_event!(&mut *tx, &event, now)?;
            }
            exists > 0
        });
        Ok(replaced)
    }

    /// Turns MFA off: the secret and every backup code go, in one
    /// transaction. Returns false when it was already off.
    pub async fn disable_mfa(
        &self,
        user: &CurrentUser,
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let removed = in_tx!(self, |tx| {
            sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            let removed = sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed > 0 {
                insert_mail!(&mut *tx, notice, now)?;
                insert_event!(&mut *tx, &event, now)?;
            }
            removed
        });
        Ok(removed > 0)
    }

    /// The start-up sweep, in one transaction: stores `new_check` as the key
    /// check unless one exists, has `verify` open the key check and one
    /// sealed TOTP secret (so a wrong key fails before anything is written),
    /// then seals every plaintext secret with `seal` and marks it
    /// `SEALED_V1`. Returns how many it sealed; run again, it seals none.
    pub async fn seal_plaintext_totp_secrets<E: From<sqlx::Error>>(
        &self,
        new_check: &Sealed,
        now: i64,
        mut verify: impl FnMut(StoredSecret) -> Result<(), E>,
        mut seal: impl FnMut(Uuid, &[u8]) -> Result<Sealed, E>,
    ) -> Result<u64, E> {
        let sealed = in_tx!(self, |tx| {
            // Two instances starting at once with different keys: the
            // second insert does nothing, and the second verify then fails.
            sqlx::query(
                "INSERT INTO secret_key_check (id, sealed, created_at) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(new_check.as_bytes())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let check: Vec<u8> =
                sqlx::query_scalar("SELECT sealed FROM secret_key_check WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
            verify(StoredSecret::KeyCheck(Sealed::from_stored(check)))?;
            // A check made by this very run proves nothing about older rows
            // (say the check row was lost): one stored secret must open too.
            let sample: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
                "SELECT user_id, totp_secret FROM user_mfa WHERE secret_format = $1 LIMIT 1",
            )
            .bind(SEALED_V1)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((user_id, bytes)) = sample {
                verify(StoredSecret::Totp {
                    user_id,
                    sealed: Sealed::from_stored(bytes),
                })?;
            }
            let plaintext: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
                "SELECT user_id, totp_secret FROM user_mfa WHERE secret_format = $1",
            )
            .bind(PLAINTEXT)
            .fetch_all(&mut *tx)
            .await?;
            let mut n = 0;
            for (user_id, bytes) in plaintext {
                let bytes = zeroize::Zeroizing::new(bytes);
                let sealed = seal(user_id, &bytes)?;
                n += sqlx::query(
                    "UPDATE user_mfa SET totp_secret = $1, secret_format = $2 \
                     WHERE user_id = $3 AND secret_format = $4",
                )
                .bind(sealed.as_bytes())
                .bind(SEALED_V1)
                .bind(user_id)
                .bind(PLAINTEXT)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            n
        });
        Ok(sealed)
    }

    /// Rekey, in one transaction: `verify` opens the key check (when there
    /// is one) with the current key, `reseal` rewrites every TOTP secret
    /// (given its format and stored bytes) under the new key, and the key
    /// check becomes `new_check`. Any error rolls everything back. Returns
    /// how many secrets were rewritten.
    pub async fn reseal_all_totp_secrets<E: From<sqlx::Error>>(
        &self,
        new_check: &Sealed,
        now: i64,
        mut verify: impl FnMut(StoredSecret) -> Result<(), E>,
        mut reseal: impl FnMut(Uuid, i64, Vec<u8>) -> Result<Sealed, E>,
    ) -> Result<u64, E> {
        let n = in_tx!(self, |tx| {
            let check: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT sealed FROM secret_key_check WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(check) = check {
                verify(StoredSecret::KeyCheck(Sealed::from_stored(check)))?;
            }
            let rows: Vec<(Uuid, i64, Vec<u8>)> =
                sqlx::query_as("SELECT user_id, secret_format, totp_secret FROM user_mfa")
                    .fetch_all(&mut *tx)
                    .await?;
            let mut n = 0;
            for (user_id, format, bytes) in rows {
                let sealed = reseal(user_id, format, bytes)?;
                n += sqlx::query(
                    "UPDATE user_mfa SET totp_secret = $1, secret_format = $2 WHERE user_id = $3",
                )
                .bind(sealed.as_bytes())
                .bind(SEALED_V1)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            sqlx::query(
                "INSERT INTO secret_key_check (id, sealed, created_at) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, \
                 created_at = excluded.created_at",
            )
            .bind(new_check.as_bytes())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            n
        });
        Ok(n)
    }
}
