//! Profile fields: display name, contact phone, job title and time zone.

use super::has_control_chars;

/// The name shown to other people; 1 to 100 characters, single line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a display name.");
        }
        if s.chars().count() > 100 {
            return Err("A display name has at most 100 characters.");
        }
        if has_control_chars(s) {
            return Err("A display name cannot contain line breaks or control characters.");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An optional contact phone number: digits with an optional leading `+` and
/// the usual separators (spaces, dashes, dots, parentheses); 7 to 15 digits
/// (the E.164 maximum).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse_optional(input: &str) -> Result<Option<Self>, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let body = s.strip_prefix('+').unwrap_or(s);
        let allowed = body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'));
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(7..=15).contains(&digits) {
            return Err("Enter a phone number like +44 20 7946 0958 (7 to 15 digits).");
        }
        Ok(Some(Self(s.to_owned())))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An optional job title; at most 100 characters, single line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobTitle(String);

impl JobTitle {
    pub fn parse_optional(input: &str) -> Result<Option<Self>, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.chars().count() > 100 {
            return Err("A job title has at most 100 characters.");
        }
        if has_control_chars(s) {
            return Err("A job title cannot contain line breaks or control characters.");
        }
        Ok(Some(Self(s.to_owned())))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A time zone from the list the profile page offers (IANA names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZone(&'static str);

impl TimeZone {
    /// The zones offered on the profile page: a curated list of IANA names
    /// covering every UTC offset in common use (as GitHub's settings do),
    /// rather than all ~400 entries of the database.
    pub const ALL: &'static [&'static str] = &[
        "UTC",
        "Pacific/Honolulu",
        "America/Anchorage",
        "America/Los_Angeles",
        "America/Denver",
        "America/Phoenix",
        "America/Chicago",
        "America/Mexico_City",
        "America/New_York",
        "America/Toronto",
        "America/Bogota",
        "America/Halifax",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
        "Atlantic/Azores",
        "Europe/London",
        "Europe/Dublin",
        "Europe/Lisbon",
        "Africa/Lagos",
        "Europe/Berlin",
        "Europe/Paris",
        "Europe/Madrid",
        "Europe/Rome",
        "Europe/Amsterdam",
        "Europe/Stockholm",
        "Europe/Warsaw",
        "Africa/Cairo",
        "Africa/Johannesburg",
        "Europe/Athens",
        "Europe/Helsinki",
        "Europe/Kyiv",
        "Europe/Istanbul",
        "Europe/Moscow",
        "Africa/Nairobi",
        "Asia/Dubai",
        "Asia/Karachi",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Asia/Dhaka",
        "Asia/Bangkok",
        "Asia/Jakarta",
        "Asia/Singapore",
        "Asia/Shanghai",
        "Asia/Hong_Kong",
        "Asia/Taipei",
        "Australia/Perth",
        "Asia/Tokyo",
        "Asia/Seoul",
        "Australia/Adelaide",
        "Australia/Brisbane",
        "Australia/Sydney",
        "Pacific/Auckland",
    ];

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        Self::ALL
            .iter()
            .find(|z| **z == input.trim())
            .map(|z| Self(z))
            .ok_or("Choose a time zone from the list.")
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("Ada\nLovelace").is_err());
    }

    #[test]
    fn phone_accepts_common_formats_and_rejects_letters() {
        assert!(Phone::parse_optional("+44 20 7946 0958").unwrap().is_some());
        assert!(Phone::parse_optional("(555) 010-4477").unwrap().is_some());
        assert!(Phone::parse_optional("").unwrap().is_none());
        assert!(Phone::parse_optional("abc").is_err());
        assert!(Phone::parse_optional("12345").is_err());
        assert!(Phone::parse_optional("+1 234 567 890 123 456").is_err());
    }

    #[test]
    fn job_title_is_optional_and_bounded() {
        assert!(JobTitle::parse_optional(" ").unwrap().is_none());
        assert!(
            JobTitle::parse_optional("Platform engineer")
                .unwrap()
                .is_some()
        );
        assert!(JobTitle::parse_optional(&"x".repeat(101)).is_err());
    }

    #[test]
    fn time_zone_must_come_from_the_list() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
    }
}
