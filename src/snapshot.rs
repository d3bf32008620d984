//! The in-memory picture the web layer reads: "now" from the recorder, "history" (uptime and
//! day cells) from the periodic rollup read. Plain data published through `watch` channels,
//! so a page never waits on a probe or on SQLite for the current state.

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::model::{CheckId, State, Status};
use crate::probe::{Failure, TlsInfo};
use crate::uptime::DayCell;

/// Every configured check's current state, in the config's order.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
    /// Indexed like `config.checks`; a check with no probe yet is unknown.
    pub checks: Cells,
}

impl Snapshot {
    /// A snapshot with every check unknown, before any probe has run.
    pub fn empty(config: Arc<Config>) -> Snapshot {
        let checks = Cells::new(config.checks.len());
        Snapshot { config, checks }
    }

    /// The configured checks, in the config's order, paired with their state.
    pub fn iter(&self) -> impl Iterator<Item = (&Check, &CheckNow)> {
        self.config
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| (&**c, self.checks.get(i)))
    }

    /// One configured check by its id.
    pub fn get(&self, id: &str) -> Option<(&Check, &CheckNow)> {
        let i = self
            .config
            .checks
            .iter()
            .position(|c| c.id.as_str() == id)?;
        Some((&self.config.checks[i], self.checks.get(i)))
    }
}

/// Checks per shared chunk of [`Cells`].
const CHUNK: usize = 32;

/// Check states by position, kept in shared chunks of shared cells: a copy costs one pointer per
/// chunk, and changing a check after a copy was published copies its chunk's pointers alone, so
/// publishing "now" costs what changed since the last publish, not one clone per check.
#[derive(Clone, Debug, Default)]
pub struct Cells {
    chunks: Vec<Arc<Vec<Arc<CheckNow>>>>,
    len: usize,
}

impl Cells {
    /// `len` unknown checks, all sharing one cell.
    pub fn new(len: usize) -> Cells {
        let unknown = Arc::new(CheckNow::default());
        let chunks = (0..len.div_ceil(CHUNK))
            .map(|c| Arc::new(vec![unknown.clone(); CHUNK.min(len - c * CHUNK)]))
            .collect();
        Cells { chunks, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The state of the check at `index`; unknown past the end.
    pub fn get(&self, index: usize) -> &CheckNow {
        self.chunks
            .get(index / CHUNK)
            .and_then(|c| c.get(index % CHUNK))
            .map_or(&UNKNOWN, |c| &**c)
    }

    /// The shared cell at `index`, to carry it into another [`Cells`].
    pub fn cell(&self, index: usize) -> Option<Arc<CheckNow>> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK).cloned()
    }

    /// Replaces the state at `index` (nothing past the end).
    pub fn set(&mut self, index: usize, now: impl Into<Arc<CheckNow>>) {
        if let Some(chunk) = self.chunks.get_mut(index / CHUNK)
            && let Some(cell) = Arc::make_mut(chunk).get_mut(index % CHUNK)
        {
            *cell = now.into();
        }
    }
}

/// The state of a check before its first probe.
static UNKNOWN: CheckNow = CheckNow {
    state: None,
    last: None,
    incident: None,
};

/// One check's current state.
#[derive(Clone, Debug, Default)]
pub struct CheckNow {
    /// The state machine's state; see [`CheckNow::shown_state`] for what people see.
    pub state: Option<State>,
    pub last: Option<LastProbe>,
    /// The open incident, if any.
    pub incident: Option<i64>,
}

impl CheckNow {
    /// The state to show at `now`: unknown when no result came for too long, so that a stuck
    /// monitor never looks like a healthy service.
    pub fn shown_state(&self, check: &Check, now: Timestamp) -> State {
        let state = self.state.unwrap_or(State::Unknown);
        match &self.last {
            Some(last) if now.since(last.at.plus(last.latency)) <= check.stale_after() => state,
            _ => State::Unknown,
        }
    }
}

/// The latest probe of a check.
#[derive(Clone, Debug)]
pub struct LastProbe {
    pub at: Timestamp,
    pub status: Status,
    pub latency: std::time::Duration,
    pub code: Option<u16>,
    /// Boxed: most checks' last probe has none, and every check has a cell.
    pub failure: Option<Box<Failure>>,
    /// What its TLS handshake said of the certificate, for the check page: boxed, so a check
    /// without TLS carries a pointer, not the certificate's fields.
    pub tls: Option<Box<TlsInfo>>,
}

/// Uptime per window and the 90-day bar of every check, by slug.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub computed_at: Timestamp,
    /// By check id, shared with the config (no string per check and refresh).
    pub checks: HashMap<CheckId, CheckHistory>,
}

/// One check's history figures.
#[derive(Clone, Debug, Default)]
pub struct CheckHistory {
    /// Uptime over 24h, 7d, 30d and 90d, as in [`crate::uptime::WINDOWS`].
    pub uptime: [Option<f64>; 4],
    /// Shared with the previous history while it reads the same, so that an unchanged bar costs
    /// neither memory nor a new rendering.
    pub bar: Arc<DayBar>,
}

/// What a check's 90-day bar shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayBar {
    /// The last 90 days, oldest first, today last.
    pub days: Vec<DayCell>,
    /// The public incidents that touched those days, oldest first: each day of the bar lists
    /// the ones it overlaps.
    pub incidents: Vec<BarIncident>,
}

/// An incident as a day of the bar lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct BarIncident {
    pub id: i64,
    pub title: String,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

impl BarIncident {
    /// Whether the incident was open at some time in the day starting at `day`.
    pub fn touches(&self, day: Timestamp) -> bool {
        self.started_at.0 < day.0 + crate::clock::DAY_MS
            && self.resolved_at.is_none_or(|r| r.0 >= day.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> CheckNow {
        CheckNow {
            state: Some(State::Up),
            last: None,
            incident: None,
        }
    }

    #[test]
    fn cells_start_unknown_and_ignore_positions_past_the_end() {
        let mut cells = Cells::new(70);
        assert_eq!(cells.len(), 70);
        assert!((0..70).all(|i| cells.get(i).state.is_none()));
        cells.set(70, up());
        assert!(cells.get(70).state.is_none());
        assert!(Cells::new(0).is_empty());
    }

    #[test]
    fn a_published_copy_keeps_what_it_saw() {
        let mut cells = Cells::new(100);
        cells.set(40, up());
        let published = cells.clone();
        cells.set(40, CheckNow::default());
        cells.set(99, up());
        assert_eq!(published.get(40).state, Some(State::Up));
        assert!(published.get(99).state.is_none());
        assert!(cells.get(40).state.is_none());
        assert_eq!(cells.get(99).state, Some(State::Up));
        // Chunks nobody changed are still shared.
        assert!(Arc::ptr_eq(&published.chunks[0], &cells.chunks[0]));
        assert!(!Arc::ptr_eq(&published.chunks[1], &cells.chunks[1]));
    }
}
