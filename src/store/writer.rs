//! The one writer: a thread that owns the write connection, takes [`Write`]s from a bounded
//! channel and commits whatever is queued in one transaction (group commit).
//!
//! Results and rollup deltas are acknowledged by being queued; incident changes and check
//! registration reply after their transaction commits. It never reads for the web.

use std::sync::Arc;

use rusqlite::{Connection, Transaction, params};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::admin::{self, AdminWrite, Audit, add_update};
use super::cache::PageCache;
use super::certs::{self, CertNotice};
use super::current::{CurrentRollups, Fresh};
use super::fold;
use super::gather::{BATCH, gather};
use super::health::{self, FINAL_TRIES, Health, Held, RETRY, hold_for};
use super::inserts::{
    FOLDED, Folded, IncidentOpen, insert_evidence, insert_result, open_incident, results_statement,
    sync_checks, upsert_folded,
};
use super::outbox::{Outbox, OutboxWrite};
use super::replies::Reply;
use super::retention::{self, Pruned};
use super::stale::StaleRollups;
use super::subscribers::{self, SubscriberWrite};
use super::watch::OnCommit;
use super::{CheckMeta, CheckRow, Error, Evidence};
use crate::clock::Timestamp;
use crate::event::{self, Event};
use crate::model::{IncidentKind, IncidentStatus};
use crate::monitor::Span;
use crate::probe::Outcome;
use crate::uptime::{Deltas, add_span};

/// Writes queued beyond this make senders wait (back-pressure on the recorder).
const QUEUE: usize = 8192;

/// A write for the writer thread.
pub enum Write {
    /// Registers the configured checks (marking absent ones inactive) and answers their rows.
    SyncChecks {
        checks: Vec<CheckMeta>,
        now: Timestamp,
        reply: oneshot::Sender<Result<Vec<CheckRow>, Error>>,
    },
    /// A probe result: the raw row and its rollup counts.
    Result { check: i64, outcome: Arc<Outcome> },
    /// Observed time to add to (and move between) rollup columns.
    Spans { check: i64, spans: Vec<Span> },
    /// Opens an automatic incident, answering its id once committed; announces it.
    OpenIncident {
        open: IncidentOpen,
        reply: oneshot::Sender<Result<i64, Error>>,
    },
    /// Resolves an incident, with a closing entry on its timeline; answers once committed and
    /// announces it (an incident an admin holds open gets the entry and stays open).
    ResolveIncident {
        id: i64,
        at: Timestamp,
        note: String,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// An entry by watchpost on an incident's timeline that does not end it; announced.
    Note {
        incident: i64,
        at: Timestamp,
        status: IncidentStatus,
        body: String,
    },
    /// An event with nothing to store, published in order with the writes around it.
    Announce(Event),
    /// A certificate near its expiry: recorded and announced unless already announced;
    /// answers whether it was.
    CertNotice {
        notice: CertNotice,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// More evidence for an open incident.
    AddEvidence { incident: i64, evidence: Evidence },
    /// Deletes raw results older than `before`, hourly rollups older than `hours_before` (daily
    /// ones stay), outbox rows finished long ago and requests to subscribe never confirmed in time.
    Prune {
        before: Timestamp,
        hours_before: Timestamp,
        /// At most this many rows of each in one go.
        limit: usize,
        reply: oneshot::Sender<Result<Pruned, Error>>,
    },
    /// Gives at most `pages` free pages back to the file system; answers how many are left.
    Vacuum {
        pages: i64,
        reply: oneshot::Sender<Result<i64, Error>>,
    },
    /// Answers once everything queued before it is committed.
    Flush { reply: oneshot::Sender<()> },
    /// The notification outbox: routing, claims and deliveries.
    Outbox(OutboxWrite),
    /// Public email subscribers and their mail's fan-out.
    Subscribers(SubscriberWrite),
    /// A change from the admin area, committed alone with its audit line; answers the row id
    /// and publishes the event `announce` makes of it.
    Admin {
        write: AdminWrite,
        audit: Option<Audit>,
        now: Timestamp,
        announce: Announce,
        reply: oneshot::Sender<Result<i64, Error>>,
    },
}

impl Write {
    /// A copy of a write nobody waits for (the probes' results, spans, evidence and notes), to
    /// hold and try again when the storage fails; `None` for writes that answer.
    fn copy(&self) -> Option<Write> {
        Some(match self {
            Write::Result { check, outcome } => Write::Result {
                check: *check,
                outcome: outcome.clone(),
            },
            Write::Spans { check, spans } => Write::Spans {
                check: *check,
                spans: spans.clone(),
            },
            Write::AddEvidence { incident, evidence } => Write::AddEvidence {
                incident: *incident,
                evidence: evidence.clone(),
            },
            Write::Note {
                incident,
                at,
                status,
                body,
            } => Write::Note {
                incident: *incident,
                at: *at,
                status: *status,
                body: body.clone(),
            },
            Write::Announce(e) => Write::Announce(e.clone()),
            _ => return None,
        })
    }

    /// Whether a batch of only such writes may wait a while for more (see `gather.rs`): the probes' results,
    /// spans and evidence, which nobody waits for and which announce nothing.
    pub(super) fn may_linger(&self) -> bool {
        matches!(
            self,
            Write::Result { .. } | Write::Spans { .. } | Write::AddEvidence { .. }
        )
    }
}

/// Makes the event of an admin change from the id of the row it created or changed.
pub type Announce = Box<dyn FnOnce(i64) -> Option<Event> + Send>;

/// The sending side of the writer's queue; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    pub(super) tx: mpsc::Sender<Write>,
    events: broadcast::Sender<Event>,
    pub(super) committed: Arc<OnCommit>,
    pub(super) stale: Arc<StaleRollups>,
    /// Each check's newest committed rollup times, for the history refresh.
    pub(super) current: Arc<CurrentRollups>,
    health: Health,
}

impl Writer {
    /// Whether the database can be written, and the writes held in memory meanwhile.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Events from every write committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Queues a write, waiting while the queue is full.
    pub async fn send(&self, w: Write) -> Result<(), Error> {
        self.tx.send(w).await.map_err(|_| Error::WriterGone)
    }

