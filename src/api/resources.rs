//! `/v1/orgs/{slug}/workspaces/{ws}/{kind}` for the four resource kinds
//! (`agents`, `tools`, `mcp-servers`, `schedules`): list (keyset; the
//! deleted view for writers), create, read, patch (JSON merge patch with
//! optimistic concurrency), delete (soft) and restore.
//!
//! Invariants: each handler is registered once per kind (`list::<Agents>`,
//! …) and its extractor names the kind's permission (`:read` to read,
//! `:write` to change), so the workspace and the permission are checked
//! before anything is read; the resource is looked up through that scope, so
//! another workspace's or org's id is 404; writes take the `WriteProof`
//! minted from the write permission's proof; a stale version changes nothing
//! (412 with `If-Match`, 409 with a `version` field) and answers the current
//! resource; every change is audited in the same transaction.

use axum::Json;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::{IntoParams, Modify, ToSchema};
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, FieldError};
use crate::authz::resource::{KindSpec, write_proof};
use crate::authz::{ApiWorkspaceCan, WorkspaceScope};
use crate::db::audit::Event;
use crate::db::resources::{MAX_PAGE, ResourceCursor, ResourceError, ResourceRow};
use crate::domain::ResourceKind;
use crate::domain::resource_config::{FieldProblem, check_input, merge_patch};
use crate::request::ClientInfo;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 50;

/// A resource as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resource {
    pub id: Uuid,
    /// `agent`, `tool`, `mcp_server` or `schedule`.
    pub kind: String,
    pub name: String,
    pub description: String,
    /// String labels.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// The kind's configuration document.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Increases with every change; send it back as `If-Match` (or
    /// `version`) to update.
    pub version: i64,
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_by: String,
    pub updated_at: i64,
    /// Set on a deleted resource (the deleted view): unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
}

impl From<&ResourceRow> for Resource {
    fn from(r: &ResourceRow) -> Self {
        Resource {
            id: r.id,
            kind: r.kind.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            metadata: r.metadata_value(),
            config: r.config_value(),
            version: r.version,
            created_by: r.created_by.clone(),
            created_at: r.created_at,
            updated_by: r.updated_by.clone(),
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            deleted_by: r.deleted_by.clone(),
        }
    }
}

/// A page of resources, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourcePage {
    pub resources: Vec<Resource>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A new resource.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    /// 1–100 characters, one line; unique among the live resources of the
    /// kind in the workspace.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// At most 1000 characters.
    #[serde(default)]
    pub description: String,
    /// At most 32 string labels (key ≤ 64, value ≤ 256 characters).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// A JSON object (≤ 64 KiB) checked for the kind: agents need `model`
    /// (and may list `instructions`, `tools`, `mcp_servers` by name); tools
    /// `type` (`http`/`function`), `endpoint` for http, `input_schema`; MCP
    /// servers `url` (https, or http on localhost) and `transport`
    /// (`streamable-http`/`sse`); schedules `agent`, `cron`, `timezone`,
    /// `enabled`. Names refer to live resources of this workspace only.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: Value,
}

fn empty_object() -> Value {
    json!({})
}

/// A change: each field given replaces the current one, `metadata` and
/// `config` as JSON merge patches (RFC 7396: `null` removes a key).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcePatch {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// The version the change is based on, when no `If-Match` is sent.
    #[schema(minimum = 1)]
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1–100 (default 50).
    pub limit: Option<String>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// `true` for the deleted (restorable) resources; needs the kind's
    /// `:write`.
    pub deleted: Option<String>,
}

fn validation(problems: Vec<FieldProblem>) -> ApiError {
    ApiError::Validation(
        problems
            .into_iter()
            .map(|p| FieldError {
                field: p.field,
                message: p.message,
            })
            .collect(),
    )
}

/// An error body with extra members beside `code` and `message`.
fn error_with(status: StatusCode, code: &str, message: &str, extra: Value) -> Response {
    let mut detail = json!({ "code": code, "message": message });
    if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    (status, Json(json!({ "error": detail }))).into_response()
}

fn name_taken() -> Response {
    error_with(
        StatusCode::CONFLICT,
        "name_taken",
        "Another live resource of this kind in this workspace has this name.",
        json!({ "fields": [{ "field": "name", "message": "is taken in this workspace" }] }),
    )
}

