//! An org's lifecycle, by its owners (`OrgOwner`): rename (name and slug,
//! from the settings page), transfer of ownership and deletion (each on its
//! own page under `/orgs/{slug}/settings`, in sudo mode), and restore of a
//! deleted org (`DeletedOrgOwner`, from `/account/orgs`, in sudo mode).
//!
//! Rename needs no sudo (it neither grants nor destroys; the old slug keeps
//! redirecting members for 30 days). Transfer grants owner authority and
//! deletion destroys, so both ask for sudo; deletion also asks for the slug
//! to be typed, as GitHub does.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::settings::{RenameForm, settings_page};
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{DeletedOrgOwner, OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::org_lifecycle::{OrgContents, RESTORE_WINDOW_SECS};
use crate::db::orgs::OrgError;
pub use crate::domain::org::{SLUG_HELD, SLUG_TAKEN};
use crate::domain::{Email, OrgName, Slug};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::ListForm as Form;
use crate::web::timefmt;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

/// Renames the org (name and slug). Errors re-render the settings page with
/// the entered values beside the fields; nothing changes.
pub async fn rename_org(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Form(form): Form<RenameForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", OrgName::parse(&form.name));
    let slug = errors.check("slug", Slug::parse(form.slug.trim()));
    let refuse = |errors: FieldErrors, form: RenameForm| {
        let (state, session, owner) = (&state, &session, &owner);
        async move {
            settings_page(
                state,
                session,
                owner,
                (owner.scope().require_mfa(), owner.scope().require_passkey()),
                owner
                    .scope()
                    .max_key_lifetime_days()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                FieldErrors::new(),
                (form, errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let (Some(name), Some(slug)) = (name, slug) else {
        return refuse(errors, form).await;
    };
    let scope = owner.scope();
    let event = Event::by(owner.user().actor())
        .did("org.renamed")
        .on("org", scope.org_id())
        .in_org(scope)
        .detail(json!({
            "before": { "name": scope.name(), "slug": scope.slug() },
            "after": { "name": name.as_str(), "slug": slug.as_str() },
        }))
        .from(&client.origin());
    match state
        .db
        .rename_org(
            scope,
            name.as_str(),
            slug.as_str(),
            event,
            state.clock.unix(),
        )
        .await
    {
        Ok(()) => {}
        Err(OrgError::SlugTaken) => {
            errors.add("slug", SLUG_TAKEN);
            return refuse(errors, form).await;
        }
        Err(OrgError::SlugHeld) => {
            errors.add("slug", SLUG_HELD);
            return refuse(errors, form).await;
        }
        Err(e) => return Err(AppError::internal(e)),
    }
    let message = if slug.as_str() == scope.slug() {
        format!("The organization is now called {}.", name.as_str())
    } else {
        format!(
            "The organization is now called {} at /orgs/{}. Links to /orgs/{} keep working for its members for 30 days.",
            name.as_str(),
            slug.as_str(),
            scope.slug()
        )
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/orgs/{}/settings", slug.as_str())).into_response())
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TransferForm {
    /// The email address of the member who becomes an owner.
    #[serde(default)]
    pub email: String,
}

#[derive(Template)]
#[template(path = "orgs/transfer.html")]
pub struct TransferPage {
    pub ctx: PageContext,
    pub slug: String,
    pub name: String,
    pub email: String,
    pub errors: FieldErrors,
}

fn transfer_page_path(owner: &OrgOwner) -> String {
    format!("/orgs/{}/settings/transfer", owner.scope().slug())
}

async fn transfer_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    email: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = TransferPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgSettings,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        name: owner.scope().name().to_owned(),
        email,
        errors,
    };
    render(status, &page)
}

pub async fn show_transfer(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<TransferForm>(&session, &transfer_page_path(&owner))
        .await?
        .unwrap_or_default();
    transfer_page(
        &state,
        &session,
        &owner,
        form.email,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Makes another member an owner and the caller a member (sudo). The caller
/// keeps their teams, as a demoted owner does on GitHub.
pub async fn transfer_ownership(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<TransferForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let Some(email) = errors.check("email", Email::parse(&form.email)) else {
        return transfer_page(
            &state,
            &session,
            &owner,
            form.email,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    gate.enter(&transfer_page_path(&owner), &form).await?;
    let scope = owner.scope();
    let event = Event::by(owner.user().actor())
        .did("org.ownership_transferred")
        .in_org(scope)
        .detail(json!({ "to": email.as_str(), "from": owner.user().email() }))
        .from(&client.origin());
    match state
        .db
        .transfer_ownership(
            scope,
            owner.user(),
            email.as_str(),
            event,
            state.clock.unix(),
        )
        .await
    {
        Ok(new_owner) => {
            session
                .flash(
                    FlashKind::Success,
                    format!(
                        "{new_owner} is now an owner of {}. You are a member.",
                        scope.name()
                    ),
                )
                .await?;
            Ok(Redirect::to(&format!("/orgs/{}", scope.slug())).into_response())
        }
        Err(OrgError::NotAMember) => {
            errors.add(
                "email",
                "No other member of this organization has that email address.",
            );
            transfer_page(
                &state,
                &session,
                &owner,
                form.email,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(AppError::internal(e)),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DeleteForm {
    /// The org's slug, typed to confirm.
    #[serde(default)]
    pub confirm: String,
}

#[derive(Template)]
#[template(path = "orgs/delete.html")]
pub struct DeletePage {
    pub ctx: PageContext,
    pub slug: String,
    pub name: String,
    pub contents: OrgContents,
    pub confirm: String,
    pub errors: FieldErrors,
}

fn delete_page_path(owner: &OrgOwner) -> String {
    format!("/orgs/{}/settings/delete", owner.scope().slug())
}

async fn delete_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    confirm: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = DeletePage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgSettings,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        name: owner.scope().name().to_owned(),
        contents: state.db.org_contents(owner.scope()).await?,
        confirm,
        errors,
    };
    render(status, &page)
}

pub async fn show_delete(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<DeleteForm>(&session, &delete_page_path(&owner))
        .await?
        .unwrap_or_default();
    delete_page(
        &state,
        &session,
        &owner,
        form.confirm,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Soft-deletes the org (sudo, the slug typed): its pages stop answering and
/// its keys stop at once; an owner can restore it for 30 days.
pub async fn delete_org(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let scope = owner.scope();
    if form.confirm.trim() != scope.slug() {
        let mut errors = FieldErrors::new();
        errors.add(
            "confirm",
            format!(
                "Type the organization's address, {}, to confirm.",
                scope.slug()
            ),
        );
        return delete_page(
            &state,
            &session,
            &owner,
            form.confirm,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    gate.enter(&delete_page_path(&owner), &form).await?;
    let contents = state.db.org_contents(scope).await?;
    let now = state.clock.unix();
    let event = Event::by(owner.user().actor())
        .did("org.deleted")
        .on("org", scope.org_id())
        .in_org(scope)
        .detail(json!({
            "slug": scope.slug(),
            "name": scope.name(),
            "workspaces": contents.workspaces,
            "resources": contents.resources,
            "keys": contents.keys,
            "members": contents.members,
        }))
        .from(&client.origin());
    state.db.delete_org(scope, event, now).await?;
    session
        .flash(
            FlashKind::Success,
            format!(
                "{} was deleted. Its owners can restore it here until {}; after that it is gone for good.",
                scope.name(),
                timefmt::date(now + RESTORE_WINDOW_SECS)
            ),
        )
        .await?;
    Ok(Redirect::to("/account/orgs").into_response())
}

/// Restores a deleted org within its window (sudo): its pages and keys work
/// again as they were.
pub async fn restore_org(
    State(state): State<AppState>,
    session: AppSession,
    owner: DeletedOrgOwner,
    gate: SudoGate,
    client: ClientInfo,
) -> Result<Response, AppError> {
    gate.check("/account/orgs")?;
    let scope = owner.scope();
    let event = Event::by(owner.user().actor())
        .did("org.restored")
        .detail(json!({ "slug": scope.slug(), "name": scope.name() }))
        .from(&client.origin());
    if !state
        .db
        .restore_org(scope, event, state.clock.unix())
        .await?
    {
        return Err(AppError::NotFound);
    }
    session
        .flash(
            FlashKind::Success,
            format!("{} was restored.", scope.name()),
        )
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}", scope.slug())).into_response())
}
