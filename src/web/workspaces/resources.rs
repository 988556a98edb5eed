//! `/orgs/{slug}/workspaces/{ws}/{kind}`: the resource pages of the four
//! kinds — list (and the deleted view for writers), new, view and edit,
//! delete and restore.
//!
//! Invariants: each handler is registered once per kind and its extractor
//! names the kind's permission (`WorkspaceCan<K::Read>` to see,
//! `WorkspaceCan<K::Write>` to change), so a page of a workspace the caller
//! cannot see is 404 and a missing permission 403, before anything is read;
//! resources are looked up through that scope, so another workspace's or
//! org's id is 404. The edit form carries the version it was drawn from: a
//! stale one changes nothing and answers 409 with the current values beside
//! the entered ones (never a silent overwrite). Invalid input re-renders
//! with 422, the entered text and a message beside each field.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::resource::{KindSpec, write_proof};
use crate::authz::{CurrentUser, WorkspaceCan, WorkspaceScope};
use crate::db::audit::Event;
use crate::db::resources::{MAX_PAGE, ResourceCursor, ResourceError, ResourceRow};
use crate::domain::ResourceKind;
use crate::domain::resource_config::{
    FieldProblem, check_input, metadata_from_lines, metadata_to_lines,
};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::orgs::id_from;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

/// The workspace and kind a page is about.
pub struct KindNav {
    pub org_slug: String,
    pub ws_slug: String,
    pub ws_name: String,
    pub segment: &'static str,
    pub label: &'static str,
    pub plural: String,
    /// Whether the viewer may change resources of this kind here.
    pub can_write: bool,
    /// The kinds' lists the viewer may read here: (href, label, current).
    pub kinds: Vec<(String, &'static str, bool)>,
}

impl KindNav {
    fn of(scope: &WorkspaceScope, kind: ResourceKind) -> Self {
        KindNav {
            org_slug: scope.org().slug().to_owned(),
            ws_slug: scope.slug().to_owned(),
            ws_name: scope.name().to_owned(),
            segment: kind.segment(),
            label: kind.label(),
            plural: format!("{}s", kind.label()),
            can_write: scope.allows(kind.write_permission()),
            kinds: ResourceKind::ALL
                .into_iter()
                .filter(|k| scope.allows(k.read_permission()))
                .map(|k| {
                    let label = match k {
                        ResourceKind::Agent => "Agents",
                        ResourceKind::Tool => "Tools",
                        ResourceKind::McpServer => "MCP servers",
                        ResourceKind::Schedule => "Schedules",
                    };
                    (
                        format!(
                            "/orgs/{}/workspaces/{}/{}",
                            scope.org().slug(),
                            scope.slug(),
                            k.segment()
                        ),
                        label,
                        k == kind,
                    )
                })
                .collect(),
        }
    }

    /// `/orgs/{slug}/workspaces/{ws}/{kind}`.
    pub fn base(&self) -> String {
        format!(
            "/orgs/{}/workspaces/{}/{}",
            self.org_slug, self.ws_slug, self.segment
        )
    }
}

pub struct ResourceItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub updated_by: String,
    pub updated: Timestamp,
    pub deleted: Option<Timestamp>,
    pub deleted_by: String,
    pub metadata: String,
    pub config: String,
}

fn item(r: &ResourceRow, now: i64) -> ResourceItem {
    ResourceItem {
        id: r.id.to_string(),
        name: r.name.clone(),
        description: r.description.clone(),
        version: r.version,
        updated_by: r.updated_by.clone(),
        updated: Timestamp::new(r.updated_at, now),
        deleted: r.deleted_at.map(|d| Timestamp::new(d, now)),
        deleted_by: r.deleted_by.clone().unwrap_or_default(),
        metadata: metadata_to_lines(&r.metadata_value()),
        config: pretty(&r.config_value()),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "workspaces/resources.html")]
pub struct ResourcesPage {
    pub ctx: PageContext,
    pub nav: KindNav,
    pub deleted_view: bool,
    pub resources: Vec<ResourceItem>,
    /// The link to the next page, if any.
    pub next: Option<String>,
}

