//! The 90-day bar's cells: each day's level (the worst state seen) and its uptime, kept small
//! and compared by what they show. Pure; no I/O, no clock.

use super::Rollup;
use crate::clock::{DAY_MS, Timestamp};

/// The colour of one day on the bar: the worst state seen that day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayLevel {
    NoData,
    Up,
    Degraded,
    /// Down, but for less than [`MAJOR_OUTAGE_MS`] that day.
    Partial,
    Down,
    Maintenance,
}

/// A day with at least this much downtime is a major outage on the bar; less is partial.
pub const MAJOR_OUTAGE_MS: i64 = 3_600_000;

impl DayLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DayLevel::NoData => "nodata",
            DayLevel::Up => "up",
            DayLevel::Degraded => "degraded",
            DayLevel::Partial => "partial",
            DayLevel::Down => "down",
            DayLevel::Maintenance => "maintenance",
        }
    }
}

/// One cell of the 90-day bar: 24 bytes, since a daemon keeps 90 per check.
#[derive(Clone, Copy, Debug)]
pub struct DayCell {
    pub day: Timestamp,
    /// Outage and observed time that day; a day has fewer than 2³² ms.
    pub down_ms: u32,
    pub observed_ms: u32,
    pub level: DayLevel,
}

/// Cells are equal when they read the same: same day, level and downtime, and the same uptime
/// to the hundredth of a percent shown. Today's cell changes its observed time with every probe,
/// and an unchanged bar is then kept instead of rebuilt.
impl PartialEq for DayCell {
    fn eq(&self, other: &DayCell) -> bool {
        let shown = |c: &DayCell| c.uptime().map(|u| (u * 10_000.0).floor() as i64);
        self.day == other.day
            && self.level == other.level
            && self.down_ms == other.down_ms
            && shown(self) == shown(other)
    }
}

impl DayCell {
    pub fn new(day: Timestamp, rollup: Option<&Rollup>) -> DayCell {
        let r = rollup.copied().unwrap_or_default();
        let level = if r.down_ms >= MAJOR_OUTAGE_MS {
            DayLevel::Down
        } else if r.down_ms > 0 {
            DayLevel::Partial
        } else if r.degraded_ms > 0 {
            DayLevel::Degraded
        } else if r.up_ms > 0 {
            DayLevel::Up
        } else if r.maintenance_ms > 0 {
            DayLevel::Maintenance
        } else {
            DayLevel::NoData
        };
        let clamp = |ms: i64| u32::try_from(ms.clamp(0, DAY_MS)).unwrap_or(u32::MAX);
        DayCell {
            day,
            level,
            down_ms: clamp(r.down_ms),
            observed_ms: clamp(r.observed_ms()),
        }
    }

    /// The day's uptime as a ratio; `None` when nothing was observed.
    pub fn uptime(&self) -> Option<f64> {
        (self.observed_ms > 0).then(|| {
            1.0 - f64::from(self.down_ms.min(self.observed_ms)) / f64::from(self.observed_ms)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HOUR_MS;

    #[test]
    fn day_cells_are_equal_when_they_read_the_same() {
        let cell = |up_ms, down_ms| {
            let r = Rollup {
                up_ms,
                down_ms,
                ..Rollup::default()
            };
            DayCell::new(Timestamp(0), Some(&r))
        };
        assert_eq!(std::mem::size_of::<DayCell>(), 24);
        assert_eq!(cell(HOUR_MS, 0), cell(2 * HOUR_MS, 0), "100% both");
        assert_eq!(
            cell(HOUR_MS, 60_000),
            cell(HOUR_MS + 1, 60_000),
            "same hundredth"
        );
        assert_ne!(cell(HOUR_MS, 60_000), cell(2 * HOUR_MS, 60_000));
        assert_ne!(cell(HOUR_MS, 0), cell(0, 0), "no data is not up");
        assert_eq!(
            cell(HOUR_MS, 60_000).uptime(),
            Some(1.0 - 60_000.0 / (HOUR_MS + 60_000) as f64)
        );
    }
}
