//! `/account`: the overview.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::auth::AppSession;
use crate::authz::CurrentUser;
use crate::db::users::User;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::timefmt::Timestamp;
use crate::web::{PageContext, Section, ok};

pub struct ActivityItem {
    pub action: String,
    pub ip: String,
    pub at: Timestamp,
}

#[derive(Template)]
#[template(path = "account/overview.html")]
pub struct OverviewPage {
    pub ctx: PageContext,
    pub user: User,
    pub member_since: Timestamp,
    pub session_count: usize,
    pub activity: Vec<ActivityItem>,
}

/// A readable name for an audit action.
pub fn describe_action(action: &str) -> String {
    match action {
        "signin.succeeded" => "Signed in".into(),
        "signin.failed" => "Failed sign-in attempt".into(),
        "signout" => "Signed out".into(),
        "user.signed_up" => "Created the account".into(),
        "profile.updated" => "Updated the profile".into(),
        "notifications.updated" => "Changed notification preferences".into(),
        "password.changed" => "Changed the password".into(),
        "sudo.granted" => "Entered sudo mode".into(),
        "sudo.failed" => "Failed to enter sudo mode".into(),
        "signin.mfa_required" => "Password accepted, code requested".into(),
        "mfa.challenge_passed" => "Entered a two-factor code at sign-in".into(),
        "mfa.challenge_failed" => "Wrong two-factor code at sign-in".into(),
        "mfa.challenge_expired" => "Sign-in expired waiting for a code".into(),
        "mfa.enabled" => "Turned on two-factor authentication".into(),
        "mfa.disabled" => "Turned off two-factor authentication".into(),
        "mfa.disable_failed" => "Failed to turn off two-factor authentication".into(),
        "mfa.backup_codes_regenerated" => "Generated new backup codes".into(),
        "session.revoked" => "Signed out a session".into(),
        "sessions.revoked_others" => "Signed out all other sessions".into(),
        "account.exported" => "Downloaded a data export".into(),
        "account.delete_failed" => "Failed attempt to delete the account".into(),
        other => other.replace(['.', '_'], " "),
    }
}

pub async fn show_overview(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let record = state
        .db
        .find_user(user.id())
        .await?
        .ok_or(AppError::NotFound)?;
    let sessions = state.db.list_sessions(user.id(), now).await?;
    let activity = state
        .db
        .recent_events_for_user(user.id(), 5)
        .await?
        .into_iter()
        .map(|e| ActivityItem {
            action: describe_action(&e.action),
            ip: e.ip.unwrap_or_default(),
            at: Timestamp::new(e.occurred_at, now),
        })
        .collect();
    let page = OverviewPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Overview).await?,
        member_since: Timestamp::new(record.created_at, now),
        user: record,
        session_count: sessions.len(),
        activity,
    };
    ok(&page)
}
