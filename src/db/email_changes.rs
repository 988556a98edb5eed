//! Email change: a pending request to move an account to a new address,
//! applied only when the link sent to that address is followed.
//!
//! Only the SHA-256 of the link's secret is stored (`email_changes`). A
//! request works once, until it expires, only while it is the user's newest
//! and only while the account's address is still the one it was asked from
//! (and the account is enabled). Asking again, changing the password and
//! resetting it spend the earlier requests, so a link already sent to an
//! address someone else controls dies with the password they knew.
//! Applying is one conditional UPDATE of the request inside the transaction
//! that changes the address, so two tabs racing with one link change it
//! once; a second account taking the address meanwhile hits the unique
//! index on `users.email` and nothing changes.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::CurrentUser;

/// A change link works for a day.
pub const EMAIL_CHANGE_TTL_SECS: i64 = 24 * 3600;

/// A request that may still be confirmed.
#[derive(Debug, Clone, FromRow)]
pub struct PendingChange {
    pub user_id: Uuid,
    pub old_email: String,
    pub new_email: String,
    pub display_name: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, FromRow)]
struct ChangeRow {
    user_id: Uuid,
    old_email: String,
    new_email: String,
    display_name: String,
    expires_at: i64,
    used_at: Option<i64>,
    email: String,
    disabled_at: Option<i64>,
}

/// What a change link resolves to.
#[derive(Debug, Clone)]
pub enum ChangeLookup {
    Valid(PendingChange),
    /// Used, expired, superseded, or the account's address changed since.
    Spent,
    Unknown,
}

/// What confirming a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Applied; this many other sessions were signed out.
    Changed { sessions_revoked: u64 },
    /// The link was no longer usable: nothing changed.
    Spent,
    /// Another account uses the new address now: nothing changed.
    Taken,
}

/// Spends every unused change request of user `$2` at `$1`: asking
/// again, and a password change or reset, end the earlier requests.
pub(crate) const SPEND_ALL_SQL: &str =
    "UPDATE email_changes SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL";

impl Db {
    /// Stores a request to move `user` to `new_email`, spending the user's
    /// earlier requests, and queues `confirm` (the link, to the new address)
    /// and `notice` (to the current address), with `event`, in one
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn request_email_change(
        &self,
        user: &CurrentUser,
        new_email: &str,
        token_digest: &[u8],
        confirm: &NewMail,
        notice: &NewMail,
        event: &Event,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        in_tx!(self, |tx| {
            sqlx::query(SPEND_ALL_SQL)
                .bind(now)
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO email_changes (token_digest, user_id, old_email, new_email, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_digest)
            .bind(user.id())
            .bind(user.email())
            .bind(new_email)
            .bind(now)
            .bind(now + EMAIL_CHANGE_TTL_SECS)
            .execute(&mut *tx)
            .await?;
            insert_mail!(&mut *tx, confirm, now)?;
            insert_mail!(&mut *tx, notice, now)?;
            insert_event!(&mut *tx, event, now)?;
        });
        Ok(())
    }

    /// The user's newest request that may still be confirmed, if any.
    pub async fn pending_email_change(
        &self,
        user: &CurrentUser,
        now: i64,
    ) -> Result<Option<PendingChange>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, PendingChange>(
                "SELECT c.user_id, c.old_email, c.new_email, u.display_name, c.expires_at \
                 FROM email_changes c JOIN users u ON u.id = c.user_id \
                 WHERE c.user_id = $1 AND c.used_at IS NULL AND c.expires_at > $2 \
                 AND c.old_email = u.email ORDER BY c.created_at DESC LIMIT 1",
            )
            .bind(user.id())
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    /// Resolves a change link's digest.
    pub async fn email_change_by_token(
        &self,
        token_digest: &[u8],
        now: i64,
    ) -> Result<ChangeLookup, sqlx::Error> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, ChangeRow>(
                "SELECT c.user_id, c.old_email, c.new_email, u.display_name, c.expires_at, \
                 c.used_at, u.email, u.disabled_at FROM email_changes c \
                 JOIN users u ON u.id = c.user_id WHERE c.token_digest = $1",
            )
            .bind(token_digest)
            .fetch_optional(pool)
            .await
        })?;
        Ok(match row {
            None => ChangeLookup::Unknown,
            Some(r)
                if r.used_at.is_none()
                    && r.expires_at > now
                    && r.disabled_at.is_none()
                    && r.old_email == r.email =>
            {
                ChangeLookup::Valid(PendingChange {
                    user_id: r.user_id,
                    old_email: r.old_email,
                    new_email: r.new_email,
                    display_name: r.display_name,
                    expires_at: r.expires_at,
                })
            }
            Some(_) => ChangeLookup::Spent,
        })
    }

    /// Confirms a change: in one transaction the link is spent (only if
    /// still usable and for `change`'s user), the address replaced and
    /// marked verified (the link reached it), the copy org member lists
    /// sort by updated, every session of the user but `keep_session` (and
    /// any pending MFA sign-in) ended, and `notice` (to the old address) and
    /// `event` (`sessions_revoked` added) written.
    pub async fn confirm_email_change(
        &self,
        token_digest: &[u8],
        change: &PendingChange,
        keep_session: &[u8],
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<ChangeOutcome, sqlx::Error> {
        in_tx!(self, |tx| {
            let claimed: Option<Uuid> = sqlx::query_scalar(
                "UPDATE email_changes SET used_at = $2 WHERE token_digest = $1 \
                 AND used_at IS NULL AND expires_at > $2 \
                 AND old_email = (SELECT u.email FROM users u WHERE u.id = email_changes.user_id \
                                  AND u.disabled_at IS NULL) RETURNING user_id",
            )
            .bind(token_digest)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if claimed != Some(change.user_id) {
                // Rolls back: an early return from `in_tx!` commits nothing.
                return Ok(ChangeOutcome::Spent);
            }
            // The unique index decides a race with a sign-up or another
            // change to the same address; the error ends the transaction
            // (rolled back on return), so the link stays unspent.
            let changed = sqlx::query(
                "UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(&change.new_email)
            .bind(now)
            .bind(change.user_id)
            .execute(&mut *tx)
            .await;
            match changed {
                Err(e) if is_unique_violation(&e) => return Ok(ChangeOutcome::Taken),
                other => other?,
            };
            sqlx::query("UPDATE memberships SET member_email = $1 WHERE user_id = $2")
                .bind(&change.new_email)
                .bind(change.user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(SPEND_ALL_SQL)
                .bind(now)
                .bind(change.user_id)
                .execute(&mut *tx)
                .await?;
            let revoked = sqlx::query(
                "DELETE FROM sessions WHERE (user_id = $1 AND id_hash <> $2) \
                 OR pending_user_id = $1",
            )
            .bind(change.user_id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            insert_mail!(&mut *tx, notice, now)?;
            insert_event!(&mut *tx, &event.with("sessions_revoked", revoked), now)?;
            Ok(ChangeOutcome::Changed {
                sessions_revoked: revoked,
            })
        })
    }
}
