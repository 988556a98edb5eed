//! `/orgs/{slug}/workspaces/{ws}/config…`: a workspace's configuration on
//! the console — download it as a bundle, import one (upload or paste it →
//! the plan → confirm), and the history of snapshots with their differences and
//! "restore" (a planned, confirmed import of a snapshot's bundle).
//!
//! Invariants: every page needs the `:read` of every kind here
//! (`check_config_read`); confirming needs some kind's `:write` before the
//! form is read, then the `:write` of every kind the plan touches; a plan
//! that deletes (prune) needs sudo mode (the `SudoGate` check), and a plan
//! confirmed against a workspace that changed since is shown again, new,
//! with 409 — never applied blind. Bad input re-renders with 422 and each
//! fault by its path; nothing changes.

use askama::Template;
use axum::body::Body;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::AppSession;
use crate::auth::csrf::{MAX_BUNDLE_BODY_BYTES, multipart_boundary};
use crate::auth::session::FlashKind;
use crate::authz::proof::ConfigRead;
use crate::authz::resource::{check_config_read, check_config_write, check_some_write};
use crate::authz::{SudoGate, WorkspaceMember, WorkspaceScope};
use crate::db::audit::Event;
use crate::db::bundles::{ApplyError, ApplyRequest, SnapshotRow};
use crate::domain::ResourceKind;
use crate::domain::bundle::{self, Action, Parsed, Plan, broken_references};
use crate::domain::resource_config::FieldProblem;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, PageContext, Section, render};

/// The workspace a configuration page is about.
pub struct ConfigNav {
    pub org_slug: String,
    pub ws_slug: String,
    pub ws_name: String,
    /// Whether the viewer holds some kind's `:write` here.
    pub can_write: bool,
}

impl ConfigNav {
    fn of(scope: &WorkspaceScope) -> Self {
        ConfigNav {
            org_slug: scope.org().slug().to_owned(),
            ws_slug: scope.slug().to_owned(),
            ws_name: scope.name().to_owned(),
            can_write: ResourceKind::ALL
                .iter()
                .any(|k| scope.allows(k.write_permission())),
        }
    }

    /// `/orgs/{slug}/workspaces/{ws}/config`.
    pub fn base(&self) -> String {
        format!("/orgs/{}/workspaces/{}/config", self.org_slug, self.ws_slug)
    }
}

pub struct SnapshotItem {
    pub id: String,
    pub when: Timestamp,
    pub by: String,
    pub summary: String,
    pub pruned: bool,
    pub restored_from: String,
}

fn summary_text(v: &Value) -> String {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    format!(
        "{} created, {} updated, {} deleted",
        n("created"),
        n("updated"),
        n("deleted")
    )
}

fn snapshot_item(r: &SnapshotRow, now: i64) -> SnapshotItem {
    SnapshotItem {
        id: r.id.to_string(),
        when: Timestamp::new(r.created_at, now),
        by: r.created_by.clone(),
        summary: summary_text(&r.summary_value()),
        pruned: r.pruned,
        restored_from: r.restored_from.map(|id| id.to_string()).unwrap_or_default(),
    }
}

