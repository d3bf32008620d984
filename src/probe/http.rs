//! HTTP(S) probes on a connection we own, so every phase is timed: resolve, connect, TLS,
//! processing (request sent to first response byte) and transfer (the body).
//!
//! Each probe opens a fresh connection, as a new visitor would, and follows redirects on fresh
//! connections too (phases add up over the hops). The body is read up to the byte cap and no
//! further; a probe never outlives its deadline. A URL in a message never carries its userinfo or
//! its query: that is where credentials and health-check tokens live.

use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant as Deadline;
use tokio_util::either::Either;

use super::body::BodyConditions;
use super::tls::{self, Mode};
use super::{Failure, HttpFacts, IpFamily, Limits, Reason, Trace, excerpt, fmt_duration};
use crate::clock::Timestamp;

/// Redirects followed at most before the probe fails.
pub const MAX_REDIRECTS: usize = 10;

/// A redirect whose `Location` is longer than this is refused, not followed: no sane site needs
/// more, and a hostile one would make every hop and message carry it.
pub const MAX_LOCATION: usize = 8 * 1024;

/// URLs in messages are cut to this many characters, so a chain of them still fits.
const URL_IN_MESSAGE: usize = 80;

/// `url` as a message shows it: without its userinfo, query and fragment, where credentials and
/// health-check tokens live (`?…` says a query was there), cut to [`URL_IN_MESSAGE`].
fn shown(url: &url::Url) -> String {
    let mut bare = url.clone();
    // Both fail only for URLs that cannot have userinfo, which then have none to remove.
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.set_query(None);
    bare.set_fragment(None);
    let mut text = bare.to_string();
    if url.query().is_some() {
        text.push_str("?…");
    }
    excerpt(text.as_bytes(), URL_IN_MESSAGE)
}

/// A `Location` that is not a URL we follow, as a message shows it: the same parts removed
/// from the text as written.
fn shown_location(location: &str) -> String {
    let (before, query) = match location.find(['?', '#']) {
        Some(at) if location[at..].starts_with('?') => (&location[..at], "?…"),
        Some(at) => (&location[..at], ""),
        None => (location, ""),
    };
    let text = match before.find("//") {
        Some(at) => {
            let (scheme, rest) = before.split_at(at + 2);
            let authority = rest.find(['/', '\\']).unwrap_or(rest.len());
            match rest[..authority].rfind('@') {
                Some(userinfo) => format!("{scheme}{}{query}", &rest[userinfo + 1..]),
                None => format!("{before}{query}"),
            }
        }
        None => format!("{before}{query}"),
    };
    excerpt(text.as_bytes(), URL_IN_MESSAGE)
}

/// An HTTP check.
#[derive(Clone, Debug)]
pub struct HttpSpec {
    pub url: url::Url,
    pub method: http::Method,
    /// Headers sent with the request, authorization included.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// A request body, sent as is.
    pub body: Option<String>,
    /// Accepted status codes of the final response; never empty (the default is 200-399).
    pub expect_status: Vec<StatusRange>,
    pub conditions: BodyConditions,
    /// Follow up to `MAX_REDIRECTS` (10) redirects and judge the final response.
    pub follow_redirects: bool,
    pub ip: IpFamily,
    /// Accept any certificate (the chain's expiry is still reported).
    pub tls_insecure: bool,
}

impl HttpSpec {
    /// A GET of `url` with the default expectations.
    pub fn get(url: url::Url) -> HttpSpec {
        HttpSpec {
            url,
            method: http::Method::GET,
            headers: Vec::new(),
            body: None,
            expect_status: vec![StatusRange::DEFAULT],
            conditions: BodyConditions::default(),
            follow_redirects: true,
            ip: IpFamily::Any,
            tls_insecure: false,
        }
    }
}

/// An inclusive range of HTTP status codes; a single code is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

impl StatusRange {
    /// The default: any 2xx or 3xx.
    pub const DEFAULT: StatusRange = StatusRange { lo: 200, hi: 399 };

