//! `/ops`: the platform operators' console. Every handler takes the
//! `Operator` proof (an operator in sudo mode; anyone else gets 404), every
//! action asks for a reason and is written to the audit log with it, and
//! there are no routes that show a secret, rotate someone's key or sign in as
//! someone else.
//!
//! Looking at a user's details is an action too: the detail page first asks
//! why (a small form), records `ops.user.viewed` with the reason, and then
//! shows the details for the rest of the sudo window (a "view grant" kept in
//! the server-side session). The reason is not carried in the query string:
//! it would end up in browser history, `Referer` headers and proxy logs, and
//! every reload of a GET would write another audit row.

pub mod accounts;
pub mod audit;
pub mod flags;
pub mod master_keys;
pub mod orgs;
pub mod outbox;
pub mod support;
pub mod users;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AppSession;
use crate::authz::Operator;
use crate::db::flags::ACCOUNT_REGISTRATION;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{OpsSection, PageContext, Section, ok};

/// The page context of a console page (with the MFA banner when the
/// operator has no MFA yet).
pub async fn ops_context(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    section: OpsSection,
) -> Result<PageContext, AppError> {
    let mut ctx = PageContext::new(state, session, Some(op.user()), Section::Ops(section)).await?;
    ctx.ops_mfa_missing = !op.has_mfa();
    Ok(ctx)
}

/// A form whose only field is the reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

/// Users the operator may look at now, having given a reason: `(user id,
/// until)`. The grant ends with the sudo window.
const VIEW_GRANTS: &str = "ops_view_grants";

pub async fn has_view_grant(
    session: &AppSession,
    user_id: Uuid,
    now: i64,
) -> Result<bool, AppError> {
    let grants: Vec<(Uuid, i64)> = session.get(VIEW_GRANTS).await?.unwrap_or_default();
    Ok(grants
        .iter()
        .any(|(id, until)| *id == user_id && *until > now))
}

pub async fn add_view_grant(
    session: &AppSession,
    user_id: Uuid,
    until: i64,
    now: i64,
) -> Result<(), AppError> {
    let mut grants: Vec<(Uuid, i64)> = session.get(VIEW_GRANTS).await?.unwrap_or_default();
    grants.retain(|(id, u)| *id != user_id && *u > now);
    grants.push((user_id, until));
    // A bounded list: the oldest grants go first.
    if grants.len() > 20 {
        grants.drain(..grants.len() - 20);
    }
    Ok(session.put(VIEW_GRANTS, &grants).await?)
}

#[derive(Template)]
#[template(path = "ops/overview.html")]
pub struct OverviewPage {
    pub ctx: PageContext,
    pub users: i64,
    pub registration_open: bool,
    pub active_master_keys: usize,
}

pub async fn show_overview(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let keys = state.db.list_master_keys(op.scope()).await?;
    let page = OverviewPage {
        ctx: ops_context(&state, &session, &op, OpsSection::Overview).await?,
        users: state.db.count_users(op.scope()).await?,
        registration_open: state.db.flag_enabled(ACCOUNT_REGISTRATION).await?,
        active_master_keys: keys.iter().filter(|k| k.status(now).is_usable()).count(),
    };
    ok(&page)
}
