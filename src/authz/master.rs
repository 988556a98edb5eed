//! The master key: a platform-level bearer key for operators' automation,
//! accepted on `/v1/admin/*` only. `MasterKey` authenticates it and records
//! **every** request made with it in the audit log (method, path, query
//! parameters and request id; never the secret) before the handler runs, so
//! no endpoint can forget to. Handlers add their own event for what they did
//! with the body.
//!
//! A personal key presented here is a valid credential without the authority:
//! 403 `master_key_required`. No key, or an invalid one: 401.
//!
//! Every request also says why it is made: the `X-Gatehouse-Reason` header
//! (at most 500 characters, percent-encoding allowed for what a header cannot
//! carry). Without one the key authenticates but the request is refused
//! (400 `reason_required`) and recorded as refused; with one, the reason is
//! in the request's record and in the record of every change it makes.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use serde_json::json;
use uuid::Uuid;

use super::PlatformScope;
use crate::api::error::ApiError;
use crate::auth::api_key::{FormatError, Presented};
use crate::db::audit::{Actor, Event};
use crate::db::platform::PlatformActor;
use crate::domain::Reason;
use crate::request::ClientInfo;
use crate::state::AppState;

const LAST_USED_INTERVAL_SECS: i64 = 60;

/// The header that carries a master-key request's reason.
pub const REASON_HEADER: &str = "x-gatehouse-reason";

/// An authenticated master key.
#[derive(Debug, Clone)]
pub struct MasterKey {
    key_id: Uuid,
    public_id: String,
    name: String,
    reason: Reason,
    scope: PlatformScope,
}

impl MasterKey {
    pub fn key_id(&self) -> Uuid {
        self.key_id
    }
    pub fn public_id(&self) -> &str {
        &self.public_id
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn scope(&self) -> &PlatformScope {
        &self.scope
    }

    /// Why the caller says this request is made (`X-Gatehouse-Reason`).
    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    /// The key as the author of platform actions (`OperatorAction`).
    pub fn platform_actor(&self) -> PlatformActor<'_> {
        PlatformActor::new(&self.scope, self.actor(), "master_key", self.prefix())
    }

    /// Audit actor: the key itself (a master key has no owner).
    pub fn actor(&self) -> Actor {
        Actor::MasterKey {
            prefix: self.prefix(),
        }
    }

    pub fn prefix(&self) -> String {
        format!("{}{}", crate::auth::api_key::PREFIX, self.public_id)
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    crate::authz::api::presented_key(parts, "a master key")
}

/// The request's reason, percent-decoded.
fn reason(parts: &Parts) -> Result<Reason, &'static str> {
    let raw = parts
        .headers
        .get(REASON_HEADER)
        .ok_or("It is missing.")?
        .to_str()
        .map_err(|_| "It is not text: percent-encode what is not ASCII.")?;
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| "Its percent-encoding is not UTF-8.")?;
    Reason::parse(&decoded)
}

/// The query parameters of a request, for the audit record.
fn query_params(parts: &Parts) -> BTreeMap<String, String> {
    parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for MasterKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        let token = bearer(parts)?;
        let presented = Presented::parse(token).map_err(|e| match e {
            FormatError::Malformed => {
                ApiError::unauthorized("malformed_token", "This is not a Gatehouse API key.")
            }
            FormatError::BadChecksum => ApiError::unauthorized(
                "invalid_checksum",
                "The key's checksum does not match: it was mistyped or truncated.",
            ),
        })?;
        let now = state.clock.unix();
        let Some(creds) = state
            .db
            .master_key_credentials(&PlatformScope::new(), presented.public_id)
            .await?
        else {
            // Not a master key. A valid personal key is refused for lack of
            // authority (403); anything else is simply not a valid key.
            crate::authz::api::authenticate(parts, state).await?;
            return Err(ApiError::Forbidden {
                code: "master_key_required",
                message: "This endpoint needs a master key; personal keys cannot call it.",
            });
        };
        if !presented.matches(&creds.secret_digest) {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "This key is not valid.",
            ));
        }
        let refused = if creds.revoked_at.is_some() {
            Some(("token_revoked", "This key has been revoked."))
        } else if creds.expires_at <= now {
            Some(("token_expired", "This key has expired."))
        } else {
            None
        };
        if let Some((code, message)) = refused {
            let rejected = Event::by(Actor::Anonymous)
                .did("master_key.rejected")
                .on("master_key", creds.id)
                .detail(json!({ "reason": code }))
                .from(&client.origin());
            state.db.record_event(&rejected, now).await?;
            return Err(ApiError::unauthorized(code, message));
        }
        crate::authz::api::charge_quota(
            parts,
            state,
            &crate::auth::limits::Bucket::master_key(&state.config, creds.id),
        )
        .await?;
        if creds
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_INTERVAL_SECS)
        {
            state
                .db
                .mark_master_key_used(&PlatformScope::new(), creds.id, &client.ip, now)
                .await?;
        }
        let reason = match reason(parts) {
            Ok(reason) => reason,
            Err(why) => {
                let refused = Event::by(Actor::MasterKey {
                    prefix: format!("{}{}", crate::auth::api_key::PREFIX, creds.public_id),
                })
                .did("master_key.refused")
                .on("master_key", creds.id)
                .detail(json!({ "reason": "reason_required", "method": parts.method.as_str() }))
                .from(&client.origin());
                state.db.record_event(&refused, now).await?;
                return Err(ApiError::ReasonRequired(why));
            }
        };
        let key = MasterKey {
            key_id: creds.id,
            public_id: creds.public_id,
            name: creds.name,
            reason,
            scope: PlatformScope::new(),
        };
        // Under `nest("/v1", …)` the URI is stripped of its prefix; the audit
        // names the endpoint as the caller called it.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |o| o.0.path().to_owned());
        // Every request is recorded before its handler runs (it may change
        // nothing, or fail): this record stands alone, and the handler's own
        // change writes its own event in its transaction.
        let request = Event::by(key.actor())
            .did("master_key.request")
            .on("endpoint", format!("{} {path}", parts.method))
            .detail(json!({
                "method": parts.method.as_str(),
                "path": path,
                "query": query_params(parts),
                "request_id": client.request_id,
                "key": key.prefix(),
                "reason": key.reason.as_str(),
            }))
            .from(&client.origin());
        state.db.record_event(&request, now).await?;
        Ok(key)
    }
}
