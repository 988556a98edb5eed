//! What the platform (an operator in the console, or the master key) does to
//! a whole organization: create it for someone, disable and enable it,
//! delete and restore it.
//!
//! Invariants: every function takes a `PlatformActor` (built only from the
//! operator and master-key proofs) and the action's reason, and writes the
//! action to the platform log and to the org's own log in the transaction
//! of the change; a change that finds nothing to do (already disabled, not
//! deleted, past the restore window) writes nothing and answers `false`.
//! Deletion here is the owners' soft deletion (`org_lifecycle`): restorable
//! for `RESTORE_WINDOW_SECS`, then purged by `jobs::org_purge`.

use uuid::Uuid;

use super::audit::{Origin, insert_event};
use super::org_lifecycle::RESTORE_WINDOW_SECS;
use super::orgs::{FirstOwner, OrgError};
use super::platform::{OperatorAction, PlatformActor};
use super::{Db, in_tx};

/// A change of an org's state by the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgStateChange {
    /// Its pages and keys answer `org_disabled`; nothing is deleted.
    Disable,
    Enable,
    /// Soft deletion, as by its owners: restorable for 30 days.
    Delete,
    /// Within the restore window only.
    Restore,
}

impl OrgStateChange {
    /// The last segment of the change's URL (`/ops/orgs/{id}/disable`).
    pub fn verb(self) -> &'static str {
        match self {
            OrgStateChange::Disable => "disable",
            OrgStateChange::Enable => "enable",
            OrgStateChange::Delete => "delete",
            OrgStateChange::Restore => "restore",
        }
    }

    /// The one UPDATE that makes the change, guarded so that a second call
    /// changes nothing: `$1` is now, `$2` the org, `$3` the window's start.
    fn sql(self) -> &'static str {
        match self {
            OrgStateChange::Disable => {
                "UPDATE orgs SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL \
                 AND deleted_at IS NULL AND $3 = $3"
            }
            OrgStateChange::Enable => {
                "UPDATE orgs SET disabled_at = NULL WHERE id = $2 AND disabled_at IS NOT NULL \
                 AND $1 = $1 AND $3 = $3"
            }
            OrgStateChange::Delete => {
                "UPDATE orgs SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL AND $3 = $3"
            }
            OrgStateChange::Restore => {
                "UPDATE orgs SET deleted_at = NULL WHERE id = $2 AND deleted_at IS NOT NULL \
                 AND deleted_at > $3 AND $1 = $1"
            }
        }
    }
}

impl Db {
    /// Creates an org for `first` (an account, or an owner invitation to an
    /// address with no account), recording `action` in the platform log and
    /// the new org's log. `action.orgs` is ignored: the org is the new one.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_org_on_platform(
        &self,
        by: PlatformActor<'_>,
        origin: &Origin,
        action: OperatorAction<'_>,
        name: &str,
        slug: &str,
        first: FirstOwner<'_>,
        now: i64,
    ) -> Result<Uuid, OrgError> {
        self.insert_org(
            name,
            slug,
            first,
            |id| {
                let orgs = [id];
                OperatorAction {
                    target_id: id.to_string(),
                    orgs: &orgs,
                    ..action
                }
                .events(by, origin)
            },
            now,
        )
        .await
    }

    /// Applies `change` to the org `org_id` and records `action`, in one
    /// transaction; `false` when there was nothing to change.
    pub async fn change_org_on_platform(
        &self,
        by: PlatformActor<'_>,
        origin: &Origin,
        action: OperatorAction<'_>,
        org_id: Uuid,
        change: OrgStateChange,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let events = action.events(by, origin);
        in_tx!(self, |tx| {
            let changed = sqlx::query(change.sql())
                .bind(now)
                .bind(org_id)
                .bind(now - RESTORE_WINDOW_SECS)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if changed {
                for event in &events {
                    insert_event!(&mut *tx, event, now)?;
                }
            }
            Ok(changed)
        })
    }
}
