//! The recorder: the sole consumer of probe outcomes and the owner of every check's state.
//!
//! For each outcome it updates metrics, queues the raw result and the rollup time, runs the state
//! machine, opens and resolves incidents (waiting for their commit), and publishes a new
//! snapshot. It never probes and never reads the database.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::actions::{self, Detected, Outage};
use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::maintenance::Schedule;
use crate::metrics::Metrics;
use crate::model::{CheckId, State, Status};
use crate::monitor::{self, Cadence, Change, Tracker};
use crate::probe::{Outcome, Reason};
use crate::scheduler::Delivery;
use crate::snapshot::{Cells, CheckNow, LastProbe, Snapshot};
use crate::store::{Evidence, IncidentRow, Write, Writer};

/// Evidence rows kept for one incident at most; later failures repeat what is known.
const MAX_EVIDENCE: usize = 50;
/// Outcomes taken from the queue at once, when they arrive faster than one by one.
const PUBLISH_EVERY: usize = 256;
/// The least time between two snapshots: the page lags the probes by at most this. Publishing
/// copies one pointer per 32 checks (see [`Cells`]), so a snapshot per result would cost little
/// too; the spacing keeps a burst of results to one copy.
const PUBLISH_SPACING: std::time::Duration = std::time::Duration::from_millis(100);

/// What the recorder needs from the rest of the daemon.
pub struct Recorder {
    config: Arc<Config>,
    checks: HashMap<CheckId, Runtime>,
    writer: Writer,
    metrics: Arc<Metrics>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    /// Every check's "now" by its index in `config.checks`, shared with the published snapshots.
    cells: Cells,
    schedule: watch::Receiver<Arc<Schedule>>,
    local: LocalFaults,
}

/// Per-check state owned by the recorder.
struct Runtime {
    /// Where the check is in `config.checks`; found by its id, never used as its identity.
    index: usize,
    row: i64,
    tracker: Tracker,
    /// The open incident and when it started.
    incident: Option<(i64, Timestamp)>,
    /// Failing probes of the current streak, newest last, for an incident's evidence.
    failures: VecDeque<Evidence>,
    evidence_kept: usize,
    last_message: Option<String>,
    /// The first probe of the current run of good ones; `None` after a failing one.
    good_since: Option<Timestamp>,
    /// The certificate expiry notice last announced.
    cert: actions::CertMemo,
}

impl Runtime {
    /// A check's state at start: down or degraded while `open` (its automatic incident left
    /// open when watchpost last stopped) is, else unknown until its first probes; with what
    /// the page shows of it.
    fn new(index: usize, row: i64, open: Option<&IncidentRow>) -> (Runtime, CheckNow) {
        let state = open.map_or(State::Unknown, |i| i.severity.state());
        let now = CheckNow {
            state: open.map(|_| state),
            last: None,
            incident: open.map(|i| i.id),
        };
        let runtime = Runtime {
            index,
            row,
            tracker: Tracker::new(state),
            incident: open.map(|i| (i.id, i.started_at)),
            failures: VecDeque::new(),
            evidence_kept: 0,
            last_message: None,
            good_since: None,
            cert: actions::CertMemo::default(),
        };
        (runtime, now)
    }
}

