//! `/v1/orgs/{slug}` itself: rename an org, hand it over, delete it — what
//! its owners do on the settings pages, for a key with `org:admin`.
//!
//! Invariants: every handler takes `ApiOrgKey<OrgAdmin>` and acts only
//! through its owner-level proof (`owner_required` otherwise); `org:admin`
//! is given only on the pages in sudo mode (`Scope::web_only`), which is
//! the API's counterpart of the pages' sudo step; deletion names the org's
//! slug in `confirm`, as the page asks it to be typed; each change writes
//! the same audit event as the page, with the key that made it.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody, FieldError};
use crate::authz::api::ApiOrgKey;
use crate::authz::api::scopes::OrgAdmin;
use crate::db::audit::Event;
use crate::db::org_lifecycle::RESTORE_WINDOW_SECS;
use crate::db::orgs::OrgError;
use crate::domain::{Email, OrgName, Slug};
use crate::request::ClientInfo;
use crate::state::AppState;

/// The org as its owners see it after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A new name and, optionally, a new address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameOrgRequest {
    /// 1 to 100 characters (surrounding spaces are trimmed), one line.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// The new address; the old one redirects the org's members for 30
    /// days and no other org may take it in that time.
    #[schema(
        min_length = 3,
        max_length = 40,
        pattern = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
}

/// Who becomes an owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOrgRequest {
    /// The email address of another member; they become an owner and the
    /// key's owner a member.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@\x00-\x1f\x7f-\x9f]{1,64}@(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\s*$"
    )]
    pub email: String,
}

/// The new owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgTransferred {
    pub org: OrgOut,
    pub new_owner: String,
}

/// The confirmation of a deletion.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteOrgParams {
    /// The org's slug, repeated: what the page asks to type.
    #[param(
        min_length = 3,
        max_length = 40,
        pattern = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
    )]
    pub confirm: String,
}

/// What a deletion did.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDeleted {
    pub org: OrgOut,
    /// Unix seconds: until then an owner (or an operator) can restore it.
    pub restorable_until: i64,
}

fn event(key: &ApiOrgKey<OrgAdmin>, client: &ClientInfo, action: &'static str) -> Event {
    Event::by(key.principal().actor())
        .did(action)
        .on("org", key.scope().org_id())
        .in_org(key.scope())
        .from(&client.origin())
}

fn org_of(key: &ApiOrgKey<OrgAdmin>) -> OrgOut {
    OrgOut {
        id: key.scope().org_id(),
        slug: key.scope().slug().to_owned(),
        name: key.scope().name().to_owned(),
    }
}

/// Renames the key's organization and, optionally, moves it to a new slug.
#[utoipa::path(patch, path = "/v1/orgs/{slug}", tag = "orgs",
    security(("api_key" = ["org:admin"])),
    params(("slug" = String, Path, description = "The organization's address")),
    request_body = RenameOrgRequest,
    responses(
        (status = 200, description = "Renamed", body = OrgOut),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`, `key_not_bound`, `owner_required`, `mfa_required` or `org_disabled`", body = ErrorBody),
        (status = 404, description = "Not the key's organization", body = ErrorBody),
        (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a bad name or slug, or the slug is taken", body = ErrorBody),
    ))]
pub async fn rename_org(
    State(state): State<AppState>,
    key: ApiOrgKey<OrgAdmin>,
    client: ClientInfo,
    ApiJson(req): ApiJson<RenameOrgRequest>,
) -> Result<Json<OrgOut>, ApiError> {
    let scope = key.owner_scope()?;
    let mut errors = Vec::new();
    let name = OrgName::parse(req.name.as_deref().unwrap_or(scope.name()))
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let slug = Slug::parse(req.slug.as_deref().unwrap_or(scope.slug()).trim())
        .map_err(|m| errors.push(FieldError::new("slug", m)))
        .ok();
    let (Some(name), Some(slug)) = (name, slug) else {
        return Err(ApiError::Validation(errors));
    };
    let event = event(&key, &client, "org.renamed").detail(json!({
        "before": { "name": scope.name(), "slug": scope.slug() },
        "after": { "name": name.as_str(), "slug": slug.as_str() },
        "via_key": key.principal().public_id(),
    }));
    match state
        .db
        .rename_org(
            scope,
            name.as_str(),
            slug.as_str(),
            event,
            state.clock.unix(),
        )
        .await
    {
        Ok(()) => Ok(Json(OrgOut {
            id: scope.org_id(),
            slug: slug.as_str().to_owned(),
            name: name.as_str().to_owned(),
        })),
        Err(OrgError::SlugTaken) => Err(ApiError::invalid("slug", crate::domain::org::SLUG_TAKEN)),
        Err(OrgError::SlugHeld) => Err(ApiError::invalid("slug", crate::domain::org::SLUG_HELD)),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

/// Hands the organization over: another member becomes an owner and the
/// key's owner a member. Needs a person's key (a service account does not
/// hand an org over).
#[utoipa::path(post, path = "/v1/orgs/{slug}/transfer", tag = "orgs",
    security(("api_key" = ["org:admin"])),
    params(("slug" = String, Path, description = "The organization's address")),
    request_body = TransferOrgRequest,
    responses(
        (status = 200, description = "Transferred", body = OrgTransferred),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`, `key_not_bound`, `owner_required`, `service_account_key`, `mfa_required` or `org_disabled`", body = ErrorBody),
        (status = 404, description = "Not the key's organization", body = ErrorBody),
        (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not an email address, or no other member has it", body = ErrorBody),
    ))]
