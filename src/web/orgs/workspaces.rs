//! `/orgs/{slug}/workspaces`: the org's workspaces (DESIGN.md §2a).
//!
//! Every member sees the list of the workspaces they reach (owners: all, and
//! the archived ones with "restore"); a workspace's page shows what the caller
//! may do there and why (permission ← role ← team, or owner). Only owners
//! create, rename, describe, archive and restore (`OrgOwner`, whose
//! `OwnerScope` the db functions require); each change is audited in its own
//! transaction. A workspace the caller does not reach is 404, like a missing
//! one.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::{
    CurrentUser, OrgMember, OrgOwner, OrgScope, PermissionSource, SudoGate, WorkspaceMember,
};
use crate::db::audit::Event;
use crate::db::workspaces::{WorkspaceError, WorkspaceRow};
use crate::domain::{Description, Permission, Slug, WorkspaceName};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

pub struct WorkspaceItem {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub archived: Option<Timestamp>,
}

fn item(w: &WorkspaceRow, now: i64) -> WorkspaceItem {
    WorkspaceItem {
        slug: w.slug.clone(),
        name: w.name.clone(),
        description: w.description.clone(),
        archived: w.archived_at.map(|a| Timestamp::new(a, now)),
    }
}

#[derive(Template)]
#[template(path = "orgs/workspaces.html")]
pub struct WorkspacesPage {
    pub ctx: PageContext,
    pub slug: String,
    pub is_owner: bool,
    pub live: Vec<WorkspaceItem>,
    pub archived: Vec<WorkspaceItem>,
    pub form: WorkspaceForm,
    pub errors: FieldErrors,
}

/// The create and settings forms' fields.
#[derive(Debug, Default, Deserialize)]
pub struct WorkspaceForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub description: String,
}

async fn workspaces_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    scope: &OrgScope,
    form: WorkspaceForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let all = state.db.visible_workspaces(scope, scope.is_owner()).await?;
    let (archived, live): (Vec<_>, Vec<_>) = all.iter().partition(|w| w.archived_at.is_some());
    let page = WorkspacesPage {
        ctx: PageContext::for_org(state, session, user, scope, Section::OrgWorkspaces).await?,
        slug: scope.slug().to_owned(),
        is_owner: scope.is_owner(),
        live: live.into_iter().map(|w| item(w, now)).collect(),
        archived: archived.into_iter().map(|w| item(w, now)).collect(),
        form,
        errors,
    };
    render(status, &page)
}

