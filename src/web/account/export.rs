//! `/account/export`: the user downloads their own data as one JSON document.
//!
//! The document follows the versioned schema `gatehouse.export/v1` (described
//! in the README): the field order is the order of the structs below and of
//! the sections written by `head`, and stays stable within a version. The
//! audit events are **streamed**: read in keyset pages of `PAGE` events and
//! written to the response as each page arrives, so a million events export
//! in constant memory and no database transaction is held open meanwhile.
//!
//! The request carries no user id: the export is always the session's user.
//! It never contains a secret (no password hash, key digest, TOTP secret or
//! backup code, no session id or its hash), and nothing of another person:
//! on an event where someone else acted, their identity, address and user
//! agent are withheld, and its detail shows only the fields allow-listed for
//! its action (`SHOWN_OF_OTHERS`).

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::limits::{Bucket, EXPORTS_PER_HOUR};
use crate::auth::{AppSession, throttle};
use crate::authz::CurrentUser;
use crate::db::Db;
use crate::db::audit::{self, AuditEvent};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::timefmt::{date, rfc3339};
use crate::web::{ClientInfo, PageContext, Section, device, ok};

/// The schema identifier written first in every export.
pub const SCHEMA: &str = "gatehouse.export/v1";
/// Audit events read per query while streaming.
const PAGE: i64 = 500;

#[derive(Template)]
#[template(path = "account/export.html")]
pub struct ExportPage {
    pub ctx: PageContext,
    pub per_hour: i64,
}

pub async fn show_export(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let page = ExportPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Export).await?,
        per_hour: EXPORTS_PER_HOUR,
    };
    ok(&page)
}

#[derive(Serialize)]
struct Profile {
    id: Uuid,
    email: String,
    display_name: String,
    phone: Option<String>,
    job_title: Option<String>,
    time_zone: String,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct NotificationPreference {
    category: &'static str,
    email: bool,
    in_app: bool,
}

#[derive(Serialize)]
struct Mfa {
    enabled: bool,
    enabled_at: Option<String>,
    backup_codes_remaining: i64,
}

#[derive(Serialize)]
struct Organization {
    slug: String,
    name: String,
    role: String,
    joined_at: String,
    /// The names of the teams they are on (a team gives no role of its own).
    teams: Vec<String>,
}

#[derive(Serialize)]
struct ApiKeyMeta {
    prefix: String,
    name: String,
    description: Option<String>,
    scopes: Vec<&'static str>,
    status: &'static str,
    created_at: String,
    expires_at: Option<String>,
    rotated_at: Option<String>,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
    last_used_ip: Option<String>,
}

#[derive(Serialize)]
struct SessionMeta {
    device: String,
    user_agent: Option<String>,
    ip: Option<String>,
    signed_in_at: String,
    last_seen_at: String,
    expires_at: String,
    current: bool,
}

#[derive(Serialize)]
struct Notification {}

#[derive(Serialize)]
struct Event {
    id: Uuid,
    occurred_at: String,
    action: String,
    /// "you", or who else acted without saying who: see `Event::new`.
    actor: &'static str,
    ip: Option<String>,
    user_agent: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    detail: serde_json::Value,
}

/// The detail fields an export shows of an event **someone else caused**,
/// per action: facts about what happened to the user (role names, team
/// names, counts), never who did it or their words. Anything not listed —
/// an operator's email and reason, the owner's key that made a change, a
/// field added to an event later — is left out until it is reviewed and
/// listed here: the list fails closed.
const SHOWN_OF_OTHERS: &[(&str, &[&str])] = &[
    (
        "invitation.accepted",
        &["role", "already_member", "teams_added"],
    ),
    ("member.role_changed", &["before", "after"]),
    ("member.removed", &["role"]),
    ("team.member_added", &["team"]),
    // Written before teams stopped giving roles of their own (migration 0017).
    ("team.member_set", &["team", "before", "after"]),
    ("team.member_removed", &["team"]),
];

/// Only the allow-listed fields of `detail` for `action`.
fn shown_detail(action: &str, detail: serde_json::Value) -> serde_json::Value {
    let allowed = SHOWN_OF_OTHERS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(&[][..], |(_, fields)| *fields);
    let serde_json::Value::Object(map) = detail else {
        return json!({});
    };
    serde_json::Value::Object(
        map.into_iter()
            .filter(|(k, _)| allowed.contains(&k.as_str()))
            .collect(),
    )
}

impl Event {
    fn new(e: AuditEvent, user_id: Uuid) -> Self {
        // Someone else is named only by their role towards the user.
        let actor = match (e.actor_id, e.actor_label.as_str()) {
            (Some(id), _) if id == user_id => "you",
            _ if e.action.starts_with("ops.") => "an operator",
            (Some(_), label) if label.starts_with("service account:") => "the organization",
            (Some(_), _) => "another member",
            (None, "system") => "system",
            (None, label) if label.starts_with("master-key:") => "an operator",
            (None, _) => "anonymous",
        };
        // Another person's address and browser are theirs, not the user's.
        let theirs = matches!(actor, "another member" | "an operator" | "the organization");
        let detail = serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail));
        Event {
            id: e.id,
            occurred_at: rfc3339(e.occurred_at),
            detail: if actor == "you" {
                detail
            } else {
                shown_detail(&e.action, detail)
            },
            action: e.action,
            actor,
            ip: if theirs { None } else { e.ip },
            user_agent: if theirs { None } else { e.user_agent },
            target_kind: e.target_kind,
            target_id: e.target_id,
        }
    }
}

