//! Cross-cutting, fail-closed layers: the security headers every response
//! carries (CSP, nosniff, referrer and framing policy, no-store, HSTS over
//! https) and the request body limit. The other cross-cutting layers —
//! request ids, tracing, panic recovery, timeout — are stacked in the router,
//! and CSRF in `auth::csrf`. Identity is never injected by a layer; it comes
//! from extractors.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::error::ApiError;
use crate::auth::csrf::body_limit;
use crate::config::Config;
use crate::error::AppError;

/// Refuses a request body over its path's limit (`auth::csrf::body_limit`:
/// 64 KiB, more only for a configuration bundle): at once when its
/// `Content-Length` says so, and while it is read when it is chunked (the
/// extractors then see a length-limit error and answer the same). The answer
/// is the product's 413 page, or the JSON error on `/v1`; it runs inside the
/// security-header layers so that it carries them.
pub async fn limit_body(req: Request, next: Next) -> Response {
    let limit = body_limit(req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return if req.uri().path().starts_with("/v1/") {
            ApiError::PayloadTooLarge.into_response()
        } else {
            AppError::PayloadTooLarge.into_response()
        };
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// No inline script or style, nothing from another origin (the one script is
/// `/static/passkeys.js`), forms post only to this origin, and no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The security headers, as layers; HSTS only when served over https.
pub fn security_headers(config: &Config) -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    let mut layers = vec![
        SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        // Pages carry personal data: no shared or browser cache unless a
        // handler says otherwise (the stylesheet does).
        SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ),
    ];
    if config.is_https() {
        layers.push(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    layers
}
