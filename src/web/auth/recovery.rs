//! Forgot password: `/password/forgot` asks for an address and emails a
//! link `/password/reset/{token}` that sets a new password.
//!
//! The request page answers the same (same redirect, same message, one
//! database transaction either way) whether or not the address has an
//! account, so it tells nobody who has one; it is limited per address typed
//! and per IP. The link's secret is stored as its SHA-256, works once, for
//! 30 minutes (`db::recovery`). A reset signs out every session of the user
//! and signs no one in: a user with MFA still passes their second factor at
//! sign-in afterwards, so a mailbox alone never bypasses MFA.
//!
//! An account someone else created (SCIM provisioning, an operator) gets an
//! account set-up link `/password/setup/{token}` by email instead of a
//! password: the same form and the same rules, for 7 days.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::AppSession;
use crate::auth::api_key::{digest, random_base62};
use crate::auth::limits::Bucket;
use crate::auth::session::FlashKind;
use crate::auth::throttle;
use crate::authz::MaybeUser;
use crate::db::audit::{Actor, Event};
use crate::db::recovery::{LinkLookup, LinkOwner, Purpose, RESET_TTL_SECS};
use crate::domain::{Email, NewPassword, Password};
use crate::error::{AppError, error_page};
use crate::mail;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

/// Length of a link's secret (base62, ≈190 bits).
pub const TOKEN_LEN: usize = 32;
pub const FORGOT_PAGE: &str = "/password/forgot";

#[derive(Template)]
#[template(path = "auth/forgot.html")]
pub struct ForgotPage {
    pub ctx: PageContext,
    pub email: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    pub email: String,
}

pub async fn show_forgot(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
) -> Result<Response, AppError> {
    let page = ForgotPage {
        ctx: PageContext::new(&state, &session, user.as_ref(), Section::Public).await?,
        email: String::new(),
        errors: FieldErrors::new(),
    };
    ok(&page)
}

/// What the requester is told, whether or not the address has an account.
fn sent_message(email: &Email) -> String {
    format!(
        "If an account uses {email}, we have sent it a link to choose a new password. The link \
         works for 30 minutes. Check your spam folder if nothing arrives."
    )
}

pub async fn request_reset(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("email", message);
            let page = ForgotPage {
                ctx: PageContext::new(&state, &session, user.as_ref(), Section::Public).await?,
                email: form.email.trim().to_owned(),
                errors,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // Both limits count requests, not accounts: an unknown address is
    // limited exactly like a known one.
    throttle::consume(&state.db, &Bucket::password_reset_ip(&client.ip), now).await?;
    throttle::consume(
        &state.db,
        &Bucket::password_reset_email(email.as_str()),
        now,
    )
    .await?;

    // The same work either way: a token, its digest and the message are
    // made, and one transaction is written.
    let token = random_base62(TOKEN_LEN);
    let link = format!("{}/password/reset/{token}", state.config.public_url());
    let account = state.db.find_recovery_account(email.as_str()).await?;
    let name = account
        .as_ref()
        .map_or("there", |a| a.display_name.as_str());
    let message = mail::password_reset(email.as_str(), name, &link, RESET_TTL_SECS / 60)?;
    match account.filter(|a| a.disabled_at.is_none()) {
        Some(account) => {
            let requested = Event::by(Actor::Anonymous)
                .did("password.reset_requested")
                .on("user", account.id)
                .from(&client.origin());
            state
                .db
                .issue_link(
                    account.id,
                    &account.email,
                    Purpose::PasswordReset,
                    &digest(&token),
                    &message,
                    &requested,
                    now,
                )
                .await?;
        }
        None => {
            // Nothing is sent; the attempt is recorded by the address typed.
            let requested = Event::by(Actor::Anonymous)
                .did("password.reset_requested")
                .on("email", &email)
                .from(&client.origin());
            state.db.record_event(&requested, now).await?;
        }
    }
    session.flash(FlashKind::Info, sent_message(&email)).await?;
    Ok(Redirect::to(FORGOT_PAGE).into_response())
}

/// The two links that set a password: a reset asked for on the forgot
/// page, and the set-up link of an account someone else created (SCIM or an
/// operator). Both work the same way — once, newest only, ending every
/// session and signing no one in — and differ in their life and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordLink {
    Reset,
    Setup,
}

impl PasswordLink {
    fn purpose(self) -> Purpose {
        match self {
            PasswordLink::Reset => Purpose::PasswordReset,
            PasswordLink::Setup => Purpose::AccountSetup,
        }
    }

    /// The path the link's form posts to, before its token.
    fn prefix(self) -> &'static str {
        match self {
            PasswordLink::Reset => "/password/reset/",
            PasswordLink::Setup => SETUP_PREFIX,
        }
    }

    /// The page for a link that cannot be used (any more).
    fn invalid(self, status: StatusCode) -> Response {
        match self {
            PasswordLink::Reset => error_page(
                status,
                "This link is no longer valid",
                "Password reset links work once, for 30 minutes, and only the newest one you \
                 asked for. Ask for a new link on the \"Forgot your password?\" page.",
            ),
            PasswordLink::Setup => error_page(
                status,
                "This link is no longer valid",
                "Account set-up links work once, for 7 days, and only the newest one sent. \
                 Ask for a new link on the \"Forgot your password?\" page, or ask whoever \
                 created your account to send it again.",
            ),
        }
    }
}

/// The path of an account set-up link, before its token.
pub const SETUP_PREFIX: &str = "/password/setup/";

