//! The scheduler: enabled schedules enqueue runs when due.
//!
//! Invariant: **at most one run per schedule and due time**, however many
//! instances run this and however often. Each instance, on its interval,
//! calls `fire_due_schedules(db, now)`; for every live schedule of an active
//! workspace whose config says `enabled` (absent means enabled), it finds
//! the due times after the schedule's last fired one (`schedule_fires`; for
//! a schedule that never fired, after its creation) up to `now`, and fires
//! only the **latest** of them: after downtime, or after being re-enabled,
//! a schedule catches up with one run, not with every due time it missed.
//! The run is inserted with `ON CONFLICT (schedule_id, due_at) DO NOTHING`
//! on the unique index `runs_schedule_due`, so two instances firing at once
//! make one run, audited once (`db::runs::fire_schedule`).
//!
//! The schedule's agent is resolved by name in the schedule's own workspace
//! at fire time; a schedule whose agent is missing or deleted, or whose
//! config no longer parses, records nothing and is logged at warn.

use std::time::Duration;

use serde::Deserialize;

use crate::db::Db;
use crate::db::runs::{Fired, ScheduleForJob};
use crate::domain::schedule::Timing;
use crate::state::AppState;

/// How often each instance looks for due schedules. Cron's resolution is a
/// minute; a run is queued at most this long after its due time.
pub const INTERVAL: Duration = Duration::from_secs(20);

/// The fields of a schedule's config the scheduler reads.
#[derive(Debug, Deserialize)]
struct ScheduleConfig {
    agent: String,
    cron: String,
    timezone: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// What one pass did, for the log and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Runs queued by this pass.
    pub queued: usize,
    /// Due times another instance had queued first.
    pub already_fired: usize,
    /// Schedules skipped: agent missing, or config unreadable.
    pub skipped: usize,
}

/// The latest due time of `timing` in `(after, now]`, if any. The search
/// starts from a window just before `now` (an hour, a day, a month, a year,
/// then `after` itself), so a frequent schedule that missed a long time
/// costs a few steps, not one per missed due time.
pub fn latest_due(timing: &Timing, after: i64, now: i64) -> Option<i64> {
    const WINDOWS: [i64; 4] = [3_600, 86_400, 32 * 86_400, 367 * 86_400];
    let starts = WINDOWS
        .iter()
        .map(|w| now.saturating_sub(*w))
        .filter(|s| *s > after)
        .chain(std::iter::once(after));
    for start in starts {
        let mut latest = None;
        let mut cursor = start;
        while let Some(next) = timing.next_after(cursor) {
            if next > now {
                break;
            }
            latest = Some(next);
            cursor = next;
        }
        if latest.is_some() {
            return latest;
        }
    }
    None
}

/// One pass of the scheduler at `now` (unix seconds).
pub async fn fire_due_schedules(db: &Db, now: i64) -> Result<Pass, sqlx::Error> {
    let mut pass = Pass::default();
    for schedule in db.schedules_for_job().await? {
        let Some((config, timing)) = readable(&schedule) else {
            pass.skipped += 1;
            continue;
        };
        if !config.enabled {
            continue;
        }
        let after = schedule.last_due_at.unwrap_or(schedule.created_at);
        let Some(due) = latest_due(&timing, after, now) else {
            continue;
        };
        match db.fire_schedule(&schedule, &config.agent, due, now).await? {
            Fired::Queued => pass.queued += 1,
            Fired::AlreadyFired => pass.already_fired += 1,
            Fired::NoAgent => {
                pass.skipped += 1;
                tracing::warn!(
                    schedule_id = %schedule.id, agent = %config.agent, due_at = due,
                    "schedule not fired: its agent is missing or deleted"
                );
            }
        }
    }
    Ok(pass)
}

fn readable(schedule: &ScheduleForJob) -> Option<(ScheduleConfig, Timing)> {
    let config: ScheduleConfig = match serde_json::from_str(&schedule.config) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(schedule_id = %schedule.id, error = %e, "schedule config unreadable");
            return None;
        }
    };
    match Timing::parse(&config.cron, &config.timezone) {
        Ok(t) => Some((config, t)),
        Err(e) => {
            tracing::warn!(schedule_id = %schedule.id, error = %e, "schedule timing unreadable");
            None
        }
    }
}

/// Runs the scheduler on `INTERVAL` for as long as the process serves
/// (`server::serve`; tests call `fire_due_schedules` themselves).
pub fn spawn(state: &AppState) {
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match fire_due_schedules(&db, clock.unix()).await {
                Ok(pass) if pass.queued > 0 => {
                    tracing::info!(queued = pass.queued, "scheduled runs queued");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "scheduler pass failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const T0: i64 = 1_767_225_600;

    #[test]
    fn only_the_latest_missed_due_time_is_fired() {
        let every = Timing::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(latest_due(&every, T0, T0 + 899), None);
        assert_eq!(latest_due(&every, T0, T0 + 900), Some(T0 + 900));
        assert_eq!(latest_due(&every, T0, T0 + 3 * 900 + 5), Some(T0 + 3 * 900));
        // A month of downtime: still one due time, the latest.
        let later = T0 + 30 * 86_400 + 60;
        assert_eq!(latest_due(&every, T0, later), Some(T0 + 30 * 86_400));
        // Nothing after the last fired one.
        assert_eq!(latest_due(&every, T0 + 900, T0 + 900), None);
    }

    #[test]
    fn a_rare_schedule_is_found_beyond_the_short_windows() {
        // Yearly, on 1 January at midnight UTC: 40 days later it is T0.
        let yearly = Timing::parse("0 0 1 1 *", "UTC").unwrap();
        assert_eq!(latest_due(&yearly, T0 - 1, T0 + 40 * 86_400), Some(T0));
        assert_eq!(latest_due(&yearly, T0, T0 + 40 * 86_400), None);
    }
}
