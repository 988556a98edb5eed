//! Runs over `/v1`: Gatehouse records runs, an executor performs them.
//!
//! - `POST …/agents/{id}/runs` (`agents:run`): request a run of a live agent
//!   of the workspace, with an optional JSON `input`; 201 with the run,
//!   `queued`.
//! - `PATCH …/runs/{run_id}` (`runs:write`): an executor reports `running`,
//!   then `succeeded` / `failed` (with `output` or `error`) or `cancelled`;
//!   a transition the life of a run does not allow is 409
//!   `illegal_transition` naming `from` and `to`, and changes nothing.
//! - `GET …/runs`, `GET …/agents/{id}/runs` (`runs:read`): the history,
//!   newest first, keyset pages, filtered by status and time; `GET
//!   …/runs/{run_id}`: one run.
//!
//! Invariant: everything goes through the workspace proofs of the key
//! (`ApiWorkspaceCan<P>`), so an agent or run id of another workspace or org
//! is 404 like a missing one, and every change is audited in its
//! transaction (`db::runs`).

use axum::Json;
use axum::extract::{FromRequest, RawPathParams, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody, FieldError};
use super::orgs::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::authz::ApiWorkspaceCan;
use crate::authz::workspace::perm;
use crate::db::audit::Event;
use crate::db::runs::{RunCursor, RunFilter, RunRow, StatusChange, StatusReport};
use crate::domain::run::{document, parse_instant};
use crate::domain::{ResourceKind, RunStatus};
use crate::request::ClientInfo;
use crate::state::AppState;

/// A run's status.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatusName {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl From<RunStatusName> for RunStatus {
    fn from(s: RunStatusName) -> Self {
        match s {
            RunStatusName::Queued => RunStatus::Queued,
            RunStatusName::Running => RunStatus::Running,
            RunStatusName::Succeeded => RunStatus::Succeeded,
            RunStatusName::Failed => RunStatus::Failed,
            RunStatusName::Cancelled => RunStatus::Cancelled,
        }
    }
}

impl From<RunStatus> for RunStatusName {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Queued => RunStatusName::Queued,
            RunStatus::Running => RunStatusName::Running,
            RunStatus::Succeeded => RunStatusName::Succeeded,
            RunStatus::Failed => RunStatusName::Failed,
            RunStatus::Cancelled => RunStatusName::Cancelled,
        }
    }
}

/// One run of an agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub id: Uuid,
    pub agent_id: Uuid,
    /// The agent's name.
    pub agent: String,
    pub status: RunStatusName,
    /// The requester's input, as sent (absent when none).
    #[schema(value_type = Option<Object>)]
    pub input: Option<serde_json::Value>,
    /// The executor's output, once finished.
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    /// The executor's error message, for a failed or cancelled run.
    pub error: Option<String>,
    /// Who requested it: an email, `service account: <name>`, or
    /// `schedule:<name>` for a scheduled run.
    pub requested_by: String,
    /// The schedule that enqueued it, if any.
    pub schedule_id: Option<Uuid>,
    /// The schedule's due time it was enqueued for (unix seconds).
    pub due_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
}

fn json_of(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl From<RunRow> for Run {
    fn from(r: RunRow) -> Self {
        Run {
            id: r.id,
            agent_id: r.agent_id,
            status: r.status().into(),
            agent: r.agent_name,
            input: json_of(r.input),
            output: json_of(r.output),
            error: r.error,
            requested_by: r.requested_by,
            schedule_id: r.schedule_id,
            due_at: r.due_at,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            updated_at: r.updated_at,
        }
    }
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub runs: Vec<Run>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// A run request; the body may also be empty (no input).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequestBody {
    /// Any JSON document for the executor, at most 64 KiB.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub input: Option<serde_json::Value>,
}

/// An executor's report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStatusBody {
    /// The new status: `running` from `queued`; `succeeded`, `failed` or
    /// `cancelled` from `running`; `cancelled` from `queued`.
    pub status: RunStatusName,
    /// With a final status: the run's result, any JSON document up to 64 KiB.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub output: Option<serde_json::Value>,
    /// With `failed` or `cancelled`: what went wrong.
    #[serde(default)]
    pub error: Option<String>,
}

/// Filters and paging of a run history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// Only runs in this status.
    pub status: Option<RunStatusName>,
    /// Created at or after: unix seconds, RFC 3339, or a day `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Created before: unix seconds, RFC 3339, or a day `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRunParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    limit: Option<String>,
    before: Option<String>,
}

pub(super) fn instant(field: &str, s: &str) -> Result<Option<i64>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    parse_instant(s).map(Some).ok_or_else(|| {
        ApiError::invalid(
            field,
            "Use unix seconds, an RFC 3339 date-time or a day (YYYY-MM-DD).",
        )
    })
}

