//! The master key's operations on whole organizations (`/v1/admin/orgs/*`,
//! beside the org list in `accounts`): create one for a first owner, get
//! one, disable and enable it, delete and restore it.
//!
//! Invariants: every handler takes `MasterKey` (a request with a reason,
//! already recorded); every change is written with that reason to the
//! platform log and to the org's own log in the change's transaction
//! (`db::platform_orgs`); a disabled org's pages and keys answer
//! `org_disabled` and nothing in it is deleted; a deleted org is the
//! owners' soft deletion, restorable for 30 days. No answer carries a
//! secret: the owner invitation of a new org is emailed to its address (in
//! the outbox, in the org's transaction), never returned.

use axum::Json;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiJson;
use super::accounts::{Caller, OrgSummaryOut};
use super::error::{ApiError, ErrorBody, FieldError};
use super::runs::id_param;
use crate::auth::api_key::{digest, random_base62};
use crate::authz::MasterKey;
use crate::db::orgs::{FirstOwner, OrgError};
use crate::db::platform::OperatorAction;
use crate::db::platform_orgs::OrgStateChange;
use crate::domain::{Email, OrgName, Slug};
use crate::mail;
use crate::state::AppState;

/// A new organization and who owns it first.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// 1 to 100 characters (surrounding spaces are trimmed), one line.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The org's address (`/orgs/{slug}`); suggested from the name when
    /// absent.
    #[schema(
        min_length = 3,
        max_length = 40,
        pattern = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// The first owner: an existing account becomes the owner at once;
    /// an address with no account gets an owner invitation by email.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@\x00-\x1f\x7f-\x9f]{1,64}@(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\s*$"
    )]
    pub owner_email: String,
}

/// Who owns a new org first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FirstOwnerOut {
    /// `member` (an existing account, owner now) or `invited` (an owner
    /// invitation was sent to the address).
    #[schema(pattern = "^(member|invited)$")]
    pub status: &'static str,
    pub email: String,
    /// The account, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    /// The invitation, when there was no account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<Uuid>,
}

/// A new org.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrg {
    pub org: OrgSummaryOut,
    pub owner: FirstOwnerOut,
}

/// What a change of an org's state did.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgStatusChange {
    pub org: OrgSummaryOut,
    /// False when the org was already in that state (nothing written).
    pub changed: bool,
}

async fn load_org(state: &AppState, key: &MasterKey, id: Uuid) -> Result<OrgSummaryOut, ApiError> {
    Ok(state
        .db
        .platform_org(key.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?
        .into())
}

/// Creates an organization with its `default` workspace for a first owner.
#[utoipa::path(post, path = "/v1/admin/orgs", tag = "admin",
    security(("master_key" = [])),
    request_body = CreateOrgRequest,
    responses(
        (status = 201, description = "Created", body = CreatedOrg),
        (status = 400, description = "`reason_required`, or a body that is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 415, description = "Not JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a field is invalid or the slug is taken", body = ErrorBody),
    ))]
pub async fn create_org(
    State(state): State<AppState>,
    key: MasterKey,
    Caller(client): Caller,
    ApiJson(req): ApiJson<CreateOrgRequest>,
) -> Result<(StatusCode, Json<CreatedOrg>), ApiError> {
    let mut errors = Vec::new();
    let name = OrgName::parse(&req.name)
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    // A slug suggested from a name that is itself refused says nothing new.
    let slug = match (&req.slug, &name) {
        (Some(slug), _) => Slug::parse(slug.trim())
            .map_err(|m| errors.push(FieldError::new("slug", m)))
            .ok(),
        (None, Some(name)) => Slug::parse(&Slug::suggest(name.as_str()))
            .map_err(|m| errors.push(FieldError::new("slug", m)))
            .ok(),
        (None, None) => None,
    };
    let email = Email::parse(&req.owner_email)
        .map_err(|m| errors.push(FieldError::new("owner_email", m)))
        .ok();
    let (Some(name), Some(slug), Some(email)) = (name, slug, email) else {
        return Err(ApiError::Validation(errors));
    };
    let account = state
        .db
        .platform_user_by_email(key.scope(), email.as_str())
        .await?;
    let invitation_id = Uuid::now_v7();
    // The invitation's secret and its email, only when there is no account
    // to make the owner at once.
    let invite = match &account {
        Some(_) => None,
        None => {
            let token = random_base62(crate::db::invitations::TOKEN_LEN);
            let link = format!("{}/invitations/{token}", state.config.public_url());
            let message = mail::invitation(
                email.as_str(),
                None,
                "The platform's operators",
                name.as_str(),
                "owner",
                &link,
                crate::db::invitations::INVITATION_TTL_SECS / 86_400,
            )
            .map_err(|e| ApiError::Internal(e.into()))?;
            Some((digest(&token), message))
        }
    };
    let first = match (&account, &invite) {
        (Some(user), _) => FirstOwner::Member {
            user_id: user.id,
            display_name: &user.display_name,
            email: &user.email,
        },
        (None, Some((token_digest, message))) => FirstOwner::Invited {
            invitation_id,
            email: email.as_str(),
            token_digest,
            mail: message,
        },
        // `invite` is made exactly when there is no account.
        (None, None) => return Err(ApiError::Internal(anyhow::anyhow!("no invitation made"))),
    };
    let action = OperatorAction {
        action: "master_key.org.created",
        target_kind: "org",
        target_id: String::new(),
        reason: key.reason(),
        orgs: &[],
        detail: json!({
            "name": name.as_str(),
            "slug": slug.as_str(),
            "owner_email": email.as_str(),
            "owner": if account.is_some() { "member" } else { "invited" },
        }),
    };
    let created = state
        .db
        .create_org_on_platform(
            key.platform_actor(),
            &client.origin(),
            action,
            name.as_str(),
            slug.as_str(),
            first,
            state.clock.unix(),
        )
        .await;
    let id = match created {
        Ok(id) => id,
        Err(e @ (OrgError::SlugTaken | OrgError::SlugHeld)) => {
            return Err(ApiError::invalid(
                "slug",
                if matches!(e, OrgError::SlugHeld) {
                    crate::domain::org::SLUG_HELD
                } else {
                    crate::domain::org::SLUG_TAKEN
                },
            ));
        }
        Err(OrgError::Db(e)) => return Err(e.into()),
        Err(e) => return Err(ApiError::Internal(e.into())),
    };
    let owner = FirstOwnerOut {
        status: if account.is_some() {
            "member"
        } else {
            "invited"
        },
        email: email.as_str().to_owned(),
        account_id: account.as_ref().map(|u| u.id),
        invitation_id: account.is_none().then_some(invitation_id),
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedOrg {
            org: load_org(&state, &key, id).await?,
            owner,
        }),
    ))
}

