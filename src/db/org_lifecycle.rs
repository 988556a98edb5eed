//! An org's lifecycle, by its owners: rename (name and slug), transfer of
//! ownership, soft deletion, restore, and the purge after the restore window.
//!
//! Invariants:
//! - a renamed org's old slug is held for it for `SLUG_HOLD_SECS`
//!   (`org_slug_holds`): members following an old link are redirected, and no
//!   other org may take the slug until the hold ends (checked in the same
//!   transaction that creates or renames, `SLUG_HELD_BY_OTHER`);
//! - a deleted org (`orgs.deleted_at`) is invisible to every live-org proof
//!   (the membership lookups filter it out) and its keys are refused at once
//!   (`key_credentials` reads it); only `DeletedOrgScope` reaches it, to
//!   restore it within `RESTORE_WINDOW_SECS`; after that the purge removes it
//!   and everything that cascades from it.
//!
//! Every change writes its audit event in its own transaction.

use serde_json::json;
use uuid::Uuid;

use super::audit::{Actor, Event, insert_event};
use super::orgs::OrgError;
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, DeletedOrgScope, OwnerScope};

/// How long a renamed org's old slug stays its own.
pub const SLUG_HOLD_SECS: i64 = 30 * 24 * 3600;
/// How long a deleted org can be restored.
pub const RESTORE_WINDOW_SECS: i64 = 30 * 24 * 3600;

/// How many holds of `$1` are live at `$2` for an org other than `$3`.
pub(in crate::db) const SLUG_HELD_BY_OTHER: &str = "SELECT COUNT(*) FROM org_slug_holds \
     WHERE slug = $1 AND held_until > $2 AND org_id <> $3";

/// What deleting an org takes with it, shown before the owner confirms.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrgContents {
    pub workspaces: i64,
    pub resources: i64,
    pub keys: i64,
    pub members: i64,
}

/// One org the user owns that was deleted and can still be restored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedOrg {
    pub slug: String,
    pub name: String,
    pub deleted_at: i64,
}

/// The deleted org `slug` in which `user_id` is an owner, deleted after
/// `since` (`authz` turns it into a `DeletedOrgScope`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedOrgRow {
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
}

