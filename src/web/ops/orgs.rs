//! `/ops/orgs`: every organization with its member count (metadata, like the
//! user search), and an org's members and teams, read-only, shown only after
//! the operator gives a reason — recorded in the platform log and in that
//! org's own log, where its owners see it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{ReasonForm, add_view_grant, has_view_grant, ops_context};
use crate::auth::AppSession;
use crate::authz::Operator;
use crate::db::platform::{OperatorAction, OrgSummary};
use crate::domain::Reason;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path, Query};
use crate::web::{ClientInfo, FieldErrors, OpsSection, PageContext, ok, render};

/// Members shown on an org's detail page (the org's own console pages them).
const DETAIL_MEMBERS: i64 = 200;

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct OrgsQuery {
    pub after: Option<String>,
}

#[derive(Template)]
#[template(path = "ops/orgs.html")]
pub struct OrgsPage {
    pub ctx: PageContext,
    pub orgs: Vec<OrgSummary>,
    pub next_after: Option<String>,
    pub paged: bool,
}

pub async fn list_orgs(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    Query(query): Query<OrgsQuery>,
) -> Result<Response, AppError> {
    let after = query.after.as_deref().and_then(|a| Uuid::parse_str(a).ok());
    let mut orgs = state.db.list_orgs(op.scope(), after, PAGE_SIZE + 1).await?;
    let more = orgs.len() as i64 > PAGE_SIZE;
    orgs.truncate(PAGE_SIZE as usize);
    let page = OrgsPage {
        ctx: ops_context(&state, &session, &op, OpsSection::Orgs).await?,
        next_after: if more {
            orgs.last().map(|o| o.id.to_string())
        } else {
            None
        },
        paged: after.is_some(),
        orgs,
    };
    ok(&page)
}

#[derive(Template)]
#[template(path = "ops/org_detail.html")]
pub struct OrgDetailPage {
    pub ctx: PageContext,
    pub org: OrgSummary,
    /// Shown only after a reason was given (otherwise the reason form).
    pub granted: bool,
    /// (user id, name, email, role)
    pub members: Vec<(Uuid, String, String, String)>,
    /// (team, member count)
    pub teams: Vec<(String, i64)>,
    pub reason: String,
    pub errors: FieldErrors,
}

async fn load_org(state: &AppState, op: &Operator, id: &str) -> Result<OrgSummary, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .db
        .platform_org(op.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn detail_page(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    org: OrgSummary,
    reason: String,
    errors: FieldErrors,
) -> Result<OrgDetailPage, AppError> {
    let granted = has_view_grant(session, org.id, state.clock.unix()).await?;
    let (members, teams) = if granted {
        (
            state
                .db
                .platform_org_members(op.scope(), org.id, DETAIL_MEMBERS)
                .await?,
            state.db.platform_org_teams(op.scope(), org.id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(OrgDetailPage {
        ctx: ops_context(state, session, op, OpsSection::Orgs).await?,
        org,
        granted,
        members,
        teams,
        reason,
        errors,
    })
}

pub async fn show_org(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let org = load_org(&state, &op, &id).await?;
    ok(&detail_page(
        &state,
        &session,
        &op,
        org,
        String::new(),
        FieldErrors::new(),
    )
    .await?)
}

pub async fn view_org(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let org = load_org(&state, &op, &id).await?;
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(m) => {
            let mut errors = FieldErrors::new();
            errors.add("reason", m);
            let page = detail_page(&state, &session, &op, org, form.reason, errors).await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.unix();
    state
        .db
        .record_operator_action(
            &op,
            &client.origin(),
            OperatorAction {
                action: "ops.org.viewed",
                target_kind: "org",
                target_id: org.id.to_string(),
                reason: &reason,
                orgs: &[org.id],
                detail: json!({ "slug": org.slug }),
            },
            now,
        )
        .await?;
    add_view_grant(&session, org.id, op.sudo_until(), now).await?;
    Ok(Redirect::to(&format!("/ops/orgs/{}", org.id)).into_response())
}
