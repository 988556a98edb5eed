//! The API key lifecycle pieces shared by personal keys (`account::keys`) and
//! service-account keys (`orgs::service_accounts`): the creation form and its
//! validation (name, scopes, expiry, org policy, team grants), the key as the
//! pages show it, the show-once mechanism and the rotation grace choices.
//! Both surfaces render the same templates (`templates/keys/`), so a key
//! looks and behaves the same wherever it is managed; the flow itself
//! (create, show once, rotate, revoke, remove) is written once in
//! `lifecycle`, for every `KeyHome` (`home`).

pub mod home;
pub mod lifecycle;

pub use home::KeyHome;

use askama::Template;
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use crate::auth::AppSession;
use crate::auth::api_key;
use crate::db::keys::{ApiKey, KeyStatus};
use crate::domain::{Scope, Scopes};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::timefmt::Timestamp;
use crate::web::{FieldErrors, PageContext};

pub const DAY: i64 = 86_400;
pub const MAX_LIFETIME_DAYS: i64 = 365;
const KEY_REVEAL: &str = "key_reveal";

/// A key as the pages show it.
pub struct KeyView {
    pub public_id: String,
    pub prefix: String,
    pub name: String,
    pub description: String,
    pub scopes: Vec<&'static str>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub last_used_ip: String,
    pub status: KeyStatus,
    pub rotated: Option<Timestamp>,
    /// Names of the teams it is granted (filled where the page shows them).
    pub teams: Vec<String>,
}

impl KeyView {
    pub fn new(k: &ApiKey, now: i64) -> Self {
        KeyView {
            public_id: k.public_id.clone(),
            prefix: k.prefix(),
            name: k.name.clone(),
            description: k.description.clone().unwrap_or_default(),
            scopes: k.scope_set().names(),
            created: Timestamp::new(k.created_at, now),
            expires: k.expires_at.map(|e| Timestamp::new(e, now)),
            last_used: k.last_used_at.map(|t| Timestamp::new(t, now)),
            last_used_ip: k.last_used_ip.clone().unwrap_or_default(),
            status: k.status(now),
            rotated: k.rotated_at.map(|t| Timestamp::new(t, now)),
            teams: Vec::new(),
        }
    }

    pub fn usable(&self) -> bool {
        self.status.is_usable()
    }
}

/// The key creation form, for both kinds of key. `org` and `teams` bind a
/// personal key; a service account's key is always bound to its org and
/// only reads `teams`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub expires_on: String,
    /// The slug of the org to bind to; empty for none.
    #[serde(default)]
    pub org: String,
    /// Team ids to grant.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Workspace ids to grant (of the binding org, live, reached by the
    /// key's principal).
    #[serde(default)]
    pub workspaces: Vec<String>,
}

impl KeyForm {
    /// A fresh form: 30 days.
    pub fn initial() -> Self {
        KeyForm {
            expiry: "30".into(),
            ..KeyForm::default()
        }
    }
}

