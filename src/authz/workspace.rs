//! Workspace scoping (DESIGN.md §2a), enforced structurally like the org's.
//!
//! The workspace is resolved exactly once per request, here, from the `{ws}`
//! of the URL inside the org that `{slug}` and the caller's membership gave,
//! together with every grant that reaches the caller there (one query). The
//! rules, in `decide`:
//!
//! - an owner of the org holds every permission in every workspace of it;
//! - anyone else holds the union of the roles granted on the workspace to
//!   the live teams they are on, and when that is nothing the workspace does
//!   not exist for them (404, existence hidden);
//! - an archived workspace is read-only: only the `:read` permissions remain;
//! - an API key acts only in workspaces granted to it (otherwise 404), and
//!   holds its scopes ∩ its principal's permissions there — checked on every
//!   request, so removing someone from a team cuts their keys at once.
//!
//! A caller who may see the workspace but lacks the permission a route needs
//! gets 403 (`insufficient_permission` naming it, on the API).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::api::error::ApiError;
use crate::authz::api::{ApiPrincipal, KeyOwner, authenticate};
use crate::authz::org::{member_scope_of_path, path_param, scope_from_row, slug_of};
use crate::authz::proof::{Allowed, PermissionSource, WorkspaceFacts, WorkspaceScope};
use crate::authz::{CurrentUser, Denied, OrgScope, Principal};
use crate::db::workspaces::{GrantRow, WorkspaceAccess};
use crate::domain::PermissionSet;
use crate::state::AppState;

// The permission markers live beside the proofs, which `db` may import.
pub use crate::authz::proof::{RequiredPermission, perm};

/// What an API key brings to the decision.
#[derive(Debug, Clone, Copy)]
pub struct KeyBounds {
    /// The workspace permissions among the key's scopes.
    pub scopes: PermissionSet,
    /// Whether this workspace is granted to the key.
    pub granted: bool,
}

/// The access model itself: what a principal may do in a workspace, and
/// why; `None` when the workspace does not exist for it.
pub fn decide(
    is_owner: bool,
    archived: bool,
    grants: &[GrantRow],
    key: Option<KeyBounds>,
) -> Option<(PermissionSet, Vec<PermissionSource>)> {
    let (held, sources) = if is_owner {
        (PermissionSet::ALL, vec![PermissionSource::Owner])
    } else if grants.is_empty() {
        return None;
    } else {
        let sources: Vec<PermissionSource> = grants
            .iter()
            .map(|g| PermissionSource::Team {
                team_id: g.team_id,
                team_name: g.team_name.clone(),
                role_id: g.role_id,
                role_name: g.role_name.clone(),
                permissions: PermissionSet::from_stored(g.permissions),
            })
            .collect();
        let held = grants.iter().fold(PermissionSet::EMPTY, |acc, g| {
            acc.union(PermissionSet::from_stored(g.permissions))
        });
        (held, sources)
    };
    let held = match key {
        Some(k) if !k.granted => return None,
        Some(k) => held.intersect(k.scopes),
        None => held,
    };
    let held = if archived { held.reads_only() } else { held };
    Some((held, sources))
}

fn scope_for(
    org: OrgScope,
    access: WorkspaceAccess,
    key: Option<KeyBounds>,
) -> Result<WorkspaceScope, Denied> {
    let ws = access.workspace;
    let archived = ws.archived_at.is_some();
    let (permissions, sources) =
        decide(org.is_owner(), archived, &access.grants, key).ok_or(Denied::NotFound)?;
    let facts = WorkspaceFacts {
        id: ws.id,
        slug: ws.slug,
        name: ws.name,
        description: ws.description,
        archived,
    };
    Ok(WorkspaceScope::new(org, facts, permissions, sources))
}

/// The scope of `org`'s holder in the workspace `ws` (a page's caller).
pub async fn workspace_scope(
    state: &AppState,
    org: OrgScope,
    ws: &str,
) -> Result<WorkspaceScope, Denied> {
    let access = state
        .db
        .workspace_access(&org, ws)
        .await?
        .ok_or(Denied::NotFound)?;
    scope_for(org, access, None)
}

/// A signed-in user who may see the workspace of the URL.
#[derive(Debug, Clone)]
pub struct WorkspaceMember {
    user: CurrentUser,
    scope: WorkspaceScope,
}

impl WorkspaceMember {
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }
    /// The proof of `P`, or 403.
    pub fn allowed<P: RequiredPermission>(&self) -> Result<Allowed<P>, Denied> {
        allow::<P>(&self.scope)
    }
}

fn allow<P: RequiredPermission>(scope: &WorkspaceScope) -> Result<Allowed<P>, Denied> {
    if scope.allows(P::PERMISSION) {
        Ok(Allowed::new(scope.clone()))
    } else {
        Err(Denied::MissingPermission(P::PERMISSION))
    }
}

impl FromRequestParts<AppState> for WorkspaceMember {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let ws = path_param(parts, state, "ws").await?;
        let org = member_scope_of_path(parts, state, &user).await?;
        let scope = workspace_scope(state, org, &ws).await?;
        Ok(WorkspaceMember { user, scope })
    }
}

/// A signed-in user holding the permission `P` in the workspace of the URL.
#[derive(Debug, Clone)]
pub struct WorkspaceCan<P> {
    user: CurrentUser,
    allowed: Allowed<P>,
}

