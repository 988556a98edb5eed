//! Roles: named permission sets (DESIGN.md §2a). The three built-ins
//! (Viewer, Runner, Creator) have fixed ids and no org and cannot be changed;
//! owners define custom roles for their org (`OwnerScope` + `SudoUser`: a role
//! grants access to whoever holds it). Every function filters by the proof's
//! org, so another org's role id matches nothing; a custom role's name is
//! unique in its org, case-insensitively, and never a built-in's. A role is
//! not deleted while granted anywhere: the refusal names where.
//!
//! Every change writes its audit event in the same transaction.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{OrgScope, OwnerScope, SudoUser};
use crate::domain::{BuiltinRole, PermissionSet};

#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    pub id: Uuid,
    /// `None` for a built-in role.
    pub org_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub permissions: i64,
    pub created_at: i64,
}

impl RoleRow {
    pub fn is_builtin(&self) -> bool {
        self.org_id.is_none()
    }
    pub fn permission_set(&self) -> PermissionSet {
        PermissionSet::from_stored(self.permissions)
    }
}

/// Where a role is granted: a team on a workspace.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RoleUse {
    pub workspace_slug: String,
    pub workspace_name: String,
    pub team_name: String,
}

/// Why a role change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("a role with that name exists")]
    NameTaken,
    #[error("the role is granted")]
    InUse(Vec<RoleUse>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What a custom role is made of.
#[derive(Debug, Clone, Copy)]
pub struct RoleFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub permissions: PermissionSet,
}

impl Db {
    /// The built-in roles, then the org's custom roles by name.
    pub async fn list_roles(&self, scope: &OrgScope) -> Result<Vec<RoleRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RoleRow>(
                "SELECT id, org_id, name, description, permissions, created_at FROM roles \
                 WHERE org_id IS NULL OR org_id = $1 \
                 ORDER BY org_id IS NOT NULL, CASE WHEN org_id IS NULL THEN permissions END, \
                 lower(name), id",
            )
            .bind(scope.org_id())
            .fetch_all(pool)
            .await
        })
    }

    /// A built-in role, or a custom role of the scope's org.
    pub async fn find_role(
        &self,
        scope: &OrgScope,
        id: Uuid,
    ) -> Result<Option<RoleRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RoleRow>(
                "SELECT id, org_id, name, description, permissions, created_at FROM roles \
                 WHERE id = $2 AND (org_id IS NULL OR org_id = $1)",
            )
            .bind(scope.org_id())
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Where the role `id` is granted in the scope's org.
    pub async fn role_uses(&self, scope: &OrgScope, id: Uuid) -> Result<Vec<RoleUse>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RoleUse>(
                "SELECT w.slug AS workspace_slug, w.name AS workspace_name, t.name AS team_name \
                 FROM workspace_grants g JOIN workspaces w ON w.id = g.workspace_id \
                 JOIN teams t ON t.id = g.team_id \
                 WHERE g.org_id = $1 AND g.role_id = $2 ORDER BY w.slug, t.name",
            )
            .bind(scope.org_id())
            .bind(id)
            .fetch_all(pool)
            .await
        })
    }

    /// Creates a custom role and writes `event(id)`, in one transaction.
    pub async fn create_role(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        fields: RoleFields<'_>,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, RoleError> {
        if BuiltinRole::is_reserved_name(fields.name) {
            return Err(RoleError::NameTaken);
        }
        let id = Uuid::now_v7();
        let event = event(id);
        let created = in_tx!(self, |tx| {
            let taken: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM roles WHERE org_id = $1 AND lower(name) = lower($2)",
            )
            .bind(scope.org_id())
            .bind(fields.name)
            .fetch_one(&mut *tx)
            .await?;
            if taken == 0 {
                sqlx::query(
                    "INSERT INTO roles (id, org_id, name, description, permissions, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(scope.org_id())
                .bind(fields.name)
                .bind(fields.description)
                .bind(fields.permissions.to_stored())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                insert_event!(&mut *tx, &event, now)?;
            }
            taken == 0
        });
        if created {
            Ok(id)
        } else {
            Err(RoleError::NameTaken)
        }
    }

    /// Changes a custom role of the org (never a built-in one); `false` when
    /// the org has no such custom role. Holders of the role hold its new
    /// permissions from the next request on.
    pub async fn update_role(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        id: Uuid,
        fields: RoleFields<'_>,
        event: Event,
        now: i64,
    ) -> Result<bool, RoleError> {
        if BuiltinRole::is_reserved_name(fields.name) {
            return Err(RoleError::NameTaken);
        }
        enum Outcome {
            Taken,
            Done(bool),
        }
        let outcome = in_tx!(self, |tx| {
            let taken: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM roles WHERE org_id = $1 AND lower(name) = lower($2) \
                 AND id <> $3",
            )
            .bind(scope.org_id())
            .bind(fields.name)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if taken > 0 {
                Outcome::Taken
            } else {
                let changed = sqlx::query(
                    "UPDATE roles SET name = $1, description = $2, permissions = $3 \
                     WHERE org_id = $4 AND id = $5",
                )
                .bind(fields.name)
                .bind(fields.description)
                .bind(fields.permissions.to_stored())
                .bind(scope.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if changed {
                    insert_event!(&mut *tx, &event, now)?;
                }
                Outcome::Done(changed)
            }
        });
        match outcome {
            Outcome::Taken => Err(RoleError::NameTaken),
            Outcome::Done(changed) => Ok(changed),
        }
    }

    /// Deletes a custom role of the org, refused while it is granted
    /// anywhere (checked in the same transaction as the deletion); `false`
    /// when the org has no such custom role.
    pub async fn delete_role(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, RoleError> {
        let outcome: Result<bool, Vec<RoleUse>> = in_tx!(self, |tx| {
            let uses = sqlx::query_as::<_, RoleUse>(
                "SELECT w.slug AS workspace_slug, w.name AS workspace_name, t.name AS team_name \
                 FROM workspace_grants g JOIN workspaces w ON w.id = g.workspace_id \
                 JOIN teams t ON t.id = g.team_id \
                 WHERE g.org_id = $1 AND g.role_id = $2 ORDER BY w.slug, t.name",
            )
            .bind(scope.org_id())
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            if uses.is_empty() {
                let deleted = sqlx::query("DELETE FROM roles WHERE org_id = $1 AND id = $2")
                    .bind(scope.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if deleted {
                    insert_event!(&mut *tx, &event, now)?;
                }
                Ok(deleted)
            } else {
                Err(uses)
            }
        });
        outcome.map_err(RoleError::InUse)
    }
}
