//! The API key lifecycle, written once for every place a key can live:
//! create (sudo; throttled per person), show once, rotate with a grace
//! period (sudo; throttled), revoke, remove from the list. The `KeyHome`
//! (`super::home`) says where the key lives: the signed-in user's own keys,
//! or a service account of an org the caller owns.
//!
//! Invariant: every key is looked up through its home (a proof-bound query)
//! before sudo is asked for or anything is written, so a key of anyone else
//! is 404, never a sudo prompt; every write goes through `Db` functions that
//! filter by the same proof (`KeyOwner`); and each creation, rotation and
//! revocation hands its `Event` to that function, which writes it in the
//! transaction of the change (a key bound to an org has it in that org's
//! log too).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::{
    KeyForm, KeyHome, KeyView, RevealPage, RotateForm, RotatePage, ValidKey, reveal_once,
    take_revealed, validate, within_org_lifetime,
};
use crate::auth::limits::Bucket;
use crate::auth::session::FlashKind;
use crate::auth::{AppSession, api_key, throttle};
use crate::authz::SudoGate;
use crate::authz::sudo::take_stashed_form;
use crate::db::keys::{ApiKey, NewKey};
use crate::db::outbox::NewMail;
use crate::db::prefs::Category;
use crate::error::AppError;
use crate::mail;
use crate::state::AppState;
use crate::web::timefmt::Timestamp;
use crate::web::{ClientInfo, FieldErrors, render};

/// The notice of a change to one of the user's own keys, if they keep API
/// key email on (`db::prefs`, category `api_keys`; it carries
/// `List-Unsubscribe`). A service account's keys notify no one.
async fn key_notice(
    state: &AppState,
    home: &KeyHome<'_>,
    subject: &str,
    what: &str,
) -> Result<Option<NewMail>, AppError> {
    let KeyHome::Personal(user) = home else {
        return Ok(None);
    };
    let wanted = state
        .db
        .notification_prefs(user)
        .await?
        .iter()
        .any(|(category, pref)| *category == Category::ApiKeys && pref.email);
    if !wanted {
        return Ok(None);
    }
    let now = state.clock.unix();
    Ok(Some(mail::account_notice(
        user.email(),
        user.display_name(),
        subject,
        what,
        &Timestamp::new(now, now).utc,
        &state.config.public_url(),
    )?))
}

/// The live workspaces of each binding's org that its principal reaches, as
/// checkbox groups: what a new key may be granted.
async fn workspace_groups(
    state: &AppState,
    bindings: &[super::home::Binding],
    form: &KeyForm,
) -> Result<Vec<super::TeamGroup>, AppError> {
    let mut groups = Vec::new();
    for (scope, _) in bindings {
        let rows = state.db.visible_workspaces(scope, false).await?;
        let options: Vec<(uuid::Uuid, String)> = rows.into_iter().map(|w| (w.id, w.name)).collect();
        let mut group = super::TeamGroup::new(
            format!("Workspaces of {}", scope.name()),
            &options,
            &KeyForm::default(),
        );
        for t in &mut group.teams {
            t.checked = form.workspaces.contains(&t.id);
        }
        groups.push(group);
    }
    Ok(groups)
}

