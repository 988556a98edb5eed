//! The durable outbox: every email Gatehouse sends is first a row here.
//!
//! Invariants:
//! - A message is inserted with `insert_mail!` inside the transaction of the
//!   change that causes it, so it is committed if and only if that change is:
//!   a crash loses no message, and a rolled-back change sends none.
//! - Only the worker that claimed a row sends it. `claim_mail` is one UPDATE
//!   that sets a lease (`claimed_by`, `claimed_until`) on pending rows whose
//!   lease is free or expired, repeating that condition outside the
//!   sub-select, and returns the rows it took (RETURNING). On SQLite writes
//!   are serialised; on PostgreSQL a second worker's UPDATE waits for the
//!   first's row lock and then re-checks the condition on the new row
//!   version, which no longer matches. So two workers never hold the same
//!   row at once, whatever the engine.
//! - A message's id is its Message-ID: if a worker dies after the SMTP
//!   server took the message but before `mark_mail_sent`, the lease expires
//!   and the resend carries the same id (receivers recognise it).
//! - The bodies may hold a one-time link: they are emptied as soon as the row
//!   is sent or given up, and no listing ever reads them.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, execute, on_pool};

/// A message about to be queued (built by `mail`).
#[derive(Debug, Clone)]
pub struct NewMail {
    /// What it is, for operators (`password_reset`, `invitation`, …).
    pub kind: &'static str,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A security message: it cannot be unsubscribed from, so it carries no
    /// `List-Unsubscribe`.
    pub security: bool,
    /// The person the message speaks for and names (an inviter), if not
    /// the recipient: deleting their account deletes it.
    pub on_behalf_of: Option<Uuid>,
}

/// The one insert into `outbox`.
#[doc(hidden)]
pub const INSERT_MAIL: &str = "INSERT INTO outbox (id, kind, recipient, subject, text_body, \
     html_body, security, on_behalf_of, status, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $9, 'pending', 0, $8, $8)";

/// Queues `$mail` (`&NewMail`) on the executor `$exec` — the transaction of
/// the change that causes it. Evaluates to the message id.
macro_rules! insert_mail {
    ($exec:expr, $mail:expr, $now:expr) => {{
        let mail: &$crate::db::outbox::NewMail = $mail;
        let id = uuid::Uuid::now_v7();
        sqlx::query($crate::db::outbox::INSERT_MAIL)
            .bind(id)
            .bind(mail.kind)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.text)
            .bind(&mail.html)
            .bind(mail.security)
            .bind($now)
            .bind(mail.on_behalf_of)
            .execute($exec)
            .await
            .map(|_| id)
    }};
}
pub(crate) use insert_mail;

/// A message a worker holds the lease of, to send now.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedMail {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub security: bool,
    /// Including this one.
    pub attempts: i64,
}

/// A message as operators see it (never its bodies).
#[derive(Debug, Clone, FromRow)]
pub struct MailRow {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl Db {
    /// Queues one message alone (a "send again" that changes nothing else).
    pub async fn queue_mail(&self, mail: &NewMail, now: i64) -> Result<Uuid, sqlx::Error> {
        on_pool!(self, |pool| insert_mail!(pool, mail, now))
    }

    /// Takes the lease of up to `limit` due messages for `worker` until
    /// `lease_until`, counting an attempt on each (see the module doc).
    pub async fn claim_mail(
        &self,
        worker: &str,
        lease_until: i64,
        limit: i64,
        now: i64,
    ) -> Result<Vec<ClaimedMail>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ClaimedMail>(
                "UPDATE outbox SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' \
                   AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
                   ORDER BY next_attempt_at, id LIMIT $4) \
                 AND status = 'pending' AND next_attempt_at <= $3 \
                 AND (claimed_until IS NULL OR claimed_until < $3) \
                 RETURNING id, kind, recipient, subject, text_body, html_body, security, attempts",
            )
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Marks a message this worker holds as sent and empties its bodies.
    /// False when the lease was lost (another worker may send it again, with
    /// the same Message-ID).
    pub async fn mark_mail_sent(
        &self,
        id: Uuid,
        worker: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = $1, claimed_by = NULL, \
                 claimed_until = NULL, last_error = NULL, text_body = '', html_body = '' \
                 WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
            )
            .bind(now)
            .bind(id)
            .bind(worker)
        )?;
        Ok(n == 1)
    }

    /// Records a failed attempt: the message is tried again at `retry_at`,
    /// or, with `None`, given up (status `failed`, bodies emptied).
    pub async fn mark_mail_failed(
        &self,
        id: Uuid,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let n = match retry_at {
            Some(at) => execute!(
                self,
                sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1, last_error = $2, \
                     claimed_by = NULL, claimed_until = NULL \
                     WHERE id = $3 AND claimed_by = $4 AND status = 'pending'",
                )
                .bind(at)
                .bind(error)
                .bind(id)
                .bind(worker)
            )?,
            None => execute!(
                self,
                sqlx::query(
                    "UPDATE outbox SET status = 'failed', last_error = $1, claimed_by = NULL, \
                     claimed_until = NULL, text_body = '', html_body = '' \
                     WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
                )
                .bind(error)
                .bind(id)
                .bind(worker)
            )?,
        };
        Ok(n == 1)
    }

    /// The newest messages, for the operators' outbox page: those not sent
    /// (pending or failed) first, then the most recent.
    pub async fn recent_mail(
        &self,
        _scope: &crate::authz::proof::PlatformScope,
        limit: i64,
    ) -> Result<Vec<MailRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, MailRow>(
                "SELECT id, kind, recipient, subject, status, attempts, next_attempt_at, \
                 last_error, created_at, sent_at FROM outbox \
                 ORDER BY CASE WHEN status = 'sent' THEN 1 ELSE 0 END, created_at DESC, id DESC \
                 LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}
