//! Errors of the SCIM surface (RFC 7644 §3.12): the SCIM error body
//! (`schemas: [urn:ietf:params:scim:api:messages:2.0:Error]`, `status` as a
//! string, `scimType` where the RFC names one, `detail`), served as
//! `application/scim+json`. Internal causes are logged, never returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::error::ApiError;
use crate::db::scim::ScimStoreError;
use crate::db::scim_groups::GroupStoreError;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// 401: no token, a malformed, unknown or revoked one.
    #[error("unauthorized")]
    Unauthorized(&'static str),
    /// 403: the token is valid but its org is disabled.
    #[error("forbidden")]
    Forbidden(&'static str),
    /// 404: no such resource in the token's org (or another org's id).
    #[error("not found")]
    NotFound,
    /// 400 with a `scimType` (`invalidValue`, `invalidSyntax`,
    /// `invalidFilter`, `noTarget`, `mutability`, …); nothing changed.
    #[error("bad request: {scim_type}")]
    BadRequest {
        scim_type: &'static str,
        detail: String,
    },
    /// 409 `uniqueness`.
    #[error("conflict")]
    Uniqueness(&'static str),
    /// 409 without a `scimType`: the change would break an invariant.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// 405: the resource exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 501: an operation of the RFC this service provider does not offer.
    #[error("not implemented")]
    NotImplemented(&'static str),
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ScimError {
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::BadRequest {
            scim_type: "invalidValue",
            detail: detail.into(),
        }
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::BadRequest {
            scim_type: "invalidSyntax",
            detail: detail.into(),
        }
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::BadRequest {
            scim_type: "invalidFilter",
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> Self {
        ScimError::Internal(e.into())
    }
}

/// A message that could not be rendered (`mail`).
impl From<askama::Error> for ScimError {
    fn from(e: askama::Error) -> Self {
        ScimError::Internal(e.into())
    }
}

impl From<ScimStoreError> for ScimError {
    fn from(e: ScimStoreError) -> Self {
        match e {
            ScimStoreError::AlreadyMember => {
                ScimError::Uniqueness("A user with this userName is already provisioned.")
            }
            ScimStoreError::LastOwner => ScimError::Conflict(
                "This person is the organization's last active owner and cannot be deprovisioned.",
            ),
            ScimStoreError::Db(e) => e.into(),
        }
    }
}

/// A group change refused by storage (`db::scim_groups`).
impl From<GroupStoreError> for ScimError {
    fn from(e: GroupStoreError) -> Self {
        match e {
            GroupStoreError::NameTaken => {
                ScimError::Uniqueness("A team with this displayName exists in the organization.")
            }
            GroupStoreError::UnknownMember(id) => ScimError::invalid_value(format!(
                "members: {id} is not an active user of this organization."
            )),
            GroupStoreError::Db(e) => e.into(),
        }
    }
}

/// The rate limiter and storage errors shared with `/v1`.
impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::TooManyRequests { retry_after } => ScimError::TooManyRequests { retry_after },
            ApiError::Internal(e) => ScimError::Internal(e),
            other => ScimError::Internal(anyhow::anyhow!("unexpected API error: {other}")),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        if let ScimError::Internal(err) = &self {
            tracing::error!(error = %format!("{err:#}"), "internal error in SCIM");
        }
        let (status, scim_type, detail): (StatusCode, Option<&str>, String) = match &self {
            ScimError::Unauthorized(d) => (StatusCode::UNAUTHORIZED, None, (*d).to_owned()),
            ScimError::Forbidden(d) => (StatusCode::FORBIDDEN, None, (*d).to_owned()),
            ScimError::NotFound => (StatusCode::NOT_FOUND, None, "No such resource.".to_owned()),
            ScimError::BadRequest { scim_type, detail } => {
                (StatusCode::BAD_REQUEST, Some(*scim_type), detail.clone())
            }
            ScimError::Uniqueness(d) => (StatusCode::CONFLICT, Some("uniqueness"), (*d).to_owned()),
            ScimError::Conflict(d) => (StatusCode::CONFLICT, None, (*d).to_owned()),
            ScimError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "This method is not allowed here.".to_owned(),
            ),
            ScimError::NotImplemented(d) => (StatusCode::NOT_IMPLEMENTED, None, (*d).to_owned()),
            ScimError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                None,
                format!("Too many requests; retry in {retry_after} seconds."),
            ),
            ScimError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "An unexpected error occurred; it has been logged.".to_owned(),
            ),
        };
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": status.as_u16().to_string(),
            "detail": detail,
        });
        if let (Some(t), Some(obj)) = (scim_type, body.as_object_mut()) {
            obj.insert("scimType".to_owned(), t.into());
        }
        let mut res = (status, super::ScimJson(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse-scim\""),
            );
        }
        if let ScimError::TooManyRequests { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
