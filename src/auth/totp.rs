//! Time-based one-time passwords (RFC 6238) as every authenticator app
//! implements them: HMAC-SHA1, 6 digits, 30-second steps, a 160-bit secret.
//!
//! The arithmetic is totp-rs's; this module fixes the parameters, takes the
//! time from the application clock (never the system time, so tests can pin
//! it) and decides which steps are acceptable: the current one and the one
//! before it (a code typed just as it rolled over), never a future one. The
//! caller must still refuse a step that was already used (replay); see
//! `Db::accept_totp_step`.
//!
//! At rest a secret is sealed with `crate::cipher`, bound to its user's id,
//! so a sealed secret copied into another user's row does not open.

use std::fmt;

use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use crate::cipher::{Cipher, CipherError, Sealed};

pub const DIGITS: u8 = 6;
pub const STEP_SECS: i64 = 30;
pub const SECRET_BYTES: usize = 20;
pub const ISSUER: &str = "Gatehouse";

/// A TOTP shared secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TotpSetupError {
    #[error("invalid TOTP parameters: {0}")]
    Totp(String),
    #[error("cannot draw the QR code: {0}")]
    Qr(String),
}

impl TotpSecret {
    /// 160 random bits (RFC 4226 section 4 recommends 160) from the thread's
    /// CSPRNG.
    pub fn generate() -> Self {
        Self(rand::random::<[u8; SECRET_BYTES]>().to_vec())
    }

    /// A stored secret; `None` unless it is 160 bits long.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() == SECRET_BYTES).then_some(Self(bytes))
    }

    /// A secret kept in base 32 (as in the session during enrolment).
    pub fn from_base32(text: &str) -> Option<Self> {
        let secret = totp_rs::Secret::try_from_base32(text).ok()?;
        Self::from_bytes(secret.as_bytes().to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// What a user's sealed secret is bound to (AES-GCM associated data).
    pub fn sealing_context(user_id: Uuid) -> Vec<u8> {
        let mut context = b"gatehouse totp secret v1 ".to_vec();
        context.extend_from_slice(user_id.as_bytes());
        context
    }

    /// The secret sealed for storage in `user_id`'s row.
    pub fn seal(&self, cipher: &Cipher, user_id: Uuid) -> Result<Sealed, CipherError> {
        cipher.seal(&Self::sealing_context(user_id), &self.0)
    }

    /// Opens `user_id`'s stored secret; a wrong key, another user's secret
    /// or altered bytes are refused, and so is a secret of the wrong length.
    pub fn open(cipher: &Cipher, user_id: Uuid, sealed: &Sealed) -> Result<Self, CipherError> {
        let bytes = cipher.open(&Self::sealing_context(user_id), sealed)?;
        Self::from_bytes(bytes.to_vec()).ok_or(CipherError::DoesNotOpen)
    }

    /// RFC 4648 base 32 without padding: what authenticator apps expect.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    /// The base-32 text in groups of four, for typing it in by hand (apps
    /// ignore the spaces).
    pub fn grouped(&self) -> String {
        let b32 = self.to_base32();
        let chars: Vec<char> = b32.chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The key URI of Google's "Key Uri Format", with every parameter
    /// spelled out (some apps mishandle the defaults when they are missing).
    pub fn otpauth_uri(&self, account: &str) -> String {
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            issuer = percent_encode(ISSUER),
            account = percent_encode(account),
            secret = self.to_base32(),
        )
    }

    fn totp(&self, digits: u8) -> Result<Totp, TotpSetupError> {
        build(self.0.clone(), digits)
    }

    /// Which acceptable step `code` belongs to at `now`: the current step,
    /// else the previous one. `None` for a wrong or malformed code.
    pub fn matching_step(&self, code: &str, now: i64) -> Result<Option<i64>, TotpSetupError> {
        let totp = self.totp(DIGITS)?;
        let current = step_of(now);
        for step in [current, current - 1] {
            if step < 0 {
                continue;
            }
            // skew is 0, so `check` compares against exactly this step, in
            // constant time (totp-rs `Token` equality).
            if totp.check(code, (step * STEP_SECS) as u64).is_some() {
                return Ok(Some(step));
            }
        }
        Ok(None)
    }

    /// The code for the step containing `at` (tests and the hand check).
    pub fn code_at(&self, at: i64) -> Result<String, TotpSetupError> {
        Ok(self.totp(DIGITS)?.generate(at.max(0) as u64).to_string())
    }
}

fn build(secret: Vec<u8>, digits: u8) -> Result<Totp, TotpSetupError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(0)
        .with_step_duration(STEP_SECS as u64)
        .with_secret(secret)
        .build()
        .map_err(|e| TotpSetupError::Totp(e.to_string()))
}

