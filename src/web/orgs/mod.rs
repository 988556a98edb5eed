//! The org console under `/orgs/{slug}`. Every handler takes `OrgMember` or
//! `OrgOwner` (see `authz::org`): the org is resolved once, from the slug and
//! the caller's membership, and the data functions take the scope it proves.

pub mod audit;
pub mod invitations;
pub mod lifecycle;
pub mod members;
pub mod overview;
pub mod roles;
pub mod scim_tokens;
pub mod service_accounts;
pub mod settings;
pub mod teams;
pub mod workspace_access;
pub mod workspaces;

use crate::error::AppError;

/// Parses a uuid from the URL; anything else is simply not found.
pub fn id_from(path: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(path).map_err(|_| AppError::NotFound)
}
