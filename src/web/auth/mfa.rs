//! `/login/mfa`: the second step of signing in for a user with MFA.
//!
//! The session holds only a pending sign-in (see `auth::mfa`), so this is the
//! one page it can use. A right code (TOTP for the current or previous step,
//! not used before; or an unused backup code) completes the sign-in and
//! rotates the session id. Each wrong code counts against the pending sign-in
//! (5, then it starts over at `/login`) and against the account's sign-in
//! failure limit. Every outcome is audited.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::limits::MAX_CHALLENGE_FAILURES;
use crate::auth::mfa::{CodeKind, PendingSignIn, verify_code};
use crate::auth::session::FlashKind;
use crate::auth::throttle::{self, SigninSubject};
use crate::auth::{AppSession, backup_codes, devices};
use crate::authz::MaybeUser;
use crate::db::audit::{Actor, Event};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};
use uuid::Uuid;

pub const CHALLENGE_PAGE: &str = "/login/mfa";

const EXPIRED: &str = "That sign-in took too long. Please sign in again.";

#[derive(Template)]
#[template(path = "auth/mfa.html")]
pub struct ChallengePage {
    pub ctx: PageContext,
    pub errors: FieldErrors,
    /// The user has passkeys: the options of the ceremony the page offers
    /// first.
    pub passkey_options: Option<String>,
    /// The user has TOTP (and backup codes): the code form is shown.
    pub has_totp: bool,
}

impl ChallengePage {
    /// The challenge for `user_id`, with a passkey ceremony open when they
    /// have passkeys.
    pub async fn new(
        state: &AppState,
        session: &AppSession,
        user_id: Uuid,
        errors: FieldErrors,
    ) -> Result<Self, AppError> {
        let now = state.clock.unix();
        Ok(Self {
            ctx: PageContext::new(state, session, None, Section::Public).await?,
            errors,
            passkey_options: passkey_options(state, session, user_id, now).await?,
            has_totp: state.db.user_has_totp(user_id).await?,
        })
    }
}

/// Opens an assertion ceremony over `user_id`'s passkeys, if they have any
/// (the MFA step and the sudo prompt); its options for the page's script.
pub async fn passkey_options(
    state: &AppState,
    session: &AppSession,
    user_id: Uuid,
    now: i64,
) -> Result<Option<String>, AppError> {
    let stored = state.db.user_passkeys(user_id).await?;
    let passkeys: Vec<_> = stored
        .iter()
        .filter_map(|p| crate::auth::passkeys::from_stored(&p.credential).ok())
        .collect();
    if passkeys.is_empty() {
        return Ok(None);
    }
    let options = state
        .passkeys
        .start_assertion(session, user_id, &passkeys, now)
        .await?;
    Ok(Some(options))
}

/// A sign-in whose factors were all checked: what completing it needs.
pub struct Passed<'a> {
    pub user_id: Uuid,
    pub email: String,
    /// The second factor (or passkey) that passed, for the audit log.
    pub method: &'static str,
    pub next: String,
    pub subject: SigninSubject<'a>,
}

