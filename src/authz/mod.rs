//! Authorization as types. A handler states the identity it needs as an
//! extractor parameter, so a route's guarantees can be read from its
//! signature, and data functions take these proofs rather than raw ids.
//!
//! - `CurrentUser`: a signed-in, enabled user, bound to this session. Self-
//!   service handlers act on `CurrentUser::id` only; they never take a user id
//!   from the URL, form or query.
//! - `MaybeUser`: the same, optional (public pages).
//! - `SudoUser`: a `CurrentUser` whose session is in sudo mode now (see
//!   `sudo`).
//! - `Operator`: a platform operator in sudo mode (the `/ops` console);
//!   everyone else gets 404. `MasterKey`: the platform-level bearer key of
//!   `/v1/admin`. Both hand out the `PlatformScope` that cross-tenant data
//!   functions take.
//! - `OrgMember` / `OrgOwner`: the caller's `OrgScope` / `OwnerScope` in the
//!   org of the URL (see `org`), with the org's MFA policy applied.
//! - `OrgMemberLeaving`: membership without the org's MFA policy, for the
//!   leave route only (see `leaving` for why).
//! - `WorkspaceMember` / `WorkspaceCan<P>` (pages) and `ApiWorkspaceKey` /
//!   `ApiWorkspaceCan<P>` (`/v1`): the caller's `WorkspaceScope` in the
//!   workspace `{ws}` of the org `{slug}`, and the `Allowed<P>` proof of one
//!   permission there (see `workspace` for the rules).
//! - `mfa::require_mfa`: the MFA check behind that policy; the org extractors
//!   call it, handlers do not.
//!
//! The proof types live in `proof` (private fields, constructors visible only
//! inside `authz`); the extractors that mint them live beside it and reject
//! with `Denied`, which the HTML and JSON errors convert from.

pub mod api;
pub mod denied;
pub mod leaving;
pub mod master;
pub mod mfa;
pub mod operator;
pub mod org;
pub mod proof;
pub mod resource;
pub mod scim;
pub mod sudo;
pub mod workspace;

pub use api::{ApiKeyAuth, ApiPrincipal};
pub use denied::Denied;
pub use leaving::OrgMemberLeaving;
pub use master::MasterKey;
pub use org::{DeletedOrgOwner, OrgMember, OrgOwner};
pub use proof::{
    Allowed, CurrentUser, MfaEnrolled, Operator, OrgScope, OwnerScope, PermissionSource,
    PlatformScope, Principal, SudoUser, WorkspaceScope,
};
pub use scim::ScimClient;
pub use sudo::SudoGate;
pub use workspace::{ApiWorkspaceCan, ApiWorkspaceKey, WorkspaceCan, WorkspaceMember};

use crate::auth::AppSession;
use crate::db::audit::Actor;
use crate::paths;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

impl CurrentUser {
    /// The audit actor for what this user does.
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.id(),
            email: self.email().to_owned(),
        }
    }
}

/// The signed-in user, if any.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

/// Per-request cache, so that several extractors in one handler load the user
/// once.
#[derive(Clone)]
struct Resolved(Option<CurrentUser>, Required);

/// What an operator required of the user before anything else.
#[derive(Clone, Copy, Default)]
struct Required {
    password_change: bool,
    mfa_enrolment: bool,
}

/// The pages a user with a pending requirement may still open: the page
/// that meets it (and, for enrolment, the sudo step it asks for first), and
/// sign-out.
fn allowed_while_required(required: Required, path: &str) -> bool {
    if path == paths::LOGOUT {
        return true;
    }
    if required.password_change {
        return path == paths::PASSWORD_CHANGE;
    }
    if required.mfa_enrolment {
        return path == paths::MFA_ENROLMENT
            || path == paths::SUDO
            || path.starts_with("/sudo/")
            || path.starts_with("/account/security/mfa/backup-codes")
            // A passkey meets the requirement as well as TOTP does.
            || path.starts_with(paths::PASSKEYS);
    }
    true
}

async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<CurrentUser>, Denied> {
    Ok(resolve_with_requirements(parts, state).await?.0)
}

async fn resolve_with_requirements(
    parts: &mut Parts,
    state: &AppState,
) -> Result<(Option<CurrentUser>, Required), Denied> {
    if let Some(Resolved(user, required)) = parts.extensions.get::<Resolved>() {
        return Ok((user.clone(), *required));
    }
    let mut required = Required::default();
    let session = AppSession::from_request_parts(parts, state).await?;
    let user = match session.user_id().await? {
        None => None,
        Some(id) => match state.db.find_user(id).await? {
            Some(u) if u.disabled_at.is_none() => {
                required = Required {
                    password_change: u.must_change_password,
                    mfa_enrolment: u.must_enrol_mfa,
                };
                let verified = u.email_verified_at.is_some();
                Some(
                    CurrentUser::new(u.id, u.email, u.display_name, u.is_operator)
                        .with_email_verified(verified),
                )
            }
            // The account was deleted or disabled since sign-in: end the session.
            _ => {
                session.sign_out().await?;
                None
            }
        },
    };
    parts.extensions.insert(Resolved(user.clone(), required));
    Ok((user, required))
}

fn requested_path(parts: &Parts) -> Option<String> {
    parts.uri.path_and_query().map(|pq| pq.as_str().to_owned())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let (user, required) = resolve_with_requirements(parts, state).await?;
        let user = user.ok_or_else(|| Denied::Unauthenticated {
            // Coming back after sign-in only makes sense for a page view.
            next: (parts.method == axum::http::Method::GET)
                .then(|| requested_path(parts))
                .flatten(),
        })?;
        // An operator's requirement comes before every page (the check is
        // here, in the one extractor every signed-in page goes through, so
        // no page can forget it).
        if !allowed_while_required(required, parts.uri.path()) {
            return Err(if required.password_change {
                Denied::PasswordChangeRequired
            } else {
                Denied::MfaEnrolmentRequired
            });
        }
        Ok(user)
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        Ok(MaybeUser(resolve(parts, state).await?))
    }
}
