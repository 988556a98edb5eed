//! A schedule's timing: a five-field cron expression (parsed by `croner`)
//! evaluated in an IANA time zone (`chrono-tz`'s compiled-in database), and
//! the due times it yields. Both parsers answer with a message fit to show
//! beside the field.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// A checked cron expression and time zone.
#[derive(Debug, Clone)]
pub struct Timing {
    cron: Cron,
    tz: Tz,
}

/// Parses a five-field cron expression (minute hour day-of-month month
/// day-of-week), e.g. `*/15 * * * *`.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    let expr = expr.trim();
    if expr.split_whitespace().count() != 5 {
        return Err(
            "A cron expression has five fields: minute, hour, day of month, month, day of week \
             (e.g. `0 9 * * 1-5`)."
                .to_owned(),
        );
    }
    Cron::from_str(expr).map_err(|e| format!("This is not a valid cron expression: {e}."))
}

/// Parses an IANA time zone name, e.g. `Europe/Paris` or `UTC`.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| "Enter an IANA time zone name, e.g. `UTC` or `Europe/Paris`.".to_owned())
}

impl Timing {
    pub fn parse(cron: &str, timezone: &str) -> Result<Timing, String> {
        Ok(Timing {
            cron: parse_cron(cron)?,
            tz: parse_timezone(timezone)?,
        })
    }

    /// The first due time strictly after `after` (unix seconds), if any.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start: DateTime<Tz> = self
            .tz
            .from_utc_datetime(&DateTime::<Utc>::from_timestamp(after, 0)?.naive_utc());
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|t| t.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_and_known_zones_only() {
        assert!(parse_cron("*/15 * * * *").is_ok());
        assert!(parse_cron("* * * *").is_err());
        assert!(parse_cron("0 0 * * * *").is_err());
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_timezone("Europe/Paris").is_ok());
        assert!(parse_timezone("Mars/Olympus").is_err());
    }

    #[test]
    fn due_times_follow_the_time_zone() {
        // 2026-01-01T00:00:00Z; 09:00 in Paris (UTC+1 in winter) is 08:00Z.
        let t = Timing::parse("0 9 * * *", "Europe/Paris").unwrap();
        assert_eq!(t.next_after(1_767_225_600), Some(1_767_225_600 + 8 * 3600));
        let every = Timing::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(every.next_after(1_767_225_600), Some(1_767_225_600 + 900));
    }
}
