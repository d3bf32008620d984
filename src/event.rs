//! What happened: one typed [`Event`] per change that people or probes make to checks,
//! incidents and maintenance windows.
//!
//! `actions` decides every change and the event it causes; the store writer publishes the event
//! on a broadcast channel once its transaction has committed, in commit order, so a subscriber
//! (the history refresh today; notifications, metrics and other nodes later) never hears of a
//! change that was not stored. Plain data: no I/O here.

use crate::clock::Timestamp;
use crate::model::{CheckId, Impact, IncidentKind, IncidentStatus, State};

/// Events kept for a subscriber that falls behind; past this it is told how many it missed.
/// Every subscriber copes with a miss (the history refresh then reads everything, the
/// subscribers' mailer only wakes to read its queue), and the channel's slots are allocated up
/// front: 256 holds any burst short of hundreds of checks changing at once, in 40 KB, not 565.
pub const BACKLOG: usize = 256;

/// One change, as subscribers hear of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A check's state changed, dated to the first probe of the streak that caused it.
    CheckChanged {
        check: CheckId,
        from: State,
        to: State,
        at: Timestamp,
    },
    /// An incident was opened by the probes or declared by an admin.
    IncidentOpened {
        id: i64,
        kind: IncidentKind,
        impact: Impact,
        title: String,
        checks: Vec<CheckId>,
        at: Timestamp,
        /// The first entry of its timeline (for an automatic one, the first failing probe's error
        /// in its public form).
        body: String,
    },
    /// An entry was added to an incident's timeline, by an admin or by watchpost.
    IncidentUpdated {
        id: i64,
        status: IncidentStatus,
        body: String,
        /// `None` for watchpost's own entries.
        author: Option<String>,
        at: Timestamp,
    },
    /// An incident's title, impact, checks, cause, postmortem or hold changed.
    IncidentEdited { id: i64, at: Timestamp },
    /// An incident ended.
    IncidentResolved {
        id: i64,
        started_at: Timestamp,
        at: Timestamp,
        body: String,
    },
    /// An incident was marked (or unmarked) a false alarm: hidden from the public, its time
    /// given back to uptime.
    FalseAlarm {
        id: i64,
        false_alarm: bool,
        at: Timestamp,
    },
    /// A one-off maintenance window was planned, changed or cancelled.
    Maintenance {
        id: i64,
        change: Planning,
        window: WindowInfo,
    },
    /// A maintenance window (one-off or an occurrence of a recurring one) began or ended.
    MaintenanceTime {
        id: Option<i64>,
        phase: WindowPhase,
        window: WindowInfo,
    },
    /// An admin put a dead letter of the outbox back, to be delivered again.
    NotificationRetried { id: i64, at: Timestamp },
    /// A check's TLS certificate came within `days` of its expiry, for the first time for this
    /// certificate and this many days (a threshold of `[notifications] cert_expiry_days`).
    CertExpiring {
        check: CheckId,
        days: u32,
        cert: CertInfo,
        /// The probe that saw it.
        at: Timestamp,
    },
}

/// A certificate as its expiry notices name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// SHA-256 of the certificate, in hex.
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    /// The earliest `notAfter` of the chain presented.
    pub expires: Timestamp,
}

/// What an admin did to a maintenance window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Planning {
    Planned,
    Edited,
    Cancelled,
}

/// Whether a window began or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowPhase {
    Started,
    Ended,
}

/// A maintenance window as events describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowInfo {
    pub title: String,
    pub checks: Vec<CheckId>,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Event {
    /// Whether the event changes what uptime, the bars or the incident lists show.
    pub fn touches_history(&self) -> bool {
        !matches!(
            self,
            Event::Maintenance { .. }
                | Event::MaintenanceTime { .. }
                | Event::CertExpiring { .. }
                | Event::NotificationRetried { .. }
        )
    }
}