/// The 30-second step containing the unix time `now`.
pub fn step_of(now: i64) -> i64 {
    now.div_euclid(STEP_SECS)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The QR code of `uri` as a `data:` URL of an SVG image, for an `<img>`.
///
/// An image rather than inline SVG: the page needs no `|safe`, and the
/// Content-Security-Policy (`img-src 'self' data:`, no inline styles) is met
/// without exceptions. qrcode's SVG uses only presentation attributes.
pub fn qr_data_url(uri: &str) -> Result<String, TotpSetupError> {
    use base64::Engine as _;
    let code = QrCode::new(uri.as_bytes()).map_err(|e| TotpSetupError::Qr(e.to_string()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let encoded = base64::engine::general_purpose::STANDARD.encode(image.as_bytes());
    Ok(format!("data:image/svg+xml;base64,{encoded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 6238 appendix B, the SHA1 rows (8 digits).
    const RFC_VECTORS: &[(i64, &str)] = &[
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let totp = build(RFC_SECRET.to_vec(), 8).unwrap();
        for (time, expected) in RFC_VECTORS {
            assert_eq!(
                &totp.generate(*time as u64).to_string(),
                expected,
                "T={time}"
            );
        }
    }

    #[test]
    fn six_digit_codes_are_the_rfc_vectors_truncated_and_are_accepted() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec()).unwrap();
        for (time, expected) in RFC_VECTORS {
            let six = &expected[2..];
            assert_eq!(secret.code_at(*time).unwrap(), six, "T={time}");
            assert_eq!(
                secret.matching_step(six, *time).unwrap(),
                Some(step_of(*time))
            );
        }
    }

    #[test]
    fn only_the_current_and_previous_steps_are_accepted() {
        let secret = TotpSecret::generate();
        let now = 1_795_608_000 + 7;
        let current = secret.code_at(now).unwrap();
        let previous = secret.code_at(now - 30).unwrap();
        let two_back = secret.code_at(now - 60).unwrap();
        let next = secret.code_at(now + 30).unwrap();
        assert_eq!(
            secret.matching_step(&current, now).unwrap(),
            Some(step_of(now))
        );
        assert_eq!(
            secret.matching_step(&previous, now).unwrap(),
            Some(step_of(now) - 1)
        );
        // (A collision of two steps' codes is one in a million; these
        // asserts would then fail spuriously, so check the codes differ.)
        if two_back != current && two_back != previous {
            assert_eq!(secret.matching_step(&two_back, now).unwrap(), None);
        }
        if next != current && next != previous {
            assert_eq!(secret.matching_step(&next, now).unwrap(), None);
        }
        assert_eq!(secret.matching_step("12345", now).unwrap(), None);
        assert_eq!(secret.matching_step("+12345", now).unwrap(), None);
    }

    #[test]
    fn the_key_uri_names_every_parameter_and_encodes_the_account() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec()).unwrap();
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.otpauth_uri("ada+x@example.com"),
            "otpauth://totp/Gatehouse:ada%2Bx%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Gatehouse&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(secret.grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(
            TotpSecret::from_base32(&secret.to_base32()),
            Some(secret.clone())
        );
        assert_eq!(TotpSecret::from_bytes(vec![1; 10]), None);
        assert!(!format!("{secret:?}").contains("GEZD"));
    }

    #[test]
    fn the_qr_code_is_an_svg_image_without_styles() {
        use base64::Engine as _;
        let url = qr_data_url("otpauth://totp/Gatehouse:a%40b.c?secret=AAAA").unwrap();
        let b64 = url.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg"));
        assert!(!svg.contains("style"));
    }
}
