//! The sign-up page: a new account, when registration is open or with an
//! invitation link (which joins its org at once).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::api_key::digest;
use crate::auth::limits::Bucket;
use crate::auth::session::FlashKind;
use crate::auth::throttle;
use crate::authz::MaybeUser;
use crate::db::audit::{Actor, Event};
use crate::db::flags::ACCOUNT_REGISTRATION;
use crate::db::invitations::{Accepted, InvitationError, PendingInvitation};
use crate::db::recovery::{NewLink, Purpose};
use crate::db::users::{CreateUserError, NewUser, User};
use crate::domain::{DisplayName, Email, NewPassword, Password};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::auth::verification;
use crate::web::extract::{Form, Query};
use crate::web::invitations;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

#[derive(Template)]
#[template(path = "auth/signup.html")]
pub struct SignupPage {
    pub ctx: PageContext,
    pub open: bool,
    /// Signing up through an invitation: its token and org name. The email
    /// is then fixed to the invited address.
    pub invitation: Option<(String, String)>,
    pub email: String,
    pub display_name: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub password: Password,
    #[serde(default)]
    pub password_confirm: Password,
    /// An invitation token (hidden field), when signing up through a link.
    #[serde(default)]
    pub invitation: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct SignupQuery {
    pub invitation: Option<String>,
}

pub async fn show_signup(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    Query(q): Query<SignupQuery>,
) -> Result<Response, AppError> {
    let token = q.invitation.filter(|t| !t.is_empty());
    if user.is_some() {
        let to = match &token {
            Some(t) => format!("/invitations/{t}"),
            None => "/account".to_owned(),
        };
        return Ok(Redirect::to(&to).into_response());
    }
    let invitation = match token {
        Some(t) => match invitations::pending(&state, &t).await {
            Ok(inv) => Some((t, inv)),
            Err(res) => return Ok(res),
        },
        None => None,
    };
    let page = SignupPage {
        ctx: PageContext::new(&state, &session, None, Section::Public).await?,
        open: invitation.is_some() || state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
        email: invitation
            .as_ref()
            .map(|(_, inv)| inv.email().to_owned())
            .unwrap_or_default(),
        invitation: invitation.map(|(t, inv)| (t, inv.org_name().to_owned())),
        display_name: String::new(),
        errors: FieldErrors::new(),
    };
    ok(&page)
}

pub async fn signup(
    State(state): State<AppState>,
    session: AppSession,
    client: ClientInfo,
    Form(form): Form<SignupForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    // A valid invitation opens sign-up for its address even when public
    // registration is off; the email is the invited one, whatever was sent.
    let invitation = if form.invitation.is_empty() {
        None
    } else {
        match invitations::pending(&state, &form.invitation).await {
            Ok(inv) => Some(inv),
            Err(res) => return Ok(res),
        }
    };
    let open = invitation.is_some() || state.db.flag_enabled(ACCOUNT_REGISTRATION).await?;
    let mut page = SignupPage {
        ctx: PageContext::new(&state, &session, None, Section::Public).await?,
        open,
        invitation: invitation
            .as_ref()
            .map(|inv| (form.invitation.clone(), inv.org_name().to_owned())),
        email: match &invitation {
            Some(inv) => inv.email().to_owned(),
            None => form.email.trim().to_owned(),
        },
        display_name: form.display_name.trim().to_owned(),
        errors: FieldErrors::new(),
    };
    if !open {
        return render(StatusCode::FORBIDDEN, &page);
    }
    throttle::consume(
        &state.db,
        &Bucket::signup_ip(&state.config, &client.ip),
        now,
    )
    .await?;

    let errors = &mut page.errors;
    let email = errors.check(
        "email",
        Email::parse(
            invitation
                .as_ref()
                .map_or(form.email.as_str(), |i| i.email()),
        ),
    );
    let name = errors.check("display_name", DisplayName::parse(&form.display_name));
    let hints: Vec<&str> = [
        email.as_ref().map(Email::local_part),
        name.as_ref().map(DisplayName::as_str),
    ]
    .into_iter()
    .flatten()
    .collect();
    let password = errors.check("password", NewPassword::parse(&form.password, &hints));
    if password.is_some() && form.password.expose() != form.password_confirm.expose() {
        errors.add("password_confirm", "The two passwords do not match.");
    }
    let (Some(email), Some(name), Some(password), true) =
        (email, name, password, errors.is_empty())
    else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };

