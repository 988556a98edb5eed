//! Cross-site request forgery protection for every state-changing HTML form.
//!
//! Two independent checks, both fail-closed, in one middleware so that no
//! handler can forget them:
//! 1. the browser's own provenance headers: a request whose `Origin` names
//!    another site, or whose `Sec-Fetch-Site` says `cross-site`/`same-site`, is
//!    refused before the body is read;
//! 2. a synchronizer token: the form field `csrf_token` (or the header
//!    `X-CSRF-Token`) must equal the token kept in the server-side session,
//!    compared in constant time.
//!
//! `/v1` is exempt: it authenticates with bearer keys and never reads cookies,
//! so a browser cannot be tricked into sending credentials to it.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::app::AppState;
use crate::auth::session::AppSession;
use crate::error::AppError;

/// The route of `web::mfa_challenge` (kept here so that this layer does not
/// import the handlers above it).
const MFA_CHALLENGE_PATH: &str = "/login/mfa";

/// The largest form body the console accepts.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(serde::Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

/// Whether the request's provenance headers allow it. Absent headers (non-
/// browser clients) pass this check and still need the token.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == public_url {
        return true;
    }
    // Also accept the host the request was addressed to (a console reached as
    // 127.0.0.1 while configured as localhost). A cross-site page cannot
    // choose the Host header of a request the browser sends for it.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.split_once("://"), host) {
        (Some((_, origin_host)), Some(host)) => origin_host == host,
        _ => false,
    }
}

pub async fn verify_csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    if !same_origin(req.headers(), &state.config.public_url()) {
        tracing::warn!("refused a cross-origin form submission");
        return AppError::CsrfRejected.into_response();
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return AppError::internal("session layer missing").into_response();
    };
    let expected = match AppSession::from_session(session)
        .existing_csrf_token()
        .await
    {
        Ok(Some(token)) => token,
        // No token: this browser's session is gone. At the code prompt that
        // means its pending sign-in was ended (a password change, "sign out
        // everywhere else", the account disabled): nothing is done, and the
        // person starts over at sign-in rather than at a form error.
        Ok(None) if req.uri().path() == MFA_CHALLENGE_PATH => {
            return Redirect::to("/login").into_response();
        }
        Ok(None) => return AppError::CsrfRejected.into_response(),
        Err(e) => return e.into_response(),
    };

    let (parts, body) = req.into_parts();
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return AppError::PayloadTooLarge.into_response();
    };
    let form_token = serde_urlencoded::from_bytes::<TokenField>(&bytes)
        .ok()
        .and_then(|f| f.csrf_token);
    let presented = header_token.or(form_token).unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        tracing::warn!("refused a form submission with a missing or wrong CSRF token");
        return AppError::CsrfRejected.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn provenance_rules() {
        let url = "http://localhost:8080";
        assert!(same_origin(&headers(&[]), url));
        assert!(same_origin(
            &headers(&[("origin", "http://localhost:8080")]),
            url
        ));
        assert!(same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            url
        ));
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "localhost:8080")
            ]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            url
        ));
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            url
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), url));
    }
}
