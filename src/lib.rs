//! Gatehouse: the account and access console of an AI platform.
//!
//! `router::build_router` is the whole application; `main.rs` only parses the
//! command line, and the integration tests drive the same router.

pub mod api;
pub mod auth;
pub mod authz;
pub mod cipher;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod mail;
pub mod middleware;
pub mod operators;
pub mod paths;
pub mod request;
pub mod router;
pub mod seed;
pub mod server;
pub mod state;
pub mod web;

pub use router::build_router;
pub use server::serve;
pub use state::AppState;
