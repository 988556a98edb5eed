//! Background tasks that are safe on several instances: each is one
//! idempotent statement (or transaction) over the shared database, so two
//! instances running it at once do the work once. `server::spawn_cleanup`
//! calls them periodically; tests call them directly with a pinned clock.

pub mod resource_purge;
