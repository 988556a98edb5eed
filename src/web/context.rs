//! The context every page embeds: who is signed in, the CSRF token for its
//! forms, the flash messages to show once, the sudo window and the navigation.

use crate::auth::AppSession;
use crate::auth::session::Flash;
use crate::authz::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::timefmt::clock_time;

/// Which side-navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Public,
    Overview,
    Profile,
    Notifications,
    Security,
    Sessions,
    Keys,
    Export,
    DeleteAccount,
    Orgs,
    OrgOverview,
    OrgMembers,
    OrgTeams,
    OrgWorkspaces,
    OrgRoles,
    OrgInvitations,
    OrgServiceAccounts,
    OrgSettings,
    OrgAudit,
    /// The operator console (`/ops`): its own side navigation.
    Ops(OpsSection),
}

/// Pages of the operator console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpsSection {
    Overview,
    Users,
    Orgs,
    NewAccount,
    Flags,
    MasterKeys,
    Outbox,
    Audit,
}

/// The organization a page belongs to, for the org navigation.
#[derive(Debug, Clone)]
pub struct OrgNav {
    pub slug: String,
    pub name: String,
    pub is_owner: bool,
}

#[derive(Debug, Clone)]
pub struct OrgNavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct NavUser {
    pub display_name: String,
    pub email: String,
    pub is_operator: bool,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct PageContext {
    pub user: Option<NavUser>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    /// "14:32 UTC" while sudo mode is active.
    pub sudo_until: Option<String>,
    pub section: Section,
    pub org: Option<OrgNav>,
    /// On operator console pages: the operator has no MFA yet (a banner asks
    /// them to enrol).
    pub ops_mfa_missing: bool,
    /// The signed-in user has not verified their address: a banner offers
    /// to send the link again.
    pub email_unverified: bool,
}

const ACCOUNT_NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "/account", "Overview"),
    (Section::Profile, "/account/profile", "Profile"),
    (
        Section::Notifications,
        "/account/notifications",
        "Notifications",
    ),
    (Section::Security, "/account/security", "Security"),
    (Section::Sessions, "/account/sessions", "Sessions"),
    (Section::Keys, "/account/keys", "API keys"),
    (Section::Orgs, "/account/orgs", "Organizations"),
    (Section::Export, "/account/export", "Export data"),
    (Section::DeleteAccount, "/account/delete", "Delete account"),
];

const OPS_NAV: &[(OpsSection, &str, &str)] = &[
    (OpsSection::Overview, "/ops", "Overview"),
    (OpsSection::Users, "/ops/users", "Users"),
    (OpsSection::Orgs, "/ops/orgs", "Organizations"),
    (
        OpsSection::NewAccount,
        "/ops/accounts/new",
        "Create an account",
    ),
    (OpsSection::Flags, "/ops/flags", "Feature flags"),
    (OpsSection::MasterKeys, "/ops/master-keys", "Master keys"),
    (OpsSection::Outbox, "/ops/outbox", "Outbox"),
    (OpsSection::Audit, "/ops/audit", "Audit log"),
];

impl PageContext {
    pub async fn new(
        state: &AppState,
        session: &AppSession,
        user: Option<&CurrentUser>,
        section: Section,
    ) -> Result<Self, AppError> {
        let now = state.clock.unix();
        let sudo_until = match user {
            Some(_) => session
                .sudo_until()
                .await?
                .filter(|until| *until > now)
                .map(clock_time),
            None => None,
        };
        Ok(Self {
            user: user.map(|u| NavUser {
                display_name: u.display_name().to_owned(),
                email: u.email().to_owned(),
                is_operator: u.is_operator(),
            }),
            csrf_token: session.csrf_token().await?,
            flashes: session.take_flashes().await?,
            sudo_until,
            section,
            org: None,
            ops_mfa_missing: false,
            email_unverified: user.is_some_and(|u| !u.email_verified()),
        })
    }

    /// The context of a page inside an organization's console.
    pub async fn for_org(
        state: &AppState,
        session: &AppSession,
        user: &CurrentUser,
        scope: &crate::authz::OrgScope,
        section: Section,
    ) -> Result<Self, AppError> {
        let mut ctx = Self::new(state, session, Some(user), section).await?;
        ctx.org = Some(OrgNav {
            slug: scope.slug().to_owned(),
            name: scope.name().to_owned(),
            is_owner: scope.is_owner(),
        });
        Ok(ctx)
    }

    /// The org navigation: owners see every console page, members the
    /// overview of their own teams and the workspaces they reach.
    pub fn org_nav(&self) -> Vec<OrgNavItem> {
        let Some(org) = &self.org else {
            return Vec::new();
        };
        let all: &[(Section, &str, &'static str)] = &[
            (Section::OrgOverview, "", "Organization overview"),
            (Section::OrgMembers, "/members", "Members"),
            (Section::OrgTeams, "/teams", "Teams"),
            (Section::OrgWorkspaces, "/workspaces", "Workspaces"),
            (Section::OrgRoles, "/roles", "Roles"),
            (Section::OrgInvitations, "/invitations", "Invitations"),
            (
                Section::OrgServiceAccounts,
                "/service-accounts",
                "Service accounts",
            ),
            (Section::OrgSettings, "/settings", "Settings"),
            (Section::OrgAudit, "/audit", "Audit log"),
        ];
        all.iter()
            .filter(|(s, _, _)| {
                org.is_owner || matches!(s, Section::OrgOverview | Section::OrgWorkspaces)
            })
            .map(|(s, path, label)| OrgNavItem {
                href: format!("/orgs/{}{}", org.slug, path),
                label,
                current: *s == self.section,
            })
            .collect()
    }

    /// Whether the page belongs to the operator console.
    pub fn in_console(&self) -> bool {
        matches!(self.section, Section::Ops(_))
    }

    /// The title of the side navigation.
    pub fn nav_title(&self) -> &'static str {
        match self.section {
            Section::Ops(_) => "Operator console",
            _ => "Account",
        }
    }

    pub fn nav(&self) -> Vec<NavItem> {
        if let Section::Ops(current) = self.section {
            return OPS_NAV
                .iter()
                .map(|(section, href, label)| NavItem {
                    href,
                    label,
                    current: *section == current,
                })
                .collect();
        }
        ACCOUNT_NAV
            .iter()
            .map(|(section, href, label)| NavItem {
                href,
                label,
                current: *section == self.section,
            })
            .collect()
    }
}
