//! Configuration bundles and snapshots (issue 14, migration 0019).
//!
//! Invariants:
//! - every read goes through a `ConfigRead` proof (every kind's `:read`
//!   checked) and filters by its workspace *and* org, so another workspace's
//!   or org's resources and snapshots match nothing;
//! - an apply is one transaction: it re-reads the workspace's live
//!   resources inside it (on PostgreSQL after locking the workspace row, on
//!   SQLite in a `BEGIN IMMEDIATE` transaction), refuses when the plan it
//!   was asked to apply was made against another state (`PlanChanged`),
//!   re-checks the bundle's references against the state it leads to,
//!   changes only kinds whose `:write` the `ConfigWrite` proof checked, and
//!   stores the snapshot (the bundle before and after) and every audit event
//!   with the change — all or nothing. A plan that changes nothing writes
//!   nothing (no snapshot, no event): applying a bundle twice changes
//!   nothing the second time.

use serde_json::{Map, Value, json};
use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Actor, Event, insert_event};
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{ConfigRead, ConfigWrite, WorkspaceScope};
use crate::domain::ResourceKind;
use crate::domain::bundle::{Action, Bundle, Entry, Plan, broken_references, plan};
use crate::domain::resource_config::{FieldProblem, Reference};

/// How many snapshots the history lists.
pub const HISTORY_PAGE: i64 = 100;

#[derive(Debug, Clone, FromRow)]
struct LiveRow {
    id: Uuid,
    kind: String,
    name: String,
    description: String,
    metadata: String,
    config: String,
}

impl LiveRow {
    fn entry(&self) -> Option<Entry> {
        Some(Entry {
            kind: ResourceKind::parse(&self.kind)?,
            name: self.name.clone(),
            description: self.description.clone(),
            metadata: serde_json::from_str::<Map<String, Value>>(&self.metadata)
                .unwrap_or_default(),
            config: serde_json::from_str(&self.config).unwrap_or_else(|_| json!({})),
        })
    }
}

const LIVE_ROWS: &str = "SELECT id, kind, name, description, metadata, config FROM resources \
     WHERE workspace_id = $1 AND org_id = $2 AND deleted_at IS NULL";
const LOCK_WORKSPACE_SQLITE: &str =
    "SELECT id FROM workspaces WHERE id = $1 AND org_id = $2 AND archived_at IS NULL";
const LOCK_WORKSPACE_POSTGRES: &str =
    "SELECT id FROM workspaces WHERE id = $1 AND org_id = $2 AND archived_at IS NULL FOR UPDATE";

fn bundle_of(rows: &[LiveRow]) -> Bundle {
    Bundle::new(rows.iter().filter_map(LiveRow::entry).collect())
}

/// A snapshot in the history (without its bundles).
#[derive(Debug, Clone, FromRow)]
pub struct SnapshotRow {
    pub id: Uuid,
    pub created_at: i64,
    pub created_by: String,
    /// `{created, updated, unchanged, deleted}`.
    pub summary: String,
    pub pruned: bool,
    pub restored_from: Option<Uuid>,
}

impl SnapshotRow {
    pub fn summary_value(&self) -> Value {
        serde_json::from_str(&self.summary).unwrap_or_else(|_| json!({}))
    }
}

/// A snapshot with the workspace's bundle before and after the apply.
#[derive(Debug, Clone, FromRow)]
pub struct SnapshotFull {
    pub id: Uuid,
    pub created_at: i64,
    pub created_by: String,
    pub summary: String,
    pub pruned: bool,
    pub restored_from: Option<Uuid>,
    pub before_bundle: String,
    pub after_bundle: String,
}

impl SnapshotFull {
    /// What the apply changed, from its two bundles (unchanged resources
    /// included, as `Action::Unchanged`).
    pub fn changes(&self) -> Plan {
        let read = |text: &str| {
            crate::domain::bundle::parse(text.as_bytes())
                .map(|p| p.bundle)
                .unwrap_or_default()
        };
        plan(&read(&self.before_bundle), &read(&self.after_bundle), true)
    }

    pub fn row(&self) -> SnapshotRow {
        SnapshotRow {
            id: self.id,
            created_at: self.created_at,
            created_by: self.created_by.clone(),
            summary: self.summary.clone(),
            pruned: self.pruned,
            restored_from: self.restored_from,
        }
    }
}

