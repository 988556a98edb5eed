//! The integration suite: one binary, black-box through HTTP against the real
//! router. Every test gets a fresh database, on SQLite always and on
//! PostgreSQL as well when `TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access_model;
mod account;
mod admin_api;
mod api;
mod api_key_header;
mod api_limits;
mod audit_tx;
mod auth;
mod bundles;
mod deletion;
mod email_change;
mod erasure;
mod export;
mod forms;
mod invitations;
mod key_api;
mod key_mfa;
mod key_workspaces;
mod keys;
mod lockout;
mod mail;
mod master_key;
mod matrix;
mod members_api;
mod mfa;
mod notices;
mod ops;
mod org_admin;
mod org_api;
mod org_lifecycle;
mod orgs;
mod owner_sudo;
mod passkeys;
mod passwords;
mod pending_sign_in;
mod policies;
mod protection;
mod reauth;
mod recovery;
mod register;
mod rejections;
mod resources;
mod roles;
mod rotation_trace;
mod runs;
mod sa_access;
mod scim;
mod scim_groups;
mod secret_scanning;
mod secrets;
mod service_accounts;
mod serving;
mod sessions;
mod setup_links;
mod storage;
mod sudo;
mod support;
mod verification;
mod workspace_access;
mod workspaces;
