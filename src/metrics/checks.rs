//! The per-check series: one small row of values per check, its labels rendered once, and the
//! text exposition written from the rows at scrape time.
//!
//! A row holds what the last probe said plus counters, so 10,000 checks cost a few megabytes,
//! not a label set per series. Series follow blackbox_exporter's names, types and help. Nothing
//! here decides anything, and nothing here reads the clock or the network.

use std::fmt::Write as _;
use std::time::Duration;

use super::labels::{Labels, Span};
use super::rows::Rows;
use crate::config::Check;
use crate::model::{CheckId, Phase, ProbeKind, State, Status};
use crate::probe::{Outcome, Reason};
use crate::uptime::WINDOWS;

/// Every check's row, in the order of their ids: a scrape written in pieces resumes after the
/// last id it wrote, even when checks come and go between pieces.
#[derive(Default)]
pub(super) struct Table {
    rows: Rows<Row>,
    /// Every row's `check="…",group="…"`, escaped once.
    labels: Labels,
    /// Where `set_state` renders a check's labels to compare them with its row's.
    scratch: String,
}

/// One check's values.
struct Row {
    /// Its labels in [`Table::labels`].
    labels: Span,
    kind: ProbeKind,
    state: Option<State>,
    /// Uptime per window of [`WINDOWS`]; NaN when the window has no data.
    uptime: [f64; WINDOWS.len()],
    last: Option<Last>,
    probes: [u64; Status::ALL.len()],
    /// Failures and skipped probes by reason, allocated at the first one.
    reasons: Option<Box<[[u64; Reason::ALL.len()]; 2]>>,
}

/// What the last probes said; the TLS and DNS answer values stay from the last probe that had them.
/// What only HTTP and TLS probes have is boxed apart, so a TCP row carries none of it.
struct Last {
    success: bool,
    ip_protocol: u8,
    ip_hash: u32,
    duration: f64,
    lookup: f64,
    answers: Option<u32>,
    http: Option<Box<HttpLast>>,
    tls: Option<Box<TlsLast>>,
}

/// The last HTTP probe's status, phases and response facts.
#[derive(Default)]
struct HttpLast {
    code: Option<u16>,
    phases: [f64; Phase::COUNT],
    facts: Option<crate::probe::HttpFacts>,
}

/// What the last probes with a TLS handshake said.
#[derive(Default)]
struct TlsLast {
    ssl_expiry: Option<i64>,
    chain_expiry: Option<i64>,
    version: Option<&'static str>,
}

/// The HTTP part of a row without one (a row whose kind changed to HTTP before its next probe).
static NO_HTTP: HttpLast = HttpLast {
    code: None,
    phases: [0.0; Phase::COUNT],
    facts: None,
};

/// Writes the label pair of a check into `s` (cleared first), escaped for the exposition.
fn check_labels(check: &Check, s: &mut String) {
    s.clear();
    s.push_str("check=\"");
    escape(s, check.id.as_str());
    s.push_str("\",group=\"");
    escape(s, &check.group);
    s.push('"');
}

/// Appends `value` escaped as a label value: backslash, double quote and newline.
pub(super) fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// blackbox_exporter's `probe_ip_addr_hash`: FNV-1a (32 bits) of the address's bytes.
fn ip_hash(ip: std::net::IpAddr) -> u32 {
    let fnv = |bytes: &[u8]| {
        bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    };
    match ip {
        std::net::IpAddr::V4(v4) => fnv(&v4.octets()),
        std::net::IpAddr::V6(v6) => fnv(&v6.octets()),
    }
}

fn secs(d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| d.as_secs_f64())
}

impl Row {
    fn new(check: &Check, labels: Span) -> Row {
        Row {
            labels,
            kind: check.kind(),
            state: None,
            uptime: [f64::NAN; WINDOWS.len()],
            last: None,
            probes: [0; Status::ALL.len()],
            reasons: None,
        }
    }

    fn count(&mut self, which: usize, reason: Reason) {
        let reasons = self
            .reasons
            .get_or_insert_with(|| Box::new([[0; Reason::ALL.len()]; 2]));
        reasons[which][reason as usize] += 1;
    }
}

impl Table {
    /// The row of `check`, made on first use; a changed group or kind gets fresh labels.
    fn row(&mut self, check: &Check) -> &mut Row {
        let (labels, scratch) = (&mut self.labels, &mut self.scratch);
        self.rows.get_or_insert_with(&check.id, || {
            check_labels(check, scratch);
            Row::new(check, labels.push(scratch))
        })
    }