/// One field's change in a plan: before and after as pretty JSON.
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One resource of a plan (or of a snapshot's difference).
pub struct PlanRow {
    pub kind: &'static str,
    pub name: String,
    pub action: &'static str,
    pub changes: Vec<FieldChange>,
}

fn rows_of(plan: &Plan, with_unchanged: bool) -> Vec<PlanRow> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    plan.items
        .iter()
        .filter(|i| with_unchanged || i.action != Action::Unchanged)
        .map(|i| PlanRow {
            kind: i.kind.label(),
            name: i.name.clone(),
            action: i.action.as_str(),
            changes: match &i.action {
                Action::Update(d) => d
                    .iter()
                    .map(|(field, c)| FieldChange {
                        field: field.clone(),
                        before: pretty(&c["before"]),
                        after: pretty(&c["after"]),
                    })
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "workspaces/config.html")]
pub struct ConfigPage {
    pub ctx: PageContext,
    pub nav: ConfigNav,
    /// The bundle entered (re-shown after an error).
    pub bundle: String,
    pub prune: bool,
    /// Each fault of the bundle entered: (path, message).
    pub problems: Vec<(String, String)>,
    pub snapshots: Vec<SnapshotItem>,
}

#[derive(Template)]
#[template(path = "workspaces/config_plan.html")]
pub struct PlanPage {
    pub ctx: PageContext,
    pub nav: ConfigNav,
    pub rows: Vec<PlanRow>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub plan_id: String,
    pub bundle: String,
    pub prune: bool,
    pub restored_from: String,
    /// The `:write` permissions it needs that the viewer lacks.
    pub missing: Vec<&'static str>,
    /// It deletes, and the viewer's sudo window is closed.
    pub needs_sudo: bool,
    /// After a stale confirmation: why this plan is shown again.
    pub changed: bool,
}

#[derive(Template)]
#[template(path = "workspaces/snapshot.html")]
pub struct SnapshotPage {
    pub ctx: PageContext,
    pub nav: ConfigNav,
    pub snapshot: SnapshotItem,
    pub rows: Vec<PlanRow>,
    pub before: String,
    pub after: String,
}

/// The import form's fields (the plan page's hidden ones too).
#[derive(Debug, Default, Deserialize)]
struct ImportForm {
    #[serde(default)]
    bundle: String,
    #[serde(default)]
    prune: Option<String>,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    restored_from: String,
    /// The uploaded file was not UTF-8 text.
    #[serde(skip)]
    not_text: bool,
}

impl ImportForm {
    fn prune(&self) -> bool {
        self.prune
            .as_deref()
            .is_some_and(|p| p == "on" || p == "true")
    }
}

/// Reads the form (a bundle can exceed the 64 KiB of other forms; the
/// router's body limit still bounds it): URL-encoded (the pasted bundle, the
/// plan page's hidden fields) or `multipart/form-data` (a bundle file
/// uploaded; a file chosen wins over the text area).
async fn read_form(headers: &HeaderMap, body: Body) -> Result<ImportForm, AppError> {
    let bytes = axum::body::to_bytes(body, MAX_BUNDLE_BODY_BYTES)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let Some(boundary) = multipart_boundary(headers) else {
        return Ok(serde_urlencoded::from_bytes(&bytes).unwrap_or_default());
    };
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut form = ImportForm::default();
    let mut file: Option<Vec<u8>> = None;
    // A malformed body reads as what was read before the fault: the plan
    // then explains what is missing.
    while let Ok(Some(field)) = parts.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(value) = field.bytes().await else {
            break;
        };
        let text = || String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            "bundle" => form.bundle = text(),
            "bundle_file" if !value.is_empty() => file = Some(value.to_vec()),
            "prune" => form.prune = Some(text()),
            "plan" => form.plan = text(),
            "restored_from" => form.restored_from = text(),
            _ => {}
        }
    }
    if let Some(file) = file {
        match String::from_utf8(file) {
            Ok(text) => form.bundle = text,
            Err(_) => form.not_text = true,
        }
    }
    Ok(form)
}

async fn context(
    state: &AppState,
    session: &AppSession,
    member: &WorkspaceMember,
) -> Result<PageContext, AppError> {
    PageContext::for_org(
        state,
        session,
        member.user(),
        member.scope().org(),
        Section::OrgWorkspaces,
    )
    .await
}

async fn config_page(
    state: &AppState,
    session: &AppSession,
    member: &WorkspaceMember,
    read: &ConfigRead,
    form: &ImportForm,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let snapshots = state.db.list_snapshots(read).await?;
    let page = ConfigPage {
        ctx: context(state, session, member).await?,
        nav: ConfigNav::of(member.scope()),
        bundle: form.bundle.clone(),
        prune: form.prune(),
        problems: problems.into_iter().map(|p| (p.field, p.message)).collect(),
        snapshots: snapshots.iter().map(|s| snapshot_item(s, now)).collect(),
    };
    render(status, &page)
}

