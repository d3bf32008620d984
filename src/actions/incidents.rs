//! Incidents: those the probes open and resolve when a check changes state, and what admins do
//! to them (declare, post an update, edit, hold open, mark a false alarm).

use super::{Error, Handles, checks, slugs, text, title};
use crate::clock::Timestamp;
use crate::config::Check;
use crate::event::Event;
use crate::i18n::ENGLISH;
use crate::model::{Action, Impact, IncidentKind, IncidentStatus, State};
use crate::monitor::Change;
use crate::redact::public_stored;
use crate::store::{AdminWrite, Audit, Evidence, IncidentEdit, IncidentOpen, Write, Writer};
use crate::words;

/// A manual incident, for what the probes cannot see.
#[derive(Clone, Debug)]
pub struct Declare {
    pub title: String,
    pub impact: Impact,
    pub checks: Vec<String>,
    pub status: IncidentStatus,
    pub body: String,
}

/// Declares a manual incident as `actor`; answers its id.
pub async fn declare(h: &Handles, actor: &str, d: Declare) -> Result<i64, Error> {
    let title = title(&d.title)?;
    let body = text(&d.body, "update")?;
    let checks = checks(h, &d.checks)?;
    let now = Timestamp::now();
    let write = AdminWrite::CreateIncident {
        title: title.clone(),
        severity: d.impact,
        checks: slugs(&checks),
        status: d.status,
        body: body.clone(),
    };
    let audit = audit(actor, Action::DeclareIncident, None, title.clone());
    let event = Box::new(move |id| {
        Some(Event::IncidentOpened {
            id,
            kind: IncidentKind::Manual,
            impact: d.impact,
            title,
            checks,
            at: now,
            body,
        })
    });
    Ok(h.writer.admin(write, Some(audit), now, event).await?)
}

/// An entry for an incident's timeline.
#[derive(Clone, Debug)]
pub struct Update {
    pub status: IncidentStatus,
    pub body: String,
}

/// Posts an update as `actor`; a `resolved` one resolves the incident and lifts a hold.
pub async fn post_update(h: &Handles, actor: &str, id: i64, u: Update) -> Result<(), Error> {
    let body = text(&u.body, "update")?;
    if body.is_empty() {
        return Err(Error::Invalid("The update must not be empty.".into()));
    }
    let now = Timestamp::now();
    let write = AdminWrite::AddUpdate {
        id,
        status: u.status,
        body: body.clone(),
    };
    let audit = audit(
        actor,
        Action::PostUpdate,
        Some(id),
        u.status.as_str().into(),
    );
    let author = actor.to_string();
    let event = Box::new(move |id| {
        Some(Event::IncidentUpdated {
            id,
            status: u.status,
            body,
            author: Some(author),
            at: now,
        })
    });
    h.writer.admin(write, Some(audit), now, event).await?;
    Ok(())
}

/// Fields of an incident to change; `None` leaves one as it is.
#[derive(Clone, Debug, Default)]
pub struct Edit {
    pub title: Option<String>,
    pub impact: Option<Impact>,
    pub checks: Option<Vec<String>>,
    pub cause: Option<String>,
    pub postmortem: Option<String>,
    pub hold: Option<bool>,
    /// Marks or unmarks a false alarm, in the same transaction as the rest: a refused false
    /// alarm leaves the other fields unchanged too.
    pub false_alarm: Option<bool>,
}

/// Edits an incident as `actor`, all of it or nothing.
pub async fn edit(h: &Handles, actor: &str, id: i64, e: Edit) -> Result<(), Error> {
    let title = e.title.as_deref().map(title).transpose()?;
    let checks = e.checks.as_deref().map(|c| checks(h, c)).transpose()?;
    let edit = IncidentEdit {
        title: title.clone(),
        severity: e.impact,
        checks: checks.as_deref().map(slugs),
        cause: e.cause.as_deref().map(|t| text(t, "cause")).transpose()?,
        postmortem: e
            .postmortem
            .as_deref()
            .map(|t| text(t, "postmortem"))
            .transpose()?,
        hold: e.hold,
        false_alarm: e.false_alarm,
    };
    let now = Timestamp::now();
    let audit = audit(
        actor,
        Action::EditIncident,
        Some(id),
        title.unwrap_or_default(),
    );
    let event = Box::new(move |id| Some(edited(id, e.false_alarm, now)));
    h.writer
        .admin(
            AdminWrite::EditIncident { id, edit },
            Some(audit),
            now,
            event,
        )
        .await?;
    Ok(())
}

