//! `/orgs/{slug}`: owners see the console's dashboard; members a read-only
//! overview of their own teams and roles.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::auth::AppSession;
use crate::authz::OrgMember;
use crate::db::orgs::OrgCounts;
use crate::db::teams::MemberTeam;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageContext, Section, ok};

#[derive(Template)]
#[template(path = "orgs/overview.html")]
pub struct OverviewPage {
    pub ctx: PageContext,
    pub org_name: String,
    pub slug: String,
    pub role_label: &'static str,
    pub is_owner: bool,
    pub counts: OrgCounts,
    pub my_teams: Vec<MemberTeam>,
}

pub async fn show_overview(
    State(state): State<AppState>,
    session: AppSession,
    member: OrgMember,
) -> Result<Response, AppError> {
    let (user, scope) = member.into_parts();
    let counts = if scope.is_owner() {
        state.db.org_counts(&scope).await?
    } else {
        OrgCounts::default()
    };
    let page = OverviewPage {
        ctx: PageContext::for_org(&state, &session, &user, &scope, Section::OrgOverview).await?,
        org_name: scope.name().to_owned(),
        slug: scope.slug().to_owned(),
        role_label: scope.role().label(),
        is_owner: scope.is_owner(),
        counts,
        my_teams: state.db.my_teams(&scope).await?,
    };
    ok(&page)
}
