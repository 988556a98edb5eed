//! `/ops/master-keys`: the platform-level keys, listed with their metadata
//! and revocable with a reason. Creation and rotation happen only on the
//! command line (`gatehouse operator master-key create|rotate`), so a secret
//! never passes through the console.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::{ReasonForm, ops_context};
use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::Operator;
use crate::db::keys::KeyStatus;
use crate::db::master_keys::MasterKey;
use crate::db::platform::OperatorAction;
use crate::domain::Reason;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, OpsSection, PageContext, ok, render};

pub struct MasterKeyView {
    pub public_id: String,
    pub prefix: String,
    pub name: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub rotated: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub last_used_ip: String,
    pub status: KeyStatus,
    pub revoked_reason: String,
}

impl MasterKeyView {
    fn new(k: &MasterKey, now: i64) -> Self {
        MasterKeyView {
            public_id: k.public_id.clone(),
            prefix: k.prefix(),
            name: k.name.clone(),
            created: Timestamp::new(k.created_at, now),
            expires: Timestamp::new(k.expires_at, now),
            rotated: k.rotated_at.map(|t| Timestamp::new(t, now)),
            last_used: k.last_used_at.map(|t| Timestamp::new(t, now)),
            last_used_ip: k.last_used_ip.clone().unwrap_or_default(),
            status: k.status(now),
            revoked_reason: k.revoked_reason.clone().unwrap_or_default(),
        }
    }

    pub fn usable(&self) -> bool {
        self.status.is_usable()
    }
}

#[derive(Template)]
#[template(path = "ops/master_keys.html")]
pub struct MasterKeysPage {
    pub ctx: PageContext,
    pub keys: Vec<MasterKeyView>,
    /// The key whose revocation form had an error, the message, the reason.
    pub error: Option<(String, String, String)>,
}

impl MasterKeysPage {
    pub fn error_for(&self, id: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(k, _, _)| k == id)
            .map(|(_, m, _)| m.as_str())
    }

    pub fn reason_for(&self, id: &str) -> &str {
        self.error
            .as_ref()
            .filter(|(k, _, _)| k == id)
            .map_or("", |(_, _, r)| r.as_str())
    }
}

async fn keys_page(
    state: &AppState,
    session: &AppSession,
    op: &Operator,
    error: Option<(String, String, String)>,
) -> Result<MasterKeysPage, AppError> {
    let now = state.clock.unix();
    let keys = state.db.list_master_keys(op.scope()).await?;
    Ok(MasterKeysPage {
        ctx: ops_context(state, session, op, OpsSection::MasterKeys).await?,
        keys: keys.iter().map(|k| MasterKeyView::new(k, now)).collect(),
        error,
    })
}

pub async fn list_master_keys(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
) -> Result<Response, AppError> {
    ok(&keys_page(&state, &session, &op, None).await?)
}

pub async fn revoke_master_key(
    State(state): State<AppState>,
    session: AppSession,
    op: Operator,
    client: ClientInfo,
    Path(public_id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let key = state
        .db
        .find_master_key(op.scope(), &public_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(m) => {
            let page = keys_page(
                &state,
                &session,
                &op,
                Some((key.public_id.clone(), m.to_owned(), form.reason.clone())),
            )
            .await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let now = state.clock.unix();
    let revoked = OperatorAction {
        action: "ops.master_key.revoked",
        target_kind: "master_key",
        target_id: key.id.to_string(),
        reason: &reason,
        orgs: &[],
        detail: json!({ "name": key.name, "prefix": key.prefix() }),
    }
    .events(&op, &client.origin());
    if state
        .db
        .revoke_master_key(op.scope(), key.id, reason.as_str(), &revoked, now)
        .await?
    {
        session
            .flash(
                FlashKind::Success,
                format!(
                    "The master key “{}” was revoked: automation using it is refused from now on.",
                    key.name
                ),
            )
            .await?;
    }
    Ok(Redirect::to("/ops/master-keys").into_response())
}
