//! `/account/security`: the password and two-factor authentication (its
//! status; the changes are in `mfa`). Sessions have their own page
//! (`sessions`), linked from here.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::reauth::Factors;
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, backup_codes};
use crate::authz::CurrentUser;
use crate::db::audit::Event;
use crate::domain::{Email, NewPassword, Password};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, reauth, render};

#[derive(Template)]
#[template(path = "account/security.html")]
pub struct SecurityPage {
    pub ctx: PageContext,
    pub errors: FieldErrors,
    pub session_count: usize,
    pub mfa: Option<MfaView>,
    pub passkeys: Vec<PasskeyView>,
    /// A rename that was refused: shown again beside that passkey.
    pub rename: Option<PasskeyRename>,
}

/// A passkey as the page lists it.
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created: Timestamp,
    pub last_used: Option<Timestamp>,
    pub backed_up: bool,
}

/// A refused rename of one passkey.
pub struct PasskeyRename {
    pub id: Uuid,
    pub name: String,
    pub error: &'static str,
}

impl SecurityPage {
    /// The refused name and message, if `id` is the passkey being renamed.
    pub fn rename_of(&self, id: &str) -> Option<&PasskeyRename> {
        self.rename.as_ref().filter(|r| r.id.to_string() == id)
    }
}

/// Two-factor authentication as the page shows it.
pub struct MfaView {
    pub enabled: Timestamp,
    pub backup_codes_left: i64,
    /// Few backup codes left: the page warns.
    pub low: bool,
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: Password,
    #[serde(default)]
    pub new_password: Password,
    #[serde(default)]
    pub new_password_confirm: Password,
}

pub(super) async fn security_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    errors: FieldErrors,
    rename: Option<PasskeyRename>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let sessions = state.db.list_sessions(user.id(), now).await?;
    // Back on this page, the person is done with any codes just shown.
    session.forget_fresh_codes().await?;
    let mfa = state.db.mfa_status(user.id()).await?.map(|s| MfaView {
        enabled: Timestamp::new(s.enabled_at, now),
        backup_codes_left: s.backup_codes_left,
        low: s.backup_codes_left <= backup_codes::LOW_WATERMARK,
    });
    let passkeys = state
        .db
        .list_passkeys(user)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id.to_string(),
            name: p.name,
            created: Timestamp::new(p.created_at, now),
            last_used: p.last_used_at.map(|t| Timestamp::new(t, now)),
            backed_up: p.backed_up,
        })
        .collect();
    let page = SecurityPage {
        ctx: PageContext::new(state, session, Some(user), Section::Security).await?,
        errors,
        session_count: sessions.len(),
        mfa,
        passkeys,
        rename,
    };
    render(status, &page)
}

pub async fn show_security(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    security_page(
        &state,
        &session,
        &user,
        FieldErrors::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The password form on its own address: where a user whom an operator
/// requires to change their password (or whose account an operator created)
/// is sent from every page until they have.
pub async fn show_password_change(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let required = state
        .db
        .find_user(user.id())
        .await?
        .is_some_and(|u| u.must_change_password);
    if required {
        session
            .flash(
                FlashKind::Warning,
                "Choose a new password before you continue: your account's password must be \
                 changed.",
            )
            .await?;
    }
    security_page(
        &state,
        &session,
        &user,
        FieldErrors::new(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn change_password(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    // Re-entering the current password is a password check like sign-in:
    // `reauth` throttles it with the same counters.
    let mut errors = FieldErrors::new();
    let outcome = reauth(&state, &headers)
        .confirm(
            &user,
            &client.ip,
            Factors::Password(&form.current_password),
            now,
        )
        .await?;
    if !outcome.is_confirmed() {
        errors.add("current_password", "That is not your current password.");
    }
    let local = Email::from_trusted(user.email().to_owned());
    let hints = [local.local_part(), user.display_name()];
    let new = errors.check(
        "new_password",
        NewPassword::parse(&form.new_password, &hints),
    );
    if new.is_some() && form.new_password.expose() != form.new_password_confirm.expose() {
        errors.add("new_password_confirm", "The two passwords do not match.");
    }
    if new.is_some() && form.new_password.expose() == form.current_password.expose() {
        errors.add(
            "new_password",
            "Choose a password different from the current one.",
        );
    }
    let (Some(new), true) = (new, errors.is_empty()) else {
        return security_page(
            &state,
            &session,
            &user,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };

    let hash = state.passwords.hash(&new).await?;
    let keep = session.id_hash().unwrap_or_default();
    let changed = Event::by(user.actor())
        .did("password.changed")
        .on("user", user.id())
        .from(&client.origin());
    let notice = crate::web::security_notice(
        &state,
        &user,
        "Your Gatehouse password was changed",
        "The password of your Gatehouse account was changed, and your other sessions were \
         signed out.",
    )?;
    let revoked = state
        .db
        .change_password(&user, &hash, &keep, &notice, changed, now)
        .await?;
    let message = match revoked {
        0 => "Password changed. You had no other sessions.".to_owned(),
        1 => "Password changed. Your 1 other session was signed out.".to_owned(),
        n => format!("Password changed. Your {n} other sessions were signed out."),
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/account/security").into_response())
}
