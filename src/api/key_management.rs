//! The key-management API: a person's keys over `/v1/keys`, and an org's
//! bound keys for an owner-level key at `/v1/orgs/{slug}/keys`, each key in
//! the platform's shape `{metadata, spec, info}`.
//!
//! - list and get need `keys:read`; create, rotate and revoke need
//!   `keys:write`, which only a key made on the pages (in sudo mode) can
//!   hold;
//! - a key made or rotated here never reaches beyond the key that makes it:
//!   its permissions are a subset of the maker's without `keys:write` (so no
//!   key made here can make keys), its workspaces a subset of the maker's
//!   (the storage function copies them from the maker's own grants), its
//!   expiry no later than the maker's; a rotation is refused for a key that
//!   reaches further than the maker, since its new secret would;
//! - the token is in the create and rotate answers only; creation and
//!   rotation spend the same hourly allowance as the pages.

use axum::Json;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody, FieldError};
use crate::auth::api_key;
use crate::auth::limits::Bucket;
use crate::auth::throttle;
use crate::authz::api::scopes::{KeysRead, KeysWrite};
use crate::authz::api::{ApiOrgKey, UserKeyAuth};
use crate::db::audit::Event;
use crate::db::keys::{ApiKey, KeyOwner, NewKey};
use crate::domain::Scopes;
use crate::request::ClientInfo;
use crate::state::AppState;

const DAY: i64 = 86_400;
const MAX_LIFETIME_DAYS: i64 = 365;
const PREVIEW: usize = 3;

/// Who the key is and where it belongs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyMetadata {
    /// The public id (the `gtk_<id>` part of the token).
    pub id: String,
    /// The org it is bound to, if any.
    pub org_id: Option<Uuid>,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The latest of creation, rotation and revocation (unix seconds).
    pub updated_at: i64,
}

/// What the key is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeySpec {
    /// The secret: only in the answers of create and rotate, once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub description: String,
    /// Its scopes, e.g. `profile:read`, `agents:run`.
    pub permissions: Vec<String>,
    /// True for a service account's key.
    pub system: bool,
}

/// What is known about the key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyState {
    /// Who made it: an email, or `key:gtk_<id>` for a key made with a key;
    /// absent for keys made before this was recorded.
    pub created_by: Option<String>,
    /// The names of up to three of the workspaces it is granted.
    pub workspaces_preview: Vec<String>,
    pub workspaces_total: usize,
    /// `active`, `expiring` (within 7 days), `expired` or `revoked`.
    pub status: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A key in the platform's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagedKey {
    pub metadata: KeyMetadata,
    pub spec: KeySpec,
    pub info: KeyState,
}

/// A list of keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagedKeyList {
    pub keys: Vec<ManagedKey>,
}

fn shape(k: ApiKey, workspaces: &[String], token: Option<String>, now: i64) -> ManagedKey {
    let updated_at = [Some(k.created_at), k.rotated_at, k.revoked_at]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(k.created_at);
    ManagedKey {
        info: KeyState {
            created_by: k.created_by.clone(),
            workspaces_preview: workspaces.iter().take(PREVIEW).cloned().collect(),
            workspaces_total: workspaces.len(),
            status: k.status(now).as_str().to_owned(),
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        },
        spec: KeySpec {
            token,
            description: k.description.clone().unwrap_or_default(),
            permissions: k
                .scope_set()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            system: k.service_account_id.is_some(),
        },
        metadata: KeyMetadata {
            id: k.public_id,
            org_id: k.org_id,
            name: k.name,
            created_at: k.created_at,
            updated_at,
        },
    }
}

fn by_key(names: Vec<(Uuid, String)>) -> HashMap<Uuid, Vec<String>> {
    let mut map: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (key, name) in names {
        map.entry(key).or_default().push(name);
    }
    map
}

fn shape_all(keys: Vec<ApiKey>, names: Vec<(Uuid, String)>, now: i64) -> ManagedKeyList {
    let names = by_key(names);
    ManagedKeyList {
        keys: keys
            .into_iter()
            .map(|k| {
                let ws = names.get(&k.id).cloned().unwrap_or_default();
                shape(k, &ws, None, now)
            })
            .collect(),
    }
}

