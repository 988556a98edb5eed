//! `/scim/v2/Groups`: the org's SCIM-managed teams as SCIM groups. The id is
//! the team's id (the one its console page shows); `members[].value` is a
//! SCIM user id (the person's user id).
//!
//! - SCIM sees only the teams it made: a hand-made team is not a group, and
//!   a `displayName` that a live team already has is a 409 `uniqueness`.
//! - Members are people with a live membership of the token's org; any
//!   other id (unknown, another org's, deprovisioned, not a UUID) is a 400
//!   `invalidValue` naming it, and nothing changes. RFC 7644 names no error
//!   for a member that does not resolve; `invalidValue` is what it uses for
//!   a value that is not acceptable, and what Okta and Entra report.
//! - PATCH takes what identity providers send: `add`/`replace`/`remove` in
//!   any case (`"Add"`, Entra), attribute names in any case, `replace` with
//!   a path or a value object, `add members` with a value array, `remove`
//!   by `members[value eq "…"]` or with a value array (Entra), and
//!   `remove members` with neither (everyone off).
//! - DELETE deletes the team as an owner would (its members lose what it
//!   grants at once); it is no longer a group.
//!
//! Every change is one transaction with one audit event by the token's name.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::discovery::GROUP_SCHEMA;
use super::error::ScimError;
use super::users::{ListQuery, parse_paging};
use super::{
    PATCH_SCHEMA, Projection, ScimBody, ScimJson, ScimPath, ScimQuery, attr, base_url, rfc3339,
};
use crate::authz::ScimClient;
use crate::db::audit::Event;
use crate::db::scim_groups::{GroupChanges, GroupFilter, ScimGroup, ScimGroupMember};
use crate::domain::TeamName;
use crate::request::ClientInfo;
use crate::state::AppState;

/// The longest externalId accepted.
const MAX_EXTERNAL_ID_LEN: usize = 200;

fn group_json(state: &AppState, g: &ScimGroup, members: Option<Vec<&ScimGroupMember>>) -> Value {
    let base = base_url(state);
    let mut group = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id.to_string(),
        "displayName": g.name,
        "meta": {
            "resourceType": "Group",
            "created": rfc3339(g.created_at),
            "lastModified": rfc3339(g.updated_at.unwrap_or(g.created_at).max(g.created_at)),
            "location": format!("{base}/Groups/{}", g.id),
        },
    });
    if let Some(obj) = group.as_object_mut() {
        if let Some(x) = &g.external_id {
            obj.insert("externalId".to_owned(), json!(x));
        }
        if let Some(members) = members {
            let members: Vec<Value> = members
                .into_iter()
                .map(|m| {
                    json!({
                        "value": m.user_id.to_string(),
                        "type": "User",
                        "$ref": format!("{base}/Users/{}", m.user_id),
                    })
                })
                .collect();
            obj.insert("members".to_owned(), Value::Array(members));
        }
    }
    group
}

fn group_id(raw: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(raw).map_err(|_| ScimError::NotFound)
}

fn parse_name(v: Option<&Value>) -> Result<String, ScimError> {
    match v {
        Some(Value::String(s)) => TeamName::parse(s)
            .map(|n| n.as_str().to_owned())
            .map_err(|m| ScimError::invalid_value(format!("displayName: {m}"))),
        Some(_) => Err(ScimError::invalid_value("displayName must be a string.")),
        None => Err(ScimError::invalid_value("displayName is required.")),
    }
}

fn parse_external_id(v: Option<&Value>) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_EXTERNAL_ID_LEN => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ScimError::invalid_value(format!(
            "externalId is longer than {MAX_EXTERNAL_ID_LEN} characters."
        ))),
        Some(_) => Err(ScimError::invalid_value("externalId must be a string.")),
    }
}

/// A member id: a SCIM user id. One that is not a UUID can name nobody.
fn member_id(raw: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        ScimError::invalid_value(format!(
            "members: {raw:?} is not the id of a user of this organization."
        ))
    })
}

/// `members` as sent: an array of `{ "value": id }` (or one such object);
/// null is no one.
fn parse_members(v: Option<&Value>) -> Result<Vec<Uuid>, ScimError> {
    let one = |m: &Value| -> Result<Uuid, ScimError> {
        match m {
            Value::Object(o) => match attr(o, "value") {
                Some(Value::String(s)) => member_id(s),
                _ => Err(ScimError::invalid_value(
                    "Each member needs a value: the id of a user.",
                )),
            },
            _ => Err(ScimError::invalid_value(
                "Each member must be an object with a value.",
            )),
        }
    };
    let mut ids: Vec<Uuid> = Vec::new();
    let mut push = |id: Uuid| {
        if !ids.contains(&id) {
            ids.push(id);
        }
    };
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for m in items {
                push(one(m)?);
            }
        }
        Some(m @ Value::Object(_)) => push(one(m)?),
        Some(_) => return Err(ScimError::invalid_value("members must be a list.")),
    }
    Ok(ids)
}

