//! Cross-site request forgery protection for every state-changing HTML form.
//!
//! Two independent checks, both fail-closed, in one middleware so that no
//! handler can forget them:
//! 1. the browser's own provenance headers: a request whose `Origin` names
//!    another site, or whose `Sec-Fetch-Site` says `cross-site`/`same-site`, is
//!    refused before the body is read;
//! 2. a synchronizer token: the form field `csrf_token` (or the header
//!    `X-CSRF-Token`) must equal the token kept in the server-side session,
//!    compared in constant time. A `multipart/form-data` form (a file
//!    upload) carries it as a part named `csrf_token`.
//!
//! `/v1` is exempt: it authenticates with bearer keys and never reads cookies,
//! so a browser cannot be tricked into sending credentials to it.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::auth::session::{AppSession, SessionError};
use crate::config::Config;

/// Why a state-changing request was refused; the HTML error renders it
/// (`crate::error`), so this layer knows nothing of pages.
#[derive(Debug, thiserror::Error)]
pub enum CsrfRejection {
    /// Cross-origin, or a missing or wrong token: 403.
    #[error("CSRF check failed")]
    Rejected,
    /// A body beyond `MAX_FORM_BYTES`: 413.
    #[error("request body too large")]
    TooLarge,
    /// The code prompt of a pending sign-in that was ended meanwhile: the
    /// person is sent back to sign in.
    #[error("pending sign-in ended")]
    SignInEnded,
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The route of `web::auth::mfa` (kept here so that this layer does not
/// import the handlers above it).
const MFA_CHALLENGE_PATH: &str = "/login/mfa";

/// The largest form body the console accepts.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The largest body of a configuration bundle's plan or apply (API and
/// form): a bundle is at most 5 MiB (`domain::bundle::MAX_BUNDLE_BYTES`,
/// refused beyond with `invalid_bundle`), and a form URL-encodes it.
pub const MAX_BUNDLE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The largest body a request to `path` may send.
pub fn body_limit(path: &str) -> usize {
    if path.ends_with("/config/plan") || path.ends_with("/config/apply") {
        MAX_BUNDLE_BODY_BYTES
    } else {
        MAX_FORM_BYTES
    }
}

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

pub async fn verify_csrf(
    State(config): State<Arc<Config>>,
    req: Request,
    next: Next,
) -> Result<Response, CsrfRejection> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.uri().path().starts_with("/v1/") {
        return Ok(next.run(req).await);
    }
    if !same_origin(req.headers(), &config.public_url()) {
        tracing::warn!("refused a cross-origin form submission");
        return Err(CsrfRejection::Rejected);
    }
    let session = req
        .extensions()
        .get::<Session>()
        .cloned()
        .ok_or(SessionError::LayerMissing)?;
    let Some(expected) = AppSession::from_session(session)
        .existing_csrf_token()
        .await?
    else {
        // No token: this browser's session is gone. At the code prompt that
        // means its pending sign-in was ended (a password change, "sign out
        // everywhere else", the account disabled): nothing is done, and the
        // person starts over at sign-in rather than at a form error.
        if req.uri().path() == MFA_CHALLENGE_PATH {
            return Err(CsrfRejection::SignInEnded);
        }
        return Err(CsrfRejection::Rejected);
    };

    let limit = body_limit(req.uri().path());
    let (parts, body) = req.into_parts();
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(bytes) = to_bytes(body, limit).await else {
        return Err(CsrfRejection::TooLarge);
    };
    let form_token = match multipart_boundary(&parts.headers) {
        Some(boundary) => multipart_token(bytes.clone(), boundary).await,
        None => serde_urlencoded::from_bytes::<TokenField>(&bytes)
            .ok()
            .and_then(|f| f.csrf_token),
    };
    let presented = header_token.or(form_token).unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        tracing::warn!("refused a form submission with a missing or wrong CSRF token");
        return Err(CsrfRejection::Rejected);
    }
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// The boundary of a `multipart/form-data` body, if the request is one.
pub fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    multer::parse_boundary(content_type).ok()
}

/// The `csrf_token` part of a multipart body (the console's forms put it
/// first, so the file after it is not read here).
async fn multipart_token(bytes: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = parts.next_field().await {
        if field.name() == Some("csrf_token") {
            return field.text().await.ok();
        }
    }
    None
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
