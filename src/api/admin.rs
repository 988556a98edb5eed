//! The master key's operations across organizations (`/v1/admin/*`, beside
//! registration and the account and org lists in `accounts`):
//!
//! - accounts: get one (with its orgs and keys), disable, enable, delete
//!   (the erasure an operator's deletion does; refused with 409
//!   `sole_owner` while the account is an org's only owner);
//! - keys: list any org's or account's keys (metadata only), revoke any key;
//! - the audit log and the run history across organizations, with filters
//!   and keyset pages, newest first.
//!
//! Invariants: every handler takes `MasterKey`, which exists only for a
//! request with a reason (`X-Gatehouse-Reason`) and has recorded it; every
//! change is written with that reason, in the change's transaction, to the
//! platform log and to the log of each org it touches (`OperatorAction`);
//! no answer carries a secret; an unknown id is 404 and changes nothing.

use axum::Json;
use axum::extract::{RawPathParams, RawQuery, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::accounts::Account;
use super::error::{ApiError, ErrorBody};
use super::runs::{Run, id_param, instant, run_params};
use crate::auth::throttle;
use crate::authz::MasterKey;
use crate::db::audit::AuditCursor;
use crate::db::keys::ApiKey;
use crate::db::platform::{AuditFilter, KeyFilter, OperatorAction, PlatformRunFilter};
use crate::db::runs::RunCursor;
use crate::db::users::User;
use crate::request::ClientInfo;
use crate::state::AppState;

/// The orgs whose logs must show an action on this account.
async fn account_org_ids(
    state: &AppState,
    key: &MasterKey,
    id: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(account_orgs(state, key, id)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect())
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 100;

/// An optional UUID query parameter.
fn uuid_field(field: &str, value: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) => Uuid::parse_str(v)
            .map(Some)
            .map_err(|_| ApiError::invalid(field, "Use an id (a UUID).")),
    }
}

fn limit_field(value: Option<&str>) -> Result<i64, ApiError> {
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                "limit",
                "Use a whole number from 1 to 100.",
            )),
        },
    }
}

fn malformed() -> ApiError {
    ApiError::invalid("query", "The query string is malformed.")
}

// ---------------------------------------------------------------- accounts

/// An org the account belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOrg {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// `owner` or `member`.
    pub role: String,
}

/// One account, with its orgs, keys and live sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    pub account: Account,
    pub orgs: Vec<AccountOrg>,
    pub keys: Vec<AdminKey>,
    pub live_sessions: i64,
}

/// What disabling or enabling did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountStatusChange {
    pub account: Account,
    /// False when the account was already in that state (nothing written).
    pub changed: bool,
    /// Sessions ended by disabling.
    pub sessions_ended: u64,
}

/// What a deletion erased.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDeleted {
    pub id: Uuid,
    /// The pseudonym the audit trail names the account by from now on.
    pub audit_label: String,
    pub sessions_revoked: u64,
    pub keys_deleted: u64,
}

