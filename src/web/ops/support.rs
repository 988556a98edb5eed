//! Support tools on `/ops/users/{id}`: reset MFA, clear sign-in lock-outs,
//! revoke one key, sign out everywhere, require a password change, send the
//! account set-up link again (an account that has no password yet), delete
//! the account. Each takes the `Operator` proof (an operator in sudo), a
//! reason (refused without one), and is recorded in the platform log and in
//! each of the user's orgs' logs in the transaction of the change.
//!
//! Invariants: none acts on the operator's own account (self-service exists
//! for that, with its own checks); the dangerous ones (MFA reset, key
//! revocation, deletion) first show a page naming the consequence and act
//! only on its confirmation; deletion is refused while the user is the sole
//! owner of an org, naming those orgs.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::users::{detail_page, gate_page, load_user, parse_id, user_org_ids};
use super::{has_view_grant, ops_context};
use crate::auth::api_key::digest;
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, throttle};
use crate::authz::Operator;
use crate::db::platform::OperatorAction;
use crate::db::recovery::{NewLink, Purpose};
use crate::db::support::SupportChange;
use crate::db::users::User;
use crate::domain::Reason;
use crate::error::AppError;
use crate::mail;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::{ClientInfo, FieldErrors, OpsSection, PageContext, ok, render};

const OWN_ACCOUNT: &str = "This is your own account: use your own Security, Sessions and Delete \
     pages (self-service) instead; support tools act on other people's accounts.";

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SupportForm {
    #[serde(default)]
    pub reason: String,
    /// `yes` once the confirmation page was answered.
    #[serde(default)]
    pub confirmed: String,
}

#[derive(Template)]
#[template(path = "ops/user_confirm.html")]
pub struct ConfirmPage {
    pub ctx: PageContext,
    pub user_id: Uuid,
    pub email: String,
    pub title: String,
    pub consequence: String,
    pub action: String,
    pub button: String,
    pub reason: String,
}

/// The actions of this module, as the forms name them.
#[derive(Debug, Clone, Copy)]
enum Tool {
    ResetMfa,
    ClearLockouts,
    /// One key of the user, by its id.
    RevokeKey(Uuid),
    SignOutEverywhere,
    RequirePasswordChange,
    Delete,
}

impl Tool {
    fn audit_action(self) -> &'static str {
        match self {
            Tool::ResetMfa => "ops.user.mfa_reset",
            Tool::ClearLockouts => "ops.user.lockouts_cleared",
            Tool::RevokeKey(_) => "ops.user.key_revoked",
            Tool::SignOutEverywhere => "ops.user.signed_out",
            Tool::RequirePasswordChange => "ops.user.password_change_required",
            Tool::Delete => "ops.user.deleted",
        }
    }

    fn path(self, user: Uuid) -> String {
        match self {
            Tool::ResetMfa => format!("/ops/users/{user}/reset-mfa"),
            Tool::ClearLockouts => format!("/ops/users/{user}/clear-lockouts"),
            // Named by the key's public id, which the handler passes in.
            Tool::RevokeKey(_) => format!("/ops/users/{user}"),
            Tool::SignOutEverywhere => format!("/ops/users/{user}/sign-out"),
            Tool::RequirePasswordChange => format!("/ops/users/{user}/require-password-change"),
            Tool::Delete => format!("/ops/users/{user}/delete"),
        }
    }

    /// The change in storage (`None` for the deletion, which has its own).
    /// A lock-out clearance deletes `counters`.
    fn change(self, counters: &[String]) -> Option<SupportChange<'_>> {
        Some(match self {
            Tool::ResetMfa => SupportChange::ResetMfa,
            Tool::ClearLockouts => SupportChange::ClearLockouts { counters },
            Tool::RevokeKey(key) => SupportChange::RevokeKey(key),
            Tool::SignOutEverywhere => SupportChange::SignOutEverywhere,
            Tool::RequirePasswordChange => SupportChange::RequirePasswordChange,
            Tool::Delete => return None,
        })
    }

    /// What the flash message says after it ran and changed `n` rows.
    fn outcome(self, n: u64) -> String {
        match (self, n) {
            (Tool::ResetMfa, 0) => "had no two-factor authentication; nothing changed.".into(),
            (Tool::ResetMfa, _) => "has no two-factor authentication now and must set it up \
                                    again at next sign-in."
                .into(),
            (Tool::ClearLockouts, 0) => "was not locked out; nothing changed.".into(),
            (Tool::ClearLockouts, _) => {
                "can sign in again from any browser: the sign-in lock-outs are cleared.".into()
            }
            (Tool::RevokeKey(_), 0) => "has no such live key; nothing changed.".into(),
            (Tool::RevokeKey(_), _) => "has one key fewer: it is revoked.".into(),
            (Tool::SignOutEverywhere, 0) => "had no sessions; nothing changed.".into(),
            (Tool::SignOutEverywhere, n) => {
                format!("is signed out everywhere ({n} session(s) ended).")
            }
            (Tool::RequirePasswordChange, 0) => {
                "must already change their password; nothing changed.".into()
            }
            (Tool::RequirePasswordChange, _) => "must change their password at next sign-in \
                                                 (and is sent there from every page)."
                .into(),
            (Tool::Delete, _) => "is deleted.".into(),
        }
    }

    /// For a dangerous action: (title, consequence, button).
    fn confirmation(self, user: &User, key: Option<&str>) -> Option<(String, String, String)> {
        match self {
            Tool::ResetMfa => Some((
                "Reset two-factor authentication?".into(),
                format!(
                    "{}'s authenticator and every backup code stop working at once. At their \
                     next sign-in the password alone lets them in, and every page then sends \
                     them to set up two-factor authentication again. Do this only once you \
                     have verified that the person asking is {}.",
                    user.email, user.email
                ),
                "Reset MFA".into(),
            )),
            Tool::RevokeKey(_) => Some((
                "Revoke this API key?".into(),
                format!(
                    "The key {} of {} is refused from its next request on, by every \
                     instance; it cannot be restored (the owner can create a new one).",
                    key.unwrap_or("?"),
                    user.email
                ),
                "Revoke key".into(),
            )),
            Tool::Delete => Some((
                "Delete this account?".into(),
                format!(
                    "{} and everything personal in it are erased for good: sessions, API keys, \
                     two-factor settings, memberships and team places; the audit trail keeps \
                     only a pseudonym. This cannot be undone. Do this only on the person's own \
                     verified request.",
                    user.email
                ),
                "Delete account".into(),
            )),
            Tool::ClearLockouts | Tool::SignOutEverywhere | Tool::RequirePasswordChange => None,
        }
    }
}

