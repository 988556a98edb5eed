//! The JSON API under `/v1`, authenticated by bearer API keys (personal keys;
//! the master key on `/v1/admin`; none on `/v1/account/register`). Responses are
//! `application/json` with `Cache-Control: no-store`; errors carry a stable
//! code (see `error`). The OpenAPI document is generated from these handlers.

pub mod accounts;
pub mod error;
pub mod json;
pub mod keys;
pub mod me;
pub mod openapi;
pub mod org_audit;
pub mod org_members;
pub mod orgs;
pub mod secret_scanning;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;
use error::ApiError;
pub use json::ApiJson;

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The API's conventions around its routes (see `router::tables::v1`):
/// JSON errors for unknown paths and methods, and no caching of any answer.
pub fn conventions(routes: Router<AppState>) -> Router<AppState> {
    routes
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
