//! `/orgs/{slug}/service-accounts`: an org's non-human principals (owners
//! only) and their API keys. The keys have the same lifecycle as personal
//! keys (`web::keys`): creation and rotation need sudo, the secret is shown
//! once, revocation is immediate; they are always bound to this org, with
//! team grants chosen at creation, and every event goes to the org's audit
//! log.
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
use uuid::Uuid;

use super::id_from;
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, api_key, throttle};
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::keys::{ApiKey, NewKey};
use crate::db::service_accounts::ServiceAccount;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::keys::{
    KeyForm, KeyView, NewKeyPage, RevealPage, RotateForm, RotatePage, TeamGroup, ValidKey,
    chosen_teams, reveal_once, take_revealed, validate, within_org_lifetime,
};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

pub struct ServiceAccountItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: Timestamp,
    pub active_keys: i64,
}

fn item(sa: &ServiceAccount, now: i64) -> ServiceAccountItem {
    ServiceAccountItem {
        id: sa.id.to_string(),
        name: sa.name.clone(),
        description: sa.description.clone().unwrap_or_default(),
        created: Timestamp::new(sa.created_at, now),
        active_keys: sa.active_keys,
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

async fn load_key(
    state: &AppState,
    owner: &OrgOwner,
    sa: &ServiceAccount,
    public_id: &str,
) -> Result<ApiKey, AppError> {
    state
        .db
        .find_service_account_key(owner.scope(), sa.id, public_id)
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

/// The live teams of the org: what a service account's key may be granted.
async fn org_teams(state: &AppState, owner: &OrgOwner) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(state
        .db
        .list_teams(owner.scope(), state.clock.unix())
        .await?
        .into_iter()
        .filter(|t| t.deleted_at.is_none())
        .map(|t| (t.id, t.name))
        .collect())
}

async fn new_key_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    sa: &ServiceAccount,
    form: KeyForm,
    errors: FieldErrors,
) -> Result<NewKeyPage, AppError> {
    let ctx = PageContext::for_org(
        state,
        session,
        owner.user(),
        owner.scope(),
        Section::OrgServiceAccounts,
    )
    .await?;
    let base = base(owner, sa);
    let teams = org_teams(state, owner).await?;
    let mut page = NewKeyPage::new(
        ctx,
        state,
        format!("Create a key for {}", sa.name),
        "The key acts as this service account in this organization, limited to the scopes \
         and teams below. You will see it once.",
        (format!("{base}/keys"), base),
        form,
        errors,
    );
    page.team_groups = vec![TeamGroup::new(
        format!("Teams of {}", owner.scope().name()),
        &teams,
        &page.form,
    )];
    page.policy_days = owner.scope().max_key_lifetime_days();
    Ok(page)
}

pub async fn new_key_form(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let page_path = format!("{}/keys/new", base(&owner, &sa));
    gate.check(&page_path)?;
    let form = take_stashed_form::<KeyForm>(&session, &page_path)
        .await?
        .unwrap_or_else(KeyForm::initial);
    ok(&new_key_page(&state, &session, &owner, &sa, form, FieldErrors::new()).await?)
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
    let sa = load_account(&state, &owner, &id).await?;
    let sudo = gate
        .enter(&format!("{}/keys/new", base(&owner, &sa)), &form)
        .await?;
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let valid = validate(
        &form,
        now,
        state.config.allow_keys_without_expiry,
        &mut errors,
    );
    let teams = chosen_teams(&form, &org_teams(&state, &owner).await?, &mut errors);
    let valid = within_org_lifetime(valid, owner.scope(), now, &mut errors);
    let (
        Some(ValidKey {
            name,
            description,
            scopes,
            expires_at,
        }),
        true,
    ) = (valid, errors.is_empty())
    else {
        let page = new_key_page(&state, &session, &owner, &sa, form, errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    throttle::consume(
        &state.db,
        &format!("keys:issue:{}", sudo.id()),
        state.config.key_issues_per_hour,
        3600,
        now,
    )
    .await?;
    let issued = api_key::issue();
    state
        .db
        .create_service_account_key(
            owner.scope(),
            &sudo,
            sa.id,
            &teams,
            NewKey {
                public_id: &issued.public_id,
                name: &name,
                description: description.as_deref(),
                scopes: &scopes,
                digest: &issued.digest,
                expires_at,
            },
            |key_id| {
                Event::by(owner.user().actor())
                    .did("api_key.created")
                    .on("api_key", key_id)
                    .in_org(owner.scope())
                    .detail(json!({
                        "service_account": sa.name,
                        "name": name,
                        "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
                        "scopes": scopes.names(),
                        "expires_at": expires_at,
                        "teams": teams.len(),
                    }))
                    .from(&client.origin())
            },
            now,
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let public_id = issued.public_id.clone();
    reveal_once(&session, &public_id, issued.token).await?;
    Ok(Redirect::to(&format!("{}/keys/{public_id}/reveal", base(&owner, &sa))).into_response())
}

pub async fn reveal_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, id, public_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let key = load_key(&state, &owner, &sa, &public_id).await?;
    let page = RevealPage {
        ctx: PageContext::for_org(
            &state,
            &session,
            owner.user(),
            owner.scope(),
            Section::OrgServiceAccounts,
        )
        .await?,
        key: KeyView::new(&key, state.clock.unix()),
        token: take_revealed(&session, &key.public_id).await?,
        api_base: state.config.public_url(),
        back: base(&owner, &sa),
        back_label: "the service account",
    };
    ok(&page)
}

async fn rotate_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    sa: &ServiceAccount,
    key: &ApiKey,
    grace: String,
    errors: FieldErrors,
) -> Result<RotatePage, AppError> {
    Ok(RotatePage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgServiceAccounts,
        )
        .await?,
        key: KeyView::new(key, state.clock.unix()),
        key_base: format!("{}/keys/{}", base(owner, sa), key.public_id),
        cancel: base(owner, sa),
        grace,
        errors,
    })
}

