//! `GET /v1/orgs/{slug}/workspaces`: the workspaces a key may act in — those
//! granted to the key that its principal reaches now (an owner's: every
//! workspace of the org; anyone else's: those granted to one of its live
//! teams). Owner-level keys follow the same rule: a key reaches no workspace
//! it was not granted. Any valid key bound to the org may ask (no scope);
//! what it may do in each is its scopes ∩ its principal's permissions there
//! (`…/workspaces/{ws}/access`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::authz::api::ApiOrgKey;
use crate::authz::api::scopes::AnyScope;
use crate::state::AppState;

/// A workspace of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Workspace {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Unix seconds.
    pub created_at: i64,
    /// An archived workspace is read-only.
    pub archived: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceList {
    /// Ordered by slug.
    pub workspaces: Vec<Workspace>,
}

#[utoipa::path(
    get,
    path = "/v1/orgs/{slug}/workspaces",
    tag = "workspaces",
    params(("slug" = String, Path, description = "The organization's slug.")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The workspaces this key may act in.", body = WorkspaceList),
        (status = 401, description = "No valid key.", body = ErrorBody),
        (status = 403, description = "The key is not bound to an org, or MFA is required.", body = ErrorBody),
        (status = 404, description = "Not the key's organization.", body = ErrorBody),
    )
)]
pub async fn list_workspaces(
    State(state): State<AppState>,
    key: ApiOrgKey<AnyScope>,
) -> Result<Json<WorkspaceList>, ApiError> {
    let rows = state
        .db
        .key_workspaces(key.scope(), key.principal().key_id())
        .await?;
    Ok(Json(WorkspaceList {
        workspaces: rows
            .into_iter()
            .map(|w| Workspace {
                slug: w.slug,
                name: w.name,
                description: w.description,
                created_at: w.created_at,
                archived: w.archived_at.is_some(),
            })
            .collect(),
    }))
}
