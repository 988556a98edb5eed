//! Background tasks that are safe on several instances: each one's effect is
//! decided by the database (a unique index, a conditional update, one
//! idempotent statement), never by which instance runs it or how often.
//! `server` calls them periodically; tests call them directly with a pinned
//! clock.

pub mod org_purge;
pub mod outbox;
pub mod resource_purge;
pub mod schedules;
