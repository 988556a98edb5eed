//! Errors of the JSON API: a stable machine-readable code, a message, and for
//! 401 a `WWW-Authenticate` header (RFC 6750). Internal causes are logged,
//! never returned.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::throttle::Throttled;
use crate::domain::{Permission, Scope};

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The request field at fault.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `token_expired`, `insufficient_scope`, `validation_failed`.
    pub code: String,
    pub message: String,
    /// The scope that was missing (with `insufficient_scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The workspace permission that was missing (with
    /// `insufficient_permission`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The run's status, and the one asked for (with `illegal_transition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Field-level problems (with `validation_failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 with a code: `missing_token`, `malformed_token`, `invalid_checksum`,
    /// `invalid_token`, `token_expired`, `token_revoked`, `token_rotated`,
    /// `account_disabled`.
    #[error("unauthorized: {code}")]
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    /// 403 with a stable code: `service_account_key`, `key_not_bound`,
    /// `owner_required`, `mfa_required`, `master_key_required`,
    /// `registration_disabled`.
    #[error("forbidden: {code}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error("insufficient scope: {0}")]
    InsufficientScope(Scope),
    /// 403 `insufficient_permission`: in this workspace the key (its scopes
    /// ∩ its principal's permissions there) lacks the permission.
    #[error("insufficient permission: {permission}")]
    InsufficientPermission {
        permission: Permission,
        /// Whether the key's scopes hold it (so the principal lacks it).
        key_has_it: bool,
    },
    /// 409 with a stable code: the request breaks an invariant of the
    /// current state (`last_owner`); nothing changed.
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    /// 409 `illegal_transition`: a run in `from` cannot become `to`.
    #[error("illegal transition: {from} -> {to}")]
    IllegalTransition {
        from: &'static str,
        to: &'static str,
    },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422 `invalid_bundle`: a configuration bundle that cannot be imported
    /// (not JSON, another version, over 5 MiB, an unknown kind, a field a
    /// kind refuses, a broken reference); `fields` names each fault by its
    /// path. Nothing changed.
    #[error("invalid bundle")]
    InvalidBundle(Vec<FieldError>),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 400 `reason_required`: a master-key request without a usable
    /// `X-Gatehouse-Reason` header (the message says what is wrong with it).
    #[error("reason required")]
    ReasonRequired(&'static str),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<Throttled> for ApiError {
    fn from(e: Throttled) -> Self {
        match e {
            Throttled::TooManyRequests { retry_after } => ApiError::TooManyRequests { retry_after },
            e @ Throttled::Storage(_) => ApiError::Internal(e.into()),
        }
    }
}

impl ApiError {
    pub fn unauthorized(code: &'static str, message: &'static str) -> Self {
        ApiError::Unauthorized { code, message }
    }

    /// 403 `org_disabled`: the platform disabled the org (nothing deleted).
    pub fn org_disabled() -> Self {
        ApiError::Forbidden {
            code: "org_disabled",
            message: "The platform's operators have disabled this organization; its keys work \
                      again when it is enabled.",
        }
    }

    /// 422 `validation_failed` naming one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::Unauthorized { code, message } => {
                (StatusCode::UNAUTHORIZED, code, (*message).to_owned())
            }
            ApiError::Forbidden { code, message } => {
                (StatusCode::FORBIDDEN, code, (*message).to_owned())
            }
            ApiError::Conflict { code, message } => {
                (StatusCode::CONFLICT, code, (*message).to_owned())
            }
            ApiError::IllegalTransition { from, to } => (
                StatusCode::CONFLICT,
                "illegal_transition",
                format!("A run that is `{from}` cannot become `{to}`; nothing changed."),
            ),
            ApiError::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("This key lacks the `{scope}` scope."),
            ),
            ApiError::InsufficientPermission {
                permission,
                key_has_it,
            } => (
                StatusCode::FORBIDDEN,
                "insufficient_permission",
                if *key_has_it {
                    format!(
                        "The key's owner does not hold `{permission}` in this workspace (no role \
                         granted to their teams here includes it)."
                    )
                } else {
                    format!("This key's scopes do not include `{permission}`.")
                },
            ),
            ApiError::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are not valid; nothing was changed.".to_owned(),
            ),
            ApiError::InvalidBundle(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_bundle",
                "This configuration bundle cannot be imported; nothing was changed.".to_owned(),
            ),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            ApiError::ReasonRequired(why) => (
                StatusCode::BAD_REQUEST,
                "reason_required",
                format!("Send the reason for this request in the X-Gatehouse-Reason header. {why}"),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.".to_owned(),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The body is larger than the API accepts (64 KiB; 16 MiB for a configuration bundle).".to_owned(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "No such resource.".to_owned(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed here.".to_owned(),
            ),
            ApiError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests; retry in {retry_after} seconds."),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "An unexpected error occurred; it has been logged.".to_owned(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            if crate::db::outage_in(err) {
                tracing::warn!(error = %format!("{err:#}"), "database unavailable");
                let body = ErrorBody {
                    error: ErrorDetail {
                        code: "unavailable".to_owned(),
                        message: "The database cannot be reached right now; nothing was \
                                  changed. Retry after the time in Retry-After."
                            .to_owned(),
                        scope: None,
                        permission: None,
                        from: None,
                        to: None,
                        fields: Vec::new(),
                    },
                };
                let mut res = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::db::OUTAGE_RETRY_AFTER_SECS),
                );
                return res;
            }
            tracing::error!(error = %format!("{err:#}"), "internal error in the API");
        }
        let (status, code, message) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                scope: match &self {
                    ApiError::InsufficientScope(s) => Some(s.as_str().to_owned()),
                    _ => None,
                },
                permission: match &self {
                    ApiError::InsufficientPermission { permission, .. } => {
                        Some(permission.as_str().to_owned())
                    }
                    _ => None,
                },
                from: match &self {
                    ApiError::IllegalTransition { from, .. } => Some((*from).to_owned()),
                    _ => None,
                },
                to: match &self {
                    ApiError::IllegalTransition { to, .. } => Some((*to).to_owned()),
                    _ => None,
                },
                fields: match self {
                    ApiError::Validation(ref f) | ApiError::InvalidBundle(ref f) => f
                        .iter()
                        .map(|e| FieldError {
                            field: e.field.clone(),
                            message: e.message.clone(),
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            },
        };
        let mut res = (status, Json(body)).into_response();
        let challenge = match &self {
            ApiError::Unauthorized { code, .. } if *code == "missing_token" => {
                Some("Bearer realm=\"gatehouse\"".to_owned())
            }
            ApiError::Unauthorized { .. } => Some(format!(
                "Bearer realm=\"gatehouse\", error=\"invalid_token\", error_description=\"{code}\""
            )),
            ApiError::InsufficientScope(s) => Some(format!(
                "Bearer realm=\"gatehouse\", error=\"insufficient_scope\", scope=\"{s}\""
            )),
            _ => None,
        };
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let ApiError::TooManyRequests { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
