//! `/scim/v2/Users`: the org's members as SCIM users. `userName` is the
//! email; the id is the person's user id (stable across orgs, but found only
//! through the token's org, so another org's member is 404).
//!
//! - `POST` provisions a membership: it creates the account with no password
//!   when none exists — and, for an active membership, emails its person a
//!   set-your-password link (7 days) in the same transaction — and links the
//!   existing account otherwise (no message).
//! - `active: false` (PUT, or PATCH as Okta and Entra send it, with `"False"`
//!   strings and any capitalisation) deprovisions in one transaction
//!   (`Db::deprovision_member`); `active: true` restores the membership but
//!   not the revoked keys.
//! - `DELETE` ends the membership; the account is the person's and stays.
//!
//! Attributes this service does not store (`name.givenName`, `title`, phone
//! numbers, …) are accepted and ignored, as identity providers send them
//! whatever the schema says; `displayName` sets the name of an account
//! created here and is otherwise the person's own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::discovery::{MAX_RESULTS, USER_SCHEMA};
use super::error::ScimError;
use super::{
    PATCH_SCHEMA, Projection, ScimBody, ScimJson, ScimPath, ScimQuery, attr, base_url,
    list_response, rfc3339,
};
use crate::auth::api_key::digest;
use crate::authz::ScimClient;
use crate::db::audit::Event;
use crate::db::recovery::{NewLink, Purpose};
use crate::db::scim::{MemberFilter, ScimMember, cut_detail};
use crate::domain::Email;
use crate::mail;
use crate::request::ClientInfo;
use crate::state::AppState;

/// The longest display name and externalId accepted.
const MAX_NAME_LEN: usize = 200;

fn user_json(state: &AppState, m: &ScimMember) -> Value {
    let mut user = json!({
        "schemas": [USER_SCHEMA],
        "id": m.user_id.to_string(),
        "userName": m.email,
        "displayName": m.display_name,
        "name": { "formatted": m.display_name },
        "emails": [{ "value": m.email, "type": "work", "primary": true }],
        "active": m.suspended_at.is_none(),
        "meta": {
            "resourceType": "User",
            "created": rfc3339(m.created_at),
            "lastModified": rfc3339(m.suspended_at.unwrap_or(m.created_at).max(m.created_at)),
            "location": format!("{}/Users/{}", base_url(state), m.user_id),
        },
    });
    if let (Some(x), Some(obj)) = (&m.external_id, user.as_object_mut()) {
        obj.insert("externalId".to_owned(), json!(x));
    }
    user
}

fn user_id(raw: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(raw).map_err(|_| ScimError::NotFound)
}

/// `active` as identity providers send it: a boolean, or Entra's `"True"` /
/// `"False"` strings.
fn parse_active(v: &Value) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value("active must be true or false.")),
    }
}

/// An optional string attribute (null clears it).
fn optional_string(v: Option<&Value>, what: &str) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_NAME_LEN => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ScimError::invalid_value(format!(
            "{what} is longer than {MAX_NAME_LEN} characters."
        ))),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{what} must be a string."
        ))),
    }
}

fn parse_email(v: Option<&Value>) -> Result<Email, ScimError> {
    match v {
        Some(Value::String(s)) => Email::parse(s)
            .map_err(|_| ScimError::invalid_value("userName must be the person's email address.")),
        Some(_) => Err(ScimError::invalid_value("userName must be a string.")),
        None => Err(ScimError::invalid_value("userName is required.")),
    }
}

