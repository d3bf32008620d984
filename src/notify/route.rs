//! Routing: which destinations hear of which event, and what the message says. A pure function
//! the store writer calls inside the transaction that commits the event, so a notification exists
//! exactly when its event was committed.
//!
//! Decides the filters (checks, groups, severity, `send_resolved`), which events operators hear
//! of at all, and the reminder schedule. No I/O, no clock, no SQL: the writer reads the incident's
//! facts and hands them in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::message::{CertNote, CheckRef, Message, What};
use super::public::{self, Audience};
use crate::clock::Timestamp;
use crate::config::{Check, Config, Target};
use crate::event::{CertInfo, Event, Planning, WindowInfo, WindowPhase};
use crate::model::{CheckId, Impact, IncidentStatus, State};
use crate::probe::fmt_duration;

/// A certificate expiry notice this many days ahead or fewer is major; earlier ones are minor.
pub const CERT_MAJOR_DAYS: u32 = 1;

/// The longest gap between two reminders.
pub const MAX_REMINDER_GAP: Duration = Duration::from_secs(24 * 3600);

/// What the writer needs to route events: the destinations and the checks' names and groups.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    routes: Vec<Route>,
    /// The configured checks by id, shared with the config (their names and groups name them).
    checks: HashMap<CheckId, Arc<Check>>,
    /// Public email subscriptions, when `[subscriptions] email` is on.
    public: Option<Audience>,
}

#[derive(Clone, Debug)]
struct Route {
    name: String,
    checks: Vec<CheckId>,
    groups: Vec<String>,
    min_severity: Impact,
    send_resolved: bool,
    remind_every: Option<Duration>,
    /// PagerDuty hears of incidents only, and pages again by itself.
    incidents_only: bool,
}

impl Routing {
    pub fn new(config: &Config) -> Routing {
        let routes = config
            .notify
            .destinations
            .iter()
            .map(|d| Route {
                name: d.name.clone(),
                checks: d.checks.clone(),
                groups: d.groups.clone(),
                min_severity: d.min_severity,
                send_resolved: d.send_resolved,
                remind_every: d.remind_every,
                incidents_only: matches!(d.target, Target::PagerDuty { .. }),
            })
            .collect();
        let checks = config
            .checks
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect();
        let public = config.subscriptions.email.then(|| Audience::new(config));
        Routing {
            routes,
            checks,
            public,
        }
    }

    /// The destinations' names, subscribers' included when they are mailed.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let public = self.public.as_ref().map(|_| public::DESTINATION);
        self.routes.iter().map(|r| r.name.as_str()).chain(public)
    }

    /// Who the public is, when subscribers are mailed.
    pub fn public(&self) -> Option<&Audience> {
        self.public.as_ref()
    }

    /// The first reminder gap of `destination`, if it sends reminders.
    pub fn remind_every(&self, destination: &str) -> Option<Duration> {
        let route = self.routes.iter().find(|r| r.name == destination)?;
        route.remind_every.filter(|_| !route.incidents_only)
    }

    fn check(&self, id: &CheckId) -> CheckRef {
        CheckRef::named(&self.checks, id)
    }
}

/// What the store knows of the incident an event is about.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentFacts {
    pub title: String,
    pub impact: Impact,
    pub checks: Vec<CheckId>,
    pub started_at: Timestamp,
    pub resolved: bool,
    /// The first failing probe kept as evidence, for an automatic incident.
    pub first_failure: Option<FirstFailure>,
}

/// The first failing probe of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstFailure {
    pub at: Timestamp,
    pub code: Option<u16>,
    pub latency: Duration,
    pub message: Option<String>,
}

impl FirstFailure {
    /// The evidence line: the error, the status code and the timing.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(code) = self.code {
            parts.push(format!("HTTP {code}"));
        }
        parts.push(format!("after {}", fmt_duration(self.latency)));
        parts.push(format!("at {}", self.at.rfc3339()));
        let what = self.message.as_deref().unwrap_or("failed");
        format!("{what} ({})", parts.join(", "))
    }
}

/// One outbox row to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub destination: String,
    /// The event's name ([`What::as_str`]), the first part of the idempotency key.
    pub kind: &'static str,
    /// The incident's or window's id, the second part of the key.
    pub subject: String,
    /// The [`Message`] as JSON.
    pub payload: String,
    pub due: Timestamp,
}

