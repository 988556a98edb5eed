//! One-time links sent by email: password reset, account set-up (the first
//! password of an account someone else created) and email verification.
//!
//! The person has no session proof here: their proof is the link's secret,
//! and only its SHA-256 is stored (`user_tokens`). A link is for one
//! purpose, one user and the address it was sent to; it works once, until
//! it expires, and only while that address is still the account's and the
//! account is enabled. Using it is one conditional UPDATE inside the
//! transaction of the change it allows, so two tabs racing with the same
//! link change things once. Issuing a link spends the user's earlier unused
//! links of the same purpose, and queues the email that carries it in the
//! same transaction (`db::outbox`).

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::PlatformScope;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    /// The first password of an account created by SCIM or an operator.
    AccountSetup,
    EmailVerification,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::AccountSetup => "account_setup",
            Purpose::EmailVerification => "email_verification",
        }
    }

    /// How long a link of this purpose works.
    pub fn ttl_secs(self) -> i64 {
        match self {
            Purpose::PasswordReset => RESET_TTL_SECS,
            Purpose::AccountSetup => SETUP_TTL_SECS,
            Purpose::EmailVerification => VERIFICATION_TTL_SECS,
        }
    }
}

/// Length of a link's secret (base62, ≈190 bits).
pub const LINK_TOKEN_LEN: usize = 32;
/// A password-reset link works for 30 minutes.
pub const RESET_TTL_SECS: i64 = 30 * 60;
/// An account set-up link works for 7 days: the person may not read the
/// message the day their account is made.
pub const SETUP_TTL_SECS: i64 = 7 * 24 * 3600;
/// An email-verification link works for a day.
pub const VERIFICATION_TTL_SECS: i64 = 24 * 3600;

/// A link to issue inside another change's transaction (sign-up): the
/// digest of its secret and the message that carries it.
#[derive(Debug, Clone, Copy)]
pub struct NewLink<'a> {
    pub purpose: Purpose,
    pub token_digest: &'a [u8],
    pub mail: &'a NewMail,
}

/// Stores `$link` (`&NewLink`) for `$user_id` at `$email` and queues its
/// message, on the transaction `$tx`.
macro_rules! insert_link {
    ($tx:ident, $user_id:expr, $email:expr, $link:expr, $now:expr) => {{
        let link: &$crate::db::recovery::NewLink<'_> = $link;
        sqlx::query(
            "INSERT INTO user_tokens (token_digest, user_id, purpose, email, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(link.token_digest)
        .bind($user_id)
        .bind(link.purpose.as_str())
        .bind($email)
        .bind($now)
        .bind($now + link.purpose.ttl_secs())
        .execute(&mut *$tx)
        .await?;
        $crate::db::outbox::insert_mail!(&mut *$tx, link.mail, $now)?;
    }};
}
pub(crate) use insert_link;

/// The account a recovery request names (by its address).
#[derive(Debug, Clone, FromRow)]
pub struct RecoveryAccount {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub disabled_at: Option<i64>,
    pub email_verified_at: Option<i64>,
}

/// The account a valid link is for.
#[derive(Debug, Clone, FromRow)]
pub struct LinkOwner {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, FromRow)]
struct LinkRow {
    user_id: Uuid,
    email: String,
    display_name: String,
    link_email: String,
    expires_at: i64,
    used_at: Option<i64>,
    disabled_at: Option<i64>,
}

/// What a link resolves to.
#[derive(Debug, Clone)]
pub enum LinkLookup {
    Valid(LinkOwner),
    /// Used, expired, superseded, or its address or account changed since.
    Spent,
    Unknown,
}

/// Spends the link of purpose `$2` with digest `$1` at `$3`, if it may be
/// used then, returning its user: one statement, so a link works once.
macro_rules! spend_link_sql {
    () => {
        "UPDATE user_tokens SET used_at = $3 WHERE token_digest = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3 \
         AND email = (SELECT u.email FROM users u WHERE u.id = user_tokens.user_id \
                      AND u.disabled_at IS NULL) RETURNING user_id"
    };
}