/// Appends `"name":value` (with a leading comma unless first) to `out`.
fn field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) -> Result<(), AppError> {
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, name)?;
    out.push(b':');
    Ok(serde_json::to_writer(&mut *out, value)?)
}

/// Everything before the audit events, ending with `"audit_events":[`.
async fn head(
    state: &AppState,
    session: &AppSession,
    user: &CurrentUser,
    now: i64,
) -> Result<Vec<u8>, AppError> {
    let db = &state.db;
    let record = db.find_user(user.id()).await?.ok_or(AppError::NotFound)?;
    let current = session.id_hash();
    let mut out = Vec::with_capacity(8 * 1024);
    out.push(b'{');
    field(&mut out, "schema", &SCHEMA)?;
    field(&mut out, "generated_at", &rfc3339(now))?;
    field(
        &mut out,
        "profile",
        &Profile {
            id: record.id,
            email: record.email,
            display_name: record.display_name,
            phone: record.phone,
            job_title: record.job_title,
            time_zone: record.time_zone,
            created_at: rfc3339(record.created_at),
            updated_at: rfc3339(record.updated_at),
        },
    )?;
    let prefs: Vec<NotificationPreference> = db
        .notification_prefs(user)
        .await?
        .into_iter()
        .map(|(c, p)| NotificationPreference {
            category: c.key(),
            email: p.email,
            in_app: p.in_app,
        })
        .collect();
    field(&mut out, "notification_preferences", &prefs)?;
    let mfa = db.mfa_status(user.id()).await?;
    field(
        &mut out,
        "mfa",
        &Mfa {
            enabled: mfa.is_some(),
            enabled_at: mfa.map(|m| rfc3339(m.enabled_at)),
            backup_codes_remaining: mfa.map_or(0, |m| m.backup_codes_left),
        },
    )?;
    // Memberships and their teams: one entry per membership.
    let organizations: Vec<Organization> = db
        .user_memberships(user)
        .await?
        .into_iter()
        .map(|m| Organization {
            slug: m.slug,
            name: m.name,
            role: m.role,
            joined_at: rfc3339(m.joined_at),
            teams: m.teams,
        })
        .collect();
    field(&mut out, "organizations", &organizations)?;
    let keys: Vec<ApiKeyMeta> = db
        .all_personal_keys(user)
        .await?
        .into_iter()
        .map(|k| ApiKeyMeta {
            prefix: k.prefix(),
            status: k.status(now).label(),
            scopes: k.scope_set().names(),
            name: k.name,
            description: k.description,
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
            rotated_at: k.rotated_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
            last_used_at: k.last_used_at.map(rfc3339),
            last_used_ip: k.last_used_ip,
        })
        .collect();
    field(&mut out, "api_keys", &keys)?;
    let sessions: Vec<SessionMeta> = db
        .list_sessions(user.id(), now)
        .await?
        .into_iter()
        .map(|s| SessionMeta {
            device: device::describe(s.user_agent.as_deref()),
            current: current.as_deref() == Some(s.id_hash.as_slice()),
            user_agent: s.user_agent,
            ip: s.ip,
            signed_in_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            expires_at: rfc3339(s.expires_at),
        })
        .collect();
    field(&mut out, "sessions", &sessions)?;
    // In-app notifications: filled when the notifications issue adds them.
    let notifications: Vec<Notification> = Vec::new();
    field(&mut out, "notifications", &notifications)?;
    out.extend_from_slice(b",\"audit_events\":[");
    Ok(out)
}

/// Where the event stream is.
struct Cursor {
    db: Db,
    user: CurrentUser,
    after: Option<(i64, Uuid)>,
    first: bool,
    done: bool,
}

/// The next chunk of the body: one page of events (or the closing
/// brackets), `None` when the document is complete.
async fn next_chunk(mut c: Cursor) -> Result<Option<(Bytes, Cursor)>, std::io::Error> {
    if c.done {
        return Ok(None);
    }
    let page =
        c.db.audit_page_for_user(&c.user, c.after, PAGE)
            .await
            .map_err(|e| {
                // The status line is gone already: the download is cut short (an
                // incomplete, invalid document), and the cause is logged.
                tracing::error!(error = %e, "data export failed while streaming");
                std::io::Error::other("export interrupted")
            })?;
    let mut out = Vec::with_capacity(page.len() * 400 + 4);
    c.done = (page.len() as i64) < PAGE;
    if let Some(last) = page.last() {
        c.after = Some((last.occurred_at, last.id));
    }
    for e in page {
        if !c.first {
            out.push(b',');
        }
        c.first = false;
        serde_json::to_writer(&mut out, &Event::new(e, c.user.id()))
            .map_err(std::io::Error::other)?;
    }
    if c.done {
        out.extend_from_slice(b"]}\n");
    }
    Ok(Some((Bytes::from(out), c)))
}

pub async fn download_export(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    throttle::consume(&state.db, &Bucket::export(user.id()), now).await?;
    // An export reads and changes nothing, so its record stands alone.
    let exported = audit::Event::by(user.actor())
        .did("account.exported")
        .on("user", user.id())
        .detail(json!({ "schema": SCHEMA }))
        .from(&client.origin());
    state.db.record_event(&exported, now).await?;
    let head = Bytes::from(head(&state, &session, &user, now).await?);
    let events = futures_util::stream::try_unfold(
        Cursor {
            db: state.db.clone(),
            user,
            after: None,
            first: true,
            done: false,
        },
        next_chunk,
    );
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }),
        events,
    );
    let mut res = (StatusCode::OK, Body::from_stream(body)).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"gatehouse-export-{}.json\"",
        date(now)
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(res)
}
