//! `/v1/orgs/{slug}/workspaces/{ws}/config…`: a workspace's configuration
//! as a bundle (`gatehouse.config/v1`), its import (plan, apply) and its
//! snapshots.
//!
//! Invariants: every route needs the `:read` of every resource kind in the
//! workspace (a bundle shows them all), checked by `check_config_read`
//! before anything is read; apply needs at least one kind's `:write` before
//! its body is read (a Viewer is refused at once) and then the `:write` of
//! every kind the plan touches; a bad bundle is `422 invalid_bundle` naming
//! each fault by its path, and changes nothing; `plan=` names the plan the
//! caller confirmed, and an apply against another state is `409
//! plan_changed`. References resolve only inside the bundle and the
//! target workspace, so a bundle cannot reach another workspace or org.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody, FieldError};
use crate::auth::csrf::MAX_BUNDLE_BODY_BYTES;
use crate::authz::ApiWorkspaceKey;
use crate::authz::proof::ConfigRead;
use crate::authz::resource::{check_config_read, check_config_write, check_some_write};
use crate::db::audit::Event;
use crate::db::bundles::{ApplyError, ApplyRequest, SnapshotRow};
use crate::domain::bundle::{self, Action, Parsed, Plan, broken_references};
use crate::domain::resource_config::FieldProblem;
use crate::request::ClientInfo;
use crate::state::AppState;

/// How many resources a plan creates, updates, leaves and deletes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

impl PlanSummary {
    fn of(v: &Value) -> Self {
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
        PlanSummary {
            created: n("created"),
            updated: n("updated"),
            unchanged: n("unchanged"),
            deleted: n("deleted"),
        }
    }
}

/// What an import does to one resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedResource {
    /// `agent`, `tool`, `mcp_server` or `schedule`.
    pub kind: String,
    pub name: String,
    /// `create`, `update`, `unchanged` or `delete`.
    pub action: String,
    /// With `update`: `{field: {before, after}}` for each changed field
    /// (`description`, `metadata`, `config`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Value>,
}

/// The plan of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    /// Names this plan: pass it as `plan=` to apply exactly it.
    pub id: String,
    pub prune: bool,
    pub summary: PlanSummary,
    /// Every resource of the workspace or the bundle, by kind then name.
    pub resources: Vec<PlannedResource>,
    /// The `:write` permissions applying it needs.
    pub permissions_needed: Vec<String>,
    /// Those of them this key lacks here.
    pub permissions_missing: Vec<String>,
}

/// What an apply did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplyOut {
    /// False when the workspace already matched (nothing written).
    pub applied: bool,
    /// The snapshot stored (absent when nothing changed).
    pub snapshot: Option<Uuid>,
    pub plan: PlanOut,
}

/// A snapshot in a workspace's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct Snapshot {
    pub id: Uuid,
    /// Unix seconds.
    pub created_at: i64,
    pub created_by: String,
    pub summary: PlanSummary,
    /// Whether the apply deleted what its bundle did not hold.
    pub pruned: bool,
    /// The snapshot this apply restored, if it was a restore.
    pub restored_from: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotList {
    /// Newest first (at most 100).
    pub snapshots: Vec<Snapshot>,
}