/// Completes a sign-in: the session is bound (its id rotated), the
/// failure counter cleared, `signin.succeeded` recorded with the method,
/// and the browser trusted for the account.
pub async fn complete_sign_in(
    state: &AppState,
    session: &AppSession,
    client: &ClientInfo,
    headers: &HeaderMap,
    passed: Passed<'_>,
    now: i64,
) -> Result<Response, AppError> {
    let origin = client.origin();
    // `sign_in` drops the pending state and rotates the session id.
    session.sign_in(passed.user_id, &origin, now).await?;
    throttle::clear_signin_failures(&state.db, &state.config, passed.subject).await?;
    let event = |action, detail| {
        Event::by(Actor::User {
            id: passed.user_id,
            email: passed.email.clone(),
        })
        .did(action)
        .on("user", passed.user_id)
        .detail(detail)
        .from(&origin)
    };
    // A sign-in is written by the session layer after the handler returns:
    // these events stand alone.
    let method = passed.method;
    state
        .db
        .record_event(
            &event("mfa.challenge_passed", json!({ "method": method })),
            now,
        )
        .await?;
    state
        .db
        .record_event(&event("signin.succeeded", json!({ "mfa": method })), now)
        .await?;
    let to = if passed.next.is_empty() {
        "/account"
    } else {
        passed.next.as_str()
    };
    let mut res = Redirect::to(to).into_response();
    if let Some(cookie) =
        devices::trust(&state.db, &state.config, headers, passed.user_id, now).await?
    {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct ChallengeForm {
    #[serde(default)]
    pub code: String,
}

/// The pending sign-in of this session, if it is still valid; an expired one
/// is dropped (and audited) with a message for the sign-in page.
pub async fn live_pending(
    state: &AppState,
    session: &AppSession,
    client: &ClientInfo,
    now: i64,
) -> Result<Option<PendingSignIn>, AppError> {
    let Some(pending) = session.pending_sign_in().await? else {
        return Ok(None);
    };
    if !pending.expired(now) {
        return Ok(Some(pending));
    }
    session.drop_pending_sign_in().await?;
    if let Some(user) = state.db.find_user(pending.user_id).await? {
        let expired = Event::by(Actor::User {
            id: user.id,
            email: user.email,
        })
        .did("mfa.challenge_expired")
        .on("user", user.id)
        .detail(json!({ "failures": pending.failures }))
        .from(&client.origin());
        state.db.record_event(&expired, now).await?;
    }
    session.flash(FlashKind::Warning, EXPIRED).await?;
    Ok(None)
}

pub async fn show_challenge(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    if user.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    let now = state.clock.unix();
    let Some(pending) = live_pending(&state, &session, &client, now).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let page = ChallengePage::new(&state, &session, pending.user_id, FieldErrors::new()).await?;
    ok(&page)
}

pub async fn answer_challenge(
    State(state): State<AppState>,
    session: AppSession,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<ChallengeForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let Some(mut pending) = live_pending(&state, &session, &client, now).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let user = match state.db.find_user(pending.user_id).await? {
        Some(u) if u.disabled_at.is_none() => u,
        // Deleted or disabled since the password step.
        _ => {
            session.drop_pending_sign_in().await?;
            return Ok(Redirect::to("/login").into_response());
        }
    };
    let rerender = |status: StatusCode, message: String| {
        let state = state.clone();
        let session = session.clone();
        async move {
            let mut errors = FieldErrors::new();
            errors.add("code", message);
            let page = ChallengePage::new(&state, &session, user.id, errors).await?;
            render(status, &page)
        }
    };
    if form.code.trim().is_empty() {
        return rerender(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the 6-digit code from your authenticator app, or a backup code.".into(),
        )
        .await;
    }
    // The sign-in limit covers codes as well as passwords: a locked account
    // (or trusted device, if the password came from one) cannot guess codes
    // either.
    let subject = SigninSubject {
        email: &user.email,
        device: pending.device,
    };
    throttle::check_signin(&state.db, &state.config, subject, &client.ip, now).await?;

    let origin = client.origin();
    // A failed code changes nothing, and a sign-in is written by the session
    // layer after the handler returns: these events stand alone.
    let event = |action, detail| {
        Event::by(Actor::User {
            id: user.id,
            email: user.email.clone(),
        })
        .did(action)
        .on("user", user.id)
        .detail(detail)
        .from(&origin)
    };

    let Some(kind) = verify_code(&state.db, &state.secrets, user.id, &form.code, now).await? else {
        pending.failures += 1;
        throttle::record_signin_failure(&state.db, &state.config, subject, &client.ip, now).await?;
        let restarted = pending.failures >= MAX_CHALLENGE_FAILURES;
        state
            .db
            .record_event(
                &event(
                    "mfa.challenge_failed",
                    json!({ "attempt": pending.failures, "restarted": restarted }),
                ),
                now,
            )
            .await?;
        if restarted {
            session.drop_pending_sign_in().await?;
            session
                .flash(
                    FlashKind::Error,
                    "Too many wrong codes. For your security, please sign in again.",
                )
                .await?;
            return Ok(Redirect::to("/login").into_response());
        }
        session.update_pending_sign_in(&pending).await?;
        let left = MAX_CHALLENGE_FAILURES - pending.failures;
        return rerender(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "That code is not right, or it was already used. {left} {} left.",
                if left == 1 { "try" } else { "tries" }
            ),
        )
        .await;
    };

    let passed = Passed {
        user_id: user.id,
        email: user.email.clone(),
        method: kind.as_str(),
        next: pending.next,
        subject,
    };
    let res = complete_sign_in(&state, &session, &client, &headers, passed, now).await?;
    if kind == CodeKind::BackupCode {
        let left = state
            .db
            .mfa_status(user.id)
            .await?
            .map_or(0, |s| s.backup_codes_left);
        let (flash, message) = if left <= backup_codes::LOW_WATERMARK {
            (
                FlashKind::Warning,
                format!(
                    "You signed in with a backup code. Only {left} {} left: generate new ones \
                     on the Security page.",
                    if left == 1 { "is" } else { "are" }
                ),
            )
        } else {
            (
                FlashKind::Info,
                format!("You signed in with a backup code. {left} are left."),
            )
        };
        session.flash(flash, message).await?;
    }
    Ok(res)
}
