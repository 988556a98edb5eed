//! Account registration and the platform's account list.
//!
//! - `POST /v1/account/register`: public self-registration, only while the
//!   `account-registration` flag is on (403 `registration_disabled`
//!   otherwise), limited per IP address with the same counter as the sign-up
//!   page, so the two together cannot double the allowance.
//! - `POST /v1/admin/account/register`: the master key creates an account
//!   whatever the flag says.
//! - `GET /v1/admin/accounts`: every account, keyset-paginated.
//!
//! Bad input gets 422 with a field list; a taken email gets the same message
//! the sign-up page shows, and nothing more. A new account has no
//! organization and no roles.

use axum::Json;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody, FieldError};
use crate::auth::limits::Bucket;
use crate::auth::throttle;
use crate::authz::{MasterKey, PlatformScope};
use crate::db::audit::{Actor, Event};
use crate::db::flags::ACCOUNT_REGISTRATION;
use crate::db::platform::{OrgSummary, UserSummary};
use crate::db::users::{CreateUserError, NewUser, User};
use crate::domain::{DisplayName, Email, NewPassword, Password};
use crate::request::ClientInfo;
use crate::state::AppState;

/// A new account's details. The patterns and lengths state what the server
/// accepts; a password must also not be easy to guess (checked with zxcvbn,
/// which no schema can express: such a password gets 422).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// An email address like name@example.com (stored lower-cased).
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@\x00-\x1f\x7f-\x9f]{1,64}@(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\s*$"
    )]
    pub email: String,
    /// 1 to 100 characters (surrounding spaces are trimmed), one line.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: String,
    /// 12 to 128 characters, not easy to guess.
    #[schema(value_type = String, min_length = 12, max_length = 128, format = Password)]
    pub password: Password,
}

/// An account (a user's global identity).
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; absent while the account is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<i64>,
    pub is_operator: bool,
}

impl From<User> for Account {
    fn from(u: User) -> Self {
        Account {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            created_at: u.created_at,
            disabled_at: u.disabled_at,
            is_operator: u.is_operator,
        }
    }
}

impl From<UserSummary> for Account {
    fn from(u: UserSummary) -> Self {
        Account {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            created_at: u.created_at,
            disabled_at: u.disabled_at,
            is_operator: u.is_operator,
        }
    }
}

/// Checks a registration, creates the account and writes `event(new user)`
/// in the same transaction. `platform` is the master key's proof when
/// operators' automation registers someone: whoever called chose the
/// password, so the person must change it at first sign-in.
async fn register(
    state: &AppState,
    req: RegisterRequest,
    platform: Option<&PlatformScope>,
    event: impl FnOnce(&User) -> Event,
    now: i64,
) -> Result<User, ApiError> {
    let mut errors = Vec::new();
    let email = Email::parse(&req.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let name = DisplayName::parse(&req.display_name)
        .map_err(|m| errors.push(FieldError::new("display_name", m)))
        .ok();
    let hints: Vec<&str> = [
        email.as_ref().map(Email::local_part),
        name.as_ref().map(DisplayName::as_str),
    ]
    .into_iter()
    .flatten()
    .collect();
    let password = NewPassword::parse(&req.password, &hints)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(ApiError::Validation(errors));
    };
    let hash = state
        .passwords
        .hash(&password)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let new = NewUser {
        email: email.as_str(),
        password_hash: &hash,
        display_name: name.as_str(),
    };
    let events = |user: &User| vec![event(user)];
    let created = match platform {
        None => state.db.create_user(new, events, now).await,
        Some(scope) => {
            state
                .db
                .create_user_by_operator(scope, new, events, now)
                .await
        }
    };
    match created {
        Ok(u) => Ok(u),
        // The sign-up page says as much; nothing more is revealed.
        Err(CreateUserError::EmailTaken) => Err(ApiError::Validation(vec![FieldError::new(
            "email",
            "An account with this email address already exists. Sign in instead.",
        )])),
        Err(CreateUserError::Db(e)) => Err(e.into()),
    }
}

/// The caller's address, for the rate limit and the audit log.
pub struct Caller(pub ClientInfo);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        ClientInfo::from_request_parts(parts, state)
            .await
            .map(Caller)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("client info")))
    }
}

/// Self-registration, while the `account-registration` flag is on.
#[utoipa::path(post, path = "/v1/account/register", tag = "accounts",
    security(()),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created; sign in with its email and password", body = Account),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 403, description = "`registration_disabled`: self-registration is closed", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields (malformed email, weak password, taken email); nothing was created", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address; see Retry-After", body = ErrorBody),
    ))]
pub async fn register_self(
    State(state): State<AppState>,
    Caller(client): Caller,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    if !state.db.flag_enabled(ACCOUNT_REGISTRATION).await? {
        return Err(ApiError::Forbidden {
            code: "registration_disabled",
            message: "Self-registration is closed on this platform.",
        });
    }
    let now = state.clock.unix();
    throttle::consume(
        &state.db,
        &Bucket::signup_ip(&state.config, &client.ip),
        now,
    )
    .await?;
    let signed_up = |user: &User| {
        Event::by(Actor::User {
            id: user.id,
            email: user.email.clone(),
        })
        .did("user.signed_up")
        .on("user", user.id)
        .detail(json!({ "via": "api" }))
        .from(&client.origin())
    };
    let user = register(&state, req, None, signed_up, now).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Creates an account with the master key, whatever the registration flag
/// says. The account has no organization and no roles.
#[utoipa::path(post, path = "/v1/admin/account/register", tag = "admin",
    security(("master_key" = [])),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created; its password must be changed at first sign-in (the caller chose it)", body = Account),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`: a personal key was presented", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields (malformed email, weak password, taken email); nothing was created", body = ErrorBody),
    ))]