async fn load_account(state: &AppState, key: &MasterKey, id: Uuid) -> Result<User, ApiError> {
    state
        .db
        .platform_user(key.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn account_orgs(
    state: &AppState,
    key: &MasterKey,
    id: Uuid,
) -> Result<Vec<AccountOrg>, ApiError> {
    Ok(state
        .db
        .platform_user_memberships(key.scope(), id)
        .await?
        .into_iter()
        .map(|(id, slug, name, role)| AccountOrg {
            id,
            slug,
            name,
            role,
        })
        .collect())
}

/// One account with its orgs, keys (metadata) and live session count.
#[utoipa::path(get, path = "/v1/admin/accounts/{id}", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = AccountDetail),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    ))]
pub async fn get_account(
    State(state): State<AppState>,
    key: MasterKey,
    params: RawPathParams,
) -> Result<Json<AccountDetail>, ApiError> {
    let user = load_account(&state, &key, id_param(&params, "id")?).await?;
    let now = state.clock.unix();
    let keys = state.db.platform_user_keys(key.scope(), user.id).await?;
    Ok(Json(AccountDetail {
        orgs: account_orgs(&state, &key, user.id).await?,
        keys: keys.into_iter().map(|k| AdminKey::of(k, now)).collect(),
        live_sessions: state
            .db
            .count_live_sessions(key.scope(), user.id, now)
            .await?,
        account: user.into(),
    }))
}

async fn set_disabled(
    state: AppState,
    key: MasterKey,
    client: ClientInfo,
    params: RawPathParams,
    disable: bool,
) -> Result<Json<AccountStatusChange>, ApiError> {
    let user = load_account(&state, &key, id_param(&params, "id")?).await?;
    let orgs = account_org_ids(&state, &key, user.id).await?;
    let now = state.clock.unix();
    let outcome = state
        .db
        .set_user_disabled(
            key.platform_actor(),
            &client.origin(),
            user.id,
            disable,
            OperatorAction {
                action: if disable {
                    "master_key.account.disabled"
                } else {
                    "master_key.account.enabled"
                },
                target_kind: "user",
                target_id: user.id.to_string(),
                reason: key.reason(),
                orgs: &orgs,
                detail: json!({ "email": user.email }),
            },
            now,
        )
        .await?;
    let user = load_account(&state, &key, user.id).await?;
    Ok(Json(AccountStatusChange {
        account: user.into(),
        changed: outcome.is_some(),
        sessions_ended: outcome.unwrap_or(0),
    }))
}

/// Disables an account: its sessions end at once and its keys are refused
/// (`account_disabled`) until it is enabled again. Nothing is deleted.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/disable", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Disabled (or already disabled: `changed` is false)", body = AccountStatusChange),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    ))]
pub async fn disable_account(
    State(state): State<AppState>,
    key: MasterKey,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<AccountStatusChange>, ApiError> {
    set_disabled(state, key, client, params, true).await
}

/// Enables a disabled account again: it can sign in, and its unexpired keys
/// work again.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/enable", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Enabled (or was not disabled: `changed` is false)", body = AccountStatusChange),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    ))]
pub async fn enable_account(
    State(state): State<AppState>,
    key: MasterKey,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<AccountStatusChange>, ApiError> {
    set_disabled(state, key, client, params, false).await
}

/// Deletes an account with the same erasure as self-service deletion: its
/// sessions, keys, MFA and memberships go, and the audit trail names it by
/// a pseudonym. Refused while it is the only owner of an org.
#[utoipa::path(delete, path = "/v1/admin/accounts/{id}", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Deleted", body = AccountDeleted),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "`sole_owner`: the account is the only owner of an org", body = ErrorBody),
    ))]
pub async fn delete_account(
    State(state): State<AppState>,
    key: MasterKey,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<AccountDeleted>, ApiError> {
    let user = load_account(&state, &key, id_param(&params, "id")?).await?;
    if !state
        .db
        .organizations_blocking_deletion_of(key.scope(), user.id)
        .await?
        .is_empty()
    {
        return Err(sole_owner());
    }
    let orgs = account_org_ids(&state, &key, user.id).await?;
    let origin = client.origin();
    let records = OperatorAction {
        action: "master_key.account.deleted",
        target_kind: "user",
        target_id: user.id.to_string(),
        reason: key.reason(),
        orgs: &orgs,
        detail: json!({ "email": user.email }),
    }
    .events(key.platform_actor(), &origin);
    let done = state
        .db
        .delete_account_by_operator(
            key.scope(),
            &user,
            &throttle::account_buckets(&state.config, &user.email, user.id),
            &records,
            &origin,
            state.clock.unix(),
        )
        .await?
        // An org lost its other owner meanwhile (checked again in the
        // transaction).
        .ok_or_else(sole_owner)?;
    Ok(Json(AccountDeleted {
        id: user.id,
        audit_label: done.label(),
        sessions_revoked: done.sessions_revoked,
        keys_deleted: done.keys_deleted,
    }))
}

/// 409 `sole_owner`: checked before the erasure, and again inside its
/// transaction (an org may lose its other owner meanwhile).
fn sole_owner() -> ApiError {
    ApiError::Conflict {
        code: "sole_owner",
        message: "The account is the only owner of an organization: that organization must \
                  get another owner (or be deleted) first; nothing changed.",
    }
}

// -------------------------------------------------------------------- keys

/// A key's metadata, as the master key sees it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminKey {
    pub id: Uuid,
    /// The non-secret start of the token (`gtk_<public id>`).
    pub prefix: String,
    pub name: String,
    pub description: Option<String>,
    /// The owning account; absent for a service account's key.
    pub owner_user_id: Option<Uuid>,
    pub service_account_id: Option<Uuid>,
    /// The org the key is bound to, if any.
    pub org_id: Option<Uuid>,
    pub scopes: Vec<String>,
    /// `active`, `expiring`, `expired` or `revoked`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl AdminKey {
    fn of(k: ApiKey, now: i64) -> Self {
        AdminKey {
            status: k.status(now).as_str().to_owned(),
            prefix: format!("{}{}", crate::auth::api_key::PREFIX, k.public_id),
            scopes: k
                .scope_set()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            id: k.id,
            name: k.name,
            description: k.description,
            owner_user_id: k.owner_user_id,
            service_account_id: k.service_account_id,
            org_id: k.org_id,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A page of keys, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminKeyPage {
    pub keys: Vec<AdminKey>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Uuid>,
}

/// Filters and paging of the key list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyParams {
    /// Only keys bound to this org (its members' bound keys and its service
    /// accounts' keys).
    pub org: Option<Uuid>,
    /// Only keys owned by this account.
    pub account: Option<Uuid>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize)]
struct RawKeyParams {
    org: Option<String>,
    account: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// Keys across organizations and accounts, as metadata.
#[utoipa::path(get, path = "/v1/admin/keys", tag = "admin",
    security(("master_key" = [])),
    params(KeyParams),
    responses(
        (status = 200, description = "A page of keys", body = AdminKeyPage),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 422, description = "Invalid `org`, `account`, `limit` or `after`", body = ErrorBody),
    ))]
