//! `/v1/orgs/{slug}/…`: the members and teams of the org a key is bound to.
//! Every handler takes `ApiOrgKey<Scope>`, which resolves the org from the
//! key's binding and the owner's current membership and hands out the same
//! `OrgScope`/`OwnerScope` proofs the console pages use; team-scoped data is
//! limited to `ApiOrgKey::teams()` (granted, live, and — for a personal key —
//! teams its owner is on right now).

use axum::Json;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody};
use crate::authz::api::ApiOrgKey;
use crate::authz::api::scopes::{MembersRead, TeamsRead, TeamsWrite};
use crate::db::audit::Event;
use crate::db::members::{MemberCursor, MemberRef, MemberRow, MemberSort};
use crate::db::orgs::OrgError;
use crate::request::ClientInfo;
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// A member of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    /// `owner` or `member`.
    #[schema(pattern = "^(owner|member)$")]
    pub role: String,
    /// Unix seconds.
    pub joined_at: i64,
}

/// A page of members, ordered by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Paging of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    #[param(pattern = r"^[0-9a-f]{32}~[^\x00]*$")]
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawMemberListParams {
    limit: Option<String>,
    after: Option<String>,
}

/// Parses the query exactly as `MemberListParams` documents it.
fn member_params(raw: Option<&str>) -> Result<(i64, Option<MemberCursor>), ApiError> {
    let params: RawMemberListParams = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::invalid("query", "The query string is malformed."))?;
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "Use a whole number from 1 to 100.",
                ));
            }
        },
    };
    let after =
        match params.after.as_deref() {
            None => None,
            Some(a) => {
                let well_formed = a.len() > 32
                && a.as_bytes()[..32]
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                && a.as_bytes()[32] == b'~'
                // NUL cannot be stored in PostgreSQL text: not a cursor.
                && !a.contains('\0');
                let cursor = well_formed.then(|| MemberCursor::decode(a)).flatten();
                Some(cursor.ok_or_else(|| {
                    ApiError::invalid("after", "Pass the `next` value of a page.")
                })?)
            }
        };
    Ok((limit, after))
}

fn member_of(row: MemberRow) -> Member {
    Member {
        user_id: row.user_id,
        display_name: row.display_name,
        email: row.email,
        role: row.role,
        joined_at: row.joined_at,
    }
}

/// The members of the key's organization, by name (keyset pagination).
#[utoipa::path(get, path = "/v1/orgs/{slug}/members", tag = "orgs",
    security(("api_key" = ["members:read"])),
    params(("slug" = String, Path, description = "The organization's address"), MemberListParams),
    responses(
        (status = 200, description = "A page of members", body = MemberPage),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `members:read` (`insufficient_scope`), is not bound to an organization (`key_not_bound`), or its owner is not an owner of the organization (`owner_required`)", body = ErrorBody),
        (status = 404, description = "The key is bound to another organization, or its owner is no longer a member", body = ErrorBody),
        (status = 422, description = "Invalid `limit` or `after`", body = ErrorBody),
    ))]
pub async fn list_members(
    State(state): State<AppState>,
    key: ApiOrgKey<MembersRead>,
    RawQuery(query): RawQuery,
) -> Result<Json<MemberPage>, ApiError> {
    let (limit, after) = member_params(query.as_deref())?;
    let scope = key.owner_scope()?;
    let mut rows = state
        .db
        .list_members(scope, "", MemberSort::Name, after.as_ref(), limit + 1)
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| MemberCursor::after(r, MemberSort::Name).encode())
    } else {
        None
    };
    Ok(Json(MemberPage {
        members: rows.into_iter().map(member_of).collect(),
        next,
    }))
}

/// A team the key may reach.
#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub member_count: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Made by the organization's identity provider (SCIM): its members
    /// change there, and adding or removing one here is a 409 `scim_managed`.
    pub scim_managed: bool,
}

/// The teams the key may reach.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub teams: Vec<Team>,
}