/// The entered (or current) values of the form.
#[derive(Debug, Default, Deserialize)]
pub struct ResourceForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub metadata: String,
    #[serde(default)]
    pub config: String,
    /// The version the edit form was drawn from.
    #[serde(default)]
    pub version: String,
}

impl ResourceForm {
    fn of(r: &ResourceRow) -> Self {
        ResourceForm {
            name: r.name.clone(),
            description: r.description.clone(),
            metadata: metadata_to_lines(&r.metadata_value()),
            config: pretty(&r.config_value()),
            version: r.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "workspaces/resource_new.html")]
pub struct NewResourcePage {
    pub ctx: PageContext,
    pub nav: KindNav,
    pub form: ResourceForm,
    pub errors: FieldErrors,
    pub config_hint: &'static str,
}

#[derive(Template)]
#[template(path = "workspaces/resource.html")]
pub struct ResourcePage {
    pub ctx: PageContext,
    pub nav: KindNav,
    pub resource: ResourceItem,
    pub form: ResourceForm,
    pub errors: FieldErrors,
    pub config_hint: &'static str,
    /// After a stale edit: the resource as it is now (the form keeps what
    /// was entered).
    pub conflict: Option<ResourceItem>,
    /// Why a deletion was refused.
    pub delete_error: Option<String>,
    /// After a stale edit: the fields whose current value differs from the
    /// entered one.
    pub differing: Vec<&'static str>,
}

fn config_hint(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Agent => {
            "A JSON object: \"model\" (required), \"instructions\", \"tools\" and \"mcp_servers\" \
             (lists of names in this workspace)."
        }
        ResourceKind::Tool => {
            "A JSON object: \"type\" (\"http\" or \"function\"), \"endpoint\" (an http(s) URL, \
             required for http), \"input_schema\" (a JSON Schema object)."
        }
        ResourceKind::McpServer => {
            "A JSON object: \"url\" (https, or http on localhost only) and \"transport\" \
             (\"streamable-http\" or \"sse\")."
        }
        ResourceKind::Schedule => {
            "A JSON object: \"agent\" (an agent of this workspace), \"cron\" (five fields), \
             \"timezone\" (IANA name, e.g. \"UTC\"), \"enabled\" (true or false)."
        }
    }
}

async fn context(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    scope: &WorkspaceScope,
) -> Result<PageContext, AppError> {
    PageContext::for_org(state, session, user, scope.org(), Section::OrgOverview).await
}

