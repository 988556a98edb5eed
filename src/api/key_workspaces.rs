//! A key's workspace grants: `GET /v1/orgs/{slug}/keys/{key_id}/workspaces`,
//! `PUT` and `DELETE …/workspaces/{ws}` (`{key_id}` is the key's public id).
//!
//! Whose keys a key may manage (anything else is 404, existence hidden):
//! - the keys of its own principal bound to the same org (itself included);
//! - for an owner-level key (a current owner, or an owner service account):
//!   also the org's service-account keys.
//!
//! A grant never goes beyond the caller: `PUT` gives only a live workspace
//! the calling key itself may act in now (granted to it and reached by its
//! principal), so a key restricted to one workspace cannot reach another by
//! granting it to itself or a sibling. `DELETE` only narrows and has no such
//! rule. Reading takes `keys:read`, changing `keys:write`; each change is
//! audited (`api_key.workspace_granted/ungranted`).

use axum::Json;
use axum::extract::{RawPathParams, State};
use serde_json::json;

use super::error::{ApiError, ErrorBody};
use super::workspaces::{Workspace, WorkspaceList};
use crate::authz::api::scopes::{KeysRead, KeysWrite};
use crate::authz::api::{ApiOrgKey, KeyOwner};
use crate::db::audit::Event;
use crate::db::grants::OrgKeyRow;
use crate::db::workspaces::WorkspaceRow;
use crate::request::ClientInfo;
use crate::state::AppState;

fn param<'a>(params: &'a RawPathParams, name: &str) -> Result<&'a str, ApiError> {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .ok_or(ApiError::NotFound)
}

/// The target key, if the caller may manage it (see the module).
async fn target<S>(
    state: &AppState,
    key: &ApiOrgKey<S>,
    params: &RawPathParams,
) -> Result<OrgKeyRow, ApiError> {
    let public_id = param(params, "key_id")?;
    let target = state
        .db
        .org_key(key.scope(), public_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let same_principal = match key.principal().owner() {
        KeyOwner::User(u) => target.user_id == Some(u.id),
        KeyOwner::ServiceAccount { id, .. } => target.service_account_id == Some(*id),
    };
    let owner_over_sa = key.owner_scope().is_ok() && target.service_account_id.is_some();
    if same_principal || owner_over_sa {
        Ok(target)
    } else {
        Err(ApiError::NotFound)
    }
}

fn list(rows: Vec<WorkspaceRow>) -> WorkspaceList {
    WorkspaceList {
        workspaces: rows
            .into_iter()
            .map(|w| Workspace {
                slug: w.slug,
                name: w.name,
                description: w.description,
                created_at: w.created_at,
                archived: w.archived_at.is_some(),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/v1/orgs/{slug}/keys/{key_id}/workspaces", tag = "keys",
    security(("api_key" = ["keys:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("key_id" = String, Path, description = "The key's public id: a key of this key's own principal, or (for an owner-level key) a service account's key of the org."),
    ),
    responses(
        (status = 200, description = "The workspaces granted to the key.", body = WorkspaceList),
        (status = 401, description = "Missing or invalid key.", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:read`, is not bound to an org, or MFA is required.", body = ErrorBody),
        (status = 404, description = "No such key this key may manage.", body = ErrorBody),
    ))]
pub async fn list_key_workspaces(
    State(state): State<AppState>,
    key: ApiOrgKey<KeysRead>,
    params: RawPathParams,
) -> Result<Json<WorkspaceList>, ApiError> {
    let target = target(&state, &key, &params).await?;
    let rows = state
        .db
        .key_granted_workspaces(key.scope(), target.id)
        .await?;
    Ok(Json(list(rows)))
}

#[utoipa::path(put, path = "/v1/orgs/{slug}/keys/{key_id}/workspaces/{ws}", tag = "keys",
    security(("api_key" = ["keys:write"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("key_id" = String, Path, description = "The key's public id (see the GET)."),
        ("ws" = String, Path, description = "A live workspace this calling key may act in."),
    ),
    responses(
        (status = 200, description = "Granted (or already was); the key's grants now.", body = WorkspaceList),
        (status = 401, description = "Missing or invalid key.", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:write`, is not bound to an org, or MFA is required.", body = ErrorBody),
        (status = 404, description = "No such key this key may manage, or no such live workspace this key may act in.", body = ErrorBody),
    ))]
pub async fn put_key_workspace(
    State(state): State<AppState>,
    key: ApiOrgKey<KeysWrite>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<WorkspaceList>, ApiError> {
    let target = target(&state, &key, &params).await?;
    let ws = param(&params, "ws")?;
    // Never beyond the caller: only a live workspace this key holds now.
    let workspace = state
        .db
        .key_workspaces(key.scope(), key.principal().key_id())
        .await?
        .into_iter()
        .find(|w| w.slug == ws && w.archived_at.is_none())
        .ok_or(ApiError::NotFound)?;
    state
        .db
        .grant_key_workspace(
            key.scope(),
            target.id,
            workspace.id,
            Event::by(key.principal().actor())
                .did("api_key.workspace_granted")
                .on("api_key", &target.public_id)
                .in_org(key.scope())
                .detail(
                    json!({ "workspace": workspace.slug, "via_key": key.principal().public_id() }),
                )
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?;
    let rows = state
        .db
        .key_granted_workspaces(key.scope(), target.id)
        .await?;
    Ok(Json(list(rows)))
}

#[utoipa::path(delete, path = "/v1/orgs/{slug}/keys/{key_id}/workspaces/{ws}", tag = "keys",
    security(("api_key" = ["keys:write"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("key_id" = String, Path, description = "The key's public id (see the GET)."),
        ("ws" = String, Path, description = "A workspace granted to that key."),
    ),
    responses(
        (status = 200, description = "Taken away; the key's grants now.", body = WorkspaceList),
        (status = 401, description = "Missing or invalid key.", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:write`, is not bound to an org, or MFA is required.", body = ErrorBody),
        (status = 404, description = "No such key this key may manage, or the workspace is not granted to it.", body = ErrorBody),
    ))]
pub async fn delete_key_workspace(
    State(state): State<AppState>,
    key: ApiOrgKey<KeysWrite>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<WorkspaceList>, ApiError> {
    let target = target(&state, &key, &params).await?;
    let ws = param(&params, "ws")?;
    let granted = state
        .db
        .key_granted_workspaces(key.scope(), target.id)
        .await?;
    let workspace = granted
        .iter()
        .find(|w| w.slug == ws)
        .ok_or(ApiError::NotFound)?;
    state
        .db
        .ungrant_key_workspace(
            key.scope(),
            target.id,
            workspace.id,
            Event::by(key.principal().actor())
                .did("api_key.workspace_ungranted")
                .on("api_key", &target.public_id)
                .in_org(key.scope())
                .detail(
                    json!({ "workspace": workspace.slug, "via_key": key.principal().public_id() }),
                )
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?;
    let rows = state
        .db
        .key_granted_workspaces(key.scope(), target.id)
        .await?;
    Ok(Json(list(rows)))
}
