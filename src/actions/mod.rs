//! Every change people or probes make to incidents and maintenance, decided in one place.
//!
//! Each action checks its input, commits one atomic write with its audit line through the store
//! writer, answers after the commit, and causes one typed [`Event`](crate::event::Event), which
//! the writer publishes once the transaction is committed. The admin forms, the admin JSON API
//! and the recorder are thin callers. Functions over a bundle of handles, not a doer object; no
//! HTTP, no HTML and no SQL here.

mod certs;
mod deliveries;
mod incidents;
mod maintenance;

use std::sync::Arc;

use tokio::sync::watch;

pub use certs::{CertMemo, cert_seen};
pub use deliveries::retry_delivery;
pub use incidents::{
    Declare, Detected, Edit, Opened, Outage, Update, check_changed, declare, edit, post_update,
    retire, set_false_alarm,
};
pub use maintenance::{Plan, cancel_window, edit_window, plan, watch_windows};

use crate::maintenance::Schedule;
use crate::model::{CheckId, UnknownName};
use crate::snapshot::Snapshot;
use crate::store::{Reader, Writer};

/// Longest incident or window title.
pub const MAX_TITLE: usize = 200;
/// Longest Markdown text (an update, a cause, a postmortem, a window's details).
pub const MAX_TEXT: usize = 20_000;

/// What the actions need: the writer, a reader for the schedule, the schedule to republish (its
/// recurring windows come from the config in force) and the configured checks (through the
/// snapshot, which carries the config in force).
#[derive(Clone)]
pub struct Handles {
    pub writer: Writer,
    pub reader: Reader,
    /// Republished after every maintenance change, so the recorder and the page see it at once.
    pub schedule: watch::Sender<Arc<Schedule>>,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
}

/// Why an action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is wrong; the message says how, for the person who sent it.
    #[error("{0}")]
    Invalid(String),
    #[error("no such record")]
    NotFound,
    /// The data refuses the change (say, a false alarm on an open incident).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(crate::store::Error),
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Error {
        match e {
            crate::store::Error::NotFound => Error::NotFound,
            crate::store::Error::Refused(why) => Error::Conflict(why),
            other => Error::Storage(other),
        }
    }
}

/// One of a closed set of names (an impact, a status), or a message saying which exist.
pub fn parse<T: std::str::FromStr<Err = UnknownName>>(raw: &str) -> Result<T, Error> {
    raw.trim().parse().map_err(|e: UnknownName| {
        let mut text = e.to_string();
        if let Some(first) = text.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        Error::Invalid(format!("{text}."))
    })
}

/// A checked title: present, one line, not too long.
fn title(raw: &str) -> Result<String, Error> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(Error::Invalid("The title must not be empty.".into()));
    }
    if t.chars().count() > MAX_TITLE || t.contains(['\n', '\r']) {
        return Err(Error::Invalid(format!(
            "The title must be one line of at most {MAX_TITLE} characters."
        )));
    }
    Ok(t.to_string())
}

/// A checked Markdown text, at most [`MAX_TEXT`] characters; `what` names it in the message.
fn text(raw: &str, what: &str) -> Result<String, Error> {
    if raw.chars().count() > MAX_TEXT {
        return Err(Error::Invalid(format!(
            "The {what} must be at most {MAX_TEXT} characters."
        )));
    }
    Ok(raw.trim().replace("\r\n", "\n"))
}

/// Check ids that exist in the config in force, or an error naming the first that does not.
fn checks(h: &Handles, ids: &[String]) -> Result<Vec<CheckId>, Error> {
    let snapshot = h.snapshot.borrow().clone();
    ids.iter()
        .map(|id| {
            snapshot
                .get(id)
                .map(|(c, _)| c.id.clone())
                .ok_or_else(|| Error::Invalid(format!("There is no check {id:?}.")))
        })
        .collect()
}

/// Check ids as the store keeps them.
fn slugs(ids: &[CheckId]) -> Vec<String> {
    ids.iter().map(|c| c.to_string()).collect()
}
