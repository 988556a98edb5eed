//! Email verification: a link `/email/verify/{token}` is emailed at sign-up
//! (in the transaction that creates the account) and on "send again" (the
//! banner every unverified account sees, limited per user). Opening it shows
//! a confirmation button; confirming marks the address verified. The link's
//! secret is stored as its SHA-256, works once, for a day, and only while
//! the address is still the account's (`db::recovery`).
//!
//! With `--require-email-verification`, sign-in is refused until the
//! address is verified (`web::auth::login`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use crate::auth::AppSession;
use crate::auth::api_key::{digest, random_base62};
use crate::auth::limits::Bucket;
use crate::auth::session::FlashKind;
use crate::auth::throttle;
use crate::authz::{CurrentUser, MaybeUser};
use crate::db::audit::{Actor, Event};
use crate::db::outbox::NewMail;
use crate::db::recovery::{LinkLookup, Purpose, VERIFICATION_TTL_SECS};
use crate::error::{AppError, error_page};
use crate::mail;
use crate::state::AppState;
use crate::web::extract::Path;
use crate::web::{ClientInfo, PageContext, Section, ok};

/// A new verification link for `email`: its secret (to be hashed and
/// stored) and the message that carries it.
pub fn new_link(
    state: &AppState,
    email: &str,
    name: &str,
) -> Result<(String, NewMail), askama::Error> {
    let token = random_base62(crate::web::auth::recovery::TOKEN_LEN);
    let link = format!("{}/email/verify/{token}", state.config.public_url());
    let message = mail::email_verification(email, name, &link, VERIFICATION_TTL_SECS / 3600)?;
    Ok((token, message))
}

fn invalid_link(status: StatusCode) -> Response {
    error_page(
        status,
        "This link is no longer valid",
        "Verification links work once, for 24 hours, and only the newest one. Sign in and use \
         \"Send the link again\" for a new one.",
    )
}

#[derive(Template)]
#[template(path = "auth/verify.html")]
pub struct VerifyPage {
    pub ctx: PageContext,
    pub token: String,
    pub email: String,
}

pub async fn show_verify(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    // Opening the link changes nothing (a mail scanner may open it): the
    // button below does.
    let owner = match state
        .db
        .link_by_token(&digest(&token), Purpose::EmailVerification, now)
        .await?
    {
        LinkLookup::Valid(o) => o,
        LinkLookup::Spent => return Ok(invalid_link(StatusCode::GONE)),
        LinkLookup::Unknown => return Ok(invalid_link(StatusCode::NOT_FOUND)),
    };
    let page = VerifyPage {
        ctx: PageContext::new(&state, &session, user.as_ref(), Section::Public).await?,
        token,
        email: owner.email,
    };
    ok(&page)
}

pub async fn confirm_verify(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let owner = match state
        .db
        .link_by_token(&digest(&token), Purpose::EmailVerification, now)
        .await?
    {
        LinkLookup::Valid(o) => o,
        LinkLookup::Spent => return Ok(invalid_link(StatusCode::GONE)),
        LinkLookup::Unknown => return Ok(invalid_link(StatusCode::NOT_FOUND)),
    };
    let verified = Event::by(Actor::User {
        id: owner.user_id,
        email: owner.email.clone(),
    })
    .did("email.verified")
    .on("user", owner.user_id)
    .from(&client.origin());
    if !state
        .db
        .verify_email_with_link(&digest(&token), &owner, &verified, now)
        .await?
    {
        return Ok(invalid_link(StatusCode::GONE));
    }
    session
        .flash(
            FlashKind::Success,
            format!("Thank you: {} is verified.", owner.email),
        )
        .await?;
    let signed_in_as_owner = user.as_ref().is_some_and(|u| u.id() == owner.user_id);
    Ok(Redirect::to(if signed_in_as_owner {
        crate::paths::ACCOUNT
    } else {
        crate::paths::LOGIN
    })
    .into_response())
}

/// Issues a fresh link to the signed-in user's address (the banner's "send
/// again"), limited per user.
pub async fn resend_verification(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    if user.email_verified() {
        session
            .flash(FlashKind::Info, "Your email address is already verified.")
            .await?;
        return Ok(Redirect::to(crate::paths::ACCOUNT).into_response());
    }
    throttle::consume(&state.db, &Bucket::verification_resend(user.id()), now).await?;
    send_link(
        &state,
        user.id(),
        user.email(),
        user.display_name(),
        &client,
        now,
    )
    .await?;
    session
        .flash(
            FlashKind::Success,
            format!(
                "We sent a new verification link to {}. It works for 24 hours.",
                user.email()
            ),
        )
        .await?;
    Ok(Redirect::to(crate::paths::ACCOUNT).into_response())
}

async fn send_link(
    state: &AppState,
    user_id: Uuid,
    email: &str,
    name: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<(), AppError> {
    let (token, message) = new_link(state, email, name)?;
    let sent = Event::by(Actor::User {
        id: user_id,
        email: email.to_owned(),
    })
    .did("email.verification_sent")
    .on("user", user_id)
    .from(&client.origin());
    state
        .db
        .issue_link(
            user_id,
            email,
            Purpose::EmailVerification,
            &digest(&token),
            &message,
            &sent,
            now,
        )
        .await?;
    Ok(())
}
