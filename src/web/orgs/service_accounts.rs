//! `/orgs/{slug}/service-accounts`: an org's non-human principals (owners
//! only) and their API keys. The keys have the same lifecycle as personal
//! keys (`web::keys`): creation and rotation need sudo, the secret is shown
//! once, revocation is immediate; they are always bound to this org, with
//! team grants chosen at creation, and every event goes to the org's audit
//! log. The flow is `web::keys::lifecycle` with `KeyHome::ServiceAccount`.
//!
//! Handlers take `OrgOwner` first and look the service account (and key) up
//! through its scope *before* asking for sudo, so an id from another org is
//! 404 and never a sudo prompt.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::id_from;
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::service_accounts::ServiceAccount;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::keys::{KeyForm, KeyHome, KeyView, RotateForm, lifecycle};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

pub struct ServiceAccountItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: Timestamp,
    pub active_keys: i64,
    /// `owner` or `member`.
    pub role: String,
}

fn item(sa: &ServiceAccount, now: i64) -> ServiceAccountItem {
    ServiceAccountItem {
        id: sa.id.to_string(),
        name: sa.name.clone(),
        description: sa.description.clone().unwrap_or_default(),
        created: Timestamp::new(sa.created_at, now),
        active_keys: sa.active_keys,
        role: sa.role.clone(),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ServiceAccountForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Template)]
#[template(path = "orgs/service_accounts.html")]
pub struct ServiceAccountsPage {
    pub ctx: PageContext,
    pub slug: String,
    pub accounts: Vec<ServiceAccountItem>,
    pub name: String,
    pub description: String,
    pub errors: FieldErrors,
}

async fn list_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    form: ServiceAccountForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let accounts = state.db.list_service_accounts(owner.scope(), now).await?;
    let page = ServiceAccountsPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgServiceAccounts,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        accounts: accounts.iter().map(|a| item(a, now)).collect(),
        name: form.name,
        description: form.description,
        errors,
    };
    render(status, &page)
}