/// Why an apply changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The workspace changed since the plan; the plan of it now.
    #[error("plan changed")]
    PlanChanged(Box<Plan>),
    /// The bundle's references name nothing in the state it leads to now.
    #[error("broken references")]
    Invalid(Vec<FieldProblem>),
    /// The plan touches a kind whose `:write` the proof did not check.
    #[error("kind not writable")]
    NotWritable(ResourceKind),
    /// The workspace was archived meanwhile.
    #[error("workspace archived")]
    Archived,
    /// A resource of a name the apply creates was created meanwhile by
    /// another request (the unique index decided): the workspace changed.
    #[error("raced")]
    Raced,
    #[error(transparent)]
    Storage(#[from] sqlx::Error),
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub plan: Plan,
    /// The snapshot it stored; `None` when it changed nothing.
    pub snapshot: Option<Uuid>,
}

/// What to apply, as the request asked it.
pub struct ApplyRequest<'a> {
    pub bundle: &'a Bundle,
    pub references: &'a [Reference],
    pub prune: bool,
    /// The plan the caller confirmed; `None` to apply whatever the plan is
    /// now (the API without `plan=`).
    pub expected_plan: Option<&'a str>,
    /// The snapshot a restore re-applies.
    pub restored_from: Option<Uuid>,
}

impl Db {
    /// The workspace's configuration now.
    pub async fn workspace_bundle(&self, read: &ConfigRead) -> Result<Bundle, sqlx::Error> {
        let scope = read.scope();
        let rows: Vec<LiveRow> = on_pool!(self, |pool| {
            sqlx::query_as::<_, LiveRow>(LIVE_ROWS)
                .bind(scope.workspace_id())
                .bind(scope.org_id())
                .fetch_all(pool)
                .await
        })?;
        Ok(bundle_of(&rows))
    }

