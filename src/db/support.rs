//! Operators' support actions on one user's account (`/ops/users/{id}`):
//! reset MFA, clear sign-in lock-outs, revoke one key, sign out everywhere,
//! require a password change. (Deletion is `deletion::delete_account_by_operator`.)
//!
//! Invariant: each change, the operator's record (the `Event`s the caller
//! built: the platform log and each of the user's orgs' logs, with the
//! reason) and the notice for the user (`notification_outbox`, sent once
//! mail and in-app notifications exist) are written in one transaction; a
//! change that changes nothing writes nothing.

use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::{Db, in_tx};
use crate::authz::proof::PlatformScope;

/// One support action on one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportChange<'a> {
    /// Removes the TOTP secret and backup codes; the user must enrol again.
    ResetMfa,
    /// Deletes these rate-limit counters: the account's sign-in lock-outs
    /// (shared, per trusted device) and its code attempts, as named by
    /// `throttle::lockout_buckets`.
    ClearLockouts { counters: &'a [String] },
    /// Revokes one of the user's own keys.
    RevokeKey(Uuid),
    /// Ends every session of the user, pending MFA sign-ins included.
    SignOutEverywhere,
    /// Every page sends the user to change their password first.
    RequirePasswordChange,
}

impl SupportChange<'_> {
    /// The kind of notice the user gets about it.
    fn notice(self) -> &'static str {
        match self {
            SupportChange::ResetMfa => "support.mfa_reset",
            SupportChange::ClearLockouts { .. } => "support.lockouts_cleared",
            SupportChange::RevokeKey(_) => "support.key_revoked",
            SupportChange::SignOutEverywhere => "support.signed_out_everywhere",
            SupportChange::RequirePasswordChange => "support.password_change_required",
        }
    }
}

impl Db {
    /// Applies `change` to `user_id` and writes `records` (each with how
    /// many rows it changed, as `changed`) and the user's notice; returns how
    /// many rows it changed (0: nothing to do, and nothing written).
    pub async fn apply_support_change(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
        change: SupportChange<'_>,
        records: Vec<Event>,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let changed = in_tx!(self, |tx| {
            let changed = match change {
                SupportChange::ResetMfa => {
                    let n = sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    // Passkeys are second factors too: a reset for a lost
                    // device removes them all.
                    let n = n + sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n > 0 {
                        sqlx::query("UPDATE users SET must_enrol_mfa = TRUE WHERE id = $1")
                            .bind(user_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    n
                }
                SupportChange::ClearLockouts { counters } => {
                    let mut n = 0;
                    for bucket in counters {
                        n += sqlx::query("DELETE FROM rate_counters WHERE bucket = $1")
                            .bind(bucket)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                    n
                }
                SupportChange::RevokeKey(key_id) => sqlx::query(
                    "UPDATE api_keys SET revoked_at = $1 \
                     WHERE id = $2 AND owner_user_id = $3 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(key_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                SupportChange::SignOutEverywhere => {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1 OR pending_user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                }
                SupportChange::RequirePasswordChange => sqlx::query(
                    "UPDATE users SET must_change_password = TRUE \
                     WHERE id = $1 AND must_change_password = FALSE",
                )
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if changed > 0 {
                for record in records {
                    let record = record.with("changed", changed);
                    insert_event!(&mut *tx, &record, now)?;
                }
                sqlx::query(
                    "INSERT INTO notification_outbox (id, user_id, kind, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(Uuid::now_v7())
                .bind(user_id)
                .bind(change.notice())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            changed
        });
        Ok(changed)
    }
}
