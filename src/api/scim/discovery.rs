//! The discovery documents (RFC 7644 §4): what this service provider
//! supports, its resource types and their schemas. They say exactly what the
//! handlers do: PATCH and filtering on, bulk, sort, ETags and password
//! changes off.

use axum::extract::State;
use serde_json::{Value, json};

use super::error::ScimError;
use super::{ScimJson, ScimPath, base_url, list_response};
use crate::authz::ScimClient;
use crate::state::AppState;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
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
    let mut name = attribute("name", "complex", false, "readWrite", "none");
    name["subAttributes"] = json!([
        attribute("formatted", "string", false, "readWrite", "none"),
        attribute("givenName", "string", false, "readWrite", "none"),
        attribute("familyName", "string", false, "readWrite", "none"),
    ]);
    let mut emails = attribute("emails", "complex", false, "readWrite", "none");
    emails["multiValued"] = json!(true);
    emails["subAttributes"] = json!([
        attribute("value", "string", false, "readWrite", "none"),
        attribute("type", "string", false, "readWrite", "none"),
        attribute("primary", "boolean", false, "readWrite", "none"),
    ]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A member of the organization.",
        "attributes": [
            attribute("userName", "string", true, "readWrite", "server"),
            name,
            attribute("displayName", "string", false, "readWrite", "none"),
            emails,
            attribute("active", "boolean", false, "readWrite", "none"),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    })
}

pub async fn resource_types(State(state): State<AppState>, _client: ScimClient) -> ScimJson {
    let base = base_url(&state);
    ScimJson(list_response(1, 1, vec![user_resource_type(&base)]))
}

pub async fn resource_type(
    State(state): State<AppState>,
    _client: ScimClient,
    ScimPath(id): ScimPath,
) -> Result<ScimJson, ScimError> {
    if id != "User" {
        return Err(ScimError::NotFound);
    }
    Ok(ScimJson(user_resource_type(&base_url(&state))))
}

pub async fn schemas(State(state): State<AppState>, _client: ScimClient) -> ScimJson {
    let base = base_url(&state);
    ScimJson(list_response(1, 1, vec![user_schema(&base)]))
}

pub async fn schema(
    State(state): State<AppState>,
    _client: ScimClient,
    ScimPath(id): ScimPath,
) -> Result<ScimJson, ScimError> {
    if id != USER_SCHEMA {
        return Err(ScimError::NotFound);
    }
    Ok(ScimJson(user_schema(&base_url(&state))))
}
