//! Request quotas of `/v1`: each API key (and each master key) may make at
//! most `limit` requests per fixed window (a minute by default), whichever
//! instance serves them.
//!
//! The count is shared through the database without a write per request:
//! an instance *leases* a block of the key's quota with one atomic upsert
//! (`Db::lease_quota`) and serves from that block in memory until it is
//! used up or the window rolls over; only then does it lease again. Once the
//! database says the window is all leased, the instance refuses locally
//! until the window ends, so a flood of refused requests writes nothing.
//!
//! Invariant (the accuracy bound, also in the README): the leases of one
//! window never add up to more than `limit` (the upsert caps them), so no key
//! is served more than `limit` requests in a window across every instance.
//! The cost is on the other side: a block leased by one instance is not
//! available to another, so a key spread over `n` instances may be refused
//! up to `(n - 1) × (block - 1)` requests early in a window. As with every
//! fixed window, a burst across a window boundary can see up to twice the
//! limit within one minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::db::Db;

/// A limit: `limit` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaPolicy {
    pub limit: i64,
    pub window_secs: i64,
}

/// Where a request stands against its quota: what the `RateLimit` and
/// `RateLimit-Policy` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    pub policy: QuotaPolicy,
    /// Requests left in the window (an estimate: blocks other instances
    /// hold count as used).
    pub remaining: i64,
    /// Seconds until the window ends.
    pub reset_secs: i64,
    /// Whether this request was refused.
    pub limited: bool,
}

/// Filled by the API extractors with the quota state of the request, read
/// by the `/v1` layer that adds the headers. The first charge of a request
/// wins, so a request that authenticates twice is counted once.
#[derive(Debug, Clone, Default)]
pub struct QuotaSlot(pub Arc<OnceLock<QuotaState>>);

#[derive(Debug)]
struct Local {
    window_start: i64,
    /// Requests left of the blocks this instance holds.
    left: i64,
    /// Requests every instance had leased at our last lease.
    leased_total: i64,
    /// The database had no more to lease in this window.
    exhausted: bool,
}

/// This instance's leases, per bucket.
#[derive(Debug)]
pub struct QuotaLeases {
    block: i64,
    local: Mutex<HashMap<String, Local>>,
}

/// Entries kept before old windows are swept out.
const MAX_ENTRIES: usize = 10_000;

impl QuotaLeases {
    /// Leases of `block` requests at a time (at least 1).
    pub fn new(block: i64) -> Self {
        Self {
            block: block.max(1),
            local: Mutex::new(HashMap::new()),
        }
    }

    fn state(policy: QuotaPolicy, l: &Local, reset_secs: i64, limited: bool) -> QuotaState {
        QuotaState {
            policy,
            remaining: (policy.limit - l.leased_total + l.left).clamp(0, policy.limit),
            reset_secs,
            limited,
        }
    }

    /// Serves one request of `bucket` from the local lease, or from a new
    /// one; `limited` when the window's quota is spent.
    pub async fn take(
        &self,
        db: &Db,
        bucket: &str,
        policy: QuotaPolicy,
        now: i64,
    ) -> Result<QuotaState, sqlx::Error> {
        let window = policy.window_secs.max(1);
        let window_start = now - now.rem_euclid(window);
        let reset_secs = window_start + window - now;
        if let Some(done) = self.serve_locally(bucket, policy, window_start, reset_secs) {
            return Ok(done);
        }
        // The lock is not held across the database call; two requests that
        // both find the lease empty both lease, and their blocks add up.
        let lease = db
            .lease_quota(bucket, window_start, self.block, policy.limit)
            .await?;
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, l| l.window_start >= window_start);
        }
        let entry = map.entry(bucket.to_owned()).or_insert(Local {
            window_start,
            left: 0,
            leased_total: 0,
            exhausted: false,
        });
        if entry.window_start != window_start {
            *entry = Local {
                window_start,
                left: 0,
                leased_total: 0,
                exhausted: false,
            };
        }
        match lease {
            Some(lease) if lease.last_grant > 0 => {
                entry.left += lease.last_grant - 1;
                entry.leased_total = entry.leased_total.max(lease.granted);
                Ok(Self::state(policy, entry, reset_secs, false))
            }
            _ => {
                entry.exhausted = true;
                entry.leased_total = policy.limit;
                Ok(Self::state(policy, entry, reset_secs, true))
            }
        }
    }

    fn serve_locally(
        &self,
        bucket: &str,
        policy: QuotaPolicy,
        window_start: i64,
        reset_secs: i64,
    ) -> Option<QuotaState> {
        let mut map = self.lock();
        let l = map.get_mut(bucket)?;
        if l.window_start != window_start {
            return None;
        }
        if l.left > 0 {
            l.left -= 1;
            return Some(Self::state(policy, l, reset_secs, false));
        }
        l.exhausted
            .then(|| Self::state(policy, l, reset_secs, true))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Local>> {
        // A panic while holding the lock leaves plain counters behind: still
        // usable, so a poisoned lock is taken over rather than failing.
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl QuotaState {
    /// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-10).
    pub fn policy_header(&self) -> String {
        format!(
            "\"default\";q={};w={}",
            self.policy.limit, self.policy.window_secs
        )
    }

    /// `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10).
    pub fn limit_header(&self) -> String {
        format!("\"default\";r={};t={}", self.remaining, self.reset_secs)
    }
}