/// `attribute eq "value"` (names and operator in any case): the attribute
/// and the value, or None for anything else.
fn eq_filter(filter: &str) -> Option<(&str, String)> {
    let (attribute, rest) = filter.trim().split_once(char::is_whitespace)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value: String = serde_json::from_str(value.trim()).ok()?;
    Some((attribute, value))
}

/// `displayName eq "…"` or `externalId eq "…"`; anything else is
/// `invalidFilter`.
pub fn parse_filter(filter: &str) -> Result<GroupFilter, ScimError> {
    let unsupported = || {
        ScimError::invalid_filter(
            "Only `displayName eq \"…\"` and `externalId eq \"…\"` filters are supported.",
        )
    };
    let (attribute, value) = eq_filter(filter).ok_or_else(unsupported)?;
    if attribute.eq_ignore_ascii_case("displayName") {
        Ok(GroupFilter::DisplayName(value))
    } else if attribute.eq_ignore_ascii_case("externalId") {
        Ok(GroupFilter::ExternalId(value))
    } else {
        Err(unsupported())
    }
}

/// `attributes` / `excludedAttributes` are honoured; members are not even
/// loaded when they are not returned (`excludedAttributes=members`, which
/// identity providers send to keep large groups cheap).
pub async fn list_groups(
    State(state): State<AppState>,
    client: ScimClient,
    ScimQuery(q): ScimQuery<ListQuery>,
) -> Result<ScimJson, ScimError> {
    let filter = q
        .filter
        .as_deref()
        .map(parse_filter)
        .transpose()?
        .unwrap_or(GroupFilter::All);
    let (start, count) = parse_paging(&q)?;
    let with_members = q.projection.wants("members");
    let (total, groups, members) = state
        .db
        .scim_groups(client.scope(), &filter, start - 1, count, with_members)
        .await?;
    let resources = groups
        .iter()
        .map(|g| {
            let of_group =
                with_members.then(|| members.iter().filter(|m| m.team_id == g.id).collect());
            let mut group = group_json(&state, g, of_group);
            q.projection.apply(&mut group);
            group
        })
        .collect();
    Ok(ScimJson(super::list_response(total, start, resources)))
}

async fn group(state: &AppState, client: &ScimClient, id: Uuid) -> Result<ScimGroup, ScimError> {
    state
        .db
        .scim_group(client.scope(), id)
        .await?
        .ok_or(ScimError::NotFound)
}

/// The group as stored now, with its members unless excluded.
async fn answer(
    state: &AppState,
    client: &ScimClient,
    id: Uuid,
    with_members: bool,
) -> Result<Value, ScimError> {
    let g = group(state, client, id).await?;
    if !with_members {
        return Ok(group_json(state, &g, None));
    }
    let members = state.db.scim_group_members(client.scope(), id).await?;
    Ok(group_json(state, &g, Some(members.iter().collect())))
}

pub async fn get_group(
    State(state): State<AppState>,
    client: ScimClient,
    ScimPath(id): ScimPath,
    ScimQuery(projection): ScimQuery<Projection>,
) -> Result<ScimJson, ScimError> {
    let mut group = answer(&state, &client, group_id(&id)?, projection.wants("members")).await?;
    projection.apply(&mut group);
    Ok(ScimJson(group))
}

pub async fn create_group(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let name = parse_name(attr(&body, "displayName"))?;
    let external_id = parse_external_id(attr(&body, "externalId"))?;
    let members = parse_members(attr(&body, "members"))?;
    let scope = client.scope();
    let member_ids: Vec<String> = members.iter().map(Uuid::to_string).collect();
    let id = state
        .db
        .create_scim_group(
            scope,
            &name,
            external_id.as_deref(),
            &members,
            |team| {
                Event::by(client.actor())
                    .did("scim.group_created")
                    .on("team", team)
                    .in_scim_org(scope)
                    .detail(json!({
                        "name": name,
                        "external_id": external_id,
                        "members_added": member_ids,
                    }))
                    .from(&info.origin())
            },
            state.clock.unix(),
        )
        .await?;
    let group = answer(&state, &client, id, true).await?;
    Ok((StatusCode::CREATED, ScimJson(group)).into_response())
}

