//! Invitations to an organization.
//!
//! Owner-side functions take `OwnerScope` and filter by its org id, so an
//! invitation id of another org matches nothing. The invitee has no scope
//! yet: their proof is the link's secret. Only its SHA-256 is stored, and a
//! `PendingInvitation` (private fields) is built only by looking that digest
//! up among invitations that are neither accepted, revoked nor expired.
//! Acceptance re-checks all of that inside its transaction, so a link works
//! once even when two tabs race.
//!
//! Each change writes its audit event (built by the caller from what the
//! change did) inside its own transaction.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::users::{NewUser, User, is_unique_violation};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, OwnerScope, SudoUser};
use crate::domain::OrgRole;

/// Characters of an invitation's token (base62; about 190 bits).
pub const TOKEN_LEN: usize = 32;

/// How long an invitation link works.
pub const INVITATION_TTL_SECS: i64 = 7 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    #[error("that person is already a member")]
    AlreadyMember,
    #[error("the invitation is no longer valid")]
    NoLongerValid,
    #[error("the invitation is for another email address")]
    WrongEmail,
    #[error("an account with that email exists")]
    EmailTaken,
    #[error("the account has not proven control of the invited address")]
    Unproven,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A pending invitation as the owner sees it (never its secret).
#[derive(Debug, Clone, FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub team_ids: String,
    pub invited_by_name: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl InvitationRow {
    pub fn team_ids(&self) -> Vec<Uuid> {
        parse_team_ids(&self.team_ids)
    }
}

/// What the owner gets back when inviting.
#[derive(Debug)]
pub struct CreatedInvitation {
    pub id: Uuid,
    /// Earlier pending invitations of the same address, now revoked.
    pub replaced: Vec<Uuid>,
}

#[derive(Debug, Clone, FromRow)]
struct TokenRow {
    id: Uuid,
    org_id: Uuid,
    org_name: String,
    org_slug: String,
    email: String,
    role: String,
    team_ids: String,
    expires_at: i64,
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
    emailed: bool,
}

/// An invitation whose link is valid right now. Only `invitation_by_token`
/// builds it.
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    id: Uuid,
    org_id: Uuid,
    org_name: String,
    org_slug: String,
    email: String,
    role: OrgRole,
    team_ids: Vec<Uuid>,
    expires_at: i64,
    emailed: bool,
}

impl PendingInvitation {
    /// The link was emailed to the invited address (so following it proves
    /// control of that address).
    pub fn emailed(&self) -> bool {
        self.emailed
    }
    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }
    pub fn org_name(&self) -> &str {
        &self.org_name
    }
    pub fn org_slug(&self) -> &str {
        &self.org_slug
    }
    pub fn email(&self) -> &str {
        &self.email
    }
    pub fn role(&self) -> OrgRole {
        self.role
    }
    pub fn team_ids(&self) -> &[Uuid] {
        &self.team_ids
    }
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// What a link resolves to.
#[derive(Debug)]
pub enum TokenLookup {
    Pending(PendingInvitation),
    /// Accepted, revoked or expired.
    Spent,
    Unknown,
}

/// What accepting changed.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// False when the user already was a member (nothing duplicated, their
    /// role kept).
    pub joined: bool,
    pub teams_added: Vec<Uuid>,
}

fn parse_team_ids(s: &str) -> Vec<Uuid> {
    s.split(',')
        .filter_map(|t| Uuid::parse_str(t.trim()).ok())
        .collect()
}

