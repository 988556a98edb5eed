//! Times as people read them: relative ("2 hours ago") with the exact UTC
//! time beside it for a `<time datetime title>` element.

use time::OffsetDateTime;
use time::macros::format_description;

/// A point in time ready for a template.
#[derive(Debug, Clone)]
pub struct Timestamp {
    /// RFC 3339, for the `datetime` attribute.
    pub iso: String,
    /// "2026-11-25 14:03 UTC", for the title and for tables.
    pub utc: String,
    /// "2 hours ago", "in 5 days".
    pub relative: String,
}

impl Timestamp {
    pub fn new(unix: i64, now: i64) -> Self {
        let at = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let iso = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let utc = at
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        Self {
            iso,
            utc,
            relative: relative(unix, now),
        }
    }
}

/// RFC 3339 in UTC, "2026-11-25T14:03:00Z" (the data export).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// "2026-11-25".
pub fn date(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// "14:03 UTC".
pub fn clock_time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(format_description!("[hour]:[minute] UTC"))
        .unwrap_or_default()
}

pub fn relative(unix: i64, now: i64) -> String {
    let delta = now - unix;
    let (n, unit) = match delta.abs() {
        0..=44 => {
            return if delta >= 0 {
                "just now".into()
            } else {
                "in a moment".into()
            };
        }
        45..=5399 => ((delta.abs() + 30) / 60, "minute"),
        5400..=129_599 => ((delta.abs() + 1800) / 3600, "hour"),
        _ => ((delta.abs() + 43_200) / 86_400, "day"),
    };
    let n = n.max(1);
    let plural = if n == 1 { "" } else { "s" };
    if delta >= 0 {
        format!("{n} {unit}{plural} ago")
    } else {
        format!("in {n} {unit}{plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1000, 1010), "just now");
        assert_eq!(relative(1000, 1000 + 60), "1 minute ago");
        assert_eq!(relative(1000, 1000 + 7200), "2 hours ago");
        assert_eq!(relative(1000, 1000 + 3 * 86_400), "3 days ago");
        assert_eq!(relative(1000 + 5 * 86_400, 1000), "in 5 days");
    }

    #[test]
    fn utc_format() {
        let t = Timestamp::new(1_764_079_380, 1_764_079_380);
        assert_eq!(t.utc, "2025-11-25 14:03 UTC");
        assert!(t.iso.starts_with("2025-11-25T14:03:00"));
    }
}
