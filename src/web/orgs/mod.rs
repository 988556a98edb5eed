//! The org console under `/orgs/{slug}`. Every handler takes `OrgMember` or
//! `OrgOwner` (see `authz::org`): the org is resolved once, from the slug and
//! the caller's membership, and the data functions take the scope it proves.

pub mod audit;
pub mod invitations;
pub mod members;
pub mod overview;
pub mod service_accounts;
pub mod settings;
pub mod teams;

use serde_json::Value;

use crate::authz::{CurrentUser, OrgScope};
use crate::db::audit::NewEvent;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::ClientInfo;

/// Records an event in the org's audit log (and so the platform's).
pub async fn record(
    state: &AppState,
    user: &CurrentUser,
    scope: &OrgScope,
    client: &ClientInfo,
    action: &str,
    target: (&str, String),
    detail: Value,
) -> Result<(), AppError> {
    state
        .db
        .record_event(
            NewEvent {
                actor: &user.actor(),
                action,
                target_kind: Some(target.0),
                target_id: Some(target.1),
                org_id: Some(scope.org_id()),
                origin: &client.origin(),
                detail,
            },
            state.clock.unix(),
        )
        .await?;
    Ok(())
}

/// Parses a uuid from the URL; anything else is simply not found.
pub fn id_from(path: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(path).map_err(|_| AppError::NotFound)
}
