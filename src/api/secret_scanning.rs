//! `POST /v1/secret-scanning/reports`: where a secret scanner (GitHub's
//! secret-scanning partner programme is the model) reports Gatehouse keys it
//! found in public code. Every reported token whose format, checksum and
//! digest match a live key — personal, service account or master — is
//! revoked at once and audited (`api_key.leak_reported`, with the URL where
//! it was found).
//!
//! The invariant: **the answer never says which tokens were real.** Real,
//! fake, malformed and already-revoked tokens all get the same `202` and the
//! same constant body, so the endpoint is no oracle for checking stolen
//! tokens. The endpoint needs no credential, on purpose: the only effect of
//! a report is to revoke a key whose full secret the reporter already holds,
//! which is the least harmful thing anyone holding it could do. Requests are
//! limited per IP address (counted in the database, before the body is
//! read, so malformed floods count too) and to `MAX_TOKENS` tokens each.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::ApiJson;
use super::accounts::Caller;
use super::error::{ErrorBody, FieldError};
use crate::auth::api_key::{PREFIX, Presented};
use crate::auth::limits::Bucket;
use crate::auth::throttle;
use crate::authz::PlatformScope;
use crate::db::audit::{Actor, Event};
use crate::request::ClientInfo;
use crate::state::AppState;

use super::error::ApiError;

/// Tokens accepted in one report.
pub const MAX_TOKENS: usize = 100;
/// Longest `url`, `type` or `source` kept in the audit record (characters).
const MAX_FIELD_CHARS: usize = 2048;

/// One token a scanner found.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportedToken {
    /// The token as found, e.g. `gtk_3kT9aQ0bX1zL_…`.
    pub token: String,
    /// The scanner's name for the token type, e.g. `gatehouse_api_key`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Where the token was found (a public URL).
    #[serde(default)]
    pub url: Option<String>,
    /// Where the scanner looked, e.g. `content`, `commit`, `issue`.
    #[serde(default)]
    pub source: Option<String>,
}

/// The answer to every accepted report, whatever the tokens were.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportReceived {
    /// Always `received`.
    pub status: &'static str,
}

/// Reports tokens found in public; each live key among them is revoked.
#[utoipa::path(post, path = "/v1/secret-scanning/reports", tag = "secret-scanning",
    security(()),
    request_body(content = Vec<ReportedToken>, description = "A JSON array of at most 100 reported tokens"),
    responses(
        (status = 202, description = "Received. The same answer for real, fake and already-revoked tokens: it never says which were live", body = ReportReceived),
        (status = 400, description = "`bad_request`: the body is not JSON", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not application/json", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not an array of `{token, type, url, source}`, or more than 100 tokens", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many reports from this address; see Retry-After", body = ErrorBody),
    ))]
pub async fn report_tokens(
    State(state): State<AppState>,
    Caller(client): Caller,
    req: Request,
) -> Result<(StatusCode, Json<ReportReceived>), ApiError> {
    let now = state.clock.unix();
    throttle::consume(&state.db, &Bucket::leak_reports(&client.ip), now).await?;
    let ApiJson(reports) = ApiJson::<Vec<ReportedToken>>::from_request(req, &state).await?;
    if reports.len() > MAX_TOKENS {
        return Err(ApiError::Validation(vec![FieldError {
            field: "body".into(),
            message: format!("Report at most {MAX_TOKENS} tokens per request."),
        }]));
    }
    for report in &reports {
        revoke_if_live(&state, &client, report, now).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(ReportReceived { status: "received" }),
    ))
}

/// `text` cut to `MAX_FIELD_CHARS` characters.
fn bounded(text: &Option<String>) -> Option<String> {
    text.as_ref()
        .map(|t| t.chars().take(MAX_FIELD_CHARS).collect())
}

/// Revokes the key `report` names if the token is its live secret; does
/// nothing (and says nothing) otherwise.
async fn revoke_if_live(
    state: &AppState,
    client: &ClientInfo,
    report: &ReportedToken,
    now: i64,
) -> Result<(), ApiError> {
    // Format and checksum first: a fake token costs no lookup.
    let Ok(presented) = Presented::parse(report.token.trim()) else {
        return Ok(());
    };
    let detail = |extra: serde_json::Value| {
        let mut d = json!({
            "prefix": format!("{PREFIX}{}", presented.public_id),
            "url": bounded(&report.url),
            "source": bounded(&report.source),
            "type": bounded(&report.kind),
            "reported_by": "secret scanner",
        });
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            d.extend(extra.clone());
        }
        d
    };
    if let Some(key) = state.db.key_credentials(presented.public_id).await? {
        let live = key.revoked_at.is_none()
            && key.expires_at.is_none_or(|e| e > now)
            && key.sa_deleted_at.is_none();
        if !live {
            return Ok(());
        }
        // A personal key's event is about its owner, so it shows in their
        // history (and export) until notifications exist; a service
        // account's is about the key. Either way it goes to the log of the
        // org the key is bound to.
        let (target_kind, target_id) = match key.owner_user_id {
            Some(owner) => ("user", owner.to_string()),
            None => ("api_key", key.id.to_string()),
        };
        let reported = |secret: &str| {
            Event::by(Actor::Anonymous)
                .did("api_key.leak_reported")
                .on(target_kind, &target_id)
                .detail(detail(json!({
                    "secret": secret,
                    "service_account": key.sa_name,
                })))
                .from(&client.origin())
        };
        if presented.matches(&key.secret_digest) {
            state
                .db
                .revoke_leaked_key(key.id, reported("current"), now)
                .await?;
        } else if key
            .previous_digest
            .as_deref()
            .is_some_and(|d| presented.matches(d))
        {
            // The old secret of a rotation in grace: the owner's new secret
            // was not reported, so only the grace ends.
            state
                .db
                .end_leaked_grace(key.id, reported("previous"), now)
                .await?;
        }
        return Ok(());
    }
    let platform = PlatformScope::unchecked_for_leak_report();
    if let Some(master) = state
        .db
        .master_key_credentials(&platform, presented.public_id)
        .await?
        && master.revoked_at.is_none()
        && master.expires_at > now
        && presented.matches(&master.secret_digest)
    {
        let reported = Event::by(Actor::Anonymous)
            .did("api_key.leak_reported")
            .on("master_key", master.id)
            .detail(detail(json!({ "secret": "current" })))
            .from(&client.origin());
        state
            .db
            .revoke_master_key(
                &platform,
                master.id,
                "reported leaked by a secret scanner",
                &[reported],
                now,
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::auth::api_key::issue;

    /// The checksum as the README documents it for scanners, written out
    /// independently of the implementation.
    fn documented_checksum(body: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = crc32fast::hash(body.as_bytes());
        let mut out = Vec::new();
        while n > 0 {
            out.push(ALPHABET[(n % 62) as usize]);
            n /= 62;
        }
        while out.len() < 6 {
            out.push(b'0');
        }
        out.reverse();
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn issued_keys_follow_the_documented_format_and_checksum() {
        for _ in 0..200 {
            let issued = issue();
            let token = issued.token.expose();
            assert_eq!(token.len(), 55);
            assert!(token.starts_with("gtk_"));
            assert_eq!(&token[16..17], "_");
            assert!(
                token[4..16]
                    .bytes()
                    .chain(token[17..].bytes())
                    .all(|b| b.is_ascii_alphanumeric())
            );
            let (body, sum) = token.split_at(49);
            assert_eq!(documented_checksum(body), sum, "{token}");
        }
    }
}
