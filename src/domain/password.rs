//! Passwords as secrets: `Debug` never prints them, and a new password must
//! pass the policy before it can be hashed.
//!
//! The policy follows NIST SP 800-63B: 12 to 128 characters, no composition
//! rules, and a rejection of guessable passwords (zxcvbn score below 3), with
//! the reason said in plain words.

use std::fmt;

/// A password as typed, for verification. Never logged.
#[derive(Clone, serde::Deserialize, Default)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password that passed the policy and may be stored (after hashing).
#[derive(Clone)]
pub struct NewPassword(Password);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    /// Checks a candidate password. `hints` are words that make a password easy
    /// to guess for this person (their email, their name).
    pub fn parse(candidate: &Password, hints: &[&str]) -> Result<Self, String> {
        let pw = candidate.expose();
        let chars = pw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(format!(
                "Use at least {} characters (a few random words work well).",
                Self::MIN_CHARS
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(format!("Use at most {} characters.", Self::MAX_CHARS));
        }
        let entropy = zxcvbn::zxcvbn(pw, hints);
        if (entropy.score() as u8) < 3 {
            let reason = entropy
                .feedback()
                .and_then(|f| f.warning().map(|w| w.to_string()))
                .filter(|w| !w.is_empty());
            return Err(match reason {
                Some(w) => format!("This password is too easy to guess: {w}"),
                None => "This password is too easy to guess. Add another word or two that \
                         have nothing to do with you."
                    .to_owned(),
            });
        }
        Ok(Self(candidate.clone()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_long_passphrase() {
        assert!(NewPassword::parse(&Password::new("Correct-Horse-Battery-42!"), &[]).is_ok());
    }

    #[test]
    fn rejects_short_long_and_guessable_passwords() {
        let short = NewPassword::parse(&Password::new("Tr0ub4dor&3"), &[]).unwrap_err();
        assert!(short.contains("at least 12"));
        let long = NewPassword::parse(&Password::new("x".repeat(129)), &[]).unwrap_err();
        assert!(long.contains("at most 128"));
        let common = NewPassword::parse(&Password::new("password1234"), &[]).unwrap_err();
        assert!(common.contains("too easy to guess"));
        let repeated = NewPassword::parse(&Password::new("aaaaaaaaaaaaaaaa"), &[]).unwrap_err();
        assert!(repeated.contains("too easy to guess"));
    }

    #[test]
    fn personal_hints_make_a_password_guessable() {
        let hinted =
            NewPassword::parse(&Password::new("adalovelace1815"), &["adalovelace", "1815"]);
        assert!(hinted.is_err());
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let p = Password::new("Correct-Horse-Battery-42!");
        assert!(!format!("{p:?}").contains("Horse"));
        let n = NewPassword::parse(&p, &[]).unwrap();
        assert!(!format!("{n:?}").contains("Horse"));
    }
}
