//! The API key lifecycle, written once for every place a key can live:
//! create (sudo; throttled per person), show once, rotate with a grace
//! period (sudo; throttled), revoke. A `KeyHome` says where the key lives —
//! the signed-in user's own keys, or a service account of an org the caller
//! owns — and gives the flow its paths, its page context, the key lookup, the
//! org bindings a key may take and the storage calls.
//!
//! Invariant: every key is looked up through its home (a proof-bound query)
//! before sudo is asked for or anything is written, so a key of anyone else
//! is 404, never a sudo prompt; and every write goes through `Db` functions
//! that filter by the same proof (`KeyOwner`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    KeyForm, KeyView, NewKeyPage, OrgOption, RevealPage, RotateForm, RotatePage, TeamGroup,
    ValidKey, chosen_teams, reveal_once, take_revealed, validate, within_org_lifetime,
};
use crate::auth::limits::Bucket;
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, api_key, throttle};
use crate::authz::org::unchecked_member_scope;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{CurrentUser, OrgOwner, OrgScope, SudoGate};
use crate::db::audit::NewEvent;
use crate::db::keys::{ApiKey, KeyOwner, NewKey};
use crate::db::service_accounts::ServiceAccount;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

/// An org a new key may be bound to, with the teams it may be granted there.
pub type Binding = (OrgScope, Vec<(Uuid, String)>);

/// Where a key lives.
#[derive(Clone, Copy)]
pub enum KeyHome<'a> {
    /// The signed-in user's own keys, under `/account/keys`; a key may be
    /// bound to one of the user's orgs, with teams the user is on.
    Personal(&'a CurrentUser),
    /// A service account's keys, under `/orgs/{slug}/service-accounts/{id}`;
    /// always bound to that org, with any of its live teams.
    ServiceAccount {
        owner: &'a OrgOwner,
        account: &'a ServiceAccount,
    },
}