impl Db {
    /// Renames the scope's org to `name` and `slug`. A changed slug holds the
    /// old one for the org for `SLUG_HOLD_SECS`; taking back one of its own
    /// held slugs ends that hold. `SlugTaken` when a live org has the slug,
    /// `SlugHeld` when another org holds it.
    pub async fn rename_org(
        &self,
        scope: &OwnerScope,
        name: &str,
        slug: &str,
        event: Event,
        now: i64,
    ) -> Result<(), OrgError> {
        let result: Result<Result<(), OrgError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                let held: i64 = sqlx::query_scalar(SLUG_HELD_BY_OTHER)
                    .bind(slug)
                    .bind(now)
                    .bind(scope.org_id())
                    .fetch_one(&mut *tx)
                    .await?;
                if held > 0 {
                    return Ok(Err(OrgError::SlugHeld));
                }
                sqlx::query("UPDATE orgs SET name = $1, slug = $2 WHERE id = $3")
                    .bind(name)
                    .bind(slug)
                    .bind(scope.org_id())
                    .execute(&mut *tx)
                    .await?;
                if slug != scope.slug() {
                    sqlx::query("DELETE FROM org_slug_holds WHERE slug = $1 AND org_id = $2")
                        .bind(slug)
                        .bind(scope.org_id())
                        .execute(&mut *tx)
                        .await?;
                    // A hold on the old slug can only be this org's own or
                    // an expired one of another org (this org had the
                    // slug): either is replaced.
                    sqlx::query(
                        "INSERT INTO org_slug_holds (slug, org_id, held_until) VALUES ($1, $2, $3) \
                         ON CONFLICT (slug) DO UPDATE SET org_id = $2, held_until = $3",
                    )
                    .bind(scope.slug())
                    .bind(scope.org_id())
                    .bind(now + SLUG_HOLD_SECS)
                    .execute(&mut *tx)
                    .await?;
                }
                insert_event!(&mut *tx, &event, now)?;
            });
            Ok(Ok(()))
        }
        .await;
        match result {
            Ok(r) => r,
            Err(e) if is_unique_violation(&e) => Err(OrgError::SlugTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// The current slug of the live org that holds `slug` at `now`, if
    /// `user_id` is a member of it: where a page under the old slug moved.
    pub async fn moved_slug_for_member(
        &self,
        user_id: Uuid,
        slug: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT o.slug FROM org_slug_holds h JOIN orgs o ON o.id = h.org_id \
                 JOIN memberships m ON m.org_id = o.id AND m.user_id = $2 AND m.suspended_at IS NULL \
                 WHERE h.slug = $1 AND h.held_until > $3 AND o.deleted_at IS NULL",
            )
            .bind(slug)
            .bind(user_id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    /// Makes the member with `email` an owner and the scope's own owner a
    /// member, in one transaction (the org row locked, as for role changes).
    /// `NotAMember` when no other member has that email. Returns the new
    /// owner's display name.
    pub async fn transfer_ownership(
        &self,
        scope: &OwnerScope,
        owner: &CurrentUser,
        email: &str,
        event: Event,
        now: i64,
    ) -> Result<String, OrgError> {
        in_tx!(self, |tx| {
            sqlx::query("UPDATE orgs SET id = id WHERE id = $1")
                .bind(scope.org_id())
                .execute(&mut *tx)
                .await?;
            let target: Option<(Uuid, String)> = sqlx::query_as(
                "SELECT m.user_id, u.display_name FROM memberships m \
                 JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 AND m.member_email = $2 AND m.user_id <> $3",
            )
            .bind(scope.org_id())
            .bind(email)
            .bind(owner.id())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((target, display_name)) = target else {
                return Err(OrgError::NotAMember);
            };
            sqlx::query("UPDATE memberships SET role = 'owner' WHERE org_id = $1 AND user_id = $2")
                .bind(scope.org_id())
                .bind(target)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE memberships SET role = 'member' WHERE org_id = $1 AND user_id = $2",
            )
            .bind(scope.org_id())
            .bind(owner.id())
            .execute(&mut *tx)
            .await?;
            let event = event.on("user", target);
            insert_event!(&mut *tx, &event, now)?;
            Ok(display_name)
        })
    }

    /// What the org holds: live workspaces, live resources, live keys bound
    /// to it (personal and service accounts'), members.
    pub async fn org_contents(&self, scope: &OwnerScope) -> Result<OrgContents, sqlx::Error> {
        let (workspaces, resources, keys, members): (i64, i64, i64, i64) =
            on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM workspaces WHERE org_id = $1), \
                     (SELECT COUNT(*) FROM resources WHERE org_id = $1 AND deleted_at IS NULL), \
                     (SELECT COUNT(*) FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL), \
                     (SELECT COUNT(*) FROM memberships WHERE org_id = $1)",
                )
                .bind(scope.org_id())
                .fetch_one(pool)
                .await
            })?;
        Ok(OrgContents {
            workspaces,
            resources,
            keys,
            members,
        })
    }

    /// Soft-deletes the scope's org: from now its pages answer 404 and its
    /// keys `org_disabled`, until an owner restores it.
    pub async fn delete_org(
        &self,
        scope: &OwnerScope,
        event: Event,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        in_tx!(self, |tx| {
            sqlx::query("UPDATE orgs SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(scope.org_id())
                .execute(&mut *tx)
                .await?;
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(())
    }

    /// The deleted orgs `user` owns that can still be restored at `now`.
    pub async fn deleted_orgs_of(
        &self,
        user: &CurrentUser,
        now: i64,
    ) -> Result<Vec<DeletedOrg>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, DeletedOrg>(
                "SELECT o.slug, o.name, o.deleted_at FROM orgs o \
                 JOIN memberships m ON m.org_id = o.id AND m.user_id = $1 AND m.role = 'owner' \
                 AND m.suspended_at IS NULL \
                 WHERE o.deleted_at IS NOT NULL AND o.deleted_at > $2 ORDER BY o.name",
            )
            .bind(user.id())
            .bind(now - RESTORE_WINDOW_SECS)
            .fetch_all(pool)
            .await
        })
    }

    /// The deleted org `slug`, restorable at `now`, if `user_id` owns it.
    pub async fn deleted_org_owned_by(
        &self,
        user_id: Uuid,
        slug: &str,
        now: i64,
    ) -> Result<Option<DeletedOrgRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, DeletedOrgRow>(
                "SELECT o.id AS org_id, o.slug, o.name FROM orgs o \
                 JOIN memberships m ON m.org_id = o.id AND m.user_id = $1 AND m.role = 'owner' \
                 AND m.suspended_at IS NULL \
                 WHERE o.slug = $2 AND o.deleted_at IS NOT NULL AND o.deleted_at > $3",
            )
            .bind(user_id)
            .bind(slug)
            .bind(now - RESTORE_WINDOW_SECS)
            .fetch_optional(pool)
            .await
        })
    }

    /// Restores the deleted org of the proof; `false` when its window closed
    /// in the meantime (or another owner restored it first).
    pub async fn restore_org(
        &self,
        scope: &DeletedOrgScope,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let event = event
            .on("org", scope.org_id())
            .in_org_established(scope.org_id());
        in_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE orgs SET deleted_at = NULL WHERE id = $1 AND deleted_at IS NOT NULL \
                 AND deleted_at > $2",
            )
            .bind(scope.org_id())
            .bind(now - RESTORE_WINDOW_SECS)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                insert_event!(&mut *tx, &event, now)?;
            }
            Ok(done)
        })
    }

    /// Removes the orgs deleted at or before `cutoff` (everything that
    /// references them cascades) and the slug holds that ended by `now`.
    /// One DELETE decides which orgs go, so running it twice, or on two
    /// instances at once, purges each org once; each gets an `org.purged`
    /// event in the log it leaves behind (audit events are not deleted).
    pub async fn purge_deleted_orgs(&self, cutoff: i64, now: i64) -> Result<u64, sqlx::Error> {
        in_tx!(self, |tx| {
            let gone: Vec<(Uuid, String, String, i64)> = sqlx::query_as(
                "DELETE FROM orgs WHERE deleted_at IS NOT NULL AND deleted_at <= $1 \
                 RETURNING id, slug, name, deleted_at",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            for (id, slug, name, deleted_at) in &gone {
                let event = Event::by(Actor::System)
                    .did("org.purged")
                    .on("org", id)
                    .in_org_established(*id)
                    .detail(json!({ "slug": slug, "name": name, "deleted_at": deleted_at }));
                insert_event!(&mut *tx, &event, now)?;
            }
            sqlx::query("DELETE FROM org_slug_holds WHERE held_until <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            Ok(gone.len() as u64)
        })
    }
}