    /// Applies `req` (see the module doc); `event` is the `config.applied`
    /// event, each resource's change is recorded as `resource.created`,
    /// `.updated` or `.deleted` beside it.
    pub async fn apply_bundle(
        &self,
        write: &ConfigWrite,
        req: &ApplyRequest<'_>,
        actor: &Actor,
        event: Event,
        now: i64,
    ) -> Result<Applied, ApplyError> {
        let scope: &WorkspaceScope = write.scope();
        let by = actor.label();
        let lock_sql = match self {
            Db::Sqlite(_) => LOCK_WORKSPACE_SQLITE,
            Db::Postgres(_) => LOCK_WORKSPACE_POSTGRES,
        };
        in_tx!(self, |tx| {
            let live: Option<(Uuid,)> = sqlx::query_as(lock_sql)
                .bind(scope.workspace_id())
                .bind(scope.org_id())
                .fetch_optional(&mut *tx)
                .await?;
            if live.is_none() {
                return Err(ApplyError::Archived);
            }
            let rows: Vec<LiveRow> = sqlx::query_as::<_, LiveRow>(LIVE_ROWS)
                .bind(scope.workspace_id())
                .bind(scope.org_id())
                .fetch_all(&mut *tx)
                .await?;
            let before = bundle_of(&rows);
            let the_plan = plan(&before, req.bundle, req.prune);
            if req.expected_plan.is_some_and(|p| p != the_plan.id) {
                return Err(ApplyError::PlanChanged(Box::new(the_plan)));
            }
            let broken = broken_references(req.references, &the_plan.result);
            if !broken.is_empty() {
                return Err(ApplyError::Invalid(broken));
            }
            if !the_plan.changes_anything() {
                return Ok(Applied {
                    plan: the_plan,
                    snapshot: None,
                });
            }
            if let Some(kind) = the_plan
                .kinds_touched()
                .into_iter()
                .find(|k| !write.may_write(*k))
            {
                return Err(ApplyError::NotWritable(kind));
            }
            let snapshot = Uuid::now_v7();
            let id_of = |kind: ResourceKind, name: &str| {
                rows.iter()
                    .find(|r| r.kind == kind.as_str() && r.name == name)
                    .map(|r| r.id)
            };
            for item in &the_plan.items {
                let resource_event = |action: &'static str, id: Uuid| {
                    event
                        .clone()
                        .doing(action)
                        .on("resource", id)
                        .with("kind", item.kind.as_str())
                        .with("workspace", scope.slug())
                        .with("name", item.name.as_str())
                        .with("snapshot", snapshot.to_string())
                };
                match (&item.action, &item.after) {
                    (Action::Create, Some(e)) => {
                        let id = Uuid::now_v7();
                        sqlx::query(
                            "INSERT INTO resources (id, org_id, workspace_id, kind, name, \
                             description, metadata, config, version, created_by, created_at, \
                             updated_by, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $9, $10)",
                        )
                        .bind(id)
                        .bind(scope.org_id())
                        .bind(scope.workspace_id())
                        .bind(e.kind.as_str())
                        .bind(&e.name)
                        .bind(&e.description)
                        .bind(Value::Object(e.metadata.clone()).to_string())
                        .bind(e.config.to_string())
                        .bind(&by)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            if is_unique_violation(&e) {
                                ApplyError::Raced
                            } else {
                                ApplyError::Storage(e)
                            }
                        })?;
                        insert_event!(&mut *tx, &resource_event("resource.created", id), now)?;
                    }
                    (Action::Update(changes), Some(e)) => {
                        let Some(id) = id_of(e.kind, &e.name) else {
                            continue;
                        };
                        sqlx::query(
                            "UPDATE resources SET description = $1, metadata = $2, config = $3, \
                             version = version + 1, updated_by = $4, updated_at = $5 \
                             WHERE id = $6 AND workspace_id = $7 AND org_id = $8 \
                             AND deleted_at IS NULL",
                        )
                        .bind(&e.description)
                        .bind(Value::Object(e.metadata.clone()).to_string())
                        .bind(e.config.to_string())
                        .bind(&by)
                        .bind(now)
                        .bind(id)
                        .bind(scope.workspace_id())
                        .bind(scope.org_id())
                        .execute(&mut *tx)
                        .await?;
                        let ev = resource_event("resource.updated", id)
                            .with("changes", Value::Object(changes.clone()));
                        insert_event!(&mut *tx, &ev, now)?;
                    }
                    (Action::Delete, _) => {
                        let Some(id) = id_of(item.kind, &item.name) else {
                            continue;
                        };
                        sqlx::query(
                            "UPDATE resources SET deleted_at = $1, deleted_by = $2 \
                             WHERE id = $3 AND workspace_id = $4 AND org_id = $5 \
                             AND deleted_at IS NULL",
                        )
                        .bind(now)
                        .bind(&by)
                        .bind(id)
                        .bind(scope.workspace_id())
                        .bind(scope.org_id())
                        .execute(&mut *tx)
                        .await?;
                        insert_event!(&mut *tx, &resource_event("resource.deleted", id), now)?;
                    }
                    _ => {}
                }
            }
            let summary = the_plan.summary();
            sqlx::query(
                "INSERT INTO config_snapshots (id, org_id, workspace_id, created_at, created_by, \
                 before_bundle, after_bundle, summary, pruned, restored_from) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(snapshot)
            .bind(scope.org_id())
            .bind(scope.workspace_id())
            .bind(now)
            .bind(&by)
            .bind(before.render())
            .bind(the_plan.result.render())
            .bind(summary.to_string())
            .bind(req.prune)
            .bind(req.restored_from)
            .execute(&mut *tx)
            .await?;
            let ev = event
                .on("config_snapshot", snapshot)
                .with("workspace", scope.slug())
                .with("plan", the_plan.id.as_str())
                .with("prune", req.prune)
                .with("summary", summary)
                .with(
                    "restored_from",
                    req.restored_from
                        .map_or(Value::Null, |id| Value::String(id.to_string())),
                );
            insert_event!(&mut *tx, &ev, now)?;
            Ok(Applied {
                plan: the_plan,
                snapshot: Some(snapshot),
            })
        })
    }

    /// The workspace's newest snapshots, newest first.
    pub async fn list_snapshots(&self, read: &ConfigRead) -> Result<Vec<SnapshotRow>, sqlx::Error> {
        let scope = read.scope();
        on_pool!(self, |pool| {
            sqlx::query_as::<_, SnapshotRow>(
                "SELECT id, created_at, created_by, summary, pruned, restored_from \
                 FROM config_snapshots WHERE workspace_id = $1 AND org_id = $2 \
                 ORDER BY created_at DESC, id DESC LIMIT $3",
            )
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(HISTORY_PAGE)
            .fetch_all(pool)
            .await
        })
    }

    /// The snapshot `id` of the workspace, with its bundles.
    pub async fn snapshot(
        &self,
        read: &ConfigRead,
        id: Uuid,
    ) -> Result<Option<SnapshotFull>, sqlx::Error> {
        let scope = read.scope();
        on_pool!(self, |pool| {
            sqlx::query_as::<_, SnapshotFull>(
                "SELECT id, created_at, created_by, summary, pruned, restored_from, \
                 before_bundle, after_bundle FROM config_snapshots \
                 WHERE id = $1 AND workspace_id = $2 AND org_id = $3",
            )
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .fetch_optional(pool)
            .await
        })
    }
}
