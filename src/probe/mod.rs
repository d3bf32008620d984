//! Probes: one request against one target, turned into an [`Outcome`].
//!
//! A down target is an `Outcome`, never an `Err`: every failure is classified into a [`Reason`]
//! with a message a person can act on. Every probe ends within its timeout and reads at most
//! `max_bytes`. This module knows nothing of SQLite, metrics, incidents or schedules.

mod body;
mod dns;
mod http;
mod target;
mod tcp;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::clock::Timestamp;
pub use crate::model::{Phase, Status};

pub use body::{BodyConditions, JsonCondition, JsonPath};
pub use dns::{DnsSpec, Rcode, RecordKind, Transport};
pub use http::{HttpSpec, StatusRange};
pub use target::parse as parse_target;
pub use tcp::TcpSpec;
pub use tls::{TlsInfo, earliest_expiry};

/// What to probe: a closed set, one variant per probe kind.
#[derive(Clone, Debug)]
pub enum ProbeSpec {
    Http(Box<HttpSpec>),
    Tcp(TcpSpec),
    Dns(DnsSpec),
}

impl ProbeSpec {
    /// The kind as shown in labels and APIs.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::Http(_) => "http",
            ProbeSpec::Tcp(_) => "tcp",
            ProbeSpec::Dns(_) => "dns",
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

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Failure {
        Failure {
            reason,
            message: message.into(),
        }
    }
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
        }
    }

    /// Every reason, for parsing stored rows and pre-registering metrics.
    pub const ALL: [Reason; 15] = [
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
    }
}

/// The verdict on a probe whose conditions all held: slowness and certificate expiry.
fn judge_success(
    latency: Duration,
    tls: Option<&TlsInfo>,
    limits: &Limits,
    now: Timestamp,
) -> (Status, Option<Failure>) {
    let took = fmt_duration(latency);
    if let Some(max) = limits.max_latency.filter(|&max| latency > max) {
        let message = format!("took {took}, more than max_latency = {}", fmt_duration(max));
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
            "took {took}, more than degraded_after = {}",
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

/// Resolves `host:port` through the system resolver, timing the `resolve` phase: every address
/// of the allowed family, in the resolver's order, never an empty list.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    family: IpFamily,
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<Vec<SocketAddr>, Failure> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return if family.allows(ip) {
            Ok(vec![SocketAddr::new(ip, port)])
        } else {
            Err(Failure::new(
                Reason::Dns,
                format!("{ip} is not an address of the required family ({family:?})"),
            ))
        };
    }
    let started = Instant::now();
    let lookup = tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port))).await;
    trace.phases.resolve = Some(started.elapsed());
    match lookup {
        Err(_) => Err(Failure::new(
            Reason::Dns,
            format!("resolving {host} timed out"),
        )),
        Ok(Err(e)) => Err(Failure::new(
            Reason::Dns,
            format!("cannot resolve {host}: {e}"),
        )),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.filter(|a| family.allows(a.ip())).collect();
            if addrs.is_empty() {
                let which = match family {
                    IpFamily::Any => "no address",
                    IpFamily::V4 => "no IPv4 address",
                    IpFamily::V6 => "no IPv6 address",
                };
                Err(Failure::new(Reason::Dns, format!("{host} has {which}")))
            } else {
                Ok(addrs)
            }
        }
    }
}

