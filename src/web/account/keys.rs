//! `/account/keys`: personal API keys — list, create (sudo; optionally bound
//! to one of the user's orgs with team grants, within the org's maximum key
//! lifetime), show once, rotate (sudo), revoke, remove from the list. The
//! lifecycle pieces are shared with service-account keys (`web::keys`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use uuid::Uuid;

use crate::auth::AppSession;
use crate::auth::api_key;
use crate::auth::session::FlashKind;
use crate::auth::throttle;
use crate::authz::org::unchecked_member_scope;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{CurrentUser, OrgScope, SudoGate, SudoUser};
use crate::db::audit::Event;
use crate::db::keys::{ApiKey, NewKey};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{ListForm as Form, Path};
pub use crate::web::keys::KeyView;
use crate::web::keys::{
    KeyForm, NewKeyPage, OrgOption, RevealPage, RotateForm, RotatePage, TeamGroup, ValidKey,
    chosen_teams, reveal_once, take_revealed, validate, within_org_lifetime,
};
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

#[derive(Template)]
#[template(path = "account/keys.html")]
pub struct KeysPage {
    pub ctx: PageContext,
    pub keys: Vec<KeyView>,
}

pub async fn list_keys(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock.unix();
    let keys = state.db.list_personal_keys(&user).await?;
    let page = KeysPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        keys: keys.iter().map(|k| KeyView::new(k, now)).collect(),
    };
    ok(&page)
}

/// The orgs the user may bind a key to, each with the live teams they are on.
async fn bindings(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<(OrgScope, Vec<(Uuid, String)>)>, AppError> {
    let mut out = Vec::new();
    for org in state.db.user_orgs(user).await? {
        if let Some(scope) = unchecked_member_scope(state, user, &org.slug).await? {
            let teams = state
                .db
                .my_teams(&scope)
                .await?
                .into_iter()
                .map(|t| (t.team_id, t.name))
                .collect();
            out.push((scope, teams));
        }
    }
    Ok(out)
}

fn new_key_page(
    ctx: PageContext,
    state: &AppState,
    form: KeyForm,
    errors: FieldErrors,
    bindings: &[(OrgScope, Vec<(Uuid, String)>)],
) -> NewKeyPage {
    let mut page = NewKeyPage::new(
        ctx,
        state,
        "Create an API key".into(),
        "The key will act as you, limited to the scopes below. You will see it once.",
        ("/account/keys".into(), "/account/keys".into()),
        form,
        errors,
    );
    // No JavaScript: every org's teams are listed, grouped by org; only the
    // group of the chosen org counts (anything else is a field error).
    page.org_options = bindings
        .iter()
        .map(|(scope, _)| OrgOption {
            slug: scope.slug().to_owned(),
            name: scope.name().to_owned(),
            selected: page.form.org == scope.slug(),
            max_days: scope.max_key_lifetime_days(),
        })
        .collect();
    page.team_groups = bindings
        .iter()
        .map(|(scope, teams)| {
            TeamGroup::new(format!("Your teams in {}", scope.name()), teams, &page.form)
        })
        .collect();
    page
}

pub async fn new_key_form(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<KeyForm>(&session, "/account/keys/new")
        .await?
        .unwrap_or_else(KeyForm::initial);
    let ctx = PageContext::new(&state, &session, Some(&user), Section::Keys).await?;
    let bindings = bindings(&state, &user).await?;
    ok(&new_key_page(
        ctx,
        &state,
        form,
        FieldErrors::new(),
        &bindings,
    ))
}

pub async fn create_key(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<KeyForm>,
) -> Result<Response, AppError> {
    let user = gate.enter("/account/keys/new", &form).await?;
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let valid = validate(
        &form,
        now,
        state.config.allow_keys_without_expiry,
        &mut errors,
    );
    let bindings = bindings(&state, &user).await?;
    let binding = if form.org.is_empty() {
        if !form.teams.is_empty() {
            errors.add("teams", "Choose the organization of these teams.");
        }
        None
    } else {
        match bindings.iter().find(|(scope, _)| scope.slug() == form.org) {
            None => {
                errors.add("org", "Choose one of your organizations.");
                None
            }
            Some((scope, teams)) => {
                // The org's MFA policy would refuse every request of this key
                // (`authz::api::ApiOrgKey`): say so now, beside the field.
                if scope.require_mfa() && !state.db.user_has_mfa(user.id()).await? {
                    errors.add(
                        "org",
                        "This organization requires two-factor authentication: turn it on for \
                         your account (Account → Security) before binding a key to it.",
                    );
                }
                Some((scope, chosen_teams(&form, teams, &mut errors)))
            }
        }
    };
    // The org's maximum key lifetime applies to keys bound to it.
    let valid = match binding.as_ref() {
        Some((scope, _)) => within_org_lifetime(valid, scope, now, &mut errors),
        None => valid,
    };
    let (
        Some(ValidKey {
            name,
            description,
            scopes,
            expires_at,
        }),
        true,
    ) = (valid, errors.is_empty())
    else {
        let ctx = PageContext::new(&state, &session, Some(&user), Section::Keys).await?;
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &new_key_page(ctx, &state, form, errors, &bindings),
        );
    };
    throttle::consume(
        &state.db,
        &format!("keys:issue:{}", user.id()),
        state.config.key_issues_per_hour,
        3600,
        now,
    )
    .await?;
    let issued = api_key::issue();
    state
        .db
        .create_personal_key(
            &user,
            binding
                .as_ref()
                .map(|(scope, teams)| (*scope, teams.as_slice())),
            NewKey {
                public_id: &issued.public_id,
                name: &name,
                description: description.as_deref(),
                scopes: &scopes,
                digest: &issued.digest,
                expires_at,
            },
            |key_id| {
                let created = Event::by(user.actor())
                    .did("api_key.created")
                    .on("api_key", key_id)
                    .detail(json!({
                        "name": name,
                        "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
                        "scopes": scopes.names(),
                        "expires_at": expires_at,
                        "org": binding.as_ref().map(|(scope, _)| scope.slug()),
                        "teams": binding.as_ref().map(|(_, teams)| teams.len()).unwrap_or(0),
                    }))
                    .from(&client.origin());
                // A bound key's events also go to its org's audit log.
                match &binding {
                    Some((scope, _)) => created.in_org(scope),
                    None => created,
                }
            },
            now,
        )
        .await?;
    let public_id = issued.public_id.clone();
    reveal_once(&session, &public_id, issued.token).await?;
    Ok(Redirect::to(&format!("/account/keys/{public_id}/reveal")).into_response())
}