/// The teams of the key's organization that the key is granted — and, for a
/// personal key, that its owner is on now. A key without grants sees none.
#[utoipa::path(get, path = "/v1/orgs/{slug}/teams", tag = "orgs",
    security(("api_key" = ["teams:read"])),
    params(("slug" = String, Path, description = "The organization's address")),
    responses(
        (status = 200, description = "The teams", body = TeamList),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `teams:read` or is not bound to an organization (`key_not_bound`)", body = ErrorBody),
        (status = 404, description = "The key is bound to another organization, or its owner is no longer a member", body = ErrorBody),
    ))]
pub async fn list_teams(
    State(state): State<AppState>,
    key: ApiOrgKey<TeamsRead>,
) -> Result<Json<TeamList>, ApiError> {
    let teams = state.db.list_teams(key.scope(), state.clock.unix()).await?;
    Ok(Json(TeamList {
        teams: teams
            .into_iter()
            .filter(|t| t.deleted_at.is_none() && key.may_reach_team(t.id))
            .map(|t| Team {
                id: t.id,
                name: t.name,
                member_count: t.member_count,
                created_at: t.created_at,
                scim_managed: t.scim_managed,
            })
            .collect(),
    }))
}

/// The body of a team-membership `PUT`. A team gives its members no role of
/// their own (what they may do comes from the team's workspace grants), so
/// the body may be empty; `role`, which older clients send, is accepted and
/// ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMembershipBody {
    /// Ignored; kept so that older clients are not refused.
    #[schema(deprecated)]
    #[serde(default)]
    pub role: Option<LegacyTeamRole>,
}

/// The per-person team roles of before workspaces (ignored).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LegacyTeamRole {
    Creator,
    Runner,
    Viewer,
}

/// A member's place in a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMembership {
    pub team_id: Uuid,
    pub user_id: Uuid,
    /// False when they were on the team already (nothing changed).
    pub added: bool,
}

/// Reads `{team_id}` and `{user_id}`: hyphenated UUIDs, as documented;
/// anything else is simply not found.
fn team_and_user(params: &RawPathParams) -> Result<(Uuid, Uuid), ApiError> {
    let id = |name: &str| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .filter(|v| v.len() == 36)
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or(ApiError::NotFound)
    };
    Ok((id("team_id")?, id("user_id")?))
}

/// Loads a team the key may reach (404 otherwise, like a missing one).
async fn reachable_team(
    state: &AppState,
    key: &ApiOrgKey<TeamsWrite>,
    team_id: Uuid,
) -> Result<String, ApiError> {
    if !key.may_reach_team(team_id) {
        return Err(ApiError::NotFound);
    }
    state
        .db
        .find_team(key.scope(), team_id, state.clock.unix())
        .await?
        .filter(|t| t.deleted_at.is_none())
        .map(|t| t.name)
        .ok_or(ApiError::NotFound)
}

/// 409 `scim_managed`: the team is the identity provider's to staff.
fn scim_managed() -> ApiError {
    ApiError::Conflict {
        code: "scim_managed",
        message: "This team is managed by the organization's identity provider (SCIM); change its members there.",
    }
}

/// Adds an org member to a team the key may reach (idempotent).
#[utoipa::path(put, path = "/v1/orgs/{slug}/teams/{team_id}/members/{user_id}", tag = "orgs",
    security(("api_key" = ["teams:write"])),
    params(
        ("slug" = String, Path, description = "The organization's address"),
        ("team_id" = Uuid, Path, description = "A team the key may reach"),
        ("user_id" = Uuid, Path, description = "A member of the organization"),
    ),
    request_body = TeamMembershipBody,
    responses(
        (status = 200, description = "The team membership", body = TeamMembership),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `teams:write`, is not bound to an organization (`key_not_bound`), or its owner is not an owner of the organization (`owner_required`)", body = ErrorBody),
        (status = 404, description = "No such team within the key's grants, or no such member of the organization", body = ErrorBody),
        (status = 409, description = "The team is managed by the organization's identity provider (`scim_managed`); nothing changed", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid body; nothing changed", body = ErrorBody),
    ))]
