//! `/orgs/{slug}/invitations` (owners): invite by email with an org role and
//! teams, show the link once, list pending invitations, revoke one.
//!
//! The link is emailed to the invited address, queued in the transaction
//! that creates the invitation (`db::outbox`), and never shown to the owner:
//! following it is proof of control of the address. Its secret is stored as
//! a SHA-256 digest; the audit event never holds it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::id_from;
use crate::auth::AppSession;
use crate::auth::api_key::{digest, random_base62};
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::invitations::{CreatedInvitation, InvitationError};
use crate::domain::Email;
use crate::domain::OrgRole;
use crate::error::AppError;
use crate::mail;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

pub use crate::db::invitations::TOKEN_LEN;

pub struct TeamOption {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

pub struct PendingItem {
    pub id: String,
    pub email: String,
    pub role_label: &'static str,
    pub is_owner: bool,
    pub teams: Vec<String>,
    pub invited_by: String,
    pub created: Timestamp,
    pub expires: Timestamp,
}

#[derive(Template)]
#[template(path = "orgs/invitations.html")]
pub struct InvitationsPage {
    pub ctx: PageContext,
    pub slug: String,
    pub pending: Vec<PendingItem>,
    pub teams: Vec<TeamOption>,
    pub email: String,
    pub role: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub teams: Vec<String>,
}

async fn invitations_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    form: InviteForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let scope = &owner.scope();
    let live: Vec<_> = state
        .db
        .list_teams(scope, now)
        .await?
        .into_iter()
        .filter(|t| t.deleted_at.is_none())
        .collect();
    let names: HashMap<Uuid, String> = live.iter().map(|t| (t.id, t.name.clone())).collect();
    let pending = state
        .db
        .pending_invitations(scope, now)
        .await?
        .into_iter()
        .map(|i| {
            let role = OrgRole::parse(&i.role).unwrap_or(OrgRole::Member);
            PendingItem {
                id: i.id.to_string(),
                teams: i
                    .team_ids()
                    .iter()
                    .filter_map(|id| names.get(id).cloned())
                    .collect(),
                email: i.email,
                role_label: role.label(),
                is_owner: role == OrgRole::Owner,
                invited_by: i.invited_by_name.unwrap_or_else(|| "—".to_owned()),
                created: Timestamp::new(i.created_at, now),
                expires: Timestamp::new(i.expires_at, now),
            }
        })
        .collect();
    let page = InvitationsPage {
        ctx: PageContext::for_org(state, session, owner.user(), scope, Section::OrgInvitations)
            .await?,
        slug: scope.slug().to_owned(),
        pending,
        // A SCIM-managed team is staffed by the identity provider only.
        teams: live
            .iter()
            .filter(|t| !t.scim_managed)
            .map(|t| TeamOption {
                id: t.id.to_string(),
                name: t.name.clone(),
                checked: form.teams.iter().any(|s| *s == t.id.to_string()),
            })
            .collect(),
        email: form.email,
        role: if form.role.is_empty() {
            "member".to_owned()
        } else {
            form.role
        },
        errors,
    };
    render(status, &page)
}

pub async fn list_invitations(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    // Values kept across the sudo step (see `create_invitation`).
    let form = take_stashed_form::<InviteForm>(&session, &form_page(&owner))
        .await?
        .unwrap_or_default();
    invitations_page(
        &state,
        &session,
        &owner,
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

fn form_page(owner: &OrgOwner) -> String {
    format!("/orgs/{}/invitations", owner.scope().slug())
}

/// Creating an invitation grants access — whoever holds the session is shown
/// the link once, for any role — so it needs sudo mode: a stolen owner
/// session alone cannot hand out a way in.
pub async fn create_invitation(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let sudo = gate.enter(&form_page(&owner), &form).await?;
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&form.email));
    let role = errors.check(
        "role",
        OrgRole::parse(&form.role).ok_or("Choose owner or member."),
    );
    // Only live teams of this org can be chosen; anything else is refused
    // rather than silently dropped.
    let live: HashMap<Uuid, String> = state
        .db
        .list_teams(owner.scope(), now)
        .await?
        .into_iter()
        .filter(|t| t.deleted_at.is_none() && !t.scim_managed)
        .map(|t| (t.id, t.name))
        .collect();
    let mut team_ids = Vec::new();
    for raw in &form.teams {
        match Uuid::parse_str(raw).ok().filter(|id| live.contains_key(id)) {
            Some(id) if !team_ids.contains(&id) => team_ids.push(id),
            Some(_) => {}
            None => errors.add("teams", "Choose teams from the list."),
        }
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return invitations_page(
            &state,
            &session,
            &owner,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let token = random_base62(TOKEN_LEN);
    let team_names: Vec<&str> = team_ids
        .iter()
        .filter_map(|id| live.get(id).map(String::as_str))
        .collect();
    // The audit event names who was invited to what; never the link.
    let invited = |created: &CreatedInvitation| {
        Event::by(owner.user().actor())
            .did("invitation.created")
            .on("invitation", created.id)
            .in_org(owner.scope())
            .detail(json!({
                "email": email.as_str(),
                "role": role.as_str(),
                "teams": team_names,
                "expires_at": now + crate::db::invitations::INVITATION_TTL_SECS,
                "replaced": created.replaced,
            }))
            .from(&client.origin())
    };
    // The link goes by email to the invited address only (never shown here),
    // so following it proves control of that address.
    let link = format!("{}/invitations/{token}", state.config.public_url());
    let message = mail::invitation(
        email.as_str(),
        Some(owner.user().id()),
        owner.user().display_name(),
        owner.scope().name(),
        &role.label().to_lowercase(),
        &link,
        crate::db::invitations::INVITATION_TTL_SECS / 86_400,
    )?;
    let created = match state
        .db
        .create_invitation(
            owner.scope(),
            &sudo,
            email.as_str(),
            role,
            &team_ids,
            &digest(&token),
            &message,
            invited,
            now,
        )
        .await
    {
        Ok(c) => c,
        Err(InvitationError::AlreadyMember) => {
            errors.add(
                "email",
                "This person is already a member of the organization.",
            );
            return invitations_page(
                &state,
                &session,
                &owner,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let message = if created.replaced.is_empty() {
        format!("Invitation for {email} created and sent by email.")
    } else {
        format!(
            "Invitation for {email} created and sent by email. It replaces the earlier one, \
             which no longer works."
        )
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/orgs/{}/invitations", owner.scope().slug())).into_response())
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = id_from(&id)?;
    // Scoped to this org and to pending invitations: another org's id, or
    // one already spent, is not found.
    let email = state
        .db
        .revoke_invitation(
            owner.scope(),
            id,
            |email| {
                Event::by(owner.user().actor())
                    .did("invitation.revoked")
                    .on("invitation", id)
                    .in_org(owner.scope())
                    .detail(json!({ "email": email }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await?
        .ok_or(AppError::NotFound)?;
    session
        .flash(
            FlashKind::Success,
            format!("The invitation for {email} was revoked. Its link no longer works."),
        )
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}/invitations", owner.scope().slug())).into_response())
}
