//! `/orgs/{slug}/members`: the member list (search, sort, keyset pages),
//! member detail, role changes, removal, and revoking a member's org keys.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::id_from;
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, OrgScope, SudoGate};
use crate::db::audit::Event;
use crate::db::members::{MemberCursor, MemberDetail, MemberRow, MemberSort};
use crate::db::orgs::OrgError;
use crate::db::teams::MemberTeam;
use crate::domain::OrgRole;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::account::keys::KeyView;
use crate::web::extract::{Form, Path, Query};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, PageContext, Section, ok};

pub const PAGE_SIZE: i64 = 50;
/// Member counts above this are shown as "1,000+".
pub const COUNT_CAP: i64 = 1_000;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub after: Option<String>,
}

pub struct MemberItem {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
    pub role_label: &'static str,
    pub is_owner: bool,
    pub joined: Timestamp,
    /// Deactivated by the org's identity provider (SCIM).
    pub suspended: bool,
}

#[derive(Template)]
#[template(path = "orgs/members.html")]
pub struct MembersPage {
    pub ctx: PageContext,
    pub slug: String,
    pub q: String,
    pub sort: &'static str,
    /// "12" or "1,000+".
    pub total: String,
    pub members: Vec<MemberItem>,
    pub next: Option<String>,
    pub paged: bool,
}

fn item(row: &MemberRow, now: i64) -> MemberItem {
    let role = OrgRole::parse(&row.role).unwrap_or(OrgRole::Member);
    MemberItem {
        user_id: row.user_id.to_string(),
        display_name: row.display_name.clone(),
        email: row.email.clone(),
        role_label: role.label(),
        is_owner: role == OrgRole::Owner,
        joined: Timestamp::new(row.joined_at, now),
        suspended: row.suspended_at.is_some(),
    }
}

pub async fn list_members(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (user, scope) = owner.into_parts();
    let now = state.clock.unix();
    let q = query.q.unwrap_or_default();
    let sort = MemberSort::parse(query.sort.as_deref());
    let after = query.after.as_deref().and_then(MemberCursor::decode);
    let mut rows = state
        .db
        .list_members(&scope, &q, sort, after.as_ref(), PAGE_SIZE + 1)
        .await?;
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| MemberCursor::after(r, sort).encode())
    } else {
        None
    };
    let next = next.map(|cursor| {
        serde_urlencoded::to_string([
            ("q", q.as_str()),
            ("sort", sort.as_str()),
            ("after", &cursor),
        ])
        .unwrap_or_default()
    });
    let page = MembersPage {
        ctx: PageContext::for_org(&state, &session, &user, &scope, Section::OrgMembers).await?,
        slug: scope.slug().to_owned(),
        total: match state.db.count_members(&scope, &q, COUNT_CAP + 1).await? {
            n if n > COUNT_CAP => "1,000+".to_owned(),
            n => n.to_string(),
        },
        members: rows.iter().map(|r| item(r, now)).collect(),
        q,
        sort: sort.as_str(),
        next,
        paged: after.is_some(),
    };
    ok(&page)
}

#[derive(Template)]
#[template(path = "orgs/member.html")]
pub struct MemberPage {
    pub ctx: PageContext,
    pub slug: String,
    pub member: MemberDetail,
    pub role: &'static str,
    pub joined: Timestamp,
    /// When the org's identity provider deactivated the membership.
    pub suspended: Option<Timestamp>,
    pub teams: Vec<MemberTeam>,
    pub keys: Vec<KeyView>,
    pub is_self: bool,
    pub is_org_owner: bool,
    pub why: Vec<super::workspaces::WorkspaceWhy>,
}

