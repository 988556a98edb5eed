//! `/account/security/passkeys`: adding a passkey (in sudo mode), renaming
//! and removing one (removal in sudo mode; the last second factor of a
//! member of an org that requires MFA stays). The list is on the security
//! page (`security`). Adding and removing send a security notice.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::security::{PasskeyRename, security_page};
use crate::auth::AppSession;
use crate::auth::passkeys::{self, PasskeyError};
use crate::auth::session::FlashKind;
use crate::authz::{CurrentUser, SudoUser};
use crate::db::audit::Event;
use crate::db::passkeys::{NewPasskey, Removal};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::auth::passkey::message;
use crate::web::extract::{Form, Path, Query};
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

const SECURITY_PAGE: &str = "/account/security";
/// The longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Template)]
#[template(path = "account/passkey_new.html")]
pub struct NewPasskeyPage {
    pub ctx: PageContext,
    /// The org whose policy sent the person here, if one did.
    pub required_by: Option<String>,
    pub name: String,
    /// The options of the registration ceremony, for the page's script.
    pub options: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pub name: String,
    /// The org whose policy sent the person here: where they go after.
    #[serde(default)]
    pub required_by: String,
    #[serde(default)]
    pub credential: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RequiredByQuery {
    pub required_by: Option<String>,
}

/// An org slug as a policy redirect names it (anything else is dropped).
fn org_slug(raw: &str) -> Option<String> {
    crate::domain::Slug::parse(raw.trim())
        .ok()
        .map(|s| s.as_str().to_owned())
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    pub name: String,
}

/// A passkey name: trimmed, 1 to 64 characters.
fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Give the passkey a name, such as the device it is on.");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("Use at most 64 characters.");
    }
    Ok(name.to_owned())
}

async fn new_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    required_by: Option<String>,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let existing: Vec<_> = state
        .db
        .user_passkeys(user.id())
        .await?
        .iter()
        .filter_map(|p| passkeys::from_stored(&p.credential).ok())
        .collect();
    let options = state
        .passkeys
        .start_registration(
            session,
            user.id(),
            user.email(),
            user.display_name(),
            &existing,
            now,
        )
        .await?;
    let page = NewPasskeyPage {
        ctx: PageContext::new(state, session, Some(user), Section::Security).await?,
        required_by,
        name,
        options,
        errors,
    };
    render(status, &page)
}