/// Opens a TCP connection to the first of `addrs` that accepts before the deadline, timing the
/// `connect` phase. Addresses are tried in order, as curl does: `localhost` is often `::1` first
/// while the service listens on `127.0.0.1` only. A failure is the last address's.
pub(crate) async fn connect(
    addrs: &[SocketAddr],
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<tokio::net::TcpStream, Failure> {
    let started = Instant::now();
    let mut failure = Failure::new(Reason::Dns, "no address to connect to");
    for &addr in addrs {
        match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Err(_) => {
                failure = Failure::new(
                    Reason::ConnectTimeout,
                    format!("connecting to {addr} timed out"),
                );
                break;
            }
            Ok(Err(e)) => failure = classify_io(&e, &format!("connecting to {addr}")),
            Ok(Ok(stream)) => {
                trace.phases.connect = Some(started.elapsed());
                // Probes are small request/response exchanges; Nagle would only add latency.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
        }
    }
    trace.phases.connect = Some(started.elapsed());
    Err(failure)
}

/// Classifies an I/O error by its kind; `doing` says what was attempted.
pub(crate) fn classify_io(e: &std::io::Error, doing: &str) -> Failure {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            Failure::new(Reason::Refused, format!("{doing}: connection refused"))
        }
        ErrorKind::TimedOut => Failure::new(Reason::Timeout, format!("{doing}: timed out")),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            Failure::new(
                Reason::Network,
                format!("{doing}: connection reset by the target"),
            )
        }
        ErrorKind::UnexpectedEof => Failure::new(
            Reason::Protocol,
            format!("{doing}: the target closed the connection"),
        ),
        _ => Failure::new(Reason::Network, format!("{doing}: {e}")),
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
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(fmt_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(fmt_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(fmt_duration(Duration::from_secs(10)), "10s");
        assert_eq!(fmt_duration(Duration::from_micros(420)), "420µs");
    }

    #[test]
    fn excerpt_truncates_and_neutralises_control_characters() {
        assert_eq!(excerpt(b"ab\r\ncd", 10), "ab··cd");
        assert_eq!(excerpt(b"abcdef", 3), "abc…");
    }

    #[test]
    fn cert_expiry_warning_degrades_before_slowness_and_max_latency_is_down() {
        let day = Duration::from_secs(86_400);
        let now = Timestamp(1_000 * 86_400_000);
        let limits = Limits {
            cert_expiry_warning: Some(day * 14),
            degraded_after: Some(Duration::from_millis(100)),
            max_latency: Some(Duration::from_secs(1)),
            ..Limits::default()
        };
        let tls = |days: i64| TlsInfo {
            version: "TLS 1.3",
            earliest_expiry: Some(Timestamp(now.0 + days * 86_400_000)),
        };
        let fast = Duration::from_millis(10);
        let (status, f) = judge_success(fast, Some(&tls(5)), &limits, now);
        assert_eq!(status, Status::Degraded);
        let f = f.unwrap();
        assert_eq!(f.reason, Reason::CertExpiry);
        assert!(f.message.contains("expires in 5 days"), "{}", f.message);
        assert_eq!(
            judge_success(fast, Some(&tls(30)), &limits, now),
            (Status::Up, None)
        );
        let (status, f) = judge_success(fast, Some(&tls(-1)), &limits, now);
        assert_eq!(status, Status::Degraded);
        assert!(f.unwrap().message.contains("expired on"));
        let (status, f) = judge_success(Duration::from_secs(2), None, &limits, now);
        assert_eq!((status, f.unwrap().reason), (Status::Down, Reason::Slow));
        let (status, f) = judge_success(Duration::from_millis(200), None, &limits, now);
        assert_eq!(
            (status, f.unwrap().reason),
            (Status::Degraded, Reason::Slow)
        );
    }

    /// Regression: only the first resolved address was tried, so `localhost` resolving to `::1`
    /// first was refused by a service listening on `127.0.0.1` alone.
    #[tokio::test]
    async fn connect_falls_back_past_a_refusing_address() {
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut trace = Trace::default();
        let addrs = [closed, open.local_addr().unwrap()];
        let stream = connect(&addrs, deadline, &mut trace)
            .await
            .expect("the second address accepts");
        assert_eq!(stream.peer_addr().unwrap(), addrs[1]);
        let failure = connect(&[closed], deadline, &mut trace).await.unwrap_err();
        assert_eq!(failure.reason, Reason::Refused, "{failure:?}");
        assert!(failure.message.contains(&closed.to_string()), "{failure:?}");
    }

    #[test]
    fn reasons_round_trip_through_their_names() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
    }
}