pub async fn show_member(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (user, scope) = owner.into_parts();
    let member_id = id_from(&id)?;
    let member = state
        .db
        .find_member(&scope, member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.unix();
    let keys = state.db.member_org_keys(&scope, member_id).await?;
    // A promotion sent without sudo comes back with its choice (see
    // `change_role`).
    let stashed = take_stashed_form::<RoleForm>(&session, &member_page(&scope, member_id))
        .await?
        .and_then(|f| OrgRole::parse(&f.role));
    let page = MemberPage {
        ctx: PageContext::for_org(&state, &session, &user, &scope, Section::OrgMembers).await?,
        slug: scope.slug().to_owned(),
        role: stashed
            .or_else(|| OrgRole::parse(&member.role))
            .unwrap_or(OrgRole::Member)
            .as_str(),
        joined: Timestamp::new(member.joined_at, now),
        suspended: member.suspended_at.map(|t| Timestamp::new(t, now)),
        teams: state.db.member_teams(&scope, member_id).await?,
        keys: keys.iter().map(|k| KeyView::new(k, now)).collect(),
        is_self: member_id == user.id(),
        is_org_owner: member.role == "owner",
        why: super::workspaces::why_by_workspace(
            state
                .db
                .principal_grants(&scope, crate::authz::Principal::User(member_id))
                .await?,
        ),
        member,
    };
    ok(&page)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub role: String,
}

fn member_page(scope: &OrgScope, member_id: Uuid) -> String {
    format!("/orgs/{}/members/{member_id}", scope.slug())
}

/// Changes a member's org role. Making someone an owner grants full
/// administration, so it needs sudo mode; taking the role away does not (it
/// is what an owner does when an account is compromised).
pub async fn change_role(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    let (user, scope) = owner.into_parts();
    let member_id = id_from(&id)?;
    // The member is looked up first: an id from another org is not found,
    // whatever the form says.
    let member = state
        .db
        .find_member(&scope, member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = member_page(&scope, member_id);
    let Some(role) = OrgRole::parse(&form.role) else {
        session
            .flash(FlashKind::Error, "Choose owner or member.")
            .await?;
        return Ok(Redirect::to(&back).into_response());
    };
    if role == OrgRole::Owner && member.role != OrgRole::Owner.as_str() {
        gate.enter(&back, &form).await?;
    }
    let event = Event::by(user.actor())
        .did("member.role_changed")
        .on("user", member_id)
        .in_org(&scope)
        .from(&client.origin());
    match state
        .db
        .change_member_role(&scope, member_id, role, event, state.clock.unix())
        .await
    {
        Ok(None) => return Err(AppError::NotFound),
        Ok(Some(_)) => {
            session
                .flash(
                    FlashKind::Success,
                    format!("Role changed to {}.", role.label()),
                )
                .await?;
        }
        Err(OrgError::LastOwner) => {
            session
                .flash(
                    FlashKind::Error,
                    "An organization must keep at least one owner. Make someone else an owner first.",
                )
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back).into_response())
}

pub async fn remove_member(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (user, scope) = owner.into_parts();
    let member_id = id_from(&id)?;
    let member = state
        .db
        .find_member(&scope, member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let event = Event::by(user.actor())
        .did("member.removed")
        .on("user", member_id)
        .in_org(&scope)
        .detail(json!({ "email": member.email, "role": member.role }))
        .from(&client.origin());
    match state
        .db
        .remove_member(&scope, member_id, event, state.clock.unix())
        .await
    {
        Ok(true) => {
            session
                .flash(
                    FlashKind::Success,
                    format!("{} was removed from the organization.", member.display_name),
                )
                .await?;
            Ok(Redirect::to(&format!("/orgs/{}/members", scope.slug())).into_response())
        }
        Ok(false) => Err(AppError::NotFound),
        Err(OrgError::LastOwner) => {
            session
                .flash(
                    FlashKind::Error,
                    "An organization must keep at least one owner. Make someone else an owner first.",
                )
                .await?;
            Ok(
                Redirect::to(&format!("/orgs/{}/members/{member_id}", scope.slug()))
                    .into_response(),
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// An owner revokes a member's key bound to this org. (Rotation is the key
/// owner's alone: there is no such route here.)
pub async fn revoke_member_key(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_, id, key)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let (user, scope) = owner.into_parts();
    let member_id = id_from(&id)?;
    state
        .db
        .revoke_member_key(
            &scope,
            member_id,
            &key,
            |key_id| {
                Event::by(user.actor())
                    .did("api_key.revoked")
                    .on("api_key", key_id)
                    .in_org(&scope)
                    .detail(json!({
                        "prefix": format!("{}{key}", crate::auth::api_key::PREFIX),
                        "owner": member_id,
                    }))
                    .from(&client.origin())
            },
            state.clock.unix(),
        )
        .await?
        .ok_or(AppError::NotFound)?;
    session
        .flash(FlashKind::Success, "The key was revoked.")
        .await?;
    Ok(Redirect::to(&format!("/orgs/{}/members/{member_id}", scope.slug())).into_response())
}
