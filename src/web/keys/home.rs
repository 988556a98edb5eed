//! Where an API key lives (`KeyHome`): the signed-in user's own keys, or a
//! service account of an org the caller owns. A home gives the shared flow
//! (`lifecycle`) its paths, its page context, the key lookup, the org
//! bindings a new key may take, its audit events and the `KeyOwner` the
//! storage calls filter by.
//!
//! Invariant: a key is found only through its home's proof-bound query
//! (`find_key`), so a key of anyone else is 404.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{KeyForm, NewKeyPage, OrgOption, TeamGroup, chosen_teams};
use crate::auth::AppSession;
use crate::authz::org::unchecked_member_scope;
use crate::authz::{CurrentUser, OrgOwner, OrgScope};
use crate::db::audit::Event;
use crate::db::keys::{ApiKey, KeyOwner};
use crate::db::service_accounts::ServiceAccount;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section};

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

    pub(super) fn owner(&self) -> KeyOwner<'_> {
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
    pub(super) fn key_page(&self, public_id: &str) -> String {
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
    pub(super) async fn bindings(&self, state: &AppState) -> Result<Vec<Binding>, AppError> {
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

    /// The principal's scope in the org a key is bound to (`None` when it
    /// has left it): the bindings' scope without their team lists.
    pub(super) async fn scope_in(
        &self,
        state: &AppState,
        org_id: Uuid,
    ) -> Result<Option<OrgScope>, AppError> {
        match self {
            KeyHome::Personal(user) => {
                for org in state.db.user_orgs(user).await? {
                    if let Some(scope) = unchecked_member_scope(state, user, &org.slug).await?
                        && scope.org_id() == org_id
                    {
                        return Ok(Some(scope));
                    }
                }
                Ok(None)
            }
            KeyHome::ServiceAccount { owner, .. } => {
                let scope: &OrgScope = owner.scope();
                Ok((scope.org_id() == org_id).then(|| scope.clone()))
            }
        }
    }

    pub(super) fn new_key_page(
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
    pub(super) fn chosen_binding<'b>(
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
    pub(super) fn detail(&self, fields: Value) -> Value {
        let mut detail = Map::new();
        if let KeyHome::ServiceAccount { account, .. } = self {
            detail.insert("service_account".into(), json!(account.name));
        }
        if let Value::Object(fields) = fields {
            detail.extend(fields);
        }
        Value::Object(detail)
    }

    /// The event of `action` on the key `key_id`, by the person acting. The
    /// storage function that makes the change writes it, and puts it in the
    /// log of the org the key is bound to.
    pub(super) fn event(
        &self,
        client: &ClientInfo,
        action: &'static str,
        key_id: Uuid,
        detail: Value,
    ) -> Event {
        Event::by(self.user().actor())
            .did(action)
            .on("api_key", key_id)
            .detail(self.detail(detail))
            .from(&client.origin())
    }
}