pub async fn register_by_master_key(
    State(state): State<AppState>,
    key: MasterKey,
    Caller(client): Caller,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let now = state.clock.unix();
    let registered = |user: &User| {
        Event::by(key.actor())
            .did("master_key.account.registered")
            .on("user", user.id)
            .detail(json!({
                "email": user.email,
                "display_name": user.display_name,
                "key": key.prefix(),
            }))
            .from(&client.origin())
    };
    let user = register(&state, req, Some(key.scope()), registered, now).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Query of the account list (documentation; parsed by hand so that each bad
/// value gets a field error).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountsQuery {
    /// Accounts per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize)]
struct RawAccountsQuery {
    limit: Option<String>,
    after: Option<String>,
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    pub accounts: Vec<Account>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Uuid>,
}

/// Reads `?limit=&after=` of an admin list (1–100, default 50; `after` is
/// the `next_after` of the previous page).
fn page_query(raw: Option<&str>) -> Result<(i64, Option<Uuid>), ApiError> {
    let q: RawAccountsQuery = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("Malformed query string.".into()))?;
    let mut errors = Vec::new();
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("limit", "A whole number from 1 to 100."));
                50
            }
        },
    };
    let after = match q.after.as_deref() {
        None => None,
        Some(a) => match Uuid::parse_str(a) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(
                    "after",
                    "The next_after of the previous page (a UUID).",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok((limit, after))
}

/// Every account on the platform, oldest first, keyset-paginated.
#[utoipa::path(get, path = "/v1/admin/accounts", tag = "admin",
    security(("master_key" = [])),
    params(AccountsQuery),
    responses(
        (status = 200, description = "A page of accounts", body = AccountPage),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`: a personal key was presented", body = ErrorBody),
        (status = 422, description = "Invalid `limit` or `after`", body = ErrorBody),
    ))]
pub async fn list_accounts(
    State(state): State<AppState>,
    key: MasterKey,
    RawQuery(raw): RawQuery,
) -> Result<Json<AccountPage>, ApiError> {
    let (limit, after) = page_query(raw.as_deref())?;
    let mut users = state
        .db
        .list_accounts(key.scope(), after, limit + 1)
        .await?;
    let more = users.len() as i64 > limit;
    users.truncate(limit as usize);
    let next_after = if more {
        users.last().map(|u| u.id)
    } else {
        None
    };
    Ok(Json(AccountPage {
        accounts: users.into_iter().map(Account::from).collect(),
        next_after,
    }))
}

/// An organization, for platform administration.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgSummaryOut {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub member_count: i64,
    pub require_mfa: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// `active`, `disabled` (by the platform: its pages and keys answer
    /// `org_disabled`) or `deleted` (restorable for 30 days, then purged).
    #[schema(pattern = "^(active|disabled|deleted)$")]
    pub status: &'static str,
    /// Unix seconds, when disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<i64>,
    /// Unix seconds, when deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
}

impl From<OrgSummary> for OrgSummaryOut {
    fn from(o: OrgSummary) -> Self {
        OrgSummaryOut {
            status: if o.deleted_at.is_some() {
                "deleted"
            } else if o.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            },
            id: o.id,
            slug: o.slug,
            name: o.name,
            member_count: o.member_count,
            require_mfa: o.require_mfa,
            created_at: o.created_at,
            disabled_at: o.disabled_at,
            deleted_at: o.deleted_at,
        }
    }
}

/// A page of organizations.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgPage {
    pub orgs: Vec<OrgSummaryOut>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Uuid>,
}

/// Every organization with its member count, keyset-paginated.
#[utoipa::path(get, path = "/v1/admin/orgs", tag = "admin",
    security(("master_key" = [])),
    params(AccountsQuery),
    responses(
        (status = 200, description = "A page of organizations", body = OrgPage),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "`master_key_required`: a personal key was presented", body = ErrorBody),
        (status = 422, description = "Invalid `limit` or `after`", body = ErrorBody),
    ))]
pub async fn list_orgs(
    State(state): State<AppState>,
    key: MasterKey,
    RawQuery(raw): RawQuery,
) -> Result<Json<OrgPage>, ApiError> {
    let (limit, after) = page_query(raw.as_deref())?;
    let mut orgs = state.db.list_orgs(key.scope(), after, limit + 1).await?;
    let more = orgs.len() as i64 > limit;
    orgs.truncate(limit as usize);
    let next_after = if more {
        orgs.last().map(|o| o.id)
    } else {
        None
    };
    Ok(Json(OrgPage {
        orgs: orgs.into_iter().map(OrgSummaryOut::from).collect(),
        next_after,
    }))
}
