//! Workspace resources — agents, tools, MCP servers and schedules — in one
//! table, one kind per row (migration 0014). Every function takes a
//! `WorkspaceScope` (or an `Allowed<P>` proof for writes) and filters by its
//! workspace *and* org, so a resource id of another workspace or org matches
//! nothing, and a reference by name never leaves the workspace.
//!
//! A deleted resource keeps its workspace and org (`deleted_at` set) until
//! the purge; "live" means not deleted.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, on_pool};
use crate::authz::proof::WorkspaceScope;
use crate::domain::ResourceKind;

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
            sqlx::query_as::<_, ResourceRow>(
                "SELECT id, kind, name, description, metadata, config, version, created_by, \
                 created_at, updated_by, updated_at, deleted_at, deleted_by FROM resources \
                 WHERE id = $1 AND workspace_id = $2 AND org_id = $3 AND kind = $4 \
                 AND deleted_at IS NULL",
            )
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