/// One organization, whatever its state.
#[utoipa::path(get, path = "/v1/admin/orgs/{id}", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The org's id")),
    responses(
        (status = 200, description = "The org", body = OrgSummaryOut),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such org", body = ErrorBody),
    ))]
pub async fn get_org(
    State(state): State<AppState>,
    key: MasterKey,
    params: RawPathParams,
) -> Result<Json<OrgSummaryOut>, ApiError> {
    Ok(Json(
        load_org(&state, &key, id_param(&params, "id")?).await?,
    ))
}

/// One change of state, by its action name.
async fn change(
    state: AppState,
    key: MasterKey,
    Caller(client): Caller,
    params: RawPathParams,
    change: OrgStateChange,
) -> Result<Json<OrgStatusChange>, ApiError> {
    let org = load_org(&state, &key, id_param(&params, "id")?).await?;
    let action = match change {
        OrgStateChange::Disable => "master_key.org.disabled",
        OrgStateChange::Enable => "master_key.org.enabled",
        OrgStateChange::Delete => "master_key.org.deleted",
        OrgStateChange::Restore => "master_key.org.restored",
    };
    let orgs = [org.id];
    let changed = state
        .db
        .change_org_on_platform(
            key.platform_actor(),
            &client.origin(),
            OperatorAction {
                action,
                target_kind: "org",
                target_id: org.id.to_string(),
                reason: key.reason(),
                orgs: &orgs,
                detail: json!({ "slug": org.slug, "name": org.name }),
            },
            org.id,
            change,
            state.clock.unix(),
        )
        .await?;
    Ok(Json(OrgStatusChange {
        org: load_org(&state, &key, org.id).await?,
        changed,
    }))
}

/// Disables an organization: its members' pages and its keys answer
/// `org_disabled` until it is enabled again. Nothing is deleted.
#[utoipa::path(post, path = "/v1/admin/orgs/{id}/disable", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The org's id")),
    responses(
        (status = 200, description = "Disabled (or already disabled, or deleted: `changed` is false)", body = OrgStatusChange),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such org", body = ErrorBody),
    ))]
pub async fn disable_org(
    State(state): State<AppState>,
    key: MasterKey,
    caller: Caller,
    params: RawPathParams,
) -> Result<Json<OrgStatusChange>, ApiError> {
    change(state, key, caller, params, OrgStateChange::Disable).await
}

/// Enables a disabled organization again.
#[utoipa::path(post, path = "/v1/admin/orgs/{id}/enable", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The org's id")),
    responses(
        (status = 200, description = "Enabled (or was not disabled: `changed` is false)", body = OrgStatusChange),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such org", body = ErrorBody),
    ))]
pub async fn enable_org(
    State(state): State<AppState>,
    key: MasterKey,
    caller: Caller,
    params: RawPathParams,
) -> Result<Json<OrgStatusChange>, ApiError> {
    change(state, key, caller, params, OrgStateChange::Enable).await
}

/// Deletes an organization as its owners can: its pages and keys stop at
/// once; it can be restored for 30 days, then it is purged.
#[utoipa::path(delete, path = "/v1/admin/orgs/{id}", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The org's id")),
    responses(
        (status = 200, description = "Deleted (or already deleted: `changed` is false)", body = OrgStatusChange),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such org", body = ErrorBody),
    ))]
pub async fn delete_org(
    State(state): State<AppState>,
    key: MasterKey,
    caller: Caller,
    params: RawPathParams,
) -> Result<Json<OrgStatusChange>, ApiError> {
    change(state, key, caller, params, OrgStateChange::Delete).await
}

/// Restores a deleted organization within its 30 days.
#[utoipa::path(post, path = "/v1/admin/orgs/{id}/restore", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The org's id")),
    responses(
        (status = 200, description = "Restored (`changed` is false when it was not deleted or its window closed)", body = OrgStatusChange),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such org", body = ErrorBody),
    ))]
pub async fn restore_org(
    State(state): State<AppState>,
    key: MasterKey,
    caller: Caller,
    params: RawPathParams,
) -> Result<Json<OrgStatusChange>, ApiError> {
    change(state, key, caller, params, OrgStateChange::Restore).await
}
