//! `/orgs/{slug}/audit`: the org's audit log with filters (actor, action,
//! date range), keyset pages, and CSV / JSON export of the filtered events.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::AppSession;
use crate::authz::OrgOwner;
use crate::db::audit::{AuditCursor, AuditEvent, AuditFilter};
use crate::domain::day::day_start;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::account::overview::describe_action;
use crate::web::extract::Query;
use crate::web::timefmt::Timestamp;
use crate::web::{FieldErrors, PageContext, Section, ok};

const PAGE_SIZE: i64 = 50;
/// The most events one export returns; narrow the filters for more.
const EXPORT_LIMIT: i64 = 10_000;

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub before: String,
}

impl AuditQuery {
    fn filter(&self, errors: &mut FieldErrors) -> AuditFilter {
        let from = if self.from.trim().is_empty() {
            None
        } else {
            errors.check(
                "from",
                day_start(&self.from).ok_or("Enter the date as YYYY-MM-DD."),
            )
        };
        // "To" includes the whole day.
        let until = if self.to.trim().is_empty() {
            None
        } else {
            errors.check(
                "to",
                day_start(&self.to)
                    .map(|d| d + 86_400)
                    .ok_or("Enter the date as YYYY-MM-DD."),
            )
        };
        AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            from,
            until,
        }
    }
}

pub struct EventItem {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub action_label: String,
    pub target: String,
    pub ip: String,
    pub detail: String,
}

fn event_item(e: &AuditEvent, now: i64) -> EventItem {
    EventItem {
        at: Timestamp::new(e.occurred_at, now),
        actor: e.actor_label.clone(),
        action: e.action.clone(),
        action_label: describe_action(&e.action),
        target: match (&e.target_kind, &e.target_id) {
            (Some(k), Some(id)) => format!("{k} {id}"),
            _ => String::new(),
        },
        ip: e.ip.clone().unwrap_or_default(),
        detail: if e.detail == "{}" {
            String::new()
        } else {
            e.detail.clone()
        },
    }
}

#[derive(Template)]
#[template(path = "orgs/audit.html")]
pub struct AuditPage {
    pub ctx: PageContext,
    pub slug: String,
    pub query: AuditQuery,
    pub events: Vec<EventItem>,
    pub next: Option<String>,
    pub export_query: String,
    pub errors: FieldErrors,
}

pub async fn show_audit(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let (user, scope) = owner.into_parts();
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let filter = query.filter(&mut errors);
    let mut events = if errors.is_empty() {
        state
            .db
            .org_events(
                &scope,
                &filter,
                AuditCursor::decode(&query.before),
                PAGE_SIZE + 1,
            )
            .await?
    } else {
        Vec::new()
    };
    let next = if events.len() as i64 > PAGE_SIZE {
        events.truncate(PAGE_SIZE as usize);
        events.last().map(|e| {
            let q = AuditQuery {
                before: AuditCursor {
                    occurred_at: e.occurred_at,
                    id: e.id,
                }
                .encode(),
                ..query.clone()
            };
            serde_urlencoded::to_string(&q).unwrap_or_default()
        })
    } else {
        None
    };
    let export_query = serde_urlencoded::to_string(AuditQuery {
        before: String::new(),
        ..query.clone()
    })
    .unwrap_or_default();
    let page = AuditPage {
        ctx: PageContext::for_org(&state, &session, &user, &scope, Section::OrgAudit).await?,
        slug: scope.slug().to_owned(),
        events: events.iter().map(|e| event_item(e, now)).collect(),
        query,
        next,
        export_query,
        errors,
    };
    ok(&page)
}

#[derive(Serialize)]
struct ExportedEvent<'a> {
    id: String,
    occurred_at: i64,
    actor: &'a str,
    action: &'a str,
    target_kind: Option<&'a str>,
    target_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    detail: serde_json::Value,
}

async fn export_events(
    state: &AppState,
    owner: &OrgOwner,
    query: &AuditQuery,
) -> Result<Vec<AuditEvent>, AppError> {
    let mut errors = FieldErrors::new();
    let filter = query.filter(&mut errors);
    if !errors.is_empty() {
        return Err(AppError::BadRequest("Enter dates as YYYY-MM-DD."));
    }
    Ok(state
        .db
        .org_events(owner.scope(), &filter, None, EXPORT_LIMIT)
        .await?)
}

fn attachment(owner: &OrgOwner, ext: &str) -> String {
    format!(
        "attachment; filename=\"{}-audit.{ext}\"",
        owner.scope().slug()
    )
}

pub async fn export_json(
    State(state): State<AppState>,
    owner: OrgOwner,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let events = export_events(&state, &owner, &query).await?;
    let out: Vec<ExportedEvent> = events
        .iter()
        .map(|e| ExportedEvent {
            id: e.id.to_string(),
            occurred_at: e.occurred_at,
            actor: &e.actor_label,
            action: &e.action,
            target_kind: e.target_kind.as_deref(),
            target_id: e.target_id.as_deref(),
            ip: e.ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let body = serde_json::to_string_pretty(&out)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, attachment(&owner, "json")),
        ],
        body,
    )
        .into_response())
}

/// One CSV field, quoted, with formula-starting characters neutralised so a
/// spreadsheet does not execute a value an attacker typed (CSV injection).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub async fn export_csv(
    State(state): State<AppState>,
    owner: OrgOwner,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let events = export_events(&state, &owner, &query).await?;
    let mut body =
        String::from("id,occurred_at,actor,action,target_kind,target_id,ip,user_agent,detail\r\n");
    for e in &events {
        let fields = [
            e.id.to_string(),
            Timestamp::new(e.occurred_at, e.occurred_at).iso,
            e.actor_label.clone(),
            e.action.clone(),
            e.target_kind.clone().unwrap_or_default(),
            e.target_id.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
            e.user_agent.clone().unwrap_or_default(),
            e.detail.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        body.push_str(&line.join(","));
        body.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, attachment(&owner, "csv")),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
}
