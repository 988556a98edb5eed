//! Signing in with a passkey: `POST /login/passkey` (passwordless, with a
//! discoverable passkey; it counts as multi-factor) and
//! `POST /login/mfa/passkey` (the second step after the password).
//!
//! `check` is the one place an assertion is verified for the console (the
//! sudo prompt uses it too): the credential must be a stored passkey of the
//! expected user, the ceremony must be this session's and fresh, and the
//! stored counter moves forward in the same conditional UPDATE that records
//! the use. Every refusal is audited; a counter that went backwards is
//! audited as `passkey.counter_regression`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::login::{LoginRetry, account_refusal};
use super::mfa::{CHALLENGE_PAGE, Passed, complete_sign_in, live_pending};
use crate::auth::AppSession;
use crate::auth::devices;
use crate::auth::passkeys::{self, PasskeyError};
use crate::auth::session::FlashKind;
use crate::auth::throttle::{self, SigninSubject};
use crate::db::audit::{Actor, Event};
use crate::db::passkeys::StoredPasskey;
use crate::error::AppError;
use crate::paths::safe_next;
use crate::state::AppState;
use crate::web::ClientInfo;
use crate::web::extract::Form;

/// A form the page's script filled with the authenticator's response.
#[derive(Debug, Deserialize)]
pub struct PasskeyForm {
    #[serde(default)]
    pub credential: String,
    #[serde(default)]
    pub next: String,
}

/// Whose passkey the response must be.
#[derive(Clone, Copy)]
pub enum Expect {
    /// A known user's (the MFA step, sudo): an assertion ceremony.
    User(Uuid),
    /// Anyone's, named by the passkey (passwordless sign-in): discovery.
    Anyone,
}

/// Verifies `response` as `expect` requires, and records the use. The
/// outer error is a fault; the inner one is a refusal to show.
pub async fn check(
    state: &AppState,
    session: &AppSession,
    client: &ClientInfo,
    expect: Expect,
    response: &str,
) -> Result<Result<StoredPasskey, PasskeyError>, AppError> {
    let now = state.clock.unix();
    let (stored, error) = match verify(state, session, expect, response, now).await? {
        Ok(stored) => return Ok(Ok(stored)),
        Err((_, PasskeyError::Ceremony(e))) => return Err(e.into()),
        Err(refused) => refused,
    };
    let action = match error {
        PasskeyError::Compromised => "passkey.counter_regression",
        _ => "passkey.refused",
    };
    let actor = match &stored {
        Some(p) => match state.db.find_user(p.user_id).await? {
            Some(u) => Actor::User {
                id: u.id,
                email: u.email,
            },
            None => Actor::Anonymous,
        },
        None => Actor::Anonymous,
    };
    let mut event = Event::by(actor)
        .did(action)
        .detail(json!({ "reason": reason(&error) }))
        .from(&client.origin());
    if let Some(p) = &stored {
        event = event.on("passkey", p.id);
    }
    state.db.record_event(&event, now).await?;
    Ok(Err(error))
}

type Refusal = (Option<StoredPasskey>, PasskeyError);

async fn verify(
    state: &AppState,
    session: &AppSession,
    expect: Expect,
    response: &str,
    now: i64,
) -> Result<Result<StoredPasskey, Refusal>, AppError> {
    let response = match passkeys::parse_assertion(response) {
        Ok(r) => r,
        Err(e) => return Ok(Err((None, e))),
    };
    let Some(stored) = state
        .db
        .passkey_by_credential_id(&passkeys::response_credential_id(&response))
        .await?
    else {
        return Ok(Err((None, PasskeyError::UnknownCredential)));
    };
    let rp = &state.passkeys;
    let theirs = match expect {
        Expect::User(id) => stored.user_id == id,
        // The user handle the authenticator returned must name the holder.
        Expect::Anyone => rp.identify(&response).ok() == Some(stored.user_id),
    };
    if !theirs {
        return Ok(Err((None, PasskeyError::UnknownCredential)));
    }
    let mut passkey = passkeys::from_stored(&stored.credential)?;
    let result = match expect {
        Expect::User(id) => rp.finish_assertion(session, id, &response, now).await,
        Expect::Anyone => rp.finish_discovery(session, &response, &passkey, now).await,
    };
    let result = match result {
        Ok(r) => r,
        Err(e) => return Ok(Err((Some(stored), e))),
    };
    passkey.update_credential(&result);
    let after = serde_json::to_string(&passkey)?;
    let recorded = state
        .db
        .record_passkey_use(
            stored.id,
            &stored.credential,
            &after,
            result.backup_state(),
            now,
        )
        .await?;
    if !recorded {
        // Another sign-in with the same counter value got there first.
        return Ok(Err((Some(stored), PasskeyError::Compromised)));
    }
    Ok(Ok(stored))
}

