//! `GET /v1/orgs/{slug}/audit` (`audit:read`): the org's audit log for an
//! owner-level key — the events of the org's audit page, with its filters
//! (actor, action, from/to day) and keyset pages, newest first.
//!
//! Invariant: the same query as the page (`Db::org_events` through the
//! owner-level proof), so the API can show neither more nor other events
//! than the page; a malformed filter or cursor is a 422, never a silently
//! wider answer.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::orgs::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::authz::api::ApiOrgKey;
use crate::authz::api::scopes::AuditRead;
use crate::db::audit::{AuditCursor, AuditEvent, AuditFilter};
use crate::domain::day::day_start;
use crate::state::AppState;

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgEvent {
    pub id: Uuid,
    /// Unix seconds.
    pub occurred_at: i64,
    /// Who did it: an email, `service account: <name>`, `system`, …
    pub actor: String,
    /// e.g. `member.role_changed`.
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What changed (before/after and the like), as recorded.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgEventPage {
    pub events: Vec<OrgEvent>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// Filters and paging of the audit log (those of the org's audit page).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Part of the actor (case-insensitive).
    pub actor: Option<String>,
    /// An exact action, e.g. `member.removed`.
    pub action: Option<String>,
    /// From this day (`YYYY-MM-DD`, UTC), included.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub from: Option<String>,
    /// Until this day (`YYYY-MM-DD`, UTC), included.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub to: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawAuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    limit: Option<String>,
    before: Option<String>,
}

fn day(field: &str, s: &str) -> Result<Option<i64>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    day_start(s)
        .map(Some)
        .ok_or_else(|| ApiError::invalid(field, "Write the day as YYYY-MM-DD."))
}

/// Parses the query exactly as `AuditParams` documents it.
fn audit_params(raw: Option<&str>) -> Result<(AuditFilter, Option<AuditCursor>, i64), ApiError> {
    let p: RawAuditParams = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::invalid("query", "The query string is malformed."))?;
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "Use a whole number from 1 to 100.",
                ));
            }
        },
    };
    let before = match p.before.as_deref() {
        None => None,
        Some(b) => Some(
            AuditCursor::decode(b)
                .ok_or_else(|| ApiError::invalid("before", "Pass the `next` value of a page."))?,
        ),
    };
    // No NUL reaches a query: PostgreSQL text cannot hold it.
    if p.actor.contains('\0') || p.action.contains('\0') {
        return Err(ApiError::invalid("query", "The query string is malformed."));
    }
    let filter = AuditFilter {
        from: day("from", &p.from)?,
        // "To" includes the whole day, as on the page.
        until: day("to", &p.to)?.map(|d| d + 86_400),
        actor: p.actor,
        action: p.action,
    };
    Ok((filter, before, limit))
}

fn event_of(e: AuditEvent) -> OrgEvent {
    OrgEvent {
        id: e.id,
        occurred_at: e.occurred_at,
        actor: e.actor_label,
        action: e.action,
        target_kind: e.target_kind,
        target_id: e.target_id,
        ip: e.ip,
        user_agent: e.user_agent,
        detail: serde_json::from_str(&e.detail).unwrap_or_default(),
    }
}

/// The organization's audit log, newest first (keyset pagination).
#[utoipa::path(get, path = "/v1/orgs/{slug}/audit", tag = "orgs",
    security(("api_key" = ["audit:read"])),
    params(("slug" = String, Path, description = "The organization's address"), AuditParams),
    responses(
        (status = 200, description = "A page of events", body = OrgEventPage),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `audit:read` (`insufficient_scope`), is not bound to an organization (`key_not_bound`), its owner is not an owner of the organization (`owner_required`), or lacks the MFA the organization requires (`mfa_required`)", body = ErrorBody),
        (status = 404, description = "The key is bound to another organization, or its owner is no longer a member", body = ErrorBody),
        (status = 422, description = "Invalid `from`, `to`, `limit` or `before`", body = ErrorBody),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    key: ApiOrgKey<AuditRead>,
    RawQuery(query): RawQuery,
) -> Result<Json<OrgEventPage>, ApiError> {
    let scope = key.owner_scope()?;
    let (filter, before, limit) = audit_params(query.as_deref())?;
    let mut events = state
        .db
        .org_events(scope, &filter, before, limit + 1)
        .await?;
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| {
            AuditCursor {
                occurred_at: e.occurred_at,
                id: e.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Json(OrgEventPage {
        events: events.into_iter().map(event_of).collect(),
        next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_params_are_exactly_as_documented() {
        let (f, before, limit) = audit_params(None).unwrap();
        assert_eq!(
            (limit, before.is_none(), f.from, f.until),
            (50, true, None, None)
        );
        let (f, _, _) = audit_params(Some("from=1970-01-02&to=1970-01-02")).unwrap();
        assert_eq!((f.from, f.until), (Some(86_400), Some(2 * 86_400)));
        let cursor = format!("before=5~{}", Uuid::nil().simple());
        assert!(audit_params(Some(&cursor)).unwrap().1.is_some());
        for bad in [
            "limit=0",
            "limit=101",
            "from=yesterday",
            "to=2026-13-01",
            "before=x",
            "actor=%00",
        ] {
            assert!(audit_params(Some(bad)).is_err(), "{bad}");
        }
    }
}
