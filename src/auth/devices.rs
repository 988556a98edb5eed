//! Device cookies against malicious lock-out (OWASP, "Slow Down Online
//! Guessing Attacks with Device Cookies"): anyone who knows an email can
//! fail sign-ins until the account is locked, so the lock-out applies only
//! to browsers that have not signed in to that account before.
//!
//! A browser that completes a sign-in gets a device cookie: a random token
//! (256 bits) whose SHA-256 is stored with the user (`db::devices`). At the
//! next password check (a sign-in, or a re-entry of the password inside a
//! session) the token is looked up together with the account's email: when it
//! belongs to that account, the attempt is *trusted* and counted in the
//! device's own failure counter (`throttle::SigninSubject`); otherwise it
//! counts against the account's shared counter, which is what an attacker
//! can fill. Each success issues a fresh token (the old one stops working).
//!
//! Invariant: the token is never stored or logged in clear, and a token
//! trusted for one account gives nothing for another.

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::api_key::random_base62;
use crate::auth::throttle::SigninSubject;
use crate::config::Config;
use crate::db::Db;

/// How long a device stays trusted without a sign-in (the cookie's lifetime).
pub const DEVICE_TTL_SECS: i64 = 365 * 24 * 60 * 60;

/// 43 base62 characters: just over 256 bits.
const TOKEN_LEN: usize = 43;

fn cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-gatehouse_device"
    } else {
        "gatehouse_device"
    }
}

/// The SHA-256 of a token, as stored.
fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The device token the browser sent, if any (a well-formed one only).
fn presented(config: &Config, headers: &HeaderMap) -> Option<String> {
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

/// Whose failure counter a password or code check for the account `email`
/// charges when it comes with these request headers: the device's own when
/// the browser presents a cookie trusted for that account, else the
/// account's shared one.
pub async fn signin_subject<'a>(
    db: &Db,
    config: &Config,
    headers: &HeaderMap,
    email: &'a str,
) -> Result<SigninSubject<'a>, sqlx::Error> {
    let device = match presented(config, headers) {
        Some(token) => db.trusted_device(&token_hash(&token), email).await?,
        None => None,
    };
    Ok(SigninSubject { email, device })
}

/// Trusts the browser for `user_id` after a completed sign-in, under a fresh
/// token (the one it presented, if any, stops working and its device keeps
/// its id and its counter). Returns the `Set-Cookie` value to send.
pub async fn trust(
    db: &Db,
    config: &Config,
    headers: &HeaderMap,
    user_id: Uuid,
    now: i64,
) -> Result<Option<HeaderValue>, sqlx::Error> {
    let token = random_base62(TOKEN_LEN);
    let old = presented(config, headers).map(|t| token_hash(&t));
    db.trust_device(user_id, &token_hash(&token), old.as_deref(), now)
        .await?;
    let secure = if config.is_https() { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; Path=/; Max-Age={DEVICE_TTL_SECS}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(config)
    );
    Ok(HeaderValue::from_str(&cookie).ok())
}
