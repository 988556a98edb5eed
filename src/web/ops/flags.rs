//! `/ops/flags`: the feature flags, stored in the database so that a change
//! reaches every instance at once. Turning one on or off needs a reason.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::ops_context;
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::Operator;
use crate::db::flags::{ACCOUNT_REGISTRATION, ORG_CREATION};
use crate::db::platform::OperatorAction;
use crate::domain::Reason;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, OpsSection, PageContext, ok, render};

pub struct FlagRow {
    pub name: String,
    pub description: &'static str,
    pub enabled: bool,
    pub updated: Timestamp,
}

fn describe(name: &str) -> &'static str {
    match name {
        ACCOUNT_REGISTRATION => {
            "Self-registration: the sign-up page and POST /v1/account/register. Operators and \
             the master key can create accounts whatever it says."
        }
        ORG_CREATION => {
            "Organization creation by ordinary users (Account → Organizations). When off, only \
             operators create organizations, and a new account starts in none."
        }
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "ops/flags.html")]
pub struct FlagsPage {
    pub ctx: PageContext,
    pub flags: Vec<FlagRow>,
    /// The flag whose form had an error, the message and the entered reason.
    pub error: Option<(String, String, String)>,
}

impl FlagsPage {
    pub fn error_for(&self, name: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(flag, _, _)| flag == name)
            .map(|(_, m, _)| m.as_str())
    }

    pub fn reason_for(&self, name: &str) -> &str {
        self.error
            .as_ref()
            .filter(|(flag, _, _)| flag == name)
            .map_or("", |(_, _, r)| r.as_str())
    }
}

async fn flags_page(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    error: Option<(String, String, String)>,
) -> Result<FlagsPage, AppError> {
    let now = state.clock.unix();
    let flags = state.db.list_flags(op.scope()).await?;
    Ok(FlagsPage {
        ctx: ops_context(state, session, op, OpsSection::Flags).await?,
        flags: flags
            .into_iter()
            .map(|f| FlagRow {
                description: describe(&f.name),
                updated: Timestamp::new(f.updated_at, now),
                name: f.name,
                enabled: f.enabled,
            })
            .collect(),
        error,
    })
}

pub async fn list_flags(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
) -> Result<Response, AppError> {
    ok(&flags_page(&state, &session, &op, None).await?)
}

#[derive(Debug, Deserialize)]
pub struct FlagForm {
    #[serde(default)]
    pub enabled: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn set_flag(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(name): Path<String>,
    Form(form): Form<FlagForm>,
) -> Result<Response, AppError> {
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::BadRequest("Choose on or off.")),
    };
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(m) => {
            let page = flags_page(
                &state,
                &session,
                &op,
                Some((name.clone(), m.to_owned(), form.reason.clone())),
            )
            .await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.unix();
    let done = state
        .db
        .set_flag_by_operator(
            &op,
            &client.origin(),
            &name,
            enabled,
            OperatorAction {
                action: "ops.flag.changed",
                target_kind: "feature_flag",
                target_id: name.clone(),
                reason: &reason,
                orgs: &[],
                detail: json!({ "enabled": enabled }),
            },
            now,
        )
        .await?;
    if !done {
        return Err(AppError::NotFound);
    }
    session
        .flash(
            FlashKind::Success,
            format!(
                "“{name}” is now {} on every instance.",
                if enabled { "on" } else { "off" }
            ),
        )
        .await?;
    Ok(Redirect::to("/ops/flags").into_response())
}