    /// Queues a write that answers on a oneshot, and waits for the answer.
    pub(super) async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Write,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        answer.await.map_err(|_| Error::WriterGone)
    }

    pub async fn sync_checks(
        &self,
        checks: Vec<CheckMeta>,
        now: Timestamp,
    ) -> Result<Vec<CheckRow>, Error> {
        self.ask(|reply| Write::SyncChecks { checks, now, reply })
            .await?
    }

    pub async fn open_incident(&self, open: IncidentOpen) -> Result<i64, Error> {
        self.ask(|reply| Write::OpenIncident { open, reply })
            .await?
    }

    pub async fn resolve_incident(
        &self,
        id: i64,
        at: Timestamp,
        note: String,
    ) -> Result<(), Error> {
        self.ask(|reply| Write::ResolveIncident {
            id,
            at,
            note,
            reply,
        })
        .await?
    }

    /// Records a certificate expiry notice and announces it, unless it was already; answers
    /// whether it was new, after the commit.
    pub async fn cert_notice(&self, notice: CertNotice) -> Result<bool, Error> {
        self.ask(|reply| Write::CertNotice { notice, reply })
            .await?
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), Error> {
        self.ask(|reply| Write::Flush { reply }).await
    }

    /// Applies an admin change at `now` and waits for its commit; answers the id of the row
    /// concerned. The event `announce` makes of that id is published after the commit.
    pub async fn admin(
        &self,
        write: AdminWrite,
        audit: Option<Audit>,
        now: Timestamp,
        announce: Announce,
    ) -> Result<i64, Error> {
        self.ask(|reply| Write::Admin {
            write,
            audit,
            now,
            announce,
            reply,
        })
        .await?
    }
}