    pub fn contains(self, code: u16) -> bool {
        (self.lo..=self.hi).contains(&code)
    }
}

impl std::fmt::Display for StatusRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else if self.lo.is_multiple_of(100) && self.hi == self.lo + 99 {
            write!(f, "{}xx", self.lo / 100)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

const USER_AGENT: &str = concat!("watchpost/", env!("CARGO_PKG_VERSION"));

/// One request and its response, as far as the probe needs it.
struct Exchange {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

pub(super) async fn probe(
    spec: &HttpSpec,
    limits: &Limits,
    deadline: Deadline,
    trace: &mut Trace,
) -> Result<(), Failure> {
    let timeout = fmt_duration(limits.timeout);
    let mut url = spec.url.clone();
    let mut method = spec.method.clone();
    let mut visited = vec![url.clone()];
    let response = loop {
        let mut hop = Trace::default();
        let result = exchange(spec, &url, &method, limits, deadline, &timeout, &mut hop).await;
        trace.phases.add(&hop.phases);
        trace.code = hop.code.or(trace.code);
        if hop.tls.is_some() {
            trace.tls = hop.tls;
        }
        // blackbox_exporter reports the first hop's address and lookup, and the last response.
        trace.facts.ip = trace.facts.ip.or(hop.facts.ip);
        trace.facts.lookup = trace.facts.lookup.or(hop.facts.lookup);
        if let Some(mut http) = hop.facts.http {
            http.redirects = u8::try_from(visited.len() - 1).unwrap_or(u8::MAX);
            trace.facts.http = Some(http);
        }
        let response = result?;
        let location = response
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
        let (true, true, Some(location)) = (spec.follow_redirects, redirect, location) else {
            break response;
        };
        if location.len() > MAX_LOCATION {
            return Err(Failure::new(
                Reason::Redirect,
                format!(
                    "redirect with a {}-byte Location, over the {MAX_LOCATION}-byte limit: {}",
                    location.len(),
                    shown_location(location)
                ),
            ));
        }
        let next = url.join(location).map_err(|e| {
            Failure::new(
                Reason::Redirect,
                format!(
                    "redirect to an invalid location {:?}: {e}",
                    shown_location(location)
                ),
            )
        })?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(Failure::new(
                Reason::Redirect,
                format!("redirect to a non-HTTP location {}", shown(&next)),
            ));
        }
        if visited.contains(&next) {
            visited.push(next);
            let chain: Vec<String> = visited.iter().map(shown).collect();
            return Err(Failure::new(
                Reason::Redirect,
                format!("redirect loop: {}", chain.join(" → ")),
            ));
        }
        if visited.len() > MAX_REDIRECTS {
            return Err(Failure::new(
                Reason::Redirect,
                format!(
                    "more than {MAX_REDIRECTS} redirects, the last to {}",
                    shown(&next)
                ),
            ));
        }
        // Browsers turn a redirected POST into a GET, except for 307 and 308.
        if response.status == 303
            || (matches!(response.status, 301 | 302) && method == http::Method::POST)
        {
            method = http::Method::GET;
        }
        visited.push(next.clone());
        url = next;
    };