/// The display name of a new account: `displayName`, `name.formatted`, the
/// given and family names, or the email's local part.
fn display_name(body: &Map<String, Value>, email: &Email) -> Result<String, ScimError> {
    let name = attr(body, "name").and_then(Value::as_object);
    let from_parts = name.map(|n| {
        [attr(n, "givenName"), attr(n, "familyName")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let chosen = optional_string(attr(body, "displayName"), "displayName")?
        .or(optional_string(
            name.and_then(|n| attr(n, "formatted")),
            "name.formatted",
        )?)
        .or(from_parts)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    if chosen.chars().count() > MAX_NAME_LEN {
        return Err(ScimError::invalid_value("displayName is too long."));
    }
    Ok(chosen)
}

/// A set-up link for `email` (its secret and message) naming the org, for
/// storage to keep or drop in the transaction that decides.
async fn setup_link(
    state: &AppState,
    email: &str,
    name: &str,
    scope: &crate::authz::proof::ScimScope,
) -> Result<(String, crate::db::outbox::NewMail), ScimError> {
    let org = state.db.scim_org_name(scope).await?;
    Ok(mail::new_setup_link(
        &state.config.public_url(),
        email,
        name,
        Some(&org),
    )?)
}

pub async fn create_user(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let email = parse_email(attr(&body, "userName"))?;
    let external_id = optional_string(attr(&body, "externalId"), "externalId")?;
    let active = attr(&body, "active")
        .map(parse_active)
        .transpose()?
        .unwrap_or(true);
    let name = display_name(&body, &email)?;
    let scope = client.scope();
    let event = |user_id: Uuid, created: bool| {
        Event::by(client.actor())
            .did("scim.user_provisioned")
            .on("user", user_id)
            .in_scim_org(scope)
            .detail(json!({
                "email": email.as_str(),
                "external_id": external_id,
                "account_created": created,
                "active": active,
            }))
            .from(&info.origin())
    };
    // Made whether or not an account is created (only then is it stored and
    // sent): the account's person sets their first password with it.
    let (token, message) = setup_link(&state, email.as_str(), &name, scope).await?;
    let setup = NewLink {
        purpose: Purpose::AccountSetup,
        token_digest: &digest(&token),
        mail: &message,
    };
    let (member, _created) = state
        .db
        .provision_member(
            scope,
            email.as_str(),
            &name,
            external_id.as_deref(),
            active,
            &setup,
            event,
            state.clock.unix(),
        )
        .await?;
    Ok((StatusCode::CREATED, ScimJson(user_json(&state, &member))).into_response())
}

/// The query of a list (Users and Groups alike).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, rename = "startIndex")]
    pub start_index: Option<String>,
    #[serde(default)]
    pub count: Option<String>,
    #[serde(flatten)]
    pub projection: Projection,
}

/// `userName eq "…"` or `externalId eq "…"` (attribute and operator names
/// case-insensitive); anything else is `invalidFilter`.
pub fn parse_filter(filter: &str) -> Result<MemberFilter, ScimError> {
    let unsupported = || {
        ScimError::invalid_filter(
            "Only `userName eq \"…\"` and `externalId eq \"…\"` filters are supported.",
        )
    };
    let filter = filter.trim();
    let (attribute, rest) = filter
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value: String = serde_json::from_str(value.trim()).map_err(|_| unsupported())?;
    if attribute.eq_ignore_ascii_case("userName") {
        // An address that cannot be an email matches nobody.
        Ok(MemberFilter::UserName(
            Email::parse(&value).map_or(value.to_lowercase(), |e| e.as_str().to_owned()),
        ))
    } else if attribute.eq_ignore_ascii_case("externalId") {
        Ok(MemberFilter::ExternalId(value))
    } else {
        Err(unsupported())
    }
}

/// `startIndex` (1-based; below 1 counts as 1) and `count` (0 to
/// `MAX_RESULTS`; default `MAX_RESULTS`).
pub fn parse_paging(q: &ListQuery) -> Result<(i64, i64), ScimError> {
    let number = |v: &Option<String>, what: &str| -> Result<Option<i64>, ScimError> {
        v.as_deref()
            .map(|s| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| ScimError::invalid_value(format!("{what} must be an integer.")))
            })
            .transpose()
    };
    let start = number(&q.start_index, "startIndex")?.unwrap_or(1).max(1);
    let count = number(&q.count, "count")?
        .unwrap_or(MAX_RESULTS)
        .clamp(0, MAX_RESULTS);
    Ok((start, count))
}

pub async fn list_users(
    State(state): State<AppState>,
    client: ScimClient,
    ScimQuery(q): ScimQuery<ListQuery>,
) -> Result<ScimJson, ScimError> {
    let filter = q
        .filter
        .as_deref()
        .map(parse_filter)
        .transpose()?
        .unwrap_or(MemberFilter::All);
    let (start, count) = parse_paging(&q)?;
    let (total, members) = state
        .db
        .scim_members(client.scope(), &filter, start - 1, count)
        .await?;
    let resources = members
        .iter()
        .map(|m| {
            let mut user = user_json(&state, m);
            q.projection.apply(&mut user);
            user
        })
        .collect();
    Ok(ScimJson(list_response(total, start, resources)))
}