fn key_param(params: &RawPathParams) -> Result<&str, ApiError> {
    params
        .iter()
        .find(|(k, _)| *k == "id")
        .map(|(_, v)| v)
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or(ApiError::NotFound)
}

/// The caller's own keys (not those removed from their list), newest first.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    security(("api_key" = ["keys:read"])),
    responses(
        (status = 200, description = "The key owner's keys", body = ManagedKeyList),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:read`, or is a service account's (`service_account_key`)", body = ErrorBody),
    ))]
pub async fn list_keys(
    State(state): State<AppState>,
    key: UserKeyAuth<KeysRead>,
) -> Result<Json<ManagedKeyList>, ApiError> {
    let owner = key.owner_proof();
    let keys = state.db.list_personal_keys(&owner).await?;
    let names = state.db.workspace_names_of_keys_of(&owner).await?;
    Ok(Json(shape_all(keys, names, state.clock.unix())))
}

async fn own_key(
    state: &AppState,
    owner: &crate::authz::CurrentUser,
    params: &RawPathParams,
) -> Result<(ApiKey, Vec<String>), ApiError> {
    let k = state
        .db
        .find_personal_key(owner, key_param(params)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let names = state.db.key_workspace_names(k.id).await?;
    Ok((k, names))
}

/// One of the caller's own keys, by its public id.
#[utoipa::path(get, path = "/v1/keys/{id}", tag = "keys",
    security(("api_key" = ["keys:read"])),
    params(("id" = String, Path, description = "The key's public id")),
    responses(
        (status = 200, description = "The key", body = ManagedKey),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:read`, or is a service account's", body = ErrorBody),
        (status = 404, description = "No such key of the caller's", body = ErrorBody),
    ))]
pub async fn get_key(
    State(state): State<AppState>,
    key: UserKeyAuth<KeysRead>,
    params: RawPathParams,
) -> Result<Json<ManagedKey>, ApiError> {
    let (k, names) = own_key(&state, &key.owner_proof(), &params).await?;
    Ok(Json(shape(k, &names, None, state.clock.unix())))
}

