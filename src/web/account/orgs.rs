//! `/account/orgs`: the organizations a user belongs to; create one (and
//! become its owner); leave one.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::{CurrentUser, OrgMemberLeaving};
use crate::db::audit::NewEvent;
use crate::db::orgs::{OrgError, UserOrg};
use crate::domain::{OrgName, Slug};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

#[derive(Debug, Default, Deserialize)]
pub struct NewOrgForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
}

#[derive(Template)]
#[template(path = "account/orgs.html")]
pub struct OrgsPage {
    pub ctx: PageContext,
    pub orgs: Vec<UserOrg>,
    pub form: NewOrgForm,
    pub errors: FieldErrors,
}

async fn orgs_page(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    form: NewOrgForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = OrgsPage {
        ctx: PageContext::new(state, session, Some(user), Section::Orgs).await?,
        orgs: state.db.user_orgs(user).await?,
        form,
        errors,
    };
    render(status, &page)
}

pub async fn list_orgs(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    orgs_page(
        &state,
        &session,
        &user,
        NewOrgForm::default(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create_org(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<NewOrgForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", OrgName::parse(&form.name));
    let slug_input = if form.slug.trim().is_empty() {
        Slug::suggest(&form.name)
    } else {
        form.slug.trim().to_owned()
    };
    let slug = errors.check("slug", Slug::parse(&slug_input));
    let (Some(name), Some(slug)) = (name, slug) else {
        return orgs_page(
            &state,
            &session,
            &user,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let now = state.clock.unix();
    let org_id = match state
        .db
        .create_org(&user, name.as_str(), slug.as_str(), now)
        .await
    {
        Ok(id) => id,
        Err(OrgError::SlugTaken) => {
            errors.add("slug", "That address is taken; choose another.");
            return orgs_page(
                &state,
                &session,
                &user,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    state
        .db
        .record_event(
            NewEvent {
                actor: &user.actor(),
                action: "org.created",
                target_kind: Some("org"),
                target_id: Some(org_id.to_string()),
                org_id: Some(org_id),
                origin: &client.origin(),
                detail: json!({ "name": name.as_str(), "slug": slug.as_str() }),
            },
            now,
        )
        .await?;
    session
        .flash(
            FlashKind::Success,
            format!("{} was created. You are its owner.", name.as_str()),
        )
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}", slug.as_str())).into_response())
}

/// A member leaves an org; the last owner cannot.
pub async fn leave_org(
    State(state): State<AppState>,
    session: AppSession,
    member: OrgMemberLeaving,
    client: ClientInfo,
) -> Result<Response, AppError> {
    let (user, scope) = member.into_parts();
    let event = NewEvent {
        actor: &user.actor(),
        action: "member.left",
        target_kind: Some("user"),
        target_id: Some(user.id().to_string()),
        org_id: Some(scope.org_id()),
        origin: &client.origin(),
        detail: json!({ "role": scope.role().as_str() }),
    };
    match state.db.leave_org(&scope, event, state.clock.unix()).await {
        Ok(_) => {
            session
                .flash(FlashKind::Success, format!("You left {}.", scope.name()))
                .await?;
        }
        Err(OrgError::LastOwner) => {
            session
                .flash(
                    FlashKind::Error,
                    format!(
                        "You are the only owner of {}. Make someone else an owner before you leave.",
                        scope.name()
                    ),
                )
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/account/orgs").into_response())
}
