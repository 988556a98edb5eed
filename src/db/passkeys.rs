//! Passkeys: a user's WebAuthn credentials (see `auth::passkeys`).
//!
//! Invariants: a credential id belongs to one account (unique index; a
//! second registration of it inserts nothing); a passkey is a second factor
//! like TOTP (`user_has_mfa`), so removing the last factor of a member of an
//! org that requires MFA is refused in the same transaction as the delete;
//! the stored credential (its counter) is replaced only if it is still the
//! one the assertion was checked against, so two concurrent sign-ins with
//! one counter value cannot both move it. Changes a person makes take the
//! `CurrentUser` proof; the sign-in steps, which run before there is one,
//! take the user id the passkey itself named.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::CurrentUser;

/// A passkey as the security page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub name: String,
    pub backed_up: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey with what checking an assertion needs.
#[derive(Debug, Clone, FromRow)]
pub struct StoredPasskey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The webauthn-rs `Passkey`, as JSON.
    pub credential: String,
}

/// A passkey to add.
pub struct NewPasskey<'a> {
    pub name: &'a str,
    pub credential_id: &'a str,
    pub credential: &'a str,
    pub backed_up: bool,
}

/// What removing a passkey did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// It is the person's last second factor and an org of theirs requires
    /// MFA, or their last passkey and an org requires one: nothing was
    /// removed.
    LastFactorRequired,
}

impl Db {
    /// The user's passkeys, oldest first.
    pub async fn list_passkeys(&self, user: &CurrentUser) -> Result<Vec<PasskeyRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, PasskeyRow>(
                "SELECT id, name, backed_up, created_at, last_used_at FROM passkeys \
                 WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user.id())
            .fetch_all(pool)
            .await
        })
    }

    /// Every passkey of `user_id`, with its credential (the MFA step, sudo).
    pub async fn user_passkeys(&self, user_id: Uuid) -> Result<Vec<StoredPasskey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, StoredPasskey>(
                "SELECT id, user_id, name, credential FROM passkeys \
                 WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// The passkey with `credential_id` (base64url), whoever holds it.
    pub async fn passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, StoredPasskey>(
                "SELECT id, user_id, name, credential FROM passkeys WHERE credential_id = $1",
            )
            .bind(credential_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Whether the user has a passkey.
    pub async fn user_has_passkey(&self, user_id: Uuid) -> Result<bool, sqlx::Error> {
        let n = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await
        })?;
        Ok(n > 0)
    }

    /// Adds a passkey, with its notice and event; it also meets an
    /// operator's "set up two-factor authentication" requirement. Returns
    /// false (and writes nothing) when the credential is registered already.
    pub async fn add_passkey(
        &self,
        user: &CurrentUser,
        passkey: &NewPasskey<'_>,
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let added = in_tx!(self, |tx| {
            let added = sqlx::query(
                "INSERT INTO passkeys \
                 (id, user_id, name, credential_id, credential, backed_up, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (credential_id) DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(user.id())
            .bind(passkey.name)
            .bind(passkey.credential_id)
            .bind(passkey.credential)
            .bind(passkey.backed_up)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if added {
                sqlx::query("UPDATE users SET must_enrol_mfa = FALSE WHERE id = $1")
                    .bind(user.id())
                    .execute(&mut *tx)
                    .await?;
                insert_mail!(&mut *tx, notice, now)?;
                insert_event!(&mut *tx, &event, now)?;
            }
            added
        });
        Ok(added)
    }

    /// Renames one of the user's passkeys; false if it is not theirs.
    pub async fn rename_passkey(
        &self,
        user: &CurrentUser,
        id: Uuid,
        name: &str,
    ) -> Result<bool, sqlx::Error> {
        let n = execute!(
            self,
            sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
                .bind(name)
                .bind(id)
                .bind(user.id())
        )?;
        Ok(n > 0)
    }

    /// Removes one of the user's passkeys, with its notice and event, unless
    /// it is their last second factor and an org they belong to requires
    /// MFA.
    pub async fn remove_passkey(
        &self,
        user: &CurrentUser,
        id: Uuid,
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<Removal, sqlx::Error> {
        let removal = in_tx!(self, |tx| {
            let removed = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed == 0 {
                Removal::NotFound
            } else {
                let stranded: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id \
                     WHERE m.user_id = $1 AND m.suspended_at IS NULL AND o.deleted_at IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = $1) \
                     AND (o.require_passkey OR (o.require_mfa \
                          AND NOT EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = $1)))",
                )
                .bind(user.id())
                .fetch_one(&mut *tx)
                .await?;
                if stranded > 0 {
                    // Dropping the transaction rolls the delete back.
                    return Ok(Removal::LastFactorRequired);
                }
                insert_mail!(&mut *tx, notice, now)?;
                insert_event!(&mut *tx, &event, now)?;
                Removal::Removed
            }
        });
        Ok(removal)
    }

    /// Records a use of passkey `id`: its credential becomes `after` (the
    /// new counter and backup state) only if it is still `before`, the one
    /// the assertion was checked against. False when another sign-in moved
    /// it first (the caller refuses this one).
    pub async fn record_passkey_use(
        &self,
        id: Uuid,
        before: &str,
        after: &str,
        backed_up: bool,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE passkeys SET credential = $1, backed_up = $2, last_used_at = $3 \
                 WHERE id = $4 AND credential = $5",
            )
            .bind(after)
            .bind(backed_up)
            .bind(now)
            .bind(id)
            .bind(before)
        )?;
        Ok(n > 0)
    }
}
