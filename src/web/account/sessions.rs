//! `/account/sessions`: where the user is signed in, and signing those
//! sessions out — one, or every one but this.
//!
//! Sessions are named by their handle (`db::sessions::handle_of`), never by
//! the session id; a handle is looked up among the current user's sessions
//! only, so another user's handle is a 404 like any unknown one.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::CurrentUser;
use crate::db::audit::Event;
use crate::db::sessions::SessionSummary;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Path;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, PageContext, Section, device, ok};

/// A session as the page shows it.
pub struct SessionView {
    pub handle: String,
    pub device: String,
    pub ip: String,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    pub current: bool,
}

impl SessionView {
    fn new(s: &SessionSummary, current: Option<&[u8]>, now: i64) -> Self {
        SessionView {
            handle: s.handle(),
            device: device::describe(s.user_agent.as_deref()),
            ip: s.ip.clone().unwrap_or_else(|| "unknown".to_owned()),
            created: Timestamp::new(s.created_at, now),
            last_seen: Timestamp::new(s.last_seen_at, now),
            current: current == Some(s.id_hash.as_slice()),
        }
    }
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
pub struct SessionsPage {
    pub ctx: PageContext,
    pub sessions: Vec<SessionView>,
    pub others: usize,
    /// Sign-ins with the password waiting for their second factor: not
    /// sessions yet, but "sign out everywhere else" ends them.
    pub pending: i64,
    pub max_sessions: i64,
}

pub async fn list_sessions(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let current = session.id_hash();
    let mut sessions: Vec<SessionView> = state
        .db
        .list_sessions(user.id(), now)
        .await?
        .iter()
        .map(|s| SessionView::new(s, current.as_deref(), now))
        .collect();
    // This device first, then the most recently active.
    sessions.sort_by_key(|s| !s.current);
    let page = SessionsPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Sessions).await?,
        others: sessions.iter().filter(|s| !s.current).count(),
        pending: state.db.count_pending_sign_ins(&user, now).await?,
        sessions,
        max_sessions: state.config.max_sessions_per_user,
    };
    ok(&page)
}

pub async fn revoke_session(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path(handle): Path<String>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let target = state
        .db
        .find_own_session(&user, &handle, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let is_current = session.id_hash().as_deref() == Some(target.id_hash.as_slice());
    let signed_out = Event::by(user.actor())
        .did("session.revoked")
        .on("user", user.id())
        .detail(json!({
            "session": target.handle(),
            "device": device::describe(target.user_agent.as_deref()),
            "ip": target.ip,
            "current": is_current,
        }))
        .from(&client.origin());
    state
        .db
        .revoke_session(&user, &target.id_hash, signed_out, now)
        .await?;
    if is_current {
        // Revoking this very session is signing out.
        session.sign_out().await?;
        session
            .flash(FlashKind::Info, "You have been signed out.")
            .await?;
        return Ok(Redirect::to("/login").into_response());
    }
    session
        .flash(
            FlashKind::Success,
            format!(
                "Signed out {} ({}).",
                device::describe(target.user_agent.as_deref()),
                target.ip.as_deref().unwrap_or("unknown address")
            ),
        )
        .await?;
    Ok(Redirect::to("/account/sessions").into_response())
}

pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let keep = session
        .id_hash()
        .ok_or_else(|| AppError::internal("a signed-in session without an id"))?;
    let signed_out = Event::by(user.actor())
        .did("sessions.revoked_others")
        .on("user", user.id())
        .from(&client.origin());
    let revoked = state
        .db
        .revoke_other_sessions(&user, &keep, signed_out, now)
        .await?;
    let mut message = match revoked.sessions {
        0 => "You had no other sessions.".to_owned(),
        1 => "Your 1 other session was signed out.".to_owned(),
        n => format!("Your {n} other sessions were signed out."),
    };
    // Someone got past the password there: say so, and what to do.
    match revoked.pending_sign_ins {
        0 => {}
        1 => message.push_str(
            " A sign-in waiting for its authentication code was stopped too; if it was not \
             you, change your password.",
        ),
        n => message.push_str(&format!(
            " {n} sign-ins waiting for their authentication code were stopped too; if they \
             were not you, change your password."
        )),
    }
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/account/sessions").into_response())
}