pub async fn list_keys(
    State(state): State<AppState>,
    key: MasterKey,
    RawQuery(raw): RawQuery,
) -> Result<Json<AdminKeyPage>, ApiError> {
    let p: RawKeyParams =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|_| malformed())?;
    let limit = limit_field(p.limit.as_deref())?;
    let filter = KeyFilter {
        org_id: uuid_field("org", p.org.as_deref())?,
        owner_user_id: uuid_field("account", p.account.as_deref())?,
        after: uuid_field("after", p.after.as_deref())?,
    };
    let mut keys = state
        .db
        .platform_keys(key.scope(), filter, limit + 1)
        .await?;
    let more = keys.len() as i64 > limit;
    keys.truncate(limit as usize);
    let next_after = if more {
        keys.last().map(|k| k.id)
    } else {
        None
    };
    let now = state.clock.unix();
    Ok(Json(AdminKeyPage {
        keys: keys.into_iter().map(|k| AdminKey::of(k, now)).collect(),
        next_after,
    }))
}

/// What a revocation did.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRevoked {
    pub key: AdminKey,
    /// False when the key was revoked already (nothing written).
    pub changed: bool,
}

/// Revokes any key at once: a person's or a service account's.
#[utoipa::path(post, path = "/v1/admin/keys/{id}/revoke", tag = "admin",
    security(("master_key" = [])),
    params(("id" = Uuid, Path, description = "The key's id (`id` of the key list)")),
    responses(
        (status = 200, description = "Revoked (or revoked already: `changed` is false)", body = KeyRevoked),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    key: MasterKey,
    client: ClientInfo,
    params: RawPathParams,
) -> Result<Json<KeyRevoked>, ApiError> {
    let id = id_param(&params, "id")?;
    let target = state
        .db
        .platform_key(key.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The key's org sees it in its log, and so does each org of its owner.
    let mut orgs: Vec<Uuid> = target.org_id.into_iter().collect();
    if let Some(owner) = target.owner_user_id {
        for org in account_org_ids(&state, &key, owner).await? {
            if !orgs.contains(&org) {
                orgs.push(org);
            }
        }
    }
    let records = OperatorAction {
        action: "master_key.key.revoked",
        target_kind: "api_key",
        target_id: id.to_string(),
        reason: key.reason(),
        orgs: &orgs,
        detail: json!({
            "name": target.name,
            "prefix": format!("{}{}", crate::auth::api_key::PREFIX, target.public_id),
            "owner_user_id": target.owner_user_id,
            "service_account_id": target.service_account_id,
        }),
    }
    .events(key.platform_actor(), &client.origin());
    let now = state.clock.unix();
    let changed = state
        .db
        .revoke_key_on_platform(key.scope(), id, &records, now)
        .await?;
    let target = state
        .db
        .platform_key(key.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(KeyRevoked {
        key: AdminKey::of(target, now),
        changed,
    }))
}

// ------------------------------------------------------------------- audit

/// One event of the platform's audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformEventOut {
    pub id: Uuid,
    /// Unix seconds.
    pub occurred_at: i64,
    /// The org whose log it is in; absent for a platform-only event.
    pub org_id: Option<Uuid>,
    /// Who did it: an email, `system`, `anonymous`, `master-key:<prefix>`, …
    pub actor: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformEventPage {
    pub events: Vec<PlatformEventOut>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// Filters and paging of the platform audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlatformAuditParams {
    /// The actor, exactly (case-insensitive): an email, `system`,
    /// `anonymous` or `master-key:<prefix>`.
    pub actor: Option<String>,
    /// An action (`ops.user.disabled`) or a family of them (`ops.user`).
    pub action: Option<String>,
    /// Only this org's events.
    pub org: Option<Uuid>,
    /// From this instant, included: unix seconds, RFC 3339, or a day.
    pub from: Option<String>,
    /// Until this instant, excluded: unix seconds, RFC 3339, or a day.
    pub to: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawPlatformAuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    org: Option<String>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    limit: Option<String>,
    before: Option<String>,
}

fn text_filter(s: String) -> Result<Option<String>, ApiError> {
    let s = s.trim().to_lowercase();
    if s.contains('\0') {
        return Err(malformed());
    }
    Ok((!s.is_empty()).then_some(s))
}

/// The audit log across organizations, newest first.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin",
    security(("master_key" = [])),
    params(PlatformAuditParams),
    responses(
        (status = 200, description = "A page of events", body = PlatformEventPage),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 422, description = "Invalid `org`, `from`, `to`, `limit` or `before`", body = ErrorBody),
    ))]