/// The field errors of a page: each problem beside its form field (the
/// config's own paths, e.g. `config.model`, are named in the message).
fn field_errors(problems: Vec<FieldProblem>) -> FieldErrors {
    let mut by_field: Vec<(&'static str, Vec<String>)> = Vec::new();
    for p in problems {
        let (field, message) = if p.field == "name" {
            ("name", p.message)
        } else if p.field == "description" {
            ("description", p.message)
        } else if p.field == "metadata" {
            ("metadata", p.message)
        } else if let Some(key) = p.field.strip_prefix("metadata.") {
            ("metadata", format!("`{key}` {}", p.message))
        } else if p.field == "config" {
            ("config", format!("The config {}.", p.message))
        } else {
            ("config", format!("{}: {}.", p.field, p.message))
        };
        match by_field.iter_mut().find(|(f, _)| *f == field) {
            Some((_, list)) => list.push(message),
            None => by_field.push((field, vec![message])),
        }
    }
    let mut errors = FieldErrors::new();
    for (field, list) in by_field {
        errors.add(field, list.join(" "));
    }
    errors
}

/// Parses and checks the form for `kind`, resolving references in the
/// scope's workspace.
async fn checked(
    state: &AppState,
    scope: &WorkspaceScope,
    kind: ResourceKind,
    form: &ResourceForm,
) -> Result<Result<crate::domain::resource_config::ResourceInput, FieldErrors>, AppError> {
    let mut problems = Vec::new();
    let metadata = match metadata_from_lines(&form.metadata) {
        Ok(m) => m,
        Err(p) => {
            problems.extend(p);
            json!({})
        }
    };
    let config = if form.config.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str::<Value>(&form.config) {
            Ok(v) => v,
            Err(e) => {
                problems.push(FieldProblem::new(
                    "config",
                    format!(
                        "is not valid JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ),
                ));
                json!({})
            }
        }
    };
    let parsed_ok = problems.is_empty();
    match check_input(kind, &form.name, &form.description, &metadata, &config) {
        Ok((input, refs)) if parsed_ok => {
            let p = state.db.check_references(scope, &refs).await?;
            if p.is_empty() {
                Ok(Ok(input))
            } else {
                Ok(Err(field_errors(p)))
            }
        }
        Ok(_) => Ok(Err(field_errors(problems))),
        Err(p) => {
            // A config that did not parse is reported once, not again as
            // "config.model is required".
            let parse_failed_config = problems.iter().any(|x| x.field == "config");
            let parse_failed_metadata = problems.iter().any(|x| x.field == "metadata");
            problems.extend(p.into_iter().filter(|x| {
                !(parse_failed_config && x.field.starts_with("config")
                    || parse_failed_metadata && x.field.starts_with("metadata"))
            }));
            Ok(Err(field_errors(problems)))
        }
    }
}

fn event(
    user: &CurrentUser,
    client: &ClientInfo,
    action: &'static str,
    scope: &WorkspaceScope,
) -> Event {
    Event::by(user.actor())
        .did(action)
        .in_org(scope.org())
        .from(&client.origin())
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    after: Option<String>,
    deleted: Option<String>,
}

const PAGE_SIZE: i64 = 50;

/// The kind's resources in the workspace, by name; `?deleted=true` shows
/// the deleted ones still restorable, to those who may write the kind.
pub async fn list<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Read>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let q: ListQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| AppError::BadRequest("The query string is malformed."))?;
    let after = q.after.as_deref().and_then(ResourceCursor::decode);
    let deleted_view = q.deleted.as_deref() == Some("true");
    let scope = can.scope();
    let now = state.clock.unix();
    let limit = PAGE_SIZE.min(MAX_PAGE);
    let mut rows = if deleted_view {
        let proof = crate::authz::resource::check_write(scope, K::KIND)?;
        state
            .db
            .list_deleted_resources(&proof, after.as_ref(), limit + 1, now)
            .await?
    } else {
        state
            .db
            .list_resources(scope, K::KIND, after.as_ref(), limit + 1)
            .await?
    };
    let nav = KindNav::of(scope, K::KIND);
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            format!(
                "{}?{}after={}",
                nav.base(),
                if deleted_view { "deleted=true&" } else { "" },
                ResourceCursor::of(r).encode()
            )
        })
    } else {
        None
    };
    let page = ResourcesPage {
        ctx: context(&state, &session, can.user(), scope).await?,
        nav,
        deleted_view,
        resources: rows.iter().map(|r| item(r, now)).collect(),
        next,
    };
    render(StatusCode::OK, &page)
}

async fn new_page(
    state: &AppState,
    session: &AppSession,
    can: &WorkspaceCan<impl Send + Sync>,
    kind: ResourceKind,
    form: ResourceForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = NewResourcePage {
        ctx: context(state, session, can.user(), can.scope()).await?,
        nav: KindNav::of(can.scope(), kind),
        form,
        errors,
        config_hint: config_hint(kind),
    };
    render(status, &page)
}

