//! `/sudo`: confirm the password (and, for a user with TOTP, a TOTP or backup
//! code) — or a passkey, which is both factors at once — to open a sudo
//! window, and leave it again. A user whose only second factor is a passkey
//! confirms with the passkey: the password alone would skip their second
//! factor.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use serde_json::json;

use crate::auth::reauth::{Factors, Outcome};
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, devices, throttle};
use crate::authz::CurrentUser;
use crate::db::audit::Event;
use crate::domain::Password;
use crate::error::AppError;
use crate::paths::safe_next;
use crate::state::AppState;
use crate::web::auth::NextQuery;
use crate::web::auth::mfa::passkey_options;
use crate::web::auth::passkey::{Expect, check, message};
use crate::web::extract::{Form, Query};
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, reauth, render};

#[derive(Template)]
#[template(path = "sudo.html")]
pub struct SudoPage {
    pub ctx: PageContext,
    pub next: String,
    pub minutes: i64,
    /// The user has TOTP: the form asks for a code too.
    pub needs_code: bool,
    /// The password form is offered (not to a user whose only second factor
    /// is a passkey).
    pub password_form: bool,
    /// The user has passkeys: the options of the ceremony the page offers.
    pub passkey_options: Option<String>,
    pub errors: FieldErrors,
}

impl SudoPage {
    async fn new(
        state: &AppState,
        session: &AppSession,
        user: &CurrentUser,
        next: String,
        errors: FieldErrors,
    ) -> Result<Self, AppError> {
        let now = state.clock.unix();
        let needs_code = state.db.user_has_totp(user.id()).await?;
        let passkey_options = passkey_options(state, session, user.id(), now).await?;
        Ok(Self {
            ctx: PageContext::new(state, session, Some(user), Section::Security).await?,
            next,
            minutes: state.config.sudo_minutes,
            needs_code,
            password_form: needs_code || passkey_options.is_none(),
            passkey_options,
            errors,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct SudoPasskeyForm {
    #[serde(default)]
    pub credential: String,
    #[serde(default)]
    pub next: String,
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
    let next = safe_next(q.next.as_deref())
        .unwrap_or("/account")
        .to_owned();
    let page = SudoPage::new(&state, &session, &user, next, FieldErrors::new()).await?;
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
    let passkey_only =
        !state.db.user_has_totp(user.id()).await? && state.db.user_has_passkey(user.id()).await?;
    if passkey_only {
        let mut errors = FieldErrors::new();
        errors.add(
            "passkey",
            "Your account's second factor is a passkey: confirm with it.",
        );
        let page = SudoPage::new(&state, &session, &user, next, errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
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
        let page = SudoPage::new(&state, &session, &user, next, errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    open_sudo(&state, &session, &user, &client, "password", &next).await
}

/// `POST /sudo/passkey`: sudo confirmed with one of the user's passkeys.
pub async fn confirm_sudo_with_passkey(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<SudoPasskeyForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let next = safe_next(Some(&form.next)).unwrap_or("/account").to_owned();
    // The sign-in counters guard this as they guard the password prompt.
    let subject = devices::signin_subject(&state.db, &state.config, &headers, user.email()).await?;
    throttle::check_signin(&state.db, &state.config, subject, &client.ip, now).await?;
    let checked = check(
        &state,
        &session,
        &client,
        Expect::User(user.id()),
        &form.credential,
    )
    .await?;
    if let Err(e) = checked {
        throttle::record_signin_failure(&state.db, &state.config, subject, &client.ip, now).await?;
        let failed = Event::by(user.actor())
            .did("sudo.failed")
            .on("user", user.id())
            .from(&client.origin());
        state.db.record_event(&failed, now).await?;
        let mut errors = FieldErrors::new();
        errors.add("passkey", message(&e));
        let page = SudoPage::new(&state, &session, &user, next, errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    throttle::clear_signin_failures(&state.db, &state.config, subject).await?;
    open_sudo(&state, &session, &user, &client, "passkey", &next).await
}

/// Opens the sudo window after a confirmation by `method`.
async fn open_sudo(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    client: &ClientInfo,
    method: &str,
    next: &str,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    // Entering sudo mode is a privilege change: the session id is rotated.
    session.rotate_id().await?;
    session
        .set_sudo_until(now + state.config.sudo_minutes * 60)
        .await?;
    // Sudo state lives in the session, written by the session layer after
    // the handler returns: the event stands alone.
    let granted = Event::by(user.actor())
        .did("sudo.granted")
        .on("user", user.id())
        .detail(json!({ "method": method }))
        .from(&client.origin());
    state.db.record_event(&granted, now).await?;
    Ok(Redirect::to(next).into_response())
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