async fn owner_of(
    state: &AppState,
    kind: PasswordLink,
    token: &str,
) -> Result<Result<LinkOwner, Response>, AppError> {
    let now = state.clock.unix();
    Ok(
        match state
            .db
            .link_by_token(&digest(token), kind.purpose(), now)
            .await?
        {
            LinkLookup::Valid(owner) => Ok(owner),
            LinkLookup::Spent => Err(kind.invalid(StatusCode::GONE)),
            LinkLookup::Unknown => Err(kind.invalid(StatusCode::NOT_FOUND)),
        },
    )
}

/// Someone signed in to another account opens a link: they must sign out
/// first, so that the reset cannot be mistaken for their own account's.
fn other_account() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This link is for another account",
        "You are signed in to a different account than the one this link is for. Sign out \
         first, then open the link again.",
    )
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
pub struct ResetPage {
    pub ctx: PageContext,
    /// Set-up rather than reset: the heading and wording.
    pub setup: bool,
    pub action: String,
    pub email: String,
    pub expires: Timestamp,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    pub new_password: Password,
    #[serde(default)]
    pub new_password_confirm: Password,
}

pub async fn show_reset(
    state: State<AppState>,
    session: AppSession,
    user: MaybeUser,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    show_form(state, session, user, PasswordLink::Reset, token).await
}

pub async fn reset_password(
    state: State<AppState>,
    session: AppSession,
    user: MaybeUser,
    client: ClientInfo,
    Path(token): Path<String>,
    form: Form<ResetForm>,
) -> Result<Response, AppError> {
    set_password(
        state,
        session,
        user,
        client,
        PasswordLink::Reset,
        token,
        form,
    )
    .await
}

pub async fn show_setup(
    state: State<AppState>,
    session: AppSession,
    user: MaybeUser,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    show_form(state, session, user, PasswordLink::Setup, token).await
}

pub async fn set_up_password(
    state: State<AppState>,
    session: AppSession,
    user: MaybeUser,
    client: ClientInfo,
    Path(token): Path<String>,
    form: Form<ResetForm>,
) -> Result<Response, AppError> {
    set_password(
        state,
        session,
        user,
        client,
        PasswordLink::Setup,
        token,
        form,
    )
    .await
}

async fn show_form(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    kind: PasswordLink,
    token: String,
) -> Result<Response, AppError> {
    let owner = match owner_of(&state, kind, &token).await? {
        Ok(o) => o,
        Err(res) => return Ok(res),
    };
    if user.as_ref().is_some_and(|u| u.id() != owner.user_id) {
        return Ok(other_account());
    }
    let now = state.clock.unix();
    let page = ResetPage {
        ctx: PageContext::new(&state, &session, user.as_ref(), Section::Public).await?,
        setup: kind == PasswordLink::Setup,
        action: format!("{}{token}", kind.prefix()),
        email: owner.email,
        expires: Timestamp::new(now + kind.purpose().ttl_secs(), now),
        errors: FieldErrors::new(),
    };
    ok(&page)
}

async fn set_password(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
    kind: PasswordLink,
    token: String,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let owner = match owner_of(&state, kind, &token).await? {
        Ok(o) => o,
        Err(res) => return Ok(res),
    };
    if user.as_ref().is_some_and(|u| u.id() != owner.user_id) {
        return Ok(other_account());
    }
    // The rules of sign-up and of a password change.
    let mut errors = FieldErrors::new();
    let local = Email::from_trusted(owner.email.clone());
    let hints = [local.local_part(), owner.display_name.as_str()];
    let new = errors.check(
        "new_password",
        NewPassword::parse(&form.new_password, &hints),
    );
    if new.is_some() && form.new_password.expose() != form.new_password_confirm.expose() {
        errors.add("new_password_confirm", "The two passwords do not match.");
    }
    let (Some(new), true) = (new, errors.is_empty()) else {
        let page = ResetPage {
            ctx: PageContext::new(&state, &session, user.as_ref(), Section::Public).await?,
            setup: kind == PasswordLink::Setup,
            action: format!("{}{token}", kind.prefix()),
            email: owner.email,
            expires: Timestamp::new(now + kind.purpose().ttl_secs(), now),
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = state.passwords.hash(&new).await?;
    let (action, subject, what, done_message) = match kind {
        PasswordLink::Reset => (
            "password.reset",
            "Your Gatehouse password was reset",
            "The password of your Gatehouse account was reset with a link sent to this \
             address, and every session was signed out.",
            "Your password was changed and every session was signed out. Sign in with the new \
             password.",
        ),
        PasswordLink::Setup => (
            "password.set_up",
            "Your Gatehouse password was set",
            "The first password of your Gatehouse account was chosen with the set-up link \
             sent to this address.",
            "Your password is set. Sign in with it.",
        ),
    };
    let event = Event::by(Actor::User {
        id: owner.user_id,
        email: owner.email.clone(),
    })
    .did(action)
    .on("user", owner.user_id)
    .from(&client.origin());
    let notice = mail::security_notice(
        &owner.email,
        &owner.display_name,
        subject,
        what,
        &Timestamp::new(now, now).utc,
        &state.config.public_url(),
    )?;
    let done = state
        .db
        .set_password_with_link(
            &digest(&token),
            kind.purpose(),
            &owner,
            &hash,
            &notice,
            event,
            now,
        )
        .await?;
    if done.is_none() {
        // Spent by another request since the lookup.
        return Ok(kind.invalid(StatusCode::GONE));
    }
    // Every session of the user ended, this one included: nobody is signed
    // in by a reset or a set-up, so the second factor is still asked at
    // sign-in.
    if user.is_some() {
        session.sign_out().await?;
    }
    session.flash(FlashKind::Success, done_message).await?;
    Ok(Redirect::to(crate::paths::LOGIN).into_response())
}
