//! The one router used by `main` and by every test: the route tables of
//! `tables` wrapped in the cross-cutting layers below. The invariant: every
//! route comes from a table (no `.route` here), so the tables are the
//! complete list the authorization matrix walks.
//!
//! # Layer order (outermost first)
//!
//! | # | layer                | applies to      | why here                                                      |
//! |---|----------------------|-----------------|---------------------------------------------------------------|
//! | 1 | set request id       | everything      | first, so every later layer and log line can name the request |
//! | 2 | trace                | everything      | inside 1, so the span carries the id; sees the final status   |
//! | 3 | propagate request id | everything      | copies the id onto the response, including 4–5's answers      |
//! | 4 | panic catcher        | everything      | turns a panicking handler into a logged, generic 500          |
//! | 5 | timeout (30 s, 408)  | everything      | bounds each request; inside 4 so a panic is still caught      |
//! | 6 | security headers     | everything      | CSP, nosniff, frame and referrer policy, no-store, HSTS       |
//! | 7 | body limit (413)     | everything      | before any handler reads a body; inside 6 so its 413 has them |
//! | 8 | sessions             | pages only      | loads the server-side session; probes and `/v1` never get one |
//! | 9 | CSRF                 | pages only      | inside 8, because the token lives in the session              |
//! | – | `Cache-Control: no-store`, JSON 404/405 | `/v1` only | set by `api::conventions`                     |
//!
//! Answers made by layers 4–5 themselves (a panic, a timeout) come from
//! outside layer 6, so they carry the request id but not the security
//! headers. Unknown paths and wrong methods get the product's 404 and 405
//! pages (JSON errors under `/v1`).
//!
//! There is no authentication layer, and no `route_layer`: who may call a
//! route is decided by its handler's extractors (see `tables`), so an unknown
//! path stays 404 and a route cannot be mounted outside its check.

mod table;
pub mod tables;

pub use table::RouteTable;

use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::DbSessionStore;
use crate::auth::csrf::verify_csrf;
use crate::error::{AppError, error_page};
use crate::middleware::{limit_body, security_headers};
use crate::state::AppState;

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "An unexpected error occurred on our side and has been logged. Please try again in a \
         moment.",
    )
}

async fn not_found() -> Response {
    AppError::NotFound.into_response()
}

/// A page route asked with the wrong method (sign-out typed into the address
/// bar): the product's page, not axum's empty answer (which keeps `Allow`).
async fn method_not_allowed() -> Response {
    error_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "This page cannot be opened that way",
        "This address only takes a form sent from the console's own pages.",
    )
}

/// The whole application (see the module doc for the layer order).
pub fn build_router(state: AppState) -> Router {
    let store = DbSessionStore::new(
        state.db.clone(),
        state.clock.clone(),
        state.config.session_idle_minutes * 60,
        state.config.session_absolute_hours * 3600,
        state.config.max_sessions_per_user,
    );
    // The cookie lives for the browser session; idle and absolute timeouts are
    // enforced by the store with the application clock.
    let sessions = SessionManagerLayer::new(store)
        .with_name(state.config.session_cookie_name())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.is_https())
        .with_path("/")
        .with_expiry(Expiry::OnSessionEnd);

    // Unknown paths outside `/v1` fall back to the HTML 404 here, so they get
    // a session (for the signed-in layout) like any page.
    let pages = [
        tables::public(),
        tables::account(),
        tables::orgs(),
        tables::workspaces(),
        tables::ops(),
    ]
    .into_iter()
    .fold(Router::new(), |router, table| {
        router.merge(table.into_router())
    })
    // After every route: it applies to the routes registered so far.
    .method_not_allowed_fallback(method_not_allowed)
    .fallback(not_found)
    .layer(
        ServiceBuilder::new()
            .layer(sessions)
            .layer(from_fn_with_state(state.config.clone(), verify_csrf)),
    );

    let v1 = tables::v1();
    let prefix = v1.prefix();
    let api = v1
        .into_router()
        .merge(tables::v1_workspaces().into_router());
    let scim = tables::scim();
    let scim_prefix = scim.prefix();
    let scim = scim
        .into_router()
        .method_not_allowed_fallback(crate::api::scim::method_not_allowed)
        .fallback(crate::api::scim::not_found);
    let mut router = tables::operations()
        .into_router()
        .nest(prefix, crate::api::conventions(api))
        .nest(scim_prefix, scim)
        .merge(pages)
        .with_state(state.clone())
        // Inside the security headers, so that a refused body gets them too.
        .layer(axum::middleware::from_fn(limit_body));
    for layer in security_headers(&state.config) {
        router = router.layer(layer);
    }
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        let request_id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            request_id = %request_id,
                            method = %req.method(),
                            path = %loggable_path(req.uri().path()),
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(30),
            )),
    )
}

/// The request path as logged: the secret of an invitation, password-reset,
/// account set-up, email-verification or email-change link is replaced, so that nothing
/// secret reaches the logs.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in [
        "/invitations/",
        "/password/reset/",
        "/password/setup/",
        "/email/verify/",
        "/email/change/",
    ] {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
        {
            return format!("{prefix}<redacted>").into();
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_tables_register_the_same_route() {
        let mut seen = std::collections::HashSet::new();
        for table in tables::all() {
            for (method, path) in table.routes() {
                assert!(
                    seen.insert((*method, path.clone())),
                    "{method} {path} is registered twice"
                );
            }
        }
    }
}
