//! The recorder: the sole consumer of probe outcomes and the owner of every check's state.
//!
//! For each outcome it updates metrics, queues the raw result and the rollup time, runs the state
//! machine, opens and resolves incidents (waiting for their commit), and publishes a new
//! snapshot. It never probes and never reads the database.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, watch};

use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::maintenance::Schedule;
use crate::metrics::Metrics;
use crate::monitor::{self, Cadence, Change, State, Tracker};
use crate::probe::{Outcome, Reason, Status, fmt_duration};
use crate::snapshot::{CheckNow, LastProbe, Snapshot};
use crate::store::{Evidence, IncidentOpen, IncidentRow, Severity, Write, Writer};

/// Evidence rows kept for one incident at most; later failures repeat what is known.
const MAX_EVIDENCE: usize = 50;
/// Outcomes handled before a snapshot is published, when they arrive faster than one by one.
const PUBLISH_EVERY: usize = 256;

/// One probe result from the scheduler: the index of the check in the config and its outcome.
pub type Delivery = (usize, Outcome);

/// What the recorder needs from the rest of the daemon.
pub struct Recorder {
    config: Arc<Config>,
    checks: Vec<Runtime>,
    writer: Writer,
    metrics: Arc<Metrics>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    /// Woken on every incident change, so uptime figures are refreshed at once.
    history: Arc<Notify>,
    schedule: watch::Receiver<Arc<Schedule>>,
    local: LocalFaults,
}

/// Per-check state owned by the recorder.
struct Runtime {
    row: i64,
    tracker: Tracker,
    /// The open incident and when it started.
    incident: Option<(i64, Timestamp)>,
    /// Failing probes of the current streak, newest last, for an incident's evidence.
    failures: VecDeque<Evidence>,
    evidence_kept: usize,
    last_message: Option<String>,
    now: CheckNow,
}

/// Handles the recorder needs from the rest of the daemon.
pub struct Handles {
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
    pub snapshot: watch::Sender<Arc<Snapshot>>,
    pub history: Arc<Notify>,
    /// The maintenance windows in force; admins may change them while running.
    pub schedule: watch::Receiver<Arc<Schedule>>,
}

impl Recorder {
    /// A recorder for `config`, whose checks have store rows `rows` (index-aligned), resuming
    /// the incidents that were open when watchpost last stopped.
    pub fn new(
        config: Arc<Config>,
        rows: &[i64],
        open: &[IncidentRow],
        handles: Handles,
    ) -> Recorder {
        let checks = config
            .checks
            .iter()
            .zip(rows)
            .map(|(check, &row)| {
                let open = open
                    .iter()
                    .filter(|i| i.auto && i.check.as_deref() == Some(check.id.as_str()))
                    .max_by_key(|i| i.started_at);
                let state = match open.map(|i| i.severity) {
                    Some(Severity::Major | Severity::Critical) => State::Down,
                    Some(Severity::Minor | Severity::None) => State::Degraded,
                    None => State::Unknown,
                };
                handles.metrics.set_state(check, state);
                Runtime {
                    row,
                    tracker: Tracker::new(state),
                    incident: open.map(|i| (i.id, i.started_at)),
                    failures: VecDeque::new(),
                    evidence_kept: 0,
                    last_message: None,
                    now: CheckNow {
                        state: open.map(|_| state),
                        last: None,
                        incident: open.map(|i| i.id),
                    },
                }
            })
            .collect();
        let recorder = Recorder {
            config,
            checks,
            writer: handles.writer,
            metrics: handles.metrics,
            snapshot: handles.snapshot,
            history: handles.history,
            schedule: handles.schedule,
            local: LocalFaults::default(),
        };
        recorder.publish();
        recorder
    }