/// A new config for the recorder, from a reload.
pub struct Reconfig {
    pub config: Arc<Config>,
    /// The store rows of the new config's checks.
    pub rows: HashMap<CheckId, i64>,
    /// Checks whose target changed: their state starts afresh.
    pub reset: Vec<CheckId>,
    /// Told once the new config is in force and published.
    pub applied: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Handles the recorder needs from the rest of the daemon.
pub struct Handles {
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
    pub snapshot: watch::Sender<Arc<Snapshot>>,
    /// The maintenance windows in force; admins may change them while running.
    pub schedule: watch::Receiver<Arc<Schedule>>,
}

impl Recorder {
    /// A recorder for `config`, whose checks have the store rows in `rows`, resuming the
    /// incidents that were open when watchpost last stopped. A check without a row is not
    /// recorded.
    pub fn new(
        config: Arc<Config>,
        rows: &HashMap<CheckId, i64>,
        open: &[IncidentRow],
        handles: Handles,
    ) -> Recorder {
        let mut cells = Cells::new(config.checks.len());
        let checks = config
            .checks
            .iter()
            .enumerate()
            .filter_map(|(index, check)| Some((index, check, *rows.get(&check.id)?)))
            .map(|(index, check, row)| {
                let open = open
                    .iter()
                    .filter(|i| i.auto)
                    .filter(|i| i.check.as_deref() == Some(check.id.as_str()))
                    .max_by_key(|i| i.started_at);
                let (runtime, now) = Runtime::new(index, row, open);
                if open.is_some() {
                    cells.set(index, now);
                }
                handles.metrics.set_state(check, runtime.tracker.state);
                (check.id.clone(), runtime)
            })
            .collect();
        let recorder = Recorder {
            config,
            checks,
            writer: handles.writer,
            metrics: handles.metrics,
            snapshot: handles.snapshot,
            cells,
            schedule: handles.schedule,
            local: LocalFaults::default(),
        };
        recorder.publish();
        recorder
    }

    /// Consumes outcomes until every sender is dropped, then counts the time since each check's
    /// last probe and returns.
    pub async fn run(self, rx: mpsc::Receiver<Delivery>) {
        self.run_with(rx, mpsc::channel(1).1).await;
    }

    /// [`Recorder::run`], taking new configs from `reconfig` as they come.
    pub async fn run_with(
        mut self,
        mut rx: mpsc::Receiver<Delivery>,
        mut reconfig: mpsc::Receiver<Reconfig>,
    ) {
        let mut batch = Vec::with_capacity(PUBLISH_EVERY);
        let mut published = tokio::time::Instant::now();
        let mut dirty = false;
        loop {
            let due = published + PUBLISH_SPACING;
            tokio::select! {
                _ = tokio::time::sleep_until(due), if dirty => {
                    self.publish();
                    published = tokio::time::Instant::now();
                    dirty = false;
                    continue;
                }
                n = rx.recv_many(&mut batch, PUBLISH_EVERY) => {
                    if n == 0 {
                        break;
                    }
                    for (id, outcome) in batch.drain(..) {
                        if let Err(e) = self.handle(&id, outcome).await {
                            tracing::error!(error = %crate::logline::escaped(&e), "recording a probe result failed");
                        }
                    }
                }
                Some(mut r) = reconfig.recv() => {
                    let applied = r.applied.take();
                    if let Err(e) = self.reconfigure(r).await {
                        tracing::error!(error = %e, "applying a new config in the recorder failed");
                    }
                    // A new config shows at once, whatever the spacing.
                    self.publish();
                    published = tokio::time::Instant::now();
                    dirty = false;
                    if let Some(applied) = applied {
                        let _ = applied.send(());
                    }
                    continue;
                }
            }
            dirty = true;
            if published.elapsed() >= PUBLISH_SPACING {
                self.publish();
                published = tokio::time::Instant::now();
                dirty = false;
            }
        }
        if dirty {
            self.publish();
        }
        let all: Vec<CheckId> = self.checks.keys().cloned().collect();
        self.close_spans(&all, Timestamp::now()).await;
    }

