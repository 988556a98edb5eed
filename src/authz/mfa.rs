//! The page-level MFA requirement: the hook an organization policy ("members
//! must have MFA") uses to send a user without MFA to enrolment before
//! anything else.
//!
//! A handler that must not serve a user without MFA calls `require_mfa` first
//! thing, with the proof it already holds:
//!
//! ```ignore
//! pub async fn show_org(State(state): State<AppState>, member: OrgMember) -> Result<Response, AppError> {
//!     if org_requires_mfa { require_mfa(&state, &member.user).await?; }
//!     ...
//! }
//! ```
//!
//! The error answers with a redirect to the enrolment page, which itself asks
//! for sudo mode first; once MFA is on the person can come back.

use crate::app::AppState;
use crate::authz::CurrentUser;
use crate::error::AppError;

/// Where a user without MFA is sent.
pub const ENROLMENT_PAGE: &str = "/account/security/mfa/setup";

/// Proof that the user has MFA on.
#[derive(Debug, Clone)]
pub struct MfaEnrolled<'a>(pub &'a CurrentUser);

/// `Ok` when `user` has MFA on; otherwise `AppError::MfaEnrolmentRequired`,
/// which redirects to enrolment.
pub async fn require_mfa<'a>(
    state: &AppState,
    user: &'a CurrentUser,
) -> Result<MfaEnrolled<'a>, AppError> {
    if state.db.user_has_mfa(user.id).await? {
        Ok(MfaEnrolled(user))
    } else {
        Err(AppError::MfaEnrolmentRequired)
    }
}
