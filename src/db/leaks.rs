//! Revoking keys that a secret scanner found in public: the writes behind
//! `POST /v1/secret-scanning/reports`. Each statement changes a key only
//! while it is still live, so a report repeated (or raced by the owner's own
//! revocation) changes nothing the second time and is audited once: the
//! event is written in the transaction of the change, in the log of the org
//! the key is bound to (read from the key's own row).

use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::keys::update_key_audited;
use super::{Db, in_tx};

impl Db {
    /// Revokes an unrevoked personal or service-account key and writes
    /// `event`; false (and nothing written) when it was already revoked.
    /// There is no owner's proof: the reporter showed the key's secret,
    /// which the caller has matched against its digest.
    pub async fn revoke_leaked_key(
        &self,
        key_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        self.revoke_key_where(key_id, None, None, event, now).await
    }

    /// Ends the grace period of a rotated key whose *old* secret leaked: the
    /// new secret (not reported) keeps working; false when the grace had
    /// already ended. `event` is written with the change.
    pub async fn end_leaked_grace(
        &self,
        key_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = in_tx!(self, |tx| {
            update_key_audited!(
                tx,
                sqlx::query_scalar(
                    "UPDATE api_keys SET previous_valid_until = $1 \
                     WHERE id = $2 AND previous_valid_until > $1 RETURNING org_id",
                )
                .bind(now)
                .bind(key_id),
                event,
                now
            )
        });
        Ok(done)
    }
}
