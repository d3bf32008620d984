//! Probes: one request against one target, turned into an [`Outcome`].
//!
//! A down target is an `Outcome`, never an `Err`: every failure is classified into a [`Reason`]
//! with a message a person can act on, cut to [`MAX_MESSAGE`] characters whatever the target
//! sends. Every probe ends within its timeout and reads at most `max_bytes`. This module knows nothing of SQLite, metrics, incidents or schedules.

mod body;
mod cert;
mod dns;
mod http;
mod net;
mod target;
mod tcp;
mod tls;

use std::fmt;
use std::time::{Duration, Instant};

use crate::clock::Timestamp;
pub use crate::model::{Phase, ProbeKind, Status};

pub use body::{BodyConditions, JsonCondition, JsonPath};
pub use dns::{DnsSpec, Rcode, RecordKind, Transport};
pub use http::{HttpSpec, StatusRange};
pub use target::parse as parse_target;
pub use tcp::TcpSpec;
pub use tls::{TlsInfo, earliest_expiry};

pub(crate) use net::{classify_io, connect, resolve};

/// What to probe: a closed set, one variant per probe kind.
#[derive(Clone, Debug)]
pub enum ProbeSpec {
    Http(Box<HttpSpec>),
    Tcp(TcpSpec),
    Dns(DnsSpec),
}

impl ProbeSpec {
    /// The kind as shown in labels and APIs.
    pub fn kind(&self) -> ProbeKind {
        match self {
            ProbeSpec::Http(_) => ProbeKind::Http,
            ProbeSpec::Tcp(_) => ProbeKind::Tcp,
            ProbeSpec::Dns(_) => ProbeKind::Dns,
        }
    }
}

/// The bounds every probe runs within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Hard bound on the whole probe.
    pub timeout: Duration,
    /// A successful probe slower than this is degraded.
    pub degraded_after: Option<Duration>,
    /// A successful probe slower than this is down.
    pub max_latency: Option<Duration>,
    /// A certificate in the peer's chain expiring sooner than this makes the probe degraded.
    pub cert_expiry_warning: Option<Duration>,
    /// Cap on bytes read from the target (body, banner).
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(10),
            degraded_after: None,
            max_latency: None,
            cert_expiry_warning: None,
            max_bytes: 1 << 20,
        }
    }
}

/// The result of one probe.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// When the probe started (wall clock).
    pub at: Timestamp,
    pub status: Status,
    /// Why it is not up; `None` exactly when `status` is `Up`.
    pub failure: Option<Failure>,
    /// Total time the probe took.
    pub latency: Duration,
    /// HTTP status code or DNS rcode, when the target answered.
    pub code: Option<u16>,
    pub phases: Phases,
    /// What the TLS handshake revealed, when there was one.
    pub tls: Option<TlsInfo>,
    /// The number of answer records of a DNS reply.
    pub answers: Option<u32>,
    /// The address probed and, for HTTP, what the response said of itself.
    pub facts: Facts,
}

/// What a probe learned about its target beside the verdict: the facts blackbox_exporter
/// reports as `probe_ip_*`, `probe_dns_lookup_time_seconds` and `probe_http_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The address connected to (the first resolved when none accepted; the server for DNS).
    pub ip: Option<std::net::IpAddr>,
    /// How long the first name lookup took; zero for an address written as such.
    pub lookup: Option<Duration>,
    /// The final HTTP response, when there was one.
    pub http: Option<HttpFacts>,
}

/// The final response of an HTTP probe, as far as blackbox_exporter's series need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpFacts {
    pub version: ::http::Version,
    /// Redirects followed before the final response.
    pub redirects: u8,
    /// Whether the final request went over TLS.
    pub tls: bool,
    /// The `Content-Length` the final response declared.
    pub content_length: Option<u64>,
    /// Body bytes read (the body is read only when the status is an expected one).
    pub body_bytes: u64,
    /// The final response's `Last-Modified`.
    pub last_modified: Option<Timestamp>,
    /// A body condition (`contains`, `not_contains`, `regex`) failed.
    pub body_failed: bool,
}

impl Outcome {
    /// A one-line summary: "up in 12ms" or "down: connection refused".
    pub fn summary(&self) -> String {
        match &self.failure {
            None => format!("{} in {}", self.status, fmt_duration(self.latency)),
            Some(f) => format!("{} ({}): {}", self.status, f.reason, f.message),
        }
    }
}