/// The workspace ids of the form, each one of the chosen binding's (an
/// unknown one is a field error).
async fn chosen_workspaces(
    state: &AppState,
    form: &KeyForm,
    scope: Option<&crate::authz::OrgScope>,
    errors: &mut FieldErrors,
) -> Result<Vec<uuid::Uuid>, AppError> {
    if form.workspaces.is_empty() {
        return Ok(Vec::new());
    }
    let Some(scope) = scope else {
        errors.add("workspaces", "Choose the organization of these workspaces.");
        return Ok(Vec::new());
    };
    let visible = state.db.visible_workspaces(scope, false).await?;
    let mut chosen = Vec::new();
    for id in &form.workspaces {
        match visible.iter().find(|w| w.id.to_string() == *id) {
            Some(w) if !chosen.contains(&w.id) => chosen.push(w.id),
            Some(_) => {}
            None => errors.add(
                "workspaces",
                "Choose only live workspaces of the key's organization that you reach.",
            ),
        }
    }
    Ok(chosen)
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
    let groups = workspace_groups(state, &bindings, &form).await?;
    let mut page = home.new_key_page(ctx, state, form, FieldErrors::new(), &bindings);
    page.workspace_groups = groups;
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
    // The org's MFA policy would refuse every request of a person's key bound
    // to it (`authz::api::ApiOrgKey`): say so now, beside the field. Service
    // accounts are exempt (they have no second factor to enrol).
    if let (KeyHome::Personal(user), Some((scope, _))) = (&home, binding.as_ref())
        && scope.require_mfa()
        && !state.db.user_has_mfa(user.id()).await?
    {
        errors.add(
            "org",
            "This organization requires two-factor authentication: turn it on for \
             your account (Account → Security) before binding a key to it.",
        );
    }
    let workspaces =
        chosen_workspaces(state, &form, binding.as_ref().map(|(s, _)| *s), &mut errors).await?;
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
        let groups = workspace_groups(state, &bindings, &form).await?;
        let mut page = home.new_key_page(ctx, state, form, errors, &bindings);
        page.workspace_groups = groups;
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
        created_by: sudo.email(),
    };
    let teams = binding.as_ref().map_or(&[][..], |(_, t)| t.as_slice());
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
    let created = |key_id| {
        let event = home.event(client, "api_key.created", key_id, detail);
        // A bound key's events also go to its org's audit log.
        match &binding {
            Some((scope, _)) => event.in_org(scope),
            None => event,
        }
    };
    let notice = key_notice(
        state,
        &home,
        "A new API key was created on your Gatehouse account",
        &format!("A new API key, “{name}”, was created on your Gatehouse account."),
    )
    .await?;
    match home {
        KeyHome::Personal(_) => {
            let bound = binding.as_ref().map(|(scope, _)| (*scope, teams));
            state
                .db
                .create_personal_key(&sudo, bound, key, notice.as_ref(), created, now)
                .await?;
        }
        KeyHome::ServiceAccount { owner, account } => {
            state
                .db
                .create_service_account_key(
                    owner.scope(),
                    &sudo,
                    account.id,
                    teams,
                    key,
                    created,
                    now,
                )
                .await?
                .ok_or(AppError::NotFound)?;
        }
    }
    let public_id = issued.public_id.clone();
    // The chosen workspaces, each grant audited (the key exists now, so a
    // failure here leaves a valid key with fewer grants, never more).
    if let (Some((scope, _)), false) = (binding.as_ref(), workspaces.is_empty())
        && let Some(created) = state.db.org_key(scope, &public_id).await?
    {
        for ws in &workspaces {
            let event = home
                .event(
                    client,
                    "api_key.workspace_granted",
                    created.id,
                    json!({ "workspace_id": ws }),
                )
                .in_org(scope);
            state
                .db
                .grant_key_workspace(scope, created.id, *ws, event, now)
                .await?;
        }
    }
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
    let detail = json!({ "prefix": key.prefix(), "grace_seconds": grace_secs.unwrap_or(0) });
    let rotated = home.event(client, "api_key.rotated", key.id, detail);
    if !state
        .db
        .rotate_key(
            home.owner(),
            &sudo,
            key.id,
            &issued.digest,
            until,
            rotated,
            now,
        )
        .await?
    {
        return Err(AppError::NotFound);
    }
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
    let detail = json!({ "prefix": key.prefix(), "name": key.name });
    let revoked = home.event(client, "api_key.revoked", key.id, detail);
    let notice = key_notice(
        state,
        &home,
        "An API key was revoked on your Gatehouse account",
        &format!(
            "The API key “{}” of your Gatehouse account was revoked.",
            key.name
        ),
    )
    .await?;
    if state
        .db
        .revoke_key(home.owner(), key.id, notice.as_ref(), revoked, now)
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
    Ok(Redirect::to(&home.list_path()).into_response())
}

/// Removes an expired or revoked key from its home's list (it stays in the
/// table, and in the audit trail).
pub async fn remove_key(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    public_id: &str,
) -> Result<Response, AppError> {
    let key = home.find_key(state, public_id).await?;
    if state
        .db
        .hide_key(home.owner(), key.id, state.clock.unix())
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
    Ok(Redirect::to(&home.list_path()).into_response())
}

