//! `/sudo`: confirm the password (and, for a user with MFA, a TOTP or backup
//! code) to open a sudo window, and leave it again.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::AppSession;
use crate::auth::reauth::{Factors, Outcome};
use crate::auth::session::FlashKind;
use crate::authz::CurrentUser;
use crate::db::audit::Event;
use crate::domain::Password;
use crate::error::AppError;
use crate::paths::safe_next;
use crate::state::AppState;
use crate::web::auth::NextQuery;
use crate::web::extract::{Form, Query};
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, reauth, render};

#[derive(Template)]
#[template(path = "sudo.html")]
pub struct SudoPage {
    pub ctx: PageContext,
    pub next: String,
    pub minutes: i64,
    /// The user has MFA: the form asks for a code too.
    pub needs_code: bool,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct SudoForm {
    #[serde(default)]
    pub password: Password,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub next: String,
}

pub async fn show_sudo(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let page = SudoPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Security).await?,
        next: safe_next(q.next.as_deref())
            .unwrap_or("/account")
            .to_owned(),
        minutes: state.config.sudo_minutes,
        needs_code: state.db.user_has_mfa(user.id()).await?,
        errors: FieldErrors::new(),
    };
    ok(&page)
}

pub async fn confirm_sudo(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<SudoForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let next = safe_next(Some(&form.next)).unwrap_or("/account").to_owned();
    let outcome = reauth(&state, &headers)
        .confirm(
            &user,
            &client.ip,
            Factors::PasswordAndCode {
                password: &form.password,
                code: &form.code,
            },
            now,
        )
        .await?;
    // Sudo state lives in the session, written by the session layer after
    // the handler returns: both events stand alone.
    let event = |action| {
        Event::by(user.actor())
            .did(action)
            .on("user", user.id())
            .from(&client.origin())
    };
    let mut errors = FieldErrors::new();
    match outcome {
        Outcome::Confirmed { .. } => {}
        Outcome::WrongPassword => errors.add("password", "That is not your password."),
        Outcome::WrongCode => errors.add(
            "code",
            "That code is not right, or it was already used. Enter the current code from \
             your authenticator app, or a backup code.",
        ),
    }
    if !errors.is_empty() {
        state.db.record_event(&event("sudo.failed"), now).await?;
        let page = SudoPage {
            ctx: PageContext::new(&state, &session, Some(&user), Section::Security).await?,
            next,
            minutes: state.config.sudo_minutes,
            needs_code: state.db.user_has_mfa(user.id()).await?,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // Entering sudo mode is a privilege change: the session id is rotated.
    session.rotate_id().await?;
    session
        .set_sudo_until(now + state.config.sudo_minutes * 60)
        .await?;
    state.db.record_event(&event("sudo.granted"), now).await?;
    Ok(Redirect::to(&next).into_response())
}

/// Where the person came from, if it was a page of this site.
fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let after_scheme = referer.split_once("://").map_or(referer, |(_, rest)| rest);
    let path = after_scheme.find('/').map(|i| &after_scheme[i..])?;
    safe_next(Some(path)).map(str::to_owned)
}

pub async fn leave_sudo(
    session: AppSession,
    _user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    session.clear_sudo().await?;
    session.flash(FlashKind::Info, "Sudo mode ended.").await?;
    let back = referer_path(&headers).unwrap_or_else(|| "/account".to_owned());
    Ok(Redirect::to(&back).into_response())
}
