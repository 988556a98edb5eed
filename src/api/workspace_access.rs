//! `GET /v1/orgs/{slug}/workspaces/{ws}/access`: what this key may do in the
//! workspace and why — its effective permissions (scopes ∩ its principal's
//! permissions there now) and where the principal's come from (owner, or
//! team → role). Any key that reaches the workspace may ask; a key that does
//! not gets 404 like every workspace route.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use crate::authz::{ApiWorkspaceKey, PermissionSource};

/// The workspace as the key sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceRef {
    pub slug: String,
    pub name: String,
    /// An archived workspace is read-only.
    pub archived: bool,
}

/// One source of the principal's permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessSource {
    /// `owner` (every permission in every workspace of the org) or `team`.
    pub via: &'static str,
    /// The team, for `team`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The role granted to that team on this workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub permissions: Vec<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceAccessOut {
    pub workspace: WorkspaceRef,
    /// What this key may do here now, in catalog order.
    pub permissions: Vec<&'static str>,
    /// Where the key's principal's permissions come from (before the key's
    /// scopes narrow them).
    pub sources: Vec<AccessSource>,
}

#[utoipa::path(
    get,
    path = "/v1/orgs/{slug}/workspaces/{ws}/access",
    tag = "workspaces",
    params(
        ("slug" = String, Path, description = "The organization's slug."),
        ("ws" = String, Path, description = "The workspace's slug."),
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key's permissions here, and why.", body = WorkspaceAccessOut),
        (status = 401, description = "No valid key.", body = ErrorBody),
        (status = 403, description = "The key is not bound to an org, or MFA is required.", body = ErrorBody),
        (status = 404, description = "No such workspace for this key.", body = ErrorBody),
    )
)]
pub async fn show_access(key: ApiWorkspaceKey) -> Json<WorkspaceAccessOut> {
    let scope = key.scope();
    let sources = scope
        .sources()
        .iter()
        .map(|s| match s {
            PermissionSource::Owner => AccessSource {
                via: "owner",
                team: None,
                role: None,
                permissions: crate::domain::PermissionSet::ALL.names(),
            },
            PermissionSource::Team {
                team_name,
                role_name,
                permissions,
                ..
            } => AccessSource {
                via: "team",
                team: Some(team_name.clone()),
                role: Some(role_name.clone()),
                permissions: permissions.names(),
            },
        })
        .collect();
    Json(WorkspaceAccessOut {
        workspace: WorkspaceRef {
            slug: scope.slug().to_owned(),
            name: scope.name().to_owned(),
            archived: scope.is_archived(),
        },
        permissions: scope.permissions().names(),
        sources,
    })
}