/// The workspaces granted to a key bound to an org, and the live ones of
/// that org its principal reaches that it does not hold yet (what the key's
/// page offers to grant). `None` for a key bound to no org, or to an org the
/// principal has left.
pub struct KeyWorkspaces {
    pub granted: Vec<crate::db::workspaces::WorkspaceRow>,
    pub grantable: Vec<crate::db::workspaces::WorkspaceRow>,
}

/// The binding (the principal's scope in the key's org) of a key, if any.
async fn key_binding(
    state: &AppState,
    home: KeyHome<'_>,
    key: &ApiKey,
) -> Result<Option<crate::authz::OrgScope>, AppError> {
    match key.org_id {
        Some(org_id) => home.scope_in(state, org_id).await,
        None => Ok(None),
    }
}

pub async fn key_workspaces(
    state: &AppState,
    home: KeyHome<'_>,
    key: &ApiKey,
) -> Result<Option<KeyWorkspaces>, AppError> {
    let Some(scope) = key_binding(state, home, key).await? else {
        return Ok(None);
    };
    let granted = state.db.key_granted_workspaces(&scope, key.id).await?;
    let grantable = state
        .db
        .visible_workspaces(&scope, false)
        .await?
        .into_iter()
        .filter(|w| granted.iter().all(|g| g.id != w.id))
        .collect();
    Ok(Some(KeyWorkspaces { granted, grantable }))
}

#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct KeyWorkspaceForm {
    #[serde(default)]
    pub workspace: String,
}

/// Grants a usable key one more workspace: a live one of the key's org that
/// its principal reaches now (sudo: it widens what the key opens). Anything
/// else — a workspace of another org, an archived one, one the principal
/// does not reach, a revoked key — changes nothing.
pub async fn grant_key_workspace(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    gate: SudoGate,
    client: &ClientInfo,
    public_id: &str,
    form: KeyWorkspaceForm,
) -> Result<Response, AppError> {
    let key = home.find_key(state, public_id).await?;
    let page = home.key_page(public_id);
    let scope = key_binding(state, home, &key)
        .await?
        .ok_or(AppError::NotFound)?;
    gate.enter(&page, &form).await?;
    let now = state.clock.unix();
    let chosen = state
        .db
        .visible_workspaces(&scope, false)
        .await?
        .into_iter()
        .find(|w| w.id.to_string() == form.workspace);
    let message = match (chosen, KeyView::new(&key, now).usable()) {
        (_, false) => (
            FlashKind::Error,
            "This key can no longer be used.".to_owned(),
        ),
        (None, true) => (
            FlashKind::Error,
            "Choose a live workspace of the key's organization that you reach.".to_owned(),
        ),
        (Some(ws), true) => {
            let event = home
                .event(
                    client,
                    "api_key.workspace_granted",
                    key.id,
                    json!({ "workspace": ws.slug }),
                )
                .in_org(&scope);
            if state
                .db
                .grant_key_workspace(&scope, key.id, ws.id, event, now)
                .await?
            {
                (
                    FlashKind::Success,
                    format!("The key now reaches {}.", ws.name),
                )
            } else {
                (
                    FlashKind::Success,
                    format!("The key already reached {}.", ws.name),
                )
            }
        }
    };
    session.flash(message.0, message.1).await?;
    Ok(Redirect::to(&page).into_response())
}

/// Takes a workspace from a key (no sudo: it only narrows what the key opens).
pub async fn ungrant_key_workspace(
    state: &AppState,
    session: &AppSession,
    home: KeyHome<'_>,
    client: &ClientInfo,
    public_id: &str,
    workspace: &str,
) -> Result<Response, AppError> {
    let key = home.find_key(state, public_id).await?;
    let scope = key_binding(state, home, &key)
        .await?
        .ok_or(AppError::NotFound)?;
    let ws = state
        .db
        .key_granted_workspaces(&scope, key.id)
        .await?
        .into_iter()
        .find(|w| w.slug == workspace)
        .ok_or(AppError::NotFound)?;
    let event = home
        .event(
            client,
            "api_key.workspace_ungranted",
            key.id,
            json!({ "workspace": ws.slug }),
        )
        .in_org(&scope);
    state
        .db
        .ungrant_key_workspace(&scope, key.id, ws.id, event, state.clock.unix())
        .await?;
    session
        .flash(
            FlashKind::Success,
            format!("The key no longer reaches {}.", ws.name),
        )
        .await?;
    Ok(Redirect::to(&home.key_page(public_id)).into_response())
}
