//! `/account/keys`: personal API keys — list, create (sudo), show once,
//! rotate (sudo), revoke, remove from the list.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use crate::app::AppState;
use crate::auth::AppSession;
use crate::auth::api_key;
use crate::auth::session::FlashKind;
use crate::auth::throttle;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{CurrentUser, SudoGate, SudoUser};
use crate::db::audit::NewEvent;
use crate::db::keys::{ApiKey, KeyStatus, NewKey};
use crate::domain::{Scope, Scopes};
use crate::error::AppError;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

const DAY: i64 = 86_400;
pub const MAX_LIFETIME_DAYS: i64 = 365;
const KEY_REVEAL: &str = "key_reveal";

/// A key as the pages show it.
pub struct KeyView {
    pub public_id: String,
    pub prefix: String,
    pub name: String,
    pub description: String,
    pub scopes: Vec<&'static str>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub last_used_ip: String,
    pub status: KeyStatus,
    pub rotated: Option<Timestamp>,
}

impl KeyView {
    pub fn new(k: &ApiKey, now: i64) -> Self {
        KeyView {
            public_id: k.public_id.clone(),
            prefix: k.prefix(),
            name: k.name.clone(),
            description: k.description.clone().unwrap_or_default(),
            scopes: k.scope_set().names(),
            created: Timestamp::new(k.created_at, now),
            expires: k.expires_at.map(|e| Timestamp::new(e, now)),
            last_used: k.last_used_at.map(|t| Timestamp::new(t, now)),
            last_used_ip: k.last_used_ip.clone().unwrap_or_default(),
            status: k.status(now),
            rotated: k.rotated_at.map(|t| Timestamp::new(t, now)),
        }
    }

    pub fn usable(&self) -> bool {
        self.status.is_usable()
    }
}

#[derive(Template)]
#[template(path = "account/keys.html")]
pub struct KeysPage {
    pub ctx: PageContext,
    pub keys: Vec<KeyView>,
}

pub async fn list_keys(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let keys = state.db.list_personal_keys(&user).await?;
    let page = KeysPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        keys: keys.iter().map(|k| KeyView::new(k, now)).collect(),
    };
    ok(&page)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub expires_on: String,
}

pub struct ScopeOption {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "account/key_new.html")]
pub struct NewKeyPage {
    pub ctx: PageContext,
    pub form: KeyForm,
    pub scope_options: Vec<ScopeOption>,
    pub allow_no_expiry: bool,
    pub max_date: String,
    pub errors: FieldErrors,
}

fn new_key_page(
    ctx: PageContext,
    state: &AppState,
    form: KeyForm,
    errors: FieldErrors,
) -> NewKeyPage {
    let now = state.clock.unix();
    NewKeyPage {
        scope_options: Scope::ALL
            .iter()
            .map(|s| ScopeOption {
                name: s.as_str(),
                description: s.description(),
                checked: form.scopes.iter().any(|f| f == s.as_str()),
            })
            .collect(),
        form,
        ctx,
        allow_no_expiry: state.config.allow_keys_without_expiry,
        max_date: date_of(now + MAX_LIFETIME_DAYS * DAY),
        errors,
    }
}

fn date_of(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

pub async fn new_key_form(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<KeyForm>(&session, "/account/keys/new")
        .await?
        .unwrap_or_else(|| KeyForm {
            expiry: "30".into(),
            ..KeyForm::default()
        });
    let ctx = PageContext::new(&state, &session, Some(&user), Section::Keys).await?;
    ok(&new_key_page(ctx, &state, form, FieldErrors::new()))
}

/// The expiry chosen in the form, as unix seconds (`None`: no expiry).
fn parse_expiry(form: &KeyForm, now: i64, allow_none: bool) -> Result<Option<i64>, &'static str> {
    match form.expiry.as_str() {
        "7" | "30" | "60" | "90" => {
            let days: i64 = form.expiry.parse().map_err(|_| "Choose an expiry.")?;
            Ok(Some(now + days * DAY))
        }
        "custom" => {
            let date = Date::parse(
                form.expires_on.trim(),
                format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| "Enter the date as YYYY-MM-DD.")?;
            // The key stays valid through the whole chosen day (UTC).
            let at = date.with_time(Time::MAX).assume_utc().unix_timestamp();
            if at <= now {
                Err("Choose a date in the future.")
            } else if at > now + MAX_LIFETIME_DAYS * DAY + DAY {
                Err("A key can live at most 365 days.")
            } else {
                Ok(Some(at.min(now + MAX_LIFETIME_DAYS * DAY)))
            }
        }
        "never" if allow_none => Ok(None),
        _ => Err("Choose when the key expires."),
    }
}

