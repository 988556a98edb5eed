//! `/orgs/{slug}/settings` (owners): the org's policies — "members must use
//! MFA" and the maximum lifetime of API keys bound to the org — and the
//! rename form and links of its lifecycle (`web::orgs::lifecycle`).
//!
//! Loosening a policy needs sudo mode; tightening does not.
//!
//! This page only stores and validates them. The MFA policy is enforced by
//! the `OrgMember` extractor (a member without MFA is sent to enrolment when
//! they open the org); the key lifetime by key binding, which reads
//! `OrgScope::max_key_lifetime_days`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::sudo::take_stashed_form;
use crate::authz::{OrgOwner, SudoGate};
use crate::db::audit::Event;
use crate::db::policies::Policies;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::ListForm as Form;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, render};

pub const MAX_KEY_LIFETIME_DAYS: i64 = 365;

#[derive(Template)]
#[template(path = "orgs/settings.html")]
pub struct SettingsPage {
    pub ctx: PageContext,
    pub slug: String,
    pub require_mfa: bool,
    pub require_passkey: bool,
    pub max_key_lifetime_days: String,
    pub without_mfa: i64,
    pub without_passkey: i64,
    pub errors: FieldErrors,
    /// The rename form's values, and its errors (apart from the policies').
    pub rename: RenameForm,
    pub rename_errors: FieldErrors,
}

/// Renaming the org: its name and its address (slug).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
}

