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
use crate::auth::session::FlashKind;
use crate::authz::Operator;
use crate::db::org_lifecycle::RESTORE_WINDOW_SECS;
use crate::db::platform::{OperatorAction, OrgSummary};
use crate::db::platform_orgs::OrgStateChange;
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
    /// The platform action whose form was refused (empty: none, or the
    /// view form): only that form shows the entered reason and the error.
    pub refused_form: String,
    /// Whether the org can still be restored (deleted within 30 days).
    pub restorable: bool,
}

impl OrgDetailPage {
    pub fn action(&self, change: &str) -> String {
        format!("/ops/orgs/{}/{change}", self.org.id)
    }
    pub fn reason_of(&self, action: &str) -> &str {
        if self.refused_form == action {
            &self.reason
        } else {
            ""
        }
    }
    pub fn error_of(&self, action: &str) -> Option<&str> {
        if self.refused_form == action {
            self.errors.get("reason")
        } else {
            None
        }
    }
    /// The view form's error, when it was the one refused.
    pub fn view_error(&self) -> Option<&str> {
        if self.refused_form.is_empty() {
            self.errors.get("reason")
        } else {
            None
        }
    }
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
    refused_form: String,
) -> Result<OrgDetailPage, AppError> {
    let now = state.clock.unix();
    let restorable = org
        .deleted_at
        .is_some_and(|d| d > now - RESTORE_WINDOW_SECS);
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
        refused_form,
        restorable,
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
        String::new(),
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
            let page = detail_page(
                &state,
                &session,
                &op,
                org,
                form.reason,
                errors,
                String::new(),
            )
            .await?;
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

/// Disables, enables or restores the org, with the operator's reason,
/// recorded in the platform log and the org's own log in the change's
/// transaction (`Db::change_org_on_platform`).
async fn change_org(
    state: AppState,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    id: String,
    form: ReasonForm,
    change: OrgStateChange,
) -> Result<Response, AppError> {
    let org = load_org(&state, &op, &id).await?;
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(m) => {
            let mut errors = FieldErrors::new();
            errors.add("reason", m);
            let refused = format!("/ops/orgs/{}/{}", org.id, change.verb());
            let page =
                detail_page(&state, &session, &op, org, form.reason, errors, refused).await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (action, done) = match change {
        OrgStateChange::Disable => (
            "ops.org.disabled",
            "is disabled: its members' pages and its API keys are refused until it is enabled \
             again. Nothing was deleted.",
        ),
        OrgStateChange::Enable => (
            "ops.org.enabled",
            "is enabled again: its pages and keys work.",
        ),
        OrgStateChange::Restore => (
            "ops.org.restored",
            "is restored: its pages and keys work again.",
        ),
        OrgStateChange::Delete => return Err(AppError::NotFound),
    };
    let orgs = [org.id];
    let changed = state
        .db
        .change_org_on_platform(
            (&op).into(),
            &client.origin(),
            OperatorAction {
                action,
                target_kind: "org",
                target_id: org.id.to_string(),
                reason: &reason,
                orgs: &orgs,
                detail: json!({ "slug": org.slug, "name": org.name }),
            },
            org.id,
            change,
            state.clock.unix(),
        )
        .await?;
    if changed {
        session
            .flash(FlashKind::Success, format!("{} {done}", org.name))
            .await?;
    } else {
        session
            .flash(
                FlashKind::Info,
                format!(
                    "Nothing changed: {} was not in a state to {}.",
                    org.name,
                    change.verb()
                ),
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/ops/orgs/{}", org.id)).into_response())
}

pub async fn disable_org(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_org(
        state,
        session,
        op,
        client,
        id,
        form,
        OrgStateChange::Disable,
    )
    .await
}

pub async fn enable_org(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_org(state, session, op, client, id, form, OrgStateChange::Enable).await
}

pub async fn restore_org(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_org(
        state,
        session,
        op,
        client,
        id,
        form,
        OrgStateChange::Restore,
    )
    .await
}
