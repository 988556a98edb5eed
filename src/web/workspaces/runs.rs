//! The run history pages of a workspace: `/orgs/{slug}/workspaces/{ws}/runs`
//! (every run, filtered by status and day, keyset pages), `…/runs/{run_id}`
//! (one run), and an agent's runs with the "Run" form at
//! `…/agents/{id}/runs`.
//!
//! Invariants: reading needs `runs:read` and requesting `agents:run`, each
//! taken as a proof by the handler's extractor (`WorkspaceCan<P>`), so the
//! storage functions cannot be reached without it; an agent or run id of
//! another workspace or org is the 404 of a missing one; the "Run" form is
//! shown only to holders of `agents:run`; an invalid input re-renders the
//! page with 422, the text kept and the message beside the field.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::workspace::perm;
use crate::authz::{WorkspaceCan, WorkspaceScope};
use crate::db::audit::Event;
use crate::db::resources::ResourceRow;
use crate::db::runs::{RunCursor, RunFilter, RunRow};
use crate::domain::day::day_start;
use crate::domain::run::parse_input;
use crate::domain::{Permission, ResourceKind, RunStatus};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{Form, Path, Query};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

const PAGE_SIZE: i64 = 50;

/// The history's filters as the GET form sends them.
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub struct RunQuery {
    #[serde(default)]
    pub status: String,
    /// A day, `YYYY-MM-DD`, included.
    #[serde(default)]
    pub from: String,
    /// A day, `YYYY-MM-DD`, included.
    #[serde(default)]
    pub to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub before: String,
}

impl RunQuery {
    fn filter(&self, errors: &mut FieldErrors) -> RunFilter {
        let day = |errors: &mut FieldErrors, field: &'static str, s: &str| {
            if s.trim().is_empty() {
                None
            } else {
                errors.check(field, day_start(s).ok_or("Enter the date as YYYY-MM-DD."))
            }
        };
        let status = match self.status.trim() {
            "" => None,
            s => errors.check("status", RunStatus::parse(s).ok_or("Choose a status.")),
        };
        RunFilter {
            status,
            from: day(errors, "from", &self.from),
            // "To" includes the whole day.
            to: day(errors, "to", &self.to).map(|d| d + 86_400),
        }
    }
}

/// A status choice of the filter form.
pub struct StatusOption {
    pub value: &'static str,
    pub selected: bool,
}

fn status_options(query: &RunQuery) -> Vec<StatusOption> {
    RunStatus::ALL
        .iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            selected: query.status == s.as_str(),
        })
        .collect()
}

/// One run as a page shows it.
pub struct RunItem {
    pub id: String,
    pub agent_id: String,
    pub agent: String,
    pub status: &'static str,
    pub requested_by: String,
    pub created: Timestamp,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
    pub input: String,
    pub output: String,
    pub error: String,
    pub due: Option<Timestamp>,
}