/// The user's page again with the message beside the reason of the form
/// posting to `action` (422); the reason form instead of the details
/// without a view grant.
async fn refuse(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    user: &User,
    action: &str,
    reason: String,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    if has_view_grant(session, user.id, state.clock.unix()).await? {
        let page = detail_page(state, session, op, user, action, reason, errors).await?;
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        let page = gate_page(state, session, op, user, reason, errors).await?;
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    state: AppState,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    user: User,
    tool: Tool,
    key: Option<(String, String)>,
    form: SupportForm,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    // (path of the form, label of the key) for a key revocation.
    let (path, key_label) = match key {
        Some((path, label)) => (path, Some(label)),
        None => (tool.path(user.id), None),
    };
    let mut errors = FieldErrors::new();
    let reason = errors.check("reason", Reason::parse(&form.reason));
    if user.id == op.id() {
        errors.add("reason", OWN_ACCOUNT);
    }
    if matches!(tool, Tool::Delete) {
        let blocking = state
            .db
            .organizations_blocking_deletion_of(op.scope(), user.id)
            .await?;
        if !blocking.is_empty() {
            let names: Vec<String> = blocking
                .iter()
                .map(|o| format!("{} (/orgs/{})", o.name, o.slug))
                .collect();
            errors.add(
                "reason",
                format!(
                    "{} is the only owner of {}: each must get another owner (or be deleted) \
                     before the account can be deleted.",
                    user.email,
                    names.join(", ")
                ),
            );
        }
    }
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return refuse(&state, &session, &op, &user, &path, form.reason, errors).await;
    };
    if form.confirmed != "yes"
        && let Some((title, consequence, button)) = tool.confirmation(&user, key_label.as_deref())
    {
        let page = ConfirmPage {
            ctx: ops_context(&state, &session, &op, OpsSection::Users).await?,
            user_id: user.id,
            email: user.email.clone(),
            title,
            consequence,
            action: path,
            button,
            reason: reason.as_str().to_owned(),
        };
        return ok(&page);
    }
    let orgs = user_org_ids(&state, &op, user.id).await?;
    let mut detail = json!({ "email": user.email, "user_notified": "pending: mail" });
    if let (Tool::RevokeKey(key), Some(d)) = (tool, detail.as_object_mut()) {
        d.insert("key_id".into(), json!(key));
    }
    let origin = client.origin();
    let records = OperatorAction {
        action: tool.audit_action(),
        target_kind: "user",
        target_id: user.id.to_string(),
        reason: &reason,
        orgs: &orgs,
        detail,
    }
    .events(&op, &origin);
    // The counters a lock-out clearance deletes, by name (the devices are
    // read first: one trusted meanwhile has no failures to clear).
    let counters = match tool {
        Tool::ClearLockouts => {
            let devices = state.db.trusted_device_ids(op.scope(), user.id).await?;
            throttle::lockout_buckets(&state.config, &user.email, user.id, &devices)
        }
        _ => Vec::new(),
    };
    let (kind, message, to) = match tool.change(&counters) {
        None => {
            let done = state
                .db
                .delete_account_by_operator(
                    op.scope(),
                    &user,
                    &throttle::account_buckets(&state.config, &user.email, user.id),
                    &records,
                    &origin,
                    now,
                )
                .await?;
            match done {
                Some(d) => (
                    FlashKind::Success,
                    format!(
                        "{} is deleted: {} session(s) ended, {} key(s) deleted; the audit trail \
                         now names {}.",
                        user.email,
                        d.sessions_revoked,
                        d.keys_deleted,
                        d.label()
                    ),
                    "/ops/users".to_owned(),
                ),
                // An org lost its other owner meanwhile (checked again in the
                // transaction).
                None => (
                    FlashKind::Error,
                    format!("{} could not be deleted; nothing changed.", user.email),
                    format!("/ops/users/{}", user.id),
                ),
            }
        }
        Some(change) => {
            let n = state
                .db
                .apply_support_change(op.scope(), user.id, change, records, now)
                .await?;
            let kind = if n > 0 {
                FlashKind::Success
            } else {
                FlashKind::Info
            };
            (
                kind,
                format!("{} {}", user.email, tool.outcome(n)),
                format!("/ops/users/{}", user.id),
            )
        }
    };
    session.flash(kind, message).await?;
    Ok(Redirect::to(&to).into_response())
}

