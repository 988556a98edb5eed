//! One error type for the HTML console, with an explicit status for each
//! variant. Pages for 403/404/413/429/500 are rendered in the product's style;
//! the cause of an internal error is logged with the request id and never
//! shown.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::auth::csrf::CsrfRejection;
use crate::auth::mfa::CodeError;
use crate::auth::reauth::ReauthError;
use crate::auth::session::SessionError;
use crate::auth::throttle::Throttled;
use crate::auth::totp::TotpSetupError;
use crate::authz::Denied;
use crate::paths::{self, with_next};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// A page that needs a signed-in user; answered by a redirect to sign-in.
    #[error("sign-in required")]
    Unauthenticated { next: Option<String> },
    /// An action that needs a fresh sudo window; answered by a redirect to
    /// `/sudo` that comes back to `next`.
    #[error("sudo mode required")]
    SudoRequired { next: String },
    /// A page that needs the user to have MFA on (an organization policy);
    /// answered by a redirect to the enrolment page.
    #[error("MFA enrolment required")]
    MfaEnrolmentRequired,
    /// The org `slug` requires a passkey: answered by a redirect to adding
    /// one, which says which org asks.
    #[error("passkey required")]
    PasskeyRequired { slug: String },
    /// An operator requires a new password first; answered by a redirect to
    /// the password page.
    #[error("password change required")]
    PasswordChangeRequired,
    /// A page that moved for good (a renamed org's old slug): answered by a
    /// 308 redirect, so a form posted to it is posted again there.
    #[error("moved permanently")]
    Moved { to: String },
    /// The org was disabled by the platform (403 with the reason to ask).
    #[error("organization disabled")]
    OrgDisabled,
    #[error("CSRF check failed")]
    CsrfRejected,
    #[error("request body too large")]
    PayloadTooLarge,
    /// A body the console does not read (JSON to a form endpoint).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{msg}"))
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::auth::password::HashError> for AppError {
    fn from(e: crate::auth::password::HashError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<Denied> for AppError {
    fn from(e: Denied) -> Self {
        match e {
            Denied::NotFound => AppError::NotFound,
            Denied::Forbidden | Denied::MissingPermission(_) => AppError::Forbidden,
            Denied::Unauthenticated { next } => AppError::Unauthenticated { next },
            Denied::SudoRequired { next } => AppError::SudoRequired { next },
            Denied::MfaEnrolmentRequired => AppError::MfaEnrolmentRequired,
            Denied::PasskeyRequired { slug } => AppError::PasskeyRequired { slug },
            Denied::PasswordChangeRequired => AppError::PasswordChangeRequired,
            Denied::Moved { to } => AppError::Moved { to },
            Denied::OrgDisabled => AppError::OrgDisabled,
            e @ (Denied::Storage(_) | Denied::Session(_) | Denied::Stash(_)) => {
                AppError::Internal(e.into())
            }
        }
    }
}

/// The extractors of `authz` reject with `Denied`; a page shows it as this.
impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        AppError::from(self).into_response()
    }
}

impl From<SessionError> for AppError {
    fn from(e: SessionError) -> Self {
        AppError::Internal(e.into())
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        AppError::from(self).into_response()
    }
}

impl From<Throttled> for AppError {
    fn from(e: Throttled) -> Self {
        match e {
            Throttled::TooManyRequests { retry_after } => AppError::TooManyRequests { retry_after },
            e @ Throttled::Storage(_) => AppError::Internal(e.into()),
        }
    }
}

impl From<ReauthError> for AppError {
    fn from(e: ReauthError) -> Self {
        match e {
            ReauthError::Throttled(t) => t.into(),
            ReauthError::Code(c) => c.into(),
            e => AppError::Internal(e.into()),
        }
    }
}

impl From<CodeError> for AppError {
    fn from(e: CodeError) -> Self {
        match e {
            CodeError::Throttled(t) => t.into(),
            e => AppError::Internal(e.into()),
        }
    }
}

