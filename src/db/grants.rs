//! Team grants: a team holds one role on a workspace (DESIGN.md §2a), and
//! every member of the team — people and service accounts — holds that
//! role's permissions there. Owners grant, change and revoke
//! (`OwnerScope` + `SudoUser`: a grant hands out access); anyone who reaches
//! the workspace may read its grants (`WorkspaceScope`). Every function
//! filters by the proof's org, and a grant's workspace, team and role are all
//! checked to be the org's (or a built-in role) in the same transaction as
//! the write, so no id of another org can be joined to this one.
//!
//! Every change writes its audit event in the same transaction; it takes
//! effect at the next request of every holder (sessions and keys alike),
//! since access is computed per request.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{OwnerScope, Principal, SudoUser, WorkspaceScope};

/// One team's role on a workspace.
#[derive(Debug, Clone, FromRow)]
pub struct TeamGrantRow {
    pub team_id: Uuid,
    pub team_name: String,
    pub role_id: Uuid,
    pub role_name: String,
    pub permissions: i64,
}

/// One workspace's role for a team (the team page).
#[derive(Debug, Clone, FromRow)]
pub struct WorkspaceGrantRow {
    pub workspace_slug: String,
    pub workspace_name: String,
    pub archived_at: Option<i64>,
    pub role_id: Uuid,
    pub role_name: String,
}

/// A role reaching a principal in one workspace, through one team: one line
/// of "why can this member do this?".
#[derive(Debug, Clone, FromRow)]
pub struct PrincipalGrantRow {
    pub workspace_slug: String,
    pub workspace_name: String,
    pub archived_at: Option<i64>,
    pub team_id: Uuid,
    pub team_name: String,
    pub role_id: Uuid,
    pub role_name: String,
    pub permissions: i64,
}

/// A team's role on a workspace, as an owner asks for it.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub workspace_id: Uuid,
    pub team_id: Uuid,
    pub role_id: Uuid,
}

/// What a grant did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    /// The team had no role on the workspace.
    Added,
    /// The team's role changed from the named one.
    Changed { before: String },
    /// The team already held that role: nothing written.
    Unchanged,
    /// The workspace, team or role is not the org's (or the team is deleted).
    NotFound,
}

impl Db {
    /// The live teams holding a role on the scope's workspace, by team name.
    pub async fn workspace_team_grants(
        &self,
        scope: &WorkspaceScope,
    ) -> Result<Vec<TeamGrantRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TeamGrantRow>(
                "SELECT t.id AS team_id, t.name AS team_name, r.id AS role_id, \
                 r.name AS role_name, r.permissions FROM workspace_grants g \
                 JOIN teams t ON t.id = g.team_id AND t.deleted_at IS NULL \
                 JOIN roles r ON r.id = g.role_id \
                 WHERE g.org_id = $1 AND g.workspace_id = $2 ORDER BY t.name, t.id",
            )
            .bind(scope.org_id())
            .bind(scope.workspace_id())
            .fetch_all(pool)
            .await
        })
    }

    /// The workspaces a team of the owner's org holds a role on.
    pub async fn team_workspace_grants(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
    ) -> Result<Vec<WorkspaceGrantRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, WorkspaceGrantRow>(
                "SELECT w.slug AS workspace_slug, w.name AS workspace_name, w.archived_at, \
                 r.id AS role_id, r.name AS role_name FROM workspace_grants g \
                 JOIN workspaces w ON w.id = g.workspace_id \
                 JOIN roles r ON r.id = g.role_id \
                 WHERE g.org_id = $1 AND g.team_id = $2 ORDER BY w.slug",
            )
            .bind(scope.org_id())
            .bind(team_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Every role reaching `principal` of the owner's org, per workspace and
    /// team (live teams only), ordered by workspace: the owner's view of
    /// "why can this member or service account do this?".
    pub async fn principal_grants(
        &self,
        scope: &OwnerScope,
        principal: Principal,
    ) -> Result<Vec<PrincipalGrantRow>, sqlx::Error> {
        macro_rules! sql {
            ($members:literal, $col:literal) => {
                concat!(
                    "SELECT w.slug AS workspace_slug, w.name AS workspace_name, w.archived_at, \
                     t.id AS team_id, t.name AS team_name, r.id AS role_id, \
                     r.name AS role_name, r.permissions FROM ",
                    $members,
                    " tm JOIN teams t ON t.id = tm.team_id AND t.deleted_at IS NULL \
                     JOIN workspace_grants g ON g.team_id = tm.team_id \
                     JOIN workspaces w ON w.id = g.workspace_id \
                     JOIN roles r ON r.id = g.role_id \
                     WHERE tm.org_id = $1 AND g.org_id = $1 AND tm.",
                    $col,
                    " = $2 ORDER BY w.slug, t.name, t.id"
                )
            };
        }
        let (sql, id) = match principal {
            Principal::User(id) => (sql!("team_members", "user_id"), id),
            Principal::ServiceAccount(id) => {
                (sql!("team_service_accounts", "service_account_id"), id)
            }
        };
        on_pool!(self, |pool| {
            sqlx::query_as::<_, PrincipalGrantRow>(sql)
                .bind(scope.org_id())
                .bind(id)
                .fetch_all(pool)
                .await
        })
    }

    /// Grants the live team `team_id` the role `role_id` (built-in or the
    /// org's) on the workspace `workspace_id` of the owner's org, replacing
    /// the role it held there; writes `event(outcome)` when something
    /// changed, in the same transaction.
    pub async fn set_workspace_grant(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        grant: Grant,
        event: impl FnOnce(&GrantOutcome) -> Event,
        now: i64,
    ) -> Result<GrantOutcome, sqlx::Error> {
        let Grant {
            workspace_id,
            team_id,
            role_id,
        } = grant;
        Ok(in_tx!(self, |tx| {
            let valid: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM workspaces w \
                 JOIN teams t ON t.org_id = w.org_id AND t.id = $3 AND t.deleted_at IS NULL \
                 JOIN roles r ON r.id = $4 AND (r.org_id IS NULL OR r.org_id = w.org_id) \
                 WHERE w.org_id = $1 AND w.id = $2",
            )
            .bind(scope.org_id())
            .bind(workspace_id)
            .bind(team_id)
            .bind(role_id)
            .fetch_one(&mut *tx)
            .await?;
            if valid == 0 {
                GrantOutcome::NotFound
            } else {
                let before: Option<(Uuid, String)> = sqlx::query_as(
                    "SELECT r.id, r.name FROM workspace_grants g JOIN roles r ON r.id = g.role_id \
                     WHERE g.org_id = $1 AND g.workspace_id = $2 AND g.team_id = $3",
                )
                .bind(scope.org_id())
                .bind(workspace_id)
                .bind(team_id)
                .fetch_optional(&mut *tx)
                .await?;
                let outcome = match before {
                    Some((id, _)) if id == role_id => GrantOutcome::Unchanged,
                    Some((_, name)) => GrantOutcome::Changed { before: name },
                    None => GrantOutcome::Added,
                };
                if outcome != GrantOutcome::Unchanged {
                    sqlx::query(
                        "INSERT INTO workspace_grants \
                         (workspace_id, team_id, org_id, role_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (workspace_id, team_id) DO UPDATE SET role_id = $4",
                    )
                    .bind(workspace_id)
                    .bind(team_id)
                    .bind(scope.org_id())
                    .bind(role_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    insert_event!(&mut *tx, &event(&outcome), now)?;
                }
                outcome
            }
        }))
    }

    /// Revokes a team's role on a workspace of the owner's org; `false` when
    /// it held none there.
    pub async fn remove_workspace_grant(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        workspace_id: Uuid,
        team_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            crate::db::audit::execute_audited!(
                tx,
                sqlx::query(
                    "DELETE FROM workspace_grants \
                     WHERE org_id = $1 AND workspace_id = $2 AND team_id = $3",
                )
                .bind(scope.org_id())
                .bind(workspace_id)
                .bind(team_id),
                &event,
                now
            )
        }))
    }
}