impl<P> WorkspaceCan<P> {
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    pub fn allowed(&self) -> &Allowed<P> {
        &self.allowed
    }
    pub fn scope(&self) -> &WorkspaceScope {
        self.allowed.scope()
    }
    /// The proof of another permission `Q` the same caller holds here (a
    /// page that shows more to those who hold more), or 403.
    pub fn also<Q: RequiredPermission>(&self) -> Result<WorkspaceCan<Q>, Denied> {
        Ok(WorkspaceCan {
            user: self.user.clone(),
            allowed: allow::<Q>(self.allowed.scope())?,
        })
    }
}

impl<P: RequiredPermission> FromRequestParts<AppState> for WorkspaceCan<P> {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let WorkspaceMember { user, scope } =
            WorkspaceMember::from_request_parts(parts, state).await?;
        let allowed = allow::<P>(&scope)?;
        Ok(WorkspaceCan { user, allowed })
    }
}

/// A valid API key that may see the workspace of the URL: bound to the org
/// of `{slug}`, its principal still there (for a person: still a member,
/// meeting the org's MFA policy), the workspace granted to the key, and the
/// principal holding some permission there.
#[derive(Debug)]
pub struct ApiWorkspaceKey {
    principal: ApiPrincipal,
    scope: WorkspaceScope,
}

impl ApiWorkspaceKey {
    pub fn principal(&self) -> &ApiPrincipal {
        &self.principal
    }
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }
    /// The proof of `P`, or 403 `insufficient_permission`.
    pub fn allowed<P: RequiredPermission>(&self) -> Result<Allowed<P>, ApiError> {
        api_allow::<P>(&self.principal, &self.scope)
    }
}

fn api_allow<P: RequiredPermission>(
    principal: &ApiPrincipal,
    scope: &WorkspaceScope,
) -> Result<Allowed<P>, ApiError> {
    allow::<P>(scope).map_err(|_| ApiError::InsufficientPermission {
        permission: P::PERMISSION,
        key_has_it: principal.scopes().permissions().contains(P::PERMISSION),
    })
}

impl FromRequestParts<AppState> for ApiWorkspaceKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(parts, state).await?;
        let slug = slug_of(parts, state).await?;
        let ws = path_param(parts, state, "ws").await?;
        let Some(bound_to) = principal.org_id() else {
            return Err(ApiError::Forbidden {
                code: "key_not_bound",
                message: "This key is not bound to an organization.",
            });
        };
        let who = match principal.owner() {
            KeyOwner::User(user) => Principal::User(user.id),
            KeyOwner::ServiceAccount { id, .. } => Principal::ServiceAccount(*id),
        };
        let found = state
            .db
            .key_workspace_access(who, principal.key_id(), bound_to, &slug, &ws)
            .await?
            .ok_or(ApiError::NotFound)?;
        // The org's MFA policy binds a member's keys as it binds their pages
        // (see `ApiOrgKey`); a service account is exempt (the row says so).
        if found.membership.require_mfa && !found.has_mfa {
            return Err(ApiError::Forbidden {
                code: "mfa_required",
                message: "This organization requires two-factor authentication (its policy \
                          \"Require two-factor authentication for members\" applies to API \
                          keys), or a passkey where it requires a phishing-resistant factor: \
                          the key's owner must add it.",
            });
        }
        let org = scope_from_row(who, found.membership).ok_or(ApiError::NotFound)?;
        let bounds = KeyBounds {
            scopes: principal.scopes().permissions(),
            granted: found.key_granted,
        };
        let scope = scope_for(org, found.access, Some(bounds))?;
        Ok(ApiWorkspaceKey { principal, scope })
    }
}

/// A valid API key holding the permission `P` in the workspace of the URL
/// (its scopes ∩ its principal's permissions there).
#[derive(Debug)]
pub struct ApiWorkspaceCan<P> {
    principal: ApiPrincipal,
    allowed: Allowed<P>,
}

impl<P> ApiWorkspaceCan<P> {
    pub fn principal(&self) -> &ApiPrincipal {
        &self.principal
    }
    pub fn allowed(&self) -> &Allowed<P> {
        &self.allowed
    }
    pub fn scope(&self) -> &WorkspaceScope {
        self.allowed.scope()
    }
}

impl<P: RequiredPermission> FromRequestParts<AppState> for ApiWorkspaceCan<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiWorkspaceKey { principal, scope } =
            ApiWorkspaceKey::from_request_parts(parts, state).await?;
        let allowed = api_allow::<P>(&principal, &scope)?;
        Ok(ApiWorkspaceCan { principal, allowed })
    }
}

/// What the user `user_id` may do in the workspace `ws` of the org `slug`
/// through the console, and why: the check `WorkspaceMember` makes, without
/// the org's MFA policy; `None` when the workspace does not exist for them.
/// It reads and decides, and hands out no proof. For the "why can they?"
/// views of owners, and for the access model's reference test.
pub async fn user_permissions(
    state: &AppState,
    user_id: uuid::Uuid,
    slug: &str,
    ws: &str,
) -> Result<Option<(PermissionSet, Vec<PermissionSource>)>, Denied> {
    let Some(org) = state
        .db
        .membership_by_slug(user_id, slug)
        .await?
        .and_then(|row| scope_from_row(Principal::User(user_id), row))
    else {
        return Ok(None);
    };
    let Some(access) = state.db.workspace_access(&org, ws).await? else {
        return Ok(None);
    };
    Ok(decide(
        org.is_owner(),
        access.workspace.archived_at.is_some(),
        &access.grants,
        None,
    ))
}
