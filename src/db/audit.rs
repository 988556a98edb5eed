//! The audit log: append-only records of who did what to what, when and from
//! where. Nothing secret is ever written here.
//!
//! The invariant: an event is committed if and only if the change it records
//! is. Storage functions that change something take their `Event` and write
//! it with `insert_event!` (the one insert into `audit_events`) inside their
//! own transaction; `Db::record_event` writes alone only the events that
//! record no change (refusals, reads, sign-ins whose session row the session
//! layer writes after the handler).

use sqlx::FromRow;
use uuid::Uuid;

use super::invitations::PendingInvitation;
use super::{Db, on_pool};
use crate::authz::proof::{CurrentUser, OrgScope, PlatformScope, ScimScope};

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
    /// A schedule of a workspace, enqueueing a run when due
    /// (`jobs::schedules`); recorded as `schedule:<name>`.
    Schedule {
        id: Uuid,
        name: String,
    },
    /// An org's identity provider, through one of its SCIM tokens; recorded
    /// as `scim:<token name>`.
    ScimToken {
        id: Uuid,
        name: String,
    },
}

impl Actor {
    /// How the actor is named in records (`audit_events.actor_label`,
    /// `runs.requested_by`).
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.clone(),
            Actor::ServiceAccount { name, .. } => format!("service account: {name}"),
            Actor::Anonymous => "anonymous".to_owned(),
            Actor::System => "system".to_owned(),
            Actor::MasterKey { prefix } => format!("master-key:{prefix}"),
            Actor::Schedule { name, .. } => format!("schedule:{name}"),
            Actor::ScimToken { name, .. } => format!("scim:{name}"),
        }
    }

    fn id(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. }
            | Actor::ServiceAccount { id, .. }
            | Actor::Schedule { id, .. }
            | Actor::ScimToken { id, .. } => Some(*id),
            Actor::Anonymous | Actor::System | Actor::MasterKey { .. } => None,
        }
    }
}

/// Where the request came from: the client's address and user agent, and the
/// request id the router gave the request (`x-request-id`), so that an event
/// can be matched with the log lines of the request that caused it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// An audit event about to be written, built so that a call site reads as the
/// action it records:
///
/// ```text
/// Event::by(user.actor()).did("api_key.rotated").on("api_key", key.id)
///     .in_org(&scope).detail(json!({ "name": name })).from(&origin)
/// ```
///
/// The org of an event comes from a scope proof (`in_org`), never from a raw
/// id a handler holds, so an event lands only in the log of an org the actor
/// was checked against. It is written inside the transaction of the change it
/// records (see the `Db` methods that take an `Event`), or alone by
/// `Db::record_event` when nothing changes; both go through `insert_event!`.
#[derive(Debug, Clone)]
#[must_use = "an event is recorded only when it is passed to the storage function"]
pub struct Event {
    actor: Actor,
    action: &'static str,
    target_kind: Option<&'static str>,
    target_id: Option<String>,
    org_id: Option<Uuid>,
    origin: Origin,
    detail: serde_json::Value,
}

/// The first half of an event: who acted. `did` names the action.
#[derive(Debug, Clone)]
#[must_use]
pub struct EventBy(Actor);

impl EventBy {
    /// The action, `<thing>.<past participle>`, e.g. `member.removed`.
    pub fn did(self, action: &'static str) -> Event {
        Event {
            actor: self.0,
            action,
            target_kind: None,
            target_id: None,
            org_id: None,
            origin: Origin::default(),
            detail: serde_json::Value::Object(Default::default()),
        }
    }
}

impl Event {
    pub fn by(actor: Actor) -> EventBy {
        EventBy(actor)
    }

    /// The same event as another action (a storage function that records
    /// several related changes from one event the handler built).
    pub fn doing(mut self, action: &'static str) -> Self {
        self.action = action;
        self
    }

    /// What the action was done to.
    pub fn on(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target_kind = Some(kind);
        self.target_id = Some(id.to_string());
        self
    }

    /// The org whose log the event belongs to, taken from the proof that the
    /// actor was checked against it (an `&OwnerScope` derefs to one).
    pub fn in_org(mut self, scope: &OrgScope) -> Self {
        self.org_id = Some(scope.org_id());
        self
    }

    /// The org of a SCIM token (the identity provider's actions land in the
    /// log of the one org its token reaches).
    pub fn in_scim_org(mut self, scope: &ScimScope) -> Self {
        self.org_id = Some(scope.org_id());
        self
    }

    /// An operator's or master key's action on an organization it names by id
    /// (the platform console and `/v1/admin` act on any org, so there is no
    /// membership proof to take the org from): the platform proof stands in
    /// for it.
    pub fn in_org_by_platform(mut self, _scope: &PlatformScope, org_id: Uuid) -> Self {
        self.org_id = Some(org_id);
        self
    }

    /// The copies of a platform action that concerns several organizations
    /// (an operator's action on a user who belongs to them): one per org,
    /// each in that org's log (`in_org_by_platform`), or the event alone,
    /// platform-wide, when there is none. The cross-tenant log lists every
    /// copy; they share the detail, so a caller that wants them linked puts
    /// one id in it (`OperatorAction` does).
    pub fn in_orgs_by_platform(self, scope: &PlatformScope, org_ids: &[Uuid]) -> Vec<Self> {
        if org_ids.is_empty() {
            return vec![self];
        }
        org_ids
            .iter()
            .map(|&org_id| self.clone().in_org_by_platform(scope, org_id))
            .collect()
    }