/// Marks (or unmarks) a resolved incident as a false alarm as `actor`: hidden from the public,
/// its time given back to uptime.
pub async fn set_false_alarm(
    h: &Handles,
    actor: &str,
    id: i64,
    false_alarm: bool,
) -> Result<(), Error> {
    let action = if false_alarm {
        Action::MarkFalseAlarm
    } else {
        Action::UnmarkFalseAlarm
    };
    let now = Timestamp::now();
    let event = Box::new(move |id| Some(edited(id, Some(false_alarm), now)));
    h.writer
        .admin(
            AdminWrite::SetFalseAlarm { id, false_alarm },
            Some(audit(actor, action, Some(id), String::new())),
            now,
            event,
        )
        .await?;
    Ok(())
}

fn edited(id: i64, false_alarm: Option<bool>, at: Timestamp) -> Event {
    match false_alarm {
        Some(false_alarm) => Event::FalseAlarm {
            id,
            false_alarm,
            at,
        },
        None => Event::IncidentEdited { id, at },
    }
}

fn audit(actor: &str, action: Action, incident: Option<i64>, detail: String) -> Audit {
    Audit {
        actor: actor.to_string(),
        action,
        target: incident
            .map(|id| format!("incident {id}"))
            .unwrap_or_default(),
        detail,
    }
}

/// A change of a check's state as the recorder saw it.
pub struct Detected<'a> {
    pub check: &'a Check,
    /// The check's row in the store.
    pub row: i64,
    pub change: Change,
    /// The title of the maintenance window the change entered or left, if any.
    pub window: Option<String>,
    /// The incident open until now, and when it started.
    pub open: Option<(i64, Timestamp)>,
    /// The failing probes of the streak, oldest first.
    pub failures: Vec<Evidence>,
    /// The first probe of the current run of good ones, if the latest probe was good: an
    /// outage that ends inside a maintenance window ends there, not at the window's end.
    pub good_since: Option<Timestamp>,
}

/// An automatic incident just opened.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub id: i64,
    pub started_at: Timestamp,
    /// How many failing probes it was opened with, and the message of the last one.
    pub evidence: usize,
    pub last_message: Option<String>,
}

/// What became of the check's automatic incident.
#[derive(Clone, Debug, PartialEq)]
pub enum Outage {
    /// None is open.
    Over,
    /// The one open before stays open (a maintenance window began or ended inside it).
    Continues,
    Opened(Opened),
}

