//! Organizations, memberships and teams. Every function here takes an
//! `OrgScope` or `OwnerScope` proof and filters by its org id — there is no
//! way to call them with a bare id — so a member, team or key id of another
//! org matches nothing.
//!
//! "An org keeps at least one owner" is checked inside the transaction that
//! demotes or removes, after locking the org row (`UPDATE orgs SET id = id`:
//! a row lock on PostgreSQL; on SQLite the transaction is already
//! `IMMEDIATE`), so two owners demoting each other at once cannot both win.
//!
//! Every change takes the audit event that records it and writes it in its
//! own transaction: the change and its record commit or roll back together.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, execute_audited, insert_event};
use super::keys::{ApiKey, key_columns};
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, OrgScope, OwnerScope, Principal, SudoUser};
use crate::domain::OrgRole;

/// An org and one member's role in it, as stored. `authz` turns it into the
/// `OrgScope` proof; nothing else should read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
    pub require_mfa: bool,
    pub max_key_lifetime_days: Option<i64>,
    pub role: String,
}
use crate::domain::TeamRole;

/// Soft-deleted teams can be restored for this long.
pub const TEAM_RESTORE_SECS: i64 = 30 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("that address is taken")]
    SlugTaken,
    #[error("the organization must keep at least one owner")]
    LastOwner,
    #[error("a team with that name exists")]
    TeamNameTaken,
    #[error("not a member of this organization")]
    NotAMember,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A personal key's membership in its org, with its owner's MFA state.
#[derive(Debug, Clone, FromRow)]
pub struct KeyMembershipRow {
    #[sqlx(flatten)]
    pub membership: MembershipRow,
    pub has_mfa: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct UserOrg {
    pub slug: String,
    pub name: String,
    pub role: String,
    pub member_count: i64,
}

/// A membership with its team roles.
#[derive(Debug, Clone)]
pub struct UserMembership {
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: String,
    pub joined_at: i64,
    /// (team name, team role)
    pub teams: Vec<(String, String)>,
}

#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub joined_at: i64,
    pub sort_name: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct MemberDetail {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub time_zone: String,
    pub role: String,
    pub joined_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub member_count: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamMemberRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct MemberTeam {
    pub team_id: Uuid,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OrgCounts {
    pub members: i64,
    pub owners: i64,
    pub teams: i64,
}

/// Names an org member: by the email the console's form takes, or by id.
#[derive(Debug, Clone, Copy)]
pub enum MemberRef<'a> {
    Email(&'a str),
    Id(Uuid),
}

/// How the member list is ordered; each has its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSort {
    Name,
    Email,
    Joined,
}

impl MemberSort {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("email") => MemberSort::Email,
            Some("joined") => MemberSort::Joined,
            _ => MemberSort::Name,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MemberSort::Name => "name",
            MemberSort::Email => "email",
            MemberSort::Joined => "joined",
        }
    }
}

/// Where a page of members starts: after this sort key and user id.
#[derive(Debug, Clone)]
pub struct MemberCursor {
    pub key: String,
    pub user_id: Uuid,
}

impl MemberCursor {
    /// The cursor of the page after `row`.
    pub fn after(row: &MemberRow, sort: MemberSort) -> Self {
        let key = match sort {
            MemberSort::Name => row.sort_name.clone(),
            MemberSort::Email => row.email.clone(),
            MemberSort::Joined => format!("{:020}", row.joined_at),
        };
        MemberCursor {
            key,
            user_id: row.user_id,
        }
    }

    pub fn encode(&self) -> String {
        format!("{}~{}", self.user_id.simple(), self.key)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (id, key) = s.split_once('~')?;
        Some(MemberCursor {
            user_id: Uuid::parse_str(id).ok()?,
            key: key.to_owned(),
        })
    }
}

