//! SCIM 2.0 (RFC 7643 / 7644) under `/scim/v2`: an org's identity provider
//! provisions its members. Every handler takes `authz::ScimClient` (one
//! org's SCIM token), answers `application/scim+json`, and fails with
//! `ScimError`'s SCIM error bodies.
//!
//! The wire types are written by hand (serde_json values): the SCIM crates
//! on crates.io either target another framework or model far more of the
//! RFC than the few shapes used here (User, Group, ListResponse, PatchOp, Error,
//! and the discovery documents).

pub mod discovery;
pub mod error;
pub mod groups;
pub mod users;

use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use self::error::ScimError;
use crate::state::AppState;

/// The media type of every SCIM answer.
pub const SCIM_JSON: &str = "application/scim+json";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A JSON answer as `application/scim+json`.
pub struct ScimJson(pub Value);

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        let mut res = axum::Json(self.0).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        res
    }
}

/// A request body that is a JSON object (`application/scim+json` or
/// `application/json`; identity providers send either). Anything else is a
/// SCIM 400 `invalidSyntax`.
pub struct ScimBody(pub serde_json::Map<String, Value>);

impl FromRequest<AppState> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ScimError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ScimError::invalid_syntax("The request body could not be read."))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(ScimBody(map)),
            Ok(_) => Err(ScimError::invalid_syntax(
                "The request body must be a JSON object.",
            )),
            Err(_) => Err(ScimError::invalid_syntax(
                "The request body is not valid JSON.",
            )),
        }
    }
}

/// The value of `name` in `map`, matched case-insensitively (SCIM attribute
/// names are case-insensitive, and Entra capitalises them).
pub fn attr<'a>(map: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A ListResponse of `resources`.
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5), as a GET of
/// one resource or of a list sends them: comma-separated names, in any case,
/// bare (`displayName`), dotted (`name.givenName`) or with their schema URN.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Projection {
    #[serde(default)]
    pub attributes: Option<String>,
    #[serde(default, rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// What is always returned, whatever is asked.
const ALWAYS_RETURNED: [&str; 3] = ["schemas", "id", "meta"];

fn attribute_names(list: &str) -> Vec<(String, Option<String>)> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            // `urn:…:User:name.givenName` → `name.givenName`.
            let bare = if a.starts_with("urn:") {
                a.rsplit(':').next().unwrap_or(a)
            } else {
                a
            };
            match bare.split_once('.') {
                Some((top, sub)) => (top.to_owned(), Some(sub.to_owned())),
                None => (bare.to_owned(), None),
            }
        })
        .collect()
}

impl Projection {
    /// Whether the answer will carry `name` (to skip loading what is not
    /// returned).
    pub fn wants(&self, name: &str) -> bool {
        if let Some(list) = &self.attributes {
            return attribute_names(list)
                .iter()
                .any(|(top, _)| top.eq_ignore_ascii_case(name));
        }
        if let Some(list) = &self.excluded_attributes {
            return !attribute_names(list)
                .iter()
                .any(|(top, sub)| sub.is_none() && top.eq_ignore_ascii_case(name));
        }
        true
    }

    /// Trims one resource to what was asked (`attributes` wins when both
    /// are sent); `schemas`, `id` and `meta` always stay.
    pub fn apply(&self, resource: &mut Value) {
        let Some(obj) = resource.as_object_mut() else {
            return;
        };
        let keep = |k: &str| ALWAYS_RETURNED.iter().any(|a| a.eq_ignore_ascii_case(k));
        if let Some(list) = &self.attributes {
            let names = attribute_names(list);
            obj.retain(|k, _| keep(k) || names.iter().any(|(top, _)| top.eq_ignore_ascii_case(k)));
        } else if let Some(list) = &self.excluded_attributes {
            for (top, sub) in attribute_names(list) {
                let Some(key) = obj
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&top) && !keep(k))
                    .cloned()
                else {
                    continue;
                };
                match sub {
                    None => {
                        obj.remove(&key);
                    }
                    Some(sub) => {
                        if let Some(Value::Object(inner)) = obj.get_mut(&key) {
                            inner.retain(|k, _| !k.eq_ignore_ascii_case(&sub));
                        }
                    }
                }
            }
        }
    }
}

/// An instant as RFC 3339 (SCIM's `meta.created`).
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Where the SCIM surface lives, for `meta.location`.
pub fn base_url(state: &AppState) -> String {
    format!(
        "{}/scim/v2",
        state.config.public_url().trim_end_matches('/')
    )
}

/// A SCIM route asked with a method it does not take: a SCIM 405 (axum
/// keeps the `Allow` header).
pub async fn method_not_allowed() -> ScimError {
    ScimError::MethodNotAllowed
}

/// `POST /.search` (RFC 7644 §3.4.3, searching every resource type at
/// once) is not offered: a SCIM 501, which the RFC names for an operation a
/// service provider does not support. Lists are `GET /Users` and
/// `GET /Groups` with `filter`.
pub async fn search_not_implemented(_client: crate::authz::ScimClient) -> ScimError {
    ScimError::NotImplemented(
        "POST /.search is not supported; list /Users or /Groups with a filter instead.",
    )
}

/// Unknown paths under `/scim/v2`: a SCIM 404.
pub async fn not_found() -> ScimError {
    ScimError::NotFound
}

/// The one path parameter of a SCIM route (`/Users/{id}`, `/Schemas/{id}`);
/// one that does not decode is the same SCIM 404 as an unknown id.
pub struct ScimPath(pub String);

// axum's extractors answer with the parser's text; these wrap them so that
// SCIM clients get SCIM error bodies instead (as `web::extract` does for pages).
#[allow(clippy::disallowed_types)]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ScimPath {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ScimError> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ScimPath(v))
            .map_err(|_| ScimError::NotFound)
    }
}

/// The query string; one that does not parse is a SCIM 400 `invalidValue`.
pub struct ScimQuery<T>(pub T);

#[allow(clippy::disallowed_types)]
impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ScimQuery<T>
{
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ScimError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ScimQuery(v))
            .map_err(|_| ScimError::invalid_value("The query string is not valid."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projection(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        Projection {
            attributes: attributes.map(str::to_owned),
            excluded_attributes: excluded.map(str::to_owned),
        }
    }

    #[test]
    fn projections_keep_or_drop_what_is_named_and_always_the_id() {
        let user = serde_json::json!({
            "schemas": ["s"], "id": "1", "meta": {}, "userName": "a@example.com",
            "name": { "formatted": "A", "givenName": "A" }, "active": true,
        });
        let mut only = user.clone();
        projection(
            Some("USERNAME, urn:ietf:params:scim:schemas:core:2.0:User:active"),
            None,
        )
        .apply(&mut only);
        assert_eq!(
            only,
            serde_json::json!({
                "schemas": ["s"], "id": "1", "meta": {}, "userName": "a@example.com", "active": true,
            })
        );
        let mut without = user.clone();
        projection(None, Some("name.givenName,active,id")).apply(&mut without);
        assert_eq!(without["name"], serde_json::json!({ "formatted": "A" }));
        assert!(without.get("active").is_none() && without["id"] == "1");
        assert!(!projection(None, Some("Members")).wants("members"));
        assert!(projection(None, Some("members.value")).wants("members"));
        assert!(!projection(Some("displayName"), None).wants("members"));
        assert!(projection(None, None).wants("members"));
    }
}