pub async fn list_workspaces(
    State(state): State<AppState>,
    session: AppSession,
    member: OrgMember,
) -> Result<Response, AppError> {
    workspaces_page(
        &state,
        &session,
        member.user(),
        member.scope(),
        WorkspaceForm::default(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// The checked fields of a workspace form, or the errors to show.
fn parse_fields(
    form: &WorkspaceForm,
    errors: &mut FieldErrors,
) -> (Option<WorkspaceName>, Option<Description>) {
    let name = errors.check("name", WorkspaceName::parse(&form.name));
    let description = errors.check("description", Description::parse(&form.description));
    (name, description)
}

pub async fn create_workspace(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Form(form): Form<WorkspaceForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let (name, description) = parse_fields(&form, &mut errors);
    let slug_input = if form.slug.trim().is_empty() {
        Slug::suggest(&form.name)
    } else {
        form.slug.clone()
    };
    let slug = errors.check("slug", Slug::parse(&slug_input));
    let (Some(name), Some(description), Some(slug)) = (name, description, slug) else {
        return workspaces_page(
            &state,
            &session,
            owner.user(),
            owner.scope(),
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let created = state
        .db
        .create_workspace(
            owner.scope(),
            slug.as_str(),
            name.as_str(),
            description.as_str(),
            |id| {
                Event::by(owner.user().actor())
                    .did("workspace.created")
                    .on("workspace", id)
                    .in_org(owner.scope())
                    .detail(json!({ "slug": slug.as_str(), "name": name.as_str() }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await;
    match created {
        Ok(_) => {}
        Err(WorkspaceError::SlugTaken) => {
            errors.add("slug", "A workspace of this organization has this slug.");
            return workspaces_page(
                &state,
                &session,
                owner.user(),
                owner.scope(),
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(WorkspaceError::Db(e)) => return Err(e.into()),
    }
    session
        .flash(
            FlashKind::Success,
            format!("Workspace “{}” created.", name.as_str()),
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/orgs/{}/workspaces/{}",
        owner.scope().slug(),
        slug.as_str()
    ))
    .into_response())
}

/// One permission the caller holds, and each grant it comes through.
pub struct HeldPermission {
    pub name: &'static str,
    pub description: &'static str,
    /// "owner of the organization", or "role Creator ← team Platform".
    pub sources: Vec<String>,
}

/// Each permission of `held`, with the sources that give it: the "why can I
/// do this?" answer for pages.
pub fn explain(
    held: crate::domain::PermissionSet,
    sources: &[PermissionSource],
) -> Vec<HeldPermission> {
    Permission::ALL
        .into_iter()
        .filter(|p| held.contains(*p))
        .map(|p| HeldPermission {
            name: p.as_str(),
            description: p.description(),
            sources: sources
                .iter()
                .filter_map(|s| match s {
                    PermissionSource::Owner => Some("owner of the organization".to_owned()),
                    PermissionSource::Team {
                        team_name,
                        role_name,
                        permissions,
                        ..
                    } if permissions.contains(p) => {
                        Some(format!("role {role_name} ← team {team_name}"))
                    }
                    PermissionSource::Team { .. } => None,
                })
                .collect(),
        })
        .collect()
}

/// The four kinds of resources a workspace holds, with the path segment of
/// their lists.
pub const KINDS: [(&str, &str); 4] = [
    ("agents", "Agents"),
    ("tools", "Tools"),
    ("mcp-servers", "MCP servers"),
    ("schedules", "Schedules"),
];

#[derive(Template)]
#[template(path = "orgs/workspace.html")]
pub struct WorkspacePage {
    pub ctx: PageContext,
    pub slug: String,
    pub ws: WorkspaceItem,
    pub archived: bool,
    pub is_owner: bool,
    pub kinds: [(&'static str, &'static str); 4],
    pub permissions: Vec<HeldPermission>,
    /// Whether the viewer may export the configuration (every kind's read).
    pub can_read_config: bool,
}

pub async fn show_workspace(
    State(state): State<AppState>,
    session: AppSession,
    member: WorkspaceMember,
) -> Result<Response, AppError> {
    let scope = member.scope();
    let org = scope.org();
    let page = WorkspacePage {
        ctx: PageContext::for_org(&state, &session, member.user(), org, Section::OrgWorkspaces)
            .await?,
        slug: org.slug().to_owned(),
        ws: WorkspaceItem {
            slug: scope.slug().to_owned(),
            name: scope.name().to_owned(),
            description: scope.description().to_owned(),
            archived: None,
        },
        archived: scope.is_archived(),
        is_owner: org.is_owner(),
        kinds: KINDS,
        permissions: explain(scope.permissions(), scope.sources()),
        can_read_config: crate::authz::resource::check_config_read(scope).is_ok(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "orgs/workspace_settings.html")]
pub struct WorkspaceSettingsPage {
    pub ctx: PageContext,
    pub slug: String,
    pub ws: WorkspaceItem,
    pub form: WorkspaceForm,
    pub errors: FieldErrors,
}

async fn load_workspace(
    state: &AppState,
    owner: &OrgOwner,
    ws: &str,
) -> Result<WorkspaceRow, AppError> {
    state
        .db
        .find_workspace(owner.scope(), ws)
        .await?
        .ok_or(AppError::NotFound)
}

async fn settings_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    ws: &WorkspaceRow,
    form: WorkspaceForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = WorkspaceSettingsPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgWorkspaces,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        ws: item(ws, state.clock.unix()),
        form,
        errors,
    };
    render(status, &page)
}

pub async fn show_settings(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, ws)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let ws = load_workspace(&state, &owner, &ws).await?;
    let form = WorkspaceForm {
        name: ws.name.clone(),
        slug: ws.slug.clone(),
        description: ws.description.clone(),
    };
    settings_page(
        &state,
        &session,
        &owner,
        &ws,
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Renames and re-describes a workspace (the slug, part of every URL and
/// key grant, stays).
pub async fn update_settings(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, ws)): Path<(String, String)>,
    Form(form): Form<WorkspaceForm>,
) -> Result<Response, AppError> {
    let ws = load_workspace(&state, &owner, &ws).await?;
    let mut errors = FieldErrors::new();
    let (Some(name), Some(description)) = parse_fields(&form, &mut errors) else {
        return settings_page(
            &state,
            &session,
            &owner,
            &ws,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    state
        .db
        .update_workspace(
            owner.scope(),
            ws.id,
            name.as_str(),
            description.as_str(),
            Event::by(owner.user().actor())
                .did("workspace.renamed")
                .on("workspace", ws.id)
                .in_org(owner.scope())
                .detail(json!({
                    "slug": ws.slug,
                    "before": { "name": ws.name, "description": ws.description },
                    "after": { "name": name.as_str(), "description": description.as_str() },
                }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?;
    session
        .flash(FlashKind::Success, "Workspace saved.")
        .await?;
    Ok(Redirect::to(&format!(
        "/orgs/{}/workspaces/{}/settings",
        owner.scope().slug(),
        ws.slug
    ))
    .into_response())
}

/// Archives (in sudo: every write and run in it stops) or restores a
/// workspace. The workspace is looked up first, so another org's is 404,
/// never a sudo prompt.
async fn set_archived(
    state: AppState,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    ws: String,
    sudo_to_archive: Option<SudoGate>,
) -> Result<Response, AppError> {
    let ws = load_workspace(&state, &owner, &ws).await?;
    let archived = match sudo_to_archive {
        Some(gate) => {
            gate.check(&format!(
                "/orgs/{}/workspaces/{}/settings",
                owner.scope().slug(),
                ws.slug
            ))?;
            true
        }
        None => false,
    };
    let action = if archived {
        "workspace.archived"
    } else {
        "workspace.restored"
    };
    let changed = state
        .db
        .set_workspace_archived(
            owner.scope(),
            ws.id,
            archived,
            Event::by(owner.user().actor())
                .did(action)
                .on("workspace", ws.id)
                .in_org(owner.scope())
                .detail(json!({ "slug": ws.slug, "name": ws.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?;
    if changed {
        let message = if archived {
            format!("Workspace “{}” archived: it is read-only now.", ws.name)
        } else {
            format!("Workspace “{}” restored.", ws.name)
        };
        session.flash(FlashKind::Success, message).await?;
    }
    Ok(Redirect::to(&format!("/orgs/{}/workspaces", owner.scope().slug())).into_response())
}

pub async fn archive_workspace(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, ws)): Path<(String, String)>,
) -> Result<Response, AppError> {
    set_archived(state, session, owner, client, ws, Some(gate)).await
}

pub async fn restore_workspace(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, ws)): Path<(String, String)>,
) -> Result<Response, AppError> {
    set_archived(state, session, owner, client, ws, None).await
}

/// One workspace a principal reaches through its teams, with each permission
/// it holds there and why: the owner's answer to "why can this member or
/// service account do this?".
pub struct WorkspaceWhy {
    pub slug: String,
    pub name: String,
    pub archived: bool,
    pub permissions: Vec<HeldPermission>,
}

/// Groups a principal's grants (ordered by workspace) into `WorkspaceWhy`s,
/// folded as `authz::workspace::decide` folds them (union of the roles; an
/// archived workspace keeps only the `:read` permissions).
pub fn why_by_workspace(rows: Vec<crate::db::grants::PrincipalGrantRow>) -> Vec<WorkspaceWhy> {
    use crate::db::workspaces::GrantRow;
    // Rows come ordered by workspace: group them, then let the access
    // model itself decide (the union of the roles, reads only when
    // archived), so this view cannot drift from the check.
    let mut grouped: Vec<(WorkspaceWhy, Vec<GrantRow>)> = Vec::new();
    for r in rows {
        let grant = GrantRow {
            team_id: r.team_id,
            team_name: r.team_name,
            role_id: r.role_id,
            role_name: r.role_name,
            permissions: r.permissions,
        };
        match grouped.last_mut() {
            Some((w, grants)) if w.slug == r.workspace_slug => grants.push(grant),
            _ => grouped.push((
                WorkspaceWhy {
                    slug: r.workspace_slug,
                    name: r.workspace_name,
                    archived: r.archived_at.is_some(),
                    permissions: Vec::new(),
                },
                vec![grant],
            )),
        }
    }
    grouped
        .into_iter()
        .filter_map(|(mut w, grants)| {
            let (held, sources) =
                crate::authz::workspace::decide(false, w.archived, &grants, None)?;
            w.permissions = explain(held, &sources);
            Some(w)
        })
        .collect()
}
