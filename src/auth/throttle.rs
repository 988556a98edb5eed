//! Rate limits that protect credentials, counted in the database so they hold
//! across instances.
//!
//! Sign-in: failures are counted per account (by the email typed, whether or
//! not such an account exists, so the limit reveals nothing) and per IP
//! address. After `max` failures for an account within an hour each further
//! attempt waits a growing delay (30 s, 1 min, 2 min, … capped at 15 min); a
//! success clears the account's counter. The same counter is charged by
//! password re-entry for sudo mode, so a stolen session cannot become an
//! unthrottled password oracle.
//!
//! Trusted devices (malicious lock-out): a browser that signed in to the
//! account before presents a device cookie (`auth::devices`). Its attempts
//! are counted in a counter of its own (`signin:device:<id>:<email>`), with
//! the same limit and delays, and neither read nor charge the account's
//! shared counter or the IP counter: failures from elsewhere cannot lock the
//! owner's browser out, and the owner's own failures still lock that
//! browser. A success through a trusted device clears only its own counter,
//! so the owner signing in does not lift the lock-out an attacker tripped.
//!
//! Second-factor codes: wrong codes charge the same sign-in counters, and on
//! top of that every code check reserves an attempt in a per-user bucket
//! *before* the code is looked at (`reserve_code_attempt`). Checking a
//! counter and counting the failure afterwards leaves a gap in which many
//! parallel requests all pass the check; a 6-digit code cannot afford that
//! gap, so the reservation is one atomic increment that refuses beyond the
//! limit. A right code clears the bucket.

use uuid::Uuid;

use crate::config::Config;
use crate::db::Db;

/// A refused or failed limit check. The HTML and JSON errors both convert
/// from it (429 with `Retry-After`, or an internal error keeping the cause).
#[derive(Debug, thiserror::Error)]
pub enum Throttled {
    #[error("too many requests; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    #[error("rate-limit counter")]
    Storage(#[from] sqlx::Error),
}

const ACCOUNT_WINDOW_SECS: i64 = 60 * 60;
const IP_WINDOW_SECS: i64 = 15 * 60;
const MAX_LOCK_SECS: i64 = 15 * 60;
const CODE_WINDOW_SECS: i64 = 15 * 60;
/// Second-factor code checks allowed per user per 15 minutes (a right code
/// starts the count over).
pub const MAX_CODE_ATTEMPTS: i64 = 10;

fn account_bucket(email: &str) -> String {
    format!("signin:account:{email}")
}

fn ip_bucket(ip: &str) -> String {
    format!("signin:ip:{ip}")
}

fn device_bucket(device: Uuid, email: &str) -> String {
    // Ends with the email, so that deleting the account (and an operator
    // clearing its lock-outs) finds it by suffix.
    format!("signin:device:{device}:{email}")
}

/// Whose failures a sign-in attempt counts against: the account's shared
/// counter, or — from a device trusted for this account — the device's own.
#[derive(Debug, Clone, Copy)]
pub struct SigninSubject<'a> {
    pub email: &'a str,
    pub device: Option<Uuid>,
}

impl<'a> SigninSubject<'a> {
    /// An attempt from a browser not trusted for the account.
    pub fn untrusted(email: &'a str) -> Self {
        Self {
            email,
            device: None,
        }
    }
}

/// The wait imposed after `excess` failures beyond the free ones.
fn lock_secs(excess: i64) -> i64 {
    let shift = excess.clamp(0, 10) as u32;
    (30_i64 << shift).min(MAX_LOCK_SECS)
}

/// Refuses with 429 when the account or the address is locked out.
pub async fn check_signin(
    db: &Db,
    config: &Config,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    check_signin_from(db, config, SigninSubject::untrusted(email), ip, now).await
}

/// `check_signin` for a subject: a trusted device is checked against its
/// own counter only.
pub async fn check_signin_from(
    db: &Db,
    config: &Config,
    subject: SigninSubject<'_>,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    let bucket = match subject.device {
        Some(device) => device_bucket(device, subject.email),
        None => account_bucket(subject.email),
    };
    if let Some(c) = db.read_counter(&bucket, ACCOUNT_WINDOW_SECS, now).await?
        && c.hits >= config.signin_max_failures
    {
        let until = c.last_hit_at + lock_secs(c.hits - config.signin_max_failures);
        if now < until {
            return Err(Throttled::TooManyRequests {
                retry_after: (until - now) as u64,
            });
        }
    }
    if subject.device.is_some() {
        return Ok(());
    }
    if let Some(c) = db.read_counter(&ip_bucket(ip), IP_WINDOW_SECS, now).await?
        && c.hits >= config.signin_max_failures_per_ip
    {
        let until = c.window_start + IP_WINDOW_SECS;
        return Err(Throttled::TooManyRequests {
            retry_after: (until - now).max(1) as u64,
        });
    }
    Ok(())
}