/// A snapshot with the bundles before and after, and the difference.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotDetail {
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// The workspace's bundle before the apply.
    #[schema(value_type = Object)]
    pub before: Value,
    /// The workspace's bundle after it.
    #[schema(value_type = Object)]
    pub after: Value,
    /// What changed from `before` to `after` (unchanged resources left out).
    pub changes: Vec<PlannedResource>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true` to delete the workspace's resources the bundle does not hold.
    pub prune: Option<String>,
    /// (apply) The `id` of the plan confirmed: refused with `plan_changed`
    /// when the workspace changed since. Without it, whatever the plan is
    /// now is applied.
    pub plan: Option<String>,
}

fn snapshot_out(r: &SnapshotRow) -> Snapshot {
    Snapshot {
        id: r.id,
        created_at: r.created_at,
        created_by: r.created_by.clone(),
        summary: PlanSummary::of(&r.summary_value()),
        pruned: r.pruned,
        restored_from: r.restored_from,
    }
}

fn planned(plan: &Plan, with_unchanged: bool) -> Vec<PlannedResource> {
    plan.items
        .iter()
        .filter(|i| with_unchanged || i.action != Action::Unchanged)
        .map(|i| PlannedResource {
            kind: i.kind.as_str().to_owned(),
            name: i.name.clone(),
            action: i.action.as_str().to_owned(),
            changes: match &i.action {
                Action::Update(d) => Some(Value::Object(d.clone())),
                _ => None,
            },
        })
        .collect()
}

fn plan_out(plan: &Plan, read: &ConfigRead) -> PlanOut {
    let needed: Vec<_> = plan
        .kinds_touched()
        .into_iter()
        .map(|k| k.write_permission())
        .collect();
    PlanOut {
        id: plan.id.clone(),
        prune: plan.prune,
        summary: PlanSummary::of(&plan.summary()),
        resources: planned(plan, true),
        permissions_needed: needed.iter().map(|p| p.as_str().to_owned()).collect(),
        permissions_missing: needed
            .iter()
            .filter(|p| !read.scope().allows(**p))
            .map(|p| p.as_str().to_owned())
            .collect(),
    }
}

fn invalid_bundle(problems: Vec<FieldProblem>) -> ApiError {
    ApiError::InvalidBundle(
        problems
            .into_iter()
            .map(|p| FieldError {
                field: p.field,
                message: p.message,
            })
            .collect(),
    )
}

/// The key's proof of every kind's `:read` here, or 403 naming the first
/// missing one.
fn reader(key: &ApiWorkspaceKey) -> Result<ConfigRead, ApiError> {
    check_config_read(key.scope()).map_err(|d| denied(key, d))
}

fn denied(key: &ApiWorkspaceKey, d: crate::authz::Denied) -> ApiError {
    match d {
        crate::authz::Denied::MissingPermission(permission) => ApiError::InsufficientPermission {
            permission,
            key_has_it: key.principal().scopes().permissions().contains(permission),
        },
        other => other.into(),
    }
}

fn params(query: Option<&str>) -> Result<(bool, Option<String>), ApiError> {
    let p: ImportParams = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| ApiError::invalid("query", "The query string is malformed."))?;
    let prune = match p.prune.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("prune", "Use `true` or `false`.")),
    };
    Ok((prune, p.plan))
}

fn is_json(headers: &HeaderMap) -> bool {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .rsplit_once('+')
            .is_some_and(|(ty, suffix)| ty.starts_with("application/") && suffix == "json")
}

/// The bundle of the request body, checked.
async fn read_bundle(headers: &HeaderMap, body: Body) -> Result<Parsed, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = axum::body::to_bytes(body, MAX_BUNDLE_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    bundle::parse(&bytes).map_err(invalid_bundle)
}

/// The plan of importing `parsed` into the workspace, its references
/// checked against the state it leads to.
async fn plan_of(
    state: &AppState,
    read: &ConfigRead,
    parsed: &Parsed,
    prune: bool,
) -> Result<Plan, ApiError> {
    let current = state.db.workspace_bundle(read).await?;
    let plan = bundle::plan(&current, &parsed.bundle, prune);
    let broken = broken_references(&parsed.references, &plan.result);
    if !broken.is_empty() {
        return Err(invalid_bundle(broken));
    }
    Ok(plan)
}

/// The text of a bundle as a JSON response.
fn bundle_response(text: String) -> Response {
    let mut res = (StatusCode::OK, text).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/config", tag = "workspaces",
    operation_id = "export_config",
    security(("api_key" = ["agents:read", "tools:read", "mcp:read", "schedules:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("ws" = String, Path, description = "The workspace's slug"),
    ),
    responses(
        (status = 200, description = "The workspace's configuration bundle (`gatehouse.config/v1`): every live resource by kind then name with its description, metadata and config; keys sorted, so two exports of the same state are byte-identical", body = Object),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks one kind's `:read` here (`insufficient_permission`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key", body = ErrorBody),
    ))]
pub async fn export_config(
    State(state): State<AppState>,
    key: ApiWorkspaceKey,
) -> Result<Response, ApiError> {
    let read = reader(&key)?;
    let bundle = state.db.workspace_bundle(&read).await?;
    Ok(bundle_response(bundle.render()))
}

#[utoipa::path(post, path = "/v1/orgs/{slug}/workspaces/{ws}/config/plan", tag = "workspaces",
    operation_id = "plan_config",
    security(("api_key" = ["agents:read", "tools:read", "mcp:read", "schedules:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("ws" = String, Path, description = "The workspace's slug"),
        ImportParams,
    ),
    request_body(content = Object, description = "A configuration bundle (`gatehouse.config/v1`, at most 5 MiB)", content_type = "application/json"),
    responses(
        (status = 200, description = "What importing it would do; nothing is changed", body = PlanOut),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks one kind's `:read` here (`insufficient_permission`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key", body = ErrorBody),
        (status = 413, description = "Body over 16 MiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "A bundle that cannot be imported (`invalid_bundle`: not JSON, another version, over 5 MiB, an unknown kind, a field its kind refuses, a broken reference; `fields` names each by its path), or a bad `prune` (`validation_failed`)", body = ErrorBody),
    ))]
pub async fn plan_config(
    State(state): State<AppState>,
    key: ApiWorkspaceKey,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PlanOut>, ApiError> {
    let read = reader(&key)?;
    let (prune, _) = params(query.as_deref())?;
    let parsed = read_bundle(&headers, body).await?;
    let plan = plan_of(&state, &read, &parsed, prune).await?;
    Ok(Json(plan_out(&plan, &read)))
}

#[utoipa::path(post, path = "/v1/orgs/{slug}/workspaces/{ws}/config/apply", tag = "workspaces",
    operation_id = "apply_config",
    security(("api_key" = ["agents:read", "tools:read", "mcp:read", "schedules:read", "agents:write", "tools:write", "mcp:write", "schedules:write"])),
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("ws" = String, Path, description = "The workspace's slug"),
        ImportParams,
    ),
    request_body(content = Object, description = "A configuration bundle (`gatehouse.config/v1`, at most 5 MiB)", content_type = "application/json"),
    responses(
        (status = 200, description = "Applied in one transaction, with a snapshot of the workspace before and after (or nothing to do: `applied` false, nothing written)", body = ApplyOut),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks one kind's `:read`, any `:write`, or the `:write` of a kind the plan touches (`insufficient_permission` names it); nothing changed", body = ErrorBody),
        (status = 404, description = "No such workspace for this key", body = ErrorBody),
        (status = 409, description = "The workspace changed since the plan named by `plan=` (`plan_changed`), or was archived (`workspace_archived`); nothing changed", body = ErrorBody),
        (status = 413, description = "Body over 16 MiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "A bundle that cannot be imported (`invalid_bundle`, `fields` names each fault); nothing changed", body = ErrorBody),
    ))]
pub async fn apply_config(
    State(state): State<AppState>,
    key: ApiWorkspaceKey,
    client: ClientInfo,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ApplyOut>, ApiError> {
    let read = reader(&key)?;
    check_some_write(&read).map_err(|d| denied(&key, d))?;
    let (prune, expected) = params(query.as_deref())?;
    let parsed = read_bundle(&headers, body).await?;
    let plan = plan_of(&state, &read, &parsed, prune).await?;
    let write = check_config_write(&read, &plan.kinds_touched()).map_err(|d| denied(&key, d))?;
    let actor = key.principal().actor();
    let event = Event::by(actor.clone())
        .did("config.applied")
        .in_org(read.scope().org())
        .detail(json!({ "via_key": key.principal().public_id() }))
        .from(&client.origin());
    let req = ApplyRequest {
        bundle: &parsed.bundle,
        references: &parsed.references,
        prune,
        expected_plan: expected.as_deref(),
        restored_from: None,
    };
    match state
        .db
        .apply_bundle(&write, &req, &actor, event, state.clock.unix())
        .await
    {
        Ok(applied) => Ok(Json(ApplyOut {
            applied: applied.snapshot.is_some(),
            snapshot: applied.snapshot,
            plan: plan_out(&applied.plan, &read),
        })),
        Err(e) => Err(apply_error(&key, e)),
    }
}

fn apply_error(key: &ApiWorkspaceKey, e: ApplyError) -> ApiError {
    match e {
        ApplyError::PlanChanged(_) | ApplyError::Raced => ApiError::Conflict {
            code: "plan_changed",
            message: "The workspace changed since this plan was made; nothing was changed. \
                      Plan again and apply the new plan.",
        },
        ApplyError::Invalid(p) => invalid_bundle(p),
        ApplyError::NotWritable(kind) => denied(
            key,
            crate::authz::Denied::MissingPermission(kind.write_permission()),
        ),
        ApplyError::Archived => ApiError::Conflict {
            code: "workspace_archived",
            message: "The workspace is archived (read-only); nothing was changed.",
        },
        ApplyError::Storage(e) => ApiError::Internal(e.into()),
    }
}

#[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/snapshots", tag = "workspaces",
    operation_id = "list_snapshots",
    security(("api_key" = ["agents:read", "tools:read", "mcp:read", "schedules:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("ws" = String, Path, description = "The workspace's slug"),
    ),
    responses(
        (status = 200, description = "The workspace's snapshots, newest first", body = SnapshotList),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks one kind's `:read` here (`insufficient_permission`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key", body = ErrorBody),
    ))]
pub async fn list_snapshots(
    State(state): State<AppState>,
    key: ApiWorkspaceKey,
) -> Result<Json<SnapshotList>, ApiError> {
    let read = reader(&key)?;
    let rows = state.db.list_snapshots(&read).await?;
    Ok(Json(SnapshotList {
        snapshots: rows.iter().map(snapshot_out).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/snapshots/{snapshot}", tag = "workspaces",
    operation_id = "get_snapshot",
    security(("api_key" = ["agents:read", "tools:read", "mcp:read", "schedules:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("ws" = String, Path, description = "The workspace's slug"),
        ("snapshot" = uuid::Uuid, Path, description = "A snapshot of this workspace"),
    ),
    responses(
        (status = 200, description = "The snapshot, its bundles and their difference; to restore it, plan and apply its `before` (or `after`) with `prune=true`", body = SnapshotDetail),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks one kind's `:read` here (`insufficient_permission`)", body = ErrorBody),
        (status = 404, description = "No such snapshot in this workspace (`not_found`)", body = ErrorBody),
    ))]
pub async fn get_snapshot(
    State(state): State<AppState>,
    key: ApiWorkspaceKey,
    path: RawPathParams,
) -> Result<Json<SnapshotDetail>, ApiError> {
    let read = reader(&key)?;
    let id = path
        .iter()
        .find(|(k, _)| *k == "snapshot")
        .map(|(_, v)| v)
        .filter(|v| v.len() == 36)
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or(ApiError::NotFound)?;
    let s = state
        .db
        .snapshot(&read, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let plan = s.changes();
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    Ok(Json(SnapshotDetail {
        snapshot: snapshot_out(&s.row()),
        before: parse(&s.before_bundle),
        after: parse(&s.after_bundle),
        changes: planned(&plan, false),
    }))
}
