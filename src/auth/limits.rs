//! Every rate limit of Gatehouse, in one place: each bucket's name, its
//! window and its limit (a constant here, or the configuration field that
//! sets it). Callers never spell a bucket name: they take a `Bucket` from
//! the constructors below and hand it to `throttle`, so two surfaces that
//! mean the same limit (the sign-up form and the registration API) count in
//! the same bucket, and a reader finds every limit by opening this file.
//!
//! The counters live in the database (`db::rate_limits`), so every limit
//! holds across instances. How a bucket is counted (a lockout that grows,
//! a reservation before the check, or a plain count per window) is
//! `throttle`'s business; what is counted, and how much, is written here.
//!
//! | bucket | window | limit | charged by |
//! |---|---|---|---|
//! | `signin:account:{email}` | 1 h | `--signin-max-failures` (5), then a growing lockout | wrong passwords and codes at sign-in, MFA challenge and re-authentication (`auth::reauth`: sudo, password change, MFA disable, account deletion) |
//! | `signin:device:{device}` | 1 h | `--signin-max-failures` (5), then a growing lockout | the same failures from a browser trusted for the account, instead of the account's and the address's counters (malicious lock-out, `throttle`) |
//! | `signin:ip:{ip}` | 15 min | `--signin-max-failures-per-ip` (50) | the same failures, per address |
//! | `mfa:user:{id}` | 15 min | 10 | every second-factor code check, reserved before the check |
//! | `keys:issue:{user}` | 1 h | `--key-issues-per-hour` (10) | creating or rotating a personal or service-account key |
//! | `export:user:{user}` | 1 h | 5 | data export downloads |
//! | `account:delete:{user}` | 1 h | 3 | account deletion attempts |
//! | `signup:ip:{ip}` | 1 h | `--signups-per-ip-per-hour` (10) | the sign-up form and `POST /v1/accounts` |
//! | `api:key:{key}` | 1 min | `--api-requests-per-minute` (600) | every `/v1` request with an API key (`auth::quota`: leased blocks, 429 + `RateLimit` headers) |
//! | `api:master:{key}` | 1 min | `--master-key-requests-per-minute` (600) | every `/v1` request with a master key (`auth::quota`) |
//! | `scim:token:{token}` | 1 min | `--api-requests-per-minute` (600) | every `/scim/v2` request with an org's SCIM token (`auth::quota`) |
//! | `leak-report:ip:{ip}` | 1 h | 60 | leaked-key reports (`/v1/secret-scanning`) |
//! | `password-reset:email:{email}` | 1 h | 3 | forgot-password requests for one address typed (whether or not it has an account) |
//! | `password-reset:ip:{ip}` | 1 h | 20 | forgot-password requests from one address |
//! | `verify-email:user:{user}` | 1 h | 3 | "send the verification link again" |
//!
//! Two limits are not counters, and are listed here so the table is whole:
//! a pending MFA sign-in starts over after `MAX_CHALLENGE_FAILURES` wrong
//! codes (kept in the session), and a user keeps at most
//! `--max-sessions-per-user` live sessions (`db::sessions`).

use uuid::Uuid;

use crate::config::Config;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * 60;
const QUARTER_HOUR: i64 = 15 * 60;

/// The longest window of any bucket: counters idle for longer are of no
/// further use and are purged (`throttle::clean_up`).
pub const LONGEST_WINDOW_SECS: i64 = 24 * HOUR;

/// Second-factor code checks allowed per user per 15 minutes (a right code
/// starts the count over).
pub const MAX_CODE_ATTEMPTS: i64 = 10;
/// Wrong codes per pending sign-in before it starts over.
pub const MAX_CHALLENGE_FAILURES: u32 = 5;
/// Data exports a user may download per hour.
pub const EXPORTS_PER_HOUR: i64 = 5;
/// Account deletion attempts a user may make per hour.
pub const DELETION_ATTEMPTS_PER_HOUR: i64 = 3;
/// Leaked-key reports accepted per IP address per hour.
pub const LEAK_REPORTS_PER_IP_PER_HOUR: i64 = 60;
/// Forgot-password requests per address typed per hour.
pub const RESETS_PER_EMAIL_PER_HOUR: i64 = 3;
/// Forgot-password requests per IP address per hour.
pub const RESETS_PER_IP_PER_HOUR: i64 = 20;
/// Verification links a user may have sent again per hour.
pub const VERIFICATIONS_PER_HOUR: i64 = 3;

/// One rate-limit counter: its name in the database, the window it counts
/// in, and how many hits the window allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    name: String,
    window_secs: i64,
    limit: i64,
}

impl Bucket {
    fn new(name: String, window_secs: i64, limit: i64) -> Self {
        Bucket {
            name,
            window_secs,
            limit,
        }
    }

    /// Failed password or code checks for one account, by the email typed
    /// (whether or not such an account exists, so the limit reveals
    /// nothing). Beyond the limit each attempt waits a growing delay.
    pub fn signin_account(config: &Config, email: &str) -> Self {
        Self::new(
            format!("signin:account:{email}"),
            HOUR,
            config.signin_max_failures,
        )
    }

    /// Failed password or code checks for one account from one browser
    /// that signed in to it before (a trusted device, `auth::devices`): the
    /// same limit and delays as the account's counter, but its own, so
    /// failures from elsewhere cannot lock that browser out.
    pub fn signin_device(config: &Config, device: Uuid) -> Self {
        Self::new(
            format!("signin:device:{device}"),
            HOUR,
            config.signin_max_failures,
        )
    }

