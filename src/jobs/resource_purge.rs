//! Purging resources deleted more than 30 days ago (the restore window):
//! one DELETE decides which rows go, and each purged resource gets one
//! `resource.purged` event in its org's log, in the same transaction
//! (`Db::purge_deleted_resources`). Running it again, or on another
//! instance at the same time, purges nothing more.

use crate::db::Db;
use crate::db::resources::RESTORE_WINDOW_SECS;

/// Purges what is past the restore window at `now`; how many resources.
pub async fn purge_deleted_resources(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.purge_deleted_resources(now - RESTORE_WINDOW_SECS, now)
        .await
}
