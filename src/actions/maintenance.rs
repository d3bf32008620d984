//! Maintenance: admins plan, change and cancel one-off windows; windows (one-off or recurring)
//! begin and end as time passes. Every change is republished to the schedule the recorder and
//! the page read.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Error, Handles, checks, slugs, text, title};
use crate::clock::Timestamp;
use crate::event::{Event, Planning, WindowInfo, WindowPhase};
use crate::maintenance::{Schedule, Window};
use crate::model::Action;
use crate::store::{AdminWrite, Audit, MaintenanceEdit, Write};

/// How far in the past a new window may start: later than this is refused, so a typo of the
/// year cannot make years of maintenance.
pub const MAX_PAST_START: Duration = Duration::from_secs(24 * 3600);

/// A one-off window as an admin plans it.
#[derive(Clone, Debug)]
pub struct Plan {
    pub title: String,
    pub body: String,
    pub checks: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// Where a window starts once planned. A start that has passed becomes the minute it was planned
/// in, so the window is in progress from then on and no time already recorded turns into
/// maintenance after the fact; `kept` is the start of the window being edited, which an edit
/// that leaves it alone keeps.
pub fn stored_start(asked: Timestamp, now: Timestamp, kept: Option<Timestamp>) -> Timestamp {
    if asked >= now || kept == Some(asked) {
        return asked;
    }
    Timestamp(now.0 - now.0.rem_euclid(60_000))
}

fn checked(
    h: &Handles,
    p: &Plan,
    now: Timestamp,
    kept: Option<Timestamp>,
) -> Result<(MaintenanceEdit, WindowInfo), Error> {
    if p.ends_at <= p.starts_at {
        return Err(Error::Invalid(format!(
            "The window must end after it starts: it ends at {}, which is not after its start at {}.",
            crate::words::when(crate::i18n::ENGLISH, p.ends_at, now),
            crate::words::when(crate::i18n::ENGLISH, p.starts_at, now)
        )));
    }
    if p.starts_at < now.minus(MAX_PAST_START) {
        return Err(Error::Invalid(format!(
            "The window starts on {}, more than a day ago: plan windows from now on.",
            p.starts_at.rfc3339()
        )));
    }
    let starts_at = stored_start(p.starts_at, now, kept);
    if p.ends_at <= now {
        return Err(Error::Invalid(format!(
            "The window ends at {}, which has already passed: a window must end in the future.",
            crate::words::when(crate::i18n::ENGLISH, p.ends_at, now)
        )));
    }
    if p.checks.is_empty() {
        return Err(Error::Invalid(
            "Choose at least one check the window covers.".into(),
        ));
    }
    let checks = checks(h, &p.checks)?;
    let edit = MaintenanceEdit {
        title: title(&p.title)?,
        body: text(&p.body, "details")?,
        checks: slugs(&checks),
        starts_at,
        ends_at: p.ends_at,
    };
    let info = WindowInfo {
        title: edit.title.clone(),
        checks,
        start: edit.starts_at,
        end: edit.ends_at,
    };
    Ok((edit, info))
}

/// A window in one line, for the audit log.
fn describe(w: &WindowInfo) -> String {
    format!("{} → {}: {}", w.start.rfc3339(), w.end.rfc3339(), w.title)
}

fn audit(actor: &str, action: Action, id: Option<i64>, detail: String) -> Option<Audit> {
    Some(Audit {
        actor: actor.to_string(),
        action,
        target: id.map(|id| format!("maintenance {id}")).unwrap_or_default(),
        detail,
    })
}

/// Plans a one-off window as `actor`; answers its id.
pub async fn plan(h: &Handles, actor: &str, p: Plan) -> Result<i64, Error> {
    let now = Timestamp::now();
    let (edit, window) = checked(h, &p, now, None)?;
    let audit = audit(actor, Action::PlanMaintenance, None, describe(&window));
    let event = Box::new(move |id| {
        Some(Event::Maintenance {
            id,
            change: Planning::Planned,
            window,
        })
    });
    let id = h
        .writer
        .admin(AdminWrite::CreateMaintenance(edit), audit, now, event)
        .await?;
    republish(h).await?;
    Ok(id)
}

/// Changes a one-off window as `actor`.
pub async fn edit_window(h: &Handles, actor: &str, id: i64, p: Plan) -> Result<(), Error> {
    let now = Timestamp::now();
    let kept = h
        .schedule
        .borrow()
        .one_off
        .iter()
        .find(|w| w.id == Some(id))
        .map(|w| w.start);
    let (edit, window) = checked(h, &p, now, kept)?;
    let audit = audit(actor, Action::EditMaintenance, Some(id), describe(&window));
    let event = Box::new(move |id| {
        Some(Event::Maintenance {
            id,
            change: Planning::Edited,
            window,
        })
    });
    h.writer
        .admin(AdminWrite::EditMaintenance { id, edit }, audit, now, event)
        .await?;
    republish(h).await
}

/// Cancels a one-off window as `actor`.
pub async fn cancel_window(h: &Handles, actor: &str, id: i64) -> Result<(), Error> {
    let now = Timestamp::now();
    let window = h
        .schedule
        .borrow()
        .one_off
        .iter()
        .find(|w| w.id == Some(id))
        .map(info);
    let audit = audit(actor, Action::CancelMaintenance, Some(id), String::new());
    let event = Box::new(move |id| {
        window.map(|window| Event::Maintenance {
            id,
            change: Planning::Cancelled,
            window,
        })
    });
    h.writer
        .admin(AdminWrite::CancelMaintenance { id }, audit, now, event)
        .await?;
    republish(h).await
}

/// Re-reads the one-off windows and publishes the schedule.
async fn republish(h: &Handles) -> Result<(), Error> {
    let one_off = h.reader.maintenance(Timestamp::now()).await?;
    h.schedule.send_modify(|s| {
        *s = Arc::new(Schedule {
            recurring: s.recurring.clone(),
            one_off,
        })
    });
    Ok(())
}

fn info(w: &Window) -> WindowInfo {
    WindowInfo {
        title: w.title.clone(),
        checks: w.checks.clone(),
        start: w.start,
        end: w.end,
    }
}

/// The longest wait between two looks at the schedule.
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// Announces each window as it begins and ends, until `token` is cancelled. Windows already in
/// progress when it starts are taken as known: a restart announces nothing.
pub async fn watch_windows(h: Handles, token: CancellationToken) {
    type Key = (Option<i64>, String, Timestamp, Timestamp);
    let key = |w: &Window| -> Key { (w.id, w.title.clone(), w.start, w.end) };
    let mut schedule = h.schedule.subscribe();
    let mut known: HashMap<Key, Window> = {
        let now = Timestamp::now();
        let active = schedule.borrow().active(now);
        active.into_iter().map(|w| (key(&w), w)).collect()
    };
    loop {
        let now = Timestamp::now();
        let current = schedule.borrow_and_update().clone();
        let active: HashMap<Key, Window> = current
            .active(now)
            .into_iter()
            .map(|w| (key(&w), w))
            .collect();
        let mut happened: Vec<Event> = active
            .iter()
            .filter(|(k, _)| !known.contains_key(*k))
            .map(|(_, w)| window_event(w, WindowPhase::Started))
            .collect();
        // A window gone before its end was cancelled or moved, which has its own event.
        happened.extend(
            known
                .iter()
                .filter(|(k, w)| !active.contains_key(*k) && w.end <= now)
                .map(|(_, w)| window_event(w, WindowPhase::Ended)),
        );
        happened.sort_by_key(|e| match e {
            Event::MaintenanceTime { window, .. } => window.start,
            _ => now,
        });
        let next = active
            .values()
            .map(|w| w.end)
            .chain(current.upcoming(now, LOOK_EVERY).iter().map(|w| w.start))
            .min()
            .map_or(LOOK_EVERY, |t| {
                Duration::from_millis(u64::try_from(t.0 - now.0).unwrap_or(0))
            })
            .min(LOOK_EVERY);
        known = active;
        for e in happened {
            if h.writer.send(Write::Announce(e)).await.is_err() {
                return;
            }
        }
        tokio::select! {
            _ = token.cancelled() => return,
            changed = schedule.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(next) => {}
        }
    }
}

fn window_event(w: &Window, phase: WindowPhase) -> Event {
    Event::MaintenanceTime {
        id: w.id,
        phase,
        window: info(w),
    }
}