pub async fn list_service_accounts(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    // Values kept across the sudo step (see `create_service_account`).
    let form = take_stashed_form::<ServiceAccountForm>(&session, &list_path(&owner))
        .await?
        .unwrap_or_default();
    list_page(
        &state,
        &session,
        &owner,
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

fn account_name(name: &str) -> Result<String, &'static str> {
    let n = name.trim();
    if n.is_empty() {
        Err("Name the service account, e.g. the system that will use it.")
    } else if n.chars().count() > 100 || n.chars().any(char::is_control) {
        Err("A name has at most 100 characters on one line.")
    } else {
        Ok(n.to_owned())
    }
}

fn list_path(owner: &OrgOwner) -> String {
    format!("/orgs/{}/service-accounts", owner.scope().slug())
}

/// Creating a service account makes a new principal with owner-level reach
/// through its keys, so it needs sudo mode.
pub async fn create_service_account(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<ServiceAccountForm>,
) -> Result<Response, AppError> {
    let sudo = gate.enter(&list_path(&owner), &form).await?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", account_name(&form.name));
    let description = form.description.trim().to_owned();
    if description.chars().count() > 500 {
        errors.add("description", "A description has at most 500 characters.");
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return list_page(
            &state,
            &session,
            &owner,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let id = state
        .db
        .create_service_account(
            owner.scope(),
            &sudo,
            &name,
            (!description.is_empty()).then_some(description.as_str()),
            |id| {
                Event::by(owner.user().actor())
                    .did("service_account.created")
                    .on("service_account", id)
                    .in_org(owner.scope())
                    .detail(json!({ "name": name }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await?;
    session
        .flash(
            FlashKind::Success,
            format!("Service account “{name}” created. Give it a key to use the API."),
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/orgs/{}/service-accounts/{id}",
        owner.scope().slug()
    ))
    .into_response())
}

async fn load_account(
    state: &AppState,
    owner: &OrgOwner,
    id: &str,
) -> Result<ServiceAccount, AppError> {
    state
        .db
        .find_service_account(owner.scope(), id_from(id)?, state.clock.unix())
        .await?
        .ok_or(AppError::NotFound)
}

fn base(owner: &OrgOwner, sa: &ServiceAccount) -> String {
    format!("/orgs/{}/service-accounts/{}", owner.scope().slug(), sa.id)
}

#[derive(Template)]
#[template(path = "orgs/service_account.html")]
pub struct ServiceAccountPage {
    pub ctx: PageContext,
    pub base: String,
    pub account: ServiceAccountItem,
    pub keys: Vec<KeyView>,
    pub slug: String,
    pub is_org_owner: bool,
    pub why: Vec<super::workspaces::WorkspaceWhy>,
}

pub async fn show_service_account(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let now = state.clock.unix();
    let mut keys = Vec::new();
    for k in state.db.service_account_keys(owner.scope(), sa.id).await? {
        let mut view = KeyView::new(&k, now);
        view.teams = state.db.key_team_names(owner.scope(), k.id).await?;
        keys.push(view);
    }
    let page = ServiceAccountPage {
        ctx: PageContext::for_org(
            &state,
            &session,
            owner.user(),
            owner.scope(),
            Section::OrgServiceAccounts,
        )
        .await?,
        base: base(&owner, &sa),
        account: item(&sa, now),
        keys,
        slug: owner.scope().slug().to_owned(),
        is_org_owner: sa.role == "owner",
        why: super::workspaces::why_by_workspace(
            state
                .db
                .principal_grants(
                    owner.scope(),
                    crate::authz::Principal::ServiceAccount(sa.id),
                )
                .await?,
        ),
    };
    ok(&page)
}

/// Deletes a service account: it leaves the console and every key of it is
/// revoked in the same transaction, so they stop working at once. The row
/// stays (soft delete) so the audit log and key history still name it.
/// Destructive, so it needs sudo mode — asked only once the account is found
/// in this org, so another org's id stays a 404.
pub async fn delete_service_account(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let sudo = gate.check(&base(&owner, &sa))?;
    if state
        .db
        .delete_service_account(
            owner.scope(),
            &sudo,
            sa.id,
            Event::by(owner.user().actor())
                .did("service_account.deleted")
                .on("service_account", sa.id)
                .in_org(owner.scope())
                .detail(json!({ "name": sa.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?
        .is_some()
    {
        session
            .flash(
                FlashKind::Success,
                format!(
                    "Service account “{}” deleted; its keys no longer work.",
                    sa.name
                ),
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/orgs/{}/service-accounts", owner.scope().slug())).into_response())
}

/// Where `account`'s keys live, for the shared key lifecycle.
fn keys_of<'a>(owner: &'a OrgOwner, account: &'a ServiceAccount) -> KeyHome<'a> {
    KeyHome::ServiceAccount { owner, account }
}

pub async fn new_key_form(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let account = load_account(&state, &owner, &id).await?;
    let home = keys_of(&owner, &account);
    gate.check(&format!("{}/new", home.keys_path()))?;
    lifecycle::new_key_form(&state, &session, home).await
}

pub async fn create_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<KeyForm>,
) -> Result<Response, AppError> {
    let account = load_account(&state, &owner, &id).await?;
    let home = keys_of(&owner, &account);
    lifecycle::create_key(&state, &session, home, gate, &client, form).await
}

pub async fn reveal_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, id, public_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let account = load_account(&state, &owner, &id).await?;
    let home = keys_of(&owner, &account);
    lifecycle::reveal_key(&state, &session, home, &public_id).await
}

pub async fn rotate_key_form(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    Path((_, id, public_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let account = load_account(&state, &owner, &id).await?;
    let home = keys_of(&owner, &account);
    // Looked up before sudo is asked for: another org's key is 404.
    let key = home.find_key(&state, &public_id).await?;
    gate.check(&format!("{}/rotate", home.key_path(&key.public_id)))?;
    lifecycle::rotate_key_form(&state, &session, home, &key).await
}

pub async fn rotate_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id, public_id)): Path<(String, String, String)>,
    Form(form): Form<RotateForm>,
) -> Result<Response, AppError> {
    let account = load_account(&state, &owner, &id).await?;
    let home = keys_of(&owner, &account);
    lifecycle::rotate_key(&state, &session, home, gate, &client, &public_id, form).await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id, public_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let account = load_account(&state, &owner, &id).await?;
    let home = keys_of(&owner, &account);
    lifecycle::revoke_key(&state, &session, home, &client, &public_id).await
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SaRoleForm {
    #[serde(default)]
    pub role: String,
}

/// Changes a service account's org role. An owner service account's keys act
/// with owner authority (within their scopes), so promotion needs sudo mode,
/// as a person's does; demotion does not (it is what an owner does when an
/// automation's key leaks).
pub async fn change_service_account_role(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<SaRoleForm>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let back = base(&owner, &sa);
    let Some(role) = crate::domain::OrgRole::parse(&form.role) else {
        session
            .flash(FlashKind::Error, "Choose owner or member.")
            .await?;
        return Ok(Redirect::to(&back).into_response());
    };
    if role == crate::domain::OrgRole::Owner && sa.role != role.as_str() {
        gate.enter(&back, &form).await?;
    }
    let changed = state
        .db
        .set_service_account_role(
            owner.scope(),
            sa.id,
            role,
            Event::by(owner.user().actor())
                .did("service_account.role_changed")
                .on("service_account", sa.id)
                .in_org(owner.scope())
                .detail(json!({ "name": sa.name, "before": sa.role, "after": role.as_str() }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?;
    if changed {
        session
            .flash(
                FlashKind::Success,
                format!("{} is now {}.", sa.name, role.label().to_lowercase()),
            )
            .await?;
    }
    Ok(Redirect::to(&back).into_response())
}