fn reason(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::NoCeremony => "no_ceremony",
        PasskeyError::NoResponse => "no_response",
        PasskeyError::UnknownCredential => "unknown_credential",
        PasskeyError::Compromised => "counter_regression",
        PasskeyError::Refused(_) => "verification_failed",
        PasskeyError::Ceremony(_) => "fault",
    }
}

/// What the person is told about a refusal.
pub fn message(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::NoCeremony => {
            "That passkey prompt expired or was already answered. Try again."
        }
        PasskeyError::NoResponse => {
            "Your browser sent no passkey. Try again; passkeys need JavaScript — without it, use \
             your password and authenticator code."
        }
        PasskeyError::UnknownCredential => "That passkey is not registered for this account.",
        PasskeyError::Compromised => {
            "That passkey was refused: its sign-in counter went backwards, which can mean it was \
             copied. Use another factor, then remove it on your Security page."
        }
        PasskeyError::Refused(_) | PasskeyError::Ceremony(_) => {
            "That passkey could not be verified for this site. Try again, or use another factor."
        }
    }
}

/// `POST /login/passkey`: passwordless sign-in.
pub async fn sign_in_with_passkey(
    State(state): State<AppState>,
    session: AppSession,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<PasskeyForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let next = safe_next(Some(&form.next)).unwrap_or_default().to_owned();
    let retry = LoginRetry {
        state: &state,
        session: &session,
        email: String::new(),
        next: next.clone(),
    };
    // The address's limit: a locked-out address cannot try passkeys either.
    throttle::check_address(&state.db, &state.config, &client.ip, now).await?;
    let stored = match check(&state, &session, &client, Expect::Anyone, &form.credential).await? {
        Ok(stored) => stored,
        Err(e) => {
            throttle::record_address_failure(&state.db, &state.config, &client.ip, now).await?;
            let status = match e {
                PasskeyError::NoResponse => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::UNAUTHORIZED,
            };
            return retry.render(status, message(&e)).await;
        }
    };
    let Some(user) = state.db.find_user(stored.user_id).await? else {
        return retry
            .render(
                StatusCode::UNAUTHORIZED,
                message(&PasskeyError::UnknownCredential),
            )
            .await;
    };
    if let Some(refusal) = account_refusal(&state, user.disabled_at, user.email_verified_at) {
        return retry.render(StatusCode::FORBIDDEN, refusal).await;
    }
    let email = user.email.clone();
    let subject = devices::signin_subject(&state.db, &state.config, &headers, &email).await?;
    let passed = Passed {
        user_id: user.id,
        email: user.email,
        method: "passkey",
        next,
        subject,
    };
    complete_sign_in(&state, &session, &client, &headers, passed, now).await
}

/// `POST /login/mfa/passkey`: the second step with a passkey.
pub async fn answer_with_passkey(
    State(state): State<AppState>,
    session: AppSession,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<PasskeyForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let Some(pending) = live_pending(&state, &session, &client, now).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let user = match state.db.find_user(pending.user_id).await? {
        Some(u) if u.disabled_at.is_none() => u,
        _ => {
            session.drop_pending_sign_in().await?;
            return Ok(Redirect::to("/login").into_response());
        }
    };
    let subject = SigninSubject {
        email: &user.email,
        device: pending.device,
    };
    throttle::check_signin(&state.db, &state.config, subject, &client.ip, now).await?;
    match check(
        &state,
        &session,
        &client,
        Expect::User(user.id),
        &form.credential,
    )
    .await?
    {
        Ok(_) => {}
        Err(e) => {
            throttle::record_signin_failure(&state.db, &state.config, subject, &client.ip, now)
                .await?;
            session.flash(FlashKind::Error, message(&e)).await?;
            return Ok(Redirect::to(CHALLENGE_PAGE).into_response());
        }
    }
    let email = user.email.clone();
    let subject = SigninSubject {
        email: &email,
        device: pending.device,
    };
    let passed = Passed {
        user_id: user.id,
        email: user.email,
        method: "passkey",
        next: pending.next,
        subject,
    };
    complete_sign_in(&state, &session, &client, &headers, passed, now).await
}
