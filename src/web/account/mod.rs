//! Self-service pages under `/account`. Every handler here takes
//! `CurrentUser` and acts on that user only: no user id is ever read from the
//! URL, the form or the query.

pub mod delete;
pub mod email;
pub mod export;
pub mod keys;
pub mod mfa;
pub mod notifications;
pub mod orgs;
pub mod overview;
pub mod passkeys;
pub mod profile;
pub mod security;
pub mod sessions;
