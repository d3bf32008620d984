//! The Prometheus registry and one struct of typed metric handles.
//!
//! Per-check series use blackbox_exporter's names (`probe_success`, `probe_duration_seconds`,
//! `probe_http_status_code`, `probe_http_duration_seconds`) so existing dashboards work, plus
//! `watchpost_*` series for states, uptime, incidents and counts. Nothing here decides anything.

use prometheus::{Encoder, Gauge, GaugeVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::config::Check;
use crate::monitor::State;
use crate::probe::{Outcome, Reason, Status};

const CHECK_LABELS: [&str; 3] = ["check", "group", "type"];

/// Every metric watchpost exports.
pub struct Metrics {
    registry: Registry,
    probe_success: GaugeVec,
    probe_duration: GaugeVec,
    http_status: GaugeVec,
    http_phase: GaugeVec,
    ssl_expiry: GaugeVec,
    dns_answers: GaugeVec,
    tls_version: GaugeVec,
    check_state: GaugeVec,
    uptime: GaugeVec,
    incidents_open: IntGauge,
    probes_total: IntCounterVec,
    failures_total: IntCounterVec,
    skipped_total: IntCounterVec,
    reload_ok: IntGauge,
    reload_at: prometheus::Gauge,
    schedule_lag: prometheus::Histogram,
    notifications: Notifications,
    store: StoreSeries,
}

/// The outbox's series: deliveries by destination and result, and the backlog.
struct Notifications {
    total: IntCounterVec,
    pending: IntGauge,
    oldest: Gauge,
}

fn labels<'a>(check: &'a Check, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        check.id.as_str(),
        check.group.as_str(),
        check.kind().as_str(),
    ];
    v.extend_from_slice(extra);
    v
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let gauge =
            |name: &str, help: &str, extra: &[&str]| -> Result<GaugeVec, prometheus::Error> {
                let names: Vec<&str> = CHECK_LABELS.iter().chain(extra).copied().collect();
                let g = GaugeVec::new(Opts::new(name, help), &names)?;
                registry.register(Box::new(g.clone()))?;
                Ok(g)
            };
        let counter =
            |name: &str, help: &str, extra: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let names: Vec<&str> = CHECK_LABELS.iter().chain(extra).copied().collect();
                let c = IntCounterVec::new(Opts::new(name, help), &names)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let m = Metrics {
            probe_success: gauge(
                "probe_success",
                "Whether the last probe succeeded (1) or not (0)",
                &[],
            )?,
            probe_duration: gauge(
                "probe_duration_seconds",
                "How long the last probe took",
                &[],
            )?,
            http_status: gauge(
                "probe_http_status_code",
                "HTTP status code of the last probe",
                &[],
            )?,
            http_phase: gauge(
                "probe_http_duration_seconds",
                "Duration of each phase of the last HTTP probe",
                &["phase"],
            )?,
            ssl_expiry: gauge(
                "probe_ssl_earliest_cert_expiry",
                "Earliest expiry of the peer's certificate chain, in Unix seconds",
                &[],
            )?,
            dns_answers: gauge(
                "probe_dns_answer_rrs",
                "Answer records in the last DNS reply",
                &[],
            )?,
            tls_version: gauge(
                "probe_tls_version_info",
                "The TLS version of the last probe's handshake",
                &["version"],
            )?,
            check_state: gauge(
                "watchpost_check_state",
                "1 for the check's current state, 0 for the others",
                &["state"],
            )?,
            uptime: gauge(
                "watchpost_uptime_ratio",
                "Uptime over the window: 1 - outage / (observed - maintenance)",
                &["window"],
            )?,
            incidents_open: IntGauge::new("watchpost_incidents_open", "Incidents currently open")?,
            probes_total: counter(
                "watchpost_probes_total",
                "Probes run, by result",
                &["result"],
            )?,
            failures_total: counter(
                "watchpost_probe_failures_total",
                "Failed or degraded probes, by reason",
                &["reason"],
            )?,
            skipped_total: counter(
                "watchpost_probes_skipped_total",
                "Probes not counted because they failed for a fault of this machine (reason local)",
                &["reason"],
            )?,
            reload_ok: IntGauge::new(
                "watchpost_config_last_reload_successful",
                "Whether the last config load or reload succeeded (1) or was refused (0)",
            )?,
            reload_at: prometheus::Gauge::new(
                "watchpost_config_last_reload_success_timestamp_seconds",
                "When the config in force was loaded, in Unix seconds",
            )?,
            schedule_lag: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "watchpost_schedule_lag_seconds",
                    "How late each probe started against its slot in the check's interval",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )?,
            notifications: Notifications {
                total: IntCounterVec::new(
                    Opts::new(
                        "watchpost_notifications_total",
                        "Notifications by destination and result (delivered, failed attempt, dead-lettered)",
                    ),
                    &["destination", "result"],
                )?,
                pending: IntGauge::new(
                    "watchpost_outbox_pending",
                    "Notifications in the outbox not yet delivered (reminders not yet due included)",
                )?,
                oldest: Gauge::new(
                    "watchpost_outbox_oldest_seconds",
                    "Age of the oldest notification that is due and not yet delivered",
                )?,
            },
            store: StoreSeries::register(&registry)?,
            registry,
        };
        m.registry.register(Box::new(m.incidents_open.clone()))?;
        m.registry.register(Box::new(m.schedule_lag.clone()))?;
        m.registry.register(Box::new(m.reload_ok.clone()))?;
        m.registry.register(Box::new(m.reload_at.clone()))?;
        m.registry
            .register(Box::new(m.notifications.total.clone()))?;
        m.registry
            .register(Box::new(m.notifications.pending.clone()))?;
        m.registry
            .register(Box::new(m.notifications.oldest.clone()))?;
        m.reloaded(true, crate::clock::Timestamp::now());
        Ok(m)
    }

    /// Records one probe of `check`.
    pub fn observe(&self, check: &Check, o: &Outcome) {
        let l = labels(check, &[]);
        self.probe_success
            .with_label_values(&l)
            .set(if o.status == Status::Down { 0.0 } else { 1.0 });
        self.probe_duration
            .with_label_values(&l)
            .set(o.latency.as_secs_f64());
        if check.kind() == crate::model::ProbeKind::Http {
            self.http_status
                .with_label_values(&l)
                .set(o.code.map_or(0.0, f64::from));
            for (phase, d) in o.phases.all() {
                self.http_phase
                    .with_label_values(&labels(check, &[phase.as_str()]))
                    .set(d.map_or(0.0, |d| d.as_secs_f64()));
            }
        }
        if let Some(n) = o.answers {
            self.dns_answers.with_label_values(&l).set(f64::from(n));
        }
        if let Some(tls) = &o.tls {
            if let Some(expiry) = tls.earliest_expiry {
                self.ssl_expiry
                    .with_label_values(&l)
                    .set(expiry.0 as f64 / 1000.0);
            }
            let _ = self
                .tls_version
                .remove_label_values(&labels(check, &["TLS 1.2"]));
            let _ = self
                .tls_version
                .remove_label_values(&labels(check, &["TLS 1.3"]));
            self.tls_version
                .with_label_values(&labels(check, &[tls.version]))
                .set(1.0);
        }
        self.probes_total
            .with_label_values(&labels(check, &[o.status.as_str()]))
            .inc();
        if let Some(f) = &o.failure {
            self.failures_total
                .with_label_values(&labels(check, &[f.reason.as_str()]))
                .inc();
        }
    }

    /// Counts a probe of `check` whose result was skipped as no data.
    pub fn skipped(&self, check: &Check, reason: Reason) {
        self.skipped_total
            .with_label_values(&labels(check, &[reason.as_str()]))
            .inc();
    }

    /// Sets the one-hot state series of `check`.
    pub fn set_state(&self, check: &Check, state: State) {
        for s in State::ALL {
            self.check_state
                .with_label_values(&labels(check, &[s.as_str()]))
                .set(if s == state { 1.0 } else { 0.0 });
        }
    }

    /// Sets the uptime of `check` over `window`; a window without data has no series.
    pub fn set_uptime(&self, check: &Check, window: &str, ratio: Option<f64>) {
        let l = labels(check, &[window]);
        match ratio {
            Some(r) => self.uptime.with_label_values(&l).set(r),
            None => {
                let _ = self.uptime.remove_label_values(&l);
            }
        }
    }

    /// Removes every series of `check`, which the config no longer has (or probes differently).
    pub fn forget(&self, check: &Check) {
        let plain = labels(check, &[]);
        for g in [
            &self.probe_success,
            &self.probe_duration,
            &self.http_status,
            &self.ssl_expiry,
            &self.dns_answers,
        ] {
            let _ = g.remove_label_values(&plain);
        }
        let with = |extra: &'static str| labels(check, &[extra]);
        for p in crate::model::Phase::ALL {
            let _ = self.http_phase.remove_label_values(&with(p.as_str()));
        }
        for v in ["TLS 1.2", "TLS 1.3"] {
            let _ = self.tls_version.remove_label_values(&with(v));
        }
        for s in State::ALL {
            let _ = self.check_state.remove_label_values(&with(s.as_str()));
        }
        for (window, _) in crate::uptime::WINDOWS {
            let _ = self.uptime.remove_label_values(&with(window));
        }
        for s in Status::ALL {
            let _ = self.probes_total.remove_label_values(&with(s.as_str()));
        }
        for r in Reason::ALL {
            let _ = self.failures_total.remove_label_values(&with(r.as_str()));
            let _ = self.skipped_total.remove_label_values(&with(r.as_str()));
        }
    }

    /// The histogram of probe start lateness, for the scheduler to observe into.
    pub fn schedule_lag(&self) -> prometheus::Histogram {
        self.schedule_lag.clone()
    }

    /// Records a config load or reload at `at`: a refused one leaves the success time as it was.
    pub fn reloaded(&self, ok: bool, at: crate::clock::Timestamp) {
        self.reload_ok.set(i64::from(ok));
        if ok {
            self.reload_at.set(at.0 as f64 / 1000.0);
        }
    }

    pub fn set_incidents_open(&self, n: usize) {
        self.incidents_open
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Counts `n` notifications to `destination` with `result` (delivered, failed or dead).
    pub fn count_notifications(&self, destination: &str, result: &str, n: u64) {
        self.notifications
            .total
            .with_label_values(&[destination, result])
            .inc_by(n);
    }

    /// Sets the outbox backlog: rows pending and the age of the oldest due one.
    pub fn set_outbox(&self, pending: u64, oldest_seconds: f64) {
        let n = &self.notifications;
        n.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        n.oldest.set(oldest_seconds);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// Whether the database can be written, and the probe results held in memory meanwhile.
struct StoreSeries {
    writable: IntGauge,
    held: IntGauge,
    dropped: prometheus::IntCounter,
}

impl StoreSeries {
    fn register(registry: &Registry) -> Result<StoreSeries, prometheus::Error> {
        let s = StoreSeries {
            writable: IntGauge::new(
                "watchpost_store_writable",
                "Whether the last write to the database committed (1) or the storage failed (0)",
            )?,
            held: IntGauge::new(
                "watchpost_store_held_writes",
                "Writes held in memory until the database can be written again",
            )?,
            dropped: prometheus::IntCounter::new(
                "watchpost_store_dropped_writes_total",
                "Writes dropped, oldest first, because the memory queue for an unwritable database was full",
            )?,
        };
        registry.register(Box::new(s.writable.clone()))?;
        registry.register(Box::new(s.held.clone()))?;
        registry.register(Box::new(s.dropped.clone()))?;
        s.writable.set(1);
        Ok(s)
    }
}

impl Metrics {
    /// Sets the store's series from the writer's health (read at each scrape).
    pub fn set_store(&self, writable: bool, held: u64, dropped: u64) {
        let s = &self.store;
        s.writable.set(i64::from(writable));
        s.held.set(i64::try_from(held).unwrap_or(i64::MAX));
        s.dropped.inc_by(dropped.saturating_sub(s.dropped.get()));
    }
}
