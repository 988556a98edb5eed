//! Master keys: platform-level API keys for operators' automation.
//!
//! They are kept apart from personal keys (table `master_keys`): a master key
//! has no owner and no scopes, so the personal-key lookup can never return
//! one and this lookup never returns a personal key. Creation and rotation
//! happen only from the command line (`gatehouse operator master-key …`);
//! the console lists them and revokes them (with a reason). Rotation replaces
//! the digest at once: after it only the new secret works.
//!
//! Master keys are platform-wide authority, so every function here takes a
//! `PlatformScope` (an operator, the `MasterKey` extractor while it checks a
//! key, or the command line).

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, execute_audited, insert_event};
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::PlatformScope;

/// A master key's metadata (never its digest).
#[derive(Debug, Clone, FromRow)]
pub struct MasterKey {
    pub id: Uuid,
    pub public_id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
}

impl MasterKey {
    pub fn status(&self, now: i64) -> crate::db::keys::KeyStatus {
        use crate::db::keys::KeyStatus;
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if self.expires_at <= now {
            KeyStatus::Expired
        } else if self.expires_at - now <= 7 * 86_400 {
            KeyStatus::Expiring
        } else {
            KeyStatus::Active
        }
    }

    pub fn prefix(&self) -> String {
        format!("{}{}", crate::auth::api_key::PREFIX, self.public_id)
    }
}

/// What the bearer check needs.
#[derive(Debug, Clone, FromRow)]
pub struct MasterKeyCredentials {
    pub id: Uuid,
    pub public_id: String,
    pub name: String,
    pub secret_digest: Vec<u8>,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl Db {
    // The scope proof and the event builder are the two arguments the audit
    // and proofs work added; the key's own columns stay separate arguments.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_master_key(
        &self,
        _scope: &PlatformScope,
        public_id: &str,
        name: &str,
        digest: &[u8],
        expires_at: i64,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO master_keys (id, public_id, name, secret_digest, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(public_id)
            .bind(name)
            .bind(digest)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &event(id), now)?;
        });
        Ok(id)
    }

    /// Every master key, newest first.
    pub async fn list_master_keys(
        &self,
        _scope: &PlatformScope,
    ) -> Result<Vec<MasterKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MasterKey>(
                "SELECT id, public_id, name, created_at, expires_at, rotated_at, revoked_at, \
                 revoked_reason, last_used_at, last_used_ip FROM master_keys \
                 ORDER BY created_at DESC, id DESC",
            )
            .fetch_all(pool)
            .await
        })
    }

    pub async fn find_master_key(
        &self,
        _scope: &PlatformScope,
        public_id: &str,
    ) -> Result<Option<MasterKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MasterKey>(
                "SELECT id, public_id, name, created_at, expires_at, rotated_at, revoked_at, \
                 revoked_reason, last_used_at, last_used_ip FROM master_keys WHERE public_id = $1",
            )
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn master_key_credentials(
        &self,
        _scope: &PlatformScope,
        public_id: &str,
    ) -> Result<Option<MasterKeyCredentials>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MasterKeyCredentials>(
                "SELECT id, public_id, name, secret_digest, expires_at, revoked_at, last_used_at \
                 FROM master_keys WHERE public_id = $1",
            )
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Replaces the secret of an unrevoked, unexpired key; the old secret
    /// stops working at once. False when there is no such usable key.
    pub async fn rotate_master_key(
        &self,
        _scope: &PlatformScope,
        id: Uuid,
        new_digest: &[u8],
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = in_tx!(self, |tx| {
            execute_audited!(
                tx,
                sqlx::query(
                    "UPDATE master_keys SET secret_digest = $1, rotated_at = $2 \
                 WHERE id = $3 AND revoked_at IS NULL AND expires_at > $2",
                )
                .bind(new_digest)
                .bind(now)
                .bind(id),
                &event,
                now
            )
        });
        Ok(done)
    }

    pub async fn revoke_master_key(
        &self,
        _scope: &PlatformScope,
        id: Uuid,
        reason: &str,
        events: &[Event],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE master_keys SET revoked_at = $1, revoked_reason = $2 \
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                for event in events {
                    insert_event!(&mut *tx, event, now)?;
                }
            }
            n == 1
        });
        Ok(done)
    }

    pub async fn mark_master_key_used(
        &self,
        _scope: &PlatformScope,
        id: Uuid,
        ip: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query(
                "UPDATE master_keys SET last_used_at = $1, last_used_ip = $2 WHERE id = $3"
            )
            .bind(now)
            .bind(ip)
            .bind(id)
        )?;
        Ok(())
    }
}
