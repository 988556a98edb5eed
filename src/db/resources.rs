//! Workspace resources — agents, tools, MCP servers and schedules — in one
//! table, one kind per row (migration 0014). Every function takes a
//! `WorkspaceScope` (or an `Allowed<P>` proof for writes) and filters by its
//! workspace *and* org, so a resource id of another workspace or org matches
//! nothing, and a reference by name never leaves the workspace.
//!
//! A deleted resource keeps its workspace and org (`deleted_at` set) until
//! the purge; "live" means not deleted.
//!
//! Writes take a `WriteProof` (minted by `authz::resource` only after the
//! kind's `:write` permission was checked) and record their audit event in
//! the org's log in the same transaction (`resource.created`, `.updated`
//! with a before/after diff of the changed fields, `.deleted`, `.restored`,
//! `.purged`). An update names the version it was based on: a stale one
//! changes nothing and answers the current row. Deleting an agent that an
//! enabled live schedule points at is refused with those schedules' names,
//! checked in the deletion's transaction. A deleted resource can be restored
//! for `RESTORE_WINDOW_SECS`, and is purged after it by
//! `purge_deleted_resources`, one idempotent DELETE, safe on several
//! instances.

use sqlx::FromRow;
use uuid::Uuid;

use serde_json::{Map, Value, json};

use super::audit::{Actor, Event, insert_event};
use super::users::is_unique_violation;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{WorkspaceScope, WriteProof};
use crate::domain::ResourceKind;
use crate::domain::resource_config::{FieldProblem, Reference, ResourceInput, schedule_target};

/// How long a deleted resource can be restored; the purge removes it after.
pub const RESTORE_WINDOW_SECS: i64 = 30 * 24 * 3600;

/// The columns of `ResourceRow`, in its order.
macro_rules! columns {
    () => {
        "id, kind, name, description, metadata, config, version, created_by, created_at, \
         updated_by, updated_at, deleted_at, deleted_by"
    };
}

#[derive(Debug, Clone, FromRow)]
pub struct ResourceRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub description: String,
    /// A JSON object of string labels.
    pub metadata: String,
    /// The kind's JSON configuration document.
    pub config: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_by: String,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deleted_by: Option<String>,
}

impl Db {
    /// The live resource `id` of `kind` in the scope's workspace.
    pub async fn live_resource(
        &self,
        scope: &WorkspaceScope,
        kind: ResourceKind,
        id: Uuid,
    ) -> Result<Option<ResourceRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources \
                 WHERE id = $1 AND workspace_id = $2 AND org_id = $3 AND kind = $4 \
                 AND deleted_at IS NULL"
            ))
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await
        })
    }

    /// The live resource of `kind` named `name` in the scope's workspace: how
    /// references (an agent's tools, a schedule's agent) are resolved.
    pub async fn live_resource_by_name(
        &self,
        scope: &WorkspaceScope,
        kind: ResourceKind,
        name: &str,
    ) -> Result<Option<ResourceRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ResourceRow>(
                "SELECT id, kind, name, description, metadata, config, version, created_by, \
                 created_at, updated_by, updated_at, deleted_at, deleted_by FROM resources \
                 WHERE workspace_id = $1 AND org_id = $2 AND kind = $3 AND name = $4 \
                 AND deleted_at IS NULL",
            )
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(kind.as_str())
            .bind(name)
            .fetch_optional(pool)
            .await
        })
    }
}

/// Why a resource write changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("no such resource")]
    NotFound,
    /// Another live resource of the kind in the workspace has the name.
    #[error("name taken")]
    NameTaken,
    /// The edit was based on an older version; here is the current row.
    #[error("stale version")]
    Stale(Box<ResourceRow>),
    /// An agent that enabled live schedules point at (their names).
    #[error("in use by schedules")]
    InUse(Vec<String>),
    /// An enabled schedule's agent was deleted while the schedule was being
    /// written (checked again in the write's transaction).
    #[error("invalid reference")]
    Invalid(Vec<FieldProblem>),
    #[error(transparent)]
    Storage(#[from] sqlx::Error),
}

