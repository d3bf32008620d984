//! Wall-clock instants as whole milliseconds since the Unix epoch, in UTC.
//!
//! Results, incidents and rollups are keyed by these numbers, so the arithmetic of hours, days and
//! windows lives here. This module never sleeps and never schedules anything.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds in one hour and one day, the two rollup granularities.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// A UTC instant with millisecond precision, as stored in SQLite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// The last instant of the year 9999.
pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    pub fn ms(self) -> i64 {
        self.0
    }

    /// Start of the UTC hour containing this instant.
    pub fn hour_start(self) -> Timestamp {
        Timestamp(self.0.div_euclid(HOUR_MS) * HOUR_MS)
    }

    /// Start of the UTC day containing this instant.
    pub fn day_start(self) -> Timestamp {
        Timestamp(self.0.div_euclid(DAY_MS) * DAY_MS)
    }

    /// The first UTC hour boundary at or after this instant.
    pub fn hour_ceil(self) -> Timestamp {
        Timestamp(self.0.saturating_add(HOUR_MS - 1)).hour_start()
    }

    /// The first UTC midnight at or after this instant.
    pub fn day_ceil(self) -> Timestamp {
        Timestamp(self.0.saturating_add(DAY_MS - 1)).day_start()
    }

    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_ms(d)))
    }

    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(duration_ms(d)))
    }

    /// Time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(self.0.unsigned_abs())
        }
    }

    /// RFC 3339 in UTC with second precision, as the APIs and feeds print it. Total: an instant
    /// outside the years 1970 to 9999 prints clamped to them, never panics.
    pub fn rfc3339(self) -> String {
        self.clamped().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// RFC 3339 in UTC with millisecond precision, for raw results several of which share a second.
    pub fn rfc3339_millis(self) -> String {
        self.clamped().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    fn clamped(self) -> chrono::DateTime<chrono::Utc> {
        Timestamp(self.0.clamp(0, MAX.0)).to_chrono()
    }

    /// Parses RFC 3339 with any offset (`2026-11-22T23:34:37Z`, `2026-11-23T01:34:37.5+02:00`),
    /// as query parameters carry it; `None` when it is not RFC 3339 or not in the years 1970 to
    /// 9999, the instants watchpost can store and print.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp(t.timestamp_millis()))
            .filter(|t| (0..=MAX.0).contains(&t.0))
    }

    /// The same instant as a chrono UTC date-time, for the feed crates (the epoch if out of range).
    pub fn to_chrono(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// The UTC calendar date, `YYYY-MM-DD`.
    pub fn date(self) -> String {
        let s = self.rfc3339();
        s[..10].to_string()
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(duration_ms(d)),
            Err(e) => Timestamp(-duration_ms(e.duration())),
        }
    }
}

/// A duration in whole milliseconds, saturating at `i64::MAX`.
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_and_hour_boundaries_are_utc() {
        // 2026-11-22T23:34:37.500Z
        let t = Timestamp(1_795_390_477_500);
        assert_eq!(t.rfc3339(), "2026-11-22T23:34:37Z");
        assert_eq!(t.day_start().rfc3339(), "2026-11-22T00:00:00Z");
        assert_eq!(t.hour_start().rfc3339(), "2026-11-22T23:00:00Z");
        assert_eq!(t.date(), "2026-11-22");
        assert_eq!(t.rfc3339_millis(), "2026-11-22T23:34:37.500Z");
        assert_eq!(t.hour_ceil().rfc3339(), "2026-11-23T00:00:00Z");
        assert_eq!(t.day_ceil().rfc3339(), "2026-11-23T00:00:00Z");
        assert_eq!(t.hour_start().hour_ceil(), t.hour_start());
    }

    #[test]
    fn instants_outside_1970_to_9999_are_refused_and_never_panic() {
        assert_eq!(Timestamp::parse_rfc3339("1960-01-01T00:00:00Z"), None);
        assert_eq!(Timestamp::parse_rfc3339("+10000-01-01T00:00:00Z"), None);
        assert_eq!(
            Timestamp::parse_rfc3339("9999-12-31T23:59:59.999Z"),
            Some(MAX)
        );
        assert_eq!(Timestamp(-5).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(i64::MAX).rfc3339(), "9999-12-31T23:59:59Z");
        assert_eq!(Timestamp(1500).rfc3339_millis(), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn rfc3339_with_an_offset_is_the_same_instant() {
        let z = Timestamp::parse_rfc3339("2026-11-22T23:34:37.5Z");
        assert_eq!(z, Some(Timestamp(1_795_390_477_500)));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-23T01:34:37.5+02:00"), z);
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22"), None);
    }
}
