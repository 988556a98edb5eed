//! `/ops/outbox`: the email queue as operators see it — what is waiting,
//! what was sent, and what was given up after its last try, with the last
//! error. Never a message's body (it may hold a one-time link).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::ops_context;
use crate::auth::AppSession;
use crate::authz::Operator;
use crate::error::AppError;
use crate::jobs::outbox::MAX_ATTEMPTS;
use crate::state::AppState;
use crate::web::timefmt::Timestamp;
use crate::web::{OpsSection, PageContext, ok};

/// How many messages the page lists.
const SHOWN: i64 = 100;

pub struct MailView {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub created: Timestamp,
    /// Sent: when; pending: the next try; failed: none.
    pub when: Option<Timestamp>,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "ops/outbox.html")]
pub struct OutboxPage {
    pub ctx: PageContext,
    pub mails: Vec<MailView>,
    pub max_attempts: i64,
}

pub async fn list_outbox(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let mails = state
        .db
        .recent_mail(op.scope(), SHOWN)
        .await?
        .into_iter()
        .map(|m| MailView {
            id: m.id.to_string(),
            when: match m.status.as_str() {
                "sent" => m.sent_at.map(|t| Timestamp::new(t, now)),
                "pending" => Some(Timestamp::new(m.next_attempt_at, now)),
                _ => None,
            },
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            created: Timestamp::new(m.created_at, now),
            last_error: m.last_error.unwrap_or_default(),
        })
        .collect();
    let page = OutboxPage {
        ctx: ops_context(&state, &session, &op, OpsSection::Outbox).await?,
        mails,
        max_attempts: MAX_ATTEMPTS,
    };
    ok(&page)
}