fn unique_as_name_taken(e: sqlx::Error) -> ResourceError {
    if is_unique_violation(&e) {
        ResourceError::NameTaken
    } else {
        ResourceError::Storage(e)
    }
}

/// A keyset cursor: the last row's name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCursor {
    pub name: String,
    pub id: Uuid,
}

impl ResourceCursor {
    /// Opaque text for `?after=`.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let raw = json!([self.name, self.id]).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(s: &str) -> Option<Self> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        let (name, id): (String, Uuid) = serde_json::from_slice(&raw).ok()?;
        // No control character (NUL above all: PostgreSQL text cannot hold
        // it) reaches a query; no name holds one.
        if name.chars().any(char::is_control) {
            return None;
        }
        Some(Self { name, id })
    }

    pub fn of(row: &ResourceRow) -> Self {
        Self {
            name: row.name.clone(),
            id: row.id,
        }
    }
}

/// The largest page a list answers.
pub const MAX_PAGE: i64 = 100;

impl ResourceRow {
    pub fn metadata_value(&self) -> Value {
        serde_json::from_str(&self.metadata).unwrap_or_else(|_| json!({}))
    }
    pub fn config_value(&self) -> Value {
        serde_json::from_str(&self.config).unwrap_or_else(|_| json!({}))
    }

    /// The fields of `self` that differ in `after`: `{field: {before, after}}`.
    fn diff(&self, after: &ResourceInput) -> Map<String, Value> {
        let mut d = Map::new();
        let mut put = |k: &str, b: Value, a: Value| {
            if b != a {
                d.insert(k.to_owned(), json!({ "before": b, "after": a }));
            }
        };
        put("name", json!(self.name), json!(after.name));
        put(
            "description",
            json!(self.description),
            json!(after.description),
        );
        put(
            "metadata",
            self.metadata_value(),
            Value::Object(after.metadata.clone()),
        );
        put("config", self.config_value(), after.config.clone());
        d
    }
}

/// The live agent an enabled schedule runs, re-read in the schedule's write
/// transaction; on PostgreSQL `FOR SHARE`, so that a concurrent deletion of
/// the agent (which locks it `FOR UPDATE`) either waits for the schedule and
/// then sees it, or has committed and the agent is gone. SQLite's write
/// transactions are serialized already (`BEGIN IMMEDIATE`).
const SCHEDULE_AGENT_SQLITE: &str = "SELECT id FROM resources WHERE workspace_id = $1 \
     AND org_id = $2 AND kind = 'agent' AND name = $3 AND deleted_at IS NULL";
const SCHEDULE_AGENT_POSTGRES: &str = "SELECT id FROM resources WHERE workspace_id = $1 \
     AND org_id = $2 AND kind = 'agent' AND name = $3 AND deleted_at IS NULL FOR SHARE";
const AGENT_FOR_DELETE_SQLITE: &str = "SELECT id FROM resources WHERE id = $1 \
     AND workspace_id = $2 AND org_id = $3 AND deleted_at IS NULL";
const AGENT_FOR_DELETE_POSTGRES: &str = "SELECT id FROM resources WHERE id = $1 \
     AND workspace_id = $2 AND org_id = $3 AND deleted_at IS NULL FOR UPDATE";

/// The agent an enabled schedule config runs, if it must exist.
fn enabled_schedule_agent(kind: ResourceKind, config: &Value) -> Option<String> {
    if kind != ResourceKind::Schedule {
        return None;
    }
    match schedule_target(config) {
        (Some(agent), true) => Some(agent.trim().to_owned()),
        _ => None,
    }
}

