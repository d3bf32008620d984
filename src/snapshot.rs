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

/// Every configured check's current state, by check id.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
    /// A check missing here has had no probe yet (its state is unknown).
    pub checks: HashMap<CheckId, CheckNow>,
}

/// The state of a check before its first probe.
static UNKNOWN: CheckNow = CheckNow {
    state: None,
    last: None,
    incident: None,
};

impl Snapshot {
    /// A snapshot with every check unknown, before any probe has run.
    pub fn empty(config: Arc<Config>) -> Snapshot {
        Snapshot {
            config,
            checks: HashMap::new(),
        }
    }

    /// The configured checks, in the config's order, paired with their state.
    pub fn iter(&self) -> impl Iterator<Item = (&Check, &CheckNow)> {
        self.config
            .checks
            .iter()
            .map(|c| (c, self.checks.get(&c.id).unwrap_or(&UNKNOWN)))
    }

    /// One configured check by its id.
    pub fn get(&self, id: &str) -> Option<(&Check, &CheckNow)> {
        let check = self.config.checks.iter().find(|c| c.id.as_str() == id)?;
        Some((check, self.checks.get(id).unwrap_or(&UNKNOWN)))
    }
}

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
    pub failure: Option<Failure>,
    /// What its TLS handshake said of the certificate, for the check page.
    pub tls: Option<TlsInfo>,
}

/// Uptime per window and the 90-day bar of every check, by slug.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub computed_at: Timestamp,
    pub checks: HashMap<String, CheckHistory>,
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
