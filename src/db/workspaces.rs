//! An org's workspaces, and the one query that decides what a principal may
//! do in one of them (DESIGN.md §2a): the workspace row joined with every
//! grant that reaches the principal through a live team, in one indexed
//! lookup. The union of the granted roles is folded in `authz::workspace`;
//! nothing here decides.
//!
//! Every function takes a proof and filters by its org, so a workspace slug
//! of another org matches nothing.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, execute_audited, insert_event};
use super::orgs::MembershipRow;
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{OrgScope, OwnerScope, Principal};

/// Why a workspace change was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("a workspace with that slug exists in the organization")]
    SlugTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn slug_error(e: sqlx::Error) -> WorkspaceError {
    if is_unique_violation(&e) {
        WorkspaceError::SlugTaken
    } else {
        WorkspaceError::Db(e)
    }
}

/// The name of the workspace every org starts with.
pub const DEFAULT_WORKSPACE: &str = "default";

#[derive(Debug, Clone, FromRow)]
pub struct WorkspaceRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub archived_at: Option<i64>,
}

/// One role that reaches a principal in a workspace, and the team it comes
/// through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub team_id: Uuid,
    pub team_name: String,
    pub role_id: Uuid,
    pub role_name: String,
    pub permissions: i64,
}

/// A workspace and the grants that reach one principal there.
#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    pub workspace: WorkspaceRow,
    pub grants: Vec<GrantRow>,
}

/// `WorkspaceAccess` for an API key, with the org membership it rests on and
/// whether the workspace is granted to the key: the whole permission check of
/// a `/v1` workspace request in one query beyond the key lookup.
#[derive(Debug, Clone)]
pub struct KeyWorkspaceAccess {
    pub membership: MembershipRow,
    pub has_mfa: bool,
    pub key_granted: bool,
    pub access: WorkspaceAccess,
}

#[derive(FromRow)]
struct AccessLine {
    #[sqlx(flatten)]
    workspace: WorkspaceRow,
    team_id: Option<Uuid>,
    team_name: Option<String>,
    role_id: Option<Uuid>,
    role_name: Option<String>,
    permissions: Option<i64>,
}

#[derive(FromRow)]
struct KeyAccessLine {
    org_id: Uuid,
    org_slug: String,
    org_name: String,
    require_mfa: bool,
    require_passkey: bool,
    max_key_lifetime_days: Option<i64>,
    disabled_at: Option<i64>,
    role: String,
    has_mfa: bool,
    key_granted: bool,
    #[sqlx(flatten)]
    line: AccessLine,
}

fn fold(lines: Vec<AccessLine>) -> Option<WorkspaceAccess> {
    let mut lines = lines.into_iter();
    let first = lines.next()?;
    let workspace = first.workspace.clone();
    let grants = std::iter::once(first)
        .chain(lines)
        .filter_map(|l| {
            Some(GrantRow {
                team_id: l.team_id?,
                team_name: l.team_name?,
                role_id: l.role_id?,
                role_name: l.role_name?,
                permissions: l.permissions?,
            })
        })
        .collect();
    Some(WorkspaceAccess { workspace, grants })
}

/// The workspace columns, and the grant reaching the principal through one
/// live team (NULLs when none does). `$3` is the principal's id; the
/// membership table is the macro's argument.
macro_rules! access_sql {
    ($members:literal, $member_col:literal) => {
        concat!(
            "SELECT w.id, w.slug, w.name, w.description, w.created_at, w.archived_at, \
             t.id AS team_id, t.name AS team_name, r.id AS role_id, r.name AS role_name, \
             r.permissions \
             FROM workspaces w LEFT JOIN (",
            $members,
            " tm JOIN teams t ON t.id = tm.team_id AND t.deleted_at IS NULL \
             JOIN workspace_grants g ON g.team_id = tm.team_id \
             JOIN roles r ON r.id = g.role_id) \
             ON g.workspace_id = w.id AND tm.org_id = w.org_id AND tm.",
            $member_col,
            " = $3 WHERE w.org_id = $1 AND w.slug = $2 ORDER BY t.name, t.id"
        )
    };
}