impl KeyHome<'_> {
    /// The person acting.
    pub fn user(&self) -> &CurrentUser {
        match self {
            KeyHome::Personal(user) => user,
            KeyHome::ServiceAccount { owner, .. } => owner.user(),
        }
    }

    fn owner(&self) -> KeyOwner<'_> {
        match self {
            KeyHome::Personal(user) => KeyOwner::User(user),
            KeyHome::ServiceAccount { owner, .. } => KeyOwner::ServiceAccountsOf(owner.scope()),
        }
    }

    /// The service account's page, or the list of personal keys: where
    /// creation is cancelled, revocation returns and a revealed key leads.
    pub fn list_path(&self) -> String {
        match self {
            KeyHome::Personal(_) => "/account/keys".into(),
            KeyHome::ServiceAccount { owner, account } => format!(
                "/orgs/{}/service-accounts/{}",
                owner.scope().slug(),
                account.id
            ),
        }
    }

    /// The path the keys live under (`…/new`, `…/{public id}/rotate`).
    pub fn keys_path(&self) -> String {
        match self {
            KeyHome::Personal(_) => "/account/keys".into(),
            KeyHome::ServiceAccount { .. } => format!("{}/keys", self.list_path()),
        }
    }

    pub fn key_path(&self, public_id: &str) -> String {
        format!("{}/{public_id}", self.keys_path())
    }

    /// The page that shows one key: its own page for a personal key, the
    /// service account's page otherwise.
    fn key_page(&self, public_id: &str) -> String {
        match self {
            KeyHome::Personal(_) => self.key_path(public_id),
            KeyHome::ServiceAccount { .. } => self.list_path(),
        }
    }

    pub async fn page_context(
        &self,
        state: &AppState,
        session: &AppSession,
    ) -> Result<PageContext, AppError> {
        match self {
            KeyHome::Personal(user) => {
                PageContext::new(state, session, Some(user), Section::Keys).await
            }
            KeyHome::ServiceAccount { owner, .. } => {
                PageContext::for_org(
                    state,
                    session,
                    owner.user(),
                    owner.scope(),
                    Section::OrgServiceAccounts,
                )
                .await
            }
        }
    }

    /// The key with this public id in this home; 404 for any other.
    pub async fn find_key(&self, state: &AppState, public_id: &str) -> Result<ApiKey, AppError> {
        let key = match self {
            KeyHome::Personal(user) => state.db.find_personal_key(user, public_id).await?,
            KeyHome::ServiceAccount { owner, account } => {
                state
                    .db
                    .find_service_account_key(owner.scope(), account.id, public_id)
                    .await?
            }
        };
        key.ok_or(AppError::NotFound)
    }

    /// The orgs a new key may be bound to, each with the teams it may be
    /// granted: the user's orgs with the live teams they are on, or the
    /// service account's org with all its live teams.
    async fn bindings(&self, state: &AppState) -> Result<Vec<Binding>, AppError> {
        let mut out = Vec::new();
        match self {
            KeyHome::Personal(user) => {
                for org in state.db.user_orgs(user).await? {
                    if let Some(scope) = unchecked_member_scope(state, user, &org.slug).await? {
                        let teams = state.db.my_teams(&scope).await?;
                        let teams = teams.into_iter().map(|t| (t.team_id, t.name)).collect();
                        out.push((scope, teams));
                    }
                }
            }
            KeyHome::ServiceAccount { owner, .. } => {
                let scope: &OrgScope = owner.scope();
                let teams = state
                    .db
                    .list_teams(owner.scope(), state.clock.unix())
                    .await?
                    .into_iter()
                    .filter(|t| t.deleted_at.is_none())
                    .map(|t| (t.id, t.name))
                    .collect();
                out.push((scope.clone(), teams));
            }
        }
        Ok(out)
    }

    fn new_key_page(
        &self,
        ctx: PageContext,
        state: &AppState,
        form: KeyForm,
        errors: FieldErrors,
        bindings: &[Binding],
    ) -> NewKeyPage {
        let (heading, lead) = match self {
            KeyHome::Personal(_) => (
                "Create an API key".to_owned(),
                "The key will act as you, limited to the scopes below. You will see it once.",
            ),
            KeyHome::ServiceAccount { account, .. } => (
                format!("Create a key for {}", account.name),
                "The key acts as this service account in this organization, limited to the \
                 scopes and teams below. You will see it once.",
            ),
        };
        let paths = (self.keys_path(), self.list_path());
        let mut page = NewKeyPage::new(ctx, state, heading, lead, paths, form, errors);
        match self {
            KeyHome::Personal(_) => {
                // No JavaScript: every org's teams are listed, grouped by
                // org; only the group of the chosen org counts (anything
                // else is a field error).
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
                        let legend = format!("Your teams in {}", scope.name());
                        TeamGroup::new(legend, teams, &page.form)
                    })
                    .collect();
            }
            KeyHome::ServiceAccount { owner, .. } => {
                page.team_groups = bindings
                    .iter()
                    .map(|(scope, teams)| {
                        TeamGroup::new(format!("Teams of {}", scope.name()), teams, &page.form)
                    })
                    .collect();
                page.policy_days = owner.scope().max_key_lifetime_days();
            }
        }
        page
    }

    /// The binding the form chose, with its chosen teams (a service
    /// account's key is always bound to its org), recording field errors.
    fn chosen_binding<'b>(
        &self,
        form: &KeyForm,
        bindings: &'b [Binding],
        errors: &mut FieldErrors,
    ) -> Option<(&'b OrgScope, Vec<Uuid>)> {
        if let KeyHome::ServiceAccount { .. } = self {
            let (scope, teams) = bindings.first()?;
            return Some((scope, chosen_teams(form, teams, errors)));
        }
        if form.org.is_empty() {
            if !form.teams.is_empty() {
                errors.add("teams", "Choose the organization of these teams.");
            }
            return None;
        }
        match bindings.iter().find(|(scope, _)| scope.slug() == form.org) {
            None => {
                errors.add("org", "Choose one of your organizations.");
                None
            }
            Some((scope, teams)) => Some((scope, chosen_teams(form, teams, errors))),
        }
    }

    /// The audit detail of a key event: the service account's name first
    /// where there is one, then `fields`.
    fn detail(&self, fields: Value) -> Value {
        let mut detail = Map::new();
        if let KeyHome::ServiceAccount { account, .. } = self {
            detail.insert("service_account".into(), json!(account.name));
        }
        if let Value::Object(fields) = fields {
            detail.extend(fields);
        }
        Value::Object(detail)
    }

    /// Records a key event; a key bound to an org has it in that org's log
    /// too.
    async fn record(
        &self,
        state: &AppState,
        client: &ClientInfo,
        action: &str,
        (key_id, org_id): (Uuid, Option<Uuid>),
        detail: Value,
    ) -> Result<(), AppError> {
        state
            .db
            .record_event(
                NewEvent {
                    actor: &self.user().actor(),
                    action,
                    target_kind: Some("api_key"),
                    target_id: Some(key_id.to_string()),
                    org_id,
                    origin: &client.origin(),
                    detail: self.detail(detail),
                },
                state.clock.unix(),
            )
            .await?;
        Ok(())
    }
}

