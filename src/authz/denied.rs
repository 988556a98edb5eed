//! Why an authorization extractor refused a request, independent of how the
//! answer is shown: the HTML console (`crate::error::AppError`) and the JSON
//! API (`crate::api::error::ApiError`) both convert from it, so `authz`
//! knows nothing of pages or JSON bodies.

use crate::auth::session::SessionError;
use crate::domain::Permission;

#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// Not there, or not to be revealed (another org, the operator console).
    #[error("not found")]
    NotFound,
    /// Known, but the caller's role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// In a workspace the caller may see, a permission the caller lacks.
    #[error("missing permission {0}")]
    MissingPermission(Permission),
    /// Needs a signed-in user; `next` is the page to come back to.
    #[error("sign-in required")]
    Unauthenticated { next: Option<String> },
    /// Needs a fresh sudo window; `next` is where to come back after it.
    #[error("sudo mode required")]
    SudoRequired { next: String },
    /// An organization policy needs the user to have MFA on.
    #[error("MFA enrolment required")]
    MfaEnrolmentRequired,
    /// The org `slug` requires a passkey of its members.
    #[error("passkey required")]
    PasskeyRequired { slug: String },
    /// The org's slug was renamed: the same path under its new slug (`to`),
    /// shown only to a member of the org (anyone else gets `NotFound`).
    #[error("moved permanently")]
    Moved { to: String },
    /// The org was disabled by the platform's operators: its pages and keys
    /// are refused (shown only to its members; anyone else gets `NotFound`).
    #[error("organization disabled")]
    OrgDisabled,
    /// The user must change their password before anything else.
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("database: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("session: {0}")]
    Session(#[from] SessionError),
    /// The form kept for after sudo mode could not be encoded.
    #[error("keeping the form: {0}")]
    Stash(#[from] serde_json::Error),
}
