//! The outbox worker: sends the queued messages of `db::outbox`.
//!
//! Invariant: **a message is sent by the one worker holding its lease**,
//! however many instances run this. Each pass claims due rows with a lease
//! of `LEASE_SECS` (`Db::claim_mail`), sends each, and marks it sent; a
//! failure is retried with exponential backoff (`backoff`) up to
//! `MAX_ATTEMPTS` tries, then the message is given up (status `failed`,
//! listed on `/ops/outbox`). A worker that dies mid-pass loses nothing: its
//! lease expires and another worker sends the message again with the same
//! Message-ID (the row id).

use std::time::Duration;

use uuid::Uuid;

use crate::db::Db;
use crate::mail::{Delivered, Mailer};
use crate::state::AppState;

/// How often each instance looks for messages to send.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// How long a claimed message is this worker's alone; longer than one SMTP
/// conversation may take (30 s) times a pass's batch.
pub const LEASE_SECS: i64 = 10 * 60;
/// Messages claimed per pass.
pub const BATCH: i64 = 20;
/// Tries before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before try `attempts + 1`, after `attempts` failed tries: 30 s,
/// 1 min, 2 min, … capped at an hour.
pub fn backoff(attempts: i64) -> i64 {
    let doublings = attempts.clamp(1, 20) - 1;
    (30_i64 << doublings).min(3_600)
}

/// What one pass did, for the log and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    /// Failed now, to be tried again.
    pub retrying: usize,
    /// Failed for the last time.
    pub given_up: usize,
}

/// One worker: an id of its own (the lease holder's name) and the mailer.
#[derive(Debug, Clone)]
pub struct Worker {
    id: String,
    mailer: Mailer,
}

impl Worker {
    pub fn new(mailer: Mailer) -> Self {
        Self {
            id: format!("worker-{}", Uuid::new_v4().simple()),
            mailer,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// One pass at `now` (unix seconds).
    pub async fn send_due(&self, db: &Db, now: i64) -> Result<Pass, sqlx::Error> {
        let mut pass = Pass::default();
        for mail in db
            .claim_mail(&self.id, now + LEASE_SECS, BATCH, now)
            .await?
        {
            match self.mailer.deliver(&mail, now).await {
                Ok(how) => {
                    db.mark_mail_sent(mail.id, &self.id, now).await?;
                    pass.sent += 1;
                    // Names the file or the recipient, never a body or link.
                    match how {
                        Delivered::File(file) => tracing::info!(
                            message_id = %mail.id, kind = %mail.kind, file = %file.display(),
                            "email written to the outbox directory"
                        ),
                        Delivered::Smtp => tracing::info!(
                            message_id = %mail.id, kind = %mail.kind, to = %mail.recipient,
                            "email sent"
                        ),
                    }
                }
                Err(e) => {
                    let error: String = e.to_string().chars().take(500).collect();
                    let retry_at =
                        (mail.attempts < MAX_ATTEMPTS).then(|| now + backoff(mail.attempts));
                    db.mark_mail_failed(mail.id, &self.id, &error, retry_at)
                        .await?;
                    if retry_at.is_some() {
                        pass.retrying += 1;
                    } else {
                        pass.given_up += 1;
                    }
                    tracing::warn!(
                        message_id = %mail.id, kind = %mail.kind, attempts = mail.attempts,
                        given_up = retry_at.is_none(), error = %error, "email not sent"
                    );
                }
            }
        }
        Ok(pass)
    }
}

/// Runs a worker on `INTERVAL` for as long as the process serves
/// (`server::serve`; tests call `Worker::send_due` themselves).
pub fn spawn(state: &AppState) {
    let db = state.db.clone();
    let clock = state.clock.clone();
    let worker = Worker::new((*state.mailer).clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = worker.send_due(&db, clock.unix()).await {
                tracing::warn!(error = %e, "outbox pass failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 60);
        assert_eq!(backoff(3), 120);
        assert_eq!(backoff(7), 1_920);
        assert_eq!(backoff(8), 3_600);
        assert_eq!(backoff(60), 3_600);
    }
}
