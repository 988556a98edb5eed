//! Platform operators. `Operator` is the only way into the `/ops` console; it
//! carries the `PlatformScope` that the cross-tenant data functions take
//! (which only `authz` builds: here, in `master`, and for the command line).
//!
//! An `Operator` is a signed-in, enabled user whose operator flag is set (read
//! from the database on every request, so a `gatehouse operator revoke` takes
//! effect at once) and whose session is in sudo mode now. Anyone else — an
//! anonymous visitor included — gets the ordinary 404 page: the console's
//! existence is not revealed. An operator outside sudo mode is sent to
//! `/sudo`; the request is never replayed.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;

use super::{CurrentUser, Denied, PlatformScope, resolve};
use crate::app::AppState;
use crate::auth::AppSession;
use crate::db::audit::Actor;
use crate::paths;

/// A platform operator in sudo mode.
#[derive(Debug, Clone)]
pub struct Operator {
    user: CurrentUser,
    sudo_until: i64,
    has_mfa: bool,
    scope: PlatformScope,
}

impl Operator {
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }

    /// When the sudo window closes (unix seconds).
    pub fn sudo_until(&self) -> i64 {
        self.sudo_until
    }

    /// Whether the operator has MFA on; the console asks them to enrol when not.
    pub fn has_mfa(&self) -> bool {
        self.has_mfa
    }

    pub fn scope(&self) -> &PlatformScope {
        &self.scope
    }

    pub fn actor(&self) -> Actor {
        self.user.actor()
    }
}

impl std::ops::Deref for Operator {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        // Not signed in, signed in as someone else, or disabled: the same 404
        // as a path that does not exist.
        let Some(user) = resolve(parts, state).await? else {
            return Err(Denied::NotFound);
        };
        if !user.is_operator() {
            return Err(Denied::NotFound);
        }
        let session = AppSession::from_request_parts(parts, state).await?;
        let now = state.clock.unix();
        match session.sudo_until().await? {
            Some(until) if until > now => Ok(Operator {
                has_mfa: state.db.user_has_mfa(user.id()).await?,
                user,
                sudo_until: until,
                scope: PlatformScope::new(),
            }),
            _ => Err(Denied::SudoRequired {
                // A page comes back to itself; a form submission is not
                // replayed and comes back to the console's start page.
                next: if parts.method == Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .map_or_else(|| paths::OPS.to_owned(), |pq| pq.as_str().to_owned())
                } else {
                    paths::OPS.to_owned()
                },
            }),
        }
    }
}
