//! The JSON API under `/v1`, authenticated by bearer API keys (personal keys;
//! the master key on `/v1/admin`; none on `/v1/account/register`). Responses are
//! `application/json` with `Cache-Control: no-store`; errors carry a stable
//! code (see `error`). The OpenAPI document is generated from these handlers.

pub mod accounts;
pub mod admin;
pub mod admin_orgs;
pub mod bundles;
pub mod error;
pub mod json;
pub mod key_management;
pub mod key_workspaces;
pub mod keys;
pub mod me;
pub mod openapi;
pub mod org_audit;
pub mod org_lifecycle;
pub mod org_members;
pub mod orgs;
pub mod resources;
pub mod runs;
pub mod scim;
pub mod secret_scanning;
pub mod workspace_access;
pub mod workspaces;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::quota::QuotaSlot;
use crate::state::AppState;
use error::ApiError;
pub use json::ApiJson;

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Gives the request an empty `QuotaSlot` for the key extractors to fill,
/// and writes the quota headers on the answer, whatever its status: a
/// client can pace itself before it is refused (draft-ietf-httpapi-ratelimit-
/// headers-10; see the README).
async fn quota_headers(mut req: Request, next: Next) -> Response {
    let slot = QuotaSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(quota) = slot.0.get() {
        for (name, value) in [
            ("ratelimit-policy", quota.policy_header()),
            ("ratelimit", quota.limit_header()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, v);
            }
        }
    }
    res
}

/// The API's conventions around its routes (see `router::tables::v1`):
/// JSON errors for unknown paths and methods, and no caching of any answer.
pub fn conventions(routes: Router<AppState>) -> Router<AppState> {
    routes
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(quota_headers))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
