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

use crate::authz::mfa::{require_mfa, require_passkey};
use crate::authz::proof::DeletedOrgScope;
use crate::authz::proof::OrgFacts;
use crate::authz::{CurrentUser, Denied, OrgScope, OwnerScope, Principal};
use crate::db::orgs::MembershipRow;
use crate::domain::OrgRole;
use crate::state::AppState;

/// The scope a membership row proves for `principal`; `None` for a role this
/// build does not know (fail closed).
pub(in crate::authz) fn scope_from_row(
    principal: Principal,
    row: MembershipRow,
) -> Option<OrgScope> {
    // A disabled org proves nothing; callers that show members why
    // (`member_scope`) check `disabled_at` first.
    if row.disabled_at.is_some() {
        return None;
    }
    let role = OrgRole::parse(&row.role)?;
    Some(OrgScope::new(
        principal,
        role,
        OrgFacts {
            org_id: row.org_id,
            slug: row.slug,
            name: row.name,
            require_mfa: row.require_mfa,
            require_passkey: row.require_passkey,
            max_key_lifetime_days: row.max_key_lifetime_days,
        },
    ))
}

/// `user`'s scope in the org `slug`, with the org's policies applied exactly
/// as for a page under `/orgs/{slug}`: `NotFound` when they are not a member,
/// `MfaEnrolmentRequired` when the org requires MFA and they have none.
pub(in crate::authz) async fn member_scope(
    state: &AppState,
    user: &CurrentUser,
    slug: &str,
) -> Result<OrgScope, Denied> {
    let row = state
        .db
        .membership_by_slug(user.id(), slug)
        .await?
        .ok_or(Denied::NotFound)?;
    // Only a member learns that the platform disabled the org.
    if row.disabled_at.is_some() {
        return Err(Denied::OrgDisabled);
    }
    let scope = scope_from_row(Principal::User(user.id()), row).ok_or(Denied::NotFound)?;
    // The org's "members must use MFA" policy: before anything else.
    if scope.require_passkey() {
        require_passkey(state, user, scope.slug()).await?;
    } else if scope.require_mfa() {
        require_mfa(state, user).await?;
    }
    Ok(scope)
}

/// `user`'s scope in the org `slug` *without* the org's MFA policy: `None`
/// when they are not a member. Used only where the user acts on their own
/// place in an org without opening its console:
///
/// - `/account/keys` offers, or binds, one of the user's own personal keys
///   to an org. Membership is still checked and the key is created in sudo
///   mode; the key form refuses a binding to an org whose policy the user
///   does not meet, with a message beside the field (a redirect to
///   enrolment would lose the form), and the JSON API applies the policy on
///   every request of the key (`api::ApiOrgKey`).
/// - `OrgMemberLeaving` (`POST /orgs/{slug}/leave`): leaving only takes the
///   caller's own access away, so the policy must not stand in its way.
pub async fn unchecked_member_scope(
    state: &AppState,
    user: &CurrentUser,
    slug: &str,
) -> Result<Option<OrgScope>, Denied> {
    Ok(state
        .db
        .membership_by_slug(user.id(), slug)
        .await?
        .and_then(|row| scope_from_row(Principal::User(user.id()), row)))
}

/// A signed-in member of the org in the URL.
#[derive(Debug, Clone)]
pub struct OrgMember {
    user: CurrentUser,
    scope: OrgScope,
}

impl OrgMember {
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    pub fn scope(&self) -> &OrgScope {
        &self.scope
    }
    pub fn into_parts(self) -> (CurrentUser, OrgScope) {
        (self.user, self.scope)
    }
}

/// A signed-in owner of the org in the URL.
#[derive(Debug, Clone)]
pub struct OrgOwner {
    user: CurrentUser,
    scope: OwnerScope,
}

impl OrgOwner {
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    pub fn scope(&self) -> &OwnerScope {
        &self.scope
    }
    pub fn into_parts(self) -> (CurrentUser, OwnerScope) {
        (self.user, self.scope)
    }
}

impl FromRequestParts<AppState> for OrgMember {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let scope = member_scope_of_path(parts, state, &user).await?;
        Ok(OrgMember { user, scope })
    }
}

/// `member_scope` for the `{slug}` of the request; a slug the org gave up in
/// a rename less than 30 days ago answers `Moved` to the same path under the
/// new slug — only for a member of that org, so an old slug reveals nothing
/// to anyone else (404 as for any other org).
pub(in crate::authz) async fn member_scope_of_path(
    parts: &mut Parts,
    state: &AppState,
    user: &CurrentUser,
) -> Result<OrgScope, Denied> {
    let slug = slug_of(parts, state).await?;
    match member_scope(state, user, &slug).await {
        Err(Denied::NotFound) => {
            let now = state.clock.unix();
            let Some(to) = state
                .db
                .moved_slug_for_member(user.id(), &slug, now)
                .await?
            else {
                return Err(Denied::NotFound);
            };
            let path = parts.uri.path();
            let prefix = format!("/orgs/{slug}");
            let rest = path.strip_prefix(&prefix).ok_or(Denied::NotFound)?;
            let query = parts
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            Err(Denied::Moved {
                to: format!("/orgs/{to}{rest}{query}"),
            })
        }
        other => other,
    }
}

/// A signed-in owner of the org in the URL that was *deleted* and can still
/// be restored: the only proof that reaches a deleted org, and all it does
/// is restore it. 404 for everyone else, and for a live org.
#[derive(Debug, Clone)]
pub struct DeletedOrgOwner {
    user: CurrentUser,
    scope: DeletedOrgScope,
}

impl DeletedOrgOwner {
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    pub fn scope(&self) -> &DeletedOrgScope {
        &self.scope
    }
}

impl FromRequestParts<AppState> for DeletedOrgOwner {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let slug = slug_of(parts, state).await?;
        let row = state
            .db
            .deleted_org_owned_by(user.id(), &slug, state.clock.unix())
            .await?
            .ok_or(Denied::NotFound)?;
        let scope = DeletedOrgScope::new(user.id(), row.org_id, row.slug, row.name);
        Ok(DeletedOrgOwner { user, scope })
    }
}

/// The `{slug}` of the request's path: 404 when the route has none, or when
/// it holds NUL (no slug does, and PostgreSQL text cannot).
pub(in crate::authz) async fn slug_of(
    parts: &mut Parts,
    state: &AppState,
) -> Result<String, Denied> {
    path_param(parts, state, "slug").await
}

/// The path parameter `name` (`slug`, `ws`): 404 when the route has none, or
/// when it holds NUL.
pub(in crate::authz) async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    name: &str,
) -> Result<String, Denied> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| Denied::NotFound)?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|s| !s.contains('\0'))
        .ok_or(Denied::NotFound)
}

impl FromRequestParts<AppState> for OrgOwner {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let OrgMember { user, scope } = OrgMember::from_request_parts(parts, state).await?;
        if !scope.is_owner() {
            return Err(Denied::Forbidden);
        }
        Ok(OrgOwner {
            user,
            scope: OwnerScope::new(scope),
        })
    }
}