pub async fn record_signin_failure(
    db: &Db,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    record_signin_failure_from(db, SigninSubject::untrusted(email), ip, now).await
}

/// Counts a failure against the subject's counter (a trusted device's own,
/// or the account's and the address's).
pub async fn record_signin_failure_from(
    db: &Db,
    subject: SigninSubject<'_>,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    if let Some(device) = subject.device {
        db.hit_counter(
            &device_bucket(device, subject.email),
            ACCOUNT_WINDOW_SECS,
            now,
        )
        .await?;
        return Ok(());
    }
    db.hit_counter(&account_bucket(subject.email), ACCOUNT_WINDOW_SECS, now)
        .await?;
    db.hit_counter(&ip_bucket(ip), IP_WINDOW_SECS, now).await?;
    Ok(())
}

pub async fn clear_signin_failures(db: &Db, email: &str) -> Result<(), Throttled> {
    clear_signin_failures_of(db, SigninSubject::untrusted(email)).await
}

/// Clears the subject's counter after a success.
pub async fn clear_signin_failures_of(
    db: &Db,
    subject: SigninSubject<'_>,
) -> Result<(), Throttled> {
    let bucket = match subject.device {
        Some(device) => device_bucket(device, subject.email),
        None => account_bucket(subject.email),
    };
    db.reset_counter(&bucket).await?;
    Ok(())
}

/// Clears every sign-in lock-out of an account: its shared counter, each of
/// its trusted devices' counters, and its code attempts (an operator's
/// "clear lock-outs"). Returns how many counters were cleared.
pub async fn clear_account_lockouts(db: &Db, email: &str, user_id: Uuid) -> Result<u64, Throttled> {
    let mut cleared = db
        .reset_counters_with_suffix("signin:", &format!(":{email}"))
        .await?;
    cleared += db
        .reset_counters_with_suffix("mfa:user:", &user_id.to_string())
        .await?;
    Ok(cleared)
}

fn code_bucket(user_id: Uuid) -> String {
    format!("mfa:user:{user_id}")
}

/// Counts one second-factor code check of `user_id` before it happens, and
/// refuses with 429 beyond `MAX_CODE_ATTEMPTS` in the window.
pub async fn reserve_code_attempt(db: &Db, user_id: Uuid, now: i64) -> Result<(), Throttled> {
    consume(
        db,
        &code_bucket(user_id),
        MAX_CODE_ATTEMPTS,
        CODE_WINDOW_SECS,
        now,
    )
    .await
}

pub async fn clear_code_attempts(db: &Db, user_id: Uuid) -> Result<(), Throttled> {
    db.reset_counter(&code_bucket(user_id)).await?;
    Ok(())
}

/// Counts one use of a limited action and refuses with 429 once more than
/// `limit` uses fall in the current window.
pub async fn consume(
    db: &Db,
    bucket: &str,
    limit: i64,
    window_secs: i64,
    now: i64,
) -> Result<(), Throttled> {
    let c = db.hit_counter(bucket, window_secs, now).await?;
    if c.hits > limit {
        return Err(Throttled::TooManyRequests {
            retry_after: (c.window_start + window_secs - now).max(1) as u64,
        });
    }
    Ok(())
}

/// Counters whose last hit is older than a day are of no further use.
pub async fn clean_up(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.delete_stale_counters(now - 24 * 60 * 60).await
}

#[cfg(test)]
mod tests {
    use super::lock_secs;

    #[test]
    fn lockout_grows_and_is_capped() {
        assert_eq!(lock_secs(0), 30);
        assert_eq!(lock_secs(1), 60);
        assert_eq!(lock_secs(3), 240);
        assert_eq!(lock_secs(10), 900);
        assert_eq!(lock_secs(99), 900);
    }
}