    /// Consumes outcomes until every sender is dropped, then counts the time since each check's
    /// last probe and returns.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Delivery>) {
        let mut batch = Vec::with_capacity(PUBLISH_EVERY);
        while rx.recv_many(&mut batch, PUBLISH_EVERY).await > 0 {
            for (index, outcome) in batch.drain(..) {
                if let Err(e) = self.handle(index, outcome).await {
                    tracing::error!(error = %e, "recording a probe result failed");
                }
            }
            self.publish();
        }
        self.close_spans(Timestamp::now()).await;
    }

    async fn handle(&mut self, index: usize, outcome: Outcome) -> Result<(), crate::store::Error> {
        let config = self.config.clone();
        let Some(check) = config.checks.get(index) else {
            return Ok(());
        };
        if self.local.skip(check, &outcome, &self.metrics) {
            return Ok(());
        }
        self.metrics.observe(check, &outcome);
        let rt = &mut self.checks[index];
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
        } else {
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
        rt.now.state = Some(rt.tracker.state);
        rt.now.last = Some(LastProbe {
            at: outcome.at,
            status: outcome.status,
            latency: outcome.latency,
            code: outcome.code,
            failure: outcome.failure.clone(),
        });

        match step.change {
            Some(change) => {
                let title = window.map(|(_, title)| title);
                self.transition(index, check, change, title).await?
            }
            None => self.add_evidence(index, evidence).await?,
        }
        Ok(())
    }

    /// Resolves the open incident when a check leaves a bad state, and opens one when it enters one.
    async fn transition(
        &mut self,
        index: usize,
        check: &Check,
        change: Change,
        window: Option<String>,
    ) -> Result<(), crate::store::Error> {
        tracing::info!(check = %check.id, from = change.from.as_str(), to = change.to.as_str(), at = %change.at.rfc3339(), "state changed");
        self.metrics.set_state(check, change.to);
        let rt = &mut self.checks[index];
        if let Some((id, started)) = rt.incident.take() {
            let note = match (&window, change.to) {
                (Some(title), State::Maintenance) => format!(
                    "Planned maintenance began at {}: {title}. Incidents are not opened during it.",
                    change.at.rfc3339()
                ),
                _ => format!(
                    "{} recovered at {}, after {}.",
                    check.name,
                    change.at.rfc3339(),
                    fmt_duration(change.at.since(started))
                ),
            };
            self.writer.resolve_incident(id, change.at, note).await?;
        }
        let severity = match change.to {
            State::Down => Severity::Major,
            State::Degraded => Severity::Minor,
            _ => {
                rt.now.incident = None;
                // The refresher reads what is committed; let it see the time counted so far.
                self.writer.flush().await?;
                self.history.notify_one();
                return Ok(());
            }
        };
        let mut evidence: Vec<Evidence> = rt
            .failures
            .iter()
            .filter(|e| e.at >= change.at)
            .cloned()
            .collect();
        // A failure that went on through a maintenance window opens at the window's end; the
        // failures inside the window are still its evidence.
        if evidence.is_empty() {
            evidence = rt.failures.iter().cloned().collect();
        }
        let first = evidence
            .first()
            .and_then(|e| e.message.clone())
            .unwrap_or_default();
        let verb = if severity == Severity::Major {
            "down"
        } else {
            "degraded"
        };
        let note = format!(
            "watchpost detected {} consecutive failed probes of {} starting at {}; the first said: {}",
            evidence.len().max(1),
            check.name,
            change.at.rfc3339(),
            first
        );
        let id = self
            .writer
            .open_incident(IncidentOpen {
                check: rt.row,
                severity,
                title: format!("{} is {verb}", check.name),
                started_at: change.at,
                note,
                evidence: evidence.clone(),
            })
            .await?;
        rt.incident = Some((id, change.at));
        rt.now.incident = Some(id);
        rt.evidence_kept = evidence.len();
        rt.last_message = evidence.last().and_then(|e| e.message.clone());
        self.history.notify_one();
        Ok(())
    }

    /// Keeps a failing probe as evidence of the open incident when it says something new.
    async fn add_evidence(
        &mut self,
        index: usize,
        evidence: Evidence,
    ) -> Result<(), crate::store::Error> {
        let rt = &mut self.checks[index];
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
        self.writer
            .send(Write::AddEvidence { incident, evidence })
            .await
    }

    /// Counts the time from each check's last probe to `now` (at most one interval) at shutdown.
    async fn close_spans(&mut self, now: Timestamp) {
        for (check, rt) in self.config.checks.iter().zip(&self.checks) {
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
        let open = self.checks.iter().filter(|c| c.incident.is_some()).count();
        self.metrics.set_incidents_open(open);
        let snapshot = Snapshot {
            config: self.config.clone(),
            checks: self.checks.iter().map(|c| c.now.clone()).collect(),
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
