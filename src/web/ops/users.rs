//! `/ops/users`: find users across the platform, look at one (after giving a
//! reason), disable or re-enable them.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{ReasonForm, add_view_grant, has_view_grant, ops_context};
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::Operator;
use crate::db::platform::{OperatorAction, UserSummary};
use crate::db::users::User;
use crate::domain::Reason;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::account::keys::KeyView;
use crate::web::extract::{ListForm as Form, Path, Query};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, OpsSection, PageContext, ok, render};

const PAGE_SIZE: i64 = 25;

#[derive(Debug, Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    /// Keyset cursor: the last email of the previous page.
    pub after: Option<String>,
}

pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub is_operator: bool,
    pub disabled: bool,
    pub created: Timestamp,
}

impl UserRow {
    fn new(u: &UserSummary, now: i64) -> Self {
        UserRow {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            is_operator: u.is_operator,
            disabled: u.disabled_at.is_some(),
            created: Timestamp::new(u.created_at, now),
        }
    }
}

#[derive(Template)]
#[template(path = "ops/users.html")]
pub struct UsersPage {
    pub ctx: PageContext,
    pub q: String,
    pub users: Vec<UserRow>,
    /// The query string of the next page, when there is one.
    pub next_page: Option<String>,
    pub paged: bool,
}

pub async fn list_users(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let q: String = query.q.trim().chars().take(200).collect();
    let after = query.after.filter(|a| !a.is_empty());
    let mut users = state
        .db
        .search_users(op.scope(), &q, after.as_deref(), PAGE_SIZE + 1)
        .await?;
    let more = users.len() as i64 > PAGE_SIZE;
    users.truncate(PAGE_SIZE as usize);
    let next_page = match users.last() {
        Some(last) if more => {
            serde_urlencoded::to_string([("q", q.as_str()), ("after", last.email.as_str())]).ok()
        }
        _ => None,
    };
    let page = UsersPage {
        ctx: ops_context(&state, &session, &op, OpsSection::Users).await?,
        users: users.iter().map(|u| UserRow::new(u, now)).collect(),
        next_page,
        paged: after.is_some(),
        q,
    };
    ok(&page)
}

pub(super) fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

pub(super) async fn load_user(state: &AppState, op: &Operator, id: Uuid) -> Result<User, AppError> {
    state
        .db
        .platform_user(op.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "ops/user_gate.html")]
pub struct GatePage {
    pub ctx: PageContext,
    pub user: UserRow,
    pub reason: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "ops/user_detail.html")]
pub struct DetailPage {
    pub ctx: PageContext,
    pub user: UserRow,
    pub phone: String,
    pub job_title: String,
    pub time_zone: String,
    pub disabled_since: Option<Timestamp>,
    pub mfa_since: Option<Timestamp>,
    pub sessions: i64,
    /// What the user must do at next sign-in before anything else (a
    /// support action, or an account an operator created).
    pub required: Vec<&'static str>,
    pub keys: Vec<KeyView>,
    /// (slug, name, role)
    pub memberships: Vec<(String, String, String)>,
    /// The account has no password yet: "Send the set-up link again".
    pub awaits_setup: bool,
    pub is_self: bool,
    /// The action of the form that was refused (empty: none): only that
    /// form shows the reason typed and the error beside it.
    pub refused_form: String,
    pub reason: String,
    pub errors: FieldErrors,
}

impl DetailPage {
    /// The reason to show in the form posting to `action`.
    pub fn reason_of(&self, action: &str) -> &str {
        if self.refused_form == action {
            &self.reason
        } else {
            ""
        }
    }

    /// The error to show beside the reason of the form posting to `action`.
    pub fn error_of(&self, action: &str) -> Option<&str> {
        if self.refused_form == action {
            self.errors.get("reason")
        } else {
            None
        }
    }
}

fn summary(u: &User, now: i64) -> UserRow {
    UserRow {
        id: u.id,
        email: u.email.clone(),
        display_name: u.display_name.clone(),
        is_operator: u.is_operator,
        disabled: u.disabled_at.is_some(),
        created: Timestamp::new(u.created_at, now),
    }
}

pub(super) async fn gate_page(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    user: &User,
    reason: String,
    errors: FieldErrors,
) -> Result<GatePage, AppError> {
    Ok(GatePage {
        ctx: ops_context(state, session, op, OpsSection::Users).await?,
        user: summary(user, state.clock.unix()),
        reason,
        errors,
    })
}

