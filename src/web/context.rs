//! The context every page embeds: who is signed in, the CSRF token for its
//! forms, the flash messages to show once, the sudo window and the navigation.

use crate::app::AppState;
use crate::auth::AppSession;
use crate::auth::session::Flash;
use crate::authz::CurrentUser;
use crate::error::AppError;
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
    (Section::Export, "/account/export", "Export data"),
    (Section::DeleteAccount, "/account/delete", "Delete account"),
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
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                is_operator: u.is_operator,
            }),
            csrf_token: session.csrf_token().await?,
            flashes: session.take_flashes().await?,
            sudo_until,
            section,
        })
    }

    pub fn nav(&self) -> Vec<NavItem> {
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
