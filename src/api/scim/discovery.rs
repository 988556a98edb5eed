//! The discovery documents (RFC 7644 §4): what this service provider
//! supports, its resource types and their schemas. They say exactly what the
//! handlers do: PATCH and filtering on, bulk, sort, ETags and password
//! changes off. A User's `userName` (the email) is set when the person is
//! provisioned and never changes (`immutable`); their name and emails are
//! the person's own (`readOnly`: a new account takes its first name from
//! them, and later values are accepted and ignored).

use axum::extract::State;
use serde_json::{Value, json};

use super::error::ScimError;
use super::{ScimJson, ScimPath, base_url, list_response};
use crate::authz::ScimClient;
use crate::state::AppState;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one list answers with.
pub const MAX_RESULTS: i64 = 200;

pub async fn service_provider_config(
    State(state): State<AppState>,
    _client: ScimClient,
) -> ScimJson {
    let base = base_url(&state);
    ScimJson(json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM token",
            "description": "An organization's SCIM token, made by an owner on the organization's SCIM settings page, as `Authorization: Bearer <token>`.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    }))
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A member of the organization (userName is the email address).",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A team of the organization managed by the identity provider (members are users).",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
    })
}

fn attribute(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": name,
        "required": required,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

fn user_schema(base: &str) -> Value {
    let mut name = attribute("name", "complex", false, "readOnly", "none");
    name["subAttributes"] = json!([
        attribute("formatted", "string", false, "readOnly", "none"),
        attribute("givenName", "string", false, "readOnly", "none"),
        attribute("familyName", "string", false, "readOnly", "none"),
    ]);
    let mut emails = attribute("emails", "complex", false, "readOnly", "none");
    emails["multiValued"] = json!(true);
    emails["subAttributes"] = json!([
        attribute("value", "string", false, "readOnly", "none"),
        attribute("type", "string", false, "readOnly", "none"),
        attribute("primary", "boolean", false, "readOnly", "none"),
    ]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A member of the organization.",
        "attributes": [
            attribute("userName", "string", true, "immutable", "server"),
            name,
            attribute("displayName", "string", false, "readOnly", "none"),
            emails,
            attribute("active", "boolean", false, "readWrite", "none"),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    })
}

fn group_schema(base: &str) -> Value {
    let mut members = attribute("members", "complex", false, "readWrite", "none");
    members["multiValued"] = json!(true);
    members["description"] = json!("The users on the team (value: a User id).");
    let mut value = attribute("value", "string", false, "immutable", "none");
    value["caseExact"] = json!(true);
    let mut reference = attribute("$ref", "reference", false, "immutable", "none");
    reference["referenceTypes"] = json!(["User"]);
    let mut kind = attribute("type", "string", false, "immutable", "none");
    kind["canonicalValues"] = json!(["User"]);
    members["subAttributes"] = json!([value, reference, kind]);
    let mut external_id = attribute("externalId", "string", false, "readWrite", "none");
    external_id["caseExact"] = json!(true);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A team of the organization.",
        "attributes": [
            attribute("displayName", "string", true, "readWrite", "server"),
            external_id,
            members,
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    })
}

pub async fn resource_types(State(state): State<AppState>, _client: ScimClient) -> ScimJson {
    let base = base_url(&state);
    ScimJson(list_response(
        2,
        1,
        vec![user_resource_type(&base), group_resource_type(&base)],
    ))
}

pub async fn resource_type(
    State(state): State<AppState>,
    _client: ScimClient,
    ScimPath(id): ScimPath,
) -> Result<ScimJson, ScimError> {
    match id.as_str() {
        "User" => Ok(ScimJson(user_resource_type(&base_url(&state)))),
        "Group" => Ok(ScimJson(group_resource_type(&base_url(&state)))),
        _ => Err(ScimError::NotFound),
    }
}

pub async fn schemas(State(state): State<AppState>, _client: ScimClient) -> ScimJson {
    let base = base_url(&state);
    ScimJson(list_response(
        2,
        1,
        vec![user_schema(&base), group_schema(&base)],
    ))
}

pub async fn schema(
    State(state): State<AppState>,
    _client: ScimClient,
    ScimPath(id): ScimPath,
) -> Result<ScimJson, ScimError> {
    match id.as_str() {
        USER_SCHEMA => Ok(ScimJson(user_schema(&base_url(&state)))),
        GROUP_SCHEMA => Ok(ScimJson(group_schema(&base_url(&state)))),
        _ => Err(ScimError::NotFound),
    }
}