/// Why a probe failed: the class (a metrics label) and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
}

/// A failure message is at most this many characters, ellipsis included: much of its text
/// comes from the target (locations, banners, names, excerpts), and it is stored with every
/// result and shown on every page.
pub const MAX_MESSAGE: usize = 300;

impl Failure {
    /// A failure whose message is cut to [`MAX_MESSAGE`] characters, control characters replaced.
    pub fn new(reason: Reason, message: impl Into<String>) -> Failure {
        Failure {
            reason,
            message: bounded(message.into(), MAX_MESSAGE),
        }
    }
}

/// `text` cut to at most `max` characters on a character boundary (the last one an ellipsis
/// when cut), control characters replaced by `·`.
fn bounded(text: String, max: usize) -> String {
    if text.len() <= max && !text.chars().any(char::is_control) {
        return text;
    }
    let cut = text.chars().nth(max).is_some();
    let keep = if cut { max.saturating_sub(1) } else { max };
    let mut out: String = text
        .chars()
        .take(keep)
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    if cut {
        out.push('…');
    }
    out
}

/// The closed taxonomy of failures, shared by result rows, incident evidence and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The name did not resolve.
    Dns,
    /// The target refused the connection.
    Refused,
    /// The TCP connection was not established in time.
    ConnectTimeout,
    /// TLS handshake or certificate failure.
    Tls,
    /// The target accepted but did not answer in time.
    Timeout,
    /// An HTTP status outside the expected set.
    HttpStatus,
    /// A body condition failed, or the body exceeded the cap.
    Body,
    /// A JSON condition failed, or the body was not JSON.
    Json,
    /// Too many redirects, or a redirect loop.
    Redirect,
    /// A certificate of the chain expires sooner than `cert_expiry_warning`.
    CertExpiry,
    /// The target spoke something other than the expected protocol.
    Protocol,
    /// Another network error (reset, unreachable).
    Network,
    /// A DNS answer with an unexpected rcode.
    Rcode,
    /// DNS answers or a TCP banner did not match what was expected.
    Answer,
    /// The probe succeeded but slower than allowed.
    Slow,
    /// A fault of this machine (out of descriptors or memory, the local resolver not
    /// answering): it says nothing about the target, and counts as no data.
    Local,
}

impl Reason {
    /// The snake_case name used as the metrics `reason` label and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Dns => "dns",
            Reason::Refused => "refused",
            Reason::ConnectTimeout => "connect_timeout",
            Reason::Tls => "tls",
            Reason::Timeout => "timeout",
            Reason::HttpStatus => "http_status",
            Reason::Body => "body",
            Reason::Json => "json",
            Reason::Redirect => "redirect",
            Reason::CertExpiry => "cert_expiry",
            Reason::Protocol => "protocol",
            Reason::Network => "network",
            Reason::Rcode => "rcode",
            Reason::Answer => "answer",
            Reason::Slow => "slow",
            Reason::Local => "local",
        }
    }

    /// Every reason, for parsing stored rows and pre-registering metrics.
    pub const ALL: [Reason; 16] = [
        Reason::Dns,
        Reason::Refused,
        Reason::ConnectTimeout,
        Reason::Tls,
        Reason::Timeout,
        Reason::HttpStatus,
        Reason::Body,
        Reason::Json,
        Reason::Redirect,
        Reason::CertExpiry,
        Reason::Protocol,
        Reason::Network,
        Reason::Rcode,
        Reason::Answer,
        Reason::Slow,
        Reason::Local,
    ];

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Time spent in each phase, with blackbox_exporter's phase names; `None` when a phase did not run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    pub resolve: Option<Duration>,
    pub connect: Option<Duration>,
    pub tls: Option<Duration>,
    /// From request sent to first response byte.
    pub processing: Option<Duration>,
    /// Reading the body.
    pub transfer: Option<Duration>,
}

impl Phases {
    /// The time spent in `phase`, if it ran.
    pub fn get(&self, phase: Phase) -> Option<Duration> {
        match phase {
            Phase::Resolve => self.resolve,
            Phase::Connect => self.connect,
            Phase::Tls => self.tls,
            Phase::Processing => self.processing,
            Phase::Transfer => self.transfer,
        }
    }

    /// Every phase with its time, in the order they run.
    pub fn all(&self) -> [(Phase, Option<Duration>); Phase::COUNT] {
        Phase::ALL.map(|p| (p, self.get(p)))
    }