    /// Takes a new config: new checks start unknown, removed ones have their time counted and
    /// their automatic incident closed, changed targets start afresh; the rest keep their state.
    async fn reconfigure(&mut self, r: Reconfig) -> Result<(), actions::Error> {
        let now = Timestamp::now();
        let gone: Vec<CheckId> = self
            .checks
            .keys()
            .filter(|id| !r.config.checks.iter().any(|c| &c.id == *id))
            .cloned()
            .collect();
        let reset: Vec<CheckId> = gone.iter().chain(&r.reset).cloned().collect();
        self.close_spans(&reset, now).await;
        for id in &reset {
            let removed = gone.contains(id);
            let Some(rt) = self.checks.get_mut(id) else {
                continue;
            };
            if let Some((incident, _)) = rt.incident.take() {
                actions::retire(&self.writer, incident, now, removed).await?;
            }
            if let Some(check) = self.config.checks.get(rt.index) {
                self.metrics.forget(check);
            }
            if !removed {
                rt.tracker = Tracker::new(State::Unknown);
                rt.failures.clear();
                rt.good_since = None;
                self.cells.set(rt.index, CheckNow::default());
            }
        }
        for id in &gone {
            self.checks.remove(id);
        }
        let mut cells = Cells::new(r.config.checks.len());
        for (index, check) in r.config.checks.iter().enumerate() {
            let Some(&row) = r.rows.get(&check.id) else {
                continue;
            };
            let rt = self
                .checks
                .entry(check.id.clone())
                .or_insert_with(|| Runtime::new(usize::MAX, row, None).0);
            if let Some(now) = self.cells.cell(rt.index) {
                cells.set(index, now);
            }
            rt.index = index;
            rt.row = row;
            self.metrics.set_state(check, rt.tracker.state);
        }
        self.config = r.config;
        self.cells = cells;
        Ok(())
    }

    async fn handle(&mut self, id: &CheckId, outcome: Outcome) -> Result<(), actions::Error> {
        let config = self.config.clone();
        let Some(rt) = self.checks.get_mut(id) else {
            return Ok(());
        };
        let Some(check) = config.checks.get(rt.index) else {
            return Ok(());
        };
        if self.local.skip(check, &outcome, &self.metrics) {
            return Ok(());
        }
        self.metrics.observe(check, &outcome);
        if let Some(tls) = &outcome.tls {
            let days = &config.notify.cert_days;
            actions::cert_seen(&self.writer, &mut rt.cert, id, tls, outcome.at, days).await?;
        }
        let outcome = Arc::new(outcome);
        self.writer
            .send(Write::Result {
                check: rt.row,
                outcome: outcome.clone(),
            })
            .await?;

        let evidence = Evidence {
            at: outcome.at,
            status: outcome.status,
            latency_us: i64::try_from(outcome.latency.as_micros()).unwrap_or(i64::MAX),
            code: outcome.code,
            reason: outcome.failure.as_ref().map(|f| f.reason),
            message: outcome.failure.as_ref().map(|f| f.message.clone()),
        };
        if outcome.status == Status::Up {
            rt.failures.clear();
            rt.good_since.get_or_insert(outcome.at);
        } else {
            rt.good_since = None;
            if rt.failures.len() >= check.policy.failure_threshold.get() as usize {
                rt.failures.pop_front();
            }
            rt.failures.push_back(evidence.clone());
        }

        let cadence = Cadence {
            interval: check.interval,
            gap_after: check.stale_after(),
        };
        let window = self
            .schedule
            .borrow()
            .covering(&check.id, outcome.at)
            .map(|w| (w.span(), w.title));
        let step = monitor::apply(
            &rt.tracker,
            outcome.status,
            outcome.at,
            window.as_ref().map(|(span, _)| *span),
            &check.policy,
            &cadence,
        );
        rt.tracker = step.tracker;
        if !step.spans.is_empty() {
            self.writer
                .send(Write::Spans {
                    check: rt.row,
                    spans: step.spans,
                })
                .await?;
        }
        let incident = self.cells.get(rt.index).incident;
        self.cells.set(
            rt.index,
            CheckNow {
                state: Some(rt.tracker.state),
                last: Some(LastProbe {
                    at: outcome.at,
                    status: outcome.status,
                    latency: outcome.latency,
                    code: outcome.code,
                    failure: outcome.failure.clone(),
                    tls: outcome.tls.clone().map(Box::new),
                }),
                incident,
            },
        );

        match step.change {
            Some(change) => {
                let title = window.map(|(_, title)| title);
                self.transition(check, change, title).await?
            }
            None => self.add_evidence(id, evidence).await?,
        }
        Ok(())
    }