fn pretty(doc: &Option<String>) -> String {
    doc.as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

fn run_item(r: &RunRow, now: i64) -> RunItem {
    RunItem {
        id: r.id.to_string(),
        agent_id: r.agent_id.to_string(),
        agent: r.agent_name.clone(),
        status: r.status().as_str(),
        requested_by: r.requested_by.clone(),
        created: Timestamp::new(r.created_at, now),
        started: r.started_at.map(|t| Timestamp::new(t, now)),
        finished: r.finished_at.map(|t| Timestamp::new(t, now)),
        input: pretty(&r.input),
        output: pretty(&r.output),
        error: r.error.clone().unwrap_or_default(),
        due: r.due_at.map(|t| Timestamp::new(t, now)),
    }
}

/// The workspace a page is in, for its links and headings.
pub struct WorkspaceNav {
    pub org: String,
    pub slug: String,
    pub name: String,
}

fn nav_of(scope: &WorkspaceScope) -> WorkspaceNav {
    WorkspaceNav {
        org: scope.org().slug().to_owned(),
        slug: scope.slug().to_owned(),
        name: scope.name().to_owned(),
    }
}

/// A page of history, and the query of the next one.
async fn history(
    state: &AppState,
    can: &WorkspaceCan<perm::RunsRead>,
    agent: Option<Uuid>,
    query: &RunQuery,
    errors: &mut FieldErrors,
) -> Result<(Vec<RunItem>, Option<String>), AppError> {
    let filter = query.filter(errors);
    if !errors.is_empty() {
        return Ok((Vec::new(), None));
    }
    let mut runs = state
        .db
        .run_history(
            can.allowed(),
            agent,
            filter,
            RunCursor::decode(&query.before),
            PAGE_SIZE + 1,
        )
        .await?;
    let next = if runs.len() as i64 > PAGE_SIZE {
        runs.truncate(PAGE_SIZE as usize);
        runs.last().map(|r| {
            serde_urlencoded::to_string(RunQuery {
                before: RunCursor::of(r).encode(),
                ..query.clone()
            })
            .unwrap_or_default()
        })
    } else {
        None
    };
    let now = state.clock.unix();
    Ok((runs.iter().map(|r| run_item(r, now)).collect(), next))
}

#[derive(Template)]
#[template(path = "workspaces/runs.html")]
pub struct RunsPage {
    pub ctx: PageContext,
    pub ws: WorkspaceNav,
    /// Where the filter form and the page links go.
    pub filter_action: String,
    pub query: RunQuery,
    pub statuses: Vec<StatusOption>,
    pub runs: Vec<RunItem>,
    pub next: Option<String>,
    pub errors: FieldErrors,
}

/// `GET /orgs/{slug}/workspaces/{ws}/runs`.
pub async fn list_runs(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<perm::RunsRead>,
    Query(query): Query<RunQuery>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let (runs, next) = history(&state, &can, None, &query, &mut errors).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RunsPage {
        ctx: PageContext::for_org(
            &state,
            &session,
            can.user(),
            can.scope().org(),
            Section::OrgOverview,
        )
        .await?,
        ws: nav_of(can.scope()),
        filter_action: format!(
            "/orgs/{}/workspaces/{}/runs",
            can.scope().org().slug(),
            can.scope().slug()
        ),
        statuses: status_options(&query),
        query,
        runs,
        next,
        errors,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "workspaces/run.html")]
pub struct RunPage {
    pub ctx: PageContext,
    pub ws: WorkspaceNav,
    pub run: RunItem,
}

/// `GET /orgs/{slug}/workspaces/{ws}/runs/{run_id}`.
pub async fn show_run(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<perm::RunsRead>,
    Path((_, _, run_id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let run_id = Uuid::parse_str(&run_id).map_err(|_| AppError::NotFound)?;
    let run = state
        .db
        .find_run(can.allowed(), run_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = RunPage {
        ctx: PageContext::for_org(
            &state,
            &session,
            can.user(),
            can.scope().org(),
            Section::OrgOverview,
        )
        .await?,
        ws: nav_of(can.scope()),
        run: run_item(&run, state.clock.unix()),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "workspaces/agent_runs.html")]
pub struct AgentRunsPage {
    pub ctx: PageContext,
    pub ws: WorkspaceNav,
    /// The form's action and the history's links: this page.
    pub filter_action: String,
    pub agent: String,
    /// Whether the "Run" form is shown (the caller holds `agents:run`).
    pub can_run: bool,
    /// Whether the history is shown (the caller holds `runs:read`).
    pub can_read: bool,
    pub query: RunQuery,
    pub statuses: Vec<StatusOption>,
    pub runs: Vec<RunItem>,
    pub next: Option<String>,
    pub errors: FieldErrors,
    pub input: String,
}

/// The live agent `id` of the scope's workspace, or 404.
async fn agent_of(
    state: &AppState,
    scope: &WorkspaceScope,
    id: &str,
) -> Result<ResourceRow, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .db
        .live_resource(scope, ResourceKind::Agent, id)
        .await?
        .ok_or(AppError::NotFound)
}

struct AgentView {
    query: RunQuery,
    input: String,
    errors: FieldErrors,
    status: StatusCode,
}

async fn agent_runs_page(
    state: &AppState,
    session: &AppSession,
    user: &crate::authz::CurrentUser,
    reader: Option<&WorkspaceCan<perm::RunsRead>>,
    scope: &WorkspaceScope,
    agent: &ResourceRow,
    mut view: AgentView,
) -> Result<Response, AppError> {
    let (runs, next) = match reader {
        Some(can) => history(state, can, Some(agent.id), &view.query, &mut view.errors).await?,
        None => (Vec::new(), None),
    };
    let status = if view.errors.is_empty() {
        view.status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AgentRunsPage {
        ctx: PageContext::for_org(state, session, user, scope.org(), Section::OrgOverview).await?,
        ws: nav_of(scope),
        filter_action: format!(
            "/orgs/{}/workspaces/{}/agents/{}/runs",
            scope.org().slug(),
            scope.slug(),
            agent.id
        ),
        agent: agent.name.clone(),
        can_run: scope.allows(Permission::AgentsRun),
        can_read: reader.is_some(),
        statuses: status_options(&view.query),
        query: view.query,
        runs,
        next,
        errors: view.errors,
        input: view.input,
    };
    render(status, &page)
}

/// `GET /orgs/{slug}/workspaces/{ws}/agents/{id}/runs`.
pub async fn list_agent_runs(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<perm::RunsRead>,
    Path((_, _, id)): Path<(String, String, String)>,
    Query(query): Query<RunQuery>,
) -> Result<Response, AppError> {
    let agent = agent_of(&state, can.scope(), &id).await?;
    let view = AgentView {
        query,
        input: String::new(),
        errors: FieldErrors::new(),
        status: StatusCode::OK,
    };
    agent_runs_page(
        &state,
        &session,
        can.user(),
        Some(&can),
        can.scope(),
        &agent,
        view,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct RunForm {
    #[serde(default)]
    pub input: String,
}

/// `POST /orgs/{slug}/workspaces/{ws}/agents/{id}/runs`: requests a run.
pub async fn request_run(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<perm::AgentsRun>,
    client: ClientInfo,
    Path((_, _, id)): Path<(String, String, String)>,
    Form(form): Form<RunForm>,
) -> Result<Response, AppError> {
    let agent = agent_of(&state, can.scope(), &id).await?;
    let mut errors = FieldErrors::new();
    let Some(input) = errors.check("input", parse_input(&form.input)) else {
        // The history beside the form needs `runs:read`; without it the
        // page shows the form alone.
        let reading = can.also::<perm::RunsRead>().ok();
        let view = AgentView {
            query: RunQuery::default(),
            input: form.input,
            errors,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        };
        return agent_runs_page(
            &state,
            &session,
            can.user(),
            reading.as_ref(),
            can.scope(),
            &agent,
            view,
        )
        .await;
    };
    let event = Event::by(can.user().actor())
        .did("run.requested")
        .detail(json!({ "agent": agent.name }))
        .from(&client.origin());
    let run = state
        .db
        .request_run(
            can.allowed(),
            agent.id,
            input.as_deref(),
            event,
            state.clock.unix(),
        )
        .await?
        .ok_or(AppError::NotFound)?;
    session
        .flash(
            FlashKind::Success,
            format!(
                "Run of “{}” requested: it is queued for an executor.",
                agent.name
            ),
        )
        .await?;
    let scope = can.scope();
    // Without `runs:read` the run's page would be refused: back to the
    // workspace instead.
    let to = if scope.allows(Permission::RunsRead) {
        format!(
            "/orgs/{}/workspaces/{}/runs/{}",
            scope.org().slug(),
            scope.slug(),
            run.id
        )
    } else {
        format!("/orgs/{}/workspaces/{}", scope.org().slug(), scope.slug())
    };
    Ok(Redirect::to(&to).into_response())
}