/// The form for a new resource of the kind.
pub async fn new_form<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Write>,
) -> Result<Response, AppError> {
    let form = ResourceForm {
        config: "{}".to_owned(),
        ..ResourceForm::default()
    };
    new_page(
        &state,
        &session,
        &can,
        K::KIND,
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Creates a resource of the kind.
pub async fn create<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Write>,
    client: ClientInfo,
    Form(form): Form<ResourceForm>,
) -> Result<Response, AppError> {
    let scope = can.scope();
    let input = match checked(&state, scope, K::KIND, &form).await? {
        Ok(input) => input,
        Err(errors) => {
            return new_page(
                &state,
                &session,
                &can,
                K::KIND,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let proof = write_proof::<K>(can.allowed());
    let actor = can.user().actor();
    let ev = event(can.user(), &client, "resource.created", scope);
    let row = match state
        .db
        .create_resource(&proof, &input, &actor, ev, state.clock.unix())
        .await
    {
        Ok(row) => row,
        Err(ResourceError::Invalid(problems)) => {
            return new_page(
                &state,
                &session,
                &can,
                K::KIND,
                form,
                field_errors(problems),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(ResourceError::NameTaken) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "name",
                format!(
                    "A live {} named “{}” exists in this workspace.",
                    K::KIND.label().to_lowercase(),
                    input.name
                ),
            );
            return new_page(
                &state,
                &session,
                &can,
                K::KIND,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    session
        .flash(
            FlashKind::Success,
            format!("{} “{}” created.", K::KIND.label(), row.name),
        )
        .await?;
    let nav = KindNav::of(scope, K::KIND);
    Ok(Redirect::to(&format!("{}/{}", nav.base(), row.id)).into_response())
}

#[allow(clippy::too_many_arguments)]
async fn resource_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    scope: &WorkspaceScope,
    kind: ResourceKind,
    row: &ResourceRow,
    form: ResourceForm,
    errors: FieldErrors,
    conflict: Option<&ResourceRow>,
    delete_error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let differing = conflict.map_or_else(Vec::new, |c| differing(&form, &ResourceForm::of(c)));
    let page = ResourcePage {
        ctx: context(state, session, user, scope).await?,
        nav: KindNav::of(scope, kind),
        differing,
        resource: item(row, now),
        form,
        errors,
        config_hint: config_hint(kind),
        conflict: conflict.map(|c| item(c, now)),
        delete_error,
    };
    render(status, &page)
}

async fn load_live(
    state: &AppState,
    scope: &WorkspaceScope,
    kind: ResourceKind,
    id: &str,
) -> Result<ResourceRow, AppError> {
    state
        .db
        .live_resource(scope, kind, id_from(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// A live resource: its fields, and the edit form for writers.
pub async fn show<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Read>,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let row = load_live(&state, can.scope(), K::KIND, &id).await?;
    resource_page(
        &state,
        &session,
        can.user(),
        can.scope(),
        K::KIND,
        &row,
        ResourceForm::of(&row),
        FieldErrors::new(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// The fields of `entered` that differ from `current` (JSON compared as
/// values, so spacing does not count).
fn differing(entered: &ResourceForm, current: &ResourceForm) -> Vec<&'static str> {
    let mut out = Vec::new();
    if entered.name.trim() != current.name {
        out.push("name");
    }
    if entered.description.trim().replace("\r\n", "\n") != current.description {
        out.push("description");
    }
    if metadata_from_lines(&entered.metadata).ok() != metadata_from_lines(&current.metadata).ok() {
        out.push("metadata");
    }
    let json = |t: &str| serde_json::from_str::<Value>(t).ok();
    if json(&entered.config) != json(&current.config) || json(&entered.config).is_none() {
        out.push("configuration");
    }
    out
}

/// The 409 page of a stale edit: the entered values stay in the form (now
/// carrying the current version), the current ones are shown beside them.
async fn stale_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    scope: &WorkspaceScope,
    kind: ResourceKind,
    mut form: ResourceForm,
    now_row: ResourceRow,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    errors.add(
        "version",
        "Someone changed this resource since you opened the form. Nothing was saved: compare \
         your values with the current ones, then save again.",
    );
    form.version = now_row.version.to_string();
    resource_page(
        state,
        session,
        user,
        scope,
        kind,
        &now_row,
        form,
        errors,
        Some(&now_row),
        None,
        StatusCode::CONFLICT,
    )
    .await
}

/// Saves the edit form, if it was drawn from the current version.
pub async fn update<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Write>,
    client: ClientInfo,
    Path((_, _, id)): Path<(String, String, String)>,
    Form(form): Form<ResourceForm>,
) -> Result<Response, AppError> {
    let scope = can.scope();
    let current = load_live(&state, scope, K::KIND, &id).await?;
    let Ok(expected) = form.version.trim().parse::<i64>() else {
        return stale_page(&state, &session, can.user(), scope, K::KIND, form, current).await;
    };
    if expected != current.version {
        return stale_page(&state, &session, can.user(), scope, K::KIND, form, current).await;
    }
    let input = match checked(&state, scope, K::KIND, &form).await? {
        Ok(input) => input,
        Err(errors) => {
            return resource_page(
                &state,
                &session,
                can.user(),
                scope,
                K::KIND,
                &current,
                form,
                errors,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let proof = write_proof::<K>(can.allowed());
    let actor = can.user().actor();
    let ev = event(can.user(), &client, "resource.updated", scope);
    match state
        .db
        .update_resource(
            &proof,
            current.id,
            expected,
            &input,
            &actor,
            ev,
            state.clock.unix(),
        )
        .await
    {
        Ok(row) => {
            session
                .flash(
                    FlashKind::Success,
                    format!("{} “{}” saved.", K::KIND.label(), row.name),
                )
                .await?;
            let nav = KindNav::of(scope, K::KIND);
            Ok(Redirect::to(&format!("{}/{}", nav.base(), row.id)).into_response())
        }
        Err(ResourceError::Invalid(problems)) => {
            resource_page(
                &state,
                &session,
                can.user(),
                scope,
                K::KIND,
                &current,
                form,
                field_errors(problems),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ResourceError::Stale(now_row)) => {
            stale_page(&state, &session, can.user(), scope, K::KIND, form, *now_row).await
        }
        Err(ResourceError::NameTaken) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "name",
                format!(
                    "A live {} named “{}” exists in this workspace.",
                    K::KIND.label().to_lowercase(),
                    input.name
                ),
            );
            resource_page(
                &state,
                &session,
                can.user(),
                scope,
                K::KIND,
                &current,
                form,
                errors,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ResourceError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// Deletes a live resource (restorable for 30 days).
pub async fn delete<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Write>,
    client: ClientInfo,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let scope = can.scope();
    let current = load_live(&state, scope, K::KIND, &id).await?;
    let proof = write_proof::<K>(can.allowed());
    let actor = can.user().actor();
    let ev = event(can.user(), &client, "resource.deleted", scope);
    let nav = KindNav::of(scope, K::KIND);
    match state
        .db
        .delete_resource(&proof, current.id, &actor, ev, state.clock.unix())
        .await
    {
        Ok(row) => {
            session
                .flash(
                    FlashKind::Success,
                    format!(
                        "{} “{}” deleted. It can be restored from the deleted view for 30 days.",
                        K::KIND.label(),
                        row.name
                    ),
                )
                .await?;
            Ok(Redirect::to(&nav.base()).into_response())
        }
        Err(ResourceError::InUse(schedules)) => {
            let message = format!(
                "This agent is not deleted: enabled schedules run it ({}). Disable or delete \
                 them first.",
                schedules.join(", ")
            );
            resource_page(
                &state,
                &session,
                can.user(),
                scope,
                K::KIND,
                &current,
                ResourceForm::of(&current),
                FieldErrors::new(),
                None,
                Some(message),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(ResourceError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// Restores a resource deleted less than 30 days ago.
pub async fn restore<K: KindSpec>(
    State(state): State<AppState>,
    session: AppSession,
    can: WorkspaceCan<K::Write>,
    client: ClientInfo,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let scope = can.scope();
    let id = id_from(&id)?;
    let proof = write_proof::<K>(can.allowed());
    let ev = event(can.user(), &client, "resource.restored", scope);
    let nav = KindNav::of(scope, K::KIND);
    let now = state.clock.unix();
    match state.db.restore_resource(&proof, id, ev, now).await {
        Ok(row) => {
            session
                .flash(
                    FlashKind::Success,
                    format!("{} “{}” restored.", K::KIND.label(), row.name),
                )
                .await?;
            Ok(Redirect::to(&format!("{}/{}", nav.base(), row.id)).into_response())
        }
        Err(ResourceError::NameTaken) => {
            let name = state
                .db
                .deleted_resource(&proof, id, now)
                .await?
                .map(|r| r.name)
                .unwrap_or_default();
            session
                .flash(
                    FlashKind::Error,
                    format!(
                        "“{name}” was not restored: a live {} has that name now. Rename or \
                         delete it first.",
                        K::KIND.label().to_lowercase()
                    ),
                )
                .await?;
            Ok(Redirect::to(&format!("{}?deleted=true", nav.base())).into_response())
        }
        Err(ResourceError::Invalid(problems)) => {
            let why: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
            session
                .flash(
                    FlashKind::Error,
                    format!(
                        "Not restored: {}. Restore that agent first.",
                        why.join("; ")
                    ),
                )
                .await?;
            Ok(Redirect::to(&format!("{}?deleted=true", nav.base())).into_response())
        }
        Err(ResourceError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}
