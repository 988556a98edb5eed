//! `/v1/keys/current`: introspection of the presented key.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::authz::ApiKeyAuth;
use crate::authz::api::scopes::KeysRead;

/// A key's metadata (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    /// The public id.
    pub id: String,
    /// The non-secret start of the token (`gtk_<id>`).
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; absent for a key without expiry.
    pub expires_at: Option<i64>,
}

/// The presented key's own metadata.
#[utoipa::path(get, path = "/v1/keys/current", tag = "keys",
    security(("api_key" = ["keys:read"])),
    responses(
        (status = 200, description = "The key", body = KeyInfo),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `keys:read`", body = ErrorBody),
    ))]
pub async fn current_key(key: ApiKeyAuth<KeysRead>) -> Result<Json<KeyInfo>, ApiError> {
    Ok(Json(KeyInfo {
        id: key.public_id().to_owned(),
        prefix: format!("{}{}", crate::auth::api_key::PREFIX, key.public_id()),
        name: key.name().to_owned(),
        scopes: key
            .scopes()
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        created_at: key.created_at(),
        expires_at: key.expires_at(),
    }))
}