fn join_team_ids(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The statements of acceptance, run inside the caller's transaction `$tx`:
/// claim the invitation (only if still pending and for this email), add the
/// membership unless it exists, and add the live teams of that org.
macro_rules! accept_in_tx {
    ($tx:ident, $inv:expr, $user_id:expr, $name:expr, $email:expr, $now:expr) => {{
        let inv: &PendingInvitation = $inv;
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND org_id = $3 \
             AND email = $4 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind($now)
        .bind(inv.id)
        .bind(inv.org_id)
        .bind($email)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Err(InvitationError::NoLongerValid);
        }
        let joined = sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind(inv.org_id)
        .bind($user_id)
        .bind(inv.role.as_str())
        .bind($name.to_lowercase())
        .bind($email)
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        let mut teams_added = Vec::new();
        for team_id in &inv.team_ids {
            // Only live teams of the inviting org that it staffs itself: a
            // team deleted since the invitation, one its identity provider
            // manages (SCIM), or an id that was never this org's adds nothing.
            let n = sqlx::query(
                "INSERT INTO team_members (team_id, org_id, user_id, created_at) \
                 SELECT id, org_id, $1, $2 FROM teams \
                 WHERE id = $3 AND org_id = $4 AND deleted_at IS NULL AND scim_managed = FALSE \
                 ON CONFLICT (team_id, user_id) DO NOTHING",
            )
            .bind($user_id)
            .bind($now)
            .bind(*team_id)
            .bind(inv.org_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if n == 1 {
                teams_added.push(*team_id);
            }
        }
        Accepted {
            joined,
            teams_added,
        }
    }};
}

impl Db {
    /// Creates an invitation; a pending invitation of the same address in
    /// this org is revoked in the same transaction (re-inviting replaces).
    /// Refused when the address already belongs to a member. The inviter is
    /// in sudo mode: an invitation grants access. `event(created)` is written
    /// in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invitation(
        &self,
        scope: &OwnerScope,
        invited_by: &SudoUser,
        email: &str,
        role: OrgRole,
        team_ids: &[Uuid],
        token_digest: &[u8],
        mail: &NewMail,
        event: impl FnOnce(&CreatedInvitation) -> Event,
        now: i64,
    ) -> Result<CreatedInvitation, InvitationError> {
        let id = Uuid::now_v7();
        in_tx!(self, |tx| {
            let member: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND member_email = $2",
            )
            .bind(scope.org_id())
            .bind(email)
            .fetch_one(&mut *tx)
            .await?;
            if member > 0 {
                return Err(InvitationError::AlreadyMember);
            }
            let replaced: Vec<Uuid> = sqlx::query_scalar(
                "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND email = $3 \
                 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id",
            )
            .bind(now)
            .bind(scope.org_id())
            .bind(email)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO invitations (id, org_id, email, role, team_ids, token_digest, \
                 invited_by, created_at, expires_at, emailed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE)",
            )
            .bind(id)
            .bind(scope.org_id())
            .bind(email)
            .bind(role.as_str())
            .bind(join_team_ids(team_ids))
            .bind(token_digest)
            .bind(invited_by.id())
            .bind(now)
            .bind(now + INVITATION_TTL_SECS)
            .execute(&mut *tx)
            .await?;
            // The link goes to the invited address only, with the invitation.
            insert_mail!(&mut *tx, mail, now)?;
            let created = CreatedInvitation { id, replaced };
            insert_event!(&mut *tx, &event(&created), now)?;
            Ok(created)
        })
    }

    /// Invitations that can still be accepted, newest first.
    pub async fn pending_invitations(
        &self,
        scope: &OwnerScope,
        now: i64,
    ) -> Result<Vec<InvitationRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, InvitationRow>(
                "SELECT i.id, i.email, i.role, i.team_ids, u.display_name AS invited_by_name, \
                 i.created_at, i.expires_at FROM invitations i \
                 LEFT JOIN users u ON u.id = i.invited_by \
                 WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
                 AND i.expires_at > $2 ORDER BY i.created_at DESC",
            )
            .bind(scope.org_id())
            .bind(now)
            .fetch_all(pool)
            .await
        })
    }

    /// Revokes a pending invitation of this org; returns its email, or `None`
    /// when there is no such pending invitation here. `event(email)` is
    /// written in the same transaction.
    pub async fn revoke_invitation(
        &self,
        scope: &OwnerScope,
        id: Uuid,
        event: impl FnOnce(&str) -> Event,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        in_tx!(self, |tx| {
            let email = sqlx::query_scalar::<_, String>(
                "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND id = $3 \
                 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email",
            )
            .bind(now)
            .bind(scope.org_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(email) = &email {
                insert_event!(&mut *tx, &event(email), now)?;
            }
            Ok(email)
        })
    }

    /// Resolves a link's digest.
    pub async fn invitation_by_token(
        &self,
        token_digest: &[u8],
        now: i64,
    ) -> Result<TokenLookup, sqlx::Error> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, TokenRow>(
                "SELECT i.id, i.org_id, o.name AS org_name, o.slug AS org_slug, i.email, i.role, \
                 i.team_ids, i.expires_at, i.accepted_at, i.revoked_at, i.emailed \
                 FROM invitations i JOIN orgs o ON o.id = i.org_id WHERE i.token_digest = $1 \
                 AND o.deleted_at IS NULL",
            )
            .bind(token_digest)
            .fetch_optional(pool)
            .await
        })?;
        let Some(row) = row else {
            return Ok(TokenLookup::Unknown);
        };
        let role = OrgRole::parse(&row.role);
        match role {
            Some(role)
                if row.accepted_at.is_none()
                    && row.revoked_at.is_none()
                    && row.expires_at > now =>
            {
                Ok(TokenLookup::Pending(PendingInvitation {
                    id: row.id,
                    org_id: row.org_id,
                    org_name: row.org_name,
                    org_slug: row.org_slug,
                    email: row.email,
                    role,
                    team_ids: parse_team_ids(&row.team_ids),
                    expires_at: row.expires_at,
                    emailed: row.emailed,
                }))
            }
            _ => Ok(TokenLookup::Spent),
        }
    }

    /// A signed-in user accepts: in one transaction the invitation is claimed
    /// and the membership and team memberships are added. The user's email
    /// must be the invited one. `event(what changed)` is written in the same
    /// transaction.
    pub async fn accept_invitation(
        &self,
        inv: &PendingInvitation,
        user: &CurrentUser,
        event: impl FnOnce(&Accepted) -> Event,
        now: i64,
    ) -> Result<Accepted, InvitationError> {
        if user.email() != inv.email {
            return Err(InvitationError::WrongEmail);
        }
        // Control of the invited address: proven before (a verified email),
        // or by this link, which was emailed to it.
        if !user.email_verified() && !inv.emailed {
            return Err(InvitationError::Unproven);
        }
        in_tx!(self, |tx| {
            let accepted =
                accept_in_tx!(tx, inv, user.id(), user.display_name(), user.email(), now);
            if inv.emailed {
                sqlx::query(
                    "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) \
                     WHERE id = $2 AND email = $3",
                )
                .bind(now)
                .bind(user.id())
                .bind(user.email())
                .execute(&mut *tx)
                .await?;
            }
            insert_event!(&mut *tx, &event(&accepted), now)?;
            Ok(accepted)
        })
    }

    /// Sign-up through an invitation: the user is created with the invited
    /// address and the invitation accepted, in one transaction with the
    /// events `events(new user, what changed)` that record both.
    pub async fn sign_up_with_invitation(
        &self,
        inv: &PendingInvitation,
        new: NewUser<'_>,
        events: impl FnOnce(&User, &Accepted) -> Vec<Event>,
        now: i64,
    ) -> Result<(User, Accepted), InvitationError> {
        if new.email != inv.email {
            return Err(InvitationError::WrongEmail);
        }
        // A link passed on by hand (made before invitations were emailed)
        // proves nothing about the address.
        if !inv.emailed {
            return Err(InvitationError::Unproven);
        }
        let id = Uuid::now_v7();
        let user = User {
            id,
            email: new.email.to_owned(),
            display_name: new.display_name.to_owned(),
            phone: None,
            job_title: None,
            time_zone: "UTC".to_owned(),
            is_operator: false,
            disabled_at: None,
            created_at: now,
            updated_at: now,
            must_change_password: false,
            must_enrol_mfa: false,
            email_verified_at: Some(now),
        };
        let result: Result<Accepted, InvitationError> = async {
            in_tx!(self, |tx| {
                sqlx::query(
                    "INSERT INTO users (id, email, password_hash, display_name, time_zone, \
                     created_at, updated_at, email_verified_at) \
                     VALUES ($1, $2, $3, $4, 'UTC', $5, $5, $5)",
                )
                .bind(id)
                .bind(new.email)
                .bind(new.password_hash)
                .bind(new.display_name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let accepted = accept_in_tx!(tx, inv, id, new.display_name, new.email, now);
                for event in events(&user, &accepted) {
                    insert_event!(&mut *tx, &event, now)?;
                }
                Ok(accepted)
            })
        }
        .await;
        let accepted = match result {
            Ok(a) => a,
            Err(InvitationError::Db(e)) if is_unique_violation(&e) => {
                return Err(InvitationError::EmailTaken);
            }
            Err(e) => return Err(e),
        };
        Ok((user, accepted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_ids_round_trip_and_skip_garbage() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert_eq!(parse_team_ids(&join_team_ids(&[a, b])), vec![a, b]);
        assert!(parse_team_ids("").is_empty());
        assert_eq!(parse_team_ids(&format!("nope,{a}")), vec![a]);
    }
}
