//! SCIM provisioning storage: an org's SCIM tokens (owners manage them on
//! the settings pages, `OwnerScope`) and what the identity provider does
//! with one (`ScimScope`): the org's members as SCIM users.
//!
//! Invariants: every query filters by the org of the proof it takes, so an id
//! of another org matches nothing; deprovisioning (`active: false`) suspends
//! the membership, revokes the person's keys bound to the org and ends their
//! team memberships in ONE transaction, with one audit event naming what was
//! cut; an org keeps at least one active owner.

use serde_json::json;
use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::recovery::{NewLink, insert_link};
use super::users::is_unique_violation;
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::{OwnerScope, PlatformScope, ScimScope};

/// A SCIM token as its org's owners see it (never the secret).
#[derive(Debug, Clone, FromRow)]
pub struct ScimToken {
    pub id: Uuid,
    pub public_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What `authz` checks a presented SCIM token against. Nothing else reads it.
#[derive(Debug, Clone, FromRow)]
pub struct ScimCredentials {
    pub id: Uuid,
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
    pub secret_digest: Vec<u8>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub org_disabled_at: Option<i64>,
}

/// A member of the org, as a SCIM user.
#[derive(Debug, Clone, FromRow)]
pub struct ScimMember {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub role: String,
    pub suspended_at: Option<i64>,
    pub created_at: i64,
}

/// Which members a SCIM list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberFilter {
    All,
    /// `userName eq "…"`: the email, normalised.
    UserName(String),
    /// `externalId eq "…"`.
    ExternalId(String),
}

/// Why a SCIM change was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ScimStoreError {
    #[error("the person is already a member")]
    AlreadyMember,
    #[error("the organization must keep at least one active owner")]
    LastOwner,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What deprovisioning cut, for the audit event and the answer.
#[derive(Debug, Clone, Default)]
pub struct Cut {
    pub keys: Vec<String>,
    pub teams: Vec<String>,
}

/// One member row, by user id, in the scope's org (a `&'static str` per
/// query: sqlx takes no built SQL).
const MEMBER_BY_ID: &str = "SELECT u.id AS user_id, u.email, u.display_name, \
     m.scim_external_id AS external_id, m.role, m.suspended_at, m.created_at \
     FROM memberships m JOIN users u ON u.id = m.user_id \
     WHERE m.org_id = $1 AND m.user_id = $2";

impl Db {
    /// Stores a new SCIM token of the owner's org and writes `event`.
    pub async fn create_scim_token(
        &self,
        owner: &OwnerScope,
        name: &str,
        public_id: &str,
        digest: &[u8],
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        let event = event(id);
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO scim_tokens (id, org_id, public_id, name, secret_digest, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(owner.org_id())
            .bind(public_id)
            .bind(name)
            .bind(digest)
            .bind(owner.principal().user_id())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(id)
    }

    /// The command line's `operator scim-token create`: a SCIM token of the
    /// live org with this slug (no owner made it: `created_by` is empty),
    /// with `event(token id, org id)`. `None` when there is no such org.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_scim_token_by_platform(
        &self,
        _platform: &PlatformScope,
        slug: &str,
        name: &str,
        public_id: &str,
        digest: &[u8],
        event: impl FnOnce(Uuid, Uuid) -> Event,
        now: i64,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        let id = Uuid::now_v7();
        in_tx!(self, |tx| {
            let org: Option<Uuid> =
                sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1 AND deleted_at IS NULL")
                    .bind(slug)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(org_id) = org else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO scim_tokens (id, org_id, public_id, name, secret_digest, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(org_id)
            .bind(public_id)
            .bind(name)
            .bind(digest)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &event(id, org_id), now)?;
        });
        Ok(Some(id))
    }

