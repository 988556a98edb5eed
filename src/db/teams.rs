//! An org's teams and their members. Owners create, rename, delete (soft,
//! restorable for `TEAM_RESTORE_SECS`) and staff teams (`OwnerScope`); a
//! member sees their own teams (`my_teams`). Every function filters by its
//! proof's org id, so a team or member id of another org matches nothing.
//!
//! Every change takes the audit event that records it and writes it in its
//! own transaction: the change and its record commit or roll back together.
//!
//! A team managed by the org's identity provider (`scim_managed`, made by
//! `/scim/v2/Groups`) is refused here (`OrgError::ScimManaged`) for rename,
//! delete, restore and adding or removing a person, whoever calls (console
//! or `/v1`); its workspace grants and its service accounts stay the
//! owners' (`db::grants`, `db::service_accounts`).

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, execute_audited, insert_event};
use super::members::MemberRef;
use super::orgs::OrgError;
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{OrgScope, OwnerScope, Principal, SudoUser};

/// Soft-deleted teams can be restored for this long.
pub const TEAM_RESTORE_SECS: i64 = 30 * 86_400;

#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub member_count: i64,
    /// Made by the org's identity provider (SCIM groups): not editable here.
    pub scim_managed: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamMemberRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
}

/// A team someone is on, with the roles it holds on workspaces (what being
/// on it gives them).
#[derive(Debug, Clone)]
pub struct MemberTeam {
    pub team_id: Uuid,
    pub name: String,
    /// "‹workspace›: ‹role›" for each workspace grant, by workspace name.
    pub workspace_roles: Vec<String>,
}

/// Returns `Err(OrgError::ScimManaged)` from the enclosing transaction when
/// the team is one of the identity provider's.
macro_rules! refuse_scim_managed {
    ($tx:ident, $org:expr, $team:expr) => {{
        let managed: Option<bool> =
            sqlx::query_scalar("SELECT scim_managed FROM teams WHERE org_id = $1 AND id = $2")
                .bind($org)
                .bind($team)
                .fetch_optional(&mut *$tx)
                .await?;
        if managed == Some(true) {
            return Ok(Err(OrgError::ScimManaged));
        }
    }};
}

/// Flattens the result of a transaction whose body decides an `OrgError`,
/// naming a unique violation of the team name.
fn settle<T>(r: Result<Result<T, OrgError>, sqlx::Error>) -> Result<T, OrgError> {
    match r {
        Ok(r) => r,
        Err(e) => Err(Db::team_name_error(e)),
    }
}

impl Db {
    /// The teams the scope's own member is on (any member may see their
    /// own; a service account's scope has none here).
    pub async fn my_teams(&self, scope: &OrgScope) -> Result<Vec<MemberTeam>, sqlx::Error> {
        match scope.principal() {
            Principal::User(user_id) => self.teams_of(scope, user_id).await,
            Principal::ServiceAccount(_) => Ok(Vec::new()),
        }
    }

    /// The teams of any member of the org (owners only).
    pub async fn member_teams(
        &self,
        scope: &OwnerScope,
        user_id: Uuid,
    ) -> Result<Vec<MemberTeam>, sqlx::Error> {
        self.teams_of(scope, user_id).await
    }

    async fn teams_of(
        &self,
        scope: &OrgScope,
        user_id: Uuid,
    ) -> Result<Vec<MemberTeam>, sqlx::Error> {
        /// (team id, team name, workspace name, archived at, role name)
        type Row = (Uuid, String, Option<String>, Option<i64>, Option<String>);
        let rows: Vec<Row> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT t.id, t.name, w.name, w.archived_at, r.name FROM team_members tm \
                     JOIN teams t ON t.id = tm.team_id \
                     LEFT JOIN workspace_grants g ON g.team_id = t.id \
                     LEFT JOIN workspaces w ON w.id = g.workspace_id \
                     LEFT JOIN roles r ON r.id = g.role_id \
                     WHERE tm.org_id = $1 AND tm.user_id = $2 AND t.deleted_at IS NULL \
                     ORDER BY t.name, t.id, w.name",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?;
        let mut teams: Vec<MemberTeam> = Vec::new();
        for (team_id, name, workspace, archived_at, role) in rows {
            if teams.last().is_none_or(|t| t.team_id != team_id) {
                teams.push(MemberTeam {
                    team_id,
                    name,
                    workspace_roles: Vec::new(),
                });
            }
            if let (Some(team), Some(workspace), Some(role)) = (teams.last_mut(), workspace, role) {
                let archived = if archived_at.is_some() {
                    " (archived)"
                } else {
                    ""
                };
                team.workspace_roles
                    .push(format!("{workspace}{archived}: {role}"));
            }
        }
        Ok(teams)
    }

