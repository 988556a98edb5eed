//! Background tasks that are safe on several instances: each one's effect is
//! decided by the database (a unique index, a conditional update), never by
//! which instance runs it or how often.

pub mod schedules;