pub async fn transfer_org(
    State(state): State<AppState>,
    key: ApiOrgKey<OrgAdmin>,
    client: ClientInfo,
    ApiJson(req): ApiJson<TransferOrgRequest>,
) -> Result<Json<OrgTransferred>, ApiError> {
    let scope = key.owner_scope()?;
    let user = key.principal().owner_proof().ok_or(ApiError::Forbidden {
        code: "service_account_key",
        message: "Only a person's key hands an organization over.",
    })?;
    let email = Email::parse(&req.email).map_err(|m| ApiError::invalid("email", m))?;
    let event = event(&key, &client, "org.ownership_transferred").detail(json!({
        "to": email.as_str(),
        "from": user.email(),
        "via_key": key.principal().public_id(),
    }));
    match state
        .db
        .transfer_ownership(scope, &user, email.as_str(), event, state.clock.unix())
        .await
    {
        Ok(new_owner) => Ok(Json(OrgTransferred {
            org: org_of(&key),
            new_owner,
        })),
        Err(OrgError::NotAMember) => Err(ApiError::invalid(
            "email",
            "No other member of this organization has that email address.",
        )),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

/// Deletes the organization: its pages and keys (this one too) stop at
/// once; an owner or an operator can restore it for 30 days, then it is
/// purged with everything in it.
#[utoipa::path(delete, path = "/v1/orgs/{slug}", tag = "orgs",
    security(("api_key" = ["org:admin"])),
    params(
        ("slug" = String, Path, description = "The organization's address"),
        DeleteOrgParams,
    ),
    responses(
        (status = 200, description = "Deleted", body = OrgDeleted),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`, `key_not_bound`, `owner_required`, `mfa_required` or `org_disabled`", body = ErrorBody),
        (status = 404, description = "Not the key's organization", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `confirm` is not the org's slug", body = ErrorBody),
    ))]
pub async fn delete_org(
    State(state): State<AppState>,
    key: ApiOrgKey<OrgAdmin>,
    client: ClientInfo,
    RawQuery(raw): RawQuery,
) -> Result<Json<OrgDeleted>, ApiError> {
    let scope = key.owner_scope()?;
    let confirm = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.as_deref().unwrap_or(""))
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "confirm"))
        .map(|(_, v)| v);
    if confirm.as_deref().map(str::trim) != Some(scope.slug()) {
        return Err(ApiError::invalid(
            "confirm",
            format!(
                "Repeat the organization's slug, {}, as `?confirm=` to delete it.",
                scope.slug()
            ),
        ));
    }
    let contents = state.db.org_contents(scope).await?;
    let now = state.clock.unix();
    let event = event(&key, &client, "org.deleted").detail(json!({
        "slug": scope.slug(),
        "name": scope.name(),
        "workspaces": contents.workspaces,
        "resources": contents.resources,
        "keys": contents.keys,
        "members": contents.members,
        "via_key": key.principal().public_id(),
    }));
    state.db.delete_org(scope, event, now).await?;
    Ok(Json(OrgDeleted {
        org: org_of(&key),
        restorable_until: now + RESTORE_WINDOW_SECS,
    }))
}
