//! Organizations and memberships: an org's creation, the proofs' rows
//! (`MembershipRow`, read only by `authz`) and a user's own orgs. Every
//! function takes a proof (`CurrentUser`, `OrgScope`) and filters by it;
//! members are in `db::members`, teams in `db::teams`, an org's policies in
//! `db::policies`.
//!
//! Every change takes the audit event that records it and writes it in its
//! own transaction: the change and its record commit or roll back together.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, OrgScope};

/// An org and one member's role in it, as stored. `authz` turns it into the
/// `OrgScope` proof; nothing else should read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
    pub require_mfa: bool,
    /// Members must have a passkey (a phishing-resistant factor).
    pub require_passkey: bool,
    pub max_key_lifetime_days: Option<i64>,
    pub role: String,
    /// When the platform disabled the org (its pages and keys are refused).
    pub disabled_at: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("that address is taken")]
    SlugTaken,
    /// Another org's old address, held for it after a rename.
    #[error("that address is held after a rename")]
    SlugHeld,
    #[error("the organization must keep at least one owner")]
    LastOwner,
    #[error("a team with that name exists")]
    TeamNameTaken,
    #[error("not a member of this organization")]
    NotAMember,
    /// The team is managed by the org's identity provider (SCIM): its name,
    /// its people and its existence change there, not by hand.
    #[error("the team is managed by the identity provider (SCIM)")]
    ScimManaged,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Who owns a new org first: an account (a membership now), or an address
/// with no account yet (an owner invitation, `invited_by` empty: the
/// platform invited).
#[derive(Debug, Clone, Copy)]
pub enum FirstOwner<'a> {
    Member {
        user_id: Uuid,
        display_name: &'a str,
        email: &'a str,
    },
    Invited {
        invitation_id: Uuid,
        email: &'a str,
        token_digest: &'a [u8],
        /// The invitation's email with its link, queued with it.
        mail: &'a super::outbox::NewMail,
    },
}

/// A personal key's membership in its org, with its owner's MFA state:
/// `has_mfa` is whether they meet the org's policy (a passkey where the org
/// requires one; otherwise a passkey or TOTP).
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

