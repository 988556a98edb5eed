//! Organization value types: names, URL slugs, org roles, and team names.

use super::has_control_chars;

/// An org role. Stored as text; `Owner` outranks `Member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    Member,
    Owner,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Member => "member",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgRole::Owner => "Owner",
            OrgRole::Member => "Member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(OrgRole::Owner),
            "member" => Some(OrgRole::Member),
            _ => None,
        }
    }
}

/// An organization's display name: 1 to 100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            Err("Enter the organization's name.")
        } else if s.chars().count() > 100 || has_control_chars(s) {
            Err("A name has at most 100 characters on one line.")
        } else {
            Ok(Self(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The field message for a slug another org holds after a rename.
pub const SLUG_HELD: &str = "That address belonged to another organization until recently and is held for it for 30 days; choose another.";
/// The field message for a slug a live or deleted org has.
pub const SLUG_TAKEN: &str = "That address is taken; choose another.";

/// The org's name in URLs: 3 to 40 lowercase letters, digits and single
/// hyphens, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    const RESERVED: &'static [&'static str] = &["new", "admin", "api", "settings", "www"];

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        let shape = (3..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && !s.ends_with('-')
            && !s.contains("--")
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !shape {
            return Err(
                "Use 3 to 40 lowercase letters, digits and hyphens, starting with a letter.",
            );
        }
        if Self::RESERVED.contains(&s) {
            return Err("That address is reserved; choose another.");
        }
        Ok(Self(s.to_owned()))
    }

    /// A slug suggested from a name ("Acme Research, Inc." → "acme-research-inc").
    pub fn suggest(name: &str) -> String {
        let mut out = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_matches('-').chars().take(40).collect();
        trimmed.trim_end_matches('-').to_owned()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A team's name: 1 to 60 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            Err("Enter the team's name.")
        } else if s.chars().count() > 60 || has_control_chars(s) {
            Err("A team name has at most 60 characters on one line.")
        } else {
            Ok(Self(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("acme").is_ok());
        assert!(Slug::parse("acme-research-2").is_ok());
        for bad in [
            "ac",
            "Acme",
            "-acme",
            "acme-",
            "ac--me",
            "1acme",
            "acme_co",
            "new",
            &"a".repeat(41),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Slug::suggest("Acme Research, Inc."), "acme-research-inc");
        assert_eq!(Slug::suggest("  ÉTÉ!! co "), "t-co");
    }

    #[test]
    fn names() {
        assert!(OrgName::parse(" ").is_err());
        assert!(TeamName::parse(&"x".repeat(61)).is_err());
    }
}
