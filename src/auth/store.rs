//! The tower-sessions store on our own database.
//!
//! Rows are keyed by the SHA-256 of the session id. The user id, IP address
//! and user agent are lifted out of the record into columns so that listing
//! and revoking a user's sessions is plain SQL. Idle and absolute timeouts are
//! enforced here with the application clock. The last-seen time is written
//! at most once per touch interval (a minute, or half the idle window when
//! that is shorter), never on every request; so that a request between two
//! writes still extends the idle window to its full length, `expires_at` is
//! the earlier of `last_seen_at + idle + interval` and `created_at +
//! absolute`. A session is therefore signed out after between `idle` and
//! `idle + interval` without a request, never earlier.
//!
//! A pending MFA sign-in (`auth::mfa`) is an anonymous session, but its row
//! names the user in `pending_user_id`, so that whatever ends the user's
//! sessions (password change, "sign out everywhere else", disabling,
//! deletion) ends it too.
//!
//! The per-user session cap is enforced here, in `create`: a session gains a
//! user only at sign-in, and sign-in always rotates the id, so every signed-in
//! session is born through `create` (never through `save`). Inserting the row
//! and evicting the user's oldest sessions beyond the cap happen in one
//! transaction (`Db::insert_session`).

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as StoreError, Result as StoreResult};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::db::Db;
use crate::db::sessions::SessionWrite;

/// Keys of the session record that the store lifts into columns.
pub const KEY_USER_ID: &str = "uid";
pub const KEY_IP: &str = "ip";
pub const KEY_USER_AGENT: &str = "ua";
pub const KEY_SIGNED_IN_AT: &str = "signed_in_at";
/// The pending MFA sign-in; its `user_id` is lifted into `pending_user_id`.
pub const KEY_PENDING_SIGN_IN: &str = "mfa_pending";

/// How often a session's last-seen time may be written, at most.
const TOUCH_INTERVAL_SECS: i64 = 60;

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
    clock: SharedClock,
    idle_secs: i64,
    absolute_secs: i64,
    max_sessions_per_user: i64,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSessionStore").finish_non_exhaustive()
    }
}

/// The database key of a session id.
pub fn hash_id(id: &Id) -> Vec<u8> {
    Sha256::digest(id.0.to_le_bytes()).to_vec()
}

/// tower-sessions keeps only the text of a store error; an outage is marked
/// in it (`db::OUTAGE_MARK`) so that the page can still say 503, not 500.
fn backend(err: sqlx::Error) -> StoreError {
    if crate::db::is_unavailable(&err) {
        StoreError::Backend(format!("{}{err}", crate::db::OUTAGE_MARK))
    } else {
        StoreError::Backend(err.to_string())
    }
}

/// The user a pending sign-in is for, when the session has no user yet.
fn pending_user(record: &Record, user_id: Option<Uuid>) -> Option<Uuid> {
    if user_id.is_some() {
        return None;
    }
    record
        .data
        .get(KEY_PENDING_SIGN_IN)
        .and_then(|p| p.get("user_id"))
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn text(record: &Record, key: &str) -> Option<String> {
    record
        .data
        .get(key)
        .and_then(|v| v.as_str())
        .map(|s| s.chars().take(512).collect())
}

impl DbSessionStore {
    pub fn new(
        db: Db,
        clock: SharedClock,
        idle_secs: i64,
        absolute_secs: i64,
        max_sessions_per_user: i64,
    ) -> Self {
        Self {
            db,
            clock,
            idle_secs,
            absolute_secs,
            max_sessions_per_user,
        }
    }

    /// How often last-seen is written: once a minute, or twice per idle
    /// window when that is shorter than two minutes.
    fn touch_interval(&self) -> i64 {
        TOUCH_INTERVAL_SECS.min(self.idle_secs / 2).max(1)
    }

    /// When a session last written at `seen_at` ends. The interval is added
    /// because a request up to one interval after `seen_at` writes nothing,
    /// and its idle window must still run to its full length.
    fn expires_at(&self, created_at: i64, seen_at: i64) -> i64 {
        (seen_at + self.idle_secs + self.touch_interval()).min(created_at + self.absolute_secs)
    }

    fn encode(record: &Record) -> StoreResult<Vec<u8>> {
        rmp_serde::to_vec(&record.data).map_err(|e| StoreError::Encode(e.to_string()))
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> StoreResult<()> {
        let now = self.clock.unix();
        let data = Self::encode(record)?;
        let user_id = text(record, KEY_USER_ID).and_then(|s| Uuid::parse_str(&s).ok());
        let ip = text(record, KEY_IP);
        let user_agent = text(record, KEY_USER_AGENT);
        // A signed-in session keeps its sign-in time across id rotations (sudo
        // rotates the id, which recreates the row): the absolute timeout and
        // the "signed in" time of the sessions page count from the sign-in.
        let created_at = record
            .data
            .get(KEY_SIGNED_IN_AT)
            .and_then(serde_json::Value::as_i64)
            .filter(|t| *t <= now)
            .unwrap_or(now);
        // A collision of 128-bit random ids is astronomically unlikely, but
        // the store must never hand one person's session to another.
        loop {
            let id_hash = hash_id(&record.id);
            let row = SessionWrite {
                id_hash: &id_hash,
                user_id,
                pending_user_id: pending_user(record, user_id),
                data: &data,
                ip: ip.as_deref(),
                user_agent: user_agent.as_deref(),
            };
            let created = self
                .db
                .insert_session(
                    row,
                    created_at,
                    now,
                    self.expires_at(created_at, now),
                    self.max_sessions_per_user,
                )
                .await
                .map_err(backend)?;
            if created {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> StoreResult<()> {
        let data = Self::encode(record)?;
        let id_hash = hash_id(&record.id);
        let ip = text(record, KEY_IP);
        let user_agent = text(record, KEY_USER_AGENT);
        let user_id = text(record, KEY_USER_ID).and_then(|s| Uuid::parse_str(&s).ok());
        let row = SessionWrite {
            id_hash: &id_hash,
            user_id,
            pending_user_id: pending_user(record, user_id),
            data: &data,
            ip: ip.as_deref(),
            user_agent: user_agent.as_deref(),
        };
        self.db.update_session(row).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> StoreResult<Option<Record>> {
        let now = self.clock.unix();
        let id_hash = hash_id(id);
        let Some(row) = self.db.load_session(&id_hash).await.map_err(backend)? else {
            return Ok(None);
        };
        if row.expires_at <= now {
            self.db.delete_session(&id_hash).await.map_err(backend)?;
            return Ok(None);
        }
        let mut expires_at = row.expires_at;
        if now - row.last_seen_at >= self.touch_interval() {
            expires_at = self.expires_at(row.created_at, now);
            self.db
                .touch_session(&id_hash, now, expires_at)
                .await
                .map_err(backend)?;
        }
        let data =
            rmp_serde::from_slice(&row.data).map_err(|e| StoreError::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }))
    }

    async fn delete(&self, id: &Id) -> StoreResult<()> {
        self.db.delete_session(&hash_id(id)).await.map_err(backend)
    }
}