impl Db {
    /// The account with this (normalised) address, if any.
    pub async fn find_recovery_account(
        &self,
        email: &str,
    ) -> Result<Option<RecoveryAccount>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RecoveryAccount>(
                "SELECT id, email, display_name, disabled_at, email_verified_at \
                 FROM users WHERE email = $1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    /// Issues a link: the user's earlier unused links of this purpose stop
    /// working, the new digest is stored, and `mail` (which carries the
    /// link) and `event` are written, all in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_link(
        &self,
        user_id: Uuid,
        email: &str,
        purpose: Purpose,
        token_digest: &[u8],
        mail: &NewMail,
        event: &Event,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE user_tokens SET used_at = $1 \
                 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
            let link = NewLink {
                purpose,
                token_digest,
                mail,
            };
            insert_link!(tx, user_id, email, &link, now);
            insert_event!(&mut *tx, event, now)?;
        });
        Ok(())
    }

    /// Resolves a link's digest for `purpose`.
    pub async fn link_by_token(
        &self,
        token_digest: &[u8],
        purpose: Purpose,
        now: i64,
    ) -> Result<LinkLookup, sqlx::Error> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, LinkRow>(
                "SELECT t.user_id, u.email, u.display_name, t.email AS link_email, t.expires_at, \
                 t.used_at, u.disabled_at FROM user_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_digest = $1 AND t.purpose = $2",
            )
            .bind(token_digest)
            .bind(purpose.as_str())
            .fetch_optional(pool)
            .await
        })?;
        Ok(match row {
            None => LinkLookup::Unknown,
            Some(r)
                if r.used_at.is_none()
                    && r.expires_at > now
                    && r.disabled_at.is_none()
                    && r.link_email == r.email =>
            {
                LinkLookup::Valid(LinkOwner {
                    user_id: r.user_id,
                    email: r.email,
                    display_name: r.display_name,
                })
            }
            Some(_) => LinkLookup::Spent,
        })
    }

    /// Uses a password-reset or account set-up link (`purpose`): in one
    /// transaction the link is spent (only if still usable and for
    /// `owner`), the password replaced, every session of the user (and any
    /// pending MFA sign-in) ended, the user's other reset and set-up links
    /// spent (either sets the password, so neither may set it again later),
    /// the address marked verified (the link reached it), and `notice` and
    /// `event` (`sessions_revoked` added) written. `None` when the link was
    /// no longer usable: nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_password_with_link(
        &self,
        token_digest: &[u8],
        purpose: Purpose,
        owner: &LinkOwner,
        new_hash: &str,
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<Option<u64>, sqlx::Error> {
        in_tx!(self, |tx| {
            let claimed: Option<Uuid> = sqlx::query_scalar(spend_link_sql!())
                .bind(token_digest)
                .bind(purpose.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if claimed != Some(owner.user_id) {
                // Rolls back: an early return from `in_tx!` commits nothing.
                return Ok(None);
            }
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2, \
                 must_change_password = FALSE, \
                 email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $3",
            )
            .bind(new_hash)
            .bind(now)
            .bind(owner.user_id)
            .execute(&mut *tx)
            .await?;
            let revoked =
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 OR pending_user_id = $1")
                    .bind(owner.user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            sqlx::query(
                "UPDATE user_tokens SET used_at = $1 \
                 WHERE user_id = $2 AND purpose IN ($3, $4) AND used_at IS NULL",
            )
            .bind(now)
            .bind(owner.user_id)
            .bind(Purpose::PasswordReset.as_str())
            .bind(Purpose::AccountSetup.as_str())
            .execute(&mut *tx)
            .await?;
            // A pending email change may be someone else's doing: the reset
            // ends it, so its link (at an address they control) dies too.
            sqlx::query(super::email_changes::SPEND_ALL_SQL)
                .bind(now)
                .bind(owner.user_id)
                .execute(&mut *tx)
                .await?;
            insert_mail!(&mut *tx, notice, now)?;
            insert_event!(&mut *tx, &event.with("sessions_revoked", revoked), now)?;
            Ok(Some(revoked))
        })
    }

    /// Uses an email-verification link: spends it (only if still usable
    /// and for `owner`) and marks the address verified, with `event`, in one
    /// transaction. False when the link was no longer usable.
    pub async fn verify_email_with_link(
        &self,
        token_digest: &[u8],
        owner: &LinkOwner,
        event: &Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        in_tx!(self, |tx| {
            let claimed: Option<Uuid> = sqlx::query_scalar(spend_link_sql!())
                .bind(token_digest)
                .bind(Purpose::EmailVerification.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if claimed != Some(owner.user_id) {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) \
                 WHERE id = $2 AND email = $3",
            )
            .bind(now)
            .bind(owner.user_id)
            .bind(&owner.email)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, event, now)?;
            Ok(true)
        })
    }

    /// Whether the account has never had a password (created by SCIM or an
    /// operator, its set-up link not followed yet).
    pub async fn awaits_setup(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash = '' \
                 AND disabled_at IS NULL",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await
        })?;
        Ok(n > 0)
    }

    /// An operator sends an account's set-up link again: only while the
    /// account (enabled, at `email`) still has no password — checked in the
    /// transaction — its earlier set-up links stop working, `setup` is
    /// stored and its message queued, with the operator's `records`. False
    /// when the account no longer awaits set-up: nothing changed.
    pub async fn resend_setup_link(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
        email: &str,
        setup: &NewLink<'_>,
        records: &[Event],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        in_tx!(self, |tx| {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE id = $1 AND email = $2 \
                 AND password_hash = '' AND disabled_at IS NULL",
            )
            .bind(user_id)
            .bind(email)
            .fetch_one(&mut *tx)
            .await?;
            if waiting == 0 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE user_tokens SET used_at = $1 \
                 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .bind(setup.purpose.as_str())
            .execute(&mut *tx)
            .await?;
            insert_link!(tx, user_id, email, setup, now);
            for event in records {
                insert_event!(&mut *tx, event, now)?;
            }
            Ok(true)
        })
    }
}
