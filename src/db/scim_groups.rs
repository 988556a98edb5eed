//! SCIM groups storage: the teams an org's identity provider manages
//! (`teams.scim_managed`), reached only through its token's `ScimScope`.
//!
//! Invariants: SCIM sees only the teams it made (a hand-made team is not a
//! group, and a group named like one is refused as taken); a group's members
//! are people with a live (not suspended) membership in the scope's org,
//! checked in the transaction that adds them; every change and its audit
//! event commit together. The console's team functions (`db::teams`) refuse
//! to rename, staff or delete these teams (`OrgError::ScimManaged`).

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::ScimScope;

/// A SCIM-managed team, as a SCIM group.
#[derive(Debug, Clone, FromRow)]
pub struct ScimGroup {
    pub id: Uuid,
    pub name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

/// A person on a group.
#[derive(Debug, Clone, FromRow)]
pub struct ScimGroupMember {
    pub team_id: Uuid,
    pub user_id: Uuid,
}

/// Which groups a SCIM list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupFilter {
    All,
    /// `displayName eq "…"` (case-insensitive, as the schema says).
    DisplayName(String),
    /// `externalId eq "…"`.
    ExternalId(String),
}

/// A change to a group, checked in full by the handler before it is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChanges {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
    /// The whole member list (PUT, PATCH `replace members`), applied first.
    pub replace_members: Option<Vec<Uuid>>,
    pub add_members: Vec<Uuid>,
    pub remove_members: Vec<Uuid>,
}

/// Why a group change was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum GroupStoreError {
    #[error("a team with that name exists")]
    NameTaken,
    /// Not a live member of the scope's org.
    #[error("not a member of this organization: {0}")]
    UnknownMember(Uuid),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const GROUP_COLUMNS_BY_ID: &str = "SELECT t.id, t.name, t.scim_external_id AS external_id, \
     t.created_at, t.scim_updated_at AS updated_at FROM teams t \
     WHERE t.org_id = $1 AND t.id = $2 AND t.scim_managed = TRUE AND t.deleted_at IS NULL";

/// Whether `user_id` holds a live membership of the org (inside `$tx`).
macro_rules! live_member {
    ($tx:ident, $org:expr, $user:expr) => {{
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND user_id = $2 \
             AND suspended_at IS NULL",
        )
        .bind($org)
        .bind($user)
        .fetch_one(&mut *$tx)
        .await?;
        n == 1
    }};
}