/// The incident whose facts routing `event` needs, if any.
pub fn incident_of(event: &Event) -> Option<i64> {
    match event {
        Event::IncidentOpened { id, .. }
        | Event::IncidentUpdated { id, .. }
        | Event::IncidentResolved { id, .. }
        | Event::FalseAlarm { id, .. } => Some(*id),
        _ => None,
    }
}

/// The rows `event`, committed at `now`, makes: one per destination that wants it, and the
/// first reminder of an opened incident for those that send reminders.
pub fn route(
    routing: &Routing,
    event: &Event,
    facts: Option<&IncidentFacts>,
    now: Timestamp,
) -> Vec<Outgoing> {
    let Some((mut message, checks)) = message(routing, event, facts) else {
        return Vec::new();
    };
    if matches!(
        message.what,
        What::MaintenancePlanned | What::MaintenanceCancelled
    ) {
        message.at_ms = now.0;
    }
    let subject = match (message.incident, message.window) {
        (Some(id), _) => id.to_string(),
        (None, Some(id)) => format!("w{id}"),
        (None, None) => match (&message.cert, checks.first()) {
            // One notice per check, certificate and threshold.
            (Some(c), Some(check)) => {
                format!(
                    "c:{check}:{}:{}",
                    c.fingerprint.get(..16).unwrap_or(""),
                    c.days
                )
            }
            // A recurring window has no id: its start names the occurrence.
            _ => format!("r{}", message.started_ms.unwrap_or(message.at_ms)),
        },
    };
    let Ok(payload) = serde_json::to_string(&message) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for route in routing
        .routes
        .iter()
        .filter(|r| wants(routing, r, &message, &checks))
    {
        rows.push(Outgoing {
            destination: route.name.clone(),
            kind: message.what.as_str(),
            subject: subject.clone(),
            payload: payload.clone(),
            due: now,
        });
        if message.what == What::Opened
            && let Some(every) = routing.remind_every(&route.name)
        {
            let reminder = Message {
                what: What::Reminder,
                ..message.clone()
            };
            if let Ok(payload) = serde_json::to_string(&reminder) {
                rows.push(Outgoing {
                    destination: route.name.clone(),
                    kind: What::Reminder.as_str(),
                    subject: subject.clone(),
                    payload,
                    due: now.plus(reminder_gap(every, 1)),
                });
            }
        }
    }
    rows
}

/// The wait before reminder `n` (1 for the first): `every`, doubling each time, at most a day.
pub fn reminder_gap(every: Duration, n: u32) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
    every.saturating_mul(factor).min(MAX_REMINDER_GAP)
}

/// Whether `route` wants `m`, about `checks`.
fn wants(routing: &Routing, route: &Route, m: &Message, checks: &[CheckId]) -> bool {
    let rated = m.what.is_incident() || m.what == What::CertExpiring;
    if rated && m.impact.is_none_or(|i| i < route.min_severity) {
        return false;
    }
    if m.what == What::Resolved && !route.send_resolved {
        return false;
    }
    if route.incidents_only && (!m.what.is_incident() || m.what == What::Reminder) {
        return false;
    }
    if route.checks.is_empty() && route.groups.is_empty() {
        return true;
    }
    checks.iter().any(|c| {
        route.checks.contains(c)
            || routing
                .checks
                .get(c)
                .is_some_and(|check| route.groups.contains(&check.group))
    })
}