impl From<crate::auth::passkeys::CeremonyError> for AppError {
    fn from(e: crate::auth::passkeys::CeremonyError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<TotpSetupError> for AppError {
    fn from(e: TotpSetupError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<CsrfRejection> for AppError {
    fn from(e: CsrfRejection) -> Self {
        match e {
            CsrfRejection::Rejected => AppError::CsrfRejected,
            CsrfRejection::TooLarge => AppError::PayloadTooLarge,
            CsrfRejection::SignInEnded => AppError::Unauthenticated { next: None },
            CsrfRejection::Session(e) => e.into(),
        }
    }
}

/// The CSRF middleware refuses with `CsrfRejection`; it is shown as this.
impl IntoResponse for CsrfRejection {
    fn into_response(self) -> Response {
        AppError::from(self).into_response()
    }
}

/// The outcomes a handler answers itself (a taken slug, the last owner) are
/// matched before `?`; what is left is an internal error, with its cause.
impl From<crate::db::orgs::OrgError> for AppError {
    fn from(e: crate::db::orgs::OrgError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::db::invitations::InvitationError> for AppError {
    fn from(e: crate::db::invitations::InvitationError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::db::users::CreateUserError> for AppError {
    fn from(e: crate::db::users::CreateUserError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub code: u16,
    pub title: &'static str,
    pub message: String,
}

/// Renders the product's error page for `status`.
pub fn error_page(status: StatusCode, title: &'static str, message: impl Into<String>) -> Response {
    let page = ErrorPage {
        code: status.as_u16(),
        title,
        message: message.into(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, title).into_response(),
    }
}

/// "in 3 minutes", "in 40 seconds": how long until a retry is allowed.
pub fn wait_phrase(secs: u64) -> String {
    match secs {
        0..=59 => format!("{} second{}", secs.max(1), if secs == 1 { "" } else { "s" }),
        _ => {
            let mins = secs.div_ceil(60);
            format!("{mins} minute{}", if mins == 1 { "" } else { "s" })
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here. The link may be wrong, or what it pointed to is gone.",
            ),
            AppError::Forbidden => error_page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your account does not have access to this page.",
            ),
            AppError::Unauthenticated { next } => {
                Redirect::to(&with_next(paths::LOGIN, next.as_deref())).into_response()
            }
            AppError::SudoRequired { next } => {
                Redirect::to(&with_next(paths::SUDO, Some(&next))).into_response()
            }
            AppError::MfaEnrolmentRequired => Redirect::to(paths::MFA_ENROLMENT).into_response(),
            AppError::PasskeyRequired { slug } => {
                Redirect::to(&format!("{}/new?required_by={slug}", paths::PASSKEYS)).into_response()
            }
            AppError::PasswordChangeRequired => {
                Redirect::to(paths::PASSWORD_CHANGE).into_response()
            }
            AppError::Moved { to } => Redirect::permanent(&to).into_response(),
            AppError::OrgDisabled => error_page(
                StatusCode::FORBIDDEN,
                "This organization is disabled",
                "The platform's operators have disabled this organization: its pages and API \
                 keys are unavailable until it is enabled again. Nothing in it was deleted. \
                 Ask your platform's support why.",
            ),
            AppError::CsrfRejected => error_page(
                StatusCode::FORBIDDEN,
                "This form could not be accepted",
                "The form expired or was sent from another site. Go back, reload the page and \
                 try again.",
            ),
            AppError::PayloadTooLarge => error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much data",
                "The form sent more data than the console accepts.",
            ),
            AppError::UnsupportedMediaType => error_page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This form could not be read",
                "The console accepts forms only as its own pages send them. Go back, reload the \
                 page and try again.",
            ),
            AppError::TooManyRequests { retry_after } => {
                let mut res = error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    format!("Please wait {} and try again.", wait_phrase(retry_after)),
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            AppError::Conflict(msg) => error_page(StatusCode::CONFLICT, "Conflict", msg),
            AppError::BadRequest(msg) => error_page(StatusCode::BAD_REQUEST, "Bad request", msg),
            AppError::Internal(err) if crate::db::outage_in(&err) => {
                // Not a bug: the database is unreachable. Say so, and when
                // to try again, instead of "something went wrong".
                tracing::warn!(error = %format!("{err:#}"), "database unavailable");
                let mut res = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Briefly unavailable",
                    "Gatehouse cannot reach its database right now. Nothing you sent was lost \
                     or half-done; please try again in a few seconds.",
                );
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::db::OUTAGE_RETRY_AFTER_SECS),
                );
                res
            }
            AppError::Internal(err) => {
                // The cause goes to the log (with the request id of the span);
                // the person sees only that something went wrong on our side.
                tracing::error!(error = %format!("{err:#}"), "internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An unexpected error occurred on our side and has been logged. Please try \
                     again in a moment.",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wait_phrase;

    #[test]
    fn wait_phrases() {
        assert_eq!(wait_phrase(1), "1 second");
        assert_eq!(wait_phrase(30), "30 seconds");
        assert_eq!(wait_phrase(60), "1 minute");
        assert_eq!(wait_phrase(61), "2 minutes");
    }
}