/// `%text%` for LIKE, with the wildcard characters of `text` escaped.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Db {
    /// The org named `slug` and the user's role in it, if they are a member.
    pub async fn membership_by_slug(
        &self,
        user_id: Uuid,
        slug: &str,
    ) -> Result<Option<MembershipRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MembershipRow>(
                "SELECT o.id AS org_id, o.slug, o.name, o.require_mfa, o.max_key_lifetime_days, \
                 m.role FROM orgs o JOIN memberships m ON m.org_id = o.id \
                 WHERE o.slug = $1 AND m.user_id = $2",
            )
            .bind(slug)
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// `membership_by_slug` for a personal API key bound to the org
    /// `bound_to`, with whether the key's owner has MFA on — folded into the
    /// one indexed lookup, because the API applies the org's MFA policy on
    /// every request (`authz::api::ApiOrgKey`).
    pub async fn key_membership_by_slug(
        &self,
        user_id: Uuid,
        bound_to: Uuid,
        slug: &str,
    ) -> Result<Option<KeyMembershipRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, KeyMembershipRow>(
                "SELECT o.id AS org_id, o.slug, o.name, o.require_mfa, o.max_key_lifetime_days, \
                 m.role, EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = m.user_id) AS has_mfa \
                 FROM orgs o JOIN memberships m ON m.org_id = o.id \
                 WHERE o.slug = $1 AND m.user_id = $2 AND o.id = $3",
            )
            .bind(slug)
            .bind(user_id)
            .bind(bound_to)
            .fetch_optional(pool)
            .await
        })
    }

    /// The org named `slug` if it is the org `org_id` (a service account's
    /// binding). A service account is not a member: the row carries the
    /// `member` role, and what it may do beyond that is decided in `authz`.
    pub async fn org_by_binding(
        &self,
        org_id: Uuid,
        slug: &str,
    ) -> Result<Option<MembershipRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MembershipRow>(
                "SELECT o.id AS org_id, o.slug, o.name, o.require_mfa, o.max_key_lifetime_days, \
                 'member' AS role FROM orgs o WHERE o.slug = $1 AND o.id = $2",
            )
            .bind(slug)
            .bind(org_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Creates an org with `owner` as its first owner, and writes `event`
    /// (in the new org's log, about it), in one transaction.
    pub async fn create_org(
        &self,
        owner: &CurrentUser,
        name: &str,
        slug: &str,
        event: Event,
        now: i64,
    ) -> Result<Uuid, OrgError> {
        let id = Uuid::now_v7();
        let event = event.on("org", id).in_org_established(id);
        let result: Result<(), sqlx::Error> = async {
            in_tx!(self, |tx| {
                sqlx::query(
                    "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(slug)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, \
                     created_at) VALUES ($1, $2, 'owner', $3, $4, $5)",
                )
                .bind(id)
                .bind(owner.id())
                .bind(owner.display_name().to_lowercase())
                .bind(owner.email())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                insert_event!(&mut *tx, &event, now)?;
            });
            Ok(())
        }
        .await;
        match result {
            Ok(()) => Ok(id),
            Err(e) if is_unique_violation(&e) => Err(OrgError::SlugTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_orgs(&self, user: &CurrentUser) -> Result<Vec<UserOrg>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, UserOrg>(
                "SELECT o.slug, o.name, m.role, \
                 (SELECT COUNT(*) FROM memberships c WHERE c.org_id = o.id) AS member_count \
                 FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 \
                 ORDER BY o.name",
            )
            .bind(user.id())
            .fetch_all(pool)
            .await
        })
    }

    /// Every membership of the user with its teams (for the data export).
    pub async fn user_memberships(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<UserMembership>, sqlx::Error> {
        let mut orgs: Vec<UserMembership> = on_pool!(self, |pool| {
            sqlx::query_as::<_, (Uuid, String, String, String, i64)>(
                "SELECT o.id, o.slug, o.name, m.role, m.created_at FROM memberships m \
                 JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.slug",
            )
            .bind(user.id())
            .fetch_all(pool)
            .await
        })?
        .into_iter()
        .map(|(org_id, slug, name, role, joined_at)| UserMembership {
            org_id,
            slug,
            name,
            role,
            joined_at,
            teams: Vec::new(),
        })
        .collect();
        let teams: Vec<(Uuid, String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT tm.org_id, t.name, tm.role FROM team_members tm \
                 JOIN teams t ON t.id = tm.team_id \
                 WHERE tm.user_id = $1 AND t.deleted_at IS NULL ORDER BY t.name",
            )
            .bind(user.id())
            .fetch_all(pool)
            .await
        })?;
        for (org_id, team, role) in teams {
            if let Some(m) = orgs.iter_mut().find(|m| m.org_id == org_id) {
                m.teams.push((team, role));
            }
        }
        Ok(orgs)
    }

    pub async fn org_counts(&self, scope: &OrgScope) -> Result<OrgCounts, sqlx::Error> {
        let (members, owners, teams): (i64, i64, i64) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM memberships WHERE org_id = $1), \
                 (SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'), \
                 (SELECT COUNT(*) FROM teams WHERE org_id = $1 AND deleted_at IS NULL)",
            )
            .bind(scope.org_id())
            .fetch_one(pool)
            .await
        })?;
        Ok(OrgCounts {
            members,
            owners,
            teams,
        })
    }

    /// A page of members in index order (keyset pagination: the cost does not
    /// grow with the page number). `query` filters by name or email.
    pub async fn list_members(
        &self,
        scope: &OwnerScope,
        query: &str,
        sort: MemberSort,
        after: Option<&MemberCursor>,
        limit: i64,
    ) -> Result<Vec<MemberRow>, sqlx::Error> {
        let pattern = like_pattern(query.trim());
        let (key, after_id) = match after {
            Some(c) => (c.key.clone(), c.user_id),
            None => (String::new(), Uuid::nil()),
        };
        let sql = match sort {
            MemberSort::Name => {
                "SELECT m.user_id, u.display_name, u.email, m.role, m.created_at AS joined_at, \
                 m.member_name AS sort_name FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 \
                 AND ($2 = '%%' OR m.member_name LIKE $2 ESCAPE '\\' OR m.member_email LIKE $2 ESCAPE '\\') \
                 AND (m.member_name, m.user_id) > ($3, $4) \
                 ORDER BY m.member_name, m.user_id LIMIT $5"
            }
            MemberSort::Email => {
                "SELECT m.user_id, u.display_name, u.email, m.role, m.created_at AS joined_at, \
                 m.member_name AS sort_name FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 \
                 AND ($2 = '%%' OR m.member_name LIKE $2 ESCAPE '\\' OR m.member_email LIKE $2 ESCAPE '\\') \
                 AND (m.member_email, m.user_id) > ($3, $4) \
                 ORDER BY m.member_email, m.user_id LIMIT $5"
            }
            MemberSort::Joined => {
                "SELECT m.user_id, u.display_name, u.email, m.role, m.created_at AS joined_at, \
                 m.member_name AS sort_name FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 \
                 AND ($2 = '%%' OR m.member_name LIKE $2 ESCAPE '\\' OR m.member_email LIKE $2 ESCAPE '\\') \
                 AND (m.created_at, m.user_id) > ($6, $4) \
                 ORDER BY m.created_at, m.user_id LIMIT $5"
            }
        };
        let joined_after: i64 = key.parse().unwrap_or(i64::MIN);
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MemberRow>(sql)
                .bind(scope.org_id())
                .bind(&pattern)
                .bind(&key)
                .bind(after_id)
                .bind(limit)
                .bind(joined_after)
                .fetch_all(pool)
                .await
        })
    }

    /// How many members match, counted up to `cap` (an exact count of a
    /// 100,000-member org on every page view would cost more than the page).
    pub async fn count_members(
        &self,
        scope: &OwnerScope,
        query: &str,
        cap: i64,
    ) -> Result<i64, sqlx::Error> {
        let pattern = like_pattern(query.trim());
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM (SELECT 1 FROM memberships WHERE org_id = $1 \
                 AND ($2 = '%%' OR member_name LIKE $2 ESCAPE '\\' OR member_email LIKE $2 ESCAPE '\\') \
                 LIMIT $3) AS capped",
            )
            .bind(scope.org_id())
            .bind(&pattern)
            .bind(cap)
            .fetch_one(pool)
            .await
        })
    }

    pub async fn find_member(
        &self,
        scope: &OwnerScope,
        user_id: Uuid,
    ) -> Result<Option<MemberDetail>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MemberDetail>(
                "SELECT m.user_id, u.display_name, u.email, u.phone, u.job_title, u.time_zone, \
                 m.role, m.created_at AS joined_at FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

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
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MemberTeam>(
                "SELECT t.id AS team_id, t.name, tm.role FROM team_members tm \
                 JOIN teams t ON t.id = tm.team_id \
                 WHERE tm.org_id = $1 AND tm.user_id = $2 AND t.deleted_at IS NULL \
                 ORDER BY t.name",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// A member's personal keys bound to this org (metadata only).
    pub async fn member_org_keys(
        &self,
        scope: &OwnerScope,
        user_id: Uuid,
    ) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE org_id = $1 AND owner_user_id = $2 ORDER BY created_at DESC"
            ))
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// An owner revokes a member's key bound to this org (never rotates it),
    /// and `event(key id)` is written with it.
    pub async fn revoke_member_key(
        &self,
        scope: &OwnerScope,
        user_id: Uuid,
        public_id: &str,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        in_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, Uuid>(
                "UPDATE api_keys SET revoked_at = $1 \
                 WHERE org_id = $2 AND owner_user_id = $3 AND public_id = $4 \
                 AND revoked_at IS NULL RETURNING id",
            )
            .bind(now)
            .bind(scope.org_id())
            .bind(user_id)
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                insert_event!(&mut *tx, &event(id), now)?;
            }
            Ok(id)
        })
    }

    /// Changes a member's org role and, when it changed, writes `event` with
    /// `before` and `after` added; returns the previous role, or `None` when
    /// the user is not a member of this org.
    pub async fn change_member_role(
        &self,
        scope: &OwnerScope,
        user_id: Uuid,
        role: OrgRole,
        event: Event,
        now: i64,
    ) -> Result<Option<String>, OrgError> {
        in_tx!(self, |tx| {
            sqlx::query("UPDATE orgs SET id = id WHERE id = $1")
                .bind(scope.org_id())
                .execute(&mut *tx)
                .await?;
            let current: Option<String> = sqlx::query_scalar(
                "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            match current {
                None => Ok(None),
                Some(old) => {
                    let owners: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'",
                    )
                    .bind(scope.org_id())
                    .fetch_one(&mut *tx)
                    .await?;
                    if old == "owner" && role != OrgRole::Owner && owners <= 1 {
                        Err(OrgError::LastOwner)
                    } else {
                        sqlx::query(
                            "UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3",
                        )
                        .bind(role.as_str())
                        .bind(scope.org_id())
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                        if old != role.as_str() {
                            let event = event
                                .with("before", old.as_str())
                                .with("after", role.as_str());
                            insert_event!(&mut *tx, &event, now)?;
                        }
                        Ok(Some(old))
                    }
                }
            }
        })
    }

    /// The scope's own member leaves the org (see `remove_user`). A service
    /// account's scope is not a membership: nothing happens (`false`) and
    /// nothing is recorded.
    pub async fn leave_org(
        &self,
        scope: &OrgScope,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        match scope.principal() {
            Principal::User(user_id) => self.remove_user(scope, user_id, event, now).await,
            Principal::ServiceAccount(_) => Ok(false),
        }
    }

    /// An owner removes `member_id` from the org (see `remove_user`).
    pub async fn remove_member(
        &self,
        scope: &OwnerScope,
        member_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        self.remove_user(scope, member_id, event, now).await
    }

    /// Removes a user from the org in one transaction: the membership, their
    /// team memberships, and the org binding (and team grants) of their keys,
    /// and writes `event` there too. Refused when they are its last owner.
    /// Private: the callers above decide whose membership it is from the
    /// proof they take.
    async fn remove_user(
        &self,
        scope: &OrgScope,
        user_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        in_tx!(self, |tx| {
            sqlx::query("UPDATE orgs SET id = id WHERE id = $1")
                .bind(scope.org_id())
                .execute(&mut *tx)
                .await?;
            let role: Option<String> = sqlx::query_scalar(
                "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'",
            )
            .bind(scope.org_id())
            .fetch_one(&mut *tx)
            .await?;
            match role {
                None => Ok(false),
                Some(r) if r == "owner" && owners <= 1 => Err(OrgError::LastOwner),
                Some(_) => {
                    sqlx::query(
                        "DELETE FROM api_key_teams WHERE key_id IN (SELECT id FROM api_keys \
                         WHERE org_id = $1 AND owner_user_id = $2)",
                    )
                    .bind(scope.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE api_keys SET org_id = NULL WHERE org_id = $1 AND owner_user_id = $2",
                    )
                    .bind(scope.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM team_members WHERE org_id = $1 AND user_id = $2")
                        .bind(scope.org_id())
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                        .bind(scope.org_id())
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    insert_event!(&mut *tx, &event, now)?;
                    Ok(true)
                }
            }
        })
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
                 (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) AS member_count \
                 FROM teams t WHERE t.org_id = $1 \
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
                 (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) AS member_count \
                 FROM teams t WHERE t.org_id = $1 AND t.id = $2 \
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
        let renamed: Result<bool, sqlx::Error> = async {
            Ok(in_tx!(self, |tx| {
                execute_audited!(
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
                )
            }))
        }
        .await;
        renamed.map_err(Self::team_name_error)
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
    ) -> Result<bool, sqlx::Error> {
        let deleted = in_tx!(self, |tx| {
            execute_audited!(
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
            )
        });
        Ok(deleted)
    }

    pub async fn restore_team(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, OrgError> {
        let restored: Result<bool, sqlx::Error> = async {
            Ok(in_tx!(self, |tx| {
                execute_audited!(
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
                )
            }))
        }
        .await;
        restored.map_err(Self::team_name_error)
    }

    pub async fn team_members(
        &self,
        scope: &OrgScope,
        team_id: Uuid,
    ) -> Result<Vec<TeamMemberRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TeamMemberRow>(
                "SELECT tm.user_id, u.display_name, u.email, tm.role FROM team_members tm \
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
    /// a live team of this org (or changes their team role); returns the user
    /// id and the previous role, and writes `event(user id, previous role)`
    /// with the change. `NotAMember` for anyone not in this org.
    pub async fn set_team_member(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        member: MemberRef<'_>,
        role: TeamRole,
        event: impl FnOnce(Uuid, Option<&str>) -> Event,
        now: i64,
    ) -> Result<(Uuid, Option<String>), OrgError> {
        in_tx!(self, |tx| {
            let member: Option<Uuid> =
                match member {
                    MemberRef::Email(email) => sqlx::query_scalar(
                        "SELECT m.user_id FROM memberships m JOIN teams t ON t.org_id = m.org_id \
                         WHERE m.org_id = $1 AND m.member_email = $2 AND t.id = $3 \
                         AND t.deleted_at IS NULL",
                    )
                    .bind(scope.org_id())
                    .bind(email)
                    .bind(team_id)
                    .fetch_optional(&mut *tx)
                    .await?,
                    MemberRef::Id(user_id) => sqlx::query_scalar(
                        "SELECT m.user_id FROM memberships m JOIN teams t ON t.org_id = m.org_id \
                         WHERE m.org_id = $1 AND m.user_id = $2 AND t.id = $3 \
                         AND t.deleted_at IS NULL",
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
            let old: Option<String> = sqlx::query_scalar(
                "SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO team_members (team_id, org_id, user_id, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (team_id, user_id) DO UPDATE SET role = $4",
            )
            .bind(team_id)
            .bind(scope.org_id())
            .bind(user_id)
            .bind(role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &event(user_id, old.as_deref()), now)?;
            Ok((user_id, old))
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
    ) -> Result<bool, sqlx::Error> {
        let removed = in_tx!(self, |tx| {
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
            n == 1
        });
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Ada"), "%ada%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn cursors_round_trip() {
        let c = MemberCursor {
            key: "ada lovelace~x".into(),
            user_id: Uuid::now_v7(),
        };
        let d = MemberCursor::decode(&c.encode()).unwrap();
        assert_eq!(d.key, c.key);
        assert_eq!(d.user_id, c.user_id);
        assert!(MemberCursor::decode("garbage").is_none());
    }
}
