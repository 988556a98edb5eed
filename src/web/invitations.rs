//! `/invitations/{token}`: the public page an invitation link opens.
//!
//! The link's secret is the only proof the invitee has, so the page shows the
//! org and role only for a pending invitation. Acceptance needs a signed-in
//! user whose email is the invited one (a POST, with CSRF like every form);
//! someone without an account signs up through `/signup?invitation=…`, which
//! works even when public registration is off and fixes the email to the
//! invited address. A spent (accepted, revoked, expired) link answers 410, an
//! unknown one 404, both with the same "no longer valid" page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::api_key::digest;
use crate::auth::session::FlashKind;
use crate::authz::{CurrentUser, MaybeUser};
use crate::db::audit::{Actor, Event};
use crate::db::invitations::{Accepted, InvitationError, PendingInvitation, TokenLookup};
use crate::error::{AppError, error_page};
use crate::state::AppState;
use crate::web::extract::Path;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, PageContext, Section, render};

/// The page for a link that cannot be used (any more).
pub fn invalid_invitation(status: StatusCode) -> Response {
    error_page(
        status,
        "This invitation is no longer valid",
        "The link was already used, was revoked, or has expired (invitations last 7 days). \
         Ask an owner of the organization for a new invitation.",
    )
}

/// Resolves a link to a pending invitation, or the response for a bad one.
pub async fn pending(state: &AppState, token: &str) -> Result<PendingInvitation, Response> {
    match state
        .db
        .invitation_by_token(&digest(token), state.clock.unix())
        .await
    {
        Ok(TokenLookup::Pending(inv)) => Ok(inv),
        Ok(TokenLookup::Spent) => Err(invalid_invitation(StatusCode::GONE)),
        Ok(TokenLookup::Unknown) => Err(invalid_invitation(StatusCode::NOT_FOUND)),
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

/// The event that records an acceptance, in the invited org's log.
pub fn acceptance(
    actor: Actor,
    user_id: uuid::Uuid,
    inv: &PendingInvitation,
    accepted: &Accepted,
    client: &ClientInfo,
) -> Event {
    Event::by(actor)
        .did("invitation.accepted")
        .on("user", user_id)
        .in_invited_org(inv)
        .detail(json!({
            "invitation": inv.id(),
            "email": inv.email(),
            "role": if accepted.joined { Some(inv.role().as_str()) } else { None },
            "already_member": !accepted.joined,
            "teams_added": accepted.teams_added,
        }))
        .from(&client.origin())
}

/// Who is looking at the invitation.
pub enum Viewer {
    Anonymous,
    Invitee,
    /// The invited address, not verified, and this link was not emailed
    /// (an invitation from before email delivery): acceptance waits for
    /// the address to be verified.
    Unproven,
    SomeoneElse(String),
}

#[derive(Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub ctx: PageContext,
    pub token: String,
    pub org_name: String,
    pub role_label: &'static str,
    pub email: String,
    pub expires: Timestamp,
    pub viewer: Viewer,
    pub login_href: String,
    pub signup_href: String,
}

async fn invitation_page(
    state: &AppState,
    session: &AppSession,
    user: Option<&CurrentUser>,
    inv: &PendingInvitation,
    token: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let viewer = match user {
        None => Viewer::Anonymous,
        Some(u) if u.email() == inv.email() && !u.email_verified() && !inv.emailed() => {
            Viewer::Unproven
        }
        Some(u) if u.email() == inv.email() => Viewer::Invitee,
        Some(u) => Viewer::SomeoneElse(u.email().to_owned()),
    };
    let here = format!("/invitations/{token}");
    let page = InvitationPage {
        ctx: PageContext::new(state, session, user, Section::Public).await?,
        org_name: inv.org_name().to_owned(),
        role_label: inv.role().label(),
        email: inv.email().to_owned(),
        expires: Timestamp::new(inv.expires_at(), state.clock.unix()),
        viewer,
        login_href: crate::paths::with_next("/login", Some(&here)),
        signup_href: serde_urlencoded::to_string([("invitation", token.as_str())])
            .map(|q| format!("/signup?{q}"))
            .unwrap_or_else(|_| "/signup".to_owned()),
        token,
    };
    render(status, &page)
}

pub async fn show_invitation(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let inv = match pending(&state, &token).await {
        Ok(inv) => inv,
        Err(res) => return Ok(res),
    };
    invitation_page(&state, &session, user.as_ref(), &inv, token, StatusCode::OK).await
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let inv = match pending(&state, &token).await {
        Ok(inv) => inv,
        Err(res) => return Ok(res),
    };
    let accepted = match state
        .db
        .accept_invitation(
            &inv,
            &user,
            |accepted| acceptance(user.actor(), user.id(), &inv, accepted, &client),
            state.clock.unix(),
        )
        .await
    {
        Ok(a) => a,
        // Only the invited address may accept; anyone else sees the page
        // again with what to do, and nothing changes.
        Err(InvitationError::WrongEmail | InvitationError::Unproven) => {
            return invitation_page(
                &state,
                &session,
                Some(&user),
                &inv,
                token,
                StatusCode::FORBIDDEN,
            )
            .await;
        }
        Err(InvitationError::NoLongerValid) => return Ok(invalid_invitation(StatusCode::GONE)),
        Err(e) => return Err(e.into()),
    };
    // Joining an org is a privilege change: a new session id.
    session.rotate_id().await?;
    let message = if accepted.joined {
        format!(
            "You joined {} as {}.",
            inv.org_name(),
            inv.role().label().to_lowercase()
        )
    } else {
        format!("You already are a member of {}.", inv.org_name())
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/orgs/{}", inv.org_slug())).into_response())
}