/// `access_sql!` joined to the key's org and its principal's place in it.
macro_rules! key_access_sql {
    ($principal_join:literal, $role:literal, $has_mfa:literal, $members:literal, $member_col:literal) => {
        concat!(
            "SELECT o.id AS org_id, o.slug AS org_slug, o.name AS org_name, o.require_mfa, \
             o.require_passkey, o.max_key_lifetime_days, o.disabled_at, ",
            $role,
            " AS role, ",
            $has_mfa,
            " AS has_mfa, \
             EXISTS (SELECT 1 FROM api_key_workspaces kw WHERE kw.key_id = $5 \
                     AND kw.workspace_id = w.id) AS key_granted, \
             w.id, w.slug, w.name, w.description, w.created_at, w.archived_at, \
             t.id AS team_id, t.name AS team_name, r.id AS role_id, r.name AS role_name, \
             r.permissions \
             FROM orgs o ",
            $principal_join,
            " JOIN workspaces w ON w.org_id = o.id AND w.slug = $4 LEFT JOIN (",
            $members,
            " tm JOIN teams t ON t.id = tm.team_id AND t.deleted_at IS NULL \
             JOIN workspace_grants g ON g.team_id = tm.team_id \
             JOIN roles r ON r.id = g.role_id) \
             ON g.workspace_id = w.id AND tm.org_id = o.id AND tm.",
            $member_col,
            " = $2 WHERE o.slug = $1 AND o.id = $3 AND o.deleted_at IS NULL ORDER BY t.name, t.id"
        )
    };
}

impl Db {
    /// The workspace `slug` of the scope's org and the grants that reach the
    /// scope's principal there; `None` when the org has no such workspace.
    pub async fn workspace_access(
        &self,
        scope: &OrgScope,
        slug: &str,
    ) -> Result<Option<WorkspaceAccess>, sqlx::Error> {
        let (sql, id) = match scope.principal() {
            Principal::User(id) => (access_sql!("team_members", "user_id"), id),
            Principal::ServiceAccount(id) => (
                access_sql!("team_service_accounts", "service_account_id"),
                id,
            ),
        };
        let lines = on_pool!(self, |pool| {
            sqlx::query_as::<_, AccessLine>(sql)
                .bind(scope.org_id())
                .bind(slug)
                .bind(id)
                .fetch_all(pool)
                .await
        })?;
        Ok(fold(lines))
    }

    /// `workspace_access` for the key `key_id` of `principal`, bound to the
    /// org `bound_to`, in the org `org_slug`: `None` when the org is not the
    /// key's, the principal is no longer in it, or it has no such workspace.
    pub async fn key_workspace_access(
        &self,
        principal: Principal,
        key_id: Uuid,
        bound_to: Uuid,
        org_slug: &str,
        slug: &str,
    ) -> Result<Option<KeyWorkspaceAccess>, sqlx::Error> {
        let (sql, id) = match principal {
            Principal::User(id) => (
                key_access_sql!(
                    "JOIN memberships m ON m.org_id = o.id AND m.user_id = $2 AND m.suspended_at IS NULL",
                    "m.role",
                    "(EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id) \
                     OR (NOT o.require_passkey \
                         AND EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = m.user_id)))",
                    "team_members",
                    "user_id"
                ),
                id,
            ),
            Principal::ServiceAccount(id) => (
                key_access_sql!(
                    "JOIN service_accounts sa ON sa.org_id = o.id AND sa.id = $2 \
                     AND sa.deleted_at IS NULL",
                    "sa.role",
                    "TRUE",
                    "team_service_accounts",
                    "service_account_id"
                ),
                id,
            ),
        };
        let lines = on_pool!(self, |pool| {
            sqlx::query_as::<_, KeyAccessLine>(sql)
                .bind(org_slug)
                .bind(id)
                .bind(bound_to)
                .bind(slug)
                .bind(key_id)
                .fetch_all(pool)
                .await
        })?;
        let Some(first) = lines.first() else {
            return Ok(None);
        };
        let membership = MembershipRow {
            org_id: first.org_id,
            slug: first.org_slug.clone(),
            name: first.org_name.clone(),
            require_mfa: first.require_mfa,
            require_passkey: first.require_passkey,
            max_key_lifetime_days: first.max_key_lifetime_days,
            role: first.role.clone(),
            disabled_at: first.disabled_at,
        };
        let (has_mfa, key_granted) = (first.has_mfa, first.key_granted);
        let access = fold(lines.into_iter().map(|l| l.line).collect());
        Ok(access.map(|access| KeyWorkspaceAccess {
            membership,
            has_mfa,
            key_granted,
            access,
        }))
    }

