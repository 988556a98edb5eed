//! `/orgs/{slug}/teams`: create, rename, delete (restorable for 30 days),
//! and team membership (a team holds roles on workspaces; its members hold none of their own).
//!
//! A team made by the org's identity provider (`/scim/v2/Groups`) says so on
//! its page and refuses rename, delete, restore and adding or removing a
//! person (`OrgError::ScimManaged`, from `db::teams`): those change in the
//! identity provider. Its service accounts and its workspace roles stay the
//! owners' to edit — that is access, not membership.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::id_from;
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::members::MemberRef;
use crate::db::orgs::OrgError;
use crate::db::teams::{TeamMemberRow, TeamRow};
use crate::domain::{Email, TeamName};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

pub struct TeamItem {
    pub id: String,
    pub name: String,
    pub member_count: i64,
    pub deleted: Option<Timestamp>,
    pub scim_managed: bool,
}

/// What a hand edit of a SCIM-managed team is told.
pub const SCIM_MANAGED: &str =
    "This team is managed by your identity provider (SCIM): change its name and its members there.";

fn team_item(t: &TeamRow, now: i64) -> TeamItem {
    TeamItem {
        id: t.id.to_string(),
        name: t.name.clone(),
        member_count: t.member_count,
        deleted: t.deleted_at.map(|d| Timestamp::new(d, now)),
        scim_managed: t.scim_managed,
    }
}

#[derive(Template)]
#[template(path = "orgs/teams.html")]
pub struct TeamsPage {
    pub ctx: PageContext,
    pub slug: String,
    pub teams: Vec<TeamItem>,
    pub name: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    pub name: String,
}

async fn teams_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let teams = state.db.list_teams(owner.scope(), now).await?;
    let page = TeamsPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgTeams,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        teams: teams.iter().map(|t| team_item(t, now)).collect(),
        name,
        errors,
    };
    render(status, &page)
}