    fn compact(&mut self) {
        if self.labels.wasteful() {
            self.labels
                .compact(self.rows.values_mut().map(|r| &mut r.labels));
        }
    }

    pub(super) fn observe(&mut self, check: &Check, o: &Outcome) {
        let row = self.row(check);
        row.probes[o.status as usize] += 1;
        if let Some(f) = &o.failure {
            row.count(0, f.reason);
        }
        let http = check.kind() == ProbeKind::Http || o.facts.http.is_some();
        let last = row.last.get_or_insert(Last {
            success: false,
            ip_protocol: 0,
            ip_hash: 0,
            duration: 0.0,
            lookup: 0.0,
            answers: None,
            http: None,
            tls: None,
        });
        last.success = o.status != Status::Down;
        last.duration = o.latency.as_secs_f64();
        if http {
            let h = last.http.get_or_insert_with(Box::default);
            h.code = o.code;
            h.phases = o.phases.all().map(|(_, d)| secs(d));
            h.facts = o.facts.http;
        } else {
            last.http = None;
        }
        last.lookup = secs(o.facts.lookup);
        last.ip_protocol = match o.facts.ip {
            Some(std::net::IpAddr::V4(_)) => 4,
            Some(std::net::IpAddr::V6(_)) => 6,
            None => 0,
        };
        last.ip_hash = o.facts.ip.map_or(0, ip_hash);
        if let Some(tls) = &o.tls {
            let t = last.tls.get_or_insert_with(Box::default);
            t.version = Some(tls.version);
            if let Some(e) = tls.earliest_expiry {
                t.ssl_expiry = Some(e.0 / 1000);
            }
            if let Some(e) = tls.verified_expiry {
                t.chain_expiry = Some(e.0 / 1000);
            }
        }
        if let Some(n) = o.answers {
            last.answers = Some(n);
        }
    }

    pub(super) fn skipped(&mut self, check: &Check, reason: Reason) {
        self.row(check).count(1, reason);
    }

    pub(super) fn set_state(&mut self, check: &Check, state: State) {
        let span = self.row(check).labels;
        let mut scratch = std::mem::take(&mut self.scratch);
        check_labels(check, &mut scratch);
        if self.labels.get(span) != scratch {
            self.labels.release(span);
            let span = self.labels.push(&scratch);
            self.row(check).labels = span;
        }
        self.scratch = scratch;
        let row = self.row(check);
        row.kind = check.kind();
        row.state = Some(state);
        self.compact();
    }

    pub(super) fn set_uptime(&mut self, check: &Check, window: &str, ratio: Option<f64>) {
        if let Some(i) = WINDOWS.iter().position(|(w, _)| *w == window) {
            self.row(check).uptime[i] = ratio.unwrap_or(f64::NAN);
        }
    }

    pub(super) fn forget(&mut self, check: &Check) {
        if let Some(row) = self.rows.remove(&check.id) {
            self.labels.release(row.labels);
            self.compact();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// How one family is written: its header, then a line per value each row has.
pub(super) struct Family {
    pub name: &'static str,
    pub kind: &'static str,
    pub help: &'static str,
    write: fn(&Row, &mut Lines<'_>),
}

/// Writes the lines of one family for one row.
pub(super) struct Lines<'a> {
    out: &'a mut String,
    name: &'static str,
    row_labels: &'a str,
    kind: &'static str,
}

impl Lines<'_> {
    /// A sample with the check's labels, `extra` (a label name and value) sorted among them.
    fn put(&mut self, extra: Option<(&str, &str)>, value: impl std::fmt::Display) {
        let out = &mut *self.out;
        out.push_str(self.name);
        out.push('{');
        out.push_str(self.row_labels);
        let after_type = extra.filter(|(name, _)| *name > "type");
        if let Some((name, v)) = extra.filter(|(name, _)| *name < "type") {
            let _ = write!(out, ",{name}=\"");
            escape(out, v);
            out.push('"');
        }
        let _ = write!(out, ",type=\"{}\"", self.kind);
        if let Some((name, v)) = after_type {
            let _ = write!(out, ",{name}=\"");
            escape(out, v);
            out.push('"');
        }
        let _ = writeln!(out, "}} {value}");
    }
}

fn with_last(row: &Row, lines: &mut Lines<'_>, f: impl Fn(&Last, &mut Lines<'_>)) {
    if let Some(last) = &row.last {
        f(last, lines);
    }
}

fn with_http(row: &Row, lines: &mut Lines<'_>, f: impl Fn(&HttpLast, &mut Lines<'_>)) {
    if row.kind == ProbeKind::Http {
        with_last(row, lines, |x, l| {
            f(x.http.as_deref().unwrap_or(&NO_HTTP), l)
        });
    }
}

