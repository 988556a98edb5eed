//! The audit log: append-only records of who did what to what, when and from
//! where. Nothing secret is ever written here.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, on_pool};
use crate::authz::proof::CurrentUser;

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    User {
        id: Uuid,
        email: String,
    },
    /// A service account, through one of its keys.
    ServiceAccount {
        id: Uuid,
        name: String,
    },
    /// Someone not signed in (a failed sign-in names the email tried).
    Anonymous,
    System,
    /// A master key (it has no owner); recorded as `master-key:<prefix>`.
    MasterKey {
        prefix: String,
    },
}

/// Where the request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<String>,
    pub org_id: Option<Uuid>,
    pub origin: &'a Origin,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: i64,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
}

/// The `actor_id` and `actor_label` columns of an event by `actor`.
pub(crate) fn actor_columns(actor: &Actor) -> (Option<Uuid>, String) {
    match actor {
        Actor::User { id, email } => (Some(*id), email.clone()),
        Actor::ServiceAccount { id, name } => (Some(*id), format!("service account: {name}")),
        Actor::Anonymous => (None, "anonymous".to_owned()),
        Actor::System => (None, "system".to_owned()),
        Actor::MasterKey { prefix } => (None, format!("master-key:{prefix}")),
    }
}

/// Inserts one `NewEvent` with the given executor — `&mut *tx` inside an
/// `in_tx!` body, so the event commits exactly when the change it records
/// does (a failed insert returns early and rolls the change back).
macro_rules! insert_event {
    ($exec:expr, $event:expr, $now:expr) => {{
        let event = $event;
        let (actor_id, actor_label) = $crate::db::audit::actor_columns(event.actor);
        sqlx::query(
            "INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, action, \
             target_kind, target_id, org_id, ip, user_agent, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind($now)
        .bind(actor_id)
        .bind(&actor_label)
        .bind(event.action)
        .bind(event.target_kind)
        .bind(event.target_id.as_deref())
        .bind(event.org_id)
        .bind(event.origin.ip.as_deref())
        .bind(event.origin.user_agent.as_deref())
        .bind(event.detail.to_string())
        .execute($exec)
        .await?;
    }};
}
pub(crate) use insert_event;

impl Db {
    pub async fn record_event(&self, event: NewEvent<'_>, now: i64) -> Result<(), sqlx::Error> {
        let (actor_id, actor_label) = actor_columns(event.actor);
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, action, \
                 target_kind, target_id, org_id, ip, user_agent, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(Uuid::now_v7())
            .bind(now)
            .bind(actor_id)
            .bind(&actor_label)
            .bind(event.action)
            .bind(event.target_kind)
            .bind(event.target_id.as_deref())
            .bind(event.org_id)
            .bind(event.origin.ip.as_deref())
            .bind(event.origin.user_agent.as_deref())
            .bind(event.detail.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The most recent events where the user is the actor or the target.
    pub async fn recent_events_for_user(
        &self,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, AuditEvent>(
                "SELECT id, occurred_at, actor_id, actor_label, action, target_kind, target_id, \
                 ip, user_agent, detail FROM audit_events \
                 WHERE actor_id = $1 OR (target_kind = 'user' AND target_id = $2) \
                 ORDER BY occurred_at DESC, id DESC LIMIT $3",
            )
            .bind(user_id)
            .bind(user_id.to_string())
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// One page of the events where the user is the actor or the target (as
    /// a user, or as the email typed at a failed sign-in), oldest first, after
    /// the keyset `after` = (occurred_at, id) of the last event of the
    /// previous page. Each page is one short query on the `occurred_at`
    /// index, so reading a million events holds neither a transaction nor
    /// more than one page in memory.
    pub async fn audit_page_for_user(
        &self,
        user: &CurrentUser,
        after: Option<(i64, Uuid)>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, sqlx::Error> {
        // Before the first event: no id sorts below the nil UUID.
        let (at, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        on_pool!(self, |pool| {
            sqlx::query_as::<_, AuditEvent>(
                "SELECT id, occurred_at, actor_id, actor_label, action, target_kind, target_id, \
                 ip, user_agent, detail FROM audit_events \
                 WHERE occurred_at >= $1 AND (occurred_at > $1 OR id > $2) \
                 AND (actor_id = $3 OR (target_kind = 'user' AND target_id = $4) \
                      OR (target_kind = 'email' AND target_id = $5)) \
                 ORDER BY occurred_at, id LIMIT $6",
            )
            .bind(at)
            .bind(id)
            .bind(user.id())
            .bind(user.id().to_string())
            .bind(user.email())
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}

/// Filters of an audit log view; empty strings and `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Part of the actor's email (case-insensitive).
    pub actor: String,
    /// An exact action, e.g. `member.removed`.
    pub action: String,
    /// From this instant (inclusive).
    pub from: Option<i64>,
    /// Until this instant (exclusive).
    pub until: Option<i64>,
}

/// Where a page of events starts: before this event (newest first).
#[derive(Debug, Clone, Copy)]
pub struct AuditCursor {
    pub occurred_at: i64,
    pub id: Uuid,
}

impl AuditCursor {
    pub fn encode(&self) -> String {
        format!("{}~{}", self.occurred_at, self.id.simple())
    }
    pub fn decode(s: &str) -> Option<Self> {
        let (at, id) = s.split_once('~')?;
        Some(AuditCursor {
            occurred_at: at.parse().ok()?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

impl Db {
    /// A page of an org's audit log, newest first (keyset pagination).
    pub async fn org_events(
        &self,
        scope: &crate::authz::proof::OwnerScope,
        filter: &AuditFilter,
        before: Option<AuditCursor>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, sqlx::Error> {
        let actor = format!(
            "%{}%",
            filter
                .actor
                .trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let before = before.unwrap_or(AuditCursor {
            occurred_at: i64::MAX,
            id: Uuid::max(),
        });
        on_pool!(self, |pool| {
            sqlx::query_as::<_, AuditEvent>(
                "SELECT id, occurred_at, actor_id, actor_label, action, target_kind, target_id, \
                 ip, user_agent, detail FROM audit_events \
                 WHERE org_id = $1 AND lower(actor_label) LIKE $2 ESCAPE '\\' \
                 AND ($3 = '' OR action = $3) AND occurred_at >= $4 AND occurred_at < $5 \
                 AND (occurred_at < $6 OR (occurred_at = $6 AND id < $7)) \
                 ORDER BY occurred_at DESC, id DESC LIMIT $8",
            )
            .bind(scope.org_id())
            .bind(&actor)
            .bind(filter.action.trim())
            .bind(filter.from.unwrap_or(i64::MIN))
            .bind(filter.until.unwrap_or(i64::MAX))
            .bind(before.occurred_at)
            .bind(before.id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}