    /// Hands a change of state to [`actions::check_changed`], which resolves and opens
    /// incidents, and keeps the incident now open.
    async fn transition(
        &mut self,
        check: &Check,
        change: Change,
        window: Option<String>,
    ) -> Result<(), actions::Error> {
        self.metrics.set_state(check, change.to);
        let Some(rt) = self.checks.get_mut(&check.id) else {
            return Ok(());
        };
        let outage = actions::check_changed(
            &self.writer,
            Detected {
                check,
                row: rt.row,
                change,
                window,
                open: rt.incident,
                failures: rt.failures.iter().cloned().collect(),
                good_since: rt.good_since,
            },
        )
        .await?;
        match outage {
            Outage::Continues => {}
            Outage::Over => rt.incident = None,
            Outage::Opened(o) => {
                rt.incident = Some((o.id, o.started_at));
                rt.evidence_kept = o.evidence;
                rt.last_message = o.last_message;
            }
        }
        let incident = rt.incident.map(|(id, _)| id);
        if self.cells.get(rt.index).incident != incident {
            let mut now = self.cells.get(rt.index).clone();
            now.incident = incident;
            self.cells.set(rt.index, now);
        }
        Ok(())
    }

    /// Keeps a failing probe as evidence of the open incident when it says something new.
    async fn add_evidence(
        &mut self,
        id: &CheckId,
        evidence: Evidence,
    ) -> Result<(), actions::Error> {
        let Some(rt) = self.checks.get_mut(id) else {
            return Ok(());
        };
        let Some((incident, _)) = rt.incident else {
            return Ok(());
        };
        if evidence.status == Status::Up
            || rt.evidence_kept >= MAX_EVIDENCE
            || rt.last_message == evidence.message
        {
            return Ok(());
        }
        rt.evidence_kept += 1;
        rt.last_message = evidence.message.clone();
        Ok(self
            .writer
            .send(Write::AddEvidence { incident, evidence })
            .await?)
    }

    /// Counts the time from each of these checks' last probe to `now` (at most one interval), at
    /// shutdown or when a reload stops them.
    async fn close_spans(&mut self, ids: &[CheckId], now: Timestamp) {
        for rt in ids.iter().filter_map(|id| self.checks.get(id)) {
            let (Some(check), Some(last)) =
                (self.config.checks.get(rt.index), rt.tracker.last_at())
            else {
                continue;
            };
            let end = last.plus(check.interval).min(now);
            if end <= last {
                continue;
            }
            let span = monitor::Span {
                start: last,
                end,
                from: None,
                to: rt.tracker.state.bucket(),
            };
            if self
                .writer
                .send(Write::Spans {
                    check: rt.row,
                    spans: vec![span],
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }

    fn publish(&self) {
        let snapshot = Snapshot {
            config: self.config.clone(),
            checks: self.cells.clone(),
        };
        self.snapshot.send_replace(Arc::new(snapshot));
    }
}

/// Skipped outcomes are logged at most this often, with how many were skipped since.
const LOCAL_FAULT_LOG_EVERY: Duration = Duration::from_secs(10);

/// Outcomes that failed for a fault of this machine (out of descriptors or memory, the local
/// resolver dead): they say nothing about their target, so they are no data.
#[derive(Default)]
struct LocalFaults {
    /// Skipped since the last log line.
    unlogged: u64,
    logged_at: Option<Instant>,
}

impl LocalFaults {
    /// Whether `outcome` is a local fault; if so it is counted and logged (rate-limited) here
    /// and must touch nothing else: no state machine, incident, result row, uptime or probe metric.
    fn skip(&mut self, check: &Check, outcome: &Outcome, metrics: &Metrics) -> bool {
        let Some(failure) = outcome
            .failure
            .as_ref()
            .filter(|f| f.reason == Reason::Local)
        else {
            return false;
        };
        metrics.skipped(check, Reason::Local);
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= LOCAL_FAULT_LOG_EVERY)
        {
            tracing::warn!(
                skipped = self.unlogged,
                check = %check.id,
                error = %failure.message,
                "probes are failing because of this machine, not their targets; their results are skipped"
            );
            self.unlogged = 0;
            self.logged_at = Some(now);
        }
        true
    }
}