pub async fn rotate_key_form(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    Path((_, id, public_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let key = load_key(&state, &owner, &sa, &public_id).await?;
    let path = format!("{}/keys/{}/rotate", base(&owner, &sa), key.public_id);
    gate.check(&path)?;
    let form = take_stashed_form::<RotateForm>(&session, &path)
        .await?
        .unwrap_or_default();
    let grace = if form.grace.is_empty() {
        "0".into()
    } else {
        form.grace
    };
    ok(&rotate_page(
        &state,
        &session,
        &owner,
        &sa,
        &key,
        grace,
        FieldErrors::new(),
    )
    .await?)
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
    let sa = load_account(&state, &owner, &id).await?;
    let key = load_key(&state, &owner, &sa, &public_id).await?;
    let sudo = gate
        .enter(
            &format!("{}/keys/{}/rotate", base(&owner, &sa), key.public_id),
            &form,
        )
        .await?;
    let now = state.clock.unix();
    let Some(grace_secs) = form.grace_seconds() else {
        let mut errors = FieldErrors::new();
        errors.add("grace", "Choose when the old secret stops working.");
        let page = rotate_page(&state, &session, &owner, &sa, &key, "0".into(), errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if !key.status(now).is_usable() {
        session
            .flash(FlashKind::Error, "Only an active key can be rotated.")
            .await?;
        return Ok(Redirect::to(&base(&owner, &sa)).into_response());
    }
    throttle::consume(
        &state.db,
        &format!("keys:issue:{}", sudo.id()),
        state.config.key_issues_per_hour,
        3600,
        now,
    )
    .await?;
    let issued = api_key::issue_for(&key.public_id);
    if !state
        .db
        .rotate_service_account_key(
            owner.scope(),
            &sudo,
            key.id,
            &issued.digest,
            grace_secs.map(|g| now + g),
            Event::by(owner.user().actor())
                .did("api_key.rotated")
                .on("api_key", key.id)
                .in_org(owner.scope())
                .detail(json!({ "service_account": sa.name, "prefix": key.prefix(),
                                "grace_seconds": grace_secs.unwrap_or(0) }))
                .from(&client.origin()),
            now,
        )
        .await?
    {
        return Err(AppError::NotFound);
    }
    reveal_once(&session, &key.public_id, issued.token).await?;
    Ok(Redirect::to(&format!(
        "{}/keys/{}/reveal",
        base(&owner, &sa),
        key.public_id
    ))
    .into_response())
}

pub async fn revoke_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id, public_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let sa = load_account(&state, &owner, &id).await?;
    let key = load_key(&state, &owner, &sa, &public_id).await?;
    if state
        .db
        .revoke_service_account_key(
            owner.scope(),
            key.id,
            Event::by(owner.user().actor())
                .did("api_key.revoked")
                .on("api_key", key.id)
                .in_org(owner.scope())
                .detail(json!({ "service_account": sa.name, "prefix": key.prefix(),
                                "name": key.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?
    {
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
    Ok(Redirect::to(&base(&owner, &sa)).into_response())
}
