//! Trusted devices: browsers that completed a sign-in to an account (OWASP's
//! device cookies against malicious lock-out; see `auth::devices`). A row
//! holds only the SHA-256 of the cookie's random token, so a copy of the
//! table cannot be turned into cookies.
//!
//! Invariant: a device is trusted for one user only; the lookup takes the
//! email being signed in to, so another account's cookie matches nothing.

use uuid::Uuid;

use super::{Db, in_tx, on_pool};
use crate::authz::proof::PlatformScope;

/// Devices kept per user; the least recently used go first.
const MAX_DEVICES_PER_USER: i64 = 20;

impl Db {
    /// The id of the device whose token hashes to `token_hash`, if it is
    /// trusted for the account with this (normalised) email.
    pub async fn trusted_device(
        &self,
        token_hash: &[u8],
        email: &str,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT d.id FROM trusted_devices d JOIN users u ON u.id = d.user_id \
                 WHERE d.token_hash = $1 AND u.email = $2",
            )
            .bind(token_hash)
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    /// Trusts a device for `user_id` under a new token hash, keeping its id
    /// when the browser presented the old token (`replacing`), and drops
    /// the user's least recently used devices beyond the cap. Returns the id.
    pub async fn trust_device(
        &self,
        user_id: Uuid,
        token_hash: &[u8],
        replacing: Option<&[u8]>,
        now: i64,
    ) -> Result<Uuid, sqlx::Error> {
        let id = in_tx!(self, |tx| {
            let old: Option<Uuid> = match replacing {
                Some(old) => {
                    sqlx::query_scalar(
                        "DELETE FROM trusted_devices WHERE token_hash = $1 AND user_id = $2 \
                         RETURNING id",
                    )
                    .bind(old)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                None => None,
            };
            let id = old.unwrap_or_else(Uuid::new_v4);
            sqlx::query(
                "INSERT INTO trusted_devices (token_hash, id, user_id, created_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(token_hash)
            .bind(id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM trusted_devices WHERE user_id = $1 AND id NOT IN \
                 (SELECT id FROM trusted_devices WHERE user_id = $1 \
                  ORDER BY last_used_at DESC, id LIMIT $2)",
            )
            .bind(user_id)
            .bind(MAX_DEVICES_PER_USER)
            .execute(&mut *tx)
            .await?;
            id
        });
        Ok(id)
    }

    /// The ids of the devices trusted for `user_id` (an operator clearing
    /// the account's lock-outs clears each device's counter too).
    pub async fn trusted_device_ids(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM trusted_devices WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await
        })
    }

    /// Forgets devices unused for longer than the cookie lives.
    pub async fn delete_stale_devices(&self, before: i64) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM trusted_devices WHERE last_used_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
    }
}
