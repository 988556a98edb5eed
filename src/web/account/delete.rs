//! `/account/delete`: the deletion of the user's own account.
//!
//! The page first says what will go (sessions, keys, memberships) and which
//! organizations block it. The form asks for the current password, and a
//! TOTP or backup code when TOTP is on — or, for an account whose only
//! second factor is a passkey, the passkey: sudo mode alone is not enough, so a
//! session left open on a shared computer cannot delete the account. Three
//! attempts per hour per user; the password check also charges the sign-in
//! failure counters, as sudo does. The erasure is one transaction
//! (`Db::delete_account`); afterwards the session is ended and a public
//! confirmation page is shown.

use crate::web::auth::mfa::passkey_options;
use crate::web::auth::passkey::{Expect, check, message};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::limits::Bucket;
use crate::auth::reauth::{Factors, Outcome};
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, throttle};
use crate::authz::{CurrentUser, MaybeUser};
use crate::db::audit::Event;
use crate::db::deletion::BlockingOrganization;
use crate::domain::Password;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, device, ok, reauth, render};

/// One of the things the deletion removes, as the page lists it.
pub struct Item {
    pub label: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "account/delete.html")]
pub struct DeletePage {
    pub ctx: PageContext,
    pub email: String,
    pub sessions: Vec<Item>,
    pub keys: Vec<Item>,
    /// Memberships and their teams.
    pub memberships: Vec<Item>,
    pub blocking: Vec<BlockingOrganization>,
    pub needs_code: bool,
    /// The account's only second factor is a passkey: the options of the
    /// ceremony the form runs before it is sent.
    pub passkey_options: Option<String>,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub password: Password,
    #[serde(default)]
    pub code: String,
    /// The passkey's response, for a passkey-only account.
    #[serde(default)]
    pub credential: String,
}

/// Whether the account's only second factor is a passkey.
async fn passkey_only(state: &AppState, user: &CurrentUser) -> Result<bool, AppError> {
    Ok(!state.db.user_has_totp(user.id()).await? && state.db.user_has_passkey(user.id()).await?)
}

async fn delete_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let current = session.id_hash();
    let sessions = state
        .db
        .list_sessions(user.id(), now)
        .await?
        .into_iter()
        .map(|s| Item {
            label: device::describe(s.user_agent.as_deref()),
            detail: if current.as_deref() == Some(s.id_hash.as_slice()) {
                "this device".to_owned()
            } else {
                s.ip.unwrap_or_default()
            },
        })
        .collect();
    let keys = state
        .db
        .list_personal_keys(user)
        .await?
        .into_iter()
        .map(|k| Item {
            detail: format!("{}…, {}", k.prefix(), k.status(now).label().to_lowercase()),
            label: k.name,
        })
        .collect();
    let page = DeletePage {
        ctx: PageContext::new(state, session, Some(user), Section::DeleteAccount).await?,
        email: user.email().to_owned(),
        sessions,
        keys,
        memberships: Vec::new(),
        blocking: state.db.organizations_blocking_deletion(user).await?,
        needs_code: state.db.user_has_totp(user.id()).await?,
        passkey_options: if passkey_only(state, user).await? {
            passkey_options(state, session, user.id(), now).await?
        } else {
            None
        },
        errors,
    };
    render(status, &page)
}

pub async fn show_delete(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    delete_page(&state, &session, &user, FieldErrors::new(), StatusCode::OK).await
}

pub async fn delete_account(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    throttle::consume(&state.db, &Bucket::account_deletion(user.id()), now).await?;
    if !state
        .db
        .organizations_blocking_deletion(&user)
        .await?
        .is_empty()
    {
        return delete_page(
            &state,
            &session,
            &user,
            FieldErrors::new(),
            StatusCode::CONFLICT,
        )
        .await;
    }
    // The same counters as sign-in (`reauth`): the form must not become an
    // unthrottled way to guess the password with a stolen session.
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
    let mut errors = FieldErrors::new();
    match outcome {
        Outcome::Confirmed { .. } => {}
        Outcome::WrongPassword => errors.add("password", "That is not your current password."),
        Outcome::WrongCode => errors.add(
            "code",
            "That code is not right, or it was already used. Enter the current code from your \
             authenticator app, or a backup code.",
        ),
    }
    // A passkey-only account proves its second factor with the passkey.
    if errors.is_empty() && passkey_only(&state, &user).await? {
        let checked = check(
            &state,
            &session,
            &client,
            Expect::User(user.id()),
            &form.credential,
        )
        .await?;
        if let Err(e) = checked {
            errors.add("passkey", message(&e));
        }
    }
    if !errors.is_empty() {
        let failed = Event::by(user.actor())
            .did("account.delete_failed")
            .on("user", user.id())
            .from(&client.origin());
        state.db.record_event(&failed, now).await?;
        return delete_page(
            &state,
            &session,
            &user,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // The transaction runs in its own task: if the request is cut short (the
    // 30-second timeout with a very long audit history, or the browser going
    // away), the confirmed deletion still runs to its commit instead of being
    // abandoned, and rolled back, with the request.
    let db = state.db.clone();
    let (who, origin) = (user.clone(), client.origin());
    let counters = throttle::account_buckets(&state.config, user.email(), user.id());
    let deleted = tokio::spawn(async move {
        let deleted = db.delete_account(&who, &counters, &origin, now).await;
        if let Ok(Some(d)) = &deleted {
            tracing::info!(pseudonym = %d.pseudonym, "account deleted");
        }
        deleted
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??
    // Nothing was deleted: an organization lost its other owner between the
    // check above and the transaction (which checks again).
    .ok_or_else(|| {
        AppError::Conflict(
            "Your account was not deleted: reload the page to see what still needs doing.".into(),
        )
    })?;
    // The row is gone already; this clears the cookie and starts a fresh
    // anonymous session for the confirmation's flash.
    session.sign_out().await?;
    let keys = match deleted.keys_deleted {
        0 => String::new(),
        1 => " and its API key was deleted".to_owned(),
        n => format!(" and its {n} API keys were deleted"),
    };
    session
        .flash(
            FlashKind::Success,
            format!("Your account has been deleted. Every session was signed out{keys}."),
        )
        .await?;
    Ok(Redirect::to("/account/deleted").into_response())
}

#[derive(Template)]
#[template(path = "account/deleted.html")]
pub struct DeletedPage {
    pub ctx: PageContext,
}

/// The confirmation, on the public layout. It names no one: it is shown to
/// whoever opens it, and only a signed-in visitor is sent elsewhere.
pub async fn show_deleted(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
) -> Result<Response, AppError> {
    if user.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    ok(&DeletedPage {
        ctx: PageContext::new(&state, &session, None, Section::Public).await?,
    })
}