/// Announces a change of state, and decides the check's automatic incident: an outage is one
/// incident from its first failing probe to its first good one. A maintenance window inside it
/// goes on its timeline (its time is left out of uptime by the rollups) but resolves nothing;
/// a failure that outlasts a window with no incident open opens one at the window's end.
pub async fn check_changed(writer: &Writer, d: Detected<'_>) -> Result<Outage, Error> {
    let Detected {
        check,
        row,
        change,
        window,
        open,
        failures,
        good_since,
    } = d;
    tracing::info!(
        check = %check.id,
        from = change.from.as_str(),
        to = change.to.as_str(),
        at = %change.at.rfc3339(),
        evidence = %crate::logline::escaped(evidence(check, &change, window.as_deref(), &failures)),
        "state changed"
    );
    writer
        .send(Write::Announce(Event::CheckChanged {
            check: check.id.clone(),
            from: change.from,
            to: change.to,
            at: change.at,
        }))
        .await?;
    let title = window.as_deref().unwrap_or("planned maintenance");
    if let Some((id, started)) = open {
        let note = |body: String| Write::Note {
            incident: id,
            at: change.at,
            status: IncidentStatus::Monitoring,
            body,
        };
        if change.to == State::Maintenance {
            let body = format!(
                "Maintenance began at {}: {title}. The outage is not over; the window's time is left out of uptime.",
                words::when(ENGLISH, change.at, change.at)
            );
            writer.send(note(body)).await?;
            return Ok(Outage::Continues);
        }
        if change.from == State::Maintenance && change.to.impact().is_some() {
            let body = format!(
                "Maintenance ended at {}; {} is still {}.",
                words::when(ENGLISH, change.at, change.at),
                check.name,
                change.to.as_str()
            );
            writer.send(note(body)).await?;
            return Ok(Outage::Continues);
        }
        // Recovered: at the first good probe, which inside a window may be before its end.
        let at = match (change.from, good_since) {
            (State::Maintenance, Some(good)) => good.max(started).min(change.at),
            _ => change.at,
        };
        let note = format!(
            "{} recovered at {}, after {}.",
            check.name,
            words::when(ENGLISH, at, at),
            words::duration(ENGLISH, at.since(started))
        );
        writer.resolve_incident(id, at, note).await?;
        tracing::info!(incident = id, check = %check.id, lasted = %words::duration(ENGLISH, at.since(started)), "incident resolved");
    }
    let Some(impact) = change.to.impact() else {
        return Ok(Outage::Over);
    };
    // A failure that went on through a maintenance window opens at the window's end; the
    // failures inside the window are still its evidence.
    let mut evidence: Vec<Evidence> = failures
        .iter()
        .filter(|e| e.at >= change.at)
        .cloned()
        .collect();
    if evidence.is_empty() {
        evidence = failures;
    }
    // The timeline is public: it says the first failure in its public form; the evidence keeps
    // the message for admins.
    let first = evidence
        .first()
        .and_then(|e| public_stored(check.into(), e.reason, e.message.as_deref(), e.code))
        .unwrap_or_default();
    let note = format!(
        "watchpost detected {} consecutive failed probes of {} starting at {}; the first said: {}",
        evidence.len().max(1),
        check.name,
        words::when(ENGLISH, change.at, change.at),
        first
    );
    let opened = Opened {
        id: 0,
        started_at: change.at,
        evidence: evidence.len(),
        last_message: evidence.last().and_then(|e| e.message.clone()),
    };
    let failed = evidence.len();
    let id = writer
        .open_incident(IncidentOpen {
            check: row,
            slug: check.id.clone(),
            severity: impact,
            title: format!("{} is {}", check.name, change.to.as_str()),
            started_at: change.at,
            note,
            evidence,
        })
        .await?;
    tracing::info!(incident = id, check = %check.id, impact = impact.as_str(), failed_probes = failed, "incident opened");
    Ok(Outage::Opened(Opened { id, ..opened }))
}

/// Closes the automatic incident of a check the config no longer probes as before: `removed`
/// when the check is gone, else its target changed. Says so on the timeline.
pub async fn retire(
    writer: &Writer,
    incident: i64,
    at: Timestamp,
    removed: bool,
) -> Result<(), Error> {
    let note = if removed {
        "The check was removed from the configuration."
    } else {
        "The check's target changed in the configuration; the new one is watched afresh."
    };
    writer
        .resolve_incident(incident, at, note.to_string())
        .await?;
    tracing::info!(
        incident,
        removed,
        "incident resolved: its check is gone or changed"
    );
    Ok(())
}

/// What a change of state was seen on, for its log line: the latest failure in its public form
/// (a log may be shipped further than the admin pages), or why the check left a failing state.
fn evidence(check: &Check, change: &Change, window: Option<&str>, failures: &[Evidence]) -> String {
    if change.to == State::Maintenance {
        return format!("maintenance: {}", window.unwrap_or("planned maintenance"));
    }
    if change.to == State::Unknown {
        return "no result for too long".to_string();
    }
    if change.to.impact().is_none() {
        return match change.from {
            State::Maintenance => "the maintenance window ended".to_string(),
            _ => "probes succeed".to_string(),
        };
    }
    let Some(last) = failures.last() else {
        return "bad probes".to_string();
    };
    let said = public_stored(
        check.into(),
        last.reason,
        last.message.as_deref(),
        last.code,
    )
    .map(|m| format!(": {m}"))
    .unwrap_or_default();
    let probes = match failures.len() {
        1 => "1 bad probe".to_string(),
        n => format!("{n} bad probes in a row"),
    };
    format!("{probes}; the last was {}{said}", last.status)
}
