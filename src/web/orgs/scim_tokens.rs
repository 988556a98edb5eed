//! `/orgs/{slug}/settings/scim` (owners): the org's SCIM tokens, with which
//! its identity provider provisions members over `/scim/v2`. Creating one
//! needs sudo mode; the token is shown once, on the page the creation
//! redirects to, and only its SHA-256 digest is stored. The list shows each
//! token's name, creation and last use; revoking one is immediate.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

/// The session key of a token made a moment ago, shown once.
const REVEAL: &str = "scim_token_reveal";
const MAX_NAME_LEN: usize = 100;

pub struct TokenItem {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created: Timestamp,
    pub last_used: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
}

#[derive(Template)]
#[template(path = "orgs/scim.html")]
pub struct ScimTokensPage {
    pub ctx: PageContext,
    pub slug: String,
    pub tokens: Vec<TokenItem>,
    /// The token just made, shown this once.
    pub revealed: Option<String>,
    pub scim_base: String,
    pub name: String,
    pub errors: FieldErrors,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
}

fn form_page(owner: &OrgOwner) -> String {
    format!("/orgs/{}/settings/scim", owner.scope().slug())
}

async fn page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    revealed: Option<String>,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let tokens = state
        .db
        .scim_tokens(owner.scope())
        .await?
        .into_iter()
        .map(|t| TokenItem {
            id: t.id.to_string(),
            name: t.name,
            prefix: format!("{}{}", crate::auth::api_key::PREFIX, t.public_id),
            created: Timestamp::new(t.created_at, now),
            last_used: t.last_used_at.map(|u| Timestamp::new(u, now)),
            revoked: t.revoked_at.map(|r| Timestamp::new(r, now)),
        })
        .collect();
    let page = ScimTokensPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgSettings,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        tokens,
        revealed,
        scim_base: format!(
            "{}/scim/v2",
            state.config.public_url().trim_end_matches('/')
        ),
        name,
        errors,
    };
    render(status, &page)
}

pub async fn list_scim_tokens(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    let revealed = session.get::<String>(REVEAL).await?;
    if revealed.is_some() {
        session.remove(REVEAL).await?;
    }
    let name = take_stashed_form::<TokenForm>(&session, &form_page(&owner))
        .await?
        .map(|f| f.name)
        .unwrap_or_default();
    page(
        &state,
        &session,
        &owner,
        revealed,
        name,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Makes a token (sudo): its name is what the audit log calls the identity
/// provider's actions.
pub async fn create_scim_token(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim().to_owned();
    let mut errors = FieldErrors::new();
    if name.is_empty() {
        errors.add("name", "Enter a name, e.g. the identity provider's.");
    } else if name.chars().count() > MAX_NAME_LEN {
        errors.add("name", "Use at most 100 characters.");
    }
    if !errors.is_empty() {
        return page(
            &state,
            &session,
            &owner,
            None,
            form.name,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let sudo = gate.enter(&form_page(&owner), &form).await?;
    let issued = crate::auth::api_key::issue();
    let event = |id: Uuid| {
        Event::by(sudo.actor())
            .did("scim_token.created")
            .on("scim_token", id)
            .in_org(owner.scope())
            .detail(json!({
                "name": name,
                "prefix": format!("{}{}", crate::auth::api_key::PREFIX, issued.public_id),
            }))
            .from(&client.origin())
    };
    state
        .db
        .create_scim_token(
            owner.scope(),
            &name,
            &issued.public_id,
            &issued.digest,
            event,
            state.clock.unix(),
        )
        .await?;
    session.put(REVEAL, &issued.token.expose()).await?;
    session
        .flash(
            FlashKind::Success,
            format!("SCIM token “{name}” created. Copy it now: it will not be shown again."),
        )
        .await?;
    Ok(Redirect::to(&form_page(&owner)).into_response())
}

pub async fn revoke_scim_token(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    client: ClientInfo,
    Path((_slug, token)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&token).map_err(|_| AppError::NotFound)?;
    let token = state
        .db
        .scim_token(owner.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let event = Event::by(owner.user().actor())
        .did("scim_token.revoked")
        .on("scim_token", token.id)
        .in_org(owner.scope())
        .detail(json!({ "name": token.name }))
        .from(&client.origin());
    let revoked = state
        .db
        .revoke_scim_token(owner.scope(), token.id, event, state.clock.unix())
        .await?;
    let message = if revoked {
        format!(
            "SCIM token “{}” revoked. Requests with it are refused from now on.",
            token.name
        )
    } else {
        format!("SCIM token “{}” was already revoked.", token.name)
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&form_page(&owner)).into_response())
}
