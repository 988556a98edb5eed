//! `/ops/accounts/new`: create an account on someone's behalf. The account
//! gets a one-time random initial password, shown once to the operator to
//! pass on (there is no email delivery yet); it starts with no organization
//! and no roles.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ops_context;
use crate::auth::AppSession;
use crate::auth::api_key::random_base62;
use crate::authz::Operator;
use crate::db::platform::OperatorAction;
use crate::db::users::{CreateUserError, NewUser, User};
use crate::domain::{DisplayName, Email, NewPassword, Password, Reason};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::{ClientInfo, FieldErrors, OpsSection, PageContext, ok, render};

const INITIAL_PASSWORD: &str = "ops_initial_password";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Template)]
#[template(path = "ops/account_new.html")]
pub struct NewAccountPage {
    pub ctx: PageContext,
    pub form: AccountForm,
    pub errors: FieldErrors,
}

pub async fn new_account_form(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
) -> Result<Response, AppError> {
    let page = NewAccountPage {
        ctx: ops_context(&state, &session, &op, OpsSection::NewAccount).await?,
        form: AccountForm::default(),
        errors: FieldErrors::new(),
    };
    ok(&page)
}

/// 24 random base62 characters (≈140 bits): far beyond the password policy.
fn initial_password() -> Result<NewPassword, AppError> {
    let raw = random_base62(24);
    NewPassword::parse(&Password::new(raw), &[]).map_err(AppError::internal)
}

pub async fn create_account(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&form.email));
    let name = errors.check("display_name", DisplayName::parse(&form.display_name));
    let reason = errors.check("reason", Reason::parse(&form.reason));
    let retry = |errors: FieldErrors| {
        let state = state.clone();
        let session = session.clone();
        let op = op.clone();
        let form = AccountForm {
            email: form.email.trim().to_owned(),
            display_name: form.display_name.trim().to_owned(),
            reason: form.reason.clone(),
        };
        async move {
            let page = NewAccountPage {
                ctx: ops_context(&state, &session, &op, OpsSection::NewAccount).await?,
                form,
                errors,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    };
    let (Some(email), Some(name), Some(reason), true) = (email, name, reason, errors.is_empty())
    else {
        return retry(errors).await;
    };
    let password = initial_password()?;
    let hash = state.passwords.hash(&password).await?;
    let created = |user: &User| {
        OperatorAction {
            action: "ops.account.created",
            target_kind: "user",
            target_id: user.id.to_string(),
            reason: &reason,
            orgs: &[],
            detail: json!({ "email": user.email, "display_name": user.display_name }),
        }
        .events(&op, &client.origin())
    };
    let user = match state
        .db
        // The initial password has been seen by the operator (and whoever
        // passed it on): the person must choose their own at first sign-in.
        .create_user_by_operator(
            op.scope(),
            NewUser {
                email: email.as_str(),
                password_hash: &hash,
                display_name: name.as_str(),
            },
            created,
            now,
        )
        .await
    {
        Ok(u) => u,
        Err(CreateUserError::EmailTaken) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "email",
                "An account with this email address already exists.",
            );
            return retry(errors).await;
        }
        Err(CreateUserError::Db(e)) => return Err(e.into()),
    };
    // Kept for exactly one showing, on the page after the redirect.
    session
        .put(INITIAL_PASSWORD, &(user.id, password.expose().to_owned()))
        .await?;
    Ok(Redirect::to(&format!("/ops/accounts/{}/created", user.id)).into_response())
}

#[derive(Template)]
#[template(path = "ops/account_created.html")]
pub struct CreatedPage {
    pub ctx: PageContext,
    pub user_id: Uuid,
    pub email: String,
    pub password: Option<String>,
}

pub async fn show_created(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let user = state
        .db
        .platform_user(op.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Taken out of the session on first view: a reload shows it no more.
    let password = match session.get::<(Uuid, String)>(INITIAL_PASSWORD).await? {
        Some((uid, pw)) if uid == user.id => {
            session.remove(INITIAL_PASSWORD).await?;
            Some(pw)
        }
        _ => None,
    };
    let page = CreatedPage {
        ctx: ops_context(&state, &session, &op, OpsSection::NewAccount).await?,
        user_id: user.id,
        email: user.email,
        password,
    };
    ok(&page)
}
