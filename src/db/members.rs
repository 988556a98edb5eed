//! An org's members: the member list (sorted, filtered, keyset pages), one
//! member's detail and keys, role changes and removal by an owner
//! (`OwnerScope`), and leaving (the member's own `OrgScope`). Every function
//! filters by its proof's org id, so a member or key id of another org
//! matches nothing.
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

use super::audit::{Event, insert_event};
use super::keys::{ApiKey, key_columns};
use super::orgs::OrgError;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{OrgScope, OwnerScope, Principal};
use crate::domain::OrgRole;

#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub joined_at: i64,
    pub sort_name: String,
    /// When the org's identity provider deactivated the membership (SCIM).
    pub suspended_at: Option<i64>,
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
    /// When the org's identity provider deactivated the membership (SCIM).
    pub suspended_at: Option<i64>,
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

/// The member list's query in the order of `$column` (each order has its
/// own index), from after the cursor: `$after` is the bind holding the
/// cursor's key in that column's type (`$3` text, `$6` the join time).
macro_rules! member_page_sql {
    ($column:literal, $after:literal) => {
        concat!(
            "SELECT m.user_id, u.display_name, u.email, m.role, m.created_at AS joined_at, \
             m.member_name AS sort_name, m.suspended_at FROM memberships m \
             JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 \
             AND ($2 = '%%' OR m.member_name LIKE $2 ESCAPE '\\' OR m.member_email LIKE $2 ESCAPE '\\') \
             AND (",
            $column,
            ", m.user_id) > (",
            $after,
            ", $4) ORDER BY ",
            $column,
            ", m.user_id LIMIT $5"
        )
    };
}

impl Db {
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
            MemberSort::Name => member_page_sql!("m.member_name", "$3"),
            MemberSort::Email => member_page_sql!("m.member_email", "$3"),
            MemberSort::Joined => member_page_sql!("m.created_at", "$6"),
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
                 m.role, m.created_at AS joined_at, m.suspended_at FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_optional(pool)
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