/// The user's details; `refused_form` names the action of a form refused
/// with `reason` and `errors` (empty when none was).
pub(super) async fn detail_page(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    user: &User,
    refused_form: &str,
    reason: String,
    errors: FieldErrors,
) -> Result<DetailPage, AppError> {
    let now = state.clock.unix();
    let keys = state.db.platform_user_keys(op.scope(), user.id).await?;
    let memberships = state
        .db
        .platform_user_memberships(op.scope(), user.id)
        .await?
        .into_iter()
        .map(|(_, slug, name, role)| (slug, name, role))
        .collect();
    let mfa = state.db.mfa_status(user.id).await?;
    Ok(DetailPage {
        ctx: ops_context(state, session, op, OpsSection::Users).await?,
        user: summary(user, now),
        phone: user.phone.clone().unwrap_or_default(),
        job_title: user.job_title.clone().unwrap_or_default(),
        time_zone: user.time_zone.clone(),
        disabled_since: user.disabled_at.map(|t| Timestamp::new(t, now)),
        mfa_since: mfa.map(|m| Timestamp::new(m.enabled_at, now)),
        sessions: state
            .db
            .count_live_sessions(op.scope(), user.id, now)
            .await?,
        required: [
            (user.must_change_password, "change their password"),
            (user.must_enrol_mfa, "set up two-factor authentication"),
        ]
        .into_iter()
        .filter_map(|(due, what)| due.then_some(what))
        .collect(),
        keys: keys.iter().map(|k| KeyView::new(k, now)).collect(),
        memberships,
        awaits_setup: state.db.awaits_setup(op.scope(), user.id).await?,
        is_self: user.id == op.id(),
        refused_form: refused_form.to_owned(),
        reason,
        errors,
    })
}

/// The user's details once the operator has said why; the reason form
/// before that.
pub async fn show_user(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = load_user(&state, &op, parse_id(&id)?).await?;
    if has_view_grant(&session, user.id, state.clock.unix()).await? {
        ok(&detail_page(
            &state,
            &session,
            &op,
            &user,
            "",
            String::new(),
            FieldErrors::new(),
        )
        .await?)
    } else {
        ok(&gate_page(
            &state,
            &session,
            &op,
            &user,
            String::new(),
            FieldErrors::new(),
        )
        .await?)
    }
}

/// Records why the operator looks at this user, then shows the details.
pub async fn view_user(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let user = load_user(&state, &op, parse_id(&id)?).await?;
    let now = state.clock.unix();
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(m) => {
            let mut errors = FieldErrors::new();
            errors.add("reason", m);
            let page = gate_page(&state, &session, &op, &user, form.reason, errors).await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    state
        .db
        .record_operator_action(
            &op,
            &client.origin(),
            OperatorAction {
                action: "ops.user.viewed",
                target_kind: "user",
                target_id: user.id.to_string(),
                reason: &reason,
                // Each org the user belongs to sees the look in its own log.
                orgs: &user_org_ids(&state, &op, user.id).await?,
                detail: json!({ "email": user.email }),
            },
            now,
        )
        .await?;
    add_view_grant(&session, user.id, op.sudo_until(), now).await?;
    Ok(Redirect::to(&format!("/ops/users/{}", user.id)).into_response())
}

/// The orgs whose audit logs must show an operator action on this user.
pub(super) async fn user_org_ids(
    state: &AppState,
    op: &Operator,
    user_id: Uuid,
) -> Result<Vec<Uuid>, AppError> {
    Ok(state
        .db
        .platform_user_memberships(op.scope(), user_id)
        .await?
        .into_iter()
        .map(|(id, ..)| id)
        .collect())
}

async fn change_status(
    state: AppState,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    id: String,
    form: ReasonForm,
    disable: bool,
) -> Result<Response, AppError> {
    let user = load_user(&state, &op, parse_id(&id)?).await?;
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let reason = errors.check("reason", Reason::parse(&form.reason));
    if disable && user.id == op.id() {
        errors.add(
            "reason",
            "You cannot disable your own account from the console.",
        );
    }
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        // Without a view grant the details are not shown, even beside an error.
        return if has_view_grant(&session, user.id, now).await? {
            let refused = format!(
                "/ops/users/{}/{}",
                user.id,
                if disable { "disable" } else { "enable" }
            );
            let page =
                detail_page(&state, &session, &op, &user, &refused, form.reason, errors).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        } else {
            let page = gate_page(&state, &session, &op, &user, form.reason, errors).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        };
    };
    let action = if disable {
        "ops.user.disabled"
    } else {
        "ops.user.enabled"
    };
    let outcome = state
        .db
        .set_user_disabled(
            &op,
            &client.origin(),
            user.id,
            disable,
            OperatorAction {
                action,
                target_kind: "user",
                target_id: user.id.to_string(),
                reason: &reason,
                orgs: &user_org_ids(&state, &op, user.id).await?,
                detail: json!({ "email": user.email }),
            },
            now,
        )
        .await?;
    let message = match (outcome, disable) {
        (Some(ended), true) => format!(
            "{} is disabled: {ended} session{} ended, and their API keys are refused until the \
             account is enabled again.",
            user.email,
            if ended == 1 { "" } else { "s" }
        ),
        (Some(_), false) => format!(
            "{} is enabled again: they can sign in, and their unexpired keys work again.",
            user.email
        ),
        (None, true) => format!("{} was already disabled; nothing changed.", user.email),
        (None, false) => format!("{} was not disabled; nothing changed.", user.email),
    };
    let kind = if outcome.is_some() {
        FlashKind::Success
    } else {
        FlashKind::Info
    };
    session.flash(kind, message).await?;
    Ok(Redirect::to(&format!("/ops/users/{}", user.id)).into_response())
}

pub async fn disable_user(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_status(state, session, op, client, id, form, true).await
}

pub async fn enable_user(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_status(state, session, op, client, id, form, false).await
}
