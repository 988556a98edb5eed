//! The proofs: values that say an authorization check has passed, and who
//! passed it. Data functions take them instead of raw ids, so a query cannot
//! run for someone the check did not admit.
//!
//! Invariant: every field is private and every constructor is
//! `pub(in crate::authz)`, so only the extractors of `authz` (which run the
//! checks) can make one; nothing else in the crate, and no test, can write
//! one by struct literal. The getters hand out the checked facts.
//!
//! This file holds only the types the storage layer takes as parameters; it
//! imports nothing but `domain`, so `db` can depend on it without depending
//! on the extractors.

use uuid::Uuid;

use crate::domain::{OrgRole, Permission, PermissionSet};

/// Proof that the request comes from a signed-in, enabled user.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    id: Uuid,
    email: String,
    display_name: String,
    is_operator: bool,
    email_verified: bool,
}

impl CurrentUser {
    pub(in crate::authz) fn new(
        id: Uuid,
        email: String,
        display_name: String,
        is_operator: bool,
    ) -> Self {
        Self {
            id,
            email,
            display_name,
            is_operator,
            email_verified: false,
        }
    }

    /// Whether the user has proven control of their address (as loaded).
    pub(in crate::authz) fn with_email_verified(mut self, verified: bool) -> Self {
        self.email_verified = verified;
        self
    }

    pub fn email_verified(&self) -> bool {
        self.email_verified
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn email(&self) -> &str {
        &self.email
    }
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
    pub fn is_operator(&self) -> bool {
        self.is_operator
    }
}

/// Proof that the request comes with a person's API key holding
/// `keys:write`: it may make and rotate that person's keys, within its own
/// reach (the handler checks the limits; the storage functions write only
/// for `user_id`, bound to `org_id`).
#[derive(Debug, Clone)]
pub struct KeyMinter {
    user: CurrentUser,
    key_id: Uuid,
    public_id: String,
    org_id: Option<Uuid>,
}

impl KeyMinter {
    pub(in crate::authz) fn new(
        user: CurrentUser,
        key_id: Uuid,
        public_id: String,
        org_id: Option<Uuid>,
    ) -> Self {
        Self {
            user,
            key_id,
            public_id,
            org_id,
        }
    }
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    /// The key that makes keys.
    pub fn key_id(&self) -> Uuid {
        self.key_id
    }
    pub fn public_id(&self) -> &str {
        &self.public_id
    }
    /// The org the minting key is bound to; its keys are bound to it too.
    pub fn org_id(&self) -> Option<Uuid> {
        self.org_id
    }
}

/// Proof that the session is in sudo mode now.
#[derive(Debug, Clone)]
pub struct SudoUser {
    user: CurrentUser,
    until: i64,
}

impl SudoUser {
    pub(in crate::authz) fn new(user: CurrentUser, until: i64) -> Self {
        Self { user, until }
    }
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }
    /// When the sudo window closes (unix seconds).
    pub fn until(&self) -> i64 {
        self.until
    }
}

impl std::ops::Deref for SudoUser {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

/// Proof that the user has MFA on.
#[derive(Debug, Clone)]
pub struct MfaEnrolled<'a>(&'a CurrentUser);

impl<'a> MfaEnrolled<'a> {
    pub(in crate::authz) fn new(user: &'a CurrentUser) -> Self {
        Self(user)
    }
    pub fn user(&self) -> &'a CurrentUser {
        self.0
    }
}

/// Who holds an org scope: a member (a person) or one of the org's service
/// accounts (through its API key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    User(Uuid),
    ServiceAccount(Uuid),
}

impl Principal {
    /// The user id, for a person.
    pub fn user_id(self) -> Option<Uuid> {
        match self {
            Principal::User(id) => Some(id),
            Principal::ServiceAccount(_) => None,
        }
    }
}

/// The org a scope is for, with the policies that bind its members.
#[derive(Debug, Clone)]
pub(in crate::authz) struct OrgFacts {
    pub(in crate::authz) org_id: Uuid,
    pub(in crate::authz) slug: String,
    pub(in crate::authz) name: String,
    pub(in crate::authz) require_mfa: bool,
    pub(in crate::authz) require_passkey: bool,
    pub(in crate::authz) max_key_lifetime_days: Option<i64>,
}

