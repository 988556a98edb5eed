//! Where a request comes from: the peer address (or, behind a trusted proxy,
//! the last `X-Forwarded-For` hop) and the user agent, for rate limits, the
//! audit log and the sessions list, and the request id the router assigned
//! (`x-request-id`), which every audit event carries.
//!
//! Invariant: reading it cannot fail (`Rejection = Infallible`); an address
//! that cannot be known is `"unknown"`. It sits below every handler layer, so
//! the HTML console, the JSON API and `authz` all take it directly.

use std::net::SocketAddr;

use std::convert::Infallible;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::db::audit::Origin;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: Option<String>,
    /// Set by the router's `SetRequestIdLayer` before any handler runs.
    pub request_id: Option<String>,
}

impl ClientInfo {
    pub fn origin(&self) -> Origin {
        Origin {
            ip: Some(self.ip.clone()),
            user_agent: self.user_agent.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(',').next())
                    .map(|s| s.trim().to_owned())
                    .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(128).collect());
        Ok(ClientInfo {
            ip: forwarded.or(peer).unwrap_or_else(|| "unknown".to_owned()),
            user_agent,
            request_id,
        })
    }
}