/// The message `event` makes for operators, with the checks it is about; `None` for events they
/// do not hear of (state changes, edits, watchpost's own timeline entries, edited windows).
fn message(
    routing: &Routing,
    event: &Event,
    facts: Option<&IncidentFacts>,
) -> Option<(Message, Vec<CheckId>)> {
    let blank = |what: What, id: i64, at: Timestamp| {
        let checks = facts.map(|f| f.checks.clone()).unwrap_or_default();
        let m = Message {
            what,
            incident: Some(id),
            window: None,
            title: facts.map_or_else(|| format!("Incident {id}"), |f| f.title.clone()),
            impact: facts.map(|f| f.impact),
            state: facts.map(|f| f.impact.state()),
            checks: checks.iter().map(|c| routing.check(c)).collect(),
            evidence: facts
                .and_then(|f| f.first_failure.as_ref())
                .map(FirstFailure::line),
            body: String::new(),
            author: None,
            at_ms: at.0,
            started_ms: facts.map(|f| f.started_at.0),
            ends_ms: None,
            cert: None,
        };
        (m, checks)
    };
    match event {
        Event::IncidentOpened {
            id,
            impact,
            title,
            checks,
            at,
            body,
            ..
        } => {
            let (mut m, _) = blank(What::Opened, *id, *at);
            m.title = title.clone();
            m.impact = Some(*impact);
            m.state = Some(impact.state());
            m.checks = checks.iter().map(|c| routing.check(c)).collect();
            m.body = body.clone();
            m.started_ms = Some(at.0);
            Some((m, checks.clone()))
        }
        Event::IncidentUpdated {
            id,
            status,
            body,
            author: Some(author),
            at,
        } => {
            let resolved = *status == IncidentStatus::Resolved;
            let what = if resolved {
                What::Resolved
            } else {
                What::Updated
            };
            let (mut m, checks) = blank(what, *id, *at);
            m.body = format!("{}: {body}", status.as_str());
            m.author = Some(author.clone());
            if resolved {
                m.state = Some(State::Up);
            }
            Some((m, checks))
        }
        Event::IncidentResolved {
            id,
            started_at,
            at,
            body,
        } => {
            let (mut m, checks) = blank(What::Resolved, *id, *at);
            m.state = Some(State::Up);
            m.started_ms = Some(started_at.0);
            m.body = body.clone();
            Some((m, checks))
        }
        Event::FalseAlarm {
            id,
            false_alarm: true,
            at,
        } => {
            let (mut m, checks) = blank(What::FalseAlarm, *id, *at);
            m.state = Some(State::Up);
            m.body = "An admin marked this incident a false alarm: it is hidden from the public \
                      page and its time counts as up."
                .into();
            Some((m, checks))
        }
        Event::Maintenance { id, change, window } => {
            let what = match change {
                Planning::Planned => What::MaintenancePlanned,
                Planning::Cancelled => What::MaintenanceCancelled,
                Planning::Edited => return None,
            };
            Some(window_message(routing, what, Some(*id), window, None))
        }
        Event::MaintenanceTime { id, phase, window } => {
            let (what, state, at) = match phase {
                WindowPhase::Started => (
                    What::MaintenanceStarted,
                    Some(State::Maintenance),
                    window.start,
                ),
                WindowPhase::Ended => (What::MaintenanceEnded, None, window.end),
            };
            let (mut m, checks) = window_message(routing, what, *id, window, state);
            m.at_ms = at.0;
            Some((m, checks))
        }
        Event::CertExpiring {
            check,
            days,
            cert,
            at,
        } => Some((
            cert_message(routing, check, *days, cert, *at),
            vec![check.clone()],
        )),
        _ => None,
    }
}

/// A certificate expiry notice: minor, but major on the last day (`CERT_MAJOR_DAYS`), so a
/// destination with `min_severity = "major"` hears only of the last call.
fn cert_message(
    routing: &Routing,
    check: &CheckId,
    days: u32,
    cert: &CertInfo,
    at: Timestamp,
) -> Message {
    let named = routing.check(check);
    let note = CertNote {
        days,
        fingerprint: cert.fingerprint.clone(),
        subject: cert.subject.clone(),
        issuer: cert.issuer.clone(),
        expires_ms: cert.expires.0,
    };
    let left = note.left(at);
    let title = if cert.expires.0 <= at.0 {
        format!("The TLS certificate of {} has expired", named.name)
    } else {
        format!("The TLS certificate of {} expires in {left}", named.name)
    };
    let body = format!(
        "The certificate for {} issued by {} expires at {} (time left: {left}). \
         Renew it before then; this is the {days}-day notice.",
        cert.subject,
        cert.issuer,
        cert.expires.rfc3339(),
    );
    Message {
        what: What::CertExpiring,
        incident: None,
        window: None,
        title,
        impact: Some(if days <= CERT_MAJOR_DAYS {
            Impact::Major
        } else {
            Impact::Minor
        }),
        state: None,
        checks: vec![named],
        evidence: None,
        body,
        author: None,
        at_ms: at.0,
        started_ms: None,
        ends_ms: None,
        cert: Some(note),
    }
}

fn window_message(
    routing: &Routing,
    what: What,
    id: Option<i64>,
    w: &WindowInfo,
    state: Option<State>,
) -> (Message, Vec<CheckId>) {
    let m = Message {
        what,
        incident: None,
        window: id,
        title: w.title.clone(),
        impact: None,
        state,
        checks: w.checks.iter().map(|c| routing.check(c)).collect(),
        evidence: None,
        body: String::new(),
        author: None,
        at_ms: w.start.0,
        started_ms: Some(w.start.0),
        ends_ms: Some(w.end.0),
        cert: None,
    };
    (m, w.checks.clone())
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