/// The creation form (the handler has checked sudo for it).
pub async fn new_key_form(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
) -> Result<Response, AppError> {
    let form = take_stashed_form::<KeyForm>(session, &format!("{}/new", home.keys_path()))
        .await?
        .unwrap_or_else(KeyForm::initial);
    let ctx = home.page_context(state, session).await?;
    let bindings = home.bindings(state).await?;
    let page = home.new_key_page(ctx, state, form, FieldErrors::new(), &bindings);
    render(StatusCode::OK, &page)
}

/// Creates a key from the form (sudo), then shows it once.
pub async fn create_key(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    gate: SudoGate,
    client: &ClientInfo,
    form: KeyForm,
) -> Result<Response, AppError> {
    let sudo = gate
        .enter(&format!("{}/new", home.keys_path()), &form)
        .await?;
    let now = state.clock.unix();
    let mut errors = FieldErrors::new();
    let allow_no_expiry = state.config.allow_keys_without_expiry;
    let valid = validate(&form, now, allow_no_expiry, &mut errors);
    let bindings = home.bindings(state).await?;
    let binding = home.chosen_binding(&form, &bindings, &mut errors);
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
        let ctx = home.page_context(state, session).await?;
        let page = home.new_key_page(ctx, state, form, errors, &bindings);
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    throttle::consume(&state.db, &Bucket::key_issue(&state.config, sudo.id()), now).await?;
    let issued = api_key::issue();
    let key = NewKey {
        public_id: &issued.public_id,
        name: &name,
        description: description.as_deref(),
        scopes: &scopes,
        digest: &issued.digest,
        expires_at,
    };
    let teams = binding.as_ref().map_or(&[][..], |(_, t)| t.as_slice());
    let key_id = match home {
        KeyHome::Personal(_) => {
            let bound = binding.as_ref().map(|(scope, _)| (*scope, teams));
            state.db.create_personal_key(&sudo, bound, key, now).await?
        }
        KeyHome::ServiceAccount { owner, account } => state
            .db
            .create_service_account_key(owner.scope(), &sudo, account.id, teams, key, now)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    let mut detail = json!({
        "name": name,
        "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
        "scopes": scopes.names(),
        "expires_at": expires_at,
    });
    if let KeyHome::Personal(_) = home {
        detail["org"] = json!(binding.as_ref().map(|(scope, _)| scope.slug()));
    }
    detail["teams"] = json!(teams.len());
    let org_id = binding.as_ref().map(|(scope, _)| scope.org_id());
    home.record(state, client, "api_key.created", (key_id, org_id), detail)
        .await?;
    let public_id = issued.public_id.clone();
    reveal_once(session, &public_id, issued.token).await?;
    Ok(Redirect::to(&format!("{}/reveal", home.key_path(&public_id))).into_response())
}

/// The key just issued, shown once (a reload shows only its metadata).
pub async fn reveal_key(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    public_id: &str,
) -> Result<Response, AppError> {
    let key = home.find_key(state, public_id).await?;
    let page = RevealPage {
        ctx: home.page_context(state, session).await?,
        key: KeyView::new(&key, state.clock.unix()),
        token: take_revealed(session, &key.public_id).await?,
        api_base: state.config.public_url(),
        back: home.list_path(),
        back_label: match home {
            KeyHome::Personal(_) => "API keys",
            KeyHome::ServiceAccount { .. } => "the service account",
        },
    };
    render(StatusCode::OK, &page)
}

async fn rotate_page(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    key: &ApiKey,
    grace: String,
    errors: FieldErrors,
) -> Result<RotatePage, AppError> {
    Ok(RotatePage {
        ctx: home.page_context(state, session).await?,
        key: KeyView::new(key, state.clock.unix()),
        key_base: home.key_path(&key.public_id),
        cancel: home.key_page(&key.public_id),
        grace,
        errors,
    })
}

/// The rotation form for `key` (the handler has checked sudo for it).
pub async fn rotate_key_form(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    key: &ApiKey,
) -> Result<Response, AppError> {
    let path = format!("{}/rotate", home.key_path(&key.public_id));
    let form = take_stashed_form::<RotateForm>(session, &path)
        .await?
        .unwrap_or_default();
    let grace = if form.grace.is_empty() {
        "0".into()
    } else {
        form.grace
    };
    let page = rotate_page(state, session, home, key, grace, FieldErrors::new()).await?;
    render(StatusCode::OK, &page)
}

/// Gives an active key a new secret (sudo); the old one keeps working for
/// the chosen grace period. The new secret is shown once.
pub async fn rotate_key(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    gate: SudoGate,
    client: &ClientInfo,
    public_id: &str,
    form: RotateForm,
) -> Result<Response, AppError> {
    let key = home.find_key(state, public_id).await?;
    let path = format!("{}/rotate", home.key_path(&key.public_id));
    let sudo = gate.enter(&path, &form).await?;
    let now = state.clock.unix();
    let Some(grace_secs) = form.grace_seconds() else {
        let mut errors = FieldErrors::new();
        errors.add("grace", "Choose when the old secret stops working.");
        let page = rotate_page(state, session, home, &key, "0".into(), errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if !key.status(now).is_usable() {
        session
            .flash(FlashKind::Error, "Only an active key can be rotated.")
            .await?;
        return Ok(Redirect::to(&home.key_page(&key.public_id)).into_response());
    }
    throttle::consume(&state.db, &Bucket::key_issue(&state.config, sudo.id()), now).await?;
    let issued = api_key::issue_for(&key.public_id);
    let until = grace_secs.map(|g| now + g);
    if !state
        .db
        .rotate_key(home.owner(), &sudo, key.id, &issued.digest, until, now)
        .await?
    {
        return Err(AppError::NotFound);
    }
    let detail = json!({ "prefix": key.prefix(), "grace_seconds": grace_secs.unwrap_or(0) });
    home.record(
        state,
        client,
        "api_key.rotated",
        (key.id, key.org_id),
        detail,
    )
    .await?;
    reveal_once(session, &key.public_id, issued.token).await?;
    Ok(Redirect::to(&format!("{}/reveal", home.key_path(&key.public_id))).into_response())
}

/// Revokes a key at once: programs using it are refused from now on.
pub async fn revoke_key(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    client: &ClientInfo,
    public_id: &str,
) -> Result<Response, AppError> {
    let key = home.find_key(state, public_id).await?;
    let now = state.clock.unix();
    if state.db.revoke_key(home.owner(), key.id, now).await? {
        let detail = json!({ "prefix": key.prefix(), "name": key.name });
        home.record(
            state,
            client,
            "api_key.revoked",
            (key.id, key.org_id),
            detail,
        )
        .await?;
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
    Ok(Redirect::to(&home.list_path()).into_response())
}
