//! Session rows for the tower-sessions store. The primary key is the SHA-256
//! of the session id, so a copy of this table cannot be replayed as cookies.
//!
//! A signed-in session is named in pages and forms by its *handle*: the first
//! 8 bytes of that hash, in hex. The handle is not a secret (it cannot be
//! turned back into the id, nor used as a cookie); it only picks one of the
//! user's own sessions, and every lookup by handle is filtered by the user.
//! Revoking deletes the row, so the next request with that cookie finds
//! nothing and is anonymous, on every instance at once.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, execute_audited, insert_event};
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::CurrentUser;

/// Bytes of the id hash that make up a session's handle.
pub const HANDLE_BYTES: usize = 8;

/// The non-secret handle of a session, from its id hash.
pub fn handle_of(id_hash: &[u8]) -> String {
    id_hash
        .iter()
        .take(HANDLE_BYTES)
        .map(|b| format!("{b:02x}"))
        .collect()
}

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

impl SessionSummary {
    pub fn handle(&self) -> String {
        handle_of(&self.id_hash)
    }
}

pub struct SessionWrite<'a> {
    pub id_hash: &'a [u8],
    pub user_id: Option<Uuid>,
    /// The user a pending MFA sign-in is for (the session itself is still
    /// anonymous): whatever ends the user's sessions ends it too.
    pub pending_user_id: Option<Uuid>,
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
    ///
    /// When the session belongs to a user, the same transaction enforces the
    /// per-user cap: beyond `max_per_user` live sessions, the user's oldest
    /// ones (by sign-in time) are deleted, and so are the user's expired
    /// rows. The new session itself is never evicted.
    pub async fn insert_session(
        &self,
        row: SessionWrite<'_>,
        created_at: i64,
        now: i64,
        expires_at: i64,
        max_per_user: i64,
    ) -> Result<bool, sqlx::Error> {
        // Two sign-ins of one user at once must not both keep the other's
        // row out of their count: on PostgreSQL the user row is locked first
        // (SQLite's write transactions are serialised already).
        let lock_user: Option<&'static str> = match self {
            Db::Sqlite(_) => None,
            Db::Postgres(_) => Some(
                "SELECT COUNT(*) FROM (SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE) \
                 AS locked",
            ),
        };
        let done = in_tx!(self, |tx| {
            if let (Some(sql), Some(user_id)) = (lock_user, row.user_id) {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(user_id)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            let inserted = sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, data, ip, user_agent, created_at, \
                 last_seen_at, expires_at, pending_user_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (id_hash) DO NOTHING",
            )
            .bind(row.id_hash)
            .bind(row.user_id)
            .bind(row.data)
            .bind(row.ip)
            .bind(row.user_agent)
            .bind(created_at)
            .bind(now)
            .bind(expires_at)
            .bind(row.pending_user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let (1, Some(user_id)) = (inserted, row.user_id) {
                sqlx::query(
                    "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 \
                     AND id_hash NOT IN (SELECT id_hash FROM sessions \
                       WHERE user_id = $1 AND id_hash <> $2 AND expires_at > $3 \
                       ORDER BY created_at DESC, last_seen_at DESC LIMIT $4)",
                )
                .bind(user_id)
                .bind(row.id_hash)
                .bind(now)
                .bind((max_per_user - 1).max(0))
                .execute(&mut *tx)
                .await?;
            }
            inserted
        });
        Ok(done == 1)
    }

    /// Updates an existing session's record. A session revoked while the
    /// request was in flight stays revoked: nothing is inserted.
    pub async fn update_session(&self, row: SessionWrite<'_>) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query(
                "UPDATE sessions SET user_id = $1, data = $2, ip = $3, user_agent = $4, \
                 pending_user_id = $6 WHERE id_hash = $5",
            )
            .bind(row.user_id)
            .bind(row.data)
            .bind(row.ip)
            .bind(row.user_agent)
            .bind(row.id_hash)
            .bind(row.pending_user_id)
        )?;
        Ok(())
    }

    pub async fn touch_session(
        &self,
        id_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3"
            )
            .bind(now)
            .bind(expires_at)
            .bind(id_hash)
        )?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &[u8]) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash)
        )?;
        Ok(())
    }

    /// Deletes every expired row (the background clean-up); returns how many.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = execute!(
            self,
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now)
        )?;
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

    /// The user's live session whose handle is `handle`, if any. A handle of
    /// another user's session matches nothing.
    pub async fn find_own_session(
        &self,
        user: &CurrentUser,
        handle: &str,
        now: i64,
    ) -> Result<Option<SessionSummary>, sqlx::Error> {
        if handle.len() != HANDLE_BYTES * 2 {
            return Ok(None);
        }
        // At most a hundred rows (the cap): comparing here keeps the SQL the
        // same on both engines.
        Ok(self
            .list_sessions(user.id(), now)
            .await?
            .into_iter()
            .find(|s| s.handle() == handle))
    }

    /// Revokes one of the user's sessions; false when it was already gone.
    pub async fn revoke_session(
        &self,
        user: &CurrentUser,
        id_hash: &[u8],
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = in_tx!(self, |tx| {
            execute_audited!(
                tx,
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1 AND user_id = $2")
                    .bind(id_hash)
                    .bind(user.id()),
                &event,
                now
            )
        });
        Ok(done)
    }

    /// Revokes every session of the user except `keep`, and every pending
    /// MFA sign-in for the user (someone who has the password), in one
    /// statement, and writes `event` with what it ended, in one transaction.
    pub async fn revoke_other_sessions(
        &self,
        user: &CurrentUser,
        keep: &[u8],
        event: Event,
        now: i64,
    ) -> Result<RevokedSessions, sqlx::Error> {
        let pending: Vec<bool> = in_tx!(self, |tx| {
            let pending: Vec<bool> = sqlx::query_scalar(
                "DELETE FROM sessions WHERE (user_id = $1 AND id_hash <> $2) \
                 OR pending_user_id = $1 RETURNING pending_user_id IS NOT NULL",
            )
            .bind(user.id())
            .bind(keep)
            .fetch_all(&mut *tx)
            .await?;
            let ended = pending.iter().filter(|p| **p).count();
            let event = event
                .with("sessions_revoked", pending.len() - ended)
                .with("pending_sign_ins_ended", ended);
            insert_event!(&mut *tx, &event, now)?;
            pending
        });
        let pending_sign_ins = pending.iter().filter(|p| **p).count() as u64;
        Ok(RevokedSessions {
            sessions: pending.len() as u64 - pending_sign_ins,
            pending_sign_ins,
        })
    }

    /// How many sign-ins for the user wait for their second factor.
    pub async fn count_pending_sign_ins(
        &self,
        user: &CurrentUser,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sessions WHERE pending_user_id = $1 AND expires_at > $2",
            )
            .bind(user.id())
            .bind(now)
            .fetch_one(pool)
            .await
        })
    }
}

/// What "sign out everywhere else" ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedSessions {
    /// Signed-in sessions.
    pub sessions: u64,
    /// Sign-ins that had the password and waited for the second factor.
    pub pending_sign_ins: u64,
}