async fn member(state: &AppState, client: &ScimClient, id: Uuid) -> Result<ScimMember, ScimError> {
    state
        .db
        .scim_member(client.scope(), id)
        .await?
        .ok_or(ScimError::NotFound)
}

pub async fn get_user(
    State(state): State<AppState>,
    client: ScimClient,
    ScimPath(id): ScimPath,
    ScimQuery(projection): ScimQuery<Projection>,
) -> Result<ScimJson, ScimError> {
    let m = member(&state, &client, user_id(&id)?).await?;
    let mut user = user_json(&state, &m);
    projection.apply(&mut user);
    Ok(ScimJson(user))
}

/// The changes a PUT or PATCH asks for, checked in full before any is made.
#[derive(Debug, Default)]
struct Changes {
    /// `Some(None)` clears it.
    external_id: Option<Option<String>>,
    active: Option<bool>,
}

/// Applies `changes` to `m`: the externalId, then deprovisioning or
/// restoring (each in its own transaction with its own audit event).
async fn apply(
    state: &AppState,
    client: &ScimClient,
    info: &ClientInfo,
    m: &ScimMember,
    changes: Changes,
) -> Result<ScimMember, ScimError> {
    let scope = client.scope();
    let now = state.clock.unix();
    if let Some(external_id) = changes.external_id
        && external_id != m.external_id
    {
        let event = Event::by(client.actor())
            .did("scim.user_updated")
            .on("user", m.user_id)
            .in_scim_org(scope)
            .detail(json!({ "email": m.email, "external_id": external_id }))
            .from(&info.origin());
        if !state
            .db
            .set_member_external_id(scope, m.user_id, external_id.as_deref(), event, now)
            .await?
        {
            return Err(ScimError::NotFound);
        }
    }
    match changes.active {
        Some(false) if m.suspended_at.is_none() => {
            let event = |cut: &crate::db::scim::Cut| {
                Event::by(client.actor())
                    .did("scim.user_deprovisioned")
                    .on("user", m.user_id)
                    .in_scim_org(scope)
                    .detail(cut_detail(&m.email, cut))
                    .from(&info.origin())
            };
            state
                .db
                .deprovision_member(scope, m.user_id, event, now)
                .await?
                .ok_or(ScimError::NotFound)?;
        }
        Some(true) if m.suspended_at.is_some() => {
            let event = Event::by(client.actor())
                .did("scim.user_restored")
                .on("user", m.user_id)
                .in_scim_org(scope)
                .detail(json!({ "email": m.email, "membership": "restored" }))
                .from(&info.origin());
            // Stored and sent only to an account never set up (provisioned
            // inactive); the message goes to the account's own address.
            let (token, message) = setup_link(state, &m.email, &m.display_name, scope).await?;
            let setup = NewLink {
                purpose: Purpose::AccountSetup,
                token_digest: &digest(&token),
                mail: &message,
            };
            if !state
                .db
                .restore_member(scope, m.user_id, &setup, event, now)
                .await?
            {
                return Err(ScimError::NotFound);
            }
        }
        _ => {}
    }
    member(state, client, m.user_id).await
}