/// Proof that `principal` belongs to one org, with its role there and the
/// org's policies. Every org-scoped query filters by `org_id()`.
#[derive(Debug, Clone)]
pub struct OrgScope {
    principal: Principal,
    role: OrgRole,
    org: OrgFacts,
}

impl OrgScope {
    pub(in crate::authz) fn new(principal: Principal, role: OrgRole, org: OrgFacts) -> Self {
        Self {
            principal,
            role,
            org,
        }
    }

    /// Who was admitted: "act on myself" operations act on this, never on an
    /// id from the request.
    pub fn principal(&self) -> Principal {
        self.principal
    }
    pub fn org_id(&self) -> Uuid {
        self.org.org_id
    }
    pub fn slug(&self) -> &str {
        &self.org.slug
    }
    pub fn name(&self) -> &str {
        &self.org.name
    }
    pub fn role(&self) -> OrgRole {
        self.role
    }
    pub fn is_owner(&self) -> bool {
        self.role == OrgRole::Owner
    }
    /// The org's policy: members must have MFA on (implied by
    /// `require_passkey`).
    pub fn require_mfa(&self) -> bool {
        self.org.require_mfa || self.org.require_passkey
    }
    /// The org's policy: members must have a passkey (a phishing-resistant
    /// factor).
    pub fn require_passkey(&self) -> bool {
        self.org.require_passkey
    }
    /// The org's policy: the longest lifetime a key bound to it may have.
    pub fn max_key_lifetime_days(&self) -> Option<i64> {
        self.org.max_key_lifetime_days
    }
}

/// Proof of owner-level authority in one org: acting on *other* members.
#[derive(Debug, Clone)]
pub struct OwnerScope(OrgScope);

impl OwnerScope {
    /// Only for a scope whose holder has earned owner authority (an owner, or
    /// an org's service account); the extractors decide.
    pub(in crate::authz) fn new(scope: OrgScope) -> Self {
        Self(scope)
    }
}

impl std::ops::Deref for OwnerScope {
    type Target = OrgScope;
    fn deref(&self) -> &OrgScope {
        &self.0
    }
}

/// Proof that the holder is an owner of one *deleted* org that is still in
/// its restore window: all it allows is restoring that org (the live-org
/// proofs are never minted for a deleted org).
#[derive(Debug, Clone)]
pub struct DeletedOrgScope {
    user_id: Uuid,
    org_id: Uuid,
    slug: String,
    name: String,
}

impl DeletedOrgScope {
    pub(in crate::authz) fn new(user_id: Uuid, org_id: Uuid, slug: String, name: String) -> Self {
        Self {
            user_id,
            org_id,
            slug,
            name,
        }
    }
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }
    pub fn slug(&self) -> &str {
        &self.slug
    }
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Proof of platform-wide (cross-tenant) authority: held by an `Operator`, a
/// `MasterKey`, or the command line. Data functions that look across
/// organizations take it.
#[derive(Debug, Clone)]
pub struct PlatformScope {
    _private: (),
}

impl PlatformScope {
    pub(in crate::authz) fn new() -> Self {
        Self { _private: () }
    }

    /// The command line (`gatehouse operator …`, `gatehouse master-key …`):
    /// whoever runs it holds the database URL, which is already total
    /// authority over every tenant, so there is nothing further to check.
    /// Never call this from a request path.
    pub fn for_command_line() -> Self {
        Self::new()
    }

    /// A leaked-key report (`api::secret_scanning`) looks a reported token up
    /// among the master keys and revokes it when it matches. The reporter is
    /// anonymous, but presenting a key's full secret is authority enough to
    /// end that one key — anyone holding it could do worse with it — and the
    /// report learns nothing either way. Never use it for anything else.
    pub fn unchecked_for_leak_report() -> Self {
        Self::new()
    }
}