    let status = response.status;
    if !spec.expect_status.iter().any(|r| r.contains(status)) {
        let expected: Vec<String> = spec.expect_status.iter().map(|r| r.to_string()).collect();
        let via = if visited.len() > 1 {
            format!(" (after redirects to {})", shown(&url))
        } else {
            String::new()
        };
        return Err(Failure::new(
            Reason::HttpStatus,
            format!("status {status}, expected {}{via}", expected.join(", ")),
        ));
    }
    let judged = spec.conditions.judge(&response.body);
    if let (Err(f), Some(http)) = (&judged, trace.facts.http.as_mut()) {
        http.body_failed = f.reason == Reason::Body;
    }
    judged
}

/// Sends one request to `url` on a fresh connection and reads the response within the limits.
async fn exchange(
    spec: &HttpSpec,
    url: &url::Url,
    method: &http::Method,
    limits: &Limits,
    deadline: Deadline,
    timeout: &str,
    trace: &mut Trace,
) -> Result<Exchange, Failure> {
    let host = url
        .host_str()
        .ok_or_else(|| Failure::new(Reason::Protocol, format!("{} has no host", shown(url))))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::new(Reason::Protocol, format!("{} has no port", shown(url))))?;
    let addrs = super::resolve(host, port, spec.ip, deadline, trace).await?;
    let tcp = super::connect(&addrs, deadline, trace).await?;
    let hop = Hop {
        spec,
        url,
        method,
        host,
        port,
        limits,
        deadline,
        timeout,
    };
    if url.scheme() == "https" {
        let mode = Mode {
            insecure: spec.tls_insecure,
            http: true,
        };
        let stream = tls::handshake(host, tcp, mode, deadline, timeout, trace).await?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        over(TokioIo::new(stream), h2, &hop, trace).await
    } else {
        over(TokioIo::new(tcp), false, &hop, trace).await
    }
}

/// What one request of a probe says, besides its connection.
struct Hop<'a> {
    spec: &'a HttpSpec,
    url: &'a url::Url,
    method: &'a http::Method,
    host: &'a str,
    port: u16,
    limits: &'a Limits,
    deadline: Deadline,
    timeout: &'a str,
}

/// Speaks HTTP over `io`: the connection is driven in the probe's own task, beside the request,
/// rather than spawned (a task and its cross-task wake-ups per probe), and ends with the probe.
async fn over<T>(
    io: TokioIo<T>,
    h2: bool,
    hop: &Hop<'_>,
    trace: &mut Trace,
) -> Result<Exchange, Failure>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = async {
        if h2 {
            let (s, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            Ok::<_, hyper::Error>((Sender::H2(s), Either::Right(conn)))
        } else {
            let (s, conn) = hyper::client::conn::http1::handshake(io).await?;
            Ok((Sender::H1(s), Either::Left(conn)))
        }
    };
    let (sender, conn) = tokio::time::timeout_at(hop.deadline, handshake)
        .await
        .map_err(|_| {
            Failure::new(
                Reason::Timeout,
                format!("timed out after {} setting up HTTP", hop.timeout),
            )
        })?
        .map_err(|e| classify_hyper(&e))?;
    let work = request(sender, hop, trace);
    tokio::pin!(conn, work);
    let mut ended = false;
    loop {
        tokio::select! {
            biased;
            exchanged = &mut work => return exchanged,
            // A connection that ended fails the request; the work says how.
            _ = &mut conn, if !ended => ended = true,
        }
    }
}

/// Sends the request and reads the response within the limits.
async fn request(
    mut sender: Sender,
    hop: &Hop<'_>,
    trace: &mut Trace,
) -> Result<Exchange, Failure> {
    let Hop {
        spec,
        url,
        method,
        host,
        port,
        limits,
        deadline,
        timeout,
    } = *hop;
    let request = build_request(spec, url, method, host, port, sender.is_h2())?;
    let sent = Instant::now();
    let response = tokio::time::timeout_at(deadline, sender.send(request))
        .await
        .map_err(|_| {
            Failure::new(
                Reason::Timeout,
                format!("timed out after {timeout} waiting for the response"),
            )
        })?
        .map_err(|e| classify_hyper(&e))?;
    trace.phases.processing = Some(sent.elapsed());
    let status = response.status().as_u16();
    trace.code = Some(status);
    let headers = response.headers().clone();
    trace.facts.http = Some(HttpFacts {
        version: response.version(),
        redirects: 0,
        tls: url.scheme() == "https",
        content_length: header(&headers, http::header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        body_bytes: 0,
        last_modified: header(&headers, http::header::LAST_MODIFIED).and_then(http_date),
        body_failed: false,
    });
    // A redirect to follow, or a status that fails the check anyway, is judged without its body:
    // a 503 with a huge or slow error page is a status failure, not a body one.
    let follow = spec.follow_redirects
        && matches!(status, 301 | 302 | 303 | 307 | 308)
        && headers.contains_key(http::header::LOCATION);
    let wanted = spec.expect_status.iter().any(|r| r.contains(status));
    let body = if follow || !wanted {
        Vec::new()
    } else {
        let keep = !spec.conditions.is_empty();
        read_body(response, limits.max_bytes, keep, deadline, timeout, trace).await?
    };
    Ok(Exchange {
        status,
        headers,
        body,
    })
}

/// Either protocol's request sender, so the probe code is written once.
enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }

    async fn send(
        &mut self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper::Error> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
        }
    }
}

