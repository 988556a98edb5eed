//! `/account/keys`: personal API keys — list, create (sudo; optionally bound
//! to one of the user's orgs with team and workspace grants, within the org's
//! maximum key lifetime), show once, rotate (sudo), grant a workspace (sudo)
//! or take one away, revoke, remove from the list. The
//! lifecycle is shared with service-account keys (`web::keys::lifecycle`,
//! with `KeyHome::Personal`); the list and the key's own page are personal
//! only.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::auth::AppSession;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{CurrentUser, SudoGate, SudoUser};
use crate::db::keys::ApiKey;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
pub use crate::web::keys::KeyView;
use crate::web::keys::{KeyForm, KeyHome, RotateForm, lifecycle};
use crate::web::{ClientInfo, PageContext, Section, ok};

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

pub async fn new_key_form(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
) -> Result<Response, AppError> {
    lifecycle::new_key_form(&state, &session, KeyHome::Personal(&user)).await
}

pub async fn create_key(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<KeyForm>,
) -> Result<Response, AppError> {
    let user = gate.user().clone();
    lifecycle::create_key(
        &state,
        &session,
        KeyHome::Personal(&user),
        gate,
        &client,
        form,
    )
    .await
}

async fn own_key(
    state: &AppState,
    user: &CurrentUser,
    public_id: &str,
) -> Result<ApiKey, AppError> {
    KeyHome::Personal(user).find_key(state, public_id).await
}

pub async fn reveal_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    lifecycle::reveal_key(&state, &session, KeyHome::Personal(&user), &public_id).await
}

#[derive(Template)]
#[template(path = "account/key_detail.html")]
pub struct KeyDetailPage {
    pub ctx: PageContext,
    pub key: KeyView,
    /// The org the key is bound to, if any (its grants are in `key.teams`).
    pub org: Option<String>,
    /// Its workspace grants, and what it may be granted, when bound.
    pub workspaces: Option<lifecycle::KeyWorkspaces>,
    /// The workspace chosen before a sudo prompt, kept.
    pub chosen_workspace: String,
}

pub async fn show_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let (org, teams) = state
        .db
        .personal_key_binding(&user, key.id)
        .await?
        .map_or((None, Vec::new()), |(o, t)| (Some(o), t));
    let mut view = KeyView::new(&key, state.clock.unix());
    view.teams = teams;
    let workspaces = lifecycle::key_workspaces(&state, KeyHome::Personal(&user), &key).await?;
    let chosen = take_stashed_form::<lifecycle::KeyWorkspaceForm>(
        &session,
        &format!("/account/keys/{public_id}"),
    )
    .await?
    .unwrap_or_default();
    let page = KeyDetailPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: view,
        org,
        workspaces,
        chosen_workspace: chosen.workspace,
    };
    ok(&page)
}

/// Grants the key one more workspace of its org (sudo).
pub async fn grant_key_workspace(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Path(public_id): Path<String>,
    Form(form): Form<lifecycle::KeyWorkspaceForm>,
) -> Result<Response, AppError> {
    let user = gate.user().clone();
    let home = KeyHome::Personal(&user);
    lifecycle::grant_key_workspace(&state, &session, home, gate, &client, &public_id, form).await
}

/// Takes a workspace from the key.
pub async fn ungrant_key_workspace(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path((public_id, workspace)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let home = KeyHome::Personal(&user);
    lifecycle::ungrant_key_workspace(&state, &session, home, &client, &public_id, &workspace).await
}

pub async fn rotate_key_form(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let home = KeyHome::Personal(&user);
    let key = home.find_key(&state, &public_id).await?;
    lifecycle::rotate_key_form(&state, &session, home, &key).await
}

pub async fn rotate_key(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Path(public_id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, AppError> {
    let user = gate.user().clone();
    let home = KeyHome::Personal(&user);
    lifecycle::rotate_key(&state, &session, home, gate, &client, &public_id, form).await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    lifecycle::revoke_key(
        &state,
        &session,
        KeyHome::Personal(&user),
        &client,
        &public_id,
    )
    .await
}

pub async fn remove_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    lifecycle::remove_key(&state, &session, KeyHome::Personal(&user), &public_id).await
}