fn key_name(name: &str) -> Result<String, &'static str> {
    let n = name.trim();
    if n.is_empty() {
        Err("Give the key a name, e.g. the program that will use it.")
    } else if n.chars().count() > 100 || n.chars().any(char::is_control) {
        Err("A key name has at most 100 characters on one line.")
    } else {
        Ok(n.to_owned())
    }
}

/// Keeps the new token for exactly one showing, on the page after the redirect.
async fn reveal_once(
    session: &AppSession,
    public_id: &str,
    token: api_key::Token,
) -> Result<(), AppError> {
    session
        .put(KEY_REVEAL, &(public_id.to_owned(), token.into_string()))
        .await
}

pub async fn create_key(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<KeyForm>,
) -> Result<Response, AppError> {
    let user = gate.enter("/account/keys/new", &form).await?;
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let name = errors.check("name", key_name(&form.name));
    let description = form.description.trim();
    if description.chars().count() > 500 {
        errors.add("description", "A description has at most 500 characters.");
    }
    let scopes = errors.check("scopes", Scopes::from_names(&form.scopes));
    let expires_at = errors.check(
        "expiry",
        parse_expiry(&form, now, state.config.allow_keys_without_expiry),
    );
    let (Some(name), Some(scopes), Some(expires_at), true) =
        (name, scopes, expires_at, errors.is_empty())
    else {
        let ctx = PageContext::new(&state, &session, Some(&user), Section::Keys).await?;
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &new_key_page(ctx, &state, form, errors),
        );
    };
    throttle::consume(
        &state.db,
        &format!("keys:issue:{}", user.id),
        state.config.key_issues_per_hour,
        3600,
        now,
    )
    .await?;
    let issued = api_key::issue();
    let key_id = state
        .db
        .create_personal_key(
            &user,
            NewKey {
                public_id: &issued.public_id,
                name: &name,
                description: (!description.is_empty()).then_some(description),
                scopes: &scopes,
                digest: &issued.digest,
                expires_at,
            },
            now,
        )
        .await?;
    state
        .db
        .record_event(
            NewEvent {
                actor: &user.actor(),
                action: "api_key.created",
                target_kind: Some("api_key"),
                target_id: Some(key_id.to_string()),
                org_id: None,
                origin: &client.origin(),
                detail: json!({
                    "name": name,
                    "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
                    "scopes": scopes.names(),
                    "expires_at": expires_at,
                }),
            },
            now,
        )
        .await?;
    let public_id = issued.public_id.clone();
    reveal_once(&session, &public_id, issued.token).await?;
    Ok(Redirect::to(&format!("/account/keys/{public_id}/reveal")).into_response())
}

#[derive(Template)]
#[template(path = "account/key_reveal.html")]
pub struct RevealPage {
    pub ctx: PageContext,
    pub key: KeyView,
    pub token: Option<String>,
    pub api_base: String,
}

async fn own_key(
    state: &AppState,
    user: &CurrentUser,
    public_id: &str,
) -> Result<ApiKey, AppError> {
    state
        .db
        .find_personal_key(user, public_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn reveal_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    // Taken out of the session on first view: a reload shows it no more.
    let token = match session.get::<(String, String)>(KEY_REVEAL).await? {
        Some((id, token)) if id == key.public_id => {
            session.remove(KEY_REVEAL).await?;
            Some(token)
        }
        _ => None,
    };
    let page = RevealPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: KeyView::new(&key, state.clock.unix()),
        token,
        api_base: state.config.public_url(),
    };
    ok(&page)
}

