//! The sign-in page: email and password. A user with MFA is sent on to
//! the challenge (`web::auth::mfa`) after the password.

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
    let page = LoginPage {
        ctx: PageContext::new(&state, &session, None, Section::Public).await?,
        email: String::new(),
        next: safe_next(q.next.as_deref()).unwrap_or_default().to_owned(),
        error: None,
        registration_open: state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
    };
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
    let retry = |status: StatusCode, error: String| {
        let state = state.clone();
        let session = session.clone();
        let email = form.email.trim().to_owned();
        let next = next.clone();
        async move {
            let page = LoginPage {
                ctx: PageContext::new(&state, &session, None, Section::Public).await?,
                email,
                next,
                error: Some(error),
                registration_open: state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
            };
            render(status, &page)
        }
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
    if creds.disabled_at.is_some() {
        return retry(
            StatusCode::FORBIDDEN,
            "This account has been disabled. Contact your administrator.".into(),
        )
        .await;
    }
    if state.config.mail.require_email_verification && creds.email_verified_at.is_none() {
        // The password is right, so nothing is charged; the account just
        // cannot be used before its address is proven.
        return retry(
            StatusCode::FORBIDDEN,
            "Confirm your email address first: open the link we sent you when you signed up. \
             No link? Use \"Forgot your password?\": a reset confirms your address too."
                .into(),
        )
        .await;
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