fn agent_gone(name: &str) -> ResourceError {
    ResourceError::Invalid(vec![FieldProblem::new(
        "config.agent",
        format!("no agent named `{name}` in this workspace"),
    )])
}

impl Db {
    fn schedule_agent_sql(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => SCHEDULE_AGENT_SQLITE,
            Db::Postgres(_) => SCHEDULE_AGENT_POSTGRES,
        }
    }

    fn agent_for_delete_sql(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => AGENT_FOR_DELETE_SQLITE,
            Db::Postgres(_) => AGENT_FOR_DELETE_POSTGRES,
        }
    }

    /// A page of the live resources of `kind` in the scope's workspace, by
    /// name then id, after `after`; at most `MAX_PAGE`.
    pub async fn list_resources(
        &self,
        scope: &WorkspaceScope,
        kind: ResourceKind,
        after: Option<&ResourceCursor>,
        limit: i64,
    ) -> Result<Vec<ResourceRow>, sqlx::Error> {
        self.resource_page(scope, kind, false, after, limit, 0)
            .await
    }

    /// A page of the resources of the proof's kind deleted less than 30 days
    /// before `now` (restorable), for those who may write the kind.
    pub async fn list_deleted_resources(
        &self,
        proof: &WriteProof,
        after: Option<&ResourceCursor>,
        limit: i64,
        now: i64,
    ) -> Result<Vec<ResourceRow>, sqlx::Error> {
        self.resource_page(
            proof.scope(),
            proof.kind(),
            true,
            after,
            limit,
            now - RESTORE_WINDOW_SECS,
        )
        .await
    }

    async fn resource_page(
        &self,
        scope: &WorkspaceScope,
        kind: ResourceKind,
        deleted: bool,
        after: Option<&ResourceCursor>,
        limit: i64,
        deleted_since: i64,
    ) -> Result<Vec<ResourceRow>, sqlx::Error> {
        // Names are never empty, so ("", nil) sorts before every row; a row
        // value compares (name, id) as the index orders them.
        let (name, id) = after.map_or((String::new(), Uuid::nil()), |c| (c.name.clone(), c.id));
        let sql = if deleted {
            concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE workspace_id = $1 AND org_id = $2 AND kind = $3 \
                 AND deleted_at IS NOT NULL AND deleted_at > $7 \
                 AND (name, id) > ($4, $5) ORDER BY name, id LIMIT $6"
            )
        } else {
            concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE workspace_id = $1 AND org_id = $2 AND kind = $3 \
                 AND deleted_at IS NULL AND $7 = $7 \
                 AND (name, id) > ($4, $5) ORDER BY name, id LIMIT $6"
            )
        };
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ResourceRow>(sql)
                .bind(scope.workspace_id())
                .bind(scope.org_id())
                .bind(kind.as_str())
                .bind(&name)
                .bind(id)
                .bind(limit.clamp(1, MAX_PAGE))
                .bind(deleted_since)
                .fetch_all(pool)
                .await
        })
    }

    /// The deleted (still restorable) resource `id` of the proof's kind.
    pub async fn deleted_resource(
        &self,
        proof: &WriteProof,
        id: Uuid,
        now: i64,
    ) -> Result<Option<ResourceRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE id = $1 AND workspace_id = $2 AND org_id = $3 \
                 AND kind = $4 AND deleted_at IS NOT NULL AND deleted_at > $5"
            ))
            .bind(id)
            .bind(proof.scope().workspace_id())
            .bind(proof.scope().org_id())
            .bind(proof.kind().as_str())
            .bind(now - RESTORE_WINDOW_SECS)
            .fetch_optional(pool)
            .await
        })
    }

    /// The problems of a config's references: each must name a live
    /// resource of its kind in the scope's workspace (resolved only through
    /// `live_resource_by_name`, so never in another workspace or org).
    pub async fn check_references(
        &self,
        scope: &WorkspaceScope,
        references: &[Reference],
    ) -> Result<Vec<FieldProblem>, sqlx::Error> {
        let mut problems = Vec::new();
        for r in references {
            if self
                .live_resource_by_name(scope, r.kind, &r.name)
                .await?
                .is_none()
            {
                problems.push(FieldProblem::new(
                    r.field.clone(),
                    format!(
                        "no {} named `{}` in this workspace",
                        r.kind.label().to_lowercase(),
                        r.name
                    ),
                ));
            }
        }
        Ok(problems)
    }

    /// Creates a resource of the proof's kind; `event` (`resource.created`)
    /// gets the new id and is written in the same transaction.
    pub async fn create_resource(
        &self,
        proof: &WriteProof,
        input: &ResourceInput,
        actor: &Actor,
        event: Event,
        now: i64,
    ) -> Result<ResourceRow, ResourceError> {
        let id = Uuid::now_v7();
        let by = actor.label();
        let metadata = Value::Object(input.metadata.clone()).to_string();
        let config = input.config.to_string();
        let event = event
            .on("resource", id)
            .with("kind", proof.kind().as_str())
            .with("workspace", proof.scope().slug())
            .with("name", input.name.as_str());
        let must_run = enabled_schedule_agent(proof.kind(), &input.config);
        let agent_sql = self.schedule_agent_sql();
        in_tx!(self, |tx| {
            if let Some(agent) = &must_run {
                let found: Option<(Uuid,)> = sqlx::query_as(agent_sql)
                    .bind(proof.scope().workspace_id())
                    .bind(proof.scope().org_id())
                    .bind(agent)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(agent_gone(agent));
                }
            }
            sqlx::query(
                "INSERT INTO resources (id, org_id, workspace_id, kind, name, description, \
                 metadata, config, version, created_by, created_at, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $9, $10)",
            )
            .bind(id)
            .bind(proof.scope().org_id())
            .bind(proof.scope().workspace_id())
            .bind(proof.kind().as_str())
            .bind(&input.name)
            .bind(&input.description)
            .bind(&metadata)
            .bind(&config)
            .bind(&by)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unique_as_name_taken)?;
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(ResourceRow {
            id,
            kind: proof.kind().as_str().to_owned(),
            name: input.name.clone(),
            description: input.description.clone(),
            metadata,
            config,
            version: 1,
            created_by: by.clone(),
            created_at: now,
            updated_by: by,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
        })
    }

    /// Replaces the fields of the live resource `id` with `input` if its
    /// version is still `expected_version`, bumping the version; `event`
    /// (`resource.updated`) gets the before/after of each changed field.
    /// Nothing to change changes and records nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_resource(
        &self,
        proof: &WriteProof,
        id: Uuid,
        expected_version: i64,
        input: &ResourceInput,
        actor: &Actor,
        event: Event,
        now: i64,
    ) -> Result<ResourceRow, ResourceError> {
        let by = actor.label();
        let metadata = Value::Object(input.metadata.clone()).to_string();
        let config = input.config.to_string();
        let scope = proof.scope();
        let must_run = enabled_schedule_agent(proof.kind(), &input.config);
        let agent_sql = self.schedule_agent_sql();
        in_tx!(self, |tx| {
            let current = sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE id = $1 AND workspace_id = $2 AND org_id = $3 \
                 AND kind = $4 AND deleted_at IS NULL"
            ))
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(proof.kind().as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ResourceError::NotFound)?;
            if current.version != expected_version {
                return Err(ResourceError::Stale(Box::new(current)));
            }
            let changes = current.diff(input);
            if changes.is_empty() {
                return Ok(current);
            }
            if let Some(agent) = &must_run {
                let found: Option<(Uuid,)> = sqlx::query_as(agent_sql)
                    .bind(scope.workspace_id())
                    .bind(scope.org_id())
                    .bind(agent)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(agent_gone(agent));
                }
            }
            sqlx::query(
                "UPDATE resources SET name = $1, description = $2, metadata = $3, config = $4, \
                 version = version + 1, updated_by = $5, updated_at = $6 \
                 WHERE id = $7 AND workspace_id = $8 AND org_id = $9 AND version = $10 \
                 AND deleted_at IS NULL",
            )
            .bind(&input.name)
            .bind(&input.description)
            .bind(&metadata)
            .bind(&config)
            .bind(&by)
            .bind(now)
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(expected_version)
            .execute(&mut *tx)
            .await
            .map_err(unique_as_name_taken)?;
            let event = event
                .on("resource", id)
                .with("kind", proof.kind().as_str())
                .with("workspace", scope.slug())
                .with("name", input.name.as_str())
                .with("version", expected_version + 1)
                .with("changes", Value::Object(changes));
            insert_event!(&mut *tx, &event, now)?;
            Ok(ResourceRow {
                name: input.name.clone(),
                description: input.description.clone(),
                metadata,
                config,
                version: expected_version + 1,
                updated_by: by,
                updated_at: now,
                ..current
            })
        })
    }

    /// Soft-deletes the live resource `id`: it stays in its workspace and
    /// org, hidden, restorable for 30 days. An agent that an enabled live
    /// schedule points at is refused with those schedules' names (checked in
    /// this transaction).
    pub async fn delete_resource(
        &self,
        proof: &WriteProof,
        id: Uuid,
        actor: &Actor,
        event: Event,
        now: i64,
    ) -> Result<ResourceRow, ResourceError> {
        let by = actor.label();
        let scope = proof.scope();
        let lock_sql = self.agent_for_delete_sql();
        in_tx!(self, |tx| {
            let current = sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE id = $1 AND workspace_id = $2 AND org_id = $3 \
                 AND kind = $4 AND deleted_at IS NULL"
            ))
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(proof.kind().as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ResourceError::NotFound)?;
            if proof.kind() == ResourceKind::Agent {
                // Locks the agent (PostgreSQL) against a schedule being
                // written for it meanwhile; see `SCHEDULE_AGENT_POSTGRES`.
                sqlx::query_as::<_, (Uuid,)>(lock_sql)
                    .bind(id)
                    .bind(scope.workspace_id())
                    .bind(scope.org_id())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(ResourceError::NotFound)?;
                let schedules: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, config FROM resources WHERE workspace_id = $1 AND org_id = $2 \
                     AND kind = 'schedule' AND deleted_at IS NULL ORDER BY name",
                )
                .bind(scope.workspace_id())
                .bind(scope.org_id())
                .fetch_all(&mut *tx)
                .await?;
                let using: Vec<String> = schedules
                    .into_iter()
                    .filter(|(_, config)| {
                        let config: Value = serde_json::from_str(config).unwrap_or(Value::Null);
                        let (agent, enabled) = schedule_target(&config);
                        enabled && agent.map(str::trim) == Some(current.name.as_str())
                    })
                    .map(|(name, _)| name)
                    .collect();
                if !using.is_empty() {
                    return Err(ResourceError::InUse(using));
                }
            }
            sqlx::query(
                "UPDATE resources SET deleted_at = $1, deleted_by = $2 \
                 WHERE id = $3 AND workspace_id = $4 AND org_id = $5 AND deleted_at IS NULL",
            )
            .bind(now)
            .bind(&by)
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .execute(&mut *tx)
            .await?;
            let event = event
                .on("resource", id)
                .with("kind", proof.kind().as_str())
                .with("workspace", scope.slug())
                .with("name", current.name.as_str());
            insert_event!(&mut *tx, &event, now)?;
            Ok(ResourceRow {
                deleted_at: Some(now),
                deleted_by: Some(by),
                ..current
            })
        })
    }

    /// Restores the resource `id` deleted less than 30 days ago; refused
    /// with `NameTaken` when a live resource of its kind now has its name.
    pub async fn restore_resource(
        &self,
        proof: &WriteProof,
        id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<ResourceRow, ResourceError> {
        let scope = proof.scope();
        let agent_sql = self.schedule_agent_sql();
        in_tx!(self, |tx| {
            let current = sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE id = $1 AND workspace_id = $2 AND org_id = $3 \
                 AND kind = $4 AND deleted_at IS NOT NULL AND deleted_at > $5"
            ))
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(proof.kind().as_str())
            .bind(now - RESTORE_WINDOW_SECS)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ResourceError::NotFound)?;
            // Checked first so that PostgreSQL's transaction is not aborted
            // by the unique index in the common case; the index still
            // decides under a race.
            let taken: Option<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM resources WHERE workspace_id = $1 AND org_id = $2 AND kind = $3 \
                 AND name = $4 AND deleted_at IS NULL",
            )
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .bind(proof.kind().as_str())
            .bind(&current.name)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Err(ResourceError::NameTaken);
            }
            // An enabled schedule comes back only with its agent: the
            // scheduler would otherwise hold a schedule it can never fire.
            let config: Value = serde_json::from_str(&current.config).unwrap_or(Value::Null);
            if let Some(agent) = enabled_schedule_agent(proof.kind(), &config) {
                let found: Option<(Uuid,)> = sqlx::query_as(agent_sql)
                    .bind(scope.workspace_id())
                    .bind(scope.org_id())
                    .bind(&agent)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(agent_gone(&agent));
                }
            }
            sqlx::query(
                "UPDATE resources SET deleted_at = NULL, deleted_by = NULL \
                 WHERE id = $1 AND workspace_id = $2 AND org_id = $3",
            )
            .bind(id)
            .bind(scope.workspace_id())
            .bind(scope.org_id())
            .execute(&mut *tx)
            .await
            .map_err(unique_as_name_taken)?;
            let event = event
                .on("resource", id)
                .with("kind", proof.kind().as_str())
                .with("workspace", scope.slug())
                .with("name", current.name.as_str());
            insert_event!(&mut *tx, &event, now)?;
            Ok(ResourceRow {
                deleted_at: None,
                deleted_by: None,
                ..current
            })
        })
    }

    /// Purges every resource deleted before `cutoff` (a background job, see
    /// `jobs`), recording one `resource.purged` event per resource in its
    /// org's log in the same transaction; how many it purged. One DELETE
    /// decides which rows go, so two instances running it at once purge
    /// each row once: the second finds nothing left to delete.
    pub async fn purge_deleted_resources(&self, cutoff: i64, now: i64) -> Result<u64, sqlx::Error> {
        in_tx!(self, |tx| {
            let gone: Vec<(Uuid, Uuid, Uuid, String, String, i64)> = sqlx::query_as(
                "DELETE FROM resources WHERE deleted_at IS NOT NULL AND deleted_at < $1 \
                 RETURNING id, org_id, workspace_id, kind, name, deleted_at",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            for (id, org_id, workspace_id, kind, name, deleted_at) in &gone {
                let event = Event::by(Actor::System)
                    .did("resource.purged")
                    .on("resource", id)
                    .in_org_established(*org_id)
                    .detail(json!({
                        "kind": kind,
                        "name": name,
                        "workspace_id": workspace_id.to_string(),
                        "deleted_at": deleted_at,
                    }));
                insert_event!(&mut *tx, &event, now)?;
            }
            Ok(gone.len() as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_refuses_anything_else() {
        let c = ResourceCursor {
            name: "triage bot".into(),
            id: Uuid::now_v7(),
        };
        assert_eq!(ResourceCursor::decode(&c.encode()), Some(c));
        assert_eq!(ResourceCursor::decode("not-a-cursor"), None);
        let nul = ResourceCursor {
            name: "a\0b".into(),
            id: Uuid::nil(),
        };
        assert_eq!(ResourceCursor::decode(&nul.encode()), None);
    }
}
