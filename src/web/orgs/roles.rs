//! `/orgs/{slug}/roles` (owners): the built-in roles, read-only with their
//! permissions, and the org's custom roles — create, edit, delete. A role
//! decides what its holders may do in every workspace it is granted on, so
//! creating, editing and deleting one needs sudo mode (a stolen session alone
//! cannot widen anyone's access); the form comes back filled after sudo.
//! Deleting is refused while the role is granted, naming where.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::id_from;
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::roles::{RoleError, RoleFields, RoleRow, RoleUse};
use crate::domain::{Description, Permission, PermissionSet, RoleName};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm, Path};
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

pub struct RoleItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<&'static str>,
}

fn role_item(r: &RoleRow) -> RoleItem {
    RoleItem {
        id: r.id.to_string(),
        name: r.name.clone(),
        description: r.description.clone(),
        builtin: r.is_builtin(),
        permissions: r.permission_set().names(),
    }
}

/// One checkbox of the permission catalog.
pub struct PermissionChoice {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

fn choices(selected: &[String]) -> Vec<PermissionChoice> {
    Permission::ALL
        .into_iter()
        .map(|p| PermissionChoice {
            name: p.as_str(),
            description: p.description(),
            checked: selected.iter().any(|s| s == p.as_str()),
        })
        .collect()
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Template)]
#[template(path = "orgs/roles.html")]
pub struct RolesPage {
    pub ctx: PageContext,
    pub slug: String,
    pub builtin: Vec<RoleItem>,
    pub custom: Vec<RoleItem>,
    pub form: RoleForm,
    pub choices: Vec<PermissionChoice>,
    pub errors: FieldErrors,
}

async fn roles_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    form: RoleForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let roles = state.db.list_roles(owner.scope()).await?;
    let (builtin, custom): (Vec<_>, Vec<_>) = roles.iter().partition(|r| r.is_builtin());
    let page = RolesPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgRoles,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        builtin: builtin.into_iter().map(role_item).collect(),
        custom: custom.into_iter().map(role_item).collect(),
        choices: choices(&form.permissions),
        form,
        errors,
    };
    render(status, &page)
}

fn roles_path(owner: &OrgOwner) -> String {
    format!("/orgs/{}/roles", owner.scope().slug())
}

