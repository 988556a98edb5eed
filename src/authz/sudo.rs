//! Sudo mode: a short, time-bound elevation of one session after the password
//! (and, with MFA, a code) is entered again. The window is a timestamp in the
//! server-side session, so any instance sees it and signing in again does not
//! grant it.
//!
//! Operations that need it take a `SudoUser` proof, which only this module
//! can build: a page view gets it from the extractor (or is sent to `/sudo`
//! and back), a form submission from `SudoGate::enter`, which, when the window
//! has closed, keeps the entered values for the form page and sends the
//! person to `/sudo` — the request is never replayed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::AppSession;
use crate::authz::{CurrentUser, Denied, SudoUser};
use crate::paths;
use crate::state::AppState;

/// A signed-in user whose sudo window may or may not be open; for form
/// submissions that need sudo.
pub struct SudoGate {
    user: CurrentUser,
    session: AppSession,
    until: Option<i64>,
    now: i64,
}

const KEY_STASH: &str = "sudo_stash";

#[derive(Serialize, serde::Deserialize)]
struct Stash {
    path: String,
    values: serde_json::Value,
}

impl SudoGate {
    /// The signed-in user, whether or not the window is open.
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }

    /// The proof, if the window is open; otherwise keeps `form` for the page
    /// at `form_page` and answers with a redirect to `/sudo?next=form_page`.
    pub async fn enter<T: Serialize>(self, form_page: &str, form: &T) -> Result<SudoUser, Denied> {
        match self.until {
            Some(until) if until > self.now => Ok(SudoUser::new(self.user, until)),
            _ => {
                let stash = Stash {
                    path: form_page.to_owned(),
                    values: serde_json::to_value(form)?,
                };
                self.session.put(KEY_STASH, &stash).await?;
                Err(Denied::SudoRequired {
                    next: form_page.to_owned(),
                })
            }
        }
    }
}

impl SudoGate {
    /// The proof, if the window is open; otherwise a redirect to
    /// `/sudo?next=page` (nothing is kept). For a page that must check
    /// something else — e.g. that an id exists in the caller's org — before
    /// asking for sudo, so that a foreign id is 404 rather than a sudo prompt.
    pub fn check(self, page: &str) -> Result<SudoUser, Denied> {
        match self.until {
            Some(until) if until > self.now => Ok(SudoUser::new(self.user, until)),
            _ => Err(Denied::SudoRequired {
                next: page.to_owned(),
            }),
        }
    }
}

/// The values a person had entered in the form at `path` before being sent
/// to confirm sudo mode, if any (taken once).
pub async fn take_stashed_form<T: DeserializeOwned>(
    session: &AppSession,
    path: &str,
) -> Result<Option<T>, Denied> {
    let Some(stash) = session.get::<Stash>(KEY_STASH).await? else {
        return Ok(None);
    };
    if stash.path != path {
        return Ok(None);
    }
    session.remove(KEY_STASH).await?;
    Ok(serde_json::from_value(stash.values).ok())
}

async fn window(
    parts: &mut Parts,
    state: &AppState,
) -> Result<(CurrentUser, AppSession, Option<i64>), Denied> {
    let user = CurrentUser::from_request_parts(parts, state).await?;
    let session = AppSession::from_request_parts(parts, state).await?;
    let until = session.sudo_until().await?;
    Ok((user, session, until))
}

impl FromRequestParts<AppState> for SudoUser {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let (user, _, until) = window(parts, state).await?;
        match until {
            Some(until) if until > state.clock.unix() => Ok(SudoUser::new(user, until)),
            _ => Err(Denied::SudoRequired {
                next: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| paths::ACCOUNT.to_owned(), |pq| pq.as_str().to_owned()),
            }),
        }
    }
}

impl FromRequestParts<AppState> for SudoGate {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let (user, session, until) = window(parts, state).await?;
        Ok(SudoGate {
            user,
            session,
            until,
            now: state.clock.unix(),
        })
    }
}
