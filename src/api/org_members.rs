//! `PATCH` and `DELETE /v1/orgs/{slug}/members/{user_id}` (`members:write`):
//! an owner-level key changes a member's org role or removes them.
//!
//! Invariants: the org comes from the key (`ApiOrgKey`), the member is looked
//! up through the owner-level proof, so a user of another org is not found;
//! "an org keeps at least one owner" is checked in the same transaction as the
//! change (`db::orgs`), and breaking it answers 409 `last_owner`; every change
//! is audited in the org's log as the page's change is, with the key named,
//! in the same transaction (no change without its event).

use axum::Json;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody};
use crate::authz::api::ApiOrgKey;
use crate::authz::api::scopes::MembersWrite;
use crate::db::audit::Event;
use crate::db::orgs::OrgError;
use crate::domain::OrgRole;
use crate::request::ClientInfo;
use crate::state::AppState;

/// An org role.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrgRoleName {
    Owner,
    Member,
}

impl From<OrgRoleName> for OrgRole {
    fn from(r: OrgRoleName) -> Self {
        match r {
            OrgRoleName::Owner => OrgRole::Owner,
            OrgRoleName::Member => OrgRole::Member,
        }
    }
}

/// The org role to give a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRoleBody {
    pub role: OrgRoleName,
}

/// A member's org role.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRole {
    pub user_id: Uuid,
    pub role: OrgRoleName,
}

const LAST_OWNER: ApiError = ApiError::Conflict {
    code: "last_owner",
    message: "An organization must keep at least one owner. Make someone else an owner first.",
};

/// Reads `{user_id}`: a hyphenated UUID, as documented; anything else is
/// simply not found.
fn member_id(params: &RawPathParams) -> Result<Uuid, ApiError> {
    params
        .iter()
        .find(|(k, _)| *k == "user_id")
        .map(|(_, v)| v)
        .filter(|v| v.len() == 36)
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or(ApiError::NotFound)
}

/// The org-log event of a change to `member_id` by this key; the storage
/// function writes it in the change's transaction.
fn event(
    key: &ApiOrgKey<MembersWrite>,
    client: &ClientInfo,
    action: &'static str,
    member_id: Uuid,
) -> Event {
    Event::by(key.principal().actor())
        .did(action)
        .on("user", member_id)
        .in_org(key.scope())
        .detail(json!({ "via_key": key.principal().public_id() }))
        .from(&client.origin())
}

/// Changes a member's org role. The same role again changes and records
/// nothing.
#[utoipa::path(patch, path = "/v1/orgs/{slug}/members/{user_id}", tag = "orgs",
    security(("api_key" = ["members:write"])),
    params(
        ("slug" = String, Path, description = "The organization's address"),
        ("user_id" = Uuid, Path, description = "A member of the organization"),
    ),
    request_body = MemberRoleBody,
    responses(
        (status = 200, description = "The member's role now", body = MemberRole),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `members:write` (`insufficient_scope`), is not bound to an organization (`key_not_bound`), its owner is not an owner of the organization (`owner_required`), or lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such member of the key's organization", body = ErrorBody),
        (status = 409, description = "The change would leave the organization without an owner (`last_owner`); nothing changed", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid body; nothing changed", body = ErrorBody),
    ))]
pub async fn patch_member(
    State(state): State<AppState>,
    key: ApiOrgKey<MembersWrite>,
    client: ClientInfo,
    params: RawPathParams,
    ApiJson(body): ApiJson<MemberRoleBody>,
) -> Result<Json<MemberRole>, ApiError> {
    let member_id = member_id(&params)?;
    let scope = key.owner_scope()?;
    let role = OrgRole::from(body.role);
    // Written in the change's transaction, with `before`/`after` added
    // there, and only if the role changes.
    let event = event(&key, &client, "member.role_changed", member_id);
    match state
        .db
        .change_member_role(scope, member_id, role, event, state.clock.unix())
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return Err(ApiError::NotFound),
        Err(OrgError::LastOwner) => return Err(LAST_OWNER),
        Err(e) => return Err(ApiError::Internal(e.into())),
    }
    Ok(Json(MemberRole {
        user_id: member_id,
        role: body.role,
    }))
}

/// Removes a member from the organization: their membership, their team
/// places and their keys' binding to it, together.
#[utoipa::path(delete, path = "/v1/orgs/{slug}/members/{user_id}", tag = "orgs",
    security(("api_key" = ["members:write"])),
    params(
        ("slug" = String, Path, description = "The organization's address"),
        ("user_id" = Uuid, Path, description = "A member of the organization"),
    ),
    responses(
        (status = 204, description = "Removed from the organization"),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `members:write` (`insufficient_scope`), is not bound to an organization (`key_not_bound`), its owner is not an owner of the organization (`owner_required`), or lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "No such member of the key's organization", body = ErrorBody),
        (status = 409, description = "The member is the organization's only owner (`last_owner`); nothing changed", body = ErrorBody),
    ))]
pub async fn delete_member(
    State(state): State<AppState>,
    key: ApiOrgKey<MembersWrite>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    let member_id = member_id(&params)?;
    let scope = key.owner_scope()?;
    let member = state
        .db
        .find_member(scope, member_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let event = event(&key, &client, "member.removed", member_id)
        .with("email", member.email.as_str())
        .with("role", member.role.as_str());
    match state
        .db
        .remove_member(scope, member_id, event, state.clock.unix())
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::NotFound),
        Err(OrgError::LastOwner) => return Err(LAST_OWNER),
        Err(e) => return Err(ApiError::Internal(e.into())),
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