pub async fn put_team_member(
    State(state): State<AppState>,
    key: ApiOrgKey<TeamsWrite>,
    client: ClientInfo,
    params: RawPathParams,
    ApiJson(body): ApiJson<TeamMembershipBody>,
) -> Result<Json<TeamMembership>, ApiError> {
    let (team_id, user_id) = team_and_user(&params)?;
    let scope = key.owner_scope()?;
    let team = reachable_team(&state, &key, team_id).await?;
    let _ignored = body.role;
    let added = |user_id: Uuid| {
        Event::by(key.principal().actor())
            .did("team.member_added")
            .on("user", user_id)
            .in_org(scope)
            .detail(json!({ "team": team, "via_key": key.principal().public_id() }))
            .from(&client.origin())
    };
    let added = match state
        .db
        .add_team_member(
            scope,
            team_id,
            MemberRef::Id(user_id),
            added,
            state.clock.unix(),
        )
        .await
    {
        Ok((_, added)) => added,
        Err(OrgError::NotAMember) => return Err(ApiError::NotFound),
        Err(OrgError::ScimManaged) => return Err(scim_managed()),
        Err(e) => return Err(ApiError::Internal(e.into())),
    };
    Ok(Json(TeamMembership {
        team_id,
        user_id,
        added,
    }))
}

/// Takes a member off a team the key may reach (and the team from their
/// keys' grants).
#[utoipa::path(delete, path = "/v1/orgs/{slug}/teams/{team_id}/members/{user_id}", tag = "orgs",
    security(("api_key" = ["teams:write"])),
    params(
        ("slug" = String, Path, description = "The organization's address"),
        ("team_id" = Uuid, Path, description = "A team the key may reach"),
        ("user_id" = Uuid, Path, description = "A member of the team"),
    ),
    responses(
        (status = 204, description = "Removed from the team"),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `teams:write`, is not bound to an organization (`key_not_bound`), or its owner is not an owner of the organization (`owner_required`)", body = ErrorBody),
        (status = 404, description = "No such team within the key's grants, or the user is not on it", body = ErrorBody),
        (status = 409, description = "The team is managed by the organization's identity provider (`scim_managed`); nothing changed", body = ErrorBody),
    ))]
pub async fn delete_team_member(
    State(state): State<AppState>,
    key: ApiOrgKey<TeamsWrite>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    let (team_id, user_id) = team_and_user(&params)?;
    let scope = key.owner_scope()?;
    let team = reachable_team(&state, &key, team_id).await?;
    let removed = Event::by(key.principal().actor())
        .did("team.member_removed")
        .on("user", user_id)
        .in_org(scope)
        .detail(json!({ "team": team, "via_key": key.principal().public_id() }))
        .from(&client.origin());
    match state
        .db
        .remove_team_member(scope, team_id, user_id, removed, state.clock.unix())
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::NotFound),
        Err(OrgError::ScimManaged) => return Err(scim_managed()),
        Err(e) => return Err(ApiError::Internal(e.into())),
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_params_are_exactly_as_documented() {
        assert_eq!(member_params(None).unwrap().0, DEFAULT_LIMIT);
        assert_eq!(member_params(Some("limit=100")).unwrap().0, 100);
        let nul = format!("after={}~a%00", Uuid::nil().simple());
        for bad in [
            "limit=0",
            "limit=101",
            "limit=x",
            "after=",
            "after=abc~x",
            &nul,
        ] {
            assert!(member_params(Some(bad)).is_err(), "{bad}");
        }
        let id = Uuid::now_v7().simple().to_string();
        assert!(member_params(Some(&format!("after={id}~ada"))).is_ok());
        let upper = id.to_uppercase();
        assert!(member_params(Some(&format!("after={upper}~ada"))).is_err());
    }
}
