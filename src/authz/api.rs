//! Bearer API keys for `/v1`. `ApiKeyAuth<S>` authenticates the key in the
//! `Authorization` header and proves it holds the scope named by `S`, so an
//! endpoint's required scope is part of its signature. Cookies are never read
//! here: the JSON API has no CSRF surface.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde_json::json;
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::auth::api_key::{FormatError, Presented};
use crate::auth::limits::Bucket;
use crate::auth::quota::{QuotaPolicy, QuotaSlot};
use crate::authz::org::scope_from_row;
use crate::authz::{CurrentUser, Denied, OrgScope, OwnerScope, Principal};
use crate::db::audit::{Actor, Event};
use crate::db::users::User;
use crate::domain::{Scope, Scopes};
use crate::request::ClientInfo;
use crate::state::AppState;

/// The page-level refusals have no JSON counterpart of their own; an API
/// extractor that meets one answers with the nearest API code. (Kept here,
/// beside the API extractors, so that `api::error` need not import `authz`.)
impl From<Denied> for ApiError {
    fn from(e: Denied) -> Self {
        match e {
            // The API finds an org by its key's binding, not by a held slug.
            Denied::NotFound | Denied::Moved { .. } => ApiError::NotFound,
            Denied::MissingPermission(permission) => ApiError::InsufficientPermission {
                permission,
                key_has_it: true,
            },
            Denied::Forbidden
            | Denied::SudoRequired { .. }
            | Denied::MfaEnrolmentRequired
            | Denied::PasskeyRequired { .. }
            | Denied::PasswordChangeRequired => ApiError::Forbidden {
                code: "forbidden",
                message: "This key may not do this.",
            },
            Denied::OrgDisabled => ApiError::org_disabled(),
            Denied::Unauthenticated { .. } => ApiError::unauthorized(
                "missing_token",
                "Send an API key as `Authorization: Bearer <key>`.",
            ),
            e @ (Denied::Storage(_) | Denied::Session(_) | Denied::Stash(_)) => {
                ApiError::Internal(e.into())
            }
        }
    }
}

/// `last_used` is written at most this often per key.
const LAST_USED_INTERVAL_SECS: i64 = 60;

/// Who a key belongs to, as loaded with it.
#[derive(Debug, Clone)]
pub enum KeyOwner {
    /// A person's key (their profile).
    User(User),
    /// A service account's key; always bound to the account's org.
    ServiceAccount { id: Uuid, name: String },
}

/// The authenticated key and its owner.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    key_id: Uuid,
    public_id: String,
    name: String,
    scopes: Scopes,
    created_at: i64,
    expires_at: Option<i64>,
    org_id: Option<Uuid>,
    owner: KeyOwner,
}

impl ApiPrincipal {
    pub fn key_id(&self) -> Uuid {
        self.key_id
    }
    pub fn public_id(&self) -> &str {
        &self.public_id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }
    pub fn created_at(&self) -> i64 {
        self.created_at
    }
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }
    /// The org the key is bound to, if any.
    pub fn org_id(&self) -> Option<Uuid> {
        self.org_id
    }
    pub fn owner(&self) -> &KeyOwner {
        &self.owner
    }

    /// The owning user, for a personal key.
    pub fn user(&self) -> Option<&User> {
        match &self.owner {
            KeyOwner::User(u) => Some(u),
            KeyOwner::ServiceAccount { .. } => None,
        }
    }

    /// The owner as the proof self-service data functions take, for a
    /// personal key (`None` for a service account's). The operator flag is
    /// never carried over: a key does not hold platform authority.
    pub fn owner_proof(&self) -> Option<CurrentUser> {
        self.user()
            .map(|u| CurrentUser::new(u.id, u.email.clone(), u.display_name.clone(), false))
    }

    pub fn actor(&self) -> Actor {
        match &self.owner {
            KeyOwner::User(u) => Actor::User {
                id: u.id,
                email: u.email.clone(),
            },
            KeyOwner::ServiceAccount { id, name } => Actor::ServiceAccount {
                id: *id,
                name: name.clone(),
            },
        }
    }
}

/// Names the scope an endpoint needs.
pub trait RequiredScope: Send + Sync {
    /// `None` for an endpoint any valid key may call (`scopes::AnyScope`).
    const SCOPE: Option<Scope>;
}

pub mod scopes {
    use super::RequiredScope;
    use crate::domain::Scope;

    macro_rules! scope_marker {
        ($($name:ident => $scope:expr),* $(,)?) => {$(
            #[derive(Debug)]
            pub struct $name;
            impl RequiredScope for $name {
                const SCOPE: Option<Scope> = Some($scope);
            }
        )*};
    }

