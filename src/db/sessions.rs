//! Session rows for the tower-sessions store. The primary key is the SHA-256
//! of the session id, so a copy of this table cannot be replayed as cookies.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, on_pool};

#[derive(Debug, FromRow)]
pub struct SessionRow {
    pub data: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// One of a user's sessions, for the sessions list.
#[derive(Debug, Clone, FromRow)]
pub struct SessionSummary {
    pub id_hash: Vec<u8>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub struct SessionWrite<'a> {
    pub id_hash: &'a [u8],
    pub user_id: Option<Uuid>,
    pub data: &'a [u8],
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

impl Db {
    pub async fn load_session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, SessionRow>(
                "SELECT data, created_at, last_seen_at, expires_at FROM sessions \
                 WHERE id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await
        })
    }

    /// Inserts a new session; false when the id hash is already taken.
    pub async fn insert_session(
        &self,
        row: SessionWrite<'_>,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, data, ip, user_agent, created_at, \
                 last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) \
                 ON CONFLICT (id_hash) DO NOTHING",
            )
            .bind(row.id_hash)
            .bind(row.user_id)
            .bind(row.data)
            .bind(row.ip)
            .bind(row.user_agent)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Updates an existing session's record. A session revoked while the
    /// request was in flight stays revoked: nothing is inserted.
    pub async fn update_session(&self, row: SessionWrite<'_>) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE sessions SET user_id = $1, data = $2, ip = $3, user_agent = $4 \
                 WHERE id_hash = $5",
            )
            .bind(row.user_id)
            .bind(row.data)
            .bind(row.ip)
            .bind(row.user_agent)
            .bind(row.id_hash)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn touch_session(
        &self,
        id_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3")
                .bind(now)
                .bind(expires_at)
                .bind(id_hash)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &[u8]) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }

    pub async fn list_sessions(
        &self,
        user_id: Uuid,
        now: i64,
    ) -> Result<Vec<SessionSummary>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, SessionSummary>(
                "SELECT id_hash, ip, user_agent, created_at, last_seen_at, expires_at \
                 FROM sessions WHERE user_id = $1 AND expires_at > $2 \
                 ORDER BY last_seen_at DESC",
            )
            .bind(user_id)
            .bind(now)
            .fetch_all(pool)
            .await
        })
    }
}
