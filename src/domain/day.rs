//! A calendar day typed as `YYYY-MM-DD`, as the audit filters take it (the
//! org audit page and `GET /v1/orgs/{slug}/audit` parse it the same way).
//!
//! Invariant: a day is the UTC instant of its midnight, in unix seconds.

use time::macros::format_description;
use time::{Date, Time};

/// The start (UTC midnight) of the day `s`, or `None` if it is not a date
/// written as `YYYY-MM-DD`.
pub fn day_start(s: &str) -> Option<i64> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::day_start;

    #[test]
    fn only_iso_days_parse_to_their_midnight() {
        assert_eq!(day_start("1970-01-02"), Some(86_400));
        assert_eq!(day_start(" 2026-12-01 "), Some(1_796_083_200));
        for bad in ["", "yesterday", "2026-13-01", "01/12/2026", "2026-12-1x"] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }
}
