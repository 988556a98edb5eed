//! `OrgMemberLeaving`: the proof for one route only, a member leaving the
//! org of the URL (`POST /orgs/{slug}/leave`).
//!
//! It checks membership like `OrgMember` but *not* the org's "require
//! two-factor authentication" policy. That policy sends a member without MFA
//! to enrolment before anything else; applied to leaving, it would keep
//! someone in an org they want out of until they enrol a second factor for
//! it. Skipping it is safe here because leaving reads nothing of the org and
//! only takes the caller's own access away ("act on myself"): the data
//! function it opens removes the caller and no one else.
//!
//! Invariant: its fields are private and only this extractor builds it, so no
//! other handler can reach the org without the policy by naming it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::authz::org::{slug_of, unchecked_member_scope};
use crate::authz::{CurrentUser, Denied, OrgScope};
use crate::state::AppState;

/// A signed-in member of the org in the URL, admitted *to leave it* whether
/// or not they meet its MFA policy.
#[derive(Debug, Clone)]
pub struct OrgMemberLeaving {
    user: CurrentUser,
    scope: OrgScope,
}

impl OrgMemberLeaving {
    pub fn into_parts(self) -> (CurrentUser, OrgScope) {
        (self.user, self.scope)
    }
}

impl FromRequestParts<AppState> for OrgMemberLeaving {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Denied> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let slug = slug_of(parts, state).await?;
        // Membership is checked; the MFA policy is deliberately not (above).
        let scope = unchecked_member_scope(state, &user, &slug)
            .await?
            .ok_or(Denied::NotFound)?;
        Ok(OrgMemberLeaving { user, scope })
    }
}
