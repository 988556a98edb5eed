//! `/account/profile/email`: asking to change the account's email address
//! (sudo mode). Submitting stores a pending change and, in that transaction,
//! queues a confirmation link to the new address and a notice to the
//! current one (`db::email_changes`). The address itself changes only when
//! the link is followed (`web::auth::email_change`).
//!
//! The new address is checked as sign-up checks one (`domain::Email`), must
//! differ from the current one, and must not be another account's. That
//! last message says no more than sign-up already says to anyone ("an
//! account with this address exists"), and here only to someone who has
//! just re-entered their password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::auth::AppSession;
use crate::auth::api_key::{digest, random_base62};
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{CurrentUser, SudoGate, SudoUser};
use crate::db::audit::Event;
use crate::db::email_changes::{EMAIL_CHANGE_TTL_SECS, PendingChange};
use crate::domain::Email;
use crate::error::AppError;
use crate::mail;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

/// The page of the form, where sudo sends the person back to.
pub const EMAIL_PAGE: &str = "/account/profile/email";

#[derive(Debug, Deserialize, Serialize, Default, Clone)]
pub struct EmailForm {
    #[serde(default)]
    pub email: String,
}

#[derive(Template)]
#[template(path = "account/email.html")]
pub struct EmailPage {
    pub ctx: PageContext,
    pub current: String,
    pub pending: Option<PendingView>,
    pub form: EmailForm,
    pub errors: FieldErrors,
}

/// A pending change as the page shows it.
pub struct PendingView {
    pub new_email: String,
    pub expires: Timestamp,
}

async fn page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    form: EmailForm,
    errors: FieldErrors,
) -> Result<EmailPage, AppError> {
    let now = state.clock.unix();
    let pending = state
        .db
        .pending_email_change(user, now)
        .await?
        .map(|p: PendingChange| PendingView {
            new_email: p.new_email,
            expires: Timestamp::new(p.expires_at, now),
        });
    Ok(EmailPage {
        ctx: PageContext::new(state, session, Some(user), Section::Profile).await?,
        current: user.email().to_owned(),
        pending,
        form,
        errors,
    })
}

pub async fn show_email_change(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<EmailForm>(&session, EMAIL_PAGE)
        .await?
        .unwrap_or_default();
    ok(&page(&state, &session, &user, form, FieldErrors::new()).await?)
}

pub async fn request_email_change(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let user = gate.enter(EMAIL_PAGE, &form).await?;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&form.email));
    if let Some(e) = &email {
        if e.as_str() == user.email() {
            errors.add("email", "This is already your email address.");
        } else if state.db.find_recovery_account(e.as_str()).await?.is_some() {
            // The same words sign-up uses for a taken address.
            errors.add(
                "email",
                "An account with this email address already exists.",
            );
        }
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        let page = page(&state, &session, &user, form, errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let now = state.clock.unix();
    let token = random_base62(crate::web::auth::recovery::TOKEN_LEN);
    let link = format!("{}/email/change/{token}", state.config.public_url());
    let confirm = mail::email_change(
        user.email(),
        email.as_str(),
        user.display_name(),
        &link,
        EMAIL_CHANGE_TTL_SECS / 3600,
    )?;
    let notice = crate::web::security_notice(
        &state,
        &user,
        "A change of your Gatehouse email address was requested",
        &format!(
            "Someone signed in to your account asked to change its email address from {} to {}. \
             Your address stays {} unless the link sent to {} is opened. Changing or resetting \
             your password cancels the request.",
            user.email(),
            email.as_str(),
            user.email(),
            email.as_str()
        ),
    )?;
    let requested = Event::by(user.actor())
        .did("email.change_requested")
        .on("user", user.id())
        .with("new_email", email.as_str())
        .from(&client.origin());
    state
        .db
        .request_email_change(
            &user,
            email.as_str(),
            &digest(&token),
            &confirm,
            &notice,
            &requested,
            now,
        )
        .await?;
    session
        .flash(
            FlashKind::Success,
            format!(
                "We sent a link to {}; your address stays {} until you confirm.",
                email.as_str(),
                user.email()
            ),
        )
        .await?;
    Ok(Redirect::to(crate::paths::PROFILE).into_response())
}