/// A membership with its teams.
#[derive(Debug, Clone)]
pub struct UserMembership {
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: String,
    pub joined_at: i64,
    /// The names of its live teams.
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OrgCounts {
    pub members: i64,
    pub owners: i64,
    pub teams: i64,
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
                "SELECT o.id AS org_id, o.slug, o.name, o.require_mfa, o.require_passkey, \
                 o.max_key_lifetime_days, \
                 m.role, o.disabled_at FROM orgs o JOIN memberships m ON m.org_id = o.id \
                 WHERE o.slug = $1 AND m.user_id = $2 AND o.deleted_at IS NULL \
                 AND m.suspended_at IS NULL",
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
                "SELECT o.id AS org_id, o.slug, o.name, o.require_mfa, o.require_passkey, \
                 o.max_key_lifetime_days, \
                 m.role, o.disabled_at, (EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id) \
                 OR (NOT o.require_passkey \
                     AND EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = m.user_id))) AS has_mfa \
                 FROM orgs o JOIN memberships m ON m.org_id = o.id \
                 WHERE o.slug = $1 AND m.user_id = $2 AND o.id = $3 AND o.deleted_at IS NULL \
                 AND m.suspended_at IS NULL",
            )
            .bind(slug)
            .bind(user_id)
            .bind(bound_to)
            .fetch_optional(pool)
            .await
        })
    }

    /// The org named `slug` if it is the org `org_id` (a service account's
    /// binding) and the live service account `service_account_id` is its:
    /// the row carries the service account's org role (`service_accounts.role`).
    pub async fn org_by_binding(
        &self,
        service_account_id: Uuid,
        org_id: Uuid,
        slug: &str,
    ) -> Result<Option<MembershipRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MembershipRow>(
                "SELECT o.id AS org_id, o.slug, o.name, o.require_mfa, o.require_passkey, \
                 o.max_key_lifetime_days, \
                 sa.role, o.disabled_at FROM orgs o JOIN service_accounts sa ON sa.org_id = o.id \
                 AND sa.id = $3 AND sa.deleted_at IS NULL WHERE o.slug = $1 AND o.id = $2 \
                 AND o.deleted_at IS NULL",
            )
            .bind(slug)
            .bind(org_id)
            .bind(service_account_id)
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
        let first = FirstOwner::Member {
            user_id: owner.id(),
            display_name: owner.display_name(),
            email: owner.email(),
        };
        self.insert_org(
            name,
            slug,
            first,
            |id| vec![event.on("org", id).in_org_established(id)],
            now,
        )
        .await
    }

    /// One org creation for every caller (a user for themselves, the
    /// platform for someone): the slug checks, the org, its first owner (a
    /// membership, or an owner invitation to an address with no account),
    /// its `default` workspace and `events(id)`, in one transaction.
    pub(in crate::db) async fn insert_org(
        &self,
        name: &str,
        slug: &str,
        first: FirstOwner<'_>,
        events: impl FnOnce(Uuid) -> Vec<Event>,
        now: i64,
    ) -> Result<Uuid, OrgError> {
        let id = Uuid::now_v7();
        let events = events(id);
        let result: Result<Result<(), OrgError>, sqlx::Error> = async {
            in_tx!(self, |tx| {
                // Another org's old address stays its own for 30 days.
                let held: i64 = sqlx::query_scalar(super::org_lifecycle::SLUG_HELD_BY_OTHER)
                    .bind(slug)
                    .bind(now)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                if held > 0 {
                    return Ok(Err(OrgError::SlugHeld));
                }
                sqlx::query(
                    "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(slug)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                match first {
                    FirstOwner::Member {
                        user_id,
                        display_name,
                        email,
                    } => {
                        sqlx::query(
                            "INSERT INTO memberships (org_id, user_id, role, member_name, \
                             member_email, created_at) VALUES ($1, $2, 'owner', $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(user_id)
                        .bind(display_name.to_lowercase())
                        .bind(email)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    FirstOwner::Invited {
                        invitation_id,
                        email,
                        token_digest,
                        mail,
                    } => {
                        // Emailed to the address, so following the link
                        // proves control of it (as for an owner's invitation).
                        super::outbox::insert_mail!(&mut *tx, mail, now)?;
                        sqlx::query(
                            "INSERT INTO invitations (id, org_id, email, role, team_ids, \
                             token_digest, invited_by, created_at, expires_at, emailed) \
                             VALUES ($1, $2, $3, 'owner', '', $4, NULL, $5, $6, TRUE)",
                        )
                        .bind(invitation_id)
                        .bind(id)
                        .bind(email)
                        .bind(token_digest)
                        .bind(now)
                        .bind(now + super::invitations::INVITATION_TTL_SECS)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                // Every org starts with one workspace (DESIGN.md §2a).
                sqlx::query(
                    "INSERT INTO workspaces (id, org_id, slug, name, created_at) \
                     VALUES ($1, $2, $3, $3, $4)",
                )
                .bind(Uuid::now_v7())
                .bind(id)
                .bind(super::workspaces::DEFAULT_WORKSPACE)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for event in &events {
                    insert_event!(&mut *tx, event, now)?;
                }
            });
            Ok(Ok(()))
        }
        .await;
        match result {
            Ok(Ok(())) => Ok(id),
            Ok(Err(e)) => Err(e),
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
                 AND o.deleted_at IS NULL AND m.suspended_at IS NULL ORDER BY o.name",
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
        let teams: Vec<(Uuid, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT tm.org_id, t.name FROM team_members tm \
                 JOIN teams t ON t.id = tm.team_id \
                 WHERE tm.user_id = $1 AND t.deleted_at IS NULL ORDER BY t.name",
            )
            .bind(user.id())
            .fetch_all(pool)
            .await
        })?;
        for (org_id, team) in teams {
            if let Some(m) = orgs.iter_mut().find(|m| m.org_id == org_id) {
                m.teams.push(team);
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
}
