//! Outcomes that failed for a fault of this machine, for the recorder: counted, logged at a
//! bounded rate, and kept away from everything a target's results feed. It decides nothing else.

use std::time::{Duration, Instant};

use crate::config::Check;
use crate::metrics::Metrics;
use crate::probe::{Outcome, Reason};

/// Skipped outcomes are logged at most this often, with how many were skipped since.
const LOCAL_FAULT_LOG_EVERY: Duration = Duration::from_secs(10);

/// Outcomes that failed for a fault of this machine (out of descriptors or memory, the local
/// resolver dead): they say nothing about their target, so they are no data.
#[derive(Default)]
pub(super) struct LocalFaults {
    /// Skipped since the last log line.
    unlogged: u64,
    logged_at: Option<Instant>,
}

impl LocalFaults {
    /// Whether `outcome` is a local fault; if so it is counted and logged (rate-limited) here
    /// and must touch nothing else: no state machine, incident, result row, uptime or probe metric.
    pub(super) fn skip(&mut self, check: &Check, outcome: &Outcome, metrics: &Metrics) -> bool {
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