    /// Failed password or code checks from one address, across accounts.
    pub fn signin_ip(config: &Config, ip: &str) -> Self {
        Self::new(
            format!("signin:ip:{ip}"),
            QUARTER_HOUR,
            config.signin_max_failures_per_ip,
        )
    }

    /// Second-factor code checks of one user, right or wrong.
    pub fn mfa_codes(user_id: Uuid) -> Self {
        Self::new(
            format!("mfa:user:{user_id}"),
            QUARTER_HOUR,
            MAX_CODE_ATTEMPTS,
        )
    }

    /// API keys issued (created or rotated) by one user, personal or for a
    /// service account alike.
    pub fn key_issue(config: &Config, user_id: Uuid) -> Self {
        Self::new(
            format!("keys:issue:{user_id}"),
            HOUR,
            config.key_issues_per_hour,
        )
    }

    /// Data export downloads of one user.
    pub fn export(user_id: Uuid) -> Self {
        Self::new(format!("export:user:{user_id}"), HOUR, EXPORTS_PER_HOUR)
    }

    /// Account deletion attempts of one user.
    pub fn account_deletion(user_id: Uuid) -> Self {
        Self::new(
            format!("account:delete:{user_id}"),
            HOUR,
            DELETION_ATTEMPTS_PER_HOUR,
        )
    }

    /// New accounts from one address: the sign-up form and the public
    /// registration API share it.
    pub fn signup_ip(config: &Config, ip: &str) -> Self {
        Self::new(
            format!("signup:ip:{ip}"),
            HOUR,
            config.signups_per_ip_per_hour,
        )
    }

    /// Requests of one API key to `/v1`. Counted by `auth::quota` in
    /// leased blocks (no database write on every request), not by
    /// `throttle`.
    pub fn api_key(config: &Config, key_id: Uuid) -> Self {
        Self::new(
            format!("api:key:{key_id}"),
            MINUTE,
            config.api_requests_per_minute,
        )
    }

    /// Requests of one master key, counted as `api_key`'s are.
    pub fn master_key(config: &Config, key_id: Uuid) -> Self {
        Self::new(
            format!("api:master:{key_id}"),
            MINUTE,
            config.master_key_requests_per_minute,
        )
    }

    /// Requests of one SCIM token to `/scim/v2`, counted as `api_key`'s are
    /// (an identity provider's sync is a burst of small requests).
    pub fn scim_token(config: &Config, token_id: Uuid) -> Self {
        Self::new(
            format!("scim:token:{token_id}"),
            MINUTE,
            config.api_requests_per_minute,
        )
    }

    /// Leaked-key reports from one address (the endpoint is public).
    pub fn leak_reports(ip: &str) -> Self {
        Self::new(
            format!("leak-report:ip:{ip}"),
            HOUR,
            LEAK_REPORTS_PER_IP_PER_HOUR,
        )
    }

    /// Forgot-password requests naming one address (whether or not it
    /// has an account, so the limit reveals nothing).
    pub fn password_reset_email(email: &str) -> Self {
        Self::new(
            format!("password-reset:email:{email}"),
            HOUR,
            RESETS_PER_EMAIL_PER_HOUR,
        )
    }

    /// Forgot-password requests from one IP address, across addresses.
    pub fn password_reset_ip(ip: &str) -> Self {
        Self::new(
            format!("password-reset:ip:{ip}"),
            HOUR,
            RESETS_PER_IP_PER_HOUR,
        )
    }

    /// Verification links sent again for one user.
    pub fn verification_resend(user_id: Uuid) -> Self {
        Self::new(
            format!("verify-email:user:{user_id}"),
            HOUR,
            VERIFICATIONS_PER_HOUR,
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn window_secs(&self) -> i64 {
        self.window_secs
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_bucket(config: &Config) -> Vec<Bucket> {
        let id = Uuid::nil();
        vec![
            Bucket::signin_account(config, "a@example.com"),
            Bucket::signin_device(config, id),
            Bucket::signin_ip(config, "192.0.2.1"),
            Bucket::mfa_codes(id),
            Bucket::key_issue(config, id),
            Bucket::export(id),
            Bucket::account_deletion(id),
            Bucket::signup_ip(config, "192.0.2.1"),
            Bucket::leak_reports("192.0.2.1"),
            Bucket::password_reset_email("a@example.com"),
            Bucket::password_reset_ip("192.0.2.1"),
            Bucket::verification_resend(id),
            Bucket::api_key(config, id),
            Bucket::master_key(config, id),
            Bucket::scim_token(config, id),
        ]
    }

    #[test]
    fn no_window_outlives_the_purge_of_idle_counters() {
        let config = Config::default();
        for b in every_bucket(&config) {
            assert!(b.window_secs() <= LONGEST_WINDOW_SECS, "{}", b.name());
            assert!(b.limit() > 0, "{}", b.name());
        }
    }

    #[test]
    fn every_bucket_has_its_own_name_prefix() {
        let config = Config::default();
        let mut prefixes: Vec<String> = every_bucket(&config)
            .iter()
            .map(|b| {
                b.name()
                    .rsplit_once(':')
                    .map(|(p, _)| p.to_owned())
                    .unwrap_or_default()
            })
            .collect();
        let all = prefixes.len();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), all);
    }
}