#[derive(Template)]
#[template(path = "account/key_detail.html")]
pub struct KeyDetailPage {
    pub ctx: PageContext,
    pub key: KeyView,
}

pub async fn show_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let page = KeyDetailPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: KeyView::new(&key, state.clock.unix()),
    };
    ok(&page)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    pub grace: String,
}

#[derive(Template)]
#[template(path = "account/key_rotate.html")]
pub struct RotatePage {
    pub ctx: PageContext,
    pub key: KeyView,
    pub grace: String,
    pub errors: FieldErrors,
}

pub async fn rotate_key_form(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let path = format!("/account/keys/{public_id}/rotate");
    let form = take_stashed_form::<RotateForm>(&session, &path)
        .await?
        .unwrap_or_default();
    let page = RotatePage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: KeyView::new(&key, state.clock.unix()),
        grace: if form.grace.is_empty() {
            "0".into()
        } else {
            form.grace
        },
        errors: FieldErrors::new(),
    };
    ok(&page)
}

pub async fn rotate_key(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Path(public_id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &gate.user, &public_id).await?;
    let user = gate
        .enter(&format!("/account/keys/{public_id}/rotate"), &form)
        .await?;
    let now = state.clock.unix();
    let grace_secs = match form.grace.as_str() {
        "0" => None,
        "3600" => Some(3600),
        "86400" => Some(86_400),
        _ => {
            let mut errors = FieldErrors::new();
            errors.add("grace", "Choose when the old secret stops working.");
            let page = RotatePage {
                ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
                key: KeyView::new(&key, now),
                grace: "0".into(),
                errors,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if !key.status(now).is_usable() {
        session
            .flash(FlashKind::Error, "Only an active key can be rotated.")
            .await?;
        return Ok(Redirect::to(&format!("/account/keys/{public_id}")).into_response());
    }
    throttle::consume(
        &state.db,
        &format!("keys:issue:{}", user.id),
        state.config.key_issues_per_hour,
        3600,
        now,
    )
    .await?;
    let issued = api_key::issue_for(&key.public_id);
    let rotated = state
        .db
        .rotate_personal_key(
            &user,
            key.id,
            &issued.digest,
            grace_secs.map(|g| now + g),
            now,
        )
        .await?;
    if !rotated {
        return Err(AppError::NotFound);
    }
    state
        .db
        .record_event(
            NewEvent {
                actor: &user.actor(),
                action: "api_key.rotated",
                target_kind: Some("api_key"),
                target_id: Some(key.id.to_string()),
                org_id: None,
                origin: &client.origin(),
                detail: json!({ "prefix": key.prefix(), "grace_seconds": grace_secs.unwrap_or(0) }),
            },
            now,
        )
        .await?;
    reveal_once(&session, &key.public_id, issued.token).await?;
    Ok(Redirect::to(&format!("/account/keys/{public_id}/reveal")).into_response())
}

pub async fn revoke_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let now = state.clock.unix();
    if state.db.revoke_personal_key(&user, key.id, now).await? {
        state
            .db
            .record_event(
                NewEvent {
                    actor: &user.actor(),
                    action: "api_key.revoked",
                    target_kind: Some("api_key"),
                    target_id: Some(key.id.to_string()),
                    org_id: None,
                    origin: &client.origin(),
                    detail: json!({ "prefix": key.prefix(), "name": key.name }),
                },
                now,
            )
            .await?;
        session
            .flash(
                FlashKind::Success,
                format!(
                    "The key “{}” was revoked. Programs using it are now refused.",
                    key.name
                ),
            )
            .await?;
    }
    Ok(Redirect::to("/account/keys").into_response())
}

pub async fn remove_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    if state
        .db
        .hide_personal_key(&user, key.id, state.clock.unix())
        .await?
    {
        session
            .flash(
                FlashKind::Success,
                format!("The key “{}” was removed from the list.", key.name),
            )
            .await?;
    } else {
        session
            .flash(
                FlashKind::Error,
                "Only expired or revoked keys can be removed from the list.",
            )
            .await?;
    }
    Ok(Redirect::to("/account/keys").into_response())
}
