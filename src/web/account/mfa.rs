//! `/account/security/mfa/…`: turning two-factor authentication on and off
//! and managing backup codes. Every change needs sudo mode (`SudoUser`);
//! turning MFA off needs a current code as well. Each change is audited.
//!
//! Enrolment keeps the new secret in the session until a code confirms it,
//! so an abandoned enrolment leaves MFA off and nothing in the database. New
//! backup codes are shown once: they stay in the session for a few minutes
//! for their page and one download, and are stored only as digests. (The
//! site-wide `Cache-Control: no-store` keeps these pages out of caches.)

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::reauth::Factors;
use crate::auth::session::FlashKind;
use crate::auth::totp::{self, qr_data_url};
use crate::auth::{AppSession, backup_codes};
use crate::authz::{CurrentUser, SudoUser};
use crate::db::audit::Event;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, reauth, render};

const SECURITY_PAGE: &str = "/account/security";
const SETUP_PAGE: &str = crate::paths::MFA_ENROLMENT;
const CODES_PAGE: &str = "/account/security/mfa/backup-codes";

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// An MFA event about the user themselves.
fn mfa_event(user: &CurrentUser, client: &ClientInfo, action: &'static str) -> Event {
    Event::by(user.actor())
        .did(action)
        .on("user", user.id())
        .from(&client.origin())
}

// ---------------------------------------------------------------------------
// Enrolment

#[derive(Template)]
#[template(path = "account/mfa_setup.html")]
pub struct SetupPage {
    pub ctx: PageContext,
    /// The secret in groups of four, for typing into an app by hand.
    pub secret: String,
    /// `data:image/svg+xml;base64,…` of the key URI's QR code.
    pub qr: String,
    pub errors: FieldErrors,
}

async fn setup_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let secret = session.enrolment_secret().await?;
    let page = SetupPage {
        ctx: PageContext::new(state, session, Some(user), Section::Security).await?,
        secret: secret.grouped(),
        qr: qr_data_url(&secret.otpauth_uri(user.email()))?,
        errors,
    };
    render(status, &page)
}

async fn already_on(session: &AppSession) -> Result<Response, AppError> {
    session.end_enrolment().await?;
    session
        .flash(FlashKind::Info, "Two-factor authentication is already on.")
        .await?;
    Ok(Redirect::to(SECURITY_PAGE).into_response())
}

pub async fn show_setup(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
) -> Result<Response, AppError> {
    if state.db.user_has_totp(user.id()).await? {
        return already_on(&session).await;
    }
    setup_page(&state, &session, &user, FieldErrors::new(), StatusCode::OK).await
}

pub async fn confirm_setup(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    client: ClientInfo,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    if state.db.user_has_totp(user.id()).await? {
        return already_on(&session).await;
    }
    let Some(secret) = session.existing_enrolment_secret().await? else {
        // The session lost the enrolment (it expired, or another tab
        // finished it): start again with a new secret.
        session
            .flash(
                FlashKind::Warning,
                "The setup expired. Scan the new QR code and try again.",
            )
            .await?;
        return Ok(Redirect::to(SETUP_PAGE).into_response());
    };
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let step = if code.len() == usize::from(totp::DIGITS) {
        secret.matching_step(&code, now)?
    } else {
        None
    };
    let Some(step) = step else {
        let mut errors = FieldErrors::new();
        errors.add(
            "code",
            if code.is_empty() {
                "Enter the 6-digit code your authenticator app shows."
            } else {
                "That code is not right. Check that your phone's clock is set automatically, \
                 then enter the code your app shows now."
            },
        );
        return setup_page(
            &state,
            &session,
            &user,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };

    let codes = backup_codes::generate();
    let digests = backup_codes::digests(user.id(), &codes);
    let sealed = secret
        .seal(&state.secrets, user.id())
        .map_err(AppError::internal)?;
    if !state
        .db
        .enable_mfa(
            &user,
            &sealed,
            step,
            &digests,
            &crate::web::security_notice(
                &state,
                &user,
                "Two-factor authentication is on for your Gatehouse account",
                "Two-factor authentication was turned on for your Gatehouse account.",
            )?,
            mfa_event(&user, &client, "mfa.enabled").detail(json!({ "method": "totp" })),
            now,
        )
        .await?
    {
        return already_on(&session).await;
    }
    session.end_enrolment().await?;
    session.keep_fresh_codes(&codes, now).await?;
    session
        .flash(
            FlashKind::Success,
            "Two-factor authentication is on. Save your backup codes now.",
        )
        .await?;
    Ok(Redirect::to(CODES_PAGE).into_response())
}

// ---------------------------------------------------------------------------
// Backup codes

#[derive(Template)]
#[template(path = "account/mfa_backup_codes.html")]
pub struct BackupCodesPage {
    pub ctx: PageContext,
    /// The codes just generated, while they may still be shown.
    pub codes: Option<Vec<String>>,
    pub remaining: i64,
    pub low: bool,
}

pub async fn show_backup_codes(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let Some(status) = state.db.mfa_status(user.id()).await? else {
        session.forget_fresh_codes().await?;
        return Ok(Redirect::to(SECURITY_PAGE).into_response());
    };
    let codes = session.fresh_codes(now).await?;
    let page = BackupCodesPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Security).await?,
        codes,
        remaining: status.backup_codes_left,
        low: status.backup_codes_left <= backup_codes::LOW_WATERMARK,
    };
    render(StatusCode::OK, &page)
}