    /// The live workspaces of the scope's org that its principal reaches:
    /// every one for an owner, otherwise those granted to one of its live
    /// teams. Archived ones are left out unless `archived`.
    pub async fn visible_workspaces(
        &self,
        scope: &OrgScope,
        archived: bool,
    ) -> Result<Vec<WorkspaceRow>, sqlx::Error> {
        const ALL: &str = "SELECT id, slug, name, description, created_at, archived_at \
                           FROM workspaces WHERE org_id = $1 AND ($2 OR archived_at IS NULL) \
                           ORDER BY slug";
        macro_rules! granted {
            ($members:literal, $col:literal) => {
                concat!(
                    "SELECT w.id, w.slug, w.name, w.description, w.created_at, w.archived_at \
                     FROM workspaces w WHERE w.org_id = $1 AND ($2 OR w.archived_at IS NULL) \
                     AND EXISTS (SELECT 1 FROM ",
                    $members,
                    " tm JOIN teams t ON t.id = tm.team_id AND t.deleted_at IS NULL \
                     JOIN workspace_grants g ON g.team_id = tm.team_id \
                     WHERE g.workspace_id = w.id AND tm.org_id = w.org_id AND tm.",
                    $col,
                    " = $3) ORDER BY w.slug"
                )
            };
        }
        let (sql, id) = match scope.principal() {
            _ if scope.is_owner() => (ALL, Uuid::nil()),
            Principal::User(id) => (granted!("team_members", "user_id"), id),
            Principal::ServiceAccount(id) => {
                (granted!("team_service_accounts", "service_account_id"), id)
            }
        };
        on_pool!(self, |pool| {
            sqlx::query_as::<_, WorkspaceRow>(sql)
                .bind(scope.org_id())
                .bind(archived)
                .bind(id)
                .fetch_all(pool)
                .await
        })
    }
}

/// Owner-only changes to the org's workspaces: each writes its audit event
/// in the same transaction, and filters by the owner's org, so another org's
/// workspace id matches nothing.
impl Db {
    /// Any workspace of the owner's org by slug, archived or not.
    pub async fn find_workspace(
        &self,
        scope: &OwnerScope,
        slug: &str,
    ) -> Result<Option<WorkspaceRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, WorkspaceRow>(
                "SELECT id, slug, name, description, created_at, archived_at \
                 FROM workspaces WHERE org_id = $1 AND slug = $2",
            )
            .bind(scope.org_id())
            .bind(slug)
            .fetch_optional(pool)
            .await
        })
    }

    /// Creates a workspace and writes `event(id)`, in one transaction.
    pub async fn create_workspace(
        &self,
        scope: &OwnerScope,
        slug: &str,
        name: &str,
        description: &str,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, WorkspaceError> {
        let id = Uuid::now_v7();
        let event = event(id);
        let created: Result<(), sqlx::Error> = async {
            in_tx!(self, |tx| {
                sqlx::query(
                    "INSERT INTO workspaces (id, org_id, slug, name, description, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(scope.org_id())
                .bind(slug)
                .bind(name)
                .bind(description)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                insert_event!(&mut *tx, &event, now)?;
            });
            Ok(())
        }
        .await;
        created.map_err(slug_error)?;
        Ok(id)
    }

    /// Renames and re-describes a workspace (archived or not); `false` when
    /// the org has no such workspace.
    pub async fn update_workspace(
        &self,
        scope: &OwnerScope,
        id: Uuid,
        name: &str,
        description: &str,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            execute_audited!(
                tx,
                sqlx::query(
                    "UPDATE workspaces SET name = $1, description = $2 \
                     WHERE org_id = $3 AND id = $4",
                )
                .bind(name)
                .bind(description)
                .bind(scope.org_id())
                .bind(id),
                &event,
                now
            )
        }))
    }

    /// Archives (read-only, hidden from pickers) or restores a workspace;
    /// `false` when it is already in that state or not the org's.
    pub async fn set_workspace_archived(
        &self,
        scope: &OwnerScope,
        id: Uuid,
        archived: bool,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            if archived {
                execute_audited!(
                    tx,
                    sqlx::query(
                        "UPDATE workspaces SET archived_at = $1 \
                         WHERE org_id = $2 AND id = $3 AND archived_at IS NULL",
                    )
                    .bind(now)
                    .bind(scope.org_id())
                    .bind(id),
                    &event,
                    now
                )
            } else {
                execute_audited!(
                    tx,
                    sqlx::query(
                        "UPDATE workspaces SET archived_at = NULL \
                         WHERE org_id = $1 AND id = $2 AND archived_at IS NOT NULL",
                    )
                    .bind(scope.org_id())
                    .bind(id),
                    &event,
                    now
                )
            }
        }))
    }

    /// The live workspaces of the key's org that are granted to the key
    /// `key_id` and that its principal reaches now (every one for an owner):
    /// what `GET /v1/orgs/{slug}/workspaces` lists.
    pub async fn key_workspaces(
        &self,
        scope: &OrgScope,
        key_id: Uuid,
    ) -> Result<Vec<WorkspaceRow>, sqlx::Error> {
        let granted: Vec<Uuid> = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT workspace_id FROM api_key_workspaces WHERE key_id = $1 AND org_id = $2",
            )
            .bind(key_id)
            .bind(scope.org_id())
            .fetch_all(pool)
            .await
        })?;
        let mut visible = self.visible_workspaces(scope, true).await?;
        visible.retain(|w| granted.contains(&w.id));
        Ok(visible)
    }
}
