//! The sign-in page: email and password, or a passkey (`web::auth::passkey`).
//! A user with MFA is sent on to the challenge (`web::auth::mfa`) after the
//! password.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::NextQuery;
use crate::auth::AppSession;
use crate::auth::devices;
use crate::auth::mfa::PendingSignIn;
use crate::auth::password::Verified;
use crate::auth::throttle;
use crate::authz::MaybeUser;
use crate::db::audit::{Actor, Event};
use crate::db::flags::ACCOUNT_REGISTRATION;
use crate::domain::{Email, Password};
use crate::error::{AppError, wait_phrase};
use crate::paths::safe_next;
use crate::state::AppState;
use crate::web::auth::mfa::CHALLENGE_PAGE;
use crate::web::extract::{Form, Query};
use crate::web::{ClientInfo, PageContext, Section, ok, render};

const SIGNIN_FAILED: &str = "Incorrect email or password.";

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub ctx: PageContext,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub registration_open: bool,
    /// The options of a passwordless sign-in ceremony, for the page's
    /// script (`static/passkeys.js`).
    pub passkey_options: String,
}

impl LoginPage {
    /// The sign-in page, with a new passkey ceremony open in the session.
    pub async fn new(
        state: &AppState,
        session: &AppSession,
        email: String,
        next: String,
        error: Option<String>,
    ) -> Result<Self, AppError> {
        let now = state.clock.unix();
        Ok(Self {
            ctx: PageContext::new(state, session, None, Section::Public).await?,
            email,
            next,
            error,
            registration_open: state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
            passkey_options: state.passkeys.start_discovery(session, now).await?,
        })
    }
}

/// The sign-in page shown again with a message (and the address typed).
pub struct LoginRetry<'a> {
    pub state: &'a AppState,
    pub session: &'a AppSession,
    pub email: String,
    pub next: String,
}

impl LoginRetry<'_> {
    pub async fn render(&self, status: StatusCode, error: &str) -> Result<Response, AppError> {
        let page = LoginPage::new(
            self.state,
            self.session,
            self.email.clone(),
            self.next.clone(),
            Some(error.to_owned()),
        )
        .await?;
        render(status, &page)
    }
}

/// Why an account whose credentials are right still cannot sign in: it is
/// disabled, or its address must be confirmed first.
pub fn account_refusal(
    state: &AppState,
    disabled_at: Option<i64>,
    email_verified_at: Option<i64>,
) -> Option<&'static str> {
    if disabled_at.is_some() {
        return Some("This account has been disabled. Contact your administrator.");
    }
    if state.config.mail.require_email_verification && email_verified_at.is_none() {
        // The credentials are right, so nothing is charged; the account
        // just cannot be used before its address is proven.
        return Some(
            "Confirm your email address first: open the link we sent you when you signed up. \
             No link? Use \"Forgot your password?\": a reset confirms your address too.",
        );
    }
    None
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: Password,
    #[serde(default)]
    pub next: String,
}

pub async fn show_login(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if user.is_some() {
        return Ok(
            Redirect::to(safe_next(q.next.as_deref()).unwrap_or("/account")).into_response(),
        );
    }
    let next = safe_next(q.next.as_deref()).unwrap_or_default().to_owned();
    let page = LoginPage::new(&state, &session, String::new(), next, None).await?;
    ok(&page)
}

pub async fn login(
    State(state): State<AppState>,
    session: AppSession,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let next = safe_next(Some(&form.next)).unwrap_or_default().to_owned();
    let login_retry = LoginRetry {
        state: &state,
        session: &session,
        email: form.email.trim().to_owned(),
        next: next.clone(),
    };
    let retry = |status: StatusCode, error: String| {
        let login_retry = &login_retry;
        async move { login_retry.render(status, &error).await }
    };

    let Ok(email) = Email::parse(&form.email) else {
        return retry(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address and password.".into(),
        )
        .await;
    };
    if form.password.is_empty() {
        return retry(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address and password.".into(),
        )
        .await;
    }
    // A browser that signed in to this account before has its own failure
    // counter: failures from elsewhere do not lock it out (auth::devices).
    let subject =
        devices::signin_subject(&state.db, &state.config, &headers, email.as_str()).await?;
    match throttle::check_signin(&state.db, &state.config, subject, &client.ip, now).await {
        Err(throttle::Throttled::TooManyRequests { retry_after }) => {
            let mut res = retry(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-in attempts. Try again in {}.",
                    wait_phrase(retry_after)
                ),
            )
            .await?;
            res.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(retry_after));
            return Ok(res);
        }
        other => other?,
    }

    // Always verify, against a dummy hash when there is no such account, so
    // that an unknown email and a wrong password take the same time.
    let creds = state.db.find_credentials_by_email(email.as_str()).await?;
    let verified = state
        .passwords
        .verify(
            &form.password,
            creds.as_ref().map(|c| c.password_hash.as_str()),
        )
        .await?;
    let creds = match creds {
        Some(c) if verified.is_ok() => c,
        _ => {
            throttle::record_signin_failure(&state.db, &state.config, subject, &client.ip, now)
                .await?;
            let failed = Event::by(Actor::Anonymous)
                .did("signin.failed")
                .on("email", &email)
                .from(&client.origin());
            state.db.record_event(&failed, now).await?;
            return retry(StatusCode::UNAUTHORIZED, SIGNIN_FAILED.into()).await;
        }
    };
    if let Some(refusal) = account_refusal(&state, creds.disabled_at, creds.email_verified_at) {
        return retry(StatusCode::FORBIDDEN, refusal.into()).await;
    }
    if let Verified::YesRehashed(new_hash) = verified {
        state
            .db
            .upgrade_password_hash(creds.id, &creds.password_hash, &new_hash)
            .await?;
    }
    if state.db.user_has_mfa(creds.id).await? {
        // The password is right but the session stays anonymous: it only
        // holds a pending sign-in that the challenge page can complete. The
        // failure counter is not cleared yet, so knowing the password does
        // not reset the limit on guessing codes.
        let pending = PendingSignIn {
            user_id: creds.id,
            started_at: now,
            failures: 0,
            next: next.clone(),
            device: subject.device,
        };
        session.begin_mfa_challenge(&pending).await?;
        let challenged = Event::by(Actor::User {
            id: creds.id,
            email: email.to_string(),
        })
        .did("signin.mfa_required")
        .on("user", creds.id)
        .from(&client.origin());
        // The session row is written by the session layer after the
        // handler returns, so a sign-in cannot share its transaction.
        state.db.record_event(&challenged, now).await?;
        return Ok(Redirect::to(CHALLENGE_PAGE).into_response());
    }
    throttle::clear_signin_failures(&state.db, &state.config, subject).await?;
    session.sign_in(creds.id, &client.origin(), now).await?;
    let signed_in = Event::by(Actor::User {
        id: creds.id,
        email: email.to_string(),
    })
    .did("signin.succeeded")
    .on("user", creds.id)
    .from(&client.origin());
    state.db.record_event(&signed_in, now).await?;
    let to = if next.is_empty() {
        "/account"
    } else {
        next.as_str()
    };
    let mut res = Redirect::to(to).into_response();
    if let Some(cookie) = devices::trust(&state.db, &state.config, &headers, creds.id, now).await? {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(res)
}
