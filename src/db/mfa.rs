//! Multi-factor authentication: a user's TOTP secret, the last accepted step
//! and the backup-code digests.
//!
//! Invariants: MFA is on exactly when a `user_mfa` row exists; a TOTP step
//! and a backup code are each accepted at most once, decided by a single
//! conditional UPDATE so that two concurrent requests with the same code
//! cannot both succeed. Writes that a person makes on their own account take
//! the `CurrentUser` proof; the sign-in challenge, which runs before there is
//! one, takes the user id from the pending sign-in in the session.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, in_tx, on_pool};
use crate::authz::proof::CurrentUser;

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
    pub last_used_step: Option<i64>,
}

impl Db {
    /// Whether the user has MFA on (the organization policy hook).
    pub async fn user_has_mfa(&self, user_id: Uuid) -> Result<bool, sqlx::Error> {
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
                "SELECT totp_secret, last_used_step FROM user_mfa WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Turns MFA on with a confirmed secret and a fresh set of backup codes.
    /// `confirmed_step` is the step of the code that confirmed it, so that
    /// code cannot be replayed to sign in. Returns false (and changes
    /// nothing) when MFA was already on.
    pub async fn enable_mfa(
        &self,
        user: &CurrentUser,
        secret: &[u8],
        confirmed_step: i64,
        code_digests: &[Vec<u8>],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let enabled = in_tx!(self, |tx| {
            // ON CONFLICT: a second confirmation racing this one inserts
            // nothing and keeps the first one's secret and codes.
            let inserted = sqlx::query(
                "INSERT INTO user_mfa (user_id, totp_secret, last_used_step, enabled_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user.id())
            .bind(secret)
            .bind(confirmed_step)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
                    .bind(user.id())
                    .execute(&mut *tx)
                    .await?;
                for digest in code_digests {
                    sqlx::query(
                        "INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(user.id())
                    .bind(digest)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            inserted == 1
        });
        Ok(enabled)
    }

    /// Records `step` as used if it is later than every step used before;
    /// false means the code is a replay (or older than one already used).
    pub async fn accept_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool, sqlx::Error> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE user_mfa SET last_used_step = $1 \
                 WHERE user_id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
            )
            .bind(step)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
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
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE mfa_backup_codes SET used_at = $1 \
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .bind(digest)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Replaces every backup code, used or not, with a new set. Returns false
    /// (and changes nothing) when MFA is off.
    pub async fn replace_backup_codes(
        &self,
        user: &CurrentUser,
        code_digests: &[Vec<u8>],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let replaced = in_tx!(self, |tx| {
            let exists =
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM user_mfa WHERE user_id = $1")
                    .bind(user.id())
                    .fetch_one(&mut *tx)
                    .await?;
            if exists > 0 {
                sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
                    .bind(user.id())
                    .execute(&mut *tx)
                    .await?;
                for digest in code_digests {
                    sqlx::query(
                        "INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(user.id())
                    .bind(digest)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            exists > 0
        });
        Ok(replaced)
    }

    /// Turns MFA off: the secret and every backup code go, in one
    /// transaction. Returns false when it was already off.
    pub async fn disable_mfa(&self, user: &CurrentUser) -> Result<bool, sqlx::Error> {
        let removed = in_tx!(self, |tx| {
            sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(removed > 0)
    }
}
