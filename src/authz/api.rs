//! Bearer API keys for `/v1`. `ApiKeyAuth<S>` authenticates the key in the
//! `Authorization` header and proves it holds the scope named by `S`, so an
//! endpoint's required scope is part of its signature. Cookies are never read
//! here: the JSON API has no CSRF surface.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde_json::json;
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::app::AppState;
use crate::auth::api_key::{FormatError, Presented};
use crate::authz::CurrentUser;
use crate::db::audit::{Actor, NewEvent};
use crate::db::users::User;
use crate::domain::{Scope, Scopes};
use crate::web::ClientInfo;

/// `last_used` is written at most this often per key.
const LAST_USED_INTERVAL_SECS: i64 = 60;

/// The authenticated key and its owner.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    pub key_id: Uuid,
    pub public_id: String,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub user_id: Uuid,
    pub email: String,
    /// The owner's profile, loaded with the key.
    pub owner: User,
}

impl ApiPrincipal {
    /// The owner, as the proof self-service data functions take: a key acts
    /// for its owner and never for anyone else.
    pub fn owner_proof(&self) -> CurrentUser {
        CurrentUser {
            id: self.user_id,
            email: self.email.clone(),
            display_name: self.owner.display_name.clone(),
            is_operator: false,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user_id,
            email: self.email.clone(),
        }
    }
}

/// Names the scope an endpoint needs.
pub trait RequiredScope: Send + Sync {
    const SCOPE: Scope;
}

pub mod scopes {
    use super::RequiredScope;
    use crate::domain::Scope;

    macro_rules! scope_marker {
        ($($name:ident => $scope:expr),* $(,)?) => {$(
            #[derive(Debug)]
            pub struct $name;
            impl RequiredScope for $name {
                const SCOPE: Scope = $scope;
            }
        )*};
    }

    scope_marker! {
        ProfileRead => Scope::ProfileRead,
        ProfileWrite => Scope::ProfileWrite,
        KeysRead => Scope::KeysRead,
    }
}

/// A valid key holding scope `S`.
#[derive(Debug)]
pub struct ApiKeyAuth<S> {
    pub principal: ApiPrincipal,
    _scope: PhantomData<S>,
}

impl<S> std::ops::Deref for ApiKeyAuth<S> {
    type Target = ApiPrincipal;
    fn deref(&self) -> &ApiPrincipal {
        &self.principal
    }
}

async fn reject(
    state: &AppState,
    client: &ClientInfo,
    key_id: Uuid,
    reason: &'static str,
    now: i64,
) -> ApiError {
    // Use of an expired, revoked or rotated-out key is worth knowing about.
    let event = NewEvent {
        actor: &Actor::Anonymous,
        action: "api_key.rejected",
        target_kind: Some("api_key"),
        target_id: Some(key_id.to_string()),
        org_id: None,
        origin: &client.origin(),
        detail: json!({ "reason": reason }),
    };
    if let Err(e) = state.db.record_event(event, now).await {
        return ApiError::from(e);
    }
    let message = match reason {
        "token_expired" => "This key has expired.",
        "token_revoked" => "This key has been revoked.",
        _ => "This secret was replaced by a rotation and its grace period is over.",
    };
    ApiError::unauthorized(reason, message)
}

/// Authenticates the bearer key of a request.
pub async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<ApiPrincipal, ApiError> {
    let client = ClientInfo::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("client info")))?;
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::unauthorized(
            "missing_token",
            "Send an API key as `Authorization: Bearer <key>`.",
        ))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::unauthorized(
            "malformed_token",
            "The Authorization header must be `Bearer <key>`.",
        ))?;
    let presented = Presented::parse(token).map_err(|e| match e {
        FormatError::Malformed => {
            ApiError::unauthorized("malformed_token", "This is not a Gatehouse API key.")
        }
        FormatError::BadChecksum => ApiError::unauthorized(
            "invalid_checksum",
            "The key's checksum does not match: it was mistyped or truncated.",
        ),
    })?;
    let invalid = || ApiError::unauthorized("invalid_token", "This key is not valid.");
    let creds = state
        .db
        .key_credentials(presented.public_id)
        .await?
        .ok_or_else(invalid)?;
    let now = state.clock.unix();

    let current = presented.matches(&creds.secret_digest);
    let previous = creds
        .previous_digest
        .as_deref()
        .is_some_and(|d| presented.matches(d));
    if !current && !previous {
        return Err(invalid());
    }
    if creds.revoked_at.is_some() {
        return Err(reject(state, &client, creds.id, "token_revoked", now).await);
    }
    if creds.expires_at.is_some_and(|e| e <= now) {
        return Err(reject(state, &client, creds.id, "token_expired", now).await);
    }
    if !current && creds.previous_valid_until.is_none_or(|until| until <= now) {
        return Err(reject(state, &client, creds.id, "token_rotated", now).await);
    }
    if creds.owner_disabled_at.is_some() {
        return Err(ApiError::unauthorized(
            "account_disabled",
            "The owner of this key is disabled.",
        ));
    }
    if creds
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_INTERVAL_SECS)
    {
        state.db.mark_key_used(creds.id, &client.ip, now).await?;
    }
    let owner = creds.owner();
    Ok(ApiPrincipal {
        owner,
        key_id: creds.id,
        public_id: creds.public_id,
        name: creds.name,
        scopes: Scopes::from_stored(&creds.scopes),
        created_at: creds.created_at,
        expires_at: creds.expires_at,
        user_id: creds.owner_user_id,
        email: creds.owner_email,
    })
}

impl<S: RequiredScope> FromRequestParts<AppState> for ApiKeyAuth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(parts, state).await?;
        if !principal.scopes.contains(S::SCOPE) {
            return Err(ApiError::InsufficientScope(S::SCOPE));
        }
        Ok(ApiKeyAuth {
            principal,
            _scope: PhantomData,
        })
    }
}
