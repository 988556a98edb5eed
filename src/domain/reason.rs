//! The reason an operator gives for an action. Every operator action asks for
//! one; it is written to the audit log beside the action, where the platform
//! and (for org data) the organization's owners read it.

use std::fmt;

/// A non-empty reason of at most 500 characters (newlines allowed, other
/// control characters not).
#[derive(Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Give a reason: it is recorded in the audit log with this action.");
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err("A reason has at most 500 characters.");
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            return Err("A reason cannot contain control characters.");
        }
        Ok(Self(s.replace("\r\n", "\n")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reason({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn a_reason_is_required_and_trimmed() {
        assert!(Reason::parse("").is_err());
        assert!(Reason::parse("   \n ").is_err());
        assert_eq!(
            Reason::parse("  ticket #42 \n").unwrap().as_str(),
            "ticket #42"
        );
    }

    #[test]
    fn overlong_and_control_characters_are_refused() {
        assert!(Reason::parse(&"x".repeat(501)).is_err());
        assert!(Reason::parse(&"x".repeat(500)).is_ok());
        assert!(Reason::parse("ticket\u{7}").is_err());
        assert!(Reason::parse("line one\r\nline two").is_ok());
    }
}
