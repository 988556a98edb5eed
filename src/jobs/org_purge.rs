//! Purging organizations deleted more than 30 days ago (their restore
//! window) and the slug holds that have ended: one DELETE decides which orgs
//! go, everything that references them cascades, and each purged org gets
//! one `org.purged` event in the same transaction
//! (`Db::purge_deleted_orgs`). Running it again, or on another instance at
//! the same time, purges nothing more.

use crate::db::Db;
use crate::db::org_lifecycle::RESTORE_WINDOW_SECS;

/// Purges what is past the restore window at `now`; how many orgs.
pub async fn purge_deleted_orgs(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.purge_deleted_orgs(now - RESTORE_WINDOW_SECS, now).await
}
