//! The MFA requirement behind an organization's "members must use MFA"
//! policy. `require_mfa` is called by the org extractors (`org::OrgMember`,
//! and so `OrgOwner`) — not by handlers — so every page and form under
//! `/orgs/{slug}` of such an org gets the check before anything else runs.
//! (`org::unchecked_member_scope` says why the keys page does without it.)
//!
//! The refusal (`Denied::MfaEnrolmentRequired`) answers with a redirect to
//! the enrolment page (`paths::MFA_ENROLMENT`), which itself asks for sudo
//! mode first; once MFA is on the person can come back.

use crate::authz::{CurrentUser, Denied, MfaEnrolled};
use crate::state::AppState;

/// `Ok` when `user` has MFA on; otherwise `Denied::MfaEnrolmentRequired`.
pub async fn require_mfa<'a>(
    state: &AppState,
    user: &'a CurrentUser,
) -> Result<MfaEnrolled<'a>, Denied> {
    if state.db.user_has_mfa(user.id()).await? {
        Ok(MfaEnrolled::new(user))
    } else {
        Err(Denied::MfaEnrolmentRequired)
    }
}

/// `Ok` when `user` has a passkey; otherwise `Denied::PasskeyRequired`
/// naming the org `slug` whose policy asks for it.
pub async fn require_passkey<'a>(
    state: &AppState,
    user: &'a CurrentUser,
    slug: &str,
) -> Result<MfaEnrolled<'a>, Denied> {
    if state.db.user_has_passkey(user.id()).await? {
        Ok(MfaEnrolled::new(user))
    } else {
        Err(Denied::PasskeyRequired {
            slug: slug.to_owned(),
        })
    }
}