/// Applies `changes` to the group with one audit event, and answers it.
async fn apply(
    state: &AppState,
    client: &ScimClient,
    info: &ClientInfo,
    id: Uuid,
    changes: GroupChanges,
) -> Result<ScimJson, ScimError> {
    let event = Event::by(client.actor())
        .did("scim.group_updated")
        .on("team", id)
        .in_scim_org(client.scope())
        .from(&info.origin());
    if !state
        .db
        .update_scim_group(client.scope(), id, &changes, event, state.clock.unix())
        .await?
    {
        return Err(ScimError::NotFound);
    }
    Ok(ScimJson(answer(state, client, id, true).await?))
}

pub async fn replace_group(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimPath(id): ScimPath,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimError> {
    let id = group_id(&id)?;
    group(&state, &client, id).await?;
    let changes = GroupChanges {
        name: Some(parse_name(attr(&body, "displayName"))?),
        external_id: Some(parse_external_id(attr(&body, "externalId"))?),
        replace_members: Some(parse_members(attr(&body, "members"))?),
        ..GroupChanges::default()
    };
    apply(&state, &client, &info, id, changes).await
}

/// The one member a `members[value eq "…"]` path names, or None when the
/// path is not of that shape.
fn member_path(path: &str) -> Result<Option<Uuid>, ScimError> {
    let Some(open) = path.find('[') else {
        return Ok(None);
    };
    let (attribute, rest) = path.split_at(open);
    if !attribute.trim().eq_ignore_ascii_case("members") {
        return Ok(None);
    }
    let inner = rest
        .strip_prefix('[')
        .and_then(|r| r.trim_end().strip_suffix(']'))
        .ok_or_else(|| ScimError::invalid_filter("The members path filter is not closed."))?;
    match eq_filter(inner) {
        Some((a, value)) if a.eq_ignore_ascii_case("value") => member_id(&value).map(Some),
        _ => Err(ScimError::invalid_filter(
            "Only `members[value eq \"…\"]` paths are supported.",
        )),
    }
}

/// One attribute of an `add` or `replace` (by path, or a key of the value
/// object).
fn set_attribute(
    changes: &mut GroupChanges,
    replace: bool,
    name: &str,
    value: &Value,
) -> Result<(), ScimError> {
    if name.eq_ignore_ascii_case("displayName") {
        changes.name = Some(parse_name(Some(value))?);
    } else if name.eq_ignore_ascii_case("externalId") {
        changes.external_id = Some(parse_external_id(Some(value))?);
    } else if name.eq_ignore_ascii_case("members") {
        let members = parse_members(Some(value))?;
        if replace {
            changes.add_members.clear();
            changes.remove_members.clear();
            changes.replace_members = Some(members);
        } else {
            changes.remove_members.retain(|u| !members.contains(u));
            changes.add_members.extend(members);
        }
    } else if name.eq_ignore_ascii_case("id") {
        // Entra sends the id back in a value object; it cannot change.
    } else {
        return Err(ScimError::BadRequest {
            scim_type: "invalidPath",
            detail: format!("A group has no attribute {name:?} that can be set."),
        });
    }
    Ok(())
}

fn remove_members(changes: &mut GroupChanges, members: Vec<Uuid>) {
    changes.add_members.retain(|u| !members.contains(u));
    changes.remove_members.extend(members);
}

/// Reads a PatchOp body into one set of changes, in order, refusing the
/// whole request on the first fault.
fn parse_patch(body: &Map<String, Value>) -> Result<GroupChanges, ScimError> {
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
    let mut changes = GroupChanges::default();
    for op in ops {
        let op = op
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("Each operation must be an object."))?;
        let kind = attr(op, "op")
            .and_then(Value::as_str)
            .ok_or_else(|| ScimError::invalid_syntax("Each operation needs an op."))?;
        let path = match attr(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.trim()),
            Some(_) => return Err(ScimError::invalid_syntax("path must be a string.")),
        };
        let value = attr(op, "value");
        let replace = kind.eq_ignore_ascii_case("replace");
        if replace || kind.eq_ignore_ascii_case("add") {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("add and replace need a value."))?;
            match (path, value) {
                (Some(path), value) => {
                    if member_path(path)?.is_some() {
                        return Err(ScimError::BadRequest {
                            scim_type: "invalidPath",
                            detail: "Add members with the path `members` and a value list."
                                .to_owned(),
                        });
                    }
                    set_attribute(&mut changes, replace, path, value)?;
                }
                (None, Value::Object(attrs)) => {
                    for (name, value) in attrs {
                        set_attribute(&mut changes, replace, name, value)?;
                    }
                }
                (None, _) => {
                    return Err(ScimError::invalid_syntax(
                        "Without a path, the value must be an object of attributes.",
                    ));
                }
            }
        } else if kind.eq_ignore_ascii_case("remove") {
            let Some(path) = path else {
                return Err(ScimError::BadRequest {
                    scim_type: "noTarget",
                    detail: "remove needs a path.".to_owned(),
                });
            };
            if let Some(member) = member_path(path)? {
                remove_members(&mut changes, vec![member]);
            } else if path.eq_ignore_ascii_case("members") {
                match value {
                    // Entra: the members to take off, as a value list.
                    Some(v) if !v.is_null() => {
                        let members = parse_members(Some(v))?;
                        remove_members(&mut changes, members);
                    }
                    // No value: everyone off.
                    _ => {
                        changes.add_members.clear();
                        changes.remove_members.clear();
                        changes.replace_members = Some(Vec::new());
                    }
                }
            } else if path.eq_ignore_ascii_case("externalId") {
                changes.external_id = Some(None);
            } else if path.eq_ignore_ascii_case("displayName") {
                return Err(ScimError::BadRequest {
                    scim_type: "mutability",
                    detail: "displayName is required and cannot be removed.".to_owned(),
                });
            } else {
                return Err(ScimError::BadRequest {
                    scim_type: "invalidPath",
                    detail: format!("A group has no attribute {path:?} that can be removed."),
                });
            }
        } else {
            return Err(ScimError::invalid_syntax(
                "op must be add, replace or remove.",
            ));
        }
    }
    Ok(changes)
}