async fn own_key(
    state: &AppState,
    user: &CurrentUser,
    public_id: &str,
) -> Result<ApiKey, AppError> {
    state
        .db
        .find_personal_key(user, public_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn reveal_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let page = RevealPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: KeyView::new(&key, state.clock.unix()),
        token: take_revealed(&session, &key.public_id).await?,
        api_base: state.config.public_url(),
        back: "/account/keys".into(),
        back_label: "API keys",
    };
    ok(&page)
}

#[derive(Template)]
#[template(path = "account/key_detail.html")]
pub struct KeyDetailPage {
    pub ctx: PageContext,
    pub key: KeyView,
    /// The org the key is bound to, if any (its grants are in `key.teams`).
    pub org: Option<String>,
}

pub async fn show_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let (org, teams) = state
        .db
        .personal_key_binding(&user, key.id)
        .await?
        .map_or((None, Vec::new()), |(o, t)| (Some(o), t));
    let mut view = KeyView::new(&key, state.clock.unix());
    view.teams = teams;
    let page = KeyDetailPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: view,
        org,
    };
    ok(&page)
}

pub async fn rotate_key_form(
    State(state): State<AppState>,
    session: AppSession,
    user: SudoUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let path = format!("/account/keys/{public_id}/rotate");
    let form = take_stashed_form::<RotateForm>(&session, &path)
        .await?
        .unwrap_or_default();
    let page = RotatePage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
        key: KeyView::new(&key, state.clock.unix()),
        key_base: format!("/account/keys/{public_id}"),
        cancel: format!("/account/keys/{public_id}"),
        grace: if form.grace.is_empty() {
            "0".into()
        } else {
            form.grace
        },
        errors: FieldErrors::new(),
    };
    ok(&page)
}

pub async fn rotate_key(
    State(state): State<AppState>,
    session: AppSession,
    gate: SudoGate,
    client: ClientInfo,
    Path(public_id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, AppError> {
    let key = own_key(&state, gate.user(), &public_id).await?;
    let user = gate
        .enter(&format!("/account/keys/{public_id}/rotate"), &form)
        .await?;
    let now = state.clock.unix();
    let grace_secs = match form.grace_seconds() {
        Some(g) => g,
        None => {
            let mut errors = FieldErrors::new();
            errors.add("grace", "Choose when the old secret stops working.");
            let page = RotatePage {
                ctx: PageContext::new(&state, &session, Some(&user), Section::Keys).await?,
                key: KeyView::new(&key, now),
                key_base: format!("/account/keys/{public_id}"),
                cancel: format!("/account/keys/{public_id}"),
                grace: "0".into(),
                errors,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if !key.status(now).is_usable() {
        session
            .flash(FlashKind::Error, "Only an active key can be rotated.")
            .await?;
        return Ok(Redirect::to(&format!("/account/keys/{public_id}")).into_response());
    }
    throttle::consume(
        &state.db,
        &format!("keys:issue:{}", user.id()),
        state.config.key_issues_per_hour,
        3600,
        now,
    )
    .await?;
    let issued = api_key::issue_for(&key.public_id);
    let rotated = state
        .db
        .rotate_personal_key(
            &user,
            key.id,
            &issued.digest,
            grace_secs.map(|g| now + g),
            Event::by(user.actor())
                .did("api_key.rotated")
                .on("api_key", key.id)
                .detail(json!({ "prefix": key.prefix(), "grace_seconds": grace_secs.unwrap_or(0) }))
                .from(&client.origin()),
            now,
        )
        .await?;
    if !rotated {
        return Err(AppError::NotFound);
    }
    reveal_once(&session, &key.public_id, issued.token).await?;
    Ok(Redirect::to(&format!("/account/keys/{public_id}/reveal")).into_response())
}

pub async fn revoke_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    let now = state.clock.unix();
    let revoked = Event::by(user.actor())
        .did("api_key.revoked")
        .on("api_key", key.id)
        .detail(json!({ "prefix": key.prefix(), "name": key.name }))
        .from(&client.origin());
    if state
        .db
        .revoke_personal_key(&user, key.id, revoked, now)
        .await?
    {
        session
            .flash(
                FlashKind::Success,
                format!(
                    "The key “{}” was revoked. Programs using it are now refused.",
                    key.name
                ),
            )
            .await?;
    }
    Ok(Redirect::to("/account/keys").into_response())
}

pub async fn remove_key(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    Path(public_id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &user, &public_id).await?;
    if state
        .db
        .hide_personal_key(&user, key.id, state.clock.unix())
        .await?
    {
        session
            .flash(
                FlashKind::Success,
                format!("The key “{}” was removed from the list.", key.name),
            )
            .await?;
    } else {
        session
            .flash(
                FlashKind::Error,
                "Only expired or revoked keys can be removed from the list.",
            )
            .await?;
    }
    Ok(Redirect::to("/account/keys").into_response())
}
