//! The recorder: the sole consumer of probe outcomes and the owner of every check's state.
//!
//! For each outcome it updates metrics, queues the raw result and the rollup time, runs the state
//! machine, opens and resolves incidents (waiting for their commit), and publishes a new
//! snapshot. It never probes and never reads the database.
//!
//! Check state is kept by the check's position in the config (a `Vec`, the ids found through
//! one sorted list of positions), and what only an open incident or a certificate needs is
//! boxed apart, so a check costs about 200 bytes here.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::actions::{self, Detected, Outage};
use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::maintenance::Schedule;
use crate::metrics::Metrics;
use crate::model::{CheckId, State, Status};
use crate::monitor::{self, Cadence, Change, Tracker};
use crate::probe::Outcome;
use crate::scheduler::Delivery;
use crate::snapshot::{Cells, CheckNow, LastProbe, Snapshot};
use crate::store::{Evidence, IncidentRow, Write, Writer};

mod local_faults;
use local_faults::LocalFaults;

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
    /// By position in `config.checks`; `None` for a check without a store row.
    checks: Vec<Option<Runtime>>,
    /// Positions in `config.checks`, in the order of their ids.
    by_id: ById,
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
    row: i64,
    tracker: Tracker,
    /// The open incident, boxed: most checks have none.
    incident: Option<Box<OpenIncident>>,
    /// Failing probes of the current streak, newest last, for an incident's evidence; boxed,
    /// and only while the check fails.
    failures: Option<Box<Failures>>,
    /// The first probe of the current run of good ones; `None` after a failing one.
    good_since: Option<Timestamp>,
    /// The certificate expiry notice last announced; made at the first certificate seen.
    cert: Option<Box<actions::CertMemo>>,
}

/// Failing probes of a streak, newest last.
#[derive(Default)]
struct Failures(VecDeque<Evidence>);

/// A check's open incident and the evidence it was given.
struct OpenIncident {
    id: i64,
    started_at: Timestamp,
    evidence_kept: usize,
    last_message: Option<String>,
}

impl OpenIncident {
    fn new(id: i64, started_at: Timestamp) -> Box<OpenIncident> {
        Box::new(OpenIncident {
            id,
            started_at,
            evidence_kept: 0,
            last_message: None,
        })
    }
}

impl Runtime {
    /// A check's state at start: down or degraded while `open` (its automatic incident left
    /// open when watchpost last stopped) is, else unknown until its first probes; with what
    /// the page shows of it.
    fn new(row: i64, open: Option<&IncidentRow>) -> (Runtime, CheckNow) {
        let state = open.map_or(State::Unknown, |i| i.severity.state());
        let now = CheckNow {
            state: open.map(|_| state),
            last: None,
            incident: open.map(|i| i.id),
        };
        let runtime = Runtime {
            row,
            tracker: Tracker::new(state),
            incident: open.map(|i| OpenIncident::new(i.id, i.started_at)),
            failures: None,
            good_since: None,
            cert: None,
        };
        (runtime, now)
    }

    fn incident_id(&self) -> Option<i64> {
        self.incident.as_ref().map(|i| i.id)
    }
}

/// The positions of a config's checks by id: the recorder finds one per result, and a search
/// through ids sorted by name reads a dozen checks scattered over the heap each time.
#[derive(Default)]
struct ById(HashMap<CheckId, u32>);