/// Parses the query exactly as `RunParams` documents it.
pub(super) fn run_params(
    raw: Option<&str>,
) -> Result<(RunFilter, Option<RunCursor>, i64), ApiError> {
    let p: RawRunParams = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::invalid("query", "The query string is malformed."))?;
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "Use a whole number from 1 to 100.",
                ));
            }
        },
    };
    let before = match p.before.as_deref() {
        None => None,
        Some(b) => Some(
            RunCursor::decode(b)
                .ok_or_else(|| ApiError::invalid("before", "Pass the `next` value of a page."))?,
        ),
    };
    let status = match p.status.trim() {
        "" => None,
        s => Some(RunStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "must be one of `queued`, `running`, `succeeded`, `failed`, `cancelled`",
            )
        })?),
    };
    let filter = RunFilter {
        status,
        from: instant("from", &p.from)?,
        to: instant("to", &p.to)?,
    };
    Ok((filter, before, limit))
}

/// Reads a UUID path parameter; anything else is simply not found.
pub(super) fn id_param(params: &RawPathParams, name: &str) -> Result<Uuid, ApiError> {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| v.len() == 36)
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or(ApiError::NotFound)
}

fn page_of(mut runs: Vec<RunRow>, limit: i64) -> RunPage {
    let next = if runs.len() as i64 > limit {
        runs.truncate(limit as usize);
        runs.last().map(|r| RunCursor::of(r).encode())
    } else {
        None
    };
    RunPage {
        runs: runs.into_iter().map(Run::from).collect(),
        next,
    }
}

/// Requests a run of an agent: recorded `queued` for an executor to pick up.
#[utoipa::path(post, path = "/v1/orgs/{slug}/workspaces/{ws}/agents/{id}/runs", tag = "workspaces",
    security(("api_key" = ["agents:run"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("ws" = String, Path, description = "The workspace's slug."),
        ("id" = Uuid, Path, description = "An agent of the workspace."),
    ),
    request_body(content = RunRequestBody, description = "Optional: an empty body requests a run without input."),
    responses(
        (status = 201, description = "The run, `queued`", body = Run),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `agents:run` here (`insufficient_permission`), is not bound to an organization (`key_not_bound`), or its owner lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key, or no such live agent in it", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Invalid body; nothing recorded", body = ErrorBody),
    ))]
pub async fn request_run(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<perm::AgentsRun>,
    client: ClientInfo,
    params: RawPathParams,
    req: Request,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let agent_id = id_param(&params, "id")?;
    // An empty body without a content type is a run without input.
    let empty = !req.headers().contains_key(header::CONTENT_TYPE)
        && req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0");
    let body = if empty {
        RunRequestBody::default()
    } else {
        ApiJson::<RunRequestBody>::from_request(req, &state)
            .await?
            .0
    };
    let input = match body.input {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(document(&v).map_err(|m| ApiError::invalid("input", &m))?),
    };
    let event = Event::by(key.principal().actor())
        .did("run.requested")
        .detail(json!({ "via_key": key.principal().public_id() }))
        .from(&client.origin());
    let run = state
        .db
        .request_run(
            key.allowed(),
            agent_id,
            input.as_deref(),
            event,
            state.clock.unix(),
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, Json(run.into())))
}

