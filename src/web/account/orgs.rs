//! `/account/orgs`: the organizations a user belongs to; create one (and
//! become its owner) while the `org-creation` flag is on (operators always
//! may); leave one; the deleted orgs the user owns, to restore within their
//! 30 days (`web::orgs::lifecycle::restore_org`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::{CurrentUser, OrgMemberLeaving};
use crate::db::audit::Event;
use crate::db::flags::ORG_CREATION;
use crate::db::org_lifecycle::{DeletedOrg, RESTORE_WINDOW_SECS};
use crate::db::orgs::{OrgError, UserOrg};
use crate::domain::{OrgName, Slug};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::orgs::lifecycle::{SLUG_HELD, SLUG_TAKEN};
use crate::web::timefmt;
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
    /// Deleted orgs the user owns, with the last day they can be restored.
    pub deleted: Vec<(DeletedOrg, String)>,
    /// Whether this user may create an org now (the flag, or an operator).
    pub creation_open: bool,
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
    let now = state.clock.unix();
    let deleted = state
        .db
        .deleted_orgs_of(user, now)
        .await?
        .into_iter()
        .map(|org| {
            let until = timefmt::date(org.deleted_at + RESTORE_WINDOW_SECS);
            (org, until)
        })
        .collect();
    let page = OrgsPage {
        ctx: PageContext::new(state, session, Some(user), Section::Orgs).await?,
        orgs: state.db.user_orgs(user).await?,
        deleted,
        creation_open: creation_open(state, user).await?,
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

/// Whether `user` may create an org: while the `org-creation` flag is on,
/// anyone; while it is off, operators only (the platform's own staff).
async fn creation_open(state: &AppState, user: &CurrentUser) -> Result<bool, AppError> {
    Ok(user.is_operator() || state.db.flag_enabled(ORG_CREATION).await?)
}

pub async fn create_org(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<NewOrgForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    if !creation_open(&state, &user).await? {
        // The page says why instead of the form (`creation_open`).
        return orgs_page(&state, &session, &user, form, errors, StatusCode::FORBIDDEN).await;
    }
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
    match state
        .db
        .create_org(
            &user,
            name.as_str(),
            slug.as_str(),
            Event::by(user.actor())
                .did("org.created")
                .detail(json!({ "name": name.as_str(), "slug": slug.as_str() }))
                .from(&client.origin()),
            now,
        )
        .await
    {
        Ok(_) => {}
        Err(e @ (OrgError::SlugTaken | OrgError::SlugHeld)) => {
            errors.add(
                "slug",
                if matches!(e, OrgError::SlugHeld) {
                    SLUG_HELD
                } else {
                    SLUG_TAKEN
                },
            );
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
        Err(e) => return Err(AppError::internal(e)),
    }
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
    let left = Event::by(user.actor())
        .did("member.left")
        .on("user", user.id())
        .in_org(&scope)
        .detail(json!({ "role": scope.role().as_str() }))
        .from(&client.origin());
    match state.db.leave_org(&scope, left, state.clock.unix()).await {
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
