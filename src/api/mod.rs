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
pub mod orgs;
pub mod secret_scanning;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;
use error::ApiError;
pub use json::ApiJson;

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The API's routes, nested under `/v1` by `build_router`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me::get_me).patch(me::update_me))
        .route("/keys/current", get(keys::current_key))
        .route("/orgs/{slug}/members", get(orgs::list_members))
        .route("/orgs/{slug}/teams", get(orgs::list_teams))
        .route(
            "/orgs/{slug}/teams/{team_id}/members/{user_id}",
            put(orgs::put_team_member).delete(orgs::delete_team_member),
        )
        .route("/account/register", post(accounts::register_self))
        // Public: a secret scanner reports keys it found; see the module.
        .route(
            "/secret-scanning/reports",
            post(secret_scanning::report_tokens),
        )
        // Platform administration: the `MasterKey` extractor of each handler
        // refuses every other credential.
        .route(
            "/admin/account/register",
            post(accounts::register_by_master_key),
        )
        .route("/admin/accounts", get(accounts::list_accounts))
        .route("/admin/orgs", get(accounts::list_orgs))
        .route("/openapi.json", get(openapi::document))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
