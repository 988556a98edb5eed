//! Device cookies against malicious lock-out (OWASP, "Slow Down Online
//! Guessing Attacks with Device Cookies"): anyone who knows an email can
//! fail sign-ins until the account is locked, so the lock-out applies only
//! to browsers that have not signed in to that account before.
//!
//! A browser that completes a sign-in gets a device cookie: a random token
//! (256 bits) whose SHA-256 is stored with the user (`db::devices`). At the
//! next sign-in the token is looked up together with the email typed: when
//! it belongs to that account, the attempt is *trusted* and counted in the
//! device's own failure counter (`throttle::SigninSubject`); otherwise it
//! counts against the account's shared counter, which is what an attacker
//! can fill. Each success issues a fresh token (the old one stops working).
//!
//! Invariant: the token is never stored or logged in clear, and a token
//! trusted for one account gives nothing for another.

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

use crate::auth::api_key::random_base62;
use crate::config::Config;

/// How long a device stays trusted without a sign-in (the cookie's lifetime).
pub const DEVICE_TTL_SECS: i64 = 365 * 24 * 60 * 60;

const TOKEN_LEN: usize = 43;

pub fn cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-gatehouse_device"
    } else {
        "gatehouse_device"
    }
}

/// The SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The device token the browser sent, if any (a well-formed one only).
pub fn presented(config: &Config, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(config);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == TOKEN_LEN && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A new token, and the `Set-Cookie` value that gives it to the browser.
pub fn issue(config: &Config) -> (String, Option<HeaderValue>) {
    let token = random_base62(TOKEN_LEN);
    let secure = if config.is_https() { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; Path=/; Max-Age={DEVICE_TTL_SECS}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(config)
    );
    (token, HeaderValue::from_str(&cookie).ok())
}
