//! The shared side of the `/v1` request quotas (see `auth::quota`): per
//! bucket (one key) and fixed window, how many requests the instances have
//! leased so far. One statement leases a block; nothing is written per
//! request.
//!
//! Invariant: `granted` never exceeds the limit the caller passes, so the
//! sum of every instance's leases in one window is at most the limit.

use super::{Db, on_pool};

/// What one lease obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    /// Requests leased by every instance in this window, this lease included.
    pub granted: i64,
    /// Requests this lease added (at most the block asked for).
    pub last_grant: i64,
}

impl Db {
    /// Leases up to `block` more requests of `bucket` in the window starting
    /// at `window_start`, never beyond `limit` in that window, with one
    /// atomic upsert; a row from an older window starts over. `None` (and
    /// nothing written) when the window's quota is all leased.
    ///
    /// Every `SET` expression reads the row's old values (both engines), so
    /// `last_grant` is the new total minus the old one.
    pub async fn lease_quota(
        &self,
        bucket: &str,
        window_start: i64,
        block: i64,
        limit: i64,
    ) -> Result<Option<Lease>, sqlx::Error> {
        let first = block.min(limit);
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Lease>(
                "INSERT INTO api_quota_leases (bucket, window_start, granted, last_grant) \
                 VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                   granted = CASE WHEN api_quota_leases.window_start <> $2 THEN $3 \
                     WHEN api_quota_leases.granted + $4 > $5 THEN $5 \
                     ELSE api_quota_leases.granted + $4 END, \
                   last_grant = CASE WHEN api_quota_leases.window_start <> $2 THEN $3 \
                     WHEN api_quota_leases.granted + $4 > $5 THEN $5 - api_quota_leases.granted \
                     ELSE $4 END, \
                   window_start = $2 \
                 WHERE api_quota_leases.window_start <> $2 OR api_quota_leases.granted < $5 \
                 RETURNING granted, last_grant",
            )
            .bind(bucket)
            .bind(window_start)
            .bind(first)
            .bind(block)
            .bind(limit)
            .fetch_optional(pool)
            .await
        })
    }

    /// Removes leases of windows that started before `before`.
    pub async fn delete_stale_quota_leases(&self, before: i64) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM api_quota_leases WHERE window_start < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
    }
}