/// A live key bound to the scope's org, and whose it is.
#[derive(Debug, Clone, FromRow)]
pub struct OrgKeyRow {
    pub id: Uuid,
    pub public_id: String,
    pub user_id: Option<Uuid>,
    pub service_account_id: Option<Uuid>,
}

/// A key's workspace grants (`api_key_workspaces`): which workspaces of its
/// org it may act in. The caller (`api::key_workspaces`) decides whose keys
/// it may change; every function here filters by the proof's org.
impl Db {
    /// The unrevoked key `public_id` bound to the scope's org.
    pub async fn org_key(
        &self,
        scope: &crate::authz::proof::OrgScope,
        public_id: &str,
    ) -> Result<Option<OrgKeyRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, OrgKeyRow>(
                "SELECT id, public_id, owner_user_id AS user_id, service_account_id FROM api_keys \
                 WHERE org_id = $1 AND public_id = $2 AND revoked_at IS NULL",
            )
            .bind(scope.org_id())
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// The workspaces granted to a key of the scope's org, by slug.
    pub async fn key_granted_workspaces(
        &self,
        scope: &crate::authz::proof::OrgScope,
        key_id: Uuid,
    ) -> Result<Vec<super::workspaces::WorkspaceRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, super::workspaces::WorkspaceRow>(
                "SELECT w.id, w.slug, w.name, w.description, w.created_at, w.archived_at \
                 FROM api_key_workspaces kw JOIN workspaces w ON w.id = kw.workspace_id \
                 WHERE kw.org_id = $1 AND w.org_id = $1 AND kw.key_id = $2 ORDER BY w.slug",
            )
            .bind(scope.org_id())
            .bind(key_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Grants a key of the scope's org a workspace of that org; `false` when
    /// it already holds it (nothing written).
    pub async fn grant_key_workspace(
        &self,
        scope: &crate::authz::proof::OrgScope,
        key_id: Uuid,
        workspace_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            crate::db::audit::execute_audited!(
                tx,
                sqlx::query(
                    "INSERT INTO api_key_workspaces (key_id, workspace_id, org_id, created_at) \
                     SELECT k.id, w.id, w.org_id, $4 FROM api_keys k \
                     JOIN workspaces w ON w.org_id = k.org_id AND w.id = $3 \
                     WHERE k.org_id = $1 AND k.id = $2 AND NOT EXISTS \
                     (SELECT 1 FROM api_key_workspaces x WHERE x.key_id = k.id \
                      AND x.workspace_id = w.id)",
                )
                .bind(scope.org_id())
                .bind(key_id)
                .bind(workspace_id)
                .bind(now),
                &event,
                now
            )
        }))
    }

    /// Takes a workspace from a key of the scope's org; `false` when it did
    /// not hold it.
    pub async fn ungrant_key_workspace(
        &self,
        scope: &crate::authz::proof::OrgScope,
        key_id: Uuid,
        workspace_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            crate::db::audit::execute_audited!(
                tx,
                sqlx::query(
                    "DELETE FROM api_key_workspaces \
                     WHERE org_id = $1 AND key_id = $2 AND workspace_id = $3",
                )
                .bind(scope.org_id())
                .bind(key_id)
                .bind(workspace_id),
                &event,
                now
            )
        }))
    }
}