impl ById {
    fn new(config: &Config) -> ById {
        ById(
            config
                .checks
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((c.id.clone(), u32::try_from(i).ok()?)))
                .collect(),
        )
    }

    /// The position of the check `id` in the config this was made from.
    fn find(&self, id: &str) -> Option<usize> {
        self.0.get(id).map(|&i| i as usize)
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
            .map(|(index, check)| {
                let row = *rows.get(&check.id)?;
                let open = open
                    .iter()
                    .filter(|i| i.auto)
                    .filter(|i| i.check.as_deref() == Some(check.id.as_str()))
                    .max_by_key(|i| i.started_at);
                let (runtime, now) = Runtime::new(row, open);
                if open.is_some() {
                    cells.set(index, now);
                }
                handles.metrics.set_state(check, runtime.tracker.state);
                Some(runtime)
            })
            .collect();
        let recorder = Recorder {
            by_id: ById::new(&config),
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
        let all: Vec<usize> = (0..self.checks.len()).collect();
        self.close_spans(&all, Timestamp::now()).await;
    }

    /// Takes a new config: new checks start unknown, removed ones have their time counted and
    /// their automatic incident closed, changed targets start afresh; the rest keep their state.
    async fn reconfigure(&mut self, r: Reconfig) -> Result<(), actions::Error> {
        let now = Timestamp::now();
        let by_id = ById::new(&r.config);
        let removed: Vec<bool> = self
            .config
            .checks
            .iter()
            .map(|c| by_id.find(c.id.as_str()).is_none())
            .collect();
        let reset: Vec<usize> = removed
            .iter()
            .enumerate()
            .filter(|(_, gone)| **gone)
            .map(|(i, _)| i)
            .chain(r.reset.iter().filter_map(|id| self.by_id.find(id.as_str())))
            .collect();
        self.close_spans(&reset, now).await;
        for &index in &reset {
            let Some(rt) = self.checks.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            if let Some(incident) = rt.incident.take() {
                actions::retire(&self.writer, incident.id, now, removed[index]).await?;
            }
            if let Some(check) = self.config.checks.get(index) {
                self.metrics.forget(check);
            }
            if !removed[index] {
                rt.tracker = Tracker::new(State::Unknown);
                rt.failures = None;
                rt.good_since = None;
                self.cells.set(index, CheckNow::default());
            }
        }
        let mut cells = Cells::new(r.config.checks.len());
        let mut checks = Vec::with_capacity(r.config.checks.len());
        for (index, check) in r.config.checks.iter().enumerate() {
            let Some(&row) = r.rows.get(&check.id) else {
                checks.push(None);
                continue;
            };
            let before = self.by_id.find(check.id.as_str());
            let mut rt = before
                .and_then(|i| self.checks.get_mut(i)?.take())
                .unwrap_or_else(|| Runtime::new(row, None).0);
            if let Some(now) = before.and_then(|i| self.cells.cell(i)) {
                cells.set(index, now);
            }
            rt.row = row;
            self.metrics.set_state(check, rt.tracker.state);
            checks.push(Some(rt));
        }
        self.config = r.config;
        self.by_id = by_id;
        self.checks = checks;
        self.cells = cells;
        Ok(())
    }

    async fn handle(&mut self, id: &CheckId, outcome: Outcome) -> Result<(), actions::Error> {
        let config = self.config.clone();
        let Some(index) = self.by_id.find(id.as_str()) else {
            return Ok(());
        };
        let (Some(Some(rt)), Some(check)) = (self.checks.get_mut(index), config.checks.get(index))
        else {
            return Ok(());
        };
        if self.local.skip(check, &outcome, &self.metrics) {
            return Ok(());
        }
        self.metrics.observe(check, &outcome);
        if let Some(tls) = &outcome.tls {
            let days = &config.notify.cert_days;
            let memo = rt.cert.get_or_insert_with(Box::default);
            actions::cert_seen(&self.writer, memo, id, tls, outcome.at, days).await?;
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
            rt.failures = None;
            rt.good_since.get_or_insert(outcome.at);
        } else {
            rt.good_since = None;
            let failures = rt.failures.get_or_insert_with(Box::default);
            if failures.0.len() >= check.policy.failure_threshold.get() as usize {
                failures.0.pop_front();
            }
            failures.0.push_back(evidence.clone());
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
        let incident = self.cells.get(index).incident;
        self.cells.set(
            index,
            CheckNow {
                state: Some(rt.tracker.state),
                last: Some(LastProbe {
                    at: outcome.at,
                    status: outcome.status,
                    latency: outcome.latency,
                    code: outcome.code,
                    failure: outcome.failure.clone().map(Box::new),
                    tls: outcome.tls.clone().map(Box::new),
                }),
                incident,
            },
        );

        match step.change {
            Some(change) => {
                let title = window.map(|(_, title)| title);
                self.transition(index, check, change, title).await?
            }
            None => self.add_evidence(index, evidence).await?,
        }
        Ok(())
    }

    /// Hands a change of state to [`actions::check_changed`], which resolves and opens
    /// incidents, and keeps the incident now open.
    async fn transition(
        &mut self,
        index: usize,
        check: &Check,
        change: Change,
        window: Option<String>,
    ) -> Result<(), actions::Error> {
        self.metrics.set_state(check, change.to);
        let Some(Some(rt)) = self.checks.get_mut(index) else {
            return Ok(());
        };
        let outage = actions::check_changed(
            &self.writer,
            Detected {
                check,
                row: rt.row,
                change,
                window,
                open: rt.incident.as_ref().map(|i| (i.id, i.started_at)),
                failures: rt
                    .failures
                    .iter()
                    .flat_map(|f| f.0.iter())
                    .cloned()
                    .collect(),
                good_since: rt.good_since,
            },
        )
        .await?;
        match outage {
            Outage::Continues => {}
            Outage::Over => rt.incident = None,
            Outage::Opened(o) => {
                rt.incident = Some(Box::new(OpenIncident {
                    id: o.id,
                    started_at: o.started_at,
                    evidence_kept: o.evidence,
                    last_message: o.last_message,
                }));
            }
        }
        let incident = rt.incident_id();
        if self.cells.get(index).incident != incident {
            let mut now = self.cells.get(index).clone();
            now.incident = incident;
            self.cells.set(index, now);
        }
        Ok(())
    }

    /// Keeps a failing probe as evidence of the open incident when it says something new.
    async fn add_evidence(
        &mut self,
        index: usize,
        evidence: Evidence,
    ) -> Result<(), actions::Error> {
        let Some(Some(rt)) = self.checks.get_mut(index) else {
            return Ok(());
        };
        let Some(open) = rt.incident.as_mut() else {
            return Ok(());
        };
        if evidence.status == Status::Up
            || open.evidence_kept >= MAX_EVIDENCE
            || open.last_message == evidence.message
        {
            return Ok(());
        }
        open.evidence_kept += 1;
        open.last_message = evidence.message.clone();
        let incident = open.id;
        Ok(self
            .writer
            .send(Write::AddEvidence { incident, evidence })
            .await?)
    }

    /// Counts the time from each of these checks' last probe to `now` (at most one interval), at
    /// shutdown or when a reload stops them; `indexes` are positions in the config in force.
    async fn close_spans(&mut self, indexes: &[usize], now: Timestamp) {
        for &index in indexes {
            let (Some(Some(rt)), Some(check)) =
                (self.checks.get(index), self.config.checks.get(index))
            else {
                continue;
            };
            let Some(last) = rt.tracker.last_at() else {
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