pub async fn show_new(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    Query(q): Query<RequiredByQuery>,
) -> Result<Response, AppError> {
    new_page(
        &state,
        &session,
        &user,
        q.required_by.as_deref().and_then(org_slug),
        String::new(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn register(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    client: ClientInfo,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_name(&form.name));
    let passkey = if form.credential.trim().is_empty() {
        errors.add("passkey", message(&PasskeyError::NoResponse));
        None
    } else {
        // The ceremony is taken even when the name is wrong: the page shown
        // again opens a new one.
        match state
            .passkeys
            .finish_registration(&session, user.id(), &form.credential, now)
            .await
        {
            Ok(p) => Some(p),
            Err(PasskeyError::Ceremony(e)) => return Err(e.into()),
            Err(e) => {
                let refused = Event::by(user.actor())
                    .did("passkey.registration_refused")
                    .on("user", user.id())
                    .from(&client.origin());
                state.db.record_event(&refused, now).await?;
                errors.add("passkey", registration_message(&e));
                None
            }
        }
    };
    let (Some(name), Some(passkey), true) = (name, passkey, errors.is_empty()) else {
        return new_page(
            &state,
            &session,
            &user,
            org_slug(&form.required_by),
            form.name.trim().to_owned(),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let stored = passkeys::to_stored(&passkey)?;
    let added = Event::by(user.actor())
        .did("passkey.added")
        .on("user", user.id())
        .detail(serde_json::json!({ "name": name, "backed_up": stored.backed_up }))
        .from(&client.origin());
    let notice = crate::web::security_notice(
        &state,
        &user,
        "A passkey was added to your Gatehouse account",
        &format!(
            "The passkey \u{201c}{name}\u{201d} was added to your Gatehouse account. It can sign \
             you in without a password. If this was not you, remove it on the Security page and \
             change your password."
        ),
    )?;
    let new = NewPasskey {
        name: &name,
        credential_id: &stored.credential_id,
        credential: &stored.credential,
        backed_up: stored.backed_up,
    };
    if !state
        .db
        .add_passkey(&user, &new, &notice, added, now)
        .await?
    {
        errors.add(
            "passkey",
            "That passkey is registered already. Choose another authenticator.",
        );
        return new_page(
            &state,
            &session,
            &user,
            org_slug(&form.required_by),
            name,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    session
        .flash(
            FlashKind::Success,
            format!("Passkey \u{201c}{name}\u{201d} added. You can now sign in with it."),
        )
        .await?;
    // Back to the org whose policy asked for it, if one did.
    let to = match org_slug(&form.required_by) {
        Some(slug) => format!("/orgs/{slug}"),
        None => format!("{SECURITY_PAGE}#passkeys"),
    };
    Ok(Redirect::to(&to).into_response())
}

fn registration_message(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::NoCeremony => {
            "That passkey prompt expired or was already answered. Try again."
        }
        PasskeyError::NoResponse => message(e),
        _ => "That passkey could not be registered for this site. Try again.",
    }
}

fn passkey_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

pub async fn rename(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> Result<Response, AppError> {
    let id = passkey_id(&id)?;
    let name = match parse_name(&form.name) {
        Ok(name) => name,
        Err(error) => {
            // Only the owner sees the field again; anyone else gets 404.
            if !state
                .db
                .list_passkeys(&user)
                .await?
                .iter()
                .any(|p| p.id == id)
            {
                return Err(AppError::NotFound);
            }
            let rename = PasskeyRename {
                id,
                name: form.name.trim().to_owned(),
                error,
            };
            return security_page(
                &state,
                &session,
                &user,
                FieldErrors::new(),
                Some(rename),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    if !state.db.rename_passkey(&user, id, &name).await? {
        return Err(AppError::NotFound);
    }
    let renamed = Event::by(user.actor())
        .did("passkey.renamed")
        .on("passkey", id)
        .detail(serde_json::json!({ "name": name }))
        .from(&client.origin());
    state.db.record_event(&renamed, state.clock.unix()).await?;
    session
        .flash(
            FlashKind::Success,
            format!("Passkey renamed to \u{201c}{name}\u{201d}."),
        )
        .await?;
    Ok(Redirect::to(&format!("{SECURITY_PAGE}#passkeys")).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let id = passkey_id(&id)?;
    let Some(passkey) = state
        .db
        .list_passkeys(&user)
        .await?
        .into_iter()
        .find(|p| p.id == id)
    else {
        return Err(AppError::NotFound);
    };
    let removed = Event::by(user.actor())
        .did("passkey.removed")
        .on("passkey", id)
        .detail(serde_json::json!({ "name": passkey.name }))
        .from(&client.origin());
    let notice = crate::web::security_notice(
        &state,
        &user,
        "A passkey was removed from your Gatehouse account",
        &format!(
            "The passkey \u{201c}{}\u{201d} was removed from your Gatehouse account and can no \
             longer sign you in.",
            passkey.name
        ),
    )?;
    match state
        .db
        .remove_passkey(&user, id, &notice, removed, now)
        .await?
    {
        Removal::NotFound => return Err(AppError::NotFound),
        Removal::LastFactorRequired => {
            session
                .flash(
                    FlashKind::Error,
                    format!(
                        "\u{201c}{}\u{201d} was not removed: it is your only second factor (or \
                         your only passkey), and an organization you belong to requires it. Add \
                         another passkey first.",
                        passkey.name
                    ),
                )
                .await?;
        }
        Removal::Removed => {
            session
                .flash(
                    FlashKind::Success,
                    format!("Passkey \u{201c}{}\u{201d} removed.", passkey.name),
                )
                .await?;
        }
    }
    Ok(Redirect::to(&format!("{SECURITY_PAGE}#passkeys")).into_response())
}
