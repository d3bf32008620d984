//! What the public hears by email: which events reach subscribers, in their public form, and
//! which subscribers want which message (their [`Scope`]). A pure function the store writer
//! calls in the transaction that commits the event, beside the operators' `route`.
//!
//! Subscribers hear of public incidents (opened, an admin's update, resolved) and of one-off
//! maintenance (planned, started, ended, cancelled), and of nothing else: never of a false
//! alarm, a check no longer configured, the evidence or watchpost's notes in between. Every
//! text they get is what the public page shows: an admin's words, the timeline's first and
//! last entries (the failure in its public form, from `redact`), titles, check names, times.
//! No I/O, no clock, no SQL.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::message::{CheckRef, Message, What};
use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::event::{Event, Planning, WindowInfo, WindowPhase};
use crate::model::{CheckId, Impact, IncidentStatus, State};

/// The outbox destination of subscriber mail: one row per event, fanned out by the lane. Not a
/// valid `[[notify]]` name, so no operator destination can take it.
pub const DESTINATION: &str = "@subscribers";

/// What a subscriber chose to hear about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every public incident and maintenance window.
    #[default]
    All,
    /// Those touching these checks or these groups' checks.
    Some {
        checks: Vec<CheckId>,
        groups: Vec<String>,
    },
}

