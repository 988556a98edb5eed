//! Confirming an email change: the link `/email/change/{token}` was sent to
//! the new address (`web::account::email`). Opening it shows a confirmation
//! button and changes nothing (a mail scanner may open it); confirming
//! applies the change (`db::email_changes`).
//!
//! It works signed in or not: the link's secret proves control of the new
//! address, and the request behind it was made in sudo mode. If the
//! confirming browser is signed in as that user, that session stays and
//! every other one ends; otherwise every session of the user ends. A browser
//! signed in as someone else changes nothing of its own session.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::AppSession;
use crate::auth::api_key::digest;
use crate::auth::session::FlashKind;
use crate::authz::MaybeUser;
use crate::db::audit::{Actor, Event};
use crate::db::email_changes::{ChangeLookup, ChangeOutcome, PendingChange};
use crate::error::{AppError, error_page};
use crate::mail;
use crate::state::AppState;
use crate::web::extract::Path;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, PageContext, Section, ok};

fn invalid_link(status: StatusCode) -> Response {
    error_page(
        status,
        "This link is no longer valid",
        "Email change links work once, for 24 hours, and only the newest one; changing or \
         resetting the password cancels them. Sign in and ask for the change again under \
         Profile.",
    )
}

fn address_taken() -> Response {
    error_page(
        StatusCode::CONFLICT,
        "This address is now used by another account",
        "Another account started using this email address after the change was asked for, so \
         your address was not changed. Sign in and choose another address under Profile.",
    )
}

async fn resolve(
    state: &AppState,
    token: &str,
) -> Result<Result<PendingChange, Response>, AppError> {
    let now = state.clock.unix();
    Ok(
        match state.db.email_change_by_token(&digest(token), now).await? {
            ChangeLookup::Valid(c) => Ok(c),
            ChangeLookup::Spent => Err(invalid_link(StatusCode::GONE)),
            ChangeLookup::Unknown => Err(invalid_link(StatusCode::NOT_FOUND)),
        },
    )
}

#[derive(Template)]
#[template(path = "auth/email_change.html")]
pub struct EmailChangePage {
    pub ctx: PageContext,
    pub token: String,
    pub old_email: String,
    pub new_email: String,
}

pub async fn show_email_change_link(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let change = match resolve(&state, &token).await? {
        Ok(c) => c,
        Err(refused) => return Ok(refused),
    };
    let page = EmailChangePage {
        ctx: PageContext::new(&state, &session, user.as_ref(), Section::Public).await?,
        token,
        old_email: change.old_email,
        new_email: change.new_email,
    };
    ok(&page)
}

pub async fn confirm_email_change(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let change = match resolve(&state, &token).await? {
        Ok(c) => c,
        Err(refused) => return Ok(refused),
    };
    let signed_in_as_owner = user.as_ref().is_some_and(|u| u.id() == change.user_id);
    // Only the user's own session survives; an empty hash matches none.
    let keep = if signed_in_as_owner {
        session.id_hash().unwrap_or_default()
    } else {
        Vec::new()
    };
    let notice = mail::email_changed(
        &change.old_email,
        &change.new_email,
        &change.display_name,
        &Timestamp::new(now, now).utc,
        &state.config.public_url(),
    )?;
    let changed = Event::by(Actor::User {
        id: change.user_id,
        email: change.old_email.clone(),
    })
    .did("email.changed")
    .on("user", change.user_id)
    .with("before", change.old_email.as_str())
    .with("after", change.new_email.as_str())
    .from(&client.origin());
    match state
        .db
        .confirm_email_change(&digest(&token), &change, &keep, &notice, changed, now)
        .await?
    {
        ChangeOutcome::Changed { .. } => {}
        ChangeOutcome::Spent => return Ok(invalid_link(StatusCode::GONE)),
        ChangeOutcome::Taken => return Ok(address_taken()),
    }
    let (message, to) = if signed_in_as_owner {
        (
            format!(
                "Your email address is now {}. Your other sessions were signed out.",
                change.new_email
            ),
            crate::paths::PROFILE,
        )
    } else {
        (
            format!(
                "Your email address is now {}. Sign in with it; every session of the account \
                 was signed out.",
                change.new_email
            ),
            crate::paths::LOGIN,
        )
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(to).into_response())
}
