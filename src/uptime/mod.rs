//! Uptime arithmetic over rollups: per-hour and per-day figures, windows, and day cells.
//!
//! Uptime = 1 − down / (up + degraded + down): maintenance time is left out, and time without
//! data (watchpost not running, or no verdict yet) is in none of the columns, so it is out of
//! the denominator. Pure functions; no I/O, no clock.
//!
//! Split by concern: [`Rollup`] (one hour or day of figures), spans of observed time into
//! rollups, windows and ranges, and the bar's day cells; this file keeps the shared [`Deltas`]
//! and the percent formatting, and re-exports the rest under `crate::uptime`.

mod days;
mod rollup;
mod spans;
mod windows;

use std::collections::HashMap;

use crate::clock::Timestamp;

pub use days::{DayCell, DayLevel, MAJOR_OUTAGE_MS};
pub use rollup::{FINE_BOUNDS_US, LATENCY_BOUNDS_MS, PHASES, Rollup};
pub use spans::{add_span, add_to_days};
pub use windows::{Cover, WINDOWS, cover, windows};

/// Rollup deltas keyed by bucket start, for one granularity.
pub type Deltas = HashMap<Timestamp, Rollup>;

/// Formats an uptime ratio as people read it: `99.95%`, never rounding a loss up to 100%.
pub fn percent(ratio: Option<f64>) -> String {
    match ratio {
        None => "no data".to_string(),
        Some(r) if r >= 1.0 => "100%".to_string(),
        Some(r) => {
            let floored = (r * 10_000.0).floor() / 100.0;
            format!("{floored:.2}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_never_rounds_a_loss_up_to_a_full_hundred() {
        assert_eq!(percent(Some(0.999_999)), "99.99%");
        assert_eq!(percent(Some(1.0)), "100%");
        assert_eq!(percent(None), "no data");
    }
}