/// How a chosen scope is stored: `all`, or this as JSON.
#[derive(Serialize, Deserialize)]
struct Chosen {
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl Scope {
    /// The stored form: `all`, or `{"checks":[…],"groups":[…]}`.
    pub fn to_stored(&self) -> String {
        match self {
            Scope::All => "all".into(),
            Scope::Some { checks, groups } => serde_json::to_string(&Chosen {
                checks: checks.iter().map(ToString::to_string).collect(),
                groups: groups.clone(),
            })
            .unwrap_or_else(|_| "all".into()),
        }
    }

    /// A stored scope; `None` when it cannot be read (the row is then skipped, never widened).
    pub fn from_stored(s: &str) -> Option<Scope> {
        if s == "all" {
            return Some(Scope::All);
        }
        let chosen: Chosen = serde_json::from_str(s).ok()?;
        let checks = chosen
            .checks
            .iter()
            .map(|c| CheckId::new(c).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Scope::Some {
            checks,
            groups: chosen.groups,
        })
    }

    /// Whether a message about `checks` is for this subscriber. A message about no check in
    /// particular (an incident or window declared for everything) goes to `All` only.
    pub fn wants(&self, about: &[CheckRef]) -> bool {
        match self {
            Scope::All => true,
            Scope::Some { checks, groups } => about.iter().any(|c| {
                checks.iter().any(|id| id.as_str() == c.id)
                    || (!c.group.is_empty() && groups.contains(&c.group))
            }),
        }
    }

    /// The scope in words, for mails: "everything", or the groups and checks by name.
    pub fn describe(&self, audience: &Audience) -> String {
        let Scope::Some { checks, groups } = self else {
            return "everything on the status page".into();
        };
        let mut parts: Vec<String> = groups.iter().map(|g| format!("the group {g}")).collect();
        parts.extend(checks.iter().map(|c| audience.check(c).name));
        match parts.as_slice() {
            [] => "nothing".into(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// The checks the public may hear of: those configured now, with their names and groups.
#[derive(Clone, Debug, Default)]
pub struct Audience {
    checks: HashMap<CheckId, Arc<Check>>,
}

impl Audience {
    pub fn new(config: &Config) -> Audience {
        Audience {
            checks: config
                .checks
                .iter()
                .map(|c| (c.id.clone(), c.clone()))
                .collect(),
        }
    }

    fn check(&self, id: &CheckId) -> CheckRef {
        CheckRef::named(&self.checks, id)
    }

    /// The configured ones of `checks`; `None` when there were some and none is configured
    /// (the event is about hidden checks only). An empty list stays empty: about everything.
    fn visible(&self, checks: &[CheckId]) -> Option<Vec<CheckRef>> {
        let shown: Vec<CheckRef> = checks
            .iter()
            .filter(|c| self.checks.contains_key(*c))
            .map(|c| self.check(c))
            .collect();
        (checks.is_empty() || !shown.is_empty()).then_some(shown)
    }
}

/// What the store knows of the incident an event is about, as the public may know it.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicFacts {
    pub title: String,
    pub impact: Impact,
    pub checks: Vec<CheckId>,
    pub started_at: Timestamp,
    /// Marked a false alarm: hidden from the public.
    pub false_alarm: bool,
}

/// One `@subscribers` outbox row to write, due when its event is committed.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicRow {
    /// The event's name, the first part of the idempotency key.
    pub kind: &'static str,
    /// The incident's id or `w` and the window's, the second part.
    pub subject: String,
    /// The [`Message`] as JSON.
    pub payload: String,
}

/// The subscriber row `event`, committed at `now`, makes, if the public hears of it.
pub fn route(
    audience: &Audience,
    event: &Event,
    facts: Option<&PublicFacts>,
    now: Timestamp,
) -> Option<PublicRow> {
    let message = message(audience, event, facts, now)?;
    let subject = match (message.incident, message.window) {
        (Some(id), _) => id.to_string(),
        (None, Some(id)) => format!("w{id}"),
        (None, None) => return None,
    };
    Some(PublicRow {
        kind: message.what.as_str(),
        subject,
        payload: serde_json::to_string(&message).ok()?,
    })
}

/// A public incident message: no evidence, no author.
fn incident(what: What, id: i64, f: &PublicFacts, shown: Vec<CheckRef>, at: Timestamp) -> Message {
    Message {
        what,
        incident: Some(id),
        window: None,
        title: f.title.clone(),
        impact: Some(f.impact),
        state: Some(match what {
            What::Resolved => State::Up,
            _ => f.impact.state(),
        }),
        checks: shown,
        evidence: None,
        body: String::new(),
        author: None,
        at_ms: at.0,
        started_ms: Some(f.started_at.0),
        ends_ms: None,
        cert: None,
    }
}

fn message(
    audience: &Audience,
    event: &Event,
    facts: Option<&PublicFacts>,
    now: Timestamp,
) -> Option<Message> {
    if facts.is_some_and(|f| f.false_alarm) {
        return None;
    }
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
            let f = PublicFacts {
                title: title.clone(),
                impact: *impact,
                checks: checks.clone(),
                started_at: *at,
                false_alarm: false,
            };
            let mut m = incident(What::Opened, *id, &f, audience.visible(checks)?, *at);
            // The first entry of the timeline, as the page shows it: an admin's words, or
            // watchpost's with the first failure in its public form (`actions` writes it
            // through `redact`); the evidence itself stays out.
            m.body = body.clone();
            Some(m)
        }
        Event::IncidentUpdated {
            id,
            status,
            body,
            author: Some(_),
            at,
        } => {
            let f = facts?;
            let what = match status {
                IncidentStatus::Resolved => What::Resolved,
                _ => What::Updated,
            };
            let mut m = incident(what, *id, f, audience.visible(&f.checks)?, *at);
            m.body = format!("{}: {body}", status.as_str());
            Some(m)
        }
        Event::IncidentResolved { id, at, body, .. } => {
            let f = facts?;
            let mut m = incident(What::Resolved, *id, f, audience.visible(&f.checks)?, *at);
            m.body = body.clone();
            Some(m)
        }
        Event::Maintenance { id, change, window } => {
            let what = match change {
                Planning::Planned => What::MaintenancePlanned,
                Planning::Cancelled => What::MaintenanceCancelled,
                Planning::Edited => return None,
            };
            let mut m = window_message(audience, what, *id, window)?;
            m.at_ms = now.0;
            Some(m)
        }
        // Recurring windows (no id) are routine: announced on the page, never mailed.
        Event::MaintenanceTime {
            id: Some(id),
            phase,
            window,
        } => {
            let (what, at) = match phase {
                WindowPhase::Started => (What::MaintenanceStarted, window.start),
                WindowPhase::Ended => (What::MaintenanceEnded, window.end),
            };
            let mut m = window_message(audience, what, *id, window)?;
            m.at_ms = at.0;
            if what == What::MaintenanceStarted {
                m.state = Some(State::Maintenance);
            }
            Some(m)
        }
        _ => None,
    }
}

fn window_message(audience: &Audience, what: What, id: i64, w: &WindowInfo) -> Option<Message> {
    Some(Message {
        what,
        incident: None,
        window: Some(id),
        title: w.title.clone(),
        impact: None,
        state: None,
        checks: audience.visible(&w.checks)?,
        evidence: None,
        body: String::new(),
        author: None,
        at_ms: w.start.0,
        started_ms: Some(w.start.0),
        ends_ms: Some(w.end.0),
        cert: None,
    })
}

#[cfg(test)]
#[path = "public_tests.rs"]
mod tests;