pub async fn list_teams(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    teams_page(
        &state,
        &session,
        &owner,
        String::new(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create_team(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Form(form): Form<TeamForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let Some(name) = errors.check("name", TeamName::parse(&form.name)) else {
        return teams_page(
            &state,
            &session,
            &owner,
            form.name,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let id = match state
        .db
        .create_team(
            owner.scope(),
            name.as_str(),
            |team| {
                Event::by(owner.user().actor())
                    .did("team.created")
                    .on("team", team)
                    .in_org(owner.scope())
                    .detail(json!({ "name": name.as_str() }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await
    {
        Ok(id) => id,
        Err(OrgError::TeamNameTaken) => {
            errors.add("name", "A team with this name exists.");
            return teams_page(
                &state,
                &session,
                &owner,
                form.name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    session
        .flash(
            FlashKind::Success,
            format!("Team “{}” created.", name.as_str()),
        )
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}/teams/{id}", owner.scope().slug())).into_response())
}

pub struct TeamMemberItem {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
}

#[derive(Template)]
#[template(path = "orgs/team.html")]
pub struct TeamPage {
    pub ctx: PageContext,
    pub slug: String,
    pub team: TeamItem,
    pub members: Vec<TeamMemberItem>,
    pub name: String,
    pub add_email: String,
    pub errors: FieldErrors,
    /// The workspaces this team holds a role on.
    pub grants: Vec<crate::db::grants::WorkspaceGrantRow>,
    /// The service accounts on the team, and those of the org that are not.
    pub service_accounts: Vec<crate::db::service_accounts::TeamServiceAccountRow>,
    pub other_service_accounts: Vec<crate::db::service_accounts::TeamServiceAccountRow>,
}

fn member_item(m: TeamMemberRow) -> TeamMemberItem {
    TeamMemberItem {
        user_id: m.user_id.to_string(),
        display_name: m.display_name,
        email: m.email,
    }
}

async fn team_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    team: &TeamRow,
    add_email: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let members = state.db.team_members(owner.scope(), team.id).await?;
    let on_team = state
        .db
        .team_service_accounts(owner.scope(), team.id)
        .await?;
    let page = TeamPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgTeams,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        name: team.name.clone(),
        team: team_item(team, now),
        members: members.into_iter().map(member_item).collect(),
        add_email,
        errors,
        grants: state
            .db
            .team_workspace_grants(owner.scope(), team.id)
            .await?,
        other_service_accounts: state
            .db
            .list_service_accounts(owner.scope(), now)
            .await?
            .into_iter()
            .filter(|a| !on_team.iter().any(|t| t.id == a.id))
            .map(|a| crate::db::service_accounts::TeamServiceAccountRow {
                id: a.id,
                name: a.name,
            })
            .collect(),
        service_accounts: on_team,
    };
    render(status, &page)
}

async fn load_team(state: &AppState, owner: &OrgOwner, id: &str) -> Result<TeamRow, AppError> {
    state
        .db
        .find_team(owner.scope(), id_from(id)?, state.clock.unix())
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn show_team(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    team_page(
        &state,
        &session,
        &owner,
        &team,
        String::new(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn rename_team(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<TeamForm>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    let mut errors = FieldErrors::new();
    let Some(name) = errors.check("name", TeamName::parse(&form.name)) else {
        return team_page(
            &state,
            &session,
            &owner,
            &team,
            String::new(),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state
        .db
        .rename_team(
            owner.scope(),
            team.id,
            name.as_str(),
            Event::by(owner.user().actor())
                .did("team.renamed")
                .on("team", team.id)
                .in_org(owner.scope())
                .detail(json!({ "before": team.name, "after": name.as_str() }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound),
        Err(OrgError::TeamNameTaken) => {
            errors.add("name", "A team with this name exists.");
            return team_page(
                &state,
                &session,
                &owner,
                &team,
                String::new(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(OrgError::ScimManaged) => {
            errors.add("name", SCIM_MANAGED);
            return team_page(
                &state,
                &session,
                &owner,
                &team,
                String::new(),
                errors,
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    session.flash(FlashKind::Success, "Team renamed.").await?;
    Ok(Redirect::to(&format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id)).into_response())
}

/// Deletes a team (restorable for 30 days): its members lose what it grants
/// at once, so it needs sudo mode — asked only once the team is found in this
/// org, so another org's id stays a 404.
pub async fn delete_team(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    let back = format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id);
    if team.scim_managed {
        session.flash(FlashKind::Error, SCIM_MANAGED).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let sudo = gate.check(&back)?;
    match state
        .db
        .delete_team(
            owner.scope(),
            &sudo,
            team.id,
            Event::by(owner.user().actor())
                .did("team.deleted")
                .on("team", team.id)
                .in_org(owner.scope())
                .detail(json!({ "name": team.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await
    {
        Ok(true) => {
            session
                .flash(
                    FlashKind::Success,
                    format!(
                        "Team “{}” deleted. You can restore it for 30 days.",
                        team.name
                    ),
                )
                .await?;
        }
        Ok(false) => {}
        Err(OrgError::ScimManaged) => {
            session.flash(FlashKind::Error, SCIM_MANAGED).await?;
            return Ok(Redirect::to(&back).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/orgs/{}/teams", owner.scope().slug())).into_response())
}

pub async fn restore_team(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    match state
        .db
        .restore_team(
            owner.scope(),
            team.id,
            Event::by(owner.user().actor())
                .did("team.restored")
                .on("team", team.id)
                .in_org(owner.scope())
                .detail(json!({ "name": team.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await
    {
        Ok(true) => {
            session
                .flash(
                    FlashKind::Success,
                    format!("Team “{}” restored.", team.name),
                )
                .await?;
        }
        Ok(false) => {}
        Err(OrgError::TeamNameTaken) => {
            session
                .flash(
                    FlashKind::Error,
                    "Another team now has this name. Rename that one first.",
                )
                .await?;
        }
        Err(OrgError::ScimManaged) => {
            session.flash(FlashKind::Error, SCIM_MANAGED).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/orgs/{}/teams", owner.scope().slug())).into_response())
}

#[derive(Debug, Deserialize)]
pub struct TeamMemberForm {
    #[serde(default)]
    pub email: String,
}

pub async fn add_team_member(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<TeamMemberForm>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&form.email));
    let (Some(email), None) = (email, team.deleted_at) else {
        return team_page(
            &state,
            &session,
            &owner,
            &team,
            form.email,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state
        .db
        .add_team_member(
            owner.scope(),
            team.id,
            MemberRef::Email(email.as_str()),
            |user_id| {
                Event::by(owner.user().actor())
                    .did("team.member_added")
                    .on("user", user_id)
                    .in_org(owner.scope())
                    .detail(json!({ "team": team.name }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await
    {
        Ok((_, added)) => {
            let message = if added {
                format!("{email} is now on {}.", team.name)
            } else {
                format!("{email} was already on {}.", team.name)
            };
            session.flash(FlashKind::Success, message).await?;
        }
        Err(OrgError::NotAMember) => {
            errors.add(
                "email",
                "No member of this organization has that email address. Invite them first.",
            );
            return team_page(
                &state,
                &session,
                &owner,
                &team,
                form.email,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(OrgError::ScimManaged) => {
            errors.add("email", SCIM_MANAGED);
            return team_page(
                &state,
                &session,
                &owner,
                &team,
                form.email,
                errors,
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id)).into_response())
}

pub async fn remove_team_member(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id, user)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    let user_id = id_from(&user)?;
    match state
        .db
        .remove_team_member(
            owner.scope(),
            team.id,
            user_id,
            Event::by(owner.user().actor())
                .did("team.member_removed")
                .on("user", user_id)
                .in_org(owner.scope())
                .detail(json!({ "team": team.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound),
        Err(OrgError::ScimManaged) => {
            session.flash(FlashKind::Error, SCIM_MANAGED).await?;
            return Ok(
                Redirect::to(&format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id))
                    .into_response(),
            );
        }
        Err(e) => return Err(e.into()),
    }
    session
        .flash(FlashKind::Success, "Removed from the team.")
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct TeamServiceAccountForm {
    #[serde(default)]
    pub service_account: String,
}

/// Puts a service account of the org on the team: it holds the team's
/// workspace roles from its next request on.
pub async fn add_team_service_account(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<TeamServiceAccountForm>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    let now = state.clock.unix();
    let sa = match uuid::Uuid::parse_str(&form.service_account) {
        Ok(sa_id) => {
            state
                .db
                .find_service_account(owner.scope(), sa_id, now)
                .await?
        }
        Err(_) => None,
    };
    let (Some(sa), None) = (sa, team.deleted_at) else {
        let mut errors = FieldErrors::new();
        errors.add(
            "service_account",
            "Choose a service account of this organization.",
        );
        return team_page(
            &state,
            &session,
            &owner,
            &team,
            String::new(),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let added = state
        .db
        .add_team_service_account(
            owner.scope(),
            team.id,
            sa.id,
            Event::by(owner.user().actor())
                .did("team.service_account_added")
                .on("service_account", sa.id)
                .in_org(owner.scope())
                .detail(json!({ "team": team.name, "service_account": sa.name }))
                .from(&client.origin()),
            now,
        )
        .await?;
    if added {
        session
            .flash(
                FlashKind::Success,
                format!("{} is now on {}.", sa.name, team.name),
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id)).into_response())
}

pub async fn remove_team_service_account(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id, sa)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let team = load_team(&state, &owner, &id).await?;
    let sa_id = id_from(&sa)?;
    if !state
        .db
        .remove_team_service_account(
            owner.scope(),
            team.id,
            sa_id,
            Event::by(owner.user().actor())
                .did("team.service_account_removed")
                .on("service_account", sa_id)
                .in_org(owner.scope())
                .detail(json!({ "team": team.name }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await?
    {
        return Err(AppError::NotFound);
    }
    session
        .flash(FlashKind::Success, "Service account removed from the team.")
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}/teams/{}", owner.scope().slug(), team.id)).into_response())
}
