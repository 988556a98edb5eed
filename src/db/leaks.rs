//! Revoking keys that a secret scanner found in public: the writes behind
//! `POST /v1/secret-scanning/reports`. Each statement changes a key only
//! while it is still live, so a report repeated (or raced by the owner's own
//! revocation) changes nothing the second time and is audited once.

use uuid::Uuid;

use super::{Db, on_pool};

impl Db {
    /// Revokes an unrevoked personal or service-account key; false when it
    /// was already revoked.
    pub async fn revoke_leaked_key(&self, key_id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(key_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Ends the grace period of a rotated key whose *old* secret leaked: the
    /// new secret (not reported) keeps working; false when the grace had
    /// already ended.
    pub async fn end_leaked_grace(&self, key_id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_keys SET previous_valid_until = $1 \
                 WHERE id = $2 AND previous_valid_until > $1",
            )
            .bind(now)
            .bind(key_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }
}