/// Puts a live member on the team (nothing when they are on it).
macro_rules! put_on_team {
    ($tx:ident, $org:expr, $team:expr, $user:expr, $now:expr) => {{
        sqlx::query(
            "INSERT INTO team_members (team_id, org_id, user_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, user_id) DO NOTHING",
        )
        .bind($team)
        .bind($org)
        .bind($user)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Takes a person off the team, and the team from their keys' grants (as
/// `Db::remove_team_member` does).
macro_rules! take_off_team {
    ($tx:ident, $org:expr, $team:expr, $user:expr) => {{
        sqlx::query("DELETE FROM team_members WHERE org_id = $1 AND team_id = $2 AND user_id = $3")
            .bind($org)
            .bind($team)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "DELETE FROM api_key_teams WHERE team_id = $1 AND key_id IN \
             (SELECT id FROM api_keys WHERE owner_user_id = $2 AND org_id = $3)",
        )
        .bind($team)
        .bind($user)
        .bind($org)
        .execute(&mut *$tx)
        .await?;
    }};
}

fn name_error(e: sqlx::Error) -> GroupStoreError {
    if is_unique_violation(&e) {
        GroupStoreError::NameTaken
    } else {
        GroupStoreError::Db(e)
    }
}

impl Db {
    /// One SCIM-managed live team of the scope's org.
    pub async fn scim_group(
        &self,
        scope: &ScimScope,
        id: Uuid,
    ) -> Result<Option<ScimGroup>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimGroup>(GROUP_COLUMNS_BY_ID)
                .bind(scope.org_id())
                .bind(id)
                .fetch_optional(pool)
                .await
        })
    }

    /// A page of the org's SCIM groups (`offset` from 0, oldest first), how
    /// many match, and — unless `with_members` is false — the members of the
    /// groups on the page.
    pub async fn scim_groups(
        &self,
        scope: &ScimScope,
        filter: &GroupFilter,
        offset: i64,
        limit: i64,
        with_members: bool,
    ) -> Result<(i64, Vec<ScimGroup>, Vec<ScimGroupMember>), sqlx::Error> {
        let (name, external) = match filter {
            GroupFilter::All => (None, None),
            GroupFilter::DisplayName(n) => (Some(n.as_str()), None),
            GroupFilter::ExternalId(x) => (None, Some(x.as_str())),
        };
        let total: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM teams t WHERE t.org_id = $1 AND t.scim_managed = TRUE \
                 AND t.deleted_at IS NULL AND ($2 IS NULL OR LOWER(t.name) = LOWER($2)) \
                 AND ($3 IS NULL OR t.scim_external_id = $3)",
            )
            .bind(scope.org_id())
            .bind(name)
            .bind(external)
            .fetch_one(pool)
            .await
        })?;
        let groups = on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimGroup>(
                "SELECT t.id, t.name, t.scim_external_id AS external_id, t.created_at, \
                 t.scim_updated_at AS updated_at FROM teams t \
                 WHERE t.org_id = $1 AND t.scim_managed = TRUE AND t.deleted_at IS NULL \
                 AND ($2 IS NULL OR LOWER(t.name) = LOWER($2)) \
                 AND ($3 IS NULL OR t.scim_external_id = $3) \
                 ORDER BY t.created_at, t.id LIMIT $4 OFFSET $5",
            )
            .bind(scope.org_id())
            .bind(name)
            .bind(external)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        if !with_members || groups.is_empty() {
            return Ok((total, groups, Vec::new()));
        }
        // The members of exactly the page's groups, in one query.
        let members = on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimGroupMember>(
                "SELECT tm.team_id, u.id AS user_id FROM team_members tm \
                 JOIN users u ON u.id = tm.user_id WHERE tm.org_id = $1 AND tm.team_id IN \
                 (SELECT t.id FROM teams t WHERE t.org_id = $1 AND t.scim_managed = TRUE \
                  AND t.deleted_at IS NULL AND ($2 IS NULL OR LOWER(t.name) = LOWER($2)) \
                  AND ($3 IS NULL OR t.scim_external_id = $3) \
                  ORDER BY t.created_at, t.id LIMIT $4 OFFSET $5) \
                 ORDER BY u.display_name, u.id",
            )
            .bind(scope.org_id())
            .bind(name)
            .bind(external)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok((total, groups, members))
    }

    /// The people on one group of the scope's org.
    pub async fn scim_group_members(
        &self,
        scope: &ScimScope,
        id: Uuid,
    ) -> Result<Vec<ScimGroupMember>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimGroupMember>(
                "SELECT tm.team_id, u.id AS user_id FROM team_members tm \
                 JOIN users u ON u.id = tm.user_id WHERE tm.org_id = $1 AND tm.team_id = $2 \
                 ORDER BY u.display_name, u.id",
            )
            .bind(scope.org_id())
            .bind(id)
            .fetch_all(pool)
            .await
        })
    }

    /// `POST /Groups`: a new SCIM-managed team with `members` on it, and
    /// `event(team id)`, in one transaction.
    pub async fn create_scim_group(
        &self,
        scope: &ScimScope,
        name: &str,
        external_id: Option<&str>,
        members: &[Uuid],
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, GroupStoreError> {
        let id = Uuid::now_v7();
        let event = event(id);
        let org = scope.org_id();
        let result: Result<Result<(), GroupStoreError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                for user in members {
                    if !live_member!(tx, org, *user) {
                        return Ok(Err(GroupStoreError::UnknownMember(*user)));
                    }
                }
                sqlx::query(
                    "INSERT INTO teams (id, org_id, name, created_at, scim_managed, \
                     scim_external_id, scim_updated_at) VALUES ($1, $2, $3, $4, TRUE, $5, $4)",
                )
                .bind(id)
                .bind(org)
                .bind(name)
                .bind(now)
                .bind(external_id)
                .execute(&mut *tx)
                .await?;
                for user in members {
                    put_on_team!(tx, org, id, *user, now);
                }
                insert_event!(&mut *tx, &event, now)?;
                Ok(Ok(()))
            })
        }
        .await;
        match result {
            Ok(Ok(())) => Ok(id),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(name_error(e)),
        }
    }

    /// PUT and PATCH: applies `changes` to a group of the scope's org in one
    /// transaction, and writes `event` with what changed (`before` and
    /// `after` names, `members_added`, `members_removed`) when anything did.
    /// `Ok(false)` when there is no such group.
    pub async fn update_scim_group(
        &self,
        scope: &ScimScope,
        id: Uuid,
        changes: &GroupChanges,
        event: Event,
        now: i64,
    ) -> Result<bool, GroupStoreError> {
        let org = scope.org_id();
        let result: Result<Result<bool, GroupStoreError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                let current: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT name, scim_external_id FROM teams WHERE org_id = $1 AND id = $2 \
                     AND scim_managed = TRUE AND deleted_at IS NULL",
                )
                .bind(org)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((name, external_id)) = current else {
                    return Ok(Ok(false));
                };
                let on_team: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT user_id FROM team_members WHERE org_id = $1 AND team_id = $2",
                )
                .bind(org)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                // The member set wanted, from the current one.
                let mut wanted: Vec<Uuid> = changes
                    .replace_members
                    .clone()
                    .unwrap_or_else(|| on_team.clone());
                for user in &changes.add_members {
                    if !wanted.contains(user) {
                        wanted.push(*user);
                    }
                }
                wanted.retain(|u| !changes.remove_members.contains(u));
                let added: Vec<Uuid> = wanted
                    .iter()
                    .copied()
                    .filter(|u| !on_team.contains(u))
                    .collect();
                let removed: Vec<Uuid> = on_team
                    .iter()
                    .copied()
                    .filter(|u| !wanted.contains(u))
                    .collect();
                for user in &added {
                    if !live_member!(tx, org, *user) {
                        return Ok(Err(GroupStoreError::UnknownMember(*user)));
                    }
                }
                let renamed = changes.name.as_ref().filter(|n| **n != name);
                if let Some(new_name) = renamed {
                    sqlx::query("UPDATE teams SET name = $3 WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(id)
                        .bind(new_name)
                        .execute(&mut *tx)
                        .await?;
                }
                let new_external = changes.external_id.as_ref().filter(|x| **x != external_id);
                if let Some(x) = new_external {
                    sqlx::query(
                        "UPDATE teams SET scim_external_id = $3 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(x.as_deref())
                    .execute(&mut *tx)
                    .await?;
                }
                for user in &added {
                    put_on_team!(tx, org, id, *user, now);
                }
                for user in &removed {
                    take_off_team!(tx, org, id, *user);
                }
                if renamed.is_some()
                    || new_external.is_some()
                    || !added.is_empty()
                    || !removed.is_empty()
                {
                    sqlx::query(
                        "UPDATE teams SET scim_updated_at = $3 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let ids = |v: &[Uuid]| v.iter().map(Uuid::to_string).collect::<Vec<_>>();
                    let event = event
                        .with("before", name.as_str())
                        .with("after", renamed.unwrap_or(&name).as_str())
                        .with("external_id", new_external.cloned().unwrap_or(external_id))
                        .with("members_added", ids(&added))
                        .with("members_removed", ids(&removed));
                    insert_event!(&mut *tx, &event, now)?;
                }
                Ok(Ok(true))
            })
        }
        .await;
        match result {
            Ok(r) => r,
            Err(e) => Err(name_error(e)),
        }
    }

    /// `DELETE /Groups/{id}`: deletes the team as an owner's delete does
    /// (soft: its members lose what it grants at once), with `event`.
    pub async fn delete_scim_group(
        &self,
        scope: &ScimScope,
        id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            super::audit::execute_audited!(
                tx,
                sqlx::query(
                    "UPDATE teams SET deleted_at = $3, scim_updated_at = $3 \
                     WHERE org_id = $1 AND id = $2 AND scim_managed = TRUE \
                     AND deleted_at IS NULL",
                )
                .bind(scope.org_id())
                .bind(id)
                .bind(now),
                &event,
                now
            )
        }))
    }
}
