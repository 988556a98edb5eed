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

use super::{Denied, Operator, PlatformScope, resolve};
use crate::auth::AppSession;
use crate::db::audit::Actor;
use crate::paths;
use crate::state::AppState;

impl Operator {
    /// The audit actor: the operator as a user.
    pub fn actor(&self) -> Actor {
        self.user().actor()
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
            Some(until) if until > now => Ok(Operator::new(
                state.db.user_has_mfa(user.id()).await?,
                user,
                until,
                PlatformScope::new(),
            )),
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