/// A platform operator in sudo mode.
#[derive(Debug, Clone)]
pub struct Operator {
    user: CurrentUser,
    sudo_until: i64,
    has_mfa: bool,
    scope: PlatformScope,
}

impl Operator {
    pub(in crate::authz) fn new(
        has_mfa: bool,
        user: CurrentUser,
        sudo_until: i64,
        scope: PlatformScope,
    ) -> Self {
        Self {
            user,
            sudo_until,
            has_mfa,
            scope,
        }
    }

    pub fn user(&self) -> &CurrentUser {
        &self.user
    }

    /// When the sudo window closes (unix seconds).
    pub fn sudo_until(&self) -> i64 {
        self.sudo_until
    }

    /// Whether the operator has MFA on; the console asks them to enrol when not.
    pub fn has_mfa(&self) -> bool {
        self.has_mfa
    }

    pub fn scope(&self) -> &PlatformScope {
        &self.scope
    }
}

impl std::ops::Deref for Operator {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

/// Where one permission of a `WorkspaceScope` comes from: the answer to "why
/// may I do this?" (permission ← role ← team, or owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionSource {
    /// Owners hold every permission in every workspace of their org.
    Owner,
    /// A role granted on the workspace to a team the principal is on.
    Team {
        team_id: Uuid,
        team_name: String,
        role_id: Uuid,
        role_name: String,
        permissions: PermissionSet,
    },
}

/// The workspace a scope is for.
#[derive(Debug, Clone)]
pub(in crate::authz) struct WorkspaceFacts {
    pub(in crate::authz) id: Uuid,
    pub(in crate::authz) slug: String,
    pub(in crate::authz) name: String,
    pub(in crate::authz) description: String,
    pub(in crate::authz) archived: bool,
}

/// Proof that the holder of `org` may see one workspace of that org, with
/// what it may do there *now* (for a key: its scopes ∩ its principal's
/// permissions). Every workspace-scoped query filters by `workspace_id()`
/// and the org's id, so a resource id of another workspace matches nothing.
#[derive(Debug, Clone)]
pub struct WorkspaceScope {
    org: OrgScope,
    workspace: WorkspaceFacts,
    permissions: PermissionSet,
    sources: Vec<PermissionSource>,
}

impl WorkspaceScope {
    pub(in crate::authz) fn new(
        org: OrgScope,
        workspace: WorkspaceFacts,
        permissions: PermissionSet,
        sources: Vec<PermissionSource>,
    ) -> Self {
        Self {
            org,
            workspace,
            permissions,
            sources,
        }
    }

    pub fn org(&self) -> &OrgScope {
        &self.org
    }
    pub fn org_id(&self) -> Uuid {
        self.org.org_id()
    }
    pub fn workspace_id(&self) -> Uuid {
        self.workspace.id
    }
    pub fn slug(&self) -> &str {
        &self.workspace.slug
    }
    pub fn name(&self) -> &str {
        &self.workspace.name
    }
    pub fn description(&self) -> &str {
        &self.workspace.description
    }
    /// An archived workspace is read-only: its scopes hold reads only.
    pub fn is_archived(&self) -> bool {
        self.workspace.archived
    }
    /// What the holder may do here now.
    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }
    pub fn allows(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }
    /// Where the principal's permissions come from (before a key's scopes
    /// narrow them).
    pub fn sources(&self) -> &[PermissionSource] {
        &self.sources
    }
}

/// Proof that a `WorkspaceScope` holds the permission `P` (see
/// `RequiredPermission`, below); write functions of the storage
/// layer take the one they need, so a handler that did not check cannot call
/// them.
#[derive(Debug, Clone)]
pub struct Allowed<P> {
    scope: WorkspaceScope,
    _permission: std::marker::PhantomData<P>,
}

impl<P> Allowed<P> {
    pub(in crate::authz) fn new(scope: WorkspaceScope) -> Self {
        Self {
            scope,
            _permission: std::marker::PhantomData,
        }
    }
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }
}

impl<P> std::ops::Deref for Allowed<P> {
    type Target = WorkspaceScope;
    fn deref(&self) -> &WorkspaceScope {
        &self.scope
    }
}

