//! Fixed-window counters for the limits that protect security. They live in
//! the database so that they hold across every instance sharing it.

use sqlx::FromRow;

use super::{Db, execute, on_pool};

#[derive(Debug, Clone, Copy, FromRow)]
pub struct Counter {
    pub window_start: i64,
    pub hits: i64,
    pub last_hit_at: i64,
}

impl Db {
    /// The live counter of `bucket`, or none when its window has passed.
    pub async fn read_counter(
        &self,
        bucket: &str,
        window_secs: i64,
        now: i64,
    ) -> Result<Option<Counter>, sqlx::Error> {
        let counter = on_pool!(self, |pool| {
            sqlx::query_as::<_, Counter>(
                "SELECT window_start, hits, last_hit_at FROM rate_counters WHERE bucket = $1",
            )
            .bind(bucket)
            .fetch_optional(pool)
            .await
        })?;
        Ok(counter.filter(|c| c.window_start > now - window_secs))
    }

    /// Counts one hit in `bucket`; a counter whose window has passed starts over.
    pub async fn hit_counter(
        &self,
        bucket: &str,
        window_secs: i64,
        now: i64,
    ) -> Result<Counter, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Counter>(
                "INSERT INTO rate_counters (bucket, window_start, hits, last_hit_at) \
                 VALUES ($1, $2, 1, $2) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                   hits = CASE WHEN rate_counters.window_start <= $3 THEN 1 \
                               ELSE rate_counters.hits + 1 END, \
                   window_start = CASE WHEN rate_counters.window_start <= $3 THEN $2 \
                                       ELSE rate_counters.window_start END, \
                   last_hit_at = $2 \
                 RETURNING window_start, hits, last_hit_at",
            )
            .bind(bucket)
            .bind(now)
            .bind(now - window_secs)
            .fetch_one(pool)
            .await
        })
    }

    pub async fn reset_counter(&self, bucket: &str) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query("DELETE FROM rate_counters WHERE bucket = $1").bind(bucket)
        )?;
        Ok(())
    }

    /// Removes counters whose window started before `before`.
    pub async fn delete_stale_counters(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done = execute!(
            self,
            sqlx::query("DELETE FROM rate_counters WHERE last_hit_at < $1").bind(before)
        )?;
        Ok(done)
    }
}
