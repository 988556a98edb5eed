//! `/ops/accounts/new`: create an account on someone's behalf. The account
//! has no password: its person gets an account set-up link by email (7
//! days, once), so no password is ever shown to the operator or passed on by
//! hand. It starts with no organization and no roles.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ops_context;
use crate::auth::AppSession;
use crate::auth::api_key::digest;
use crate::authz::Operator;
use crate::db::platform::OperatorAction;
use crate::db::recovery::{NewLink, Purpose, SETUP_TTL_SECS};
use crate::db::users::{CreateUserError, User};
use crate::domain::{DisplayName, Email, Reason};
use crate::error::AppError;
use crate::mail;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::{ClientInfo, FieldErrors, OpsSection, PageContext, ok, render};

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
    let (token, message) = mail::new_setup_link(
        &state.config.public_url(),
        email.as_str(),
        name.as_str(),
        None,
    )?;
    let setup = NewLink {
        purpose: Purpose::AccountSetup,
        token_digest: &digest(&token),
        mail: &message,
    };
    let created = |user: &User| {
        OperatorAction {
            action: "ops.account.created",
            target_kind: "user",
            target_id: user.id.to_string(),
            reason: &reason,
            orgs: &[],
            detail: json!({
                "email": user.email,
                "display_name": user.display_name,
                "setup_link_emailed": true,
            }),
        }
        .events(&op, &client.origin())
    };
    let user = match state
        .db
        // No password exists: the person chooses their own through the
        // emailed link, and the operator never sees one.
        .create_user_with_setup_link(
            op.scope(),
            email.as_str(),
            name.as_str(),
            &setup,
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
    Ok(Redirect::to(&format!("/ops/accounts/{}/created", user.id)).into_response())
}

#[derive(Template)]
#[template(path = "ops/account_created.html")]
pub struct CreatedPage {
    pub ctx: PageContext,
    pub user_id: Uuid,
    pub email: String,
    pub days: i64,
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
    let page = CreatedPage {
        ctx: ops_context(&state, &session, &op, OpsSection::NewAccount).await?,
        user_id: user.id,
        email: user.email,
        days: SETUP_TTL_SECS / (24 * 3600),
    };
    ok(&page)
}
