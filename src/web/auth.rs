//! Sign-up, sign-in and sign-out. A user with MFA is sent on to the
//! challenge (`web::mfa_challenge`) after the password.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::devices;
use crate::auth::limits::Bucket;
use crate::auth::mfa::PendingSignIn;
use crate::auth::password::Verified;
use crate::auth::session::FlashKind;
use crate::auth::throttle;
use crate::authz::MaybeUser;
use crate::db::audit::{Actor, Event};
use crate::db::flags::ACCOUNT_REGISTRATION;
use crate::db::invitations::{Accepted, InvitationError, PendingInvitation};
use crate::db::users::{CreateUserError, NewUser, User};
use crate::domain::{DisplayName, Email, NewPassword, Password};
use crate::error::{AppError, wait_phrase};
use crate::paths::safe_next;
use crate::state::AppState;
use crate::web::extract::{Form, Query};
use crate::web::invitations;
use crate::web::mfa_challenge::CHALLENGE_PAGE;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

const SIGNIN_FAILED: &str = "Incorrect email or password.";

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub ctx: PageContext,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub registration_open: bool,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: Password,
    #[serde(default)]
    pub next: String,
}

pub async fn show_login(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if user.is_some() {
        return Ok(
            Redirect::to(safe_next(q.next.as_deref()).unwrap_or("/account")).into_response(),
        );
    }
    let page = LoginPage {
        ctx: PageContext::new(&state, &session, None, Section::Public).await?,
        email: String::new(),
        next: safe_next(q.next.as_deref()).unwrap_or_default().to_owned(),
        error: None,
        registration_open: state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
    };
    ok(&page)
}

pub async fn login(
    State(state): State<AppState>,
    session: AppSession,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let next = safe_next(Some(&form.next)).unwrap_or_default().to_owned();
    let retry = |status: StatusCode, error: String| {
        let state = state.clone();
        let session = session.clone();
        let email = form.email.trim().to_owned();
        let next = next.clone();
        async move {
            let page = LoginPage {
                ctx: PageContext::new(&state, &session, None, Section::Public).await?,
                email,
                next,
                error: Some(error),
                registration_open: state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
            };
            render(status, &page)
        }
    };

    let Ok(email) = Email::parse(&form.email) else {
        return retry(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address and password.".into(),
        )
        .await;
    };
    if form.password.is_empty() {
        return retry(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address and password.".into(),
        )
        .await;
    }
    // A browser that signed in to this account before has its own failure
    // counter: failures from elsewhere do not lock it out (auth::devices).
    let subject =
        devices::signin_subject(&state.db, &state.config, &headers, email.as_str()).await?;
    match throttle::check_signin(&state.db, &state.config, subject, &client.ip, now).await {
        Err(throttle::Throttled::TooManyRequests { retry_after }) => {
            let mut res = retry(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-in attempts. Try again in {}.",
                    wait_phrase(retry_after)
                ),
            )
            .await?;
            res.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(retry_after));
            return Ok(res);
        }
        other => other?,
    }

    // Always verify, against a dummy hash when there is no such account, so
    // that an unknown email and a wrong password take the same time.
    let creds = state.db.find_credentials_by_email(email.as_str()).await?;
    let verified = state
        .passwords
        .verify(
            &form.password,
            creds.as_ref().map(|c| c.password_hash.as_str()),
        )
        .await?;
    let creds = match creds {
        Some(c) if verified.is_ok() => c,
        _ => {
            throttle::record_signin_failure(&state.db, &state.config, subject, &client.ip, now)
                .await?;
            let failed = Event::by(Actor::Anonymous)
                .did("signin.failed")
                .on("email", &email)
                .from(&client.origin());
            state.db.record_event(&failed, now).await?;
            return retry(StatusCode::UNAUTHORIZED, SIGNIN_FAILED.into()).await;
        }
    };
    if creds.disabled_at.is_some() {
        return retry(
            StatusCode::FORBIDDEN,
            "This account has been disabled. Contact your administrator.".into(),
        )
        .await;
    }
    if let Verified::YesRehashed(new_hash) = verified {
        state
            .db
            .upgrade_password_hash(creds.id, &creds.password_hash, &new_hash)
            .await?;
    }
    if state.db.user_has_mfa(creds.id).await? {
        // The password is right but the session stays anonymous: it only
        // holds a pending sign-in that the challenge page can complete. The
        // failure counter is not cleared yet, so knowing the password does
        // not reset the limit on guessing codes.
        let pending = PendingSignIn {
            user_id: creds.id,
            started_at: now,
            failures: 0,
            next: next.clone(),
            device: subject.device,
        };
        session.begin_mfa_challenge(&pending).await?;
        let challenged = Event::by(Actor::User {
            id: creds.id,
            email: email.to_string(),
        })
        .did("signin.mfa_required")
        .on("user", creds.id)
        .from(&client.origin());
        // The session row is written by the session layer after the
        // handler returns, so a sign-in cannot share its transaction.
        state.db.record_event(&challenged, now).await?;
        return Ok(Redirect::to(CHALLENGE_PAGE).into_response());
    }
    throttle::clear_signin_failures(&state.db, &state.config, subject).await?;
    session.sign_in(creds.id, &client.origin(), now).await?;
    let signed_in = Event::by(Actor::User {
        id: creds.id,
        email: email.to_string(),
    })
    .did("signin.succeeded")
    .on("user", creds.id)
    .from(&client.origin());
    state.db.record_event(&signed_in, now).await?;
    let to = if next.is_empty() {
        "/account"
    } else {
        next.as_str()
    };
    let mut res = Redirect::to(to).into_response();
    if let Some(cookie) = devices::trust(&state.db, &state.config, &headers, creds.id, now).await? {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(res)
}

pub async fn logout(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    if let Some(user) = &user {
        let signed_out = Event::by(user.actor())
            .did("signout")
            .on("user", user.id())
            .from(&client.origin());
        state
            .db
            .record_event(&signed_out, state.clock.unix())
            .await?;
    }
    session.sign_out().await?;
    session
        .flash(FlashKind::Info, "You have been signed out.")
        .await?;
    Ok(Redirect::to("/login").into_response())
}

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
    let user = match state
        .db
        .create_user(
            NewUser {
                email: email.as_str(),
                password_hash: &hash,
                display_name: name.as_str(),
            },
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