async fn run_change(
    state: AppState,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    id: String,
    tool: Tool,
    form: SupportForm,
) -> Result<Response, AppError> {
    let user = load_user(&state, &op, parse_id(&id)?).await?;
    run(state, session, op, client, user, tool, None, form).await
}

macro_rules! support_handler {
    ($(#[$doc:meta])* $name:ident, $tool:expr) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            session: AppSession,
            op: Operator,
            client: ClientInfo,
            Path(id): Path<String>,
            Form(form): Form<SupportForm>,
        ) -> Result<Response, AppError> {
            run_change(state, session, op, client, id, $tool, form).await
        }
    };
}

support_handler!(
    /// Removes the user's TOTP and backup codes (after confirmation).
    reset_mfa,
    Tool::ResetMfa
);
support_handler!(
    /// Clears the account's sign-in lock-outs.
    clear_lockouts,
    Tool::ClearLockouts
);
support_handler!(
    /// Ends every session of the user.
    sign_out_everywhere,
    Tool::SignOutEverywhere
);
support_handler!(
    /// Requires a new password at next sign-in.
    require_password_change,
    Tool::RequirePasswordChange
);
support_handler!(
    /// Deletes the account (after confirmation).
    delete_user,
    Tool::Delete
);

/// Revokes one of the user's keys (after confirmation). A key of someone
/// else is not found.
pub async fn revoke_user_key(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path((id, key)): Path<(String, String)>,
    Form(form): Form<SupportForm>,
) -> Result<Response, AppError> {
    let user = load_user(&state, &op, parse_id(&id)?).await?;
    let keys = state.db.platform_user_keys(op.scope(), user.id).await?;
    // Only a key of this user is found; it is named by its public id.
    let key = keys
        .iter()
        .find(|k| k.public_id == key)
        .ok_or(AppError::NotFound)?;
    let key_id = key.id;
    let label = format!("“{}” ({}…)", key.name, key.prefix());
    let path = format!("/ops/users/{}/keys/{}/revoke", user.id, key.public_id);
    let tool = Tool::RevokeKey(key_id);
    run(
        state,
        session,
        op,
        client,
        user,
        tool,
        Some((path, label)),
        form,
    )
    .await
}

/// Sends the account set-up link again, to the account's own address (the
/// earlier one stops working). Only for an account that has no password
/// yet; any other is told to use "Forgot your password?", and nothing
/// changes.
pub async fn send_setup_link(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<SupportForm>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let user = load_user(&state, &op, parse_id(&id)?).await?;
    let path = format!("/ops/users/{}/send-setup-link", user.id);
    let mut errors = FieldErrors::new();
    let reason = errors.check("reason", Reason::parse(&form.reason));
    if user.id == op.id() {
        errors.add("reason", OWN_ACCOUNT);
    }
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return refuse(&state, &session, &op, &user, &path, form.reason, errors).await;
    };
    let (token, message) = mail::new_setup_link(
        &state.config.public_url(),
        &user.email,
        &user.display_name,
        None,
    )?;
    let setup = NewLink {
        purpose: Purpose::AccountSetup,
        token_digest: &digest(&token),
        mail: &message,
    };
    let orgs = user_org_ids(&state, &op, user.id).await?;
    let records = OperatorAction {
        action: "ops.user.setup_link_sent",
        target_kind: "user",
        target_id: user.id.to_string(),
        reason: &reason,
        orgs: &orgs,
        detail: json!({ "email": user.email }),
    }
    .events(&op, &client.origin());
    let sent = state
        .db
        .resend_setup_link(op.scope(), user.id, &user.email, &setup, &records, now)
        .await?;
    let (kind, message) = if sent {
        (
            FlashKind::Success,
            format!(
                "A new set-up link was emailed to {}; it expires in 7 days and the earlier \
                 one no longer works.",
                user.email
            ),
        )
    } else {
        (
            FlashKind::Info,
            format!(
                "{} already has a password (or is disabled); nothing was sent. They can use \
                 \"Forgot your password?\" on the sign-in page.",
                user.email
            ),
        )
    };
    session.flash(kind, message).await?;
    Ok(Redirect::to(&format!("/ops/users/{}", user.id)).into_response())
}
