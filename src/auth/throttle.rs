//! How rate limits are counted, in the database so they hold across
//! instances. Which buckets exist, their windows and their limits are all in
//! `auth::limits`; this module only counts them.
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
//! — at sign-in and at every password re-entry inside a session — are
//! counted in a counter of its own (`signin:device:<device id>`), with the
//! same limit and delays, and neither read nor charge the account's shared
//! counter or the IP counter: failures from elsewhere cannot lock the
//! owner's browser out (of signing in, nor of sudo mode), and the owner's own
//! failures still lock that browser. A success through a trusted device
//! clears only its own counter, so the owner signing in does not lift the
//! lock-out an attacker tripped. Every caller names its `SigninSubject`
//! (`auth::devices::signin_subject`), so none can charge the shared counter
//! by forgetting the device.
//!
//! Second-factor codes: wrong codes charge the same sign-in counters, and on
//! top of that every code check reserves an attempt in a per-user bucket
//! *before* the code is looked at (`reserve_code_attempt`). Checking a
//! counter and counting the failure afterwards leaves a gap in which many
//! parallel requests all pass the check; a 6-digit code cannot afford that
//! gap, so the reservation is one atomic increment that refuses beyond the
//! limit. A right code clears the bucket.

use uuid::Uuid;

use crate::auth::limits::{Bucket, LONGEST_WINDOW_SECS};
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

const MAX_LOCK_SECS: i64 = 15 * 60;

/// Whose failures a sign-in attempt counts against: the account's shared
/// counter, or — from a device trusted for this account — the device's own.
#[derive(Debug, Clone, Copy)]
pub struct SigninSubject<'a> {
    pub email: &'a str,
    pub device: Option<Uuid>,
}

impl SigninSubject<'_> {
    fn bucket(&self, config: &Config) -> Bucket {
        match self.device {
            Some(device) => Bucket::signin_device(config, device),
            None => Bucket::signin_account(config, self.email),
        }
    }
}

/// The wait imposed after `excess` failures beyond the free ones.
fn lock_secs(excess: i64) -> i64 {
    let shift = excess.clamp(0, 10) as u32;
    (30_i64 << shift).min(MAX_LOCK_SECS)
}

/// Refuses with 429 when the subject's counter (the account's, or a trusted
/// device's) or, for an untrusted browser, the address is locked out.
pub async fn check_signin(
    db: &Db,
    config: &Config,
    subject: SigninSubject<'_>,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    let account = subject.bucket(config);
    if let Some(c) = db
        .read_counter(account.name(), account.window_secs(), now)
        .await?
        && c.hits >= account.limit()
    {
        let until = c.last_hit_at + lock_secs(c.hits - account.limit());
        if now < until {
            return Err(Throttled::TooManyRequests {
                retry_after: (until - now) as u64,
            });
        }
    }
    if subject.device.is_some() {
        return Ok(());
    }
    check_address(db, config, ip, now).await
}

/// Refuses with 429 while the address is locked out of signing in (also
/// checked alone for a passwordless sign-in, which names no account first).
pub async fn check_address(db: &Db, config: &Config, ip: &str, now: i64) -> Result<(), Throttled> {
    let address = Bucket::signin_ip(config, ip);
    if let Some(c) = db
        .read_counter(address.name(), address.window_secs(), now)
        .await?
        && c.hits >= address.limit()
    {
        let until = c.window_start + address.window_secs();
        return Err(Throttled::TooManyRequests {
            retry_after: (until - now).max(1) as u64,
        });
    }
    Ok(())
}

/// Counts a failed passwordless sign-in against the address.
pub async fn record_address_failure(
    db: &Db,
    config: &Config,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    let address = Bucket::signin_ip(config, ip);
    db.hit_counter(address.name(), address.window_secs(), now)
        .await?;
    Ok(())
}

/// Counts a failure against the subject's counter: a trusted device's own,
/// or the account's and the address's.
pub async fn record_signin_failure(
    db: &Db,
    config: &Config,
    subject: SigninSubject<'_>,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    let mut buckets = vec![subject.bucket(config)];
    if subject.device.is_none() {
        buckets.push(Bucket::signin_ip(config, ip));
    }
    for bucket in buckets {
        db.hit_counter(bucket.name(), bucket.window_secs(), now)
            .await?;
    }
    Ok(())
}

/// Clears the subject's counter after a success (a trusted device's only:
/// the owner signing in does not lift a lock-out tripped elsewhere).
pub async fn clear_signin_failures(
    db: &Db,
    config: &Config,
    subject: SigninSubject<'_>,
) -> Result<(), Throttled> {
    db.reset_counter(subject.bucket(config).name()).await?;
    Ok(())
}

/// Every counter that can lock an account out of signing in: its shared
/// counter, the counter of each device trusted for it, and its code
/// attempts (what an operator's "clear lock-outs" deletes). Per-address
/// counters are not the account's and stay.
pub fn lockout_buckets(
    config: &Config,
    email: &str,
    user_id: Uuid,
    devices: &[Uuid],
) -> Vec<String> {
    let mut buckets = vec![
        Bucket::signin_account(config, email),
        Bucket::mfa_codes(user_id),
    ];
    buckets.extend(devices.iter().map(|&d| Bucket::signin_device(config, d)));
    buckets.into_iter().map(|b| b.name().to_owned()).collect()
}

/// Every counter named after one account, by its exact name: its lock-outs
/// (`lockout_buckets`, without devices: theirs are named by a random id)
/// and its key issues, exports and deletion attempts — what erasing the
/// account deletes. Exact names, not a suffix match: an email may end with
/// another account's email after a `:`.
pub fn account_buckets(config: &Config, email: &str, user_id: Uuid) -> Vec<String> {
    let mut buckets = lockout_buckets(config, email, user_id, &[]);
    buckets.extend(
        [
            Bucket::key_issue(config, user_id),
            Bucket::export(user_id),
            Bucket::account_deletion(user_id),
            Bucket::password_reset_email(email),
            Bucket::verification_resend(user_id),
        ]
        .iter()
        .map(|b| b.name().to_owned()),
    );
    buckets
}

/// Counts one second-factor code check of `user_id` before it happens, and
/// refuses with 429 beyond `MAX_CODE_ATTEMPTS` in the window.
pub async fn reserve_code_attempt(db: &Db, user_id: Uuid, now: i64) -> Result<(), Throttled> {
    consume(db, &Bucket::mfa_codes(user_id), now).await
}

pub async fn clear_code_attempts(db: &Db, user_id: Uuid) -> Result<(), Throttled> {
    db.reset_counter(Bucket::mfa_codes(user_id).name()).await?;
    Ok(())
}

/// Counts one use of a limited action and refuses with 429 once more than
/// the bucket's limit of uses fall in its current window.
pub async fn consume(db: &Db, bucket: &Bucket, now: i64) -> Result<(), Throttled> {
    let c = db
        .hit_counter(bucket.name(), bucket.window_secs(), now)
        .await?;
    if c.hits > bucket.limit() {
        return Err(Throttled::TooManyRequests {
            retry_after: (c.window_start + bucket.window_secs() - now).max(1) as u64,
        });
    }
    Ok(())
}

/// Counters whose last hit is older than a day are of no further use.
pub async fn clean_up(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.delete_stale_counters(now - LONGEST_WINDOW_SECS).await
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