    /// Adds `other`'s phases to these, for probes that take several round trips (redirects).
    pub fn add(&mut self, other: &Phases) {
        let sum = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
        };
        self.resolve = sum(self.resolve, other.resolve);
        self.connect = sum(self.connect, other.connect);
        self.tls = sum(self.tls, other.tls);
        self.processing = sum(self.processing, other.processing);
        self.transfer = sum(self.transfer, other.transfer);
    }
}

/// Runs one probe; it ends within `limits.timeout` whatever the target does.
pub async fn run(spec: &ProbeSpec, limits: &Limits) -> Outcome {
    let at = Timestamp::now();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let mut trace = Trace::default();
    let work = async {
        match spec {
            ProbeSpec::Http(s) => http::probe(s, limits, deadline, &mut trace).await,
            ProbeSpec::Tcp(s) => tcp::probe(s, limits, deadline, &mut trace).await,
            ProbeSpec::Dns(s) => dns::probe(s, limits, deadline, &mut trace).await,
        }
    };
    let result = match tokio::time::timeout_at(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(Failure::new(
            Reason::Timeout,
            format!("timed out after {}", fmt_duration(limits.timeout)),
        )),
    };
    let latency = started.elapsed();
    let (status, failure) = match result {
        Err(f) => (Status::Down, Some(f)),
        Ok(()) => judge_success(latency, trace.tls.as_ref(), limits, at),
    };
    Outcome {
        at,
        status,
        failure,
        latency,
        code: trace.code,
        phases: trace.phases,
        tls: trace.tls,
        answers: trace.answers,
        facts: trace.facts,
    }
}

/// The verdict on a probe whose conditions all held: slowness and certificate expiry.
fn judge_success(
    latency: Duration,
    tls: Option<&TlsInfo>,
    limits: &Limits,
    now: Timestamp,
) -> (Status, Option<Failure>) {
    // Only a slow probe's message says how long it took: most probes format nothing.
    let took = || fmt_duration(latency);
    if let Some(max) = limits.max_latency.filter(|&max| latency > max) {
        let message = format!(
            "took {}, more than max_latency = {}",
            took(),
            fmt_duration(max)
        );
        return (Status::Down, Some(Failure::new(Reason::Slow, message)));
    }
    let expiry = tls.and_then(|t| t.earliest_expiry);
    if let (Some(warning), Some(expiry)) = (limits.cert_expiry_warning, expiry)
        && expiry < now.plus(warning)
    {
        let message = if expiry <= now {
            format!("a certificate of the chain expired on {}", expiry.date())
        } else {
            format!(
                "a certificate of the chain expires in {} (on {}), sooner than cert_expiry_warning = {}",
                fmt_days(expiry.since(now)),
                expiry.date(),
                fmt_duration(warning)
            )
        };
        return (
            Status::Degraded,
            Some(Failure::new(Reason::CertExpiry, message)),
        );
    }
    if let Some(limit) = limits.degraded_after.filter(|&limit| latency > limit) {
        let message = format!(
            "took {}, more than degraded_after = {}",
            took(),
            fmt_duration(limit)
        );
        return (Status::Degraded, Some(Failure::new(Reason::Slow, message)));
    }
    (Status::Up, None)
}

/// Whole days, or hours under two days: "13 days", "20 hours".
fn fmt_days(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    if hours >= 48 {
        format!("{} days", hours / 24)
    } else {
        format!("{hours} hours")
    }
}

/// What a probe learned on its way, kept even when it fails half-way.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub code: Option<u16>,
    pub phases: Phases,
    pub tls: Option<TlsInfo>,
    pub answers: Option<u32>,
    pub facts: Facts,
}

/// Which address family a probe may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpFamily {
    /// Whatever the resolver returns first.
    #[default]
    Any,
    V4,
    V6,
}

impl IpFamily {
    fn allows(self, ip: std::net::IpAddr) -> bool {
        match self {
            IpFamily::Any => true,
            IpFamily::V4 => ip.is_ipv4(),
            IpFamily::V6 => ip.is_ipv6(),
        }
    }
}

/// Formats a duration the way people read it: `850ms`, `2.5s`, `10s`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        if d.as_micros() < 1000 {
            format!("{}µs", d.as_micros())
        } else {
            format!("{ms}ms")
        }
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Shortens untrusted text for a message: at most `max` characters, control characters replaced.
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