pub async fn replace_user(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimPath(id): ScimPath,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimError> {
    let m = member(&state, &client, user_id(&id)?).await?;
    let email = parse_email(attr(&body, "userName"))?;
    if email.as_str() != m.email {
        return Err(ScimError::BadRequest {
            scim_type: "mutability",
            detail: "userName is the person's email address and cannot be changed here.".to_owned(),
        });
    }
    let changes = Changes {
        external_id: Some(optional_string(attr(&body, "externalId"), "externalId")?),
        active: Some(
            attr(&body, "active")
                .map(parse_active)
                .transpose()?
                .unwrap_or(true),
        ),
    };
    let m = apply(&state, &client, &info, &m, changes).await?;
    Ok(ScimJson(user_json(&state, &m)))
}

/// One attribute set by a PATCH `add`/`replace` (path given, or a key of a
/// value object).
fn patch_attribute(
    changes: &mut Changes,
    m: &ScimMember,
    name: &str,
    value: &Value,
) -> Result<(), ScimError> {
    if name.eq_ignore_ascii_case("active") {
        changes.active = Some(parse_active(value)?);
    } else if name.eq_ignore_ascii_case("externalId") {
        changes.external_id = Some(optional_string(Some(value), "externalId")?);
    } else if name.eq_ignore_ascii_case("userName") {
        let email = parse_email(Some(value))?;
        if email.as_str() != m.email {
            return Err(ScimError::BadRequest {
                scim_type: "mutability",
                detail: "userName is the person's email address and cannot be changed here."
                    .to_owned(),
            });
        }
    }
    // Anything else is not stored here (see the module doc).
    Ok(())
}

fn parse_patch(body: &Map<String, Value>, m: &ScimMember) -> Result<Changes, ScimError> {
    let is_patch = attr(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)));
    if !is_patch {
        return Err(ScimError::invalid_syntax(format!(
            "A PATCH body must have the schema {PATCH_SCHEMA}."
        )));
    }
    let ops = attr(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("A PATCH body needs an Operations list."))?;
    let mut changes = Changes::default();
    for op in ops {
        let op = op
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("Each operation must be an object."))?;
        let kind = attr(op, "op")
            .and_then(Value::as_str)
            .ok_or_else(|| ScimError::invalid_syntax("Each operation needs an op."))?;
        let path = match attr(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.trim()),
            Some(_) => return Err(ScimError::invalid_syntax("path must be a string.")),
        };
        let value = attr(op, "value");
        if kind.eq_ignore_ascii_case("add") || kind.eq_ignore_ascii_case("replace") {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("add and replace need a value."))?;
            match (path, value) {
                (Some(path), value) => patch_attribute(&mut changes, m, path, value)?,
                (None, Value::Object(attrs)) => {
                    for (name, value) in attrs {
                        patch_attribute(&mut changes, m, name, value)?;
                    }
                }
                (None, _) => {
                    return Err(ScimError::invalid_syntax(
                        "Without a path, the value must be an object of attributes.",
                    ));
                }
            }
        } else if kind.eq_ignore_ascii_case("remove") {
            match path {
                None => {
                    return Err(ScimError::BadRequest {
                        scim_type: "noTarget",
                        detail: "remove needs a path.".to_owned(),
                    });
                }
                Some(p) if p.eq_ignore_ascii_case("externalId") => {
                    changes.external_id = Some(None);
                }
                Some(p)
                    if p.eq_ignore_ascii_case("active") || p.eq_ignore_ascii_case("userName") =>
                {
                    return Err(ScimError::BadRequest {
                        scim_type: "mutability",
                        detail: format!("{p} cannot be removed."),
                    });
                }
                Some(_) => {}
            }
        } else {
            return Err(ScimError::invalid_syntax(
                "op must be add, replace or remove.",
            ));
        }
    }
    Ok(changes)
}

pub async fn patch_user(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimPath(id): ScimPath,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimError> {
    let m = member(&state, &client, user_id(&id)?).await?;
    let changes = parse_patch(&body, &m)?;
    let m = apply(&state, &client, &info, &m, changes).await?;
    Ok(ScimJson(user_json(&state, &m)))
}

pub async fn delete_user(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimPath(id): ScimPath,
) -> Result<StatusCode, ScimError> {
    let m = member(&state, &client, user_id(&id)?).await?;
    let event = Event::by(client.actor())
        .did("scim.user_removed")
        .on("user", m.user_id)
        .in_scim_org(client.scope())
        .detail(json!({ "email": m.email }))
        .from(&info.origin());
    if !state
        .db
        .remove_scim_member(client.scope(), m.user_id, event, state.clock.unix())
        .await?
    {
        return Err(ScimError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_user_name_and_external_id_in_any_case() {
        assert_eq!(
            parse_filter(r#"userName eq "Ada@Example.com""#).ok(),
            Some(MemberFilter::UserName("ada@example.com".to_owned()))
        );
        assert_eq!(
            parse_filter(r#"EXTERNALID Eq "00u1""#).ok(),
            Some(MemberFilter::ExternalId("00u1".to_owned()))
        );
        for bad in [
            "",
            "userName",
            r#"userName co "a""#,
            r#"title eq "x""#,
            r#"userName eq unquoted"#,
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn active_is_a_boolean_or_a_true_or_false_string() {
        assert!(!parse_active(&json!("False")).unwrap_or(true));
        assert!(parse_active(&json!("TRUE")).unwrap_or(false));
        assert!(parse_active(&json!(true)).unwrap_or(false));
        assert!(parse_active(&json!("no")).is_err());
        assert!(parse_active(&json!(0)).is_err());
    }
}
