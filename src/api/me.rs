//! `/v1/me`: the key owner's profile.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiJson;
use super::error::{ApiError, ErrorBody, FieldError};
use crate::authz::api::UserKeyAuth;
use crate::authz::api::scopes::{ProfileRead, ProfileWrite};
use crate::db::audit::Event;
use crate::db::users::{ProfileUpdate, User};
use crate::domain::{DisplayName, JobTitle, Phone, TimeZone};
use crate::request::ClientInfo;
use crate::state::AppState;

/// A user's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    /// IANA time zone name.
    pub time_zone: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<User> for Profile {
    fn from(u: User) -> Self {
        Profile {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            phone: u.phone,
            job_title: u.job_title,
            time_zone: u.time_zone,
            created_at: u.created_at,
        }
    }
}

/// One of the IANA time zones the console offers (see `TimeZone::ALL`).
pub struct TimeZoneName;

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(TimeZone::ALL.iter().copied()))
            .into()
    }
}

impl ToSchema for TimeZoneName {}

/// Fields to change; an absent field is left as it is, an empty string
/// clears an optional field. The patterns state exactly what the domain types
/// accept, so a schema-driven client never sends a valid-looking value that
/// is then refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// 1 to 100 characters (surrounding spaces are trimmed), one line.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: Option<String>,
    /// 7 to 15 digits with an optional leading `+` and spaces, dots, dashes or
    /// parentheses; an empty string clears it.
    #[schema(pattern = r"^$|^\+?([ ().-]*[0-9]){7,15}[ ().-]*$")]
    pub phone: Option<String>,
    /// At most 100 characters, one line; an empty string clears it.
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub job_title: Option<String>,
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
}

async fn load(state: &AppState, id: Uuid) -> Result<User, ApiError> {
    state.db.find_user(id).await?.ok_or(ApiError::NotFound)
}

/// The key owner's profile.
#[utoipa::path(get, path = "/v1/me", tag = "profile",
    security(("api_key" = ["profile:read"])),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `profile:read`, or belongs to a service account (`service_account_key`)", body = ErrorBody),
    ))]
pub async fn get_me(key: UserKeyAuth<ProfileRead>) -> Result<Json<Profile>, ApiError> {
    Ok(Json(key.user().clone().into()))
}

/// Changes the key owner's profile.
#[utoipa::path(patch, path = "/v1/me", tag = "profile",
    security(("api_key" = ["profile:write"])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 400, description = "Malformed JSON (`bad_request`)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 403, description = "The key lacks `profile:write`, or belongs to a service account (`service_account_key`)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields; nothing changed", body = ErrorBody),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    key: UserKeyAuth<ProfileWrite>,
    client: ClientInfo,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<Profile>, ApiError> {
    let current = key.user().clone();
    let mut errors = Vec::new();
    let mut field = |name: &str, message: &str| {
        errors.push(FieldError {
            field: name.to_owned(),
            message: message.to_owned(),
        })
    };
    let name = match DisplayName::parse(
        patch
            .display_name
            .as_deref()
            .unwrap_or(&current.display_name),
    ) {
        Ok(n) => Some(n),
        Err(m) => {
            field("display_name", m);
            None
        }
    };
    let phone = match patch.phone.as_deref() {
        None => Some(current.phone.clone()),
        Some(p) => match Phone::parse_optional(p) {
            Ok(p) => Some(p.map(Phone::into_inner)),
            Err(m) => {
                field("phone", m);
                None
            }
        },
    };
    let title = match patch.job_title.as_deref() {
        None => Some(current.job_title.clone()),
        Some(t) => match JobTitle::parse_optional(t) {
            Ok(t) => Some(t.map(JobTitle::into_inner)),
            Err(m) => {
                field("job_title", m);
                None
            }
        },
    };
    let zone = match TimeZone::parse(patch.time_zone.as_deref().unwrap_or(&current.time_zone)) {
        Ok(z) => Some(z),
        Err(m) => {
            field("time_zone", m);
            None
        }
    };
    let (Some(name), Some(phone), Some(title), Some(zone)) = (name, phone, title, zone) else {
        return Err(ApiError::Validation(errors));
    };
    let now = state.clock.unix();
    let owner = key.owner_proof();
    state
        .db
        .update_profile(
            &owner,
            ProfileUpdate {
                display_name: name.as_str(),
                phone: phone.as_deref(),
                job_title: title.as_deref(),
                time_zone: zone.as_str(),
            },
            Event::by(key.actor())
                .did("profile.updated")
                .on("user", key.user().id)
                .detail(json!({ "via_key": key.public_id() }))
                .from(&client.origin()),
            now,
        )
        .await?;
    Ok(Json(load(&state, key.user().id).await?.into()))
}