/// Every key bound to the org — its members' and its service accounts' —
/// for an owner-level key, as metadata.
#[utoipa::path(get, path = "/v1/orgs/{slug}/keys", tag = "orgs",
    security(("api_key" = ["keys:read"])),
    params(("slug" = String, Path, description = "The organization's address")),
    responses(
        (status = 200, description = "The org's keys", body = ManagedKeyList),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:read`, is not bound to the org (`key_not_bound`), or its owner is not an owner (`owner_required`)", body = ErrorBody),
        (status = 404, description = "The key is bound to another organization", body = ErrorBody),
    ))]
pub async fn list_org_keys(
    State(state): State<AppState>,
    key: ApiOrgKey<KeysRead>,
) -> Result<Json<ManagedKeyList>, ApiError> {
    let scope = key.owner_scope()?;
    let keys = state.db.org_bound_keys(scope).await?;
    let names = state.db.workspace_names_of_keys_in(scope).await?;
    Ok(Json(shape_all(keys, names, state.clock.unix())))
}

/// A new key's fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewManagedKey {
    /// 1 to 100 characters, one line.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Scopes, each held by the key making it; never `keys:write`.
    pub permissions: Vec<String>,
    /// Days until it expires, 1 to 365, and never after the key making it.
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: i64,
    /// Workspace ids, each granted to the key making it.
    #[serde(default)]
    pub workspaces: Vec<Uuid>,
}

/// The maker's reach, which a key made or rotated here must stay within.
struct Reach {
    scopes: Scopes,
    expires_at: Option<i64>,
    workspaces: Vec<Uuid>,
}

impl Reach {
    async fn of(state: &AppState, key: &UserKeyAuth<KeysWrite>) -> Result<Self, ApiError> {
        Ok(Reach {
            scopes: key.scopes().clone(),
            expires_at: key.expires_at(),
            workspaces: state.db.key_workspace_ids(key.key_id()).await?,
        })
    }

    /// What in `scopes`, `expires_at` and `workspaces` goes beyond this
    /// reach, one message per field.
    fn beyond(
        &self,
        scopes: &Scopes,
        expires_at: Option<i64>,
        workspaces: &[Uuid],
    ) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for scope in scopes.iter().filter(|s| s.web_only()) {
            errors.push(FieldError::new(
                "permissions",
                format!(
                    "{scope} is never given over the API: a key that holds it is made on the \
                     pages, in sudo mode."
                ),
            ));
        }
        let missing: Vec<&str> = scopes
            .iter()
            .filter(|s| !s.web_only() && !self.scopes.contains(*s))
            .map(|s| s.as_str())
            .collect();
        if !missing.is_empty() {
            errors.push(FieldError::new(
                "permissions",
                format!(
                    "The key making this one does not hold {}; a key cannot give more than it \
                     holds.",
                    missing.join(", ")
                ),
            ));
        }
        if let Some(limit) = self.expires_at
            && expires_at.is_none_or(|at| at > limit)
        {
            errors.push(FieldError::new(
                "expiresInDays",
                "It would outlive the key making it: choose fewer days.",
            ));
        }
        if workspaces.iter().any(|w| !self.workspaces.contains(w)) {
            errors.push(FieldError::new(
                "workspaces",
                "Each workspace must be one the key making it is granted.",
            ));
        }
        errors
    }
}

fn check_new(
    body: &NewManagedKey,
    now: i64,
) -> Result<(String, Option<String>, Scopes, i64), ApiError> {
    let mut errors = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "A key name has 1 to 100 characters on one line.",
        ));
    }
    let description = body.description.trim();
    if description.chars().count() > 500 {
        errors.push(FieldError::new(
            "description",
            "A description has at most 500 characters.",
        ));
    }
    let scopes = match Scopes::from_names(&body.permissions) {
        Ok(s) => Some(s),
        Err(m) => {
            errors.push(FieldError::new("permissions", m));
            None
        }
    };
    if !(1..=MAX_LIFETIME_DAYS).contains(&body.expires_in_days) {
        errors.push(FieldError::new(
            "expiresInDays",
            "Use a whole number of days from 1 to 365.",
        ));
    }
    match (scopes, errors.is_empty()) {
        (Some(scopes), true) => Ok((
            name.to_owned(),
            (!description.is_empty()).then(|| description.to_owned()),
            scopes,
            now + body.expires_in_days * DAY,
        )),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn minted_by(key: &UserKeyAuth<KeysWrite>) -> String {
    format!("key:{}{}", api_key::PREFIX, key.public_id())
}

fn key_event(
    key: &UserKeyAuth<KeysWrite>,
    client: &ClientInfo,
    action: &'static str,
    id: Uuid,
    detail: serde_json::Value,
) -> Event {
    Event::by(key.actor())
        .did(action)
        .on("api_key", id)
        .detail(detail)
        .with("via_key", format!("{}{}", api_key::PREFIX, key.public_id()))
        .from(&client.origin())
}

/// Makes a key for the caller's person, bound to the caller's org, within
/// the caller's reach. The token is in this answer only.
#[utoipa::path(post, path = "/v1/keys", tag = "keys",
    security(("api_key" = ["keys:write"])),
    request_body = NewManagedKey,
    responses(
        (status = 201, description = "The key, with its token (shown once)", body = ManagedKey),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:write`, or is a service account's", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "A field is invalid or reaches beyond the key making it (`fields` says which)", body = ErrorBody),
        (status = 429, description = "The hourly allowance of new and rotated keys is spent", body = ErrorBody),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    key: UserKeyAuth<KeysWrite>,
    client: ClientInfo,
    ApiJson(body): ApiJson<NewManagedKey>,
) -> Result<(StatusCode, Json<ManagedKey>), ApiError> {
    let now = state.clock.unix();
    let (name, description, scopes, expires_at) = check_new(&body, now)?;
    let reach = Reach::of(&state, &key).await?;
    let beyond = reach.beyond(&scopes, Some(expires_at), &body.workspaces);
    if !beyond.is_empty() {
        return Err(ApiError::Validation(beyond));
    }
    throttle::consume(
        &state.db,
        &Bucket::key_issue(&state.config, key.user().id),
        now,
    )
    .await?;
    let issued = api_key::issue();
    let created_by = minted_by(&key);
    let minter = key.minter();
    let detail = json!({
        "name": name,
        "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
        "scopes": scopes.names(),
        "expires_at": expires_at,
        "workspaces": body.workspaces.len(),
    });
    state
        .db
        .create_key_by_key(
            &minter,
            NewKey {
                public_id: &issued.public_id,
                name: &name,
                description: description.as_deref(),
                scopes: &scopes,
                digest: &issued.digest,
                expires_at: Some(expires_at),
                created_by: &created_by,
            },
            &body.workspaces,
            |id| key_event(&key, &client, "api_key.created", id, detail),
            now,
        )
        .await?;
    let owner = key.owner_proof();
    let created = state
        .db
        .find_personal_key(&owner, &issued.public_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let names = state.db.key_workspace_names(created.id).await?;
    let token = issued.token.expose().to_owned();
    Ok((
        StatusCode::CREATED,
        Json(shape(created, &names, Some(token), now)),
    ))
}

/// How long the old secret keeps working after a rotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Grace {
    /// It stops at once (after a leak).
    None,
    /// One hour.
    Hour,
    /// One day.
    Day,
}