fn version_conflict(status: StatusCode, current: &ResourceRow) -> Response {
    let mut res = error_with(
        status,
        "version_conflict",
        "The resource changed since that version; nothing was changed. `current` is the \
         resource now: apply your change to it and send its version.",
        json!({ "current": Resource::from(current) }),
    );
    set_etag(&mut res, current.version);
    res
}

fn set_etag(res: &mut Response, version: i64) {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
}

fn with_etag(status: StatusCode, row: &ResourceRow) -> Response {
    let mut res = (status, Json(Resource::from(row))).into_response();
    set_etag(&mut res, row.version);
    res
}

/// `{id}`: a hyphenated UUID; anything else is simply not found.
fn resource_id(params: &RawPathParams) -> Result<Uuid, ApiError> {
    params
        .iter()
        .find(|(k, _)| *k == "id")
        .map(|(_, v)| v)
        .filter(|v| v.len() == 36)
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or(ApiError::NotFound)
}

fn collection_path(scope: &WorkspaceScope, kind: ResourceKind) -> String {
    format!(
        "/v1/orgs/{}/workspaces/{}/{}",
        scope.org().slug(),
        scope.slug(),
        kind.segment()
    )
}

/// The versions an `If-Match` header accepts: `None` without the header,
/// `Some(None)` for `*`, `Some(Some(list))` otherwise (a tag that is not a
/// version matches nothing).
fn if_match(headers: &HeaderMap) -> Option<Option<Vec<i64>>> {
    let raw = headers.get(header::IF_MATCH)?.to_str().unwrap_or("");
    if raw.trim() == "*" {
        return Some(None);
    }
    Some(Some(
        raw.split(',')
            .filter_map(|t| {
                let t = t.trim();
                let t = t.strip_prefix("W/").unwrap_or(t);
                t.trim_matches('"').parse::<i64>().ok()
            })
            .collect(),
    ))
}

fn event(
    key_actor: crate::db::audit::Actor,
    via_key: &str,
    client: &ClientInfo,
    action: &'static str,
    scope: &WorkspaceScope,
) -> Event {
    Event::by(key_actor)
        .did(action)
        .in_org(scope.org())
        .detail(json!({ "via_key": via_key }))
        .from(&client.origin())
}

/// Lists the live resources of the kind by name (keyset pages), or with
/// `deleted=true` the deleted ones still restorable (writers only).
pub async fn list<K: KindSpec>(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<K::Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResourcePage>, ApiError> {
    let p: ListParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::invalid("query", "The query string is malformed."))?;
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "Use a whole number from 1 to 100.",
                ));
            }
        },
    };
    let after = match p.after.as_deref() {
        None => None,
        Some(a) => Some(
            ResourceCursor::decode(a)
                .ok_or_else(|| ApiError::invalid("after", "Pass the `next` value of a page."))?,
        ),
    };
    let deleted = match p.deleted.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("deleted", "Use `true` or `false`.")),
    };
    let scope = key.scope();
    let mut rows = if deleted {
        let proof = crate::authz::resource::check_write(scope, K::KIND).map_err(|_| {
            ApiError::InsufficientPermission {
                permission: K::KIND.write_permission(),
                key_has_it: key
                    .principal()
                    .scopes()
                    .permissions()
                    .contains(K::KIND.write_permission()),
            }
        })?;
        state
            .db
            .list_deleted_resources(&proof, after.as_ref(), limit + 1, state.clock.unix())
            .await?
    } else {
        state
            .db
            .list_resources(scope, K::KIND, after.as_ref(), limit + 1)
            .await?
    };
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| ResourceCursor::of(r).encode())
    } else {
        None
    };
    Ok(Json(ResourcePage {
        resources: rows.iter().map(Resource::from).collect(),
        next,
    }))
}

