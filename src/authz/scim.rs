//! `ScimClient`: an org's identity provider, authenticated by one of the
//! org's SCIM tokens as `Authorization: Bearer` on `/scim/v2/*`. It hands
//! out the `ScimScope` every SCIM query takes, so a token reaches its own
//! org only. No token, a malformed, unknown or revoked one: 401 with a SCIM
//! error body. Each request is charged to the token's rate-limit bucket
//! (`auth::limits::Bucket::scim_token`) before its handler runs.
//!
//! SCIM tokens share the API key format (`gtk_<public id>_<secret><sum>`,
//! `auth::api_key`): the same prefix for secret scanners, the same O(1)
//! lookup by public id and constant-time comparison of the SHA-256 digest.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::proof::ScimScope;
use crate::api::scim::error::ScimError;
use crate::auth::api_key::Presented;
use crate::auth::limits::Bucket;
use crate::db::audit::Actor;
use crate::state::AppState;

/// "Last used" moves at most once a minute (no write on every request).
const LAST_USED_INTERVAL_SECS: i64 = 60;

/// An authenticated SCIM token of one org.
#[derive(Debug, Clone)]
pub struct ScimClient {
    scope: ScimScope,
}

impl ScimClient {
    pub fn scope(&self) -> &ScimScope {
        &self.scope
    }

    /// The audit actor: the token, by its name.
    pub fn actor(&self) -> Actor {
        Actor::ScimToken {
            id: self.scope.token_id(),
            name: self.scope.token_name().to_owned(),
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, ScimError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ScimError::Unauthorized(
            "Send the organization's SCIM token as `Authorization: Bearer <token>`.",
        ))?;
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ScimError::Unauthorized(
            "The Authorization header must be `Bearer <token>`.",
        ))
}

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let invalid = ScimError::Unauthorized("This SCIM token is not valid.");
        let presented = Presented::parse(bearer(parts)?)
            .map_err(|_| ScimError::Unauthorized("This is not a Gatehouse SCIM token."))?;
        let creds = state
            .db
            .scim_token_credentials(presented.public_id)
            .await?
            .ok_or(ScimError::Unauthorized("This SCIM token is not valid."))?;
        if !presented.matches(&creds.secret_digest) {
            return Err(invalid);
        }
        if creds.revoked_at.is_some() {
            return Err(ScimError::Unauthorized("This SCIM token has been revoked."));
        }
        if creds.org_disabled_at.is_some() {
            return Err(ScimError::Forbidden(
                "This organization has been disabled by the platform.",
            ));
        }
        crate::authz::api::charge_quota(parts, state, &Bucket::scim_token(&state.config, creds.id))
            .await?;
        let scope = ScimScope::new(creds.org_id, creds.slug, creds.id, creds.name);
        let now = state.clock.unix();
        if creds
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_INTERVAL_SECS)
        {
            state.db.mark_scim_token_used(&scope, now).await?;
        }
        Ok(ScimClient { scope })
    }
}
