//! Organization scoping, enforced structurally.
//!
//! The org is resolved exactly once per request, here, from the `{slug}` in
//! the URL *and* the caller's membership in it. The result is an `OrgScope`
//! (any member) or an `OwnerScope` (owners only) — values that only this
//! module can construct, because their fields are private. Every org-scoped
//! database function takes one of them and filters by its org id, so an id
//! from another org matches nothing (404, the same page as a missing id), and
//! owner-only functions take `OwnerScope`, so a member-level handler calling
//! them does not compile.
//!
//! A signed-in user who is not a member gets 404 for every `/orgs/{slug}/…`
//! page: the org's existence is not revealed. A member on an owner page gets
//! 403 without data.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::app::AppState;
use crate::authz::CurrentUser;
use crate::authz::mfa::require_mfa;
use crate::error::AppError;

/// An org role. Stored as text; `Owner` outranks `Member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    Member,
    Owner,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Member => "member",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgRole::Owner => "Owner",
            OrgRole::Member => "Member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(OrgRole::Owner),
            "member" => Some(OrgRole::Member),
            _ => None,
        }
    }
}

/// What the org extractor loads: the org and the caller's role in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub org_id: Uuid,
    pub slug: String,
    pub name: String,
    pub require_mfa: bool,
    pub max_key_lifetime_days: Option<i64>,
    pub role: String,
}

/// Proof of membership in one org. Fields are private: only the extractors
/// below build it.
#[derive(Debug, Clone)]
pub struct OrgScope {
    org_id: Uuid,
    slug: String,
    name: String,
    role: OrgRole,
    require_mfa: bool,
    max_key_lifetime_days: Option<i64>,
}

impl OrgScope {
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }
    pub fn slug(&self) -> &str {
        &self.slug
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn role(&self) -> OrgRole {
        self.role
    }
    pub fn is_owner(&self) -> bool {
        self.role == OrgRole::Owner
    }
    pub fn require_mfa(&self) -> bool {
        self.require_mfa
    }
    pub fn max_key_lifetime_days(&self) -> Option<i64> {
        self.max_key_lifetime_days
    }

    /// Builds the scope from a membership row; crate-internal so that the API
    /// key extractor (which resolves the org from the key's binding) can use
    /// the same type.
    pub(crate) fn from_row(row: MembershipRow) -> Option<Self> {
        Some(OrgScope {
            role: OrgRole::parse(&row.role)?,
            org_id: row.org_id,
            slug: row.slug,
            name: row.name,
            require_mfa: row.require_mfa,
            max_key_lifetime_days: row.max_key_lifetime_days,
        })
    }
}

/// Proof that the caller owns the org. Only `OrgOwner` builds it.
#[derive(Debug, Clone)]
pub struct OwnerScope(OrgScope);

impl std::ops::Deref for OwnerScope {
    type Target = OrgScope;
    fn deref(&self) -> &OrgScope {
        &self.0
    }
}

/// The owner-level proof for an API key that has earned it (see
/// `api::ApiOrgKey`); only the authorization layer may call this.
pub(in crate::authz) fn elevate(scope: OrgScope) -> OwnerScope {
    OwnerScope(scope)
}

/// A signed-in member of the org in the URL.
#[derive(Debug, Clone)]
pub struct OrgMember {
    pub user: CurrentUser,
    pub scope: OrgScope,
}

/// A signed-in owner of the org in the URL.
#[derive(Debug, Clone)]
pub struct OrgOwner {
    pub user: CurrentUser,
    pub scope: OwnerScope,
}

impl OrgScope {
    /// The user's scope in the org `slug`, for a self-service page that
    /// needs it outside the `/orgs/{slug}` tree (binding a personal key to
    /// an org): `None` when they are not a member.
    pub async fn of_member(
        state: &AppState,
        user: &CurrentUser,
        slug: &str,
    ) -> Result<Option<OrgScope>, AppError> {
        Ok(state
            .db
            .membership_by_slug(user.id, slug)
            .await?
            .and_then(OrgScope::from_row))
    }
}

impl FromRequestParts<AppState> for OrgMember {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let slug = params
            .iter()
            .find(|(k, _)| *k == "slug")
            .map(|(_, v)| v.to_owned())
            .ok_or(AppError::NotFound)?;
        let scope = state
            .db
            .membership_by_slug(user.id, &slug)
            .await?
            .and_then(OrgScope::from_row)
            .ok_or(AppError::NotFound)?;
        // The org's "members must use MFA" policy: before anything else.
        if scope.require_mfa {
            require_mfa(state, &user).await?;
        }
        Ok(OrgMember { user, scope })
    }
}

impl FromRequestParts<AppState> for OrgOwner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let OrgMember { user, scope } = OrgMember::from_request_parts(parts, state).await?;
        if !scope.is_owner() {
            return Err(AppError::Forbidden);
        }
        Ok(OrgOwner {
            user,
            scope: OwnerScope(scope),
        })
    }
}