/// Proof that a `WorkspaceScope` holds the write permission of one resource
/// kind (`agents:write` for agents, …): what the storage layer's resource
/// writes take, since a resource's kind is a value of the row. Minted only
/// by `authz::resource` from an `Allowed<P>` of that kind's write permission
/// (or a runtime check of it), so a handler that did not check cannot write.
#[derive(Debug, Clone)]
pub struct WriteProof {
    scope: WorkspaceScope,
    kind: crate::domain::ResourceKind,
}

impl WriteProof {
    pub(in crate::authz) fn new(scope: WorkspaceScope, kind: crate::domain::ResourceKind) -> Self {
        Self { scope, kind }
    }
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }
    /// The kind whose write permission was checked.
    pub fn kind(&self) -> crate::domain::ResourceKind {
        self.kind
    }
}

/// Proof that a `WorkspaceScope` holds the `:read` of every resource kind:
/// what exporting, planning and the snapshots of a workspace's whole
/// configuration need (a bundle shows every kind). Minted only by
/// `authz::resource::check_config_read`.
#[derive(Debug, Clone)]
pub struct ConfigRead {
    scope: WorkspaceScope,
}

impl ConfigRead {
    pub(in crate::authz) fn new(scope: WorkspaceScope) -> Self {
        Self { scope }
    }
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }
}

/// Proof that a `ConfigRead` holder also holds the `:write` of each of
/// `kinds`: what applying a bundle that touches those kinds needs. Minted
/// only by `authz::resource::check_config_write`; the storage refuses any
/// change to a kind outside the list.
#[derive(Debug, Clone)]
pub struct ConfigWrite {
    scope: WorkspaceScope,
    kinds: Vec<crate::domain::ResourceKind>,
}

impl ConfigWrite {
    pub(in crate::authz) fn new(
        scope: WorkspaceScope,
        kinds: Vec<crate::domain::ResourceKind>,
    ) -> Self {
        Self { scope, kinds }
    }
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }
    /// Whether the write permission of `kind` was checked.
    pub fn may_write(&self, kind: crate::domain::ResourceKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// Names the permission a route needs.
pub trait RequiredPermission: Send + Sync {
    const PERMISSION: Permission;
}

/// One marker type per permission of the catalog.
pub mod perm {
    use super::RequiredPermission;
    use crate::domain::Permission;

    macro_rules! permission_marker {
        ($($name:ident => $p:expr),* $(,)?) => {$(
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl RequiredPermission for $name {
                const PERMISSION: Permission = $p;
            }
        )*};
    }

    permission_marker! {
        AgentsRead => Permission::AgentsRead,
        AgentsWrite => Permission::AgentsWrite,
        AgentsRun => Permission::AgentsRun,
        ToolsRead => Permission::ToolsRead,
        ToolsWrite => Permission::ToolsWrite,
        McpRead => Permission::McpRead,
        McpWrite => Permission::McpWrite,
        SchedulesRead => Permission::SchedulesRead,
        SchedulesWrite => Permission::SchedulesWrite,
        RunsRead => Permission::RunsRead,
        RunsWrite => Permission::RunsWrite,
    }
}

/// Proof that a request carries a live SCIM token of one org: the identity
/// provider's authority over that org's memberships and teams, and nothing
/// else. Every SCIM query filters by `org_id()`, so an id of another org is
/// simply not found.
#[derive(Debug, Clone)]
pub struct ScimScope {
    org_id: Uuid,
    slug: String,
    token_id: Uuid,
    token_name: String,
}

impl ScimScope {
    pub(in crate::authz) fn new(
        org_id: Uuid,
        slug: String,
        token_id: Uuid,
        token_name: String,
    ) -> Self {
        Self {
            org_id,
            slug,
            token_id,
            token_name,
        }
    }
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }
    pub fn slug(&self) -> &str {
        &self.slug
    }
    pub fn token_id(&self) -> Uuid {
        self.token_id
    }
    /// The token's name, as its owner gave it (audit records carry it).
    pub fn token_name(&self) -> &str {
        &self.token_name
    }
}