    /// No scope: for what a key may always ask about itself, e.g. the
    /// workspaces granted to it (what it may do in each is still its scopes
    /// ∩ its principal's permissions there).
    #[derive(Debug)]
    pub struct AnyScope;
    impl RequiredScope for AnyScope {
        const SCOPE: Option<Scope> = None;
    }

    scope_marker! {
        ProfileRead => Scope::ProfileRead,
        ProfileWrite => Scope::ProfileWrite,
        KeysRead => Scope::KeysRead,
        KeysWrite => Scope::KeysWrite,
        MembersRead => Scope::MembersRead,
        MembersWrite => Scope::MembersWrite,
        AuditRead => Scope::AuditRead,
        OrgAdmin => Scope::OrgAdmin,
        TeamsRead => Scope::TeamsRead,
        TeamsWrite => Scope::TeamsWrite,
    }
}

/// A valid key holding scope `S`.
#[derive(Debug)]
pub struct ApiKeyAuth<S> {
    principal: ApiPrincipal,
    _scope: PhantomData<S>,
}

impl<S> std::ops::Deref for ApiKeyAuth<S> {
    type Target = ApiPrincipal;
    fn deref(&self) -> &ApiPrincipal {
        &self.principal
    }
}

async fn reject(
    state: &AppState,
    client: &ClientInfo,
    key_id: Uuid,
    reason: &'static str,
    now: i64,
) -> ApiError {
    // Use of an expired, revoked or rotated-out key is worth knowing about.
    let event = Event::by(Actor::Anonymous)
        .did("api_key.rejected")
        .on("api_key", key_id)
        .detail(json!({ "reason": reason }))
        .from(&client.origin());
    if let Err(e) = state.db.record_event(&event, now).await {
        return ApiError::from(e);
    }
    let message = match reason {
        "token_expired" => "This key has expired.",
        "token_revoked" => "This key has been revoked.",
        _ => "This secret was replaced by a rotation and its grace period is over.",
    };
    ApiError::unauthorized(reason, message)
}

/// Counts the request against the quota of `bucket` (one key), once per
/// request: 429 `rate_limited` when the window's quota is spent. The state
/// goes into the request's `QuotaSlot`, from which the `/v1` layer writes the
/// `RateLimit` headers on every answer. Charged only after the key proved
/// itself, so a stranger who knows a key's public id cannot spend its quota.
pub(crate) async fn charge_quota(
    parts: &Parts,
    state: &AppState,
    bucket: &Bucket,
) -> Result<(), ApiError> {
    let policy = QuotaPolicy {
        limit: bucket.limit(),
        window_secs: bucket.window_secs(),
    };
    let slot = parts.extensions.get::<QuotaSlot>();
    if let Some(done) = slot.and_then(|s| s.0.get()) {
        return if done.limited {
            Err(ApiError::TooManyRequests {
                retry_after: done.reset_secs.max(1) as u64,
            })
        } else {
            Ok(())
        };
    }
    let quota = state
        .quotas
        .take(&state.db, bucket.name(), policy, state.clock.unix())
        .await?;
    if let Some(slot) = slot {
        let _ = slot.0.set(quota);
    }
    if quota.limited {
        return Err(ApiError::TooManyRequests {
            retry_after: quota.reset_secs.max(1) as u64,
        });
    }
    Ok(())
}

/// The key a request presents: `Authorization: Bearer <key>`, or else
/// `X-API-Key: <key>` (what the platform's existing clients send). When both
/// are sent, Authorization wins: one request never carries two identities.
pub(crate) fn presented_key<'a>(parts: &'a Parts, what: &str) -> Result<&'a str, ApiError> {
    if let Some(header) = parts.headers.get(header::AUTHORIZATION) {
        return header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::unauthorized(
                "malformed_token",
                "The Authorization header must be `Bearer <key>`.",
            ));
    }
    if let Some(header) = parts.headers.get(X_API_KEY) {
        return header
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::unauthorized(
                "malformed_token",
                "The X-API-Key header must hold the key alone.",
            ));
    }
    Err(ApiError::unauthorized(
        "missing_token",
        match what {
            "a master key" => {
                "Send a master key as `Authorization: Bearer <key>` or `X-API-Key: <key>`."
            }
            _ => "Send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
        },
    ))
}

/// The header the platform's existing clients send their key in.
pub(crate) const X_API_KEY: &str = "x-api-key";