/// A rotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    pub grace: Grace,
}

/// Gives one of the caller's keys a new secret (in this answer only); the
/// old one works for the grace chosen. Refused for a key that reaches
/// further than the caller.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "keys",
    security(("api_key" = ["keys:write"])),
    params(("id" = String, Path, description = "The key's public id")),
    request_body = RotateBody,
    responses(
        (status = 200, description = "The key, with its new token (shown once)", body = ManagedKey),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:write`, or is a service account's", body = ErrorBody),
        (status = 404, description = "No such usable key of the caller's", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "A bad grace, or the key reaches beyond the caller (`fields`)", body = ErrorBody),
        (status = 429, description = "The hourly allowance of new and rotated keys is spent", body = ErrorBody),
    ))]
pub async fn rotate_key(
    State(state): State<AppState>,
    key: UserKeyAuth<KeysWrite>,
    client: ClientInfo,
    params: RawPathParams,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<Json<ManagedKey>, ApiError> {
    let now = state.clock.unix();
    let owner = key.owner_proof();
    let (target, names) = own_key(&state, &owner, &params).await?;
    if !target.status(now).is_usable() {
        return Err(ApiError::NotFound);
    }
    let reach = Reach::of(&state, &key).await?;
    let target_ws = state.db.key_workspace_ids(target.id).await?;
    let beyond = reach.beyond(&target.scope_set(), target.expires_at, &target_ws);
    if !beyond.is_empty() {
        return Err(ApiError::Validation(beyond));
    }
    throttle::consume(
        &state.db,
        &Bucket::key_issue(&state.config, key.user().id),
        now,
    )
    .await?;
    let grace = match body.grace {
        Grace::None => None,
        Grace::Hour => Some(3_600),
        Grace::Day => Some(DAY),
    };
    let issued = api_key::issue_for(&target.public_id);
    let event = key_event(
        &key,
        &client,
        "api_key.rotated",
        target.id,
        json!({ "prefix": target.prefix(), "grace_seconds": grace.unwrap_or(0) }),
    );
    let rotated = state
        .db
        .rotate_key_by_key(
            &key.minter(),
            target.id,
            &issued.digest,
            grace.map(|g| now + g),
            event,
            now,
        )
        .await?;
    if !rotated {
        return Err(ApiError::NotFound);
    }
    let target = state
        .db
        .find_personal_key(&owner, &target.public_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let token = issued.token.expose().to_owned();
    Ok(Json(shape(target, &names, Some(token), now)))
}

/// Revokes one of the caller's keys at once (the caller itself included).
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", tag = "keys",
    security(("api_key" = ["keys:write"])),
    params(("id" = String, Path, description = "The key's public id")),
    responses(
        (status = 200, description = "The key, revoked", body = ManagedKey),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:write`, or is a service account's", body = ErrorBody),
        (status = 404, description = "No such key of the caller's", body = ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    key: UserKeyAuth<KeysWrite>,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<ManagedKey>, ApiError> {
    let now = state.clock.unix();
    let owner = key.owner_proof();
    let (target, names) = own_key(&state, &owner, &params).await?;
    let event = key_event(
        &key,
        &client,
        "api_key.revoked",
        target.id,
        json!({ "prefix": target.prefix(), "name": target.name }),
    );
    // Revoked already: nothing to do, and nothing written.
    state
        .db
        .revoke_key(KeyOwner::User(&owner), target.id, None, event, now)
        .await?;
    let target = state
        .db
        .find_personal_key(&owner, &target.public_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(shape(target, &names, None, now)))
}
