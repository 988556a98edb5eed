//! `/ops/orgs`: every organization with its member count (metadata, like the
//! user search; opening an org's people goes through a user's page, which
//! asks for a reason).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::ops_context;
use crate::app::AppState;
use crate::auth::AppSession;
use crate::authz::Operator;
use crate::db::platform::OrgSummary;
use crate::error::AppError;
use crate::web::{OpsSection, PageContext, ok};

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