fn with_tls(row: &Row, lines: &mut Lines<'_>, f: impl Fn(&TlsLast, &mut Lines<'_>)) {
    with_last(row, lines, |x, l| {
        if let Some(t) = &x.tls {
            f(t, l);
        }
    });
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// Every per-check family, in exposition order.
pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "probe_success",
        kind: "gauge",
        help: "Displays whether or not the probe was a success",
        write: |r, l| with_last(r, l, |x, l| l.put(None, flag(x.success))),
    },
    Family {
        name: "probe_duration_seconds",
        kind: "gauge",
        help: "Returns how long the probe took to complete in seconds",
        write: |r, l| with_last(r, l, |x, l| l.put(None, x.duration)),
    },
    Family {
        name: "probe_dns_lookup_time_seconds",
        kind: "gauge",
        help: "Returns the time taken for probe dns lookup in seconds",
        write: |r, l| with_last(r, l, |x, l| l.put(None, x.lookup)),
    },
    Family {
        name: "probe_ip_protocol",
        kind: "gauge",
        help: "Specifies whether probe ip protocol is IP4 or IP6",
        write: |r, l| with_last(r, l, |x, l| l.put(None, x.ip_protocol)),
    },
    Family {
        name: "probe_ip_addr_hash",
        kind: "gauge",
        help: "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
        write: |r, l| with_last(r, l, |x, l| l.put(None, x.ip_hash)),
    },
    Family {
        name: "probe_http_status_code",
        kind: "gauge",
        help: "Response HTTP status code",
        write: |r, l| with_http(r, l, |x, l| l.put(None, x.code.unwrap_or(0))),
    },
    Family {
        name: "probe_http_duration_seconds",
        kind: "gauge",
        help: "Duration of http request by phase, summed over all redirects",
        write: |r, l| {
            with_http(r, l, |x, l| {
                for (p, v) in Phase::ALL.iter().zip(x.phases) {
                    l.put(Some(("phase", p.as_str())), v);
                }
            })
        },
    },
    Family {
        name: "probe_http_ssl",
        kind: "gauge",
        help: "Indicates if SSL was used for the final redirect",
        write: |r, l| {
            with_http(r, l, |x, l| {
                l.put(None, flag(x.facts.is_some_and(|h| h.tls)))
            })
        },
    },
    Family {
        name: "probe_http_version",
        kind: "gauge",
        help: "Returns the version of HTTP of the probe response",
        write: |r, l| {
            with_http(r, l, |x, l| {
                let v = match x.facts.map(|h| h.version) {
                    Some(http::Version::HTTP_09) => "0.9",
                    Some(http::Version::HTTP_10) => "1",
                    Some(http::Version::HTTP_11) => "1.1",
                    Some(http::Version::HTTP_2) => "2",
                    Some(http::Version::HTTP_3) => "3",
                    _ => "0",
                };
                l.put(None, v)
            })
        },
    },
    Family {
        name: "probe_http_redirects",
        kind: "gauge",
        help: "The number of redirects",
        write: |r, l| with_http(r, l, |x, l| l.put(None, x.facts.map_or(0, |h| h.redirects))),
    },
    Family {
        name: "probe_http_content_length",
        kind: "gauge",
        help: "Length of http content response",
        write: |r, l| {
            with_http(r, l, |x, l| {
                // Go's http.Response.ContentLength: -1 when the response declared none.
                let v = x.facts.map_or(0, |h| {
                    h.content_length
                        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
                });
                l.put(None, v)
            })
        },
    },
    Family {
        name: "probe_http_uncompressed_body_length",
        kind: "gauge",
        help: "Length of uncompressed response body",
        write: |r, l| {
            with_http(r, l, |x, l| {
                l.put(None, x.facts.map_or(0, |h| h.body_bytes))
            })
        },
    },
    Family {
        name: "probe_http_last_modified_timestamp_seconds",
        kind: "gauge",
        help: "Returns the Last-Modified HTTP response header in unixtime",
        write: |r, l| {
            with_http(r, l, |x, l| {
                if let Some(t) = x.facts.and_then(|h| h.last_modified) {
                    l.put(None, t.0 / 1000);
                }
            })
        },
    },
    Family {
        name: "probe_failed_due_to_regex",
        kind: "gauge",
        help: "Indicates if probe failed due to regex",
        write: |r, l| {
            with_http(r, l, |x, l| {
                l.put(None, flag(x.facts.is_some_and(|h| h.body_failed)))
            })
        },
    },
    Family {
        name: "probe_ssl_earliest_cert_expiry",
        kind: "gauge",
        help: "Returns earliest SSL cert expiry in unixtime",
        write: |r, l| {
            with_tls(r, l, |x, l| {
                if let Some(t) = x.ssl_expiry {
                    l.put(None, t);
                }
            })
        },
    },
    Family {
        name: "probe_ssl_last_chain_expiry_timestamp_seconds",
        kind: "gauge",
        help: "Returns last SSL chain expiry in timestamp seconds",
        write: |r, l| {
            with_tls(r, l, |x, l| {
                if let Some(t) = x.chain_expiry {
                    l.put(None, t);
                }
            })
        },
    },
    Family {
        name: "probe_tls_version_info",
        kind: "gauge",
        help: "Contains the TLS version used",
        write: |r, l| {
            with_tls(r, l, |x, l| {
                if let Some(v) = x.version {
                    l.put(Some(("version", v)), 1);
                }
            })
        },
    },
    Family {
        name: "probe_dns_answer_rrs",
        kind: "gauge",
        help: "Returns number of entries in the answer resource record list",
        write: |r, l| {
            with_last(r, l, |x, l| {
                if let Some(n) = x.answers {
                    l.put(None, n);
                }
            })
        },
    },
    Family {
        name: "watchpost_check_state",
        kind: "gauge",
        help: "1 for the check's current state, 0 for the others",
        write: |r, l| {
            if let Some(state) = r.state {
                for s in State::ALL {
                    l.put(Some(("state", s.as_str())), flag(s == state));
                }
            }
        },
    },
    Family {
        name: "watchpost_uptime_ratio",
        kind: "gauge",
        help: "Uptime over the window: 1 - outage / (observed - maintenance)",
        write: |r, l| {
            for ((window, _), ratio) in WINDOWS.iter().zip(r.uptime) {
                if !ratio.is_nan() {
                    l.put(Some(("window", *window)), ratio);
                }
            }
        },
    },
    Family {
        name: "watchpost_probes_total",
        kind: "counter",
        help: "Probes run, by result",
        write: |r, l| {
            for (s, n) in Status::ALL.iter().zip(r.probes) {
                if n > 0 {
                    l.put(Some(("result", s.as_str())), n);
                }
            }
        },
    },
    Family {
        name: "watchpost_probe_failures_total",
        kind: "counter",
        help: "Failed or degraded probes, by reason",
        write: |r, l| write_reasons(r, l, 0),
    },
    Family {
        name: "watchpost_probes_skipped_total",
        kind: "counter",
        help: "Probes not counted because they failed for a fault of this machine (reason local)",
        write: |r, l| write_reasons(r, l, 1),
    },
];

fn write_reasons(row: &Row, lines: &mut Lines<'_>, which: usize) {
    if let Some(reasons) = &row.reasons {
        for (reason, n) in Reason::ALL.iter().zip(reasons[which]) {
            if n > 0 {
                lines.put(Some(("reason", reason.as_str())), n);
            }
        }
    }
}

impl Table {
    /// Appends the samples of `family` of at most `rows` rows, those after `after` (the header
    /// first when `after` is `None`). Returns the last row written when more may follow.
    pub(super) fn write(
        &mut self,
        family: &Family,
        after: Option<&CheckId>,
        rows: usize,
        out: &mut String,
    ) -> Option<CheckId> {
        if after.is_none() {
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        }
        self.rows.merge();
        let mut last = None;
        let mut written = 0;
        for (id, row) in self.rows.after(after).take(rows) {
            let mut lines = Lines {
                out: &mut *out,
                name: family.name,
                row_labels: self.labels.get(row.labels),
                kind: row.kind.as_str(),
            };
            (family.write)(row, &mut lines);
            last = Some(id);
            written += 1;
        }
        last.filter(|_| written == rows).cloned()
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