    /// The org of an invitation whose link's secret was just proved (the
    /// invitee has no membership, so no scope, until they accept).
    pub fn in_invited_org(mut self, invitation: &PendingInvitation) -> Self {
        self.org_id = Some(invitation.org_id());
        self
    }

    /// The org a storage function established itself, in the transaction
    /// that writes the event (a new org, an accepted invitation): no proof
    /// exists yet, and the id never comes from a handler.
    pub(in crate::db) fn in_org_established(mut self, org_id: Uuid) -> Self {
        self.org_id = Some(org_id);
        self
    }

    /// A key's event also goes to the log of the org the key is bound to, if
    /// any: the org as read from the key's row in the transaction that
    /// changes it (the key's owner, a scanner's report or a rotation does
    /// not hold an org scope).
    pub(in crate::db) fn in_org_of_key(self, org_id: Option<Uuid>) -> Self {
        match org_id {
            Some(org_id) => self.in_org_established(org_id),
            None => self,
        }
    }

    /// More facts for the record (never a secret).
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Adds one fact to the detail (used by storage functions that learn
    /// something while making the change, e.g. how many sessions it revoked).
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if !self.detail.is_object() {
            self.detail = serde_json::Value::Object(Default::default());
        }
        if let Some(map) = self.detail.as_object_mut() {
            map.insert(key.to_owned(), value.into());
        }
        self
    }

    /// Where the request came from.
    pub fn from(mut self, origin: &Origin) -> Self {
        self.origin = origin.clone();
        self
    }

    /// `(actor_id, actor_label)` as stored.
    fn actor_columns(&self) -> (Option<Uuid>, String) {
        (self.actor.id(), self.actor.label())
    }

    /// Who acts, as the records name them.
    pub fn actor_label(&self) -> String {
        self.actor.label()
    }
}

/// The one insert of the audit log.
#[doc(hidden)]
pub const INSERT_EVENT: &str = "INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, \
     action, target_kind, target_id, org_id, ip, user_agent, request_id, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Writes `$event` (an `&Event`) with `$exec`: `&mut *tx` inside `in_tx!`,
/// so that the event commits or rolls back with the change it records, or a
/// pool for an event that records no change. The only place that inserts
/// into `audit_events`; a macro rather than a generic function because the
/// statement is then compiled against each engine's concrete executor.
/// Evaluates to `Result<(), sqlx::Error>`.
macro_rules! insert_event {
    ($exec:expr, $event:expr, $now:expr) => {{
        let event: &$crate::db::audit::Event = $event;
        let row = event.row();
        sqlx::query($crate::db::audit::INSERT_EVENT)
            .bind(uuid::Uuid::now_v7())
            .bind($now)
            .bind(row.actor_id)
            .bind(row.actor_label)
            .bind(row.action)
            .bind(row.target_kind)
            .bind(row.target_id)
            .bind(row.org_id)
            .bind(row.ip)
            .bind(row.user_agent)
            .bind(row.request_id)
            .bind(row.detail)
            .execute($exec)
            .await
            .map(|_| ())
    }};
}
pub(crate) use insert_event;

/// Runs `$query` (a statement that changes at most one row) in the
/// transaction `$tx` and, when it changed one, writes `$event` there too.
/// Evaluates to whether it changed one; a statement that changes nothing
/// records nothing.
macro_rules! execute_audited {
    ($tx:ident, $query:expr, $event:expr, $now:expr) => {{
        let changed = $query.execute(&mut *$tx).await?.rows_affected() == 1;
        if changed {
            $crate::db::audit::insert_event!(&mut *$tx, $event, $now)?;
        }
        changed
    }};
}
pub(crate) use execute_audited;

/// The columns of one event as `insert_event!` binds them.
#[doc(hidden)]
pub struct EventRow<'a> {
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub action: &'static str,
    pub target_kind: Option<&'static str>,
    pub target_id: Option<&'a str>,
    pub org_id: Option<Uuid>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: String,
}

impl Event {
    #[doc(hidden)]
    pub fn row(&self) -> EventRow<'_> {
        let (actor_id, actor_label) = self.actor_columns();
        EventRow {
            actor_id,
            actor_label,
            action: self.action,
            target_kind: self.target_kind,
            target_id: self.target_id.as_deref(),
            org_id: self.org_id,
            ip: self.origin.ip.as_deref(),
            user_agent: self.origin.user_agent.as_deref(),
            request_id: self.origin.request_id.as_deref(),
            detail: self.detail.to_string(),
        }
    }
}

/// An event as read back.
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

impl Db {
    /// Writes an event that records no change of its own (a rejected
    /// sign-in, a refused key, a sign-in): a change is recorded by the
    /// storage function that makes it, in the same transaction.
    pub async fn record_event(&self, event: &Event, now: i64) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| insert_event!(pool, event, now))
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