    /// The org's SCIM tokens, newest first, revoked ones included.
    pub async fn scim_tokens(&self, owner: &OwnerScope) -> Result<Vec<ScimToken>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimToken>(
                "SELECT id, public_id, name, created_at, last_used_at, revoked_at \
                 FROM scim_tokens WHERE org_id = $1 ORDER BY created_at DESC, id DESC",
            )
            .bind(owner.org_id())
            .fetch_all(pool)
            .await
        })
    }

    /// One of the org's tokens.
    pub async fn scim_token(
        &self,
        owner: &OwnerScope,
        id: Uuid,
    ) -> Result<Option<ScimToken>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimToken>(
                "SELECT id, public_id, name, created_at, last_used_at, revoked_at \
                 FROM scim_tokens WHERE org_id = $1 AND id = $2",
            )
            .bind(owner.org_id())
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Revokes one live token of the org; false when there is none.
    pub async fn revoke_scim_token(
        &self,
        owner: &OwnerScope,
        id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        in_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE scim_tokens SET revoked_at = $3 WHERE org_id = $1 AND id = $2 \
                 AND revoked_at IS NULL",
            )
            .bind(owner.org_id())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(true)
    }

    /// The token with this public id, with its org (a live org only).
    pub async fn scim_token_credentials(
        &self,
        public_id: &str,
    ) -> Result<Option<ScimCredentials>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimCredentials>(
                "SELECT t.id, t.org_id, o.slug, t.name, t.secret_digest, t.revoked_at, \
                 t.last_used_at, o.disabled_at AS org_disabled_at FROM scim_tokens t \
                 JOIN orgs o ON o.id = t.org_id \
                 WHERE t.public_id = $1 AND o.deleted_at IS NULL",
            )
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Records a token's use (the caller throttles how often).
    pub async fn mark_scim_token_used(
        &self,
        scope: &ScimScope,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query("UPDATE scim_tokens SET last_used_at = $3 WHERE org_id = $1 AND id = $2")
                .bind(scope.org_id())
                .bind(scope.token_id())
                .bind(now)
        )?;
        Ok(())
    }

    /// One member of the scope's org.
    pub async fn scim_member(
        &self,
        scope: &ScimScope,
        user_id: Uuid,
    ) -> Result<Option<ScimMember>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimMember>(MEMBER_BY_ID)
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })
    }

    /// A page of the org's members (`offset` from 0) and how many match.
    pub async fn scim_members(
        &self,
        scope: &ScimScope,
        filter: &MemberFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<ScimMember>), sqlx::Error> {
        let (email, external) = match filter {
            MemberFilter::All => (None, None),
            MemberFilter::UserName(e) => (Some(e.as_str()), None),
            MemberFilter::ExternalId(x) => (None, Some(x.as_str())),
        };
        let total: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 AND ($2 IS NULL OR u.email = $2) \
                 AND ($3 IS NULL OR m.scim_external_id = $3)",
            )
            .bind(scope.org_id())
            .bind(email)
            .bind(external)
            .fetch_one(pool)
            .await
        })?;
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, ScimMember>(
                "SELECT u.id AS user_id, u.email, u.display_name, \
                 m.scim_external_id AS external_id, m.role, m.suspended_at, m.created_at \
                 FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 AND ($2 IS NULL OR u.email = $2) \
                 AND ($3 IS NULL OR m.scim_external_id = $3) \
                 ORDER BY m.created_at, u.id LIMIT $4 OFFSET $5",
            )
            .bind(scope.org_id())
            .bind(email)
            .bind(external)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
        })?;
        Ok((total, rows))
    }

    /// The name of the SCIM token's org (for the messages it causes).
    pub async fn scim_org_name(&self, scope: &ScimScope) -> Result<String, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT name FROM orgs WHERE id = $1")
                .bind(scope.org_id())
                .fetch_one(pool)
                .await
        })
    }

    /// `POST /Users`: makes the person with `email` a member of the org —
    /// creating their account, with no password, when none exists (it
    /// cannot sign in until a password is set), and linking the existing
    /// one otherwise. An account made here for an active membership gets
    /// `setup` (its set-your-password link and the message carrying it) in
    /// the same transaction; a linked account gets nothing. Returns the
    /// member and whether an account was made.
    #[allow(clippy::too_many_arguments)]
    pub async fn provision_member(
        &self,
        scope: &ScimScope,
        email: &str,
        display_name: &str,
        external_id: Option<&str>,
        active: bool,
        setup: &NewLink<'_>,
        event: impl FnOnce(Uuid, bool) -> Event,
        now: i64,
    ) -> Result<(ScimMember, bool), ScimStoreError> {
        let result: Result<Result<(Uuid, bool), ScimStoreError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                let existing: Option<Uuid> =
                    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                        .bind(email)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (user_id, created) = match existing {
                    Some(id) => (id, false),
                    None => {
                        let id = Uuid::now_v7();
                        // An empty hash matches no password: the account
                        // waits for its person to set one.
                        sqlx::query(
                            "INSERT INTO users (id, email, password_hash, display_name, \
                             time_zone, created_at, updated_at) \
                             VALUES ($1, $2, '', $3, 'UTC', $4, $4)",
                        )
                        .bind(id)
                        .bind(email)
                        .bind(display_name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        (id, true)
                    }
                };
                let member: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND user_id = $2",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                if member > 0 {
                    return Ok(Err(ScimStoreError::AlreadyMember));
                }
                let name: Option<String> =
                    sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, \
                     created_at, suspended_at, scim_external_id) \
                     VALUES ($1, $2, 'member', $3, $4, $5, $6, $7)",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .bind(name.unwrap_or_default().to_lowercase())
                .bind(email)
                .bind(now)
                .bind((!active).then_some(now))
                .bind(external_id)
                .execute(&mut *tx)
                .await?;
                if created && active {
                    insert_link!(tx, user_id, email, setup, now);
                }
                insert_event!(&mut *tx, &event(user_id, created), now)?;
                Ok(Ok((user_id, created)))
            })
        }
        .await;
        let (user_id, created) = match result {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return Err(e),
            Err(e) if is_unique_violation(&e) => return Err(ScimStoreError::AlreadyMember),
            Err(e) => return Err(e.into()),
        };
        let member = self
            .scim_member(scope, user_id)
            .await?
            .ok_or(ScimStoreError::Db(sqlx::Error::RowNotFound))?;
        Ok((member, created))
    }

    /// Sets a member's `externalId` (PUT and PATCH). False when not a member.
    pub async fn set_member_external_id(
        &self,
        scope: &ScimScope,
        user_id: Uuid,
        external_id: Option<&str>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        in_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE memberships SET scim_external_id = $3 WHERE org_id = $1 AND user_id = $2",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(true)
    }

    /// `active: false`: suspends the membership, revokes the person's keys
    /// bound to the org and ends their team memberships there, in one
    /// transaction, with `event` (given what was cut) as its one record.
    /// `Ok(None)` when not a member; a member already suspended changes
    /// nothing and is answered with an empty cut.
    pub async fn deprovision_member(
        &self,
        scope: &ScimScope,
        user_id: Uuid,
        event: impl FnOnce(&Cut) -> Event,
        now: i64,
    ) -> Result<Option<Cut>, ScimStoreError> {
        let result: Result<Result<Option<Cut>, ScimStoreError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                let row: Option<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT role, suspended_at FROM memberships WHERE org_id = $1 AND user_id = $2",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((role, suspended)) = row else {
                    return Ok(Ok(None));
                };
                if suspended.is_some() {
                    return Ok(Ok(Some(Cut::default())));
                }
                if role == "owner" {
                    let owners: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' \
                         AND suspended_at IS NULL",
                    )
                    .bind(scope.org_id())
                    .fetch_one(&mut *tx)
                    .await?;
                    if owners <= 1 {
                        return Ok(Err(ScimStoreError::LastOwner));
                    }
                }
                let keys: Vec<(String, String)> = sqlx::query_as(
                    "SELECT public_id, name FROM api_keys WHERE org_id = $1 \
                     AND owner_user_id = $2 AND revoked_at IS NULL ORDER BY created_at",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 \
                     AND owner_user_id = $2 AND revoked_at IS NULL",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let teams: Vec<String> = sqlx::query_scalar(
                    "SELECT t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id \
                     WHERE tm.org_id = $1 AND tm.user_id = $2 ORDER BY t.name",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM team_members WHERE org_id = $1 AND user_id = $2")
                    .bind(scope.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE memberships SET suspended_at = $3 WHERE org_id = $1 AND user_id = $2",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let cut = Cut {
                    keys: keys
                        .into_iter()
                        .map(|(public_id, name)| {
                            format!("{}{public_id} ({name})", crate::auth::api_key::PREFIX)
                        })
                        .collect(),
                    teams,
                };
                insert_event!(&mut *tx, &event(&cut), now)?;
                Ok(Ok(Some(cut)))
            })
        }
        .await;
        match result {
            Ok(r) => r,
            Err(e) => Err(e.into()),
        }
    }

    /// `active: true`: lifts a suspension (the revoked keys stay revoked).
    /// False when not a member; a member who is not suspended is unchanged.
    ///
    /// An account that has no password and was never sent a set-up link
    /// (it was provisioned inactive) gets `setup` in the same transaction:
    /// its first activation is when its person can use it.
    pub async fn restore_member(
        &self,
        scope: &ScimScope,
        user_id: Uuid,
        setup: &NewLink<'_>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        in_tx!(self, |tx| {
            let row: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT suspended_at FROM memberships WHERE org_id = $1 AND user_id = $2",
            )
            .bind(scope.org_id())
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                None => return Ok(false),
                Some(None) => {}
                Some(Some(_)) => {
                    sqlx::query(
                        "UPDATE memberships SET suspended_at = NULL \
                         WHERE org_id = $1 AND user_id = $2",
                    )
                    .bind(scope.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    let email: Option<String> = sqlx::query_scalar(
                        "SELECT email FROM users u WHERE u.id = $1 AND u.password_hash = '' \
                         AND u.disabled_at IS NULL AND NOT EXISTS (SELECT 1 FROM user_tokens t \
                         WHERE t.user_id = u.id AND t.purpose = $2)",
                    )
                    .bind(user_id)
                    .bind(setup.purpose.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(email) = email {
                        insert_link!(tx, user_id, &email, setup, now);
                    }
                    insert_event!(&mut *tx, &event, now)?;
                }
            }
        });
        Ok(true)
    }

    /// `DELETE /Users/{id}`: ends the membership (the account is the
    /// person's, and stays): their keys bound to the org are revoked and
    /// their team memberships there end, in one transaction.
    pub async fn remove_scim_member(
        &self,
        scope: &ScimScope,
        user_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, ScimStoreError> {
        let result: Result<Result<bool, ScimStoreError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                let role: Option<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT role, suspended_at FROM memberships WHERE org_id = $1 AND user_id = $2",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((role, suspended)) = role else {
                    return Ok(Ok(false));
                };
                if role == "owner" && suspended.is_none() {
                    let owners: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' \
                         AND suspended_at IS NULL",
                    )
                    .bind(scope.org_id())
                    .fetch_one(&mut *tx)
                    .await?;
                    if owners <= 1 {
                        return Ok(Err(ScimStoreError::LastOwner));
                    }
                }
                sqlx::query(
                    "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 \
                     AND owner_user_id = $2 AND revoked_at IS NULL",
                )
                .bind(scope.org_id())
                .bind(user_id)
                .bind(now)
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
                Ok(Ok(true))
            })
        }
        .await;
        match result {
            Ok(r) => r,
            Err(e) => Err(e.into()),
        }
    }
}

/// The audit detail of a deprovisioning: everything that was cut.
pub fn cut_detail(email: &str, cut: &Cut) -> serde_json::Value {
    json!({
        "email": email,
        "membership": "suspended",
        "keys_revoked": cut.keys,
        "teams_left": cut.teams,
    })
}