/// Reports a run's status (executors).
#[utoipa::path(patch, path = "/v1/orgs/{slug}/workspaces/{ws}/runs/{run_id}", tag = "workspaces",
    security(("api_key" = ["runs:write"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("ws" = String, Path, description = "The workspace's slug."),
        ("run_id" = Uuid, Path, description = "A run of the workspace."),
    ),
    request_body = RunStatusBody,
    responses(
        (status = 200, description = "The run now", body = Run),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `runs:write` here (`insufficient_permission`), is not bound to an organization (`key_not_bound`), or its owner lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key, or no such run in it", body = ErrorBody),
        (status = 409, description = "The run's status cannot become the one asked for (`illegal_transition`, with `from` and `to`); nothing changed", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid body; nothing changed", body = ErrorBody),
    ))]
pub async fn report_status(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<perm::RunsWrite>,
    client: ClientInfo,
    params: RawPathParams,
    ApiJson(body): ApiJson<RunStatusBody>,
) -> Result<Json<Run>, ApiError> {
    let run_id = id_param(&params, "run_id")?;
    let to = RunStatus::from(body.status);
    let mut fields = Vec::new();
    let output = match body.output {
        None | Some(serde_json::Value::Null) => None,
        Some(_) if !to.is_terminal() => {
            fields.push(FieldError {
                field: "output".into(),
                message: "is given only with `succeeded`, `failed` or `cancelled`".into(),
            });
            None
        }
        Some(v) => match document(&v) {
            Ok(d) => Some(d),
            Err(m) => {
                fields.push(FieldError {
                    field: "output".into(),
                    message: m,
                });
                None
            }
        },
    };
    let error = match body.error {
        None => None,
        Some(_) if !matches!(to, RunStatus::Failed | RunStatus::Cancelled) => {
            fields.push(FieldError {
                field: "error".into(),
                message: "is given only with `failed` or `cancelled`".into(),
            });
            None
        }
        Some(e) if e.len() > crate::domain::run::MAX_DOCUMENT_BYTES || e.contains('\0') => {
            fields.push(FieldError {
                field: "error".into(),
                message: "must be text of at most 64 KiB".into(),
            });
            None
        }
        Some(e) => Some(e),
    };
    if !fields.is_empty() {
        return Err(ApiError::Validation(fields));
    }
    let event = Event::by(key.principal().actor())
        .did("run.status_changed")
        .detail(json!({ "via_key": key.principal().public_id() }))
        .from(&client.origin());
    match state
        .db
        .report_run_status(
            key.allowed(),
            run_id,
            StatusReport {
                to,
                output: output.as_deref(),
                error: error.as_deref(),
            },
            event,
            state.clock.unix(),
        )
        .await?
    {
        StatusChange::Changed(run) => Ok(Json((*run).into())),
        StatusChange::NotFound => Err(ApiError::NotFound),
        StatusChange::Illegal { from } => Err(ApiError::IllegalTransition {
            from: from.as_str(),
            to: to.as_str(),
        }),
    }
}

/// The workspace's run history, newest first.
#[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/runs", tag = "workspaces",
    security(("api_key" = ["runs:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("ws" = String, Path, description = "The workspace's slug."),
        RunParams,
    ),
    responses(
        (status = 200, description = "A page of runs", body = RunPage),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `runs:read` here (`insufficient_permission`), is not bound to an organization (`key_not_bound`), or its owner lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key", body = ErrorBody),
        (status = 422, description = "Invalid `status`, `from`, `to`, `limit` or `before`", body = ErrorBody),
    ))]
pub async fn list_runs(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<perm::RunsRead>,
    RawQuery(query): RawQuery,
) -> Result<Json<RunPage>, ApiError> {
    let (filter, before, limit) = run_params(query.as_deref())?;
    let runs = state
        .db
        .run_history(key.allowed(), None, filter, before, limit + 1)
        .await?;
    Ok(Json(page_of(runs, limit)))
}

/// One agent's run history, newest first.
#[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/agents/{id}/runs", tag = "workspaces",
    security(("api_key" = ["runs:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("ws" = String, Path, description = "The workspace's slug."),
        ("id" = Uuid, Path, description = "An agent of the workspace."),
        RunParams,
    ),
    responses(
        (status = 200, description = "A page of the agent's runs", body = RunPage),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `runs:read` here (`insufficient_permission`), is not bound to an organization (`key_not_bound`), or its owner lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key, or no such live agent in it", body = ErrorBody),
        (status = 422, description = "Invalid `status`, `from`, `to`, `limit` or `before`", body = ErrorBody),
    ))]
pub async fn list_agent_runs(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<perm::RunsRead>,
    params: RawPathParams,
    RawQuery(query): RawQuery,
) -> Result<Json<RunPage>, ApiError> {
    let agent_id = id_param(&params, "id")?;
    state
        .db
        .live_resource(key.scope(), ResourceKind::Agent, agent_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (filter, before, limit) = run_params(query.as_deref())?;
    let runs = state
        .db
        .run_history(key.allowed(), Some(agent_id), filter, before, limit + 1)
        .await?;
    Ok(Json(page_of(runs, limit)))
}

/// One run.
#[utoipa::path(get, path = "/v1/orgs/{slug}/workspaces/{ws}/runs/{run_id}", tag = "workspaces",
    security(("api_key" = ["runs:read"])),
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("ws" = String, Path, description = "The workspace's slug."),
        ("run_id" = Uuid, Path, description = "A run of the workspace."),
    ),
    responses(
        (status = 200, description = "The run", body = Run),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `runs:read` here (`insufficient_permission`), is not bound to an organization (`key_not_bound`), or its owner lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such workspace for this key, or no such run in it", body = ErrorBody),
    ))]
pub async fn get_run(
    State(state): State<AppState>,
    key: ApiWorkspaceCan<perm::RunsRead>,
    params: RawPathParams,
) -> Result<Json<Run>, ApiError> {
    let run_id = id_param(&params, "run_id")?;
    let run = state
        .db
        .find_run(key.allowed(), run_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(run.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_params_are_exactly_as_documented() {
        let (f, before, limit) = run_params(None).unwrap();
        assert_eq!(
            (limit, before, f.status, f.from, f.to),
            (50, None, None, None, None)
        );
        let (f, _, _) = run_params(Some("status=failed&from=1970-01-02&to=90000")).unwrap();
        assert_eq!(
            (f.status, f.from, f.to),
            (Some(RunStatus::Failed), Some(86_400), Some(90_000))
        );
        for bad in [
            "status=done",
            "from=soon",
            "limit=0",
            "limit=101",
            "before=x",
        ] {
            assert!(
                matches!(run_params(Some(bad)), Err(ApiError::Validation(_))),
                "{bad}"
            );
        }
    }
}