pub(super) fn spawn(conn: Connection) -> (Writer, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let (events, _) = broadcast::channel(event::BACKLOG);
    let publish = events.clone();
    let committed = Arc::new(OnCommit::new());
    let told = committed.clone();
    let health = Health::default();
    let shared = health.clone();
    let stale = Arc::new(StaleRollups::default());
    let marks = stale.clone();
    let current = Arc::new(CurrentRollups::default());
    let notes = current.clone();
    let thread = std::thread::Builder::new()
        .name("watchpost-writer".into())
        .spawn(move || run(conn, rx, publish, &told, shared, (&marks, &notes)))
        .expect("spawning the writer thread");
    (
        Writer {
            tx,
            events,
            committed,
            stale,
            current,
            health,
        },
        thread,
    )
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Write>,
    events: broadcast::Sender<Event>,
    committed: &OnCommit,
    health: Health,
    (stale, current): (&StaleRollups, &CurrentRollups),
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut outbox = Outbox::default();
    let mut held = Held::<Write>::default();
    let mut cache = PageCache::default();
    let mut open = true;
    let mut final_tries = 0;
    // The fold mark as committed; read again after a failed batch.
    let mut mark = None;
    loop {
        if held.is_empty() {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            batch.push(first);
            gather(&mut rx, &mut batch, Write::may_linger);
        } else {
            // The last commit failed for the storage: keep taking writes (so probing goes on),
            // held in memory, and try again in a while.
            if open {
                open = hold_for(&mut rx, &mut held, &health, RETRY);
            } else {
                std::thread::sleep(RETRY);
            }
            batch = held.take(&health);
        }
        // What is worth holding if the storage fails: the probes' writes, which nobody waits for.
        let copies: Vec<Write> = batch.iter().filter_map(Write::copy).collect();
        let mut replies = Vec::new();
        let mut happened = Vec::new();
        let mut fresh = Fresh::default();
        let (writes, started) = (batch.len(), std::time::Instant::now());
        // A backlog of results gets the large cache; every check's closing spans at shutdown,
        // one batch of thousands of writes, does not.
        let results = batch
            .iter()
            .filter(|w| matches!(w, Write::Result { .. }))
            .count();
        cache.fit(&conn, results, started);
        let result = conn.transaction().map_err(Error::from).and_then(|tx| {
            apply(
                &tx,
                &mut batch,
                &mut replies,
                &mut happened,
                &mut outbox,
                (mark, current, &mut fresh),
            )
            .and_then(|()| Ok(tx.commit()?))
        });
        mark = result.as_ref().ok().and(fresh.through);
        if let Some(hook) = committed.get() {
            hook(writes, started.elapsed());
        }
        // Once every sender is gone (shutdown), held writes get a few more tries, then are lost.
        let hold = result.as_ref().err().is_some_and(health::is_storage_fault) && {
            final_tries += u32::from(!open);
            final_tries <= FINAL_TRIES
        };
        match &result {
            Ok(()) => {
                stale.note(std::mem::take(&mut fresh.past));
                current.committed(fresh);
                if let Some(fault) = health.committed() {
                    tracing::info!(since = %fault.since.rfc3339(), writes, "the database can be written again; the writes held meanwhile are committed");
                }
                // Nobody listening is fine: the events were committed all the same.
                happened.into_iter().for_each(|e| drop(events.send(e)));
            }
            Err(e) if hold => {
                if health.failed(e) {
                    tracing::error!(error = %crate::logline::escaped(e), held = copies.len(), max = health::HELD_MAX, "the database cannot be written; probe results are held in memory and written when it can be again");
                }
                copies.into_iter().for_each(|w| held.push(w, &health));
            }
            Err(e) => {
                tracing::error!(error = %crate::logline::escaped(e), writes, "storage batch failed; its writes are lost")
            }
        }
        for reply in replies {
            reply.send(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
        batch.clear();
        if !open && held.is_empty() {
            break;
        }
    }
    if let Err(e) = fold::at_stop(&mut conn, mark) {
        tracing::warn!(error = %crate::logline::escaped(&e), "folding the last hours into their days failed; readers add them up instead");
    }
    if let Err(e) = conn.execute_batch("PRAGMA optimize;") {
        tracing::warn!(error = %crate::logline::escaped(&e), "PRAGMA optimize failed");
    }
}

fn apply(
    tx: &Transaction,
    batch: &mut Vec<Write>,
    replies: &mut Vec<Reply>,
    happened: &mut Vec<Event>,
    outbox: &mut Outbox,
    (mark, current, fresh): (Option<Timestamp>, &CurrentRollups, &mut Fresh),
) -> Result<(), Error> {
    // The hours before this one go into their days before this batch's probe rows are written;
    // a batch without any (the registration at start-up) leaves the mark where it is.
    let probed = batch.iter().any(Write::may_linger);
    let mark = fold::advance(tx, mark, probed, fresh)?;
    // One flat map of hourly rows: a batch of every check's closing spans (at shutdown) or a
    // backlog holds one small row per check and hour, not a map per check.
    let mut hours = Folded::new();
    let mut results = None;
    for w in batch.drain(..) {
        match w {
            Write::Result { check, outcome } => {
                let stmt = match &mut results {
                    Some(stmt) => stmt,
                    None => results.insert(results_statement(tx)?),
                };
                insert_result(stmt, check, &outcome)?;
                let latency_us = i64::try_from(outcome.latency.as_micros()).unwrap_or(i64::MAX);
                let row = hours.entry((check, outcome.at.hour_start())).or_default();
                row.count_probe(outcome.status, latency_us);
                row.count_phases(&outcome.phases);
            }
            Write::Spans { check, spans } => {
                let mut h = Deltas::new();
                for span in &spans {
                    add_span(span, &mut h);
                }
                for (start, row) in h {
                    hours.entry((check, start)).or_default().add(&row);
                }
            }
            Write::SyncChecks { checks, now, reply } => {
                let rows = sync_checks(tx, &checks, now)?;
                replies.push(Reply::Checks(reply, rows));
            }
            Write::OpenIncident { open, reply } => {
                let id = open_incident(tx, &open)?;
                happened.push(Event::IncidentOpened {
                    id,
                    kind: IncidentKind::Auto,
                    impact: open.severity,
                    title: open.title,
                    checks: vec![open.slug],
                    at: open.started_at,
                    body: open.note,
                });
                replies.push(Reply::Opened(reply, id));
            }
            Write::ResolveIncident {
                id,
                at,
                note,
                reply,
            } => {
                // An incident an admin holds open stays open: the recovery goes on its timeline.
                let (held, started): (bool, i64) = tx
                    .query_row(
                        "SELECT hold, started_at FROM incidents WHERE id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap_or((false, at.0));
                if held {
                    let note =
                        format!("{note} An admin keeps this incident open until they resolve it.");
                    add_update(tx, id, at, IncidentStatus::Monitoring, &note, None)?;
                    happened.push(Event::IncidentUpdated {
                        id,
                        status: IncidentStatus::Monitoring,
                        body: note,
                        author: None,
                        at,
                    });
                } else {
                    // A wall clock stepped back must not end an incident before it began.
                    let at = at.max(Timestamp(started));
                    tx.execute(
                        "UPDATE incidents SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
                        params![id, at.0],
                    )?;
                    add_update(tx, id, at, IncidentStatus::Resolved, &note, None)?;
                    happened.push(Event::IncidentResolved {
                        id,
                        started_at: Timestamp(started),
                        at,
                        body: note,
                    });
                }
                replies.push(Reply::Resolved(reply));
            }
            Write::AddEvidence { incident, evidence } => insert_evidence(tx, incident, &evidence)?,
            Write::Prune {
                before,
                hours_before,
                limit,
                reply,
            } => {
                let now = Timestamp::now();
                let n = retention::prune(tx, before, hours_before, now, limit)?;
                subscribers::prune(tx, now)?;
                replies.push(Reply::Pruned(reply, n));
            }
            Write::Vacuum { pages, reply } => {
                replies.push(Reply::Vacuumed(reply, retention::vacuum(tx, pages)?));
            }
            Write::Flush { reply } => replies.push(Reply::Flushed(reply)),
            Write::Note {
                incident,
                at,
                status,
                body,
            } => {
                add_update(tx, incident, at, status, &body, None)?;
                happened.push(Event::IncidentUpdated {
                    id: incident,
                    status,
                    body,
                    author: None,
                    at,
                });
            }
            Write::Outbox(w) => replies.push(Reply::Outbox(outbox.apply(tx, w)?)),
            Write::Subscribers(w) => replies.push(Reply::Subscribers(subscribers::apply(tx, w)?)),
            Write::Announce(e) => happened.push(e),
            Write::CertNotice { notice, reply } => {
                let new = certs::record(tx, &notice)?;
                if new {
                    happened.push(notice.into_event());
                }
                replies.push(Reply::Noticed(reply, new));
            }
            Write::Admin {
                write,
                audit,
                now,
                announce,
                reply,
            } => {
                // A refused change (say, a false alarm on an open incident) must not fail the
                // probe results committed with it: it runs in its own savepoint.
                tx.execute_batch("SAVEPOINT admin")?;
                match admin::apply(tx, &write, audit.as_ref(), now, &mut fresh.past) {
                    Ok(id) => {
                        tx.execute_batch("RELEASE admin")?;
                        fresh.forget = true;
                        happened.extend(announce(id));
                        replies.push(Reply::Opened(reply, id));
                    }
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO admin; RELEASE admin")?;
                        let _ = reply.send(Err(e));
                    }
                }
            }
        }
        if hours.len() >= FOLDED {
            upsert_folded(tx, &mut hours, mark, current, fresh)?;
        }
    }
    upsert_folded(tx, &mut hours, mark, current, fresh)?;
    // A notification exists exactly when its event is committed: same transaction.
    outbox.enqueue(tx, happened, Timestamp::now())
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