pub struct ScopeOption {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

pub struct OrgOption {
    pub slug: String,
    pub name: String,
    pub selected: bool,
    pub max_days: Option<i64>,
}

pub struct TeamOption {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// The teams of one org, as a group of checkboxes.
pub struct TeamGroup {
    pub legend: String,
    pub teams: Vec<TeamOption>,
}

impl TeamGroup {
    pub fn new(legend: String, teams: &[(uuid::Uuid, String)], form: &KeyForm) -> Self {
        TeamGroup {
            legend,
            teams: teams
                .iter()
                .map(|(id, name)| {
                    let id = id.to_string();
                    TeamOption {
                        checked: form.teams.contains(&id),
                        id,
                        name: name.clone(),
                    }
                })
                .collect(),
        }
    }
}

/// The creation form page, for both kinds of key.
#[derive(Template)]
#[template(path = "keys/new.html")]
pub struct NewKeyPage {
    pub ctx: PageContext,
    pub heading: String,
    pub lead: &'static str,
    /// Where the form posts, and where "Cancel" goes.
    pub action: String,
    pub cancel: String,
    pub form: KeyForm,
    pub scope_options: Vec<ScopeOption>,
    pub allow_no_expiry: bool,
    pub max_date: String,
    /// The orgs a personal key may be bound to (empty: no org choice).
    pub org_options: Vec<OrgOption>,
    pub team_groups: Vec<TeamGroup>,
    /// The workspaces a key may be granted, per org (`TeamOption`s whose
    /// values are workspace ids).
    pub workspace_groups: Vec<TeamGroup>,
    /// The binding org's maximum key lifetime, for a fixed binding.
    pub policy_days: Option<i64>,
    pub errors: FieldErrors,
}

impl NewKeyPage {
    pub fn new(
        ctx: PageContext,
        state: &AppState,
        heading: String,
        lead: &'static str,
        (action, cancel): (String, String),
        form: KeyForm,
        errors: FieldErrors,
    ) -> Self {
        let now = state.clock.unix();
        NewKeyPage {
            scope_options: Scope::ALL
                .iter()
                .map(|s| ScopeOption {
                    name: s.as_str(),
                    description: s.description(),
                    checked: form.scopes.iter().any(|f| f == s.as_str()),
                })
                .collect(),
            ctx,
            heading,
            lead,
            action,
            cancel,
            form,
            allow_no_expiry: state.config.allow_keys_without_expiry,
            max_date: date_of(now + MAX_LIFETIME_DAYS * DAY),
            org_options: Vec::new(),
            team_groups: Vec::new(),
            workspace_groups: Vec::new(),
            policy_days: None,
            errors,
        }
    }
}

fn date_of(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// The expiry chosen in the form, as unix seconds (`None`: no expiry).
fn parse_expiry(form: &KeyForm, now: i64, allow_none: bool) -> Result<Option<i64>, &'static str> {
    match form.expiry.as_str() {
        "7" | "30" | "60" | "90" => {
            let days: i64 = form.expiry.parse().map_err(|_| "Choose an expiry.")?;
            Ok(Some(now + days * DAY))
        }
        "custom" => {
            let date = Date::parse(
                form.expires_on.trim(),
                format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| "Enter the date as YYYY-MM-DD.")?;
            // The key stays valid through the whole chosen day (UTC).
            let at = date.with_time(Time::MAX).assume_utc().unix_timestamp();
            if at <= now {
                Err("Choose a date in the future.")
            } else if at > now + MAX_LIFETIME_DAYS * DAY + DAY {
                Err("A key can live at most 365 days.")
            } else {
                Ok(Some(at.min(now + MAX_LIFETIME_DAYS * DAY)))
            }
        }
        "never" if allow_none => Ok(None),
        _ => Err("Choose when the key expires."),
    }
}

/// Applies an org's maximum key lifetime to a chosen expiry. A custom date
/// may end up to a day later than the limit (it runs to the end of that
/// day); it is then cut to the limit, as the 365-day rule does.
pub fn cap_expiry(
    expires_at: Option<i64>,
    now: i64,
    org_name: &str,
    max_days: i64,
) -> Result<Option<i64>, String> {
    let limit = now + max_days * DAY;
    match expires_at {
        Some(at) if at <= limit + DAY => Ok(Some(at.min(limit))),
        _ => Err(format!(
            "{org_name} allows keys bound to it to live at most {max_days} days: \
             choose an earlier expiry."
        )),
    }
}

/// Holds a checked key to the maximum lifetime of the org it is bound to
/// (if the org sets one), recording the message beside the expiry field.
/// Personal keys bound to an org and service-account keys both pass here.
pub fn within_org_lifetime(
    valid: Option<ValidKey>,
    org: &crate::authz::OrgScope,
    now: i64,
    errors: &mut FieldErrors,
) -> Option<ValidKey> {
    let mut v = valid?;
    let Some(days) = org.max_key_lifetime_days() else {
        return Some(v);
    };
    match cap_expiry(v.expires_at, now, org.name(), days) {
        Ok(at) => {
            v.expires_at = at;
            Some(v)
        }
        Err(message) => {
            errors.add("expiry", message);
            None
        }
    }
}

fn key_name(name: &str) -> Result<String, &'static str> {
    let n = name.trim();
    if n.is_empty() {
        Err("Give the key a name, e.g. the program that will use it.")
    } else if n.chars().count() > 100 || n.chars().any(char::is_control) {
        Err("A key name has at most 100 characters on one line.")
    } else {
        Ok(n.to_owned())
    }
}

/// The fields every key has, checked.
pub struct ValidKey {
    pub name: String,
    pub description: Option<String>,
    pub scopes: Scopes,
    pub expires_at: Option<i64>,
}

/// Checks name, description, scopes and expiry, recording a message per
/// field; `None` when any is invalid.
pub fn validate(
    form: &KeyForm,
    now: i64,
    allow_no_expiry: bool,
    errors: &mut FieldErrors,
) -> Option<ValidKey> {
    let name = errors.check("name", key_name(&form.name));
    let description = form.description.trim();
    if description.chars().count() > 500 {
        errors.add("description", "A description has at most 500 characters.");
    }
    let scopes = errors.check("scopes", Scopes::from_names(&form.scopes));
    let expires_at = errors.check("expiry", parse_expiry(form, now, allow_no_expiry));
    let (Some(name), Some(scopes), Some(expires_at)) = (name, scopes, expires_at) else {
        return None;
    };
    errors.is_empty().then(|| ValidKey {
        name,
        description: (!description.is_empty()).then(|| description.to_owned()),
        scopes,
        expires_at,
    })
}

/// The team ids of the form that are among `allowed`; an unknown one is a
/// field error (the form only offers allowed ones).
pub fn chosen_teams(
    form: &KeyForm,
    allowed: &[(uuid::Uuid, String)],
    errors: &mut FieldErrors,
) -> Vec<uuid::Uuid> {
    let mut chosen = Vec::new();
    for t in &form.teams {
        match allowed.iter().find(|(id, _)| id.to_string() == *t) {
            Some((id, _)) if !chosen.contains(id) => chosen.push(*id),
            Some(_) => {}
            None => errors.add(
                "teams",
                "Choose only teams of the key's organization that you are on.",
            ),
        }
    }
    chosen
}

/// Keeps the new token for exactly one showing, on the page after the redirect.
pub async fn reveal_once(
    session: &AppSession,
    public_id: &str,
    token: api_key::Token,
) -> Result<(), AppError> {
    Ok(session
        .put(KEY_REVEAL, &(public_id.to_owned(), token.into_string()))
        .await?)
}

/// The token kept by `reveal_once` for this key, taken out of the session:
/// a reload shows it no more.
pub async fn take_revealed(
    session: &AppSession,
    public_id: &str,
) -> Result<Option<String>, AppError> {
    match session.get::<(String, String)>(KEY_REVEAL).await? {
        Some((id, token)) if id == public_id => {
            session.remove(KEY_REVEAL).await?;
            Ok(Some(token))
        }
        _ => Ok(None),
    }
}

#[derive(Template)]
#[template(path = "keys/reveal.html")]
pub struct RevealPage {
    pub ctx: PageContext,
    pub key: KeyView,
    pub token: Option<String>,
    pub api_base: String,
    /// The page to go back to, and its name.
    pub back: String,
    pub back_label: &'static str,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    pub grace: String,
}

impl RotateForm {
    /// How long the old secret keeps working: `Some(None)` for not at all,
    /// `None` for an invalid choice.
    pub fn grace_seconds(&self) -> Option<Option<i64>> {
        match self.grace.as_str() {
            "0" => Some(None),
            "3600" => Some(Some(3600)),
            "86400" => Some(Some(86_400)),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "keys/rotate.html")]
pub struct RotatePage {
    pub ctx: PageContext,
    pub key: KeyView,
    /// The form posts to `{key_base}/rotate`; "Cancel" goes to `cancel`.
    pub key_base: String,
    pub cancel: String,
    pub grace: String,
    pub errors: FieldErrors,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_org_policy_caps_the_expiry() {
        let now = 1_000_000;
        assert_eq!(
            cap_expiry(Some(now + 7 * DAY), now, "Acme", 30),
            Ok(Some(now + 7 * DAY))
        );
        assert_eq!(
            cap_expiry(Some(now + 30 * DAY + 3600), now, "Acme", 30),
            Ok(Some(now + 30 * DAY))
        );
        assert!(cap_expiry(Some(now + 60 * DAY), now, "Acme", 30).is_err());
        assert!(cap_expiry(None, now, "Acme", 30).is_err());
    }
}
