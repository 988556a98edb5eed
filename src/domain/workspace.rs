//! A workspace's name and description, checked once at the edge. Its slug
//! follows the org's `Slug` rules (3 to 40 lowercase letters, digits and
//! hyphens), unique within the org (the database's `UNIQUE (org_id, slug)`).

use super::has_control_chars;

/// A workspace's display name: 1 to 60 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceName(String);

impl WorkspaceName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            Err("Enter the workspace's name.")
        } else if s.chars().count() > 60 || has_control_chars(s) {
            Err("A workspace name has at most 60 characters on one line.")
        } else {
            Ok(Self(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A custom role's name: 1 to 60 characters on one line, and not the name
/// of a built-in role in any letter case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            Err("Enter the role's name.")
        } else if s.chars().count() > 60 || has_control_chars(s) {
            Err("A role name has at most 60 characters on one line.")
        } else if super::BuiltinRole::is_reserved_name(s) {
            Err("Viewer, Runner and Creator are the built-in roles; choose another name.")
        } else {
            Ok(Self(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: at most 500 characters (line breaks allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.chars().count() > Self::MAX_CHARS
            || s.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            Err("A description has at most 500 characters, without control characters.")
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
    fn a_workspace_name_is_one_short_line() {
        assert_eq!(
            WorkspaceName::parse("  staging ").unwrap().as_str(),
            "staging"
        );
        assert!(WorkspaceName::parse(" ").is_err());
        assert!(WorkspaceName::parse(&"x".repeat(61)).is_err());
        assert!(WorkspaceName::parse("a\nb").is_err());
    }

    #[test]
    fn a_role_name_is_never_a_built_in_one() {
        assert_eq!(RoleName::parse(" Operator ").unwrap().as_str(), "Operator");
        for taken in ["Viewer", "runner", " CREATOR "] {
            assert!(RoleName::parse(taken).is_err(), "{taken}");
        }
        assert!(RoleName::parse("").is_err());
    }

    #[test]
    fn a_description_is_bounded_and_may_be_empty() {
        assert_eq!(Description::parse("").unwrap().as_str(), "");
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse(&"x".repeat(501)).is_err());
        assert!(Description::parse("bell\u{7}").is_err());
    }
}
