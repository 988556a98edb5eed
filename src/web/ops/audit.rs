//! `/ops/audit`: the cross-tenant audit log, newest first, with filters
//! (actor, action or action family, organization id, date range) and keyset
//! pagination (`before=<unix seconds>.<event id>`), so a page deep in a large
//! log costs the same as the first.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, Duration};
use uuid::Uuid;

use super::ops_context;
use crate::auth::AppSession;
use crate::authz::Operator;
use crate::db::platform::{AuditFilter, PlatformEvent};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Query;
use crate::web::timefmt::Timestamp;
use crate::web::{FieldErrors, OpsSection, PageContext, render};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub org: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub before: String,
}

pub struct EventRow {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub org: String,
    pub ip: String,
    pub detail: String,
}

impl EventRow {
    fn new(e: &PlatformEvent, now: i64) -> Self {
        EventRow {
            at: Timestamp::new(e.occurred_at, now),
            actor: e.actor_label.clone(),
            action: e.action.clone(),
            target: match (&e.target_kind, &e.target_id) {
                (Some(k), Some(id)) => format!("{k} {id}"),
                (Some(k), None) => k.clone(),
                _ => String::new(),
            },
            org: e.org_id.map(|o| o.to_string()).unwrap_or_default(),
            ip: e.ip.clone().unwrap_or_default(),
            detail: if e.detail == "{}" {
                String::new()
            } else {
                e.detail.clone()
            },
        }
    }
}

#[derive(Template)]
#[template(path = "ops/audit.html")]
pub struct AuditPage {
    pub ctx: PageContext,
    pub query: AuditQuery,
    pub events: Vec<EventRow>,
    pub next_page: Option<String>,
    pub first_page: Option<String>,
    pub errors: FieldErrors,
}

fn parse_date(s: &str) -> Result<Option<Date>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| "Enter the date as YYYY-MM-DD.")
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The filter a query asks for, with a message per bad field.
fn filter_of(q: &AuditQuery, errors: &mut FieldErrors) -> AuditFilter {
    let actor = non_empty(&q.actor).map(|a| a.to_lowercase());
    if actor.as_ref().is_some_and(|a| a.chars().count() > 300) {
        errors.add("actor", "An actor has at most 300 characters.");
    }
    let action = non_empty(&q.action);
    if action.as_ref().is_some_and(|a| {
        a.len() > 100
            || !a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    }) {
        errors.add(
            "action",
            "An action reads like ops.user.disabled (letters, digits, dots, dashes, underscores).",
        );
    }
    let org_id = match non_empty(&q.org) {
        None => None,
        Some(o) => errors.check(
            "org",
            Uuid::parse_str(&o).map_err(|_| "Enter an organization id (a UUID)."),
        ),
    };
    let from = errors.check("from", parse_date(&q.from)).flatten();
    let to = errors.check("to", parse_date(&q.to)).flatten();
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.add("to", "The end date is before the start date.");
    }
    let before = non_empty(&q.before).and_then(|b| {
        let (at, id) = b.split_once('.')?;
        Some((at.parse::<i64>().ok()?, Uuid::parse_str(id).ok()?))
    });
    AuditFilter {
        actor,
        action,
        org_id,
        from: from.map(|d| d.midnight().assume_utc().unix_timestamp()),
        // Through the whole end day (UTC).
        until: to.map(|d| (d.midnight().assume_utc() + Duration::DAY).unix_timestamp()),
        before,
    }
}

fn query_string(q: &AuditQuery, before: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = [
        ("actor", q.actor.trim()),
        ("action", q.action.trim()),
        ("org", q.org.trim()),
        ("from", q.from.trim()),
        ("to", q.to.trim()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    if let Some(b) = before {
        pairs.push(("before", b));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub async fn show_audit(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let filter = filter_of(&query, &mut errors);
    let ctx = ops_context(&state, &session, &op, OpsSection::Audit).await?;
    if !errors.is_empty() {
        let page = AuditPage {
            ctx,
            query,
            events: Vec::new(),
            next_page: None,
            first_page: None,
            errors,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut events = state
        .db
        .platform_events(op.scope(), &filter, PAGE_SIZE + 1)
        .await?;
    let more = events.len() as i64 > PAGE_SIZE;
    events.truncate(PAGE_SIZE as usize);
    let next_page = match events.last() {
        Some(last) if more => Some(query_string(
            &query,
            Some(&format!("{}.{}", last.occurred_at, last.id)),
        )),
        _ => None,
    };
    let first_page = filter.before.map(|_| query_string(&query, None));
    let page = AuditPage {
        ctx,
        events: events.iter().map(|e| EventRow::new(e, now)).collect(),
        next_page,
        first_page,
        query,
        errors,
    };
    render(StatusCode::OK, &page)
}