/// The configuration page: download, import, history.
pub async fn show_config(
    State(state): State<AppState>,
    session: AppSession,
    member: WorkspaceMember,
) -> Result<Response, AppError> {
    let read = check_config_read(member.scope())?;
    config_page(
        &state,
        &session,
        &member,
        &read,
        &ImportForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// The workspace's bundle as a file.
pub async fn download_config(
    State(state): State<AppState>,
    member: WorkspaceMember,
) -> Result<Response, AppError> {
    let read = check_config_read(member.scope())?;
    let text = state.db.workspace_bundle(&read).await?.render();
    let mut res = (StatusCode::OK, text).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Slugs are lowercase letters, digits and hyphens: safe in the header.
    let name = format!(
        "attachment; filename=\"{}-{}.gatehouse.json\"",
        member.scope().org().slug(),
        member.scope().slug()
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The bundle of the form and its plan, or its faults.
async fn planned(
    state: &AppState,
    read: &ConfigRead,
    form: &ImportForm,
) -> Result<Result<(Parsed, Plan), Vec<FieldProblem>>, AppError> {
    if form.not_text {
        return Ok(Err(vec![FieldProblem::new(
            "bundle",
            "The file chosen is not a bundle: a bundle is JSON text (UTF-8).",
        )]));
    }
    if form.bundle.trim().is_empty() {
        return Ok(Err(vec![FieldProblem::new(
            "bundle",
            "Choose a bundle file or paste a bundle (the JSON a download gives).",
        )]));
    }
    let parsed = match bundle::parse(form.bundle.as_bytes()) {
        Ok(p) => p,
        Err(p) => return Ok(Err(p)),
    };
    let current = state.db.workspace_bundle(read).await?;
    let plan = bundle::plan(&current, &parsed.bundle, form.prune());
    let broken = broken_references(&parsed.references, &plan.result);
    if !broken.is_empty() {
        return Ok(Err(broken));
    }
    Ok(Ok((parsed, plan)))
}

/// The snapshot a restore names, if it is one of this workspace's.
async fn restored_from(
    state: &AppState,
    read: &ConfigRead,
    raw: &str,
) -> Result<Option<Uuid>, AppError> {
    let Ok(id) = Uuid::parse_str(raw.trim()) else {
        return Ok(None);
    };
    Ok(state.db.snapshot(read, id).await?.map(|s| s.id))
}

#[allow(clippy::too_many_arguments)]
async fn plan_page(
    state: &AppState,
    session: &AppSession,
    member: &WorkspaceMember,
    plan: &Plan,
    form: &ImportForm,
    restored: Option<Uuid>,
    changed: bool,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = member.scope();
    let in_sudo = session
        .sudo_until()
        .await?
        .is_some_and(|until| until > state.clock.unix());
    let page = PlanPage {
        ctx: context(state, session, member).await?,
        nav: ConfigNav::of(scope),
        rows: rows_of(plan, true),
        created: plan.count("create"),
        updated: plan.count("update"),
        unchanged: plan.count("unchanged"),
        deleted: plan.count("delete"),
        plan_id: plan.id.clone(),
        bundle: form.bundle.clone(),
        prune: plan.prune,
        restored_from: restored.map(|id| id.to_string()).unwrap_or_default(),
        missing: plan
            .kinds_touched()
            .into_iter()
            .map(|k| k.write_permission())
            .filter(|p| !scope.allows(*p))
            .map(|p| p.as_str())
            .collect(),
        needs_sudo: plan.deletes() && !in_sudo,
        changed,
    };
    render(status, &page)
}

/// Shows what importing the pasted bundle (or a snapshot's, to restore it)
/// would do; changes nothing.
pub async fn plan_import(
    State(state): State<AppState>,
    session: AppSession,
    member: WorkspaceMember,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let read = check_config_read(member.scope())?;
    let form = read_form(&headers, body).await?;
    match planned(&state, &read, &form).await? {
        Ok((_, plan)) => {
            let restored = restored_from(&state, &read, &form.restored_from).await?;
            plan_page(
                &state,
                &session,
                &member,
                &plan,
                &form,
                restored,
                false,
                StatusCode::OK,
            )
            .await
        }
        Err(problems) => {
            config_page(
                &state,
                &session,
                &member,
                &read,
                &form,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Applies the confirmed plan in one transaction.
pub async fn apply_import(
    State(state): State<AppState>,
    session: AppSession,
    member: WorkspaceMember,
    gate: SudoGate,
    client: ClientInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let read = check_config_read(member.scope())?;
    // A Viewer is refused before the form is read.
    check_some_write(&read)?;
    let form = read_form(&headers, body).await?;
    let (parsed, plan) = match planned(&state, &read, &form).await? {
        Ok(p) => p,
        Err(problems) => {
            return config_page(
                &state,
                &session,
                &member,
                &read,
                &form,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let write = check_config_write(&read, &plan.kinds_touched())?;
    let nav = ConfigNav::of(member.scope());
    if plan.deletes() {
        // Destroying needs a fresh sudo window; the bundle is not kept (a
        // bundle can be megabytes): the person uploads it again after.
        gate.check(&nav.base())?;
    }
    let restored = restored_from(&state, &read, &form.restored_from).await?;
    let actor = member.user().actor();
    let event = Event::by(actor.clone())
        .did("config.applied")
        .in_org(member.scope().org())
        .from(&client.origin());
    let req = ApplyRequest {
        bundle: &parsed.bundle,
        references: &parsed.references,
        prune: form.prune(),
        // The page always confirms one plan: an empty one matches nothing.
        expected_plan: Some(form.plan.as_str()),
        restored_from: restored,
    };
    match state
        .db
        .apply_bundle(&write, &req, &actor, event, state.clock.unix())
        .await
    {
        Ok(applied) => {
            let message = if applied.snapshot.is_some() {
                format!(
                    "Configuration imported: {}.",
                    summary_text(&applied.plan.summary())
                )
            } else {
                "Nothing to change: the workspace already matches this bundle.".to_owned()
            };
            session.flash(FlashKind::Success, message).await?;
            Ok(Redirect::to(&nav.base()).into_response())
        }
        Err(ApplyError::PlanChanged(now)) => {
            plan_page(
                &state,
                &session,
                &member,
                &now,
                &form,
                restored,
                true,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(ApplyError::Raced) => {
            let problems = vec![FieldProblem::new(
                "bundle",
                "was not applied: the workspace changed meanwhile. Show the plan again.",
            )];
            config_page(
                &state,
                &session,
                &member,
                &read,
                &form,
                problems,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(ApplyError::Invalid(problems)) => {
            config_page(
                &state,
                &session,
                &member,
                &read,
                &form,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ApplyError::NotWritable(kind)) => Err(AppError::from(
            crate::authz::Denied::MissingPermission(kind.write_permission()),
        )),
        Err(ApplyError::Archived) => Err(AppError::from(crate::authz::Denied::MissingPermission(
            ResourceKind::Agent.write_permission(),
        ))),
        Err(ApplyError::Storage(e)) => Err(AppError::Internal(e.into())),
    }
}

/// One snapshot: when, who, what changed, and the bundles to restore.
pub async fn show_snapshot(
    State(state): State<AppState>,
    session: AppSession,
    member: WorkspaceMember,
    path: RawPathParams,
) -> Result<Response, AppError> {
    let read = check_config_read(member.scope())?;
    let id = path
        .iter()
        .find(|(k, _)| *k == "snapshot")
        .and_then(|(_, v)| Uuid::parse_str(v).ok())
        .ok_or(AppError::NotFound)?;
    let s = state
        .db
        .snapshot(&read, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let plan = s.changes();
    let page = SnapshotPage {
        ctx: context(&state, &session, &member).await?,
        nav: ConfigNav::of(member.scope()),
        snapshot: snapshot_item(&s.row(), state.clock.unix()),
        rows: rows_of(&plan, false),
        before: s.before_bundle.clone(),
        after: s.after_bundle.clone(),
    };
    render(StatusCode::OK, &page)
}