    let hash = state.passwords.hash(&password).await?;
    if let Some(inv) = &invitation {
        return signup_with_invitation(
            &state,
            &session,
            &client,
            page,
            inv,
            NewUser {
                email: email.as_str(),
                password_hash: &hash,
                display_name: name.as_str(),
            },
        )
        .await;
    }
    let signed_up = |user: &User| {
        vec![
            Event::by(Actor::User {
                id: user.id,
                email: user.email.clone(),
            })
            .did("user.signed_up")
            .on("user", user.id)
            .from(&client.origin()),
        ]
    };
    // The verification link is issued, and its message queued, with the
    // account itself.
    let (token, message) = verification::new_link(&state, email.as_str(), name.as_str())?;
    let token_digest = digest(&token);
    let link = NewLink {
        purpose: Purpose::EmailVerification,
        token_digest: &token_digest,
        mail: &message,
    };
    let user = match state
        .db
        .create_user_with_link(
            NewUser {
                email: email.as_str(),
                password_hash: &hash,
                display_name: name.as_str(),
            },
            &link,
            signed_up,
            now,
        )
        .await
    {
        Ok(u) => u,
        Err(CreateUserError::EmailTaken) => {
            page.errors.add(
                "email",
                "An account with this email address already exists. Sign in instead.",
            );
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(CreateUserError::Db(e)) => return Err(e.into()),
    };
    if state.config.mail.require_email_verification {
        // Signing in waits for the address to be proven.
        session
            .flash(
                FlashKind::Success,
                format!(
                    "Your account is ready. We sent a link to {}: open it to confirm your \
                     address, then sign in.",
                    user.email
                ),
            )
            .await?;
        return Ok(Redirect::to(crate::paths::LOGIN).into_response());
    }
    session.sign_in(user.id, &client.origin(), now).await?;
    session
        .flash(
            FlashKind::Success,
            format!(
                "Welcome to Gatehouse, {}. Your account is ready.",
                user.display_name
            ),
        )
        .await?;
    Ok(Redirect::to("/account").into_response())
}

/// The end of sign-up through an invitation: the account is created and the
/// invitation accepted in one transaction, then the person is signed in and
/// sent to the organization.
async fn signup_with_invitation(
    state: &AppState,
    session: &AppSession,
    client: &ClientInfo,
    mut page: SignupPage,
    inv: &PendingInvitation,
    new: NewUser<'_>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let events = |user: &User, accepted: &Accepted| {
        let actor = Actor::User {
            id: user.id,
            email: user.email.clone(),
        };
        vec![
            Event::by(actor.clone())
                .did("user.signed_up")
                .on("user", user.id)
                .detail(json!({ "invitation": inv.id() }))
                .from(&client.origin()),
            invitations::acceptance(actor, user.id, inv, accepted, client),
        ]
    };
    let (user, _) = match state
        .db
        .sign_up_with_invitation(inv, new, events, now)
        .await
    {
        Ok(done) => done,
        Err(InvitationError::EmailTaken) => {
            page.errors.add(
                "email",
                "An account with this email address already exists. Sign in to accept the \
                 invitation instead.",
            );
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(InvitationError::NoLongerValid) => {
            return Ok(invitations::invalid_invitation(StatusCode::GONE));
        }
        // A link from before invitations were emailed proves nothing about
        // the address: the owner sends a new one.
        Err(InvitationError::Unproven) => {
            return Ok(invitations::invalid_invitation(StatusCode::FORBIDDEN));
        }
        Err(e) => return Err(e.into()),
    };
    session.sign_in(user.id, &client.origin(), now).await?;
    session
        .flash(
            FlashKind::Success,
            format!(
                "Welcome to Gatehouse, {}. You joined {} as {}.",
                user.display_name,
                inv.org_name(),
                inv.role().label().to_lowercase()
            ),
        )
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}", inv.org_slug())).into_response())
}
