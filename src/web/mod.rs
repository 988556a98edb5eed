//! HTML handlers grouped by surface, with the pieces every page shares: the
//! page context (user, CSRF token, flashes, sudo state, navigation), form
//! errors and time formatting (redirect targets are `crate::paths`; the client's address is
//! `crate::request::ClientInfo`, re-exported here for the handlers).

pub mod account;
pub mod auth;
pub mod context;
pub mod device;
pub mod extract;
pub mod forms;
pub mod health;
pub mod invitations;
pub mod keys;
pub mod ops;
pub mod orgs;
pub mod sudo;
pub mod timefmt;
pub mod workspaces;

pub use crate::request::ClientInfo;
pub use context::{OpsSection, PageContext, Section};
pub use forms::FieldErrors;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

/// Renders a page with a status (422 for a form with errors, 200 otherwise).
pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// Renders a page with 200.
pub fn ok(page: &impl Template) -> Result<Response, AppError> {
    render(StatusCode::OK, page)
}

/// The re-authentication check (`auth::reauth`) over this state's storage,
/// limits, hasher and cipher, for a request with these headers (their
/// device cookie decides which failure counter is charged).
pub fn reauth<'a>(
    state: &'a crate::state::AppState,
    headers: &'a axum::http::HeaderMap,
) -> crate::auth::reauth::Reauth<'a> {
    crate::auth::reauth::Reauth {
        db: &state.db,
        config: &state.config,
        passwords: &state.passwords,
        cipher: &state.secrets,
        headers,
    }
}

/// The security notice emailed to `user` about a change to their account
/// (always sent: security email cannot be turned off), dated now.
pub fn security_notice(
    state: &crate::state::AppState,
    user: &crate::authz::CurrentUser,
    subject: &str,
    what: &str,
) -> Result<crate::db::outbox::NewMail, AppError> {
    let now = state.clock.unix();
    Ok(crate::mail::security_notice(
        user.email(),
        user.display_name(),
        subject,
        what,
        &timefmt::Timestamp::new(now, now).utc,
        &state.config.public_url(),
    )?)
}