pub async fn list_roles(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<RoleForm>(&session, &roles_path(&owner))
        .await?
        .unwrap_or_default();
    roles_page(
        &state,
        &session,
        &owner,
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

struct Checked {
    name: RoleName,
    description: Description,
    permissions: PermissionSet,
}

fn check(form: &RoleForm, errors: &mut FieldErrors) -> Option<Checked> {
    let name = errors.check("name", RoleName::parse(&form.name));
    let description = errors.check("description", Description::parse(&form.description));
    let permissions = match PermissionSet::from_names(&form.permissions) {
        Ok(p) if p.is_empty() => {
            errors.add("permissions", "Choose at least one permission.");
            None
        }
        Ok(p) => Some(p),
        Err(_) => {
            errors.add("permissions", "Choose permissions from the list.");
            None
        }
    };
    Some(Checked {
        name: name?,
        description: description?,
        permissions: permissions?,
    })
}

const NAME_TAKEN: &str = "A role of this organization has this name.";

pub async fn create_role(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    ListForm(form): ListForm<RoleForm>,
) -> Result<Response, AppError> {
    let sudo = gate.enter(&roles_path(&owner), &form).await?;
    let mut errors = FieldErrors::new();
    let Some(c) = check(&form, &mut errors) else {
        return roles_page(
            &state,
            &session,
            &owner,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let created = state
        .db
        .create_role(
            owner.scope(),
            &sudo,
            RoleFields {
                name: c.name.as_str(),
                description: c.description.as_str(),
                permissions: c.permissions,
            },
            |id| {
                Event::by(owner.user().actor())
                    .did("role.created")
                    .on("role", id)
                    .in_org(owner.scope())
                    .detail(json!({
                        "name": c.name.as_str(),
                        "permissions": c.permissions.names(),
                    }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await;
    match created {
        Ok(_) => {}
        Err(RoleError::NameTaken) => {
            errors.add("name", NAME_TAKEN);
            return roles_page(
                &state,
                &session,
                &owner,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(RoleError::InUse(_)) => return Err(AppError::NotFound),
        Err(RoleError::Db(e)) => return Err(e.into()),
    }
    session
        .flash(
            FlashKind::Success,
            format!("Role “{}” created.", c.name.as_str()),
        )
        .await?;
    Ok(Redirect::to(&roles_path(&owner)).into_response())
}

#[derive(Template)]
#[template(path = "orgs/role.html")]
pub struct RolePage {
    pub ctx: PageContext,
    pub slug: String,
    pub role: RoleItem,
    pub uses: Vec<RoleUse>,
    pub form: RoleForm,
    pub choices: Vec<PermissionChoice>,
    pub errors: FieldErrors,
}

async fn load_role(state: &AppState, owner: &OrgOwner, id: &str) -> Result<RoleRow, AppError> {
    state
        .db
        .find_role(owner.scope(), id_from(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

fn role_path(owner: &OrgOwner, role: &RoleRow) -> String {
    format!("/orgs/{}/roles/{}", owner.scope().slug(), role.id)
}

async fn role_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    role: &RoleRow,
    form: RoleForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let uses = state.db.role_uses(owner.scope(), role.id).await?;
    let page = RolePage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgRoles,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        role: role_item(role),
        uses,
        choices: choices(&form.permissions),
        form,
        errors,
    };
    render(status, &page)
}

pub async fn show_role(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let role = load_role(&state, &owner, &id).await?;
    let form = match take_stashed_form::<RoleForm>(&session, &role_path(&owner, &role)).await? {
        Some(form) => form,
        None => RoleForm {
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role
                .permission_set()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        },
    };
    role_page(
        &state,
        &session,
        &owner,
        &role,
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Edits a custom role: its holders hold the new permissions from their
/// next request on. A built-in role is not a custom role of the org: 404.
pub async fn update_role(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    ListForm(form): ListForm<RoleForm>,
) -> Result<Response, AppError> {
    let role = load_role(&state, &owner, &id).await?;
    if role.is_builtin() {
        return Err(AppError::NotFound);
    }
    let sudo = gate.enter(&role_path(&owner, &role), &form).await?;
    let mut errors = FieldErrors::new();
    let Some(c) = check(&form, &mut errors) else {
        return role_page(
            &state,
            &session,
            &owner,
            &role,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let updated = state
        .db
        .update_role(
            owner.scope(),
            &sudo,
            role.id,
            RoleFields {
                name: c.name.as_str(),
                description: c.description.as_str(),
                permissions: c.permissions,
            },
            Event::by(owner.user().actor())
                .did("role.updated")
                .on("role", role.id)
                .in_org(owner.scope())
                .detail(json!({
                    "before": {
                        "name": role.name,
                        "description": role.description,
                        "permissions": role.permission_set().names(),
                    },
                    "after": {
                        "name": c.name.as_str(),
                        "description": c.description.as_str(),
                        "permissions": c.permissions.names(),
                    },
                }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await;
    match updated {
        Ok(true) => {}
        Ok(false) | Err(RoleError::InUse(_)) => return Err(AppError::NotFound),
        Err(RoleError::NameTaken) => {
            errors.add("name", NAME_TAKEN);
            return role_page(
                &state,
                &session,
                &owner,
                &role,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(RoleError::Db(e)) => return Err(e.into()),
    }
    session.flash(FlashKind::Success, "Role saved.").await?;
    Ok(Redirect::to(&role_path(&owner, &role)).into_response())
}

pub async fn delete_role(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let role = load_role(&state, &owner, &id).await?;
    if role.is_builtin() {
        return Err(AppError::NotFound);
    }
    let sudo = gate.check(&role_path(&owner, &role))?;
    let deleted = state
        .db
        .delete_role(
            owner.scope(),
            &sudo,
            role.id,
            Event::by(owner.user().actor())
                .did("role.deleted")
                .on("role", role.id)
                .in_org(owner.scope())
                .detail(json!({
                    "name": role.name,
                    "permissions": role.permission_set().names(),
                }))
                .from(&client.origin()),
            state.clock.unix(),
        )
        .await;
    match deleted {
        Ok(_) => {
            session
                .flash(FlashKind::Success, format!("Role “{}” deleted.", role.name))
                .await?;
            Ok(Redirect::to(&roles_path(&owner)).into_response())
        }
        Err(RoleError::InUse(uses)) => {
            let places: Vec<String> = uses
                .iter()
                .map(|u| format!("team {} on workspace {}", u.team_name, u.workspace_name))
                .collect();
            session
                .flash(
                    FlashKind::Error,
                    format!(
                        "Role “{}” is still granted ({}): revoke those grants first.",
                        role.name,
                        places.join("; ")
                    ),
                )
                .await?;
            Ok(Redirect::to(&role_path(&owner, &role)).into_response())
        }
        Err(RoleError::NameTaken) => Err(AppError::NotFound),
        Err(RoleError::Db(e)) => Err(e.into()),
    }
}
