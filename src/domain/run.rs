//! The life of a run (DESIGN.md §1: Gatehouse records runs, an executor
//! performs them): `queued` → `running` | `cancelled`; `running` →
//! `succeeded` | `failed` | `cancelled`. The three last states are terminal:
//! nothing leaves them. `RunStatus::can_become` is the one statement of that
//! rule; storage checks it again with a conditional update so that two
//! executors racing cannot both win.

use std::fmt;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    /// As stored (`runs.status`), in the API and in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// A run in a terminal state never changes again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// Whether a run in `self` may move to `next`.
    pub fn can_become(self, next: RunStatus) -> bool {
        use RunStatus::*;
        matches!(
            (self, next),
            (Queued, Running)
                | (Queued, Cancelled)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Cancelled)
        )
    }
}

/// The largest input (or output) document a run holds, serialized.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Checks a run's input typed as text (the page's textarea): empty means no
/// input; otherwise one JSON document of at most 64 KiB, stored compact.
pub fn parse_input(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err("The input is larger than 64 KiB.".to_owned());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        "Enter a JSON document (e.g. {\"prompt\": \"hello\"}), or nothing.".to_owned()
    })?;
    document(&value).map(Some)
}

/// A JSON document as stored, if it is at most 64 KiB.
pub fn document(value: &serde_json::Value) -> Result<String, String> {
    let text = value.to_string();
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err("This document is larger than 64 KiB.".to_owned());
    }
    Ok(text)
}

/// An instant of a history filter: unix seconds, an RFC 3339 date-time
/// (`2026-12-01T09:30:00Z`) or a day (`2026-12-01`, its UTC midnight).
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Some(day) = crate::domain::day::day_start(s) {
        return Some(day);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RunStatus::{self, *};

    #[test]
    fn every_pair_of_states_follows_the_life_of_a_run() {
        let legal = [
            (Queued, Running),
            (Queued, Cancelled),
            (Running, Succeeded),
            (Running, Failed),
            (Running, Cancelled),
        ];
        for from in RunStatus::ALL {
            for to in RunStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn terminal_states_are_final() {
        for from in RunStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            assert!(RunStatus::ALL.iter().all(|&to| !from.can_become(to)));
        }
        assert!(!Queued.is_terminal() && !Running.is_terminal());
    }

    #[test]
    fn input_is_one_json_document_of_at_most_64_kib() {
        use super::{MAX_DOCUMENT_BYTES, parse_input};
        assert_eq!(parse_input("  "), Ok(None));
        assert_eq!(
            parse_input(r#"{ "a": 1 }"#),
            Ok(Some(r#"{"a":1}"#.to_owned()))
        );
        assert!(parse_input("{oops").is_err());
        let big = format!("\"{}\"", "x".repeat(MAX_DOCUMENT_BYTES));
        assert!(parse_input(&big).is_err());
    }

    #[test]
    fn filter_instants_take_three_spellings() {
        use super::parse_instant;
        assert_eq!(parse_instant("86400"), Some(86_400));
        assert_eq!(parse_instant("1970-01-02"), Some(86_400));
        assert_eq!(parse_instant("1970-01-02T00:00:10Z"), Some(86_410));
        assert_eq!(parse_instant("soon"), None);
    }

    #[test]
    fn names_round_trip() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("done"), None);
    }
}