pub async fn patch_group(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimPath(id): ScimPath,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimError> {
    let id = group_id(&id)?;
    group(&state, &client, id).await?;
    let changes = parse_patch(&body)?;
    apply(&state, &client, &info, id, changes).await
}

pub async fn delete_group(
    State(state): State<AppState>,
    client: ScimClient,
    info: ClientInfo,
    ScimPath(id): ScimPath,
) -> Result<StatusCode, ScimError> {
    let g = group(&state, &client, group_id(&id)?).await?;
    let event = Event::by(client.actor())
        .did("scim.group_deleted")
        .on("team", g.id)
        .in_scim_org(client.scope())
        .detail(json!({ "name": g.name, "external_id": g.external_id }))
        .from(&info.origin());
    if !state
        .db
        .delete_scim_group(client.scope(), g.id, event, state.clock.unix())
        .await?
    {
        return Err(ScimError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(ops: Value) -> Map<String, Value> {
        match json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn filters_read_display_name_and_external_id_in_any_case() {
        assert_eq!(
            parse_filter(r#"displayName eq "Research""#).ok(),
            Some(GroupFilter::DisplayName("Research".to_owned()))
        );
        assert_eq!(
            parse_filter(r#"EXTERNALID EQ "g-1""#).ok(),
            Some(GroupFilter::ExternalId("g-1".to_owned()))
        );
        for bad in [
            "",
            r#"displayName co "R""#,
            r#"members eq "x""#,
            "displayName eq R",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patch_reads_okta_and_entra_member_operations() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let changes = parse_patch(&patch(json!([
            { "op": "Add", "path": "members", "value": [{ "value": a.to_string() }, { "value": b.to_string() }] },
            { "op": "Remove", "path": format!("members[value eq \"{b}\"]") },
            { "op": "replace", "value": { "DisplayName": "Renamed", "id": "ignored" } },
        ])))
        .unwrap_or_default();
        assert_eq!(changes.add_members, vec![a]);
        assert_eq!(changes.remove_members, vec![b]);
        assert_eq!(changes.name.as_deref(), Some("Renamed"));
        let entra = parse_patch(&patch(json!([
            { "op": "Remove", "path": "members", "value": [{ "value": a.to_string() }] },
        ])))
        .unwrap_or_default();
        assert_eq!(entra.remove_members, vec![a]);
        let all =
            parse_patch(&patch(json!([{ "op": "remove", "path": "members" }]))).unwrap_or_default();
        assert_eq!(all.replace_members, Some(Vec::new()));
    }

    #[test]
    fn patch_refuses_what_it_cannot_do() {
        for ops in [
            json!([{ "op": "remove" }]),
            json!([{ "op": "explode", "path": "members" }]),
            json!([{ "op": "remove", "path": "displayName" }]),
            json!([{ "op": "add", "path": "members", "value": [{ "value": "not-a-uuid" }] }]),
            json!([{ "op": "remove", "path": "members[display eq \"x\"]" }]),
            json!([{ "op": "replace", "path": "displayName", "value": "" }]),
        ] {
            assert!(parse_patch(&patch(ops.clone())).is_err(), "{ops}");
        }
    }
}
