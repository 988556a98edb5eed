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
    let account = Bucket::signin_account(config, email);
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

pub async fn record_signin_failure(
    db: &Db,
    config: &Config,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<(), Throttled> {
    for bucket in [
        Bucket::signin_account(config, email),
        Bucket::signin_ip(config, ip),
    ] {
        db.hit_counter(bucket.name(), bucket.window_secs(), now)
            .await?;
    }
    Ok(())
}

pub async fn clear_signin_failures(db: &Db, config: &Config, email: &str) -> Result<(), Throttled> {
    db.reset_counter(Bucket::signin_account(config, email).name())
        .await?;
    Ok(())
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