/// Authenticates the key of a request (either header).
pub async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<ApiPrincipal, ApiError> {
    let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
    let token = presented_key(parts, "an API key")?;
    let presented = Presented::parse(token).map_err(|e| match e {
        FormatError::Malformed => {
            ApiError::unauthorized("malformed_token", "This is not a Gatehouse API key.")
        }
        FormatError::BadChecksum => ApiError::unauthorized(
            "invalid_checksum",
            "The key's checksum does not match: it was mistyped or truncated.",
        ),
    })?;
    let invalid = || ApiError::unauthorized("invalid_token", "This key is not valid.");
    let creds = state
        .db
        .key_credentials(presented.public_id)
        .await?
        .ok_or_else(invalid)?;
    let now = state.clock.unix();

    let current = presented.matches(&creds.secret_digest);
    let previous = creds
        .previous_digest
        .as_deref()
        .is_some_and(|d| presented.matches(d));
    if !current && !previous {
        return Err(invalid());
    }
    if creds.revoked_at.is_some() {
        return Err(reject(state, &client, creds.id, "token_revoked", now).await);
    }
    if creds.expires_at.is_some_and(|e| e <= now) {
        return Err(reject(state, &client, creds.id, "token_expired", now).await);
    }
    if !current && creds.previous_valid_until.is_none_or(|until| until <= now) {
        return Err(reject(state, &client, creds.id, "token_rotated", now).await);
    }
    if creds.owner_disabled_at.is_some() {
        return Err(ApiError::unauthorized(
            "account_disabled",
            "The owner of this key is disabled.",
        ));
    }
    // Deleting a service account revokes its keys in the same transaction;
    // this check holds even for a key that somehow escaped that.
    if creds.service_account_id.is_some() && creds.sa_deleted_at.is_some() {
        return Err(reject(state, &client, creds.id, "token_revoked", now).await);
    }
    // A deleted org's keys stop at once (and work again if it is restored
    // within its 30 days): checked on every request, nothing is revoked.
    if creds.org_disabled_at.is_some() {
        return Err(ApiError::org_disabled());
    }
    if creds.org_deleted_at.is_some() {
        return Err(ApiError::Forbidden {
            code: "org_disabled",
            message: "The organization this key is bound to has been deleted; an owner can \
                      restore it within 30 days.",
        });
    }
    charge_quota(parts, state, &Bucket::api_key(&state.config, creds.id)).await?;
    if creds
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_INTERVAL_SECS)
    {
        state.db.mark_key_used(creds.id, &client.ip, now).await?;
    }
    let owner = match (creds.owner(), creds.service_account_id, &creds.sa_name) {
        (Some(user), _, _) => KeyOwner::User(user),
        (None, Some(id), Some(name)) if creds.sa_org_id == creds.org_id => {
            KeyOwner::ServiceAccount {
                id,
                name: name.clone(),
            }
        }
        // The CHECK constraint makes this unreachable; fail closed anyway.
        _ => return Err(invalid()),
    };
    Ok(ApiPrincipal {
        owner,
        key_id: creds.id,
        public_id: creds.public_id,
        name: creds.name,
        scopes: Scopes::from_stored(&creds.scopes),
        created_at: creds.created_at,
        expires_at: creds.expires_at,
        org_id: creds.org_id,
    })
}

impl<S: RequiredScope> FromRequestParts<AppState> for ApiKeyAuth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(parts, state).await?;
        if let Some(scope) = S::SCOPE
            && !principal.scopes.contains(scope)
        {
            return Err(ApiError::InsufficientScope(scope));
        }
        Ok(ApiKeyAuth {
            principal,
            _scope: PhantomData,
        })
    }
}

/// A valid *personal* key holding scope `S`, with its owner: for endpoints
/// that act for a person (`/v1/me`). A service account's key is refused with
/// 403 `service_account_key`.
#[derive(Debug)]
pub struct UserKeyAuth<S> {
    principal: ApiPrincipal,
    user: User,
    _scope: PhantomData<S>,
}

impl<S> UserKeyAuth<S> {
    /// The key's owner, as loaded with the key.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The owner, as the proof self-service data functions take: a key acts
    /// for its owner and never for anyone else (`ApiPrincipal::owner_proof`).
    pub fn owner_proof(&self) -> CurrentUser {
        CurrentUser::new(
            self.user.id,
            self.user.email.clone(),
            self.user.display_name.clone(),
            false,
        )
        .with_email_verified(self.user.email_verified_at.is_some())
    }
}

impl UserKeyAuth<scopes::KeysWrite> {
    /// The proof the key-management API makes keys with.
    pub fn minter(&self) -> crate::authz::proof::KeyMinter {
        crate::authz::proof::KeyMinter::new(
            self.owner_proof(),
            self.principal.key_id,
            self.principal.public_id.clone(),
            self.principal.org_id,
        )
    }
}