impl RenameForm {
    /// The org's current name and slug.
    pub fn current(owner: &OrgOwner) -> Self {
        Self {
            name: owner.scope().name().to_owned(),
            slug: owner.scope().slug().to_owned(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PolicyForm {
    /// A checkbox: present ("on") when checked, absent otherwise.
    #[serde(default)]
    pub require_mfa: Option<String>,
    /// A checkbox: members must have a passkey.
    #[serde(default)]
    pub require_passkey: Option<String>,
    #[serde(default)]
    pub max_key_lifetime_days: String,
}

/// Empty means no limit; otherwise a whole number of days from 1 to 365.
pub fn parse_lifetime(input: &str) -> Result<Option<i64>, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(n) if (1..=MAX_KEY_LIFETIME_DAYS).contains(&n) => Ok(Some(n)),
        _ => Err("Enter a whole number of days from 1 to 365, or leave it empty for no limit."),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn settings_page(
    state: &AppState,
    session: &AppSession,
    owner: &OrgOwner,
    (require_mfa, require_passkey): (bool, bool),
    max_key_lifetime_days: String,
    errors: FieldErrors,
    rename: (RenameForm, FieldErrors),
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = SettingsPage {
        ctx: PageContext::for_org(
            state,
            session,
            owner.user(),
            owner.scope(),
            Section::OrgSettings,
        )
        .await?,
        slug: owner.scope().slug().to_owned(),
        require_mfa,
        require_passkey,
        max_key_lifetime_days,
        without_mfa: state.db.members_without_mfa(owner.scope()).await?,
        without_passkey: state.db.members_without_passkey(owner.scope()).await?,
        errors,
        rename: rename.0,
        rename_errors: rename.1,
    };
    render(status, &page)
}

pub async fn show_settings(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
) -> Result<Response, AppError> {
    // A loosening sent without sudo comes back with its values.
    let (require_mfa, days) =
        match take_stashed_form::<PolicyForm>(&session, &form_page(&owner)).await? {
            Some(form) => (
                (form.require_mfa.is_some(), form.require_passkey.is_some()),
                form.max_key_lifetime_days,
            ),
            None => (
                (owner.scope().require_mfa(), owner.scope().require_passkey()),
                owner
                    .scope()
                    .max_key_lifetime_days()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        };
    settings_page(
        &state,
        &session,
        &owner,
        require_mfa,
        days,
        FieldErrors::new(),
        (RenameForm::current(&owner), FieldErrors::new()),
        StatusCode::OK,
    )
    .await
}

fn form_page(owner: &OrgOwner) -> String {
    format!("/orgs/{}/settings", owner.scope().slug())
}

/// Saves the policies. Loosening one (MFA no longer required, a longer or no
/// key lifetime) needs sudo mode, so a stolen owner session cannot open the
/// org up; tightening stays one step.
pub async fn update_settings(
    State(state): State<AppState>,
    session: AppSession,
    owner: OrgOwner,
    gate: SudoGate,
    client: ClientInfo,
    Form(form): Form<PolicyForm>,
) -> Result<Response, AppError> {
    let require_passkey = form.require_passkey.is_some();
    // A passkey is a second factor: requiring one requires MFA.
    let require_mfa = form.require_mfa.is_some() || require_passkey;
    let mut errors = FieldErrors::new();
    let max_days = errors.check(
        "max_key_lifetime_days",
        parse_lifetime(&form.max_key_lifetime_days),
    );
    // Like GitHub: an owner turns the requirement on only with MFA of their
    // own, or the next page would send them to enrolment and lock them out
    // of the settings they just saved.
    if require_passkey && !state.db.user_has_passkey(owner.user().id()).await? {
        errors.add(
            "require_passkey",
            "Add a passkey to your own account first (Account → Security → Passkeys).",
        );
    }
    if require_mfa && !state.db.user_has_mfa(owner.user().id()).await? {
        errors.add(
            "require_mfa",
            "Turn on two-factor authentication for your own account first (Account → Security).",
        );
    }
    let (Some(max_days), true) = (max_days, errors.is_empty()) else {
        return settings_page(
            &state,
            &session,
            &owner,
            (require_mfa, require_passkey),
            form.max_key_lifetime_days,
            errors,
            (RenameForm::current(&owner), FieldErrors::new()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let after = Policies {
        require_mfa,
        require_passkey,
        max_key_lifetime_days: max_days,
    };
    let current = Policies {
        require_mfa: owner.scope().require_mfa(),
        require_passkey: owner.scope().require_passkey(),
        max_key_lifetime_days: owner.scope().max_key_lifetime_days(),
    };
    if after.relax(&current) {
        gate.enter(&form_page(&owner), &form).await?;
    }
    let updated = |before: &Policies| {
        Event::by(owner.user().actor())
            .did("policy.updated")
            .on("org", owner.scope().org_id())
            .in_org(owner.scope())
            .detail(json!({
                "before": {
                    "require_mfa": before.require_mfa,
                    "require_passkey": before.require_passkey,
                    "max_key_lifetime_days": before.max_key_lifetime_days,
                },
                "after": {
                    "require_mfa": after.require_mfa,
                    "require_passkey": after.require_passkey,
                    "max_key_lifetime_days": after.max_key_lifetime_days,
                },
            }))
            .from(&client.origin())
    };
    let before = state
        .db
        .update_policies(owner.scope(), after, updated, state.clock.unix())
        .await?;
    let without = state.db.members_without_mfa(owner.scope()).await?;
    let without_passkey = state.db.members_without_passkey(owner.scope()).await?;
    let message = if require_passkey && !before.require_passkey && without_passkey > 0 {
        format!(
            "Policies saved. {without_passkey} {} without a passkey will be asked to add one when they next open the organization.",
            if without_passkey == 1 {
                "member"
            } else {
                "members"
            }
        )
    } else if require_mfa && !before.require_mfa && without > 0 {
        format!(
            "Policies saved. {without} {} without two-factor authentication will be asked to set it up when they next open the organization.",
            if without == 1 { "member" } else { "members" }
        )
    } else {
        "Policies saved.".to_owned()
    };
    session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/orgs/{}/settings", owner.scope().slug())).into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;

    #[test]
    fn key_lifetimes_are_1_to_365_days_or_none() {
        assert_eq!(parse_lifetime(""), Ok(None));
        assert_eq!(parse_lifetime(" 30 "), Ok(Some(30)));
        assert_eq!(parse_lifetime("1"), Ok(Some(1)));
        assert_eq!(parse_lifetime("365"), Ok(Some(365)));
        for bad in ["0", "366", "-1", "7.5", "ten"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
