//! `/orgs/{slug}/workspaces/{ws}/access`: the teams holding a role on the
//! workspace. Anyone who reaches the workspace may read it; owners grant a
//! team a role (one per team: granting again changes it) and revoke it, in
//! sudo mode (a grant hands out access) and audited
//! (`workspace.grant_added/changed/removed`). The change applies at the next
//! request of every member of the team, and of their keys.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::id_from;
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::proof::WorkspaceScope;
use crate::authz::sudo::take_stashed_form;
use crate::authz::workspace::workspace_scope;
use crate::authz::{CurrentUser, OrgOwner, SudoGate, WorkspaceMember};
use crate::db::audit::Event;
use crate::db::grants::{Grant, GrantOutcome, TeamGrantRow};
use crate::domain::{BuiltinRole, PermissionSet};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

pub struct GrantItem {
    pub team_id: String,
    pub team_name: String,
    pub role_name: String,
    pub permissions: Vec<&'static str>,
}

pub struct Choice {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Template)]
#[template(path = "orgs/workspace_access.html")]
pub struct AccessPage {
    pub ctx: PageContext,
    pub slug: String,
    pub ws_slug: String,
    pub ws_name: String,
    pub is_owner: bool,
    pub grants: Vec<GrantItem>,
    pub teams: Vec<Choice>,
    pub roles: Vec<Choice>,
    pub errors: FieldErrors,
}

fn grant_item(g: TeamGrantRow) -> GrantItem {
    GrantItem {
        team_id: g.team_id.to_string(),
        team_name: g.team_name,
        role_name: g.role_name,
        permissions: PermissionSet::from_stored(g.permissions).names(),
    }
}

fn access_path(scope: &WorkspaceScope) -> String {
    format!(
        "/orgs/{}/workspaces/{}/access",
        scope.org().slug(),
        scope.slug()
    )
}

async fn access_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    scope: &WorkspaceScope,
    form: GrantForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let org = scope.org();
    let grants = state.db.workspace_team_grants(scope).await?;
    let (teams, roles) = if org.is_owner() {
        let now = state.clock.unix();
        let teams = state.db.list_teams(org, now).await?;
        let roles = state.db.list_roles(org).await?;
        (
            teams
                .into_iter()
                .filter(|t| t.deleted_at.is_none())
                .map(|t| Choice {
                    selected: form.team == t.id.to_string(),
                    id: t.id.to_string(),
                    label: t.name,
                })
                .collect(),
            roles
                .into_iter()
                .map(|r| Choice {
                    // The least powerful role is the default choice: a
                    // grant made in a hurry gives read access, not Creator.
                    selected: if form.role.is_empty() {
                        r.org_id.is_none() && r.name == BuiltinRole::Viewer.name()
                    } else {
                        form.role == r.id.to_string()
                    },
                    id: r.id.to_string(),
                    label: r.name,
                })
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let page = AccessPage {
        ctx: PageContext::for_org(state, session, user, org, Section::OrgWorkspaces).await?,
        slug: org.slug().to_owned(),
        ws_slug: scope.slug().to_owned(),
        ws_name: scope.name().to_owned(),
        is_owner: org.is_owner(),
        grants: grants.into_iter().map(grant_item).collect(),
        teams,
        roles,
        errors,
    };
    render(status, &page)
}

pub async fn show_access(
    State(state): State<AppState>,
    session: AppSession,
    member: WorkspaceMember,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<GrantForm>(&session, &access_path(member.scope()))
        .await?
        .unwrap_or_default();
    access_page(
        &state,
        &session,
        member.user(),
        member.scope(),
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// The owner's scope in the workspace of the URL (404 when the org has no
/// such workspace).
async fn owner_workspace(
    state: &AppState,
    owner: &OrgOwner,
    ws: &str,
) -> Result<WorkspaceScope, AppError> {
    let org: &crate::authz::OrgScope = owner.scope();
    Ok(workspace_scope(state, org.clone(), ws).await?)
}

/// Grants a team a role on the workspace, or changes the role it holds.
pub async fn grant_access(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, ws)): Path<(String, String)>,
    Form(form): Form<GrantForm>,
) -> Result<Response, AppError> {
    let scope = owner_workspace(&state, &owner, &ws).await?;
    let sudo = gate.enter(&access_path(&scope), &form).await?;
    let mut errors = FieldErrors::new();
    let team = errors.check(
        "team",
        uuid::Uuid::parse_str(&form.team).map_err(|_| "Choose a team."),
    );
    let role = errors.check(
        "role",
        uuid::Uuid::parse_str(&form.role).map_err(|_| "Choose a role."),
    );
    let (Some(team_id), Some(role_id)) = (team, role) else {
        return access_page(
            &state,
            &session,
            owner.user(),
            &scope,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let team_name = state
        .db
        .find_team(owner.scope(), team_id, state.clock.unix())
        .await?
        .filter(|t| t.deleted_at.is_none())
        .map(|t| t.name);
    let role_name = state
        .db
        .find_role(owner.scope(), role_id)
        .await?
        .map(|r| r.name);
    let (Some(team_name), Some(role_name)) = (team_name, role_name) else {
        errors.add("team", "Choose a team and a role of this organization.");
        return access_page(
            &state,
            &session,
            owner.user(),
            &scope,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let outcome = state
        .db
        .set_workspace_grant(
            owner.scope(),
            &sudo,
            Grant {
                workspace_id: scope.workspace_id(),
                team_id,
                role_id,
            },
            |outcome| {
                let (action, before) = match outcome {
                    GrantOutcome::Changed { before } => {
                        ("workspace.grant_changed", Some(before.clone()))
                    }
                    _ => ("workspace.grant_added", None),
                };
                Event::by(owner.user().actor())
                    .did(action)
                    .on("workspace", scope.workspace_id())
                    .in_org(owner.scope())
                    .detail(json!({
                        "workspace": scope.slug(),
                        "team": team_name,
                        "team_id": team_id,
                        "role": role_name,
                        "before": before,
                    }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await?;
    let message = match outcome {
        GrantOutcome::Added => format!("Team {team_name} now holds {role_name} here."),
        GrantOutcome::Changed { before } => {
            format!("Team {team_name} now holds {role_name} here (was {before}).")
        }
        GrantOutcome::Unchanged => format!("Team {team_name} already holds {role_name} here."),
        GrantOutcome::NotFound => return Err(AppError::NotFound),
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&access_path(&scope)).into_response())
}

/// Revokes a team's role on the workspace.
pub async fn revoke_access(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, ws, team)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let scope = owner_workspace(&state, &owner, &ws).await?;
    let team_id = id_from(&team)?;
    let grant = state
        .db
        .workspace_team_grants(&scope)
        .await?
        .into_iter()
        .find(|g| g.team_id == team_id)
        .ok_or(AppError::NotFound)?;
    let sudo = gate.check(&access_path(&scope))?;
    state
        .db
        .remove_workspace_grant(
            owner.scope(),
            &sudo,
            scope.workspace_id(),
            team_id,
            Event::by(owner.user().actor())
                .did("workspace.grant_removed")
                .on("workspace", scope.workspace_id())
                .in_org(owner.scope())
                .detail(json!({
                    "workspace": scope.slug(),
                    "team": grant.team_name,
                    "team_id": team_id,
                    "role": grant.role_name,
                }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?;
    session
        .flash(
            FlashKind::Success,
            format!("Team {} no longer holds a role here.", grant.team_name),
        )
        .await?;
    Ok(Redirect::to(&access_path(&scope)).into_response())
}