pub async fn list_audit(
    State(state): State<AppState>,
    key: MasterKey,
    RawQuery(raw): RawQuery,
) -> Result<Json<PlatformEventPage>, ApiError> {
    let p: RawPlatformAuditParams =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|_| malformed())?;
    let limit = limit_field(p.limit.as_deref())?;
    let before = match p.before.as_deref() {
        None => None,
        Some(b) => Some(
            AuditCursor::decode(b)
                .ok_or_else(|| ApiError::invalid("before", "Pass the `next` value of a page."))?,
        ),
    };
    let filter = AuditFilter {
        actor: text_filter(p.actor)?,
        action: text_filter(p.action)?,
        org_id: uuid_field("org", p.org.as_deref())?,
        from: instant("from", &p.from)?,
        until: instant("to", &p.to)?,
        before: before.map(|c| (c.occurred_at, c.id)),
    };
    let mut events = state
        .db
        .platform_events(key.scope(), &filter, limit + 1)
        .await?;
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| {
            AuditCursor {
                occurred_at: e.occurred_at,
                id: e.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Json(PlatformEventPage {
        events: events
            .into_iter()
            .map(|e| PlatformEventOut {
                id: e.id,
                occurred_at: e.occurred_at,
                org_id: e.org_id,
                actor: e.actor_label,
                action: e.action,
                target_kind: e.target_kind,
                target_id: e.target_id,
                ip: e.ip,
                user_agent: e.user_agent,
                detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            })
            .collect(),
        next,
    }))
}

// -------------------------------------------------------------------- runs

/// A run, with the org and workspace it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformRunOut {
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    #[serde(flatten)]
    pub run: Run,
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformRunPage {
    pub runs: Vec<PlatformRunOut>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// Filters and paging of the run history across organizations (those of a
/// workspace's run history, and where).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlatformRunParams {
    /// Only this org's runs.
    pub org: Option<Uuid>,
    /// Only this workspace's runs.
    pub workspace: Option<Uuid>,
    /// Only runs in this status.
    pub status: Option<super::runs::RunStatusName>,
    /// Created at or after: unix seconds, RFC 3339, or a day `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Created before: unix seconds, RFC 3339, or a day `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawWhere {
    org: Option<String>,
    workspace: Option<String>,
}

/// The run history across organizations, newest first.
#[utoipa::path(get, path = "/v1/admin/runs", tag = "admin",
    security(("master_key" = [])),
    params(PlatformRunParams),
    responses(
        (status = 200, description = "A page of runs", body = PlatformRunPage),
        (status = 400, description = "`reason_required`", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`", body = ErrorBody),
        (status = 422, description = "Invalid `org`, `workspace`, `status`, `from`, `to`, `limit` or `before`", body = ErrorBody),
    ))]
pub async fn list_runs(
    State(state): State<AppState>,
    key: MasterKey,
    RawQuery(raw): RawQuery,
) -> Result<Json<PlatformRunPage>, ApiError> {
    let (runs, before, limit) = run_params(raw.as_deref())?;
    let place: RawWhere =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|_| malformed())?;
    let filter = PlatformRunFilter {
        org_id: uuid_field("org", place.org.as_deref())?,
        workspace_id: uuid_field("workspace", place.workspace.as_deref())?,
        runs,
    };
    let mut rows = state
        .db
        .platform_runs(key.scope(), filter, before, limit + 1)
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| RunCursor::of(&r.run).encode())
    } else {
        None
    };
    Ok(Json(PlatformRunPage {
        runs: rows
            .into_iter()
            .map(|r| PlatformRunOut {
                org_id: r.org_id,
                workspace_id: r.workspace_id,
                run: r.run.into(),
            })
            .collect(),
        next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_limits_are_checked_field_by_field() {
        assert!(uuid_field("org", None).unwrap().is_none());
        assert!(uuid_field("org", Some("")).is_err());
        assert!(uuid_field("org", Some("acme")).is_err());
        assert_eq!(limit_field(None).unwrap(), 50);
        assert!(limit_field(Some("0")).is_err());
        assert!(limit_field(Some("101")).is_err());
        assert_eq!(limit_field(Some("100")).unwrap(), 100);
    }
}