pub async fn regenerate_backup_codes(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let codes = backup_codes::generate();
    let digests = backup_codes::digests(user.id(), &codes);
    let regenerated = mfa_event(&user, &client, "mfa.backup_codes_regenerated");
    if !state
        .db
        .replace_backup_codes(&user, &digests, regenerated, now)
        .await?
    {
        session
            .flash(FlashKind::Info, "Two-factor authentication is off.")
            .await?;
        return Ok(Redirect::to(SECURITY_PAGE).into_response());
    }
    session.keep_fresh_codes(&codes, now).await?;
    session
        .flash(
            FlashKind::Success,
            "New backup codes generated. Your old codes no longer work.",
        )
        .await?;
    Ok(Redirect::to(CODES_PAGE).into_response())
}

/// The just-generated codes as a text file, once.
pub async fn download_backup_codes(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let Some(codes) = session.take_fresh_codes(now).await? else {
        session
            .flash(
                FlashKind::Info,
                "Backup codes can be downloaded only once, right after they are generated. \
                 If you have lost them, generate new ones.",
            )
            .await?;
        return Ok(Redirect::to(CODES_PAGE).into_response());
    };
    let mut text = format!(
        "Gatehouse backup codes for {}\nGenerated {}\n\n\
         Each code can be used once, instead of a code from your authenticator app.\n\
         Keep them somewhere safe, apart from your phone.\n\n",
        user.email(),
        Timestamp::new(now, now).utc
    );
    for code in &codes {
        text.push_str(code);
        text.push('\n');
    }
    let mut res = (StatusCode::OK, text).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"gatehouse-backup-codes.txt\""),
    );
    // (Like every response, it is sent with `Cache-Control: no-store`.)
    Ok(res)
}

// ---------------------------------------------------------------------------
// Turning MFA off

#[derive(Template)]
#[template(path = "account/mfa_disable.html")]
pub struct DisablePage {
    pub ctx: PageContext,
    pub errors: FieldErrors,
}

pub async fn show_disable(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
) -> Result<Response, AppError> {
    if !state.db.user_has_totp(user.id()).await? {
        return Ok(Redirect::to(SECURITY_PAGE).into_response());
    }
    let page = DisablePage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Security).await?,
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

pub async fn disable_mfa(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    if !state.db.user_has_totp(user.id()).await? {
        return Ok(Redirect::to(SECURITY_PAGE).into_response());
    }
    // A code check like any other: `reauth` throttles it by the sign-in
    // counters.
    let outcome = reauth(&state, &headers)
        .confirm(&user, &client.ip, Factors::Code(&form.code), now)
        .await?;
    if !outcome.is_confirmed() {
        let failed = mfa_event(&user, &client, "mfa.disable_failed");
        state.db.record_event(&failed, now).await?;
        let mut errors = FieldErrors::new();
        errors.add(
            "code",
            "That code is not right, or it was already used. Enter the current code from your \
             authenticator app, or a backup code.",
        );
        let page = DisablePage {
            ctx: PageContext::new(&state, &session, Some(&user), Section::Security).await?,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let disabled = mfa_event(&user, &client, "mfa.disabled");
    let notice = crate::web::security_notice(
        &state,
        &user,
        "Two-factor authentication is off for your Gatehouse account",
        "Two-factor authentication was turned off for your Gatehouse account. Signing in now \
         needs only the password.",
    )?;
    state.db.disable_mfa(&user, &notice, disabled, now).await?;
    session.forget_fresh_codes().await?;
    session
        .flash(
            FlashKind::Success,
            "Two-factor authentication is off. Your backup codes no longer work.",
        )
        .await?;
    Ok(Redirect::to(SECURITY_PAGE).into_response())
}