fn build_request(
    spec: &HttpSpec,
    url: &url::Url,
    method: &http::Method,
    host: &str,
    port: u16,
    h2: bool,
) -> Result<http::Request<Full<Bytes>>, Failure> {
    let uri = if h2 {
        url.as_str().to_string()
    } else {
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    };
    let mut builder = http::Request::builder().method(method.clone()).uri(uri);
    if !h2 {
        let authority = match url.port() {
            Some(_) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        builder = builder.header(http::header::HOST, authority);
    }
    let has = |name: &http::HeaderName| spec.headers.iter().any(|(n, _)| n == name);
    if !has(&http::header::USER_AGENT) {
        builder = builder.header(http::header::USER_AGENT, USER_AGENT);
    }
    if !has(&http::header::ACCEPT) {
        builder = builder.header(http::header::ACCEPT, "*/*");
    }
    for (name, value) in &spec.headers {
        builder = builder.header(name, value);
    }
    // A body goes with the original method only; a redirect that became a GET drops it.
    let body = match &spec.body {
        Some(b) if *method == spec.method => Bytes::from(b.clone()),
        _ => Bytes::new(),
    };
    builder
        .body(Full::new(body))
        .map_err(|e| Failure::new(Reason::Protocol, format!("cannot build the request: {e}")))
}

/// Reads the body up to `max_bytes`, keeping it only when a condition needs it.
async fn read_body(
    response: http::Response<hyper::body::Incoming>,
    max_bytes: usize,
    keep: bool,
    deadline: Deadline,
    timeout: &str,
    trace: &mut Trace,
) -> Result<Vec<u8>, Failure> {
    let too_large = || {
        Failure::new(
            Reason::Body,
            format!("the body is larger than the {max_bytes}-byte limit"),
        )
    };
    let declared = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes as u64) {
        return Err(too_large());
    }
    let started = Instant::now();
    let mut body = response.into_body();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    let result = loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                break Err(Failure::new(
                    Reason::Timeout,
                    format!("timed out after {timeout} reading the body"),
                ));
            }
            Ok(None) => break Ok(()),
            Ok(Some(Err(e))) => break Err(classify_hyper(&e)),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            seen += data.len();
            if seen > max_bytes {
                break Err(too_large());
            }
            if keep {
                kept.extend_from_slice(data);
            }
        }
    };
    trace.phases.transfer = Some(started.elapsed());
    if let Some(http) = trace.facts.http.as_mut() {
        http.body_bytes = seen as u64;
    }
    result.map(|()| kept)
}

fn header(headers: &HeaderMap, name: http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110's preferred form) as a timestamp.
fn http_date(text: &str) -> Option<Timestamp> {
    let at = jiff::fmt::rfc2822::parse(text).ok()?;
    Some(Timestamp(at.timestamp().as_millisecond()))
}

/// Classifies a hyper error by walking its source chain to the underlying I/O error.
fn classify_hyper(e: &hyper::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return super::classify_io(io, "HTTP exchange");
        }
        source = err.source();
    }
    if e.is_parse() || e.is_parse_status() {
        Failure::new(
            Reason::Protocol,
            format!("the target did not answer with valid HTTP: {e}"),
        )
    } else if e.is_incomplete_message() || e.is_closed() {
        Failure::new(
            Reason::Protocol,
            "the target closed the connection before a complete response",
        )
    } else {
        Failure::new(Reason::Protocol, format!("HTTP error: {e}"))
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