    /// Live teams, and deleted ones still restorable, with member counts.
    pub async fn list_teams(
        &self,
        scope: &OrgScope,
        now: i64,
    ) -> Result<Vec<TeamRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TeamRow>(
                "SELECT t.id, t.name, t.created_at, t.deleted_at, \
                 (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) AS member_count, \
                 t.scim_managed FROM teams t WHERE t.org_id = $1 \
                 AND (t.deleted_at IS NULL OR t.deleted_at > $2) ORDER BY t.name",
            )
            .bind(scope.org_id())
            .bind(now - TEAM_RESTORE_SECS)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn find_team(
        &self,
        scope: &OrgScope,
        team_id: Uuid,
        now: i64,
    ) -> Result<Option<TeamRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TeamRow>(
                "SELECT t.id, t.name, t.created_at, t.deleted_at, \
                 (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) AS member_count, \
                 t.scim_managed FROM teams t WHERE t.org_id = $1 AND t.id = $2 \
                 AND (t.deleted_at IS NULL OR t.deleted_at > $3)",
            )
            .bind(scope.org_id())
            .bind(team_id)
            .bind(now - TEAM_RESTORE_SECS)
            .fetch_optional(pool)
            .await
        })
    }

    fn team_name_error(e: sqlx::Error) -> OrgError {
        if is_unique_violation(&e) {
            OrgError::TeamNameTaken
        } else {
            OrgError::Db(e)
        }
    }

    /// Creates a team and writes `event(team id)`, in one transaction.
    pub async fn create_team(
        &self,
        scope: &OwnerScope,
        name: &str,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, OrgError> {
        let id = Uuid::now_v7();
        let event = event(id);
        let created: Result<(), sqlx::Error> = async {
            in_tx!(self, |tx| {
                sqlx::query(
                    "INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(scope.org_id())
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                insert_event!(&mut *tx, &event, now)?;
            });
            Ok(())
        }
        .await;
        created.map_err(Self::team_name_error)?;
        Ok(id)
    }

    /// Renames a live team and writes `event`, in one transaction.
    pub async fn rename_team(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        name: &str,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        let renamed: Result<Result<bool, OrgError>, sqlx::Error> = async {
            Ok(in_tx!(self, |tx| {
                refuse_scim_managed!(tx, scope.org_id(), team_id);
                Ok(execute_audited!(
                    tx,
                    sqlx::query(
                        "UPDATE teams SET name = $1 WHERE org_id = $2 AND id = $3 \
                     AND deleted_at IS NULL",
                    )
                    .bind(name)
                    .bind(scope.org_id())
                    .bind(team_id),
                    &event,
                    now
                ))
            }))
        }
        .await;
        settle(renamed)
    }

    /// Soft-deletes a team: its members lose team-scoped access at once (the
    /// team no longer counts anywhere), and an owner can restore it for 30
    /// days. Destructive, so the owner is in sudo mode (`SudoUser`).
    pub async fn delete_team(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        team_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        let deleted: Result<Result<bool, OrgError>, sqlx::Error> = async {
            Ok(in_tx!(self, |tx| {
                refuse_scim_managed!(tx, scope.org_id(), team_id);
                Ok(execute_audited!(
                    tx,
                    sqlx::query(
                        "UPDATE teams SET deleted_at = $1 WHERE org_id = $2 AND id = $3 \
                     AND deleted_at IS NULL",
                    )
                    .bind(now)
                    .bind(scope.org_id())
                    .bind(team_id),
                    &event,
                    now
                ))
            }))
        }
        .await;
        settle(deleted)
    }

    pub async fn restore_team(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        let restored: Result<Result<bool, OrgError>, sqlx::Error> = async {
            Ok(in_tx!(self, |tx| {
                refuse_scim_managed!(tx, scope.org_id(), team_id);
                Ok(execute_audited!(
                    tx,
                    sqlx::query(
                        "UPDATE teams SET deleted_at = NULL WHERE org_id = $1 AND id = $2 \
                     AND deleted_at IS NOT NULL AND deleted_at > $3",
                    )
                    .bind(scope.org_id())
                    .bind(team_id)
                    .bind(now - TEAM_RESTORE_SECS),
                    &event,
                    now
                ))
            }))
        }
        .await;
        settle(restored)
    }

    pub async fn team_members(
        &self,
        scope: &OrgScope,
        team_id: Uuid,
    ) -> Result<Vec<TeamMemberRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TeamMemberRow>(
                "SELECT tm.user_id, u.display_name, u.email FROM team_members tm \
                 JOIN users u ON u.id = tm.user_id WHERE tm.org_id = $1 AND tm.team_id = $2 \
                 ORDER BY u.display_name",
            )
            .bind(scope.org_id())
            .bind(team_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Adds an org member (by email from the console, by id from the API) to
    /// a live team of this org; returns the user id and whether they were
    /// added now, and writes `event(user id)` only then (adding someone who
    /// is already on the team changes nothing). `NotAMember` for anyone not
    /// in this org. What the member may then do comes from the team's
    /// workspace grants, not from anything stored here.
    pub async fn add_team_member(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        member: MemberRef<'_>,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<(Uuid, bool), OrgError> {
        in_tx!(self, |tx| {
            let managed: Option<bool> =
                sqlx::query_scalar("SELECT scim_managed FROM teams WHERE org_id = $1 AND id = $2")
                    .bind(scope.org_id())
                    .bind(team_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if managed == Some(true) {
                return Err(OrgError::ScimManaged);
            }
            let member: Option<Uuid> =
                match member {
                    MemberRef::Email(email) => sqlx::query_scalar(
                        "SELECT m.user_id FROM memberships m JOIN teams t ON t.org_id = m.org_id \
                         WHERE m.org_id = $1 AND m.member_email = $2 AND t.id = $3 \
                         AND t.deleted_at IS NULL AND m.suspended_at IS NULL",
                    )
                    .bind(scope.org_id())
                    .bind(email)
                    .bind(team_id)
                    .fetch_optional(&mut *tx)
                    .await?,
                    MemberRef::Id(user_id) => sqlx::query_scalar(
                        "SELECT m.user_id FROM memberships m JOIN teams t ON t.org_id = m.org_id \
                         WHERE m.org_id = $1 AND m.user_id = $2 AND t.id = $3 \
                         AND t.deleted_at IS NULL AND m.suspended_at IS NULL",
                    )
                    .bind(scope.org_id())
                    .bind(user_id)
                    .bind(team_id)
                    .fetch_optional(&mut *tx)
                    .await?,
                };
            let Some(user_id) = member else {
                return Err(OrgError::NotAMember);
            };
            let added = sqlx::query(
                "INSERT INTO team_members (team_id, org_id, user_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, user_id) DO NOTHING",
            )
            .bind(team_id)
            .bind(scope.org_id())
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if added {
                insert_event!(&mut *tx, &event(user_id), now)?;
            }
            Ok((user_id, added))
        })
    }

    /// Takes a user off a team, and the team from their keys' grants, at once,
    /// writing `event` when they were on it.
    pub async fn remove_team_member(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        user_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        let removed: Result<Result<bool, OrgError>, sqlx::Error> = async {
            Ok(in_tx!(self, |tx| {
                refuse_scim_managed!(tx, scope.org_id(), team_id);
                let n = sqlx::query(
                    "DELETE FROM team_members WHERE org_id = $1 AND team_id = $2 AND user_id = $3",
                )
                .bind(scope.org_id())
                .bind(team_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(
                    "DELETE FROM api_key_teams WHERE team_id = $1 AND key_id IN \
                 (SELECT id FROM api_keys WHERE owner_user_id = $2 AND org_id = $3)",
                )
                .bind(team_id)
                .bind(user_id)
                .bind(scope.org_id())
                .execute(&mut *tx)
                .await?;
                if n == 1 {
                    insert_event!(&mut *tx, &event, now)?;
                }
                Ok(n == 1)
            }))
        }
        .await;
        settle(removed)
    }
}