impl<S> std::ops::Deref for UserKeyAuth<S> {
    type Target = ApiPrincipal;
    fn deref(&self) -> &ApiPrincipal {
        &self.principal
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for UserKeyAuth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiKeyAuth { principal, .. } =
            ApiKeyAuth::<S>::from_request_parts(parts, state).await?;
        let user = principal.user().cloned().ok_or(ApiError::Forbidden {
            code: "service_account_key",
            message: "This endpoint acts for a person; a service account's key cannot use it.",
        })?;
        Ok(UserKeyAuth {
            principal,
            user,
            _scope: PhantomData,
        })
    }
}

/// A valid key holding scope `S`, bound to the org named by `{slug}` in the
/// path: the API's counterpart of `OrgMember`. The org is resolved once, here,
/// from the key's binding and — for a personal key — the owner's *current*
/// membership, so the same scope-taking db functions serve pages and API.
///
/// - an unbound key: 403 `key_not_bound` (the same answer for every slug, so
///   nothing about other orgs is revealed);
/// - a key bound to another org, or whose owner has left this one: 404;
/// - owner-level operations (`owner_scope`) need the key of a current owner:
///   a person who is an owner now, or a service account whose org role is
///   `owner`;
/// - team-scoped data: only the teams in `teams()` — granted to the key, live,
///   and (for a personal key) teams the owner is on right now.
#[derive(Debug)]
pub struct ApiOrgKey<S> {
    principal: ApiPrincipal,
    scope: OrgScope,
    owner: Option<OwnerScope>,
    teams: Vec<Uuid>,
    _scope: PhantomData<S>,
}

impl<S> ApiOrgKey<S> {
    pub fn principal(&self) -> &ApiPrincipal {
        &self.principal
    }

    /// The member-level proof: the key's owner (a person or a service
    /// account) in the key's org.
    pub fn scope(&self) -> &OrgScope {
        &self.scope
    }

    /// The owner-level proof, or 403 `owner_required`.
    pub fn owner_scope(&self) -> Result<&OwnerScope, ApiError> {
        self.owner.as_ref().ok_or(ApiError::Forbidden {
            code: "owner_required",
            message: "This key's owner is not an owner of the organization.",
        })
    }

    /// The teams this request may reach.
    pub fn teams(&self) -> &[Uuid] {
        &self.teams
    }

    pub fn may_reach_team(&self, team_id: Uuid) -> bool {
        self.teams.contains(&team_id)
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for ApiOrgKey<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiKeyAuth { principal, .. } =
            ApiKeyAuth::<S>::from_request_parts(parts, state).await?;
        let slug = crate::authz::org::slug_of(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let Some(bound_to) = principal.org_id else {
            return Err(ApiError::Forbidden {
                code: "key_not_bound",
                message: "This key is not bound to an organization.",
            });
        };
        let (principal_id, row) = match &principal.owner {
            KeyOwner::User(user) => {
                let Some(row) = state
                    .db
                    .key_membership_by_slug(user.id, bound_to, &slug)
                    .await?
                else {
                    return Err(ApiError::NotFound);
                };
                // The org's "require two-factor authentication" policy binds
                // a member's keys as it binds their pages: otherwise a member
                // kept out of `/orgs/{slug}` could do the same through `/v1`.
                // Checked after membership, so only a member learns of it.
                if row.membership.require_mfa && !row.has_mfa {
                    return Err(ApiError::Forbidden {
                        code: "mfa_required",
                        message: "This organization requires two-factor authentication (its \
                                  policy \"Require two-factor authentication for members\" \
                                  applies to API keys), or a passkey where it requires a \
                                  phishing-resistant factor: the key's owner must add it.",
                    });
                }
                (Principal::User(user.id), Some(row.membership))
            }
            // A service account is exempt: no person stands behind it to hold
            // a second factor, and it is created, bounded and deleted by the
            // org's owners, who pass the policy themselves.
            KeyOwner::ServiceAccount { id, .. } => (
                Principal::ServiceAccount(*id),
                state.db.org_by_binding(*id, bound_to, &slug).await?,
            ),
        };
        let scope = row
            .and_then(|row| scope_from_row(principal_id, row))
            .ok_or(ApiError::NotFound)?;
        // Owner authority follows the principal's own org role: a person's
        // membership, or a service account's `role` (member by default; an
        // owner makes one an owner, in sudo, for automation that administers
        // the org).
        let owner = scope.is_owner().then(|| OwnerScope::new(scope.clone()));
        let teams = state.db.key_team_access(&scope, principal.key_id).await?;
        Ok(ApiOrgKey {
            principal,
            scope,
            owner,
            teams,
            _scope: PhantomData,
        })
    }
}
