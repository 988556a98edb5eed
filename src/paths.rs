//! Redirect targets: the pages a refusal sends someone to, and the `next=`
//! that brings them back. `next=` is honoured only for a same-site relative
//! path, so a crafted link cannot send someone to another site after sign-in.
//!
//! It depends on nothing in the crate, so every layer (the errors included)
//! can name these pages without importing the handlers that serve them.

/// Sign-in.
pub const LOGIN: &str = "/login";
/// Sudo confirmation (`?next=` comes back after it).
pub const SUDO: &str = "/sudo";
/// MFA enrolment: where an organization's "members must use MFA" policy
/// sends a user without MFA.
pub const MFA_ENROLMENT: &str = "/account/security/mfa/setup";
/// Where a person adds, renames and removes passkeys.
pub const PASSKEYS: &str = "/account/security/passkeys";
/// Changing the password: where a user who must change it is sent.
pub const PASSWORD_CHANGE: &str = "/account/security/password";
/// Sign-out.
pub const LOGOUT: &str = "/logout";
/// The signed-in start page.
pub const ACCOUNT: &str = "/account";
/// The profile page, where the email address is shown and changed from.
pub const PROFILE: &str = "/account/profile";
/// The operator console's start page.
pub const OPS: &str = "/ops";

/// `next` if it is a local path, else `None`.
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    let n = next?;
    let local = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && !n.chars().any(|c| c.is_control() || c == '\\')
        && n.len() <= 2048;
    local.then_some(n)
}

/// `base?next=…` when `next` is a safe local path, else `base`.
pub fn with_next(base: &str, next: Option<&str>) -> String {
    match safe_next(next) {
        Some(n) => match serde_urlencoded::to_string([("next", n)]) {
            Ok(q) => format!("{base}?{q}"),
            Err(_) => base.to_owned(),
        },
        None => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_accepted() {
        assert_eq!(safe_next(Some("/account/keys")), Some("/account/keys"));
        assert_eq!(safe_next(Some("/account?tab=1")), Some("/account?tab=1"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn next_is_url_encoded() {
        assert_eq!(
            with_next("/login", Some("/a?b=c&d")),
            "/login?next=%2Fa%3Fb%3Dc%26d"
        );
        assert_eq!(with_next("/login", Some("https://evil.example")), "/login");
    }
}