/// Creates a resource of the kind.
pub async fn create<K: KindSpec>(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<K::Write>,
    client: ClientInfo,
    ApiJson(body): ApiJson<NewResource>,
) -> Result<Response, ApiError> {
    let scope = key.scope();
    let (input, refs) = check_input(
        K::KIND,
        &body.name,
        &body.description,
        &body.metadata,
        &body.config,
    )
    .map_err(validation)?;
    let problems = state.db.check_references(scope, &refs).await?;
    if !problems.is_empty() {
        return Err(validation(problems));
    }
    let proof = write_proof::<K>(key.allowed());
    let actor = key.principal().actor();
    let ev = event(
        actor.clone(),
        key.principal().public_id(),
        &client,
        "resource.created",
        scope,
    );
    let row = match state
        .db
        .create_resource(&proof, &input, &actor, ev, state.clock.unix())
        .await
    {
        Ok(row) => row,
        Err(ResourceError::NameTaken) => return Ok(name_taken()),
        Err(ResourceError::Invalid(problems)) => return Err(validation(problems)),
        Err(e) => return Err(ApiError::Internal(e.into())),
    };
    let mut res = with_etag(StatusCode::CREATED, &row);
    if let Ok(v) = HeaderValue::from_str(&format!("{}/{}", collection_path(scope, K::KIND), row.id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// One live resource of the kind, with its version as `ETag`.
pub async fn show<K: KindSpec>(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<K::Read>,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    let id = resource_id(&params)?;
    let row = state
        .db
        .live_resource(key.scope(), K::KIND, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(with_etag(StatusCode::OK, &row))
}

/// Changes a live resource, based on the version named by `If-Match` (412
/// when stale) or by the body's `version` (409 when stale).
pub async fn update<K: KindSpec>(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<K::Write>,
    client: ClientInfo,
    headers: HeaderMap,
    params: RawPathParams,
    ApiJson(body): ApiJson<ResourcePatch>,
) -> Result<Response, ApiError> {
    let id = resource_id(&params)?;
    let scope = key.scope();
    let current = state
        .db
        .live_resource(scope, K::KIND, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (expected, stale_status) = match (if_match(&headers), body.version) {
        (Some(None), _) => (current.version, StatusCode::PRECONDITION_FAILED),
        (Some(Some(tags)), _) => {
            if !tags.contains(&current.version) {
                return Ok(version_conflict(StatusCode::PRECONDITION_FAILED, &current));
            }
            (current.version, StatusCode::PRECONDITION_FAILED)
        }
        (None, Some(v)) => (v, StatusCode::CONFLICT),
        (None, None) => {
            return Err(ApiError::invalid(
                "version",
                "is required: send the version you are changing, as `If-Match` or here",
            ));
        }
    };
    if expected != current.version {
        return Ok(version_conflict(stale_status, &current));
    }
    let mut metadata = current.metadata_value();
    if let Some(m) = &body.metadata {
        merge_patch(&mut metadata, m);
    }
    let mut config = current.config_value();
    if let Some(c) = &body.config {
        merge_patch(&mut config, c);
    }
    let (input, refs) = check_input(
        K::KIND,
        body.name.as_deref().unwrap_or(&current.name),
        body.description.as_deref().unwrap_or(&current.description),
        &metadata,
        &config,
    )
    .map_err(validation)?;
    let problems = state.db.check_references(scope, &refs).await?;
    if !problems.is_empty() {
        return Err(validation(problems));
    }
    let proof = write_proof::<K>(key.allowed());
    let actor = key.principal().actor();
    let ev = event(
        actor.clone(),
        key.principal().public_id(),
        &client,
        "resource.updated",
        scope,
    );
    match state
        .db
        .update_resource(&proof, id, expected, &input, &actor, ev, state.clock.unix())
        .await
    {
        Ok(row) => Ok(with_etag(StatusCode::OK, &row)),
        Err(ResourceError::Stale(now)) => Ok(version_conflict(stale_status, &now)),
        Err(ResourceError::Invalid(problems)) => Err(validation(problems)),
        Err(ResourceError::NameTaken) => Ok(name_taken()),
        Err(ResourceError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

/// Deletes a live resource (restorable for 30 days).
pub async fn delete<K: KindSpec>(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<K::Write>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    let id = resource_id(&params)?;
    let scope = key.scope();
    let proof = write_proof::<K>(key.allowed());
    let actor = key.principal().actor();
    let ev = event(
        actor.clone(),
        key.principal().public_id(),
        &client,
        "resource.deleted",
        scope,
    );
    match state
        .db
        .delete_resource(&proof, id, &actor, ev, state.clock.unix())
        .await
    {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(ResourceError::NotFound) => Err(ApiError::NotFound),
        Err(ResourceError::InUse(schedules)) => Ok(error_with(
            StatusCode::CONFLICT,
            "resource_in_use",
            "Enabled schedules run this agent; disable or delete them first. Nothing was \
             changed.",
            json!({ "schedules": schedules }),
        )),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

/// Restores a resource deleted less than 30 days ago.
pub async fn restore<K: KindSpec>(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<K::Write>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    let id = resource_id(&params)?;
    let scope = key.scope();
    let proof = write_proof::<K>(key.allowed());
    let actor = key.principal().actor();
    let ev = event(
        actor,
        key.principal().public_id(),
        &client,
        "resource.restored",
        scope,
    );
    match state
        .db
        .restore_resource(&proof, id, ev, state.clock.unix())
        .await
    {
        Ok(row) => Ok(with_etag(StatusCode::OK, &row)),
        Err(ResourceError::NotFound) => Err(ApiError::NotFound),
        Err(ResourceError::NameTaken) => Ok(name_taken()),
        // An enabled schedule whose agent is gone.
        Err(ResourceError::Invalid(problems)) => Err(validation(problems)),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

/// The OpenAPI description: written once with a `{kind}` placeholder (the
/// `doc` functions) and expanded by `PerKindPaths` into the four concrete
/// collections, each with its own permission.
pub mod doc {
    use super::{ListParams, NewResource, Resource, ResourcePage, ResourcePatch};
    use crate::api::error::ErrorBody;

    /// The path template `PerKindPaths` expands.
    pub const TEMPLATE: &str = "/v1/orgs/{slug}/workspaces/{ws}/{kind}";

    #[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/{kind}", tag = "workspaces",
        operation_id = "list_resources",
        security(("api_key" = ["{kind}:read"])),
        params(
            ("slug" = String, Path, description = "The organization's slug"),
            ("ws" = String, Path, description = "The workspace's slug"),
            ListParams,
        ),
        responses(
            (status = 200, description = "A page of resources, by name", body = ResourcePage),
            (status = 401, description = "Missing or invalid key", body = ErrorBody),
            (status = 403, description = "The key lacks the kind's `:read` here (or its `:write` with `deleted=true`): `insufficient_permission` names it", body = ErrorBody),
            (status = 404, description = "No such workspace for this key", body = ErrorBody),
            (status = 422, description = "Invalid `limit`, `after` or `deleted` (`validation_failed`)", body = ErrorBody),
        ))]
    pub fn list() {}

    #[utoipa::path(post, path = "/v1/orgs/{slug}/workspaces/{ws}/{kind}", tag = "workspaces",
        operation_id = "create_resource",
        security(("api_key" = ["{kind}:write"])),
        params(
            ("slug" = String, Path, description = "The organization's slug"),
            ("ws" = String, Path, description = "The workspace's slug"),
        ),
        request_body = NewResource,
        responses(
            (status = 201, description = "Created; `Location` names it and `ETag` is its version", body = Resource),
            (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
            (status = 401, description = "Missing or invalid key", body = ErrorBody),
            (status = 403, description = "The key lacks the kind's `:write` here (`insufficient_permission`)", body = ErrorBody),
            (status = 404, description = "No such workspace for this key", body = ErrorBody),
            (status = 409, description = "The name is taken among the kind's live resources here (`name_taken`)", body = ErrorBody),
            (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
            (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
            (status = 422, description = "Invalid fields, e.g. `config.model` is required (`validation_failed`); nothing changed", body = ErrorBody),
        ))]
    pub fn create() {}

    #[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/{kind}/{id}", tag = "workspaces",
        operation_id = "get_resource",
        security(("api_key" = ["{kind}:read"])),
        params(
            ("slug" = String, Path, description = "The organization's slug"),
            ("ws" = String, Path, description = "The workspace's slug"),
            ("id" = uuid::Uuid, Path, description = "A live resource of this kind in this workspace"),
        ),
        responses(
            (status = 200, description = "The resource; `ETag` is its version", body = Resource),
            (status = 401, description = "Missing or invalid key", body = ErrorBody),
            (status = 403, description = "The key lacks the kind's `:read` here (`insufficient_permission`)", body = ErrorBody),
            (status = 404, description = "No such live resource in this workspace (`not_found`)", body = ErrorBody),
        ))]
    pub fn show() {}

    #[utoipa::path(patch, path = "/v1/orgs/{slug}/workspaces/{ws}/{kind}/{id}", tag = "workspaces",
        operation_id = "update_resource",
        security(("api_key" = ["{kind}:write"])),
        params(
            ("slug" = String, Path, description = "The organization's slug"),
            ("ws" = String, Path, description = "The workspace's slug"),
            ("id" = uuid::Uuid, Path, description = "A live resource of this kind in this workspace"),
            ("If-Match" = Option<String>, Header, description = "The version the change is based on (the `ETag`); or send `version` in the body"),
        ),
        request_body = ResourcePatch,
        responses(
            (status = 200, description = "The resource now; `ETag` is its new version", body = Resource),
            (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
            (status = 401, description = "Missing or invalid key", body = ErrorBody),
            (status = 403, description = "The key lacks the kind's `:write` here (`insufficient_permission`)", body = ErrorBody),
            (status = 404, description = "No such live resource in this workspace (`not_found`)", body = ErrorBody),
            (status = 409, description = "The body's `version` is stale (`version_conflict`, with `current`), or the name is taken (`name_taken`); nothing changed", body = ErrorBody),
            (status = 412, description = "`If-Match` names a stale version (`version_conflict`, with `current`); nothing changed", body = ErrorBody),
            (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
            (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
            (status = 422, description = "Invalid fields, or no version given (`validation_failed`); nothing changed", body = ErrorBody),
        ))]
    pub fn update() {}

    #[utoipa::path(delete, path = "/v1/orgs/{slug}/workspaces/{ws}/{kind}/{id}", tag = "workspaces",
        operation_id = "delete_resource",
        security(("api_key" = ["{kind}:write"])),
        params(
            ("slug" = String, Path, description = "The organization's slug"),
            ("ws" = String, Path, description = "The workspace's slug"),
            ("id" = uuid::Uuid, Path, description = "A live resource of this kind in this workspace"),
        ),
        responses(
            (status = 204, description = "Deleted: hidden, kept in its workspace and restorable for 30 days"),
            (status = 401, description = "Missing or invalid key", body = ErrorBody),
            (status = 403, description = "The key lacks the kind's `:write` here (`insufficient_permission`)", body = ErrorBody),
            (status = 404, description = "No such live resource in this workspace (`not_found`)", body = ErrorBody),
            (status = 409, description = "An agent that enabled schedules run (`resource_in_use`; `schedules` names them); nothing changed", body = ErrorBody),
        ))]
    pub fn delete() {}

    #[utoipa::path(post, path = "/v1/orgs/{slug}/workspaces/{ws}/{kind}/{id}/restore", tag = "workspaces",
        operation_id = "restore_resource",
        security(("api_key" = ["{kind}:write"])),
        params(
            ("slug" = String, Path, description = "The organization's slug"),
            ("ws" = String, Path, description = "The workspace's slug"),
            ("id" = uuid::Uuid, Path, description = "A resource of this kind deleted here less than 30 days ago"),
        ),
        responses(
            (status = 200, description = "Restored", body = Resource),
            (status = 401, description = "Missing or invalid key", body = ErrorBody),
            (status = 403, description = "The key lacks the kind's `:write` here (`insufficient_permission`)", body = ErrorBody),
            (status = 404, description = "No such deleted resource here, or deleted more than 30 days ago (`not_found`)", body = ErrorBody),
            (status = 409, description = "A live resource of this kind now has its name (`name_taken`); nothing changed", body = ErrorBody),
            (status = 422, description = "An enabled schedule whose agent is no longer live here (`validation_failed`, field `config.agent`); restore the agent first", body = ErrorBody),
        ))]
    pub fn restore() {}
}

/// Expands the `{kind}` template of `doc` into the four collections.
pub struct PerKindPaths;

impl Modify for PerKindPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let templates: Vec<String> = openapi
            .paths
            .paths
            .keys()
            .filter(|p| p.starts_with(doc::TEMPLATE))
            .cloned()
            .collect();
        for template in templates {
            let Some(item) = openapi.paths.paths.swap_remove(&template) else {
                continue;
            };
            for kind in ResourceKind::ALL {
                let mut item = item.clone();
                for op in [
                    &mut item.get,
                    &mut item.post,
                    &mut item.patch,
                    &mut item.delete,
                ]
                .into_iter()
                .flatten()
                {
                    op.operation_id = op
                        .operation_id
                        .as_ref()
                        .map(|id| format!("{id}_{}", kind.as_str()));
                    let needs = op
                        .security
                        .as_ref()
                        .map(|s| serde_json::to_string(s).unwrap_or_default())
                        .unwrap_or_default();
                    let permission = if needs.contains("{kind}:write") {
                        kind.write_permission()
                    } else {
                        kind.read_permission()
                    };
                    op.security = Some(vec![SecurityRequirement::new(
                        "api_key",
                        [permission.as_str()],
                    )]);
                }
                let path = template.replace("{kind}", kind.segment());
                openapi.paths.paths.insert(path, item);
            }
        }
    }
}
