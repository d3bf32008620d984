//! HTTP(S) probes on a connection we own, so every phase is timed: resolve, connect, TLS,
//! processing (request sent to first response byte) and transfer (the body).
//!
//! Each probe opens a fresh connection, as a new visitor would. The body is read up to the
//! byte cap and no further; a probe never outlives its deadline.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant as Deadline;

use super::{Failure, Limits, Reason, Trace, excerpt, fmt_duration};

/// An HTTP check.
#[derive(Clone, Debug)]
pub struct HttpSpec {
    pub url: url::Url,
    pub method: http::Method,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Accepted status codes; never empty (the default is 200-399).
    pub expect_status: Vec<StatusRange>,
    pub body_contains: Option<String>,
}

impl HttpSpec {
    /// A GET of `url` with the default expectations.
    pub fn get(url: url::Url) -> HttpSpec {
        HttpSpec {
            url,
            method: http::Method::GET,
            headers: Vec::new(),
            expect_status: vec![StatusRange::DEFAULT],
            body_contains: None,
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

pub(super) async fn probe(
    spec: &HttpSpec,
    limits: &Limits,
    deadline: Deadline,
    trace: &mut Trace,
) -> Result<(), Failure> {
    let url = &spec.url;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::new(Reason::Protocol, format!("{url} has no host")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::new(Reason::Protocol, format!("{url} has no port")))?;
    let addr = super::resolve(host, port, deadline, trace).await?;
    let tcp = super::connect(addr, deadline, trace).await?;

    let timeout = fmt_duration(limits.timeout);
    let (mut sender, _conn) = if url.scheme() == "https" {
        let tls = handshake_tls(host, tcp, deadline, &timeout, trace).await?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        open(TokioIo::new(tls), h2, deadline, &timeout).await?
    } else {
        open(TokioIo::new(tcp), false, deadline, &timeout).await?
    };

    let request = build_request(spec, host, port, sender.is_h2())?;
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

    let needs_body = spec.body_contains.is_some();
    let body = read_body(
        response,
        limits.max_bytes,
        needs_body,
        deadline,
        &timeout,
        trace,
    )
    .await?;

    if !spec.expect_status.iter().any(|r| r.contains(status)) {
        let expected: Vec<String> = spec.expect_status.iter().map(|r| r.to_string()).collect();
        return Err(Failure::new(
            Reason::HttpStatus,
            format!("status {status}, expected {}", expected.join(", ")),
        ));
    }
    if let Some(needle) = &spec.body_contains
        && !memchr_contains(&body, needle.as_bytes())
    {
        return Err(Failure::new(
            Reason::Body,
            format!(
                "body does not contain {needle:?}; it starts with {:?}",
                excerpt(&body, 80)
            ),
        ));
    }
    Ok(())
}

/// The TLS client configuration shared by every probe: ring, the system's roots, h2 and http/1.1.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Failure> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_platform_verifier())
                .map_err(|e| e.to_string())?
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(|e| Failure::new(Reason::Tls, format!("cannot set up TLS: {e}")))
}

async fn handshake_tls(
    host: &str,
    tcp: tokio::net::TcpStream,
    deadline: Deadline,
    timeout: &str,
    trace: &mut Trace,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Failure> {
    let name = rustls::pki_types::ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
    .map_err(|e| {
        Failure::new(
            Reason::Tls,
            format!("{host} is not a valid TLS server name: {e}"),
        )
    })?;
    let connector = tokio_rustls::TlsConnector::from(tls_config()?);
    let started = Instant::now();
    let result = tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await;
    trace.phases.tls = Some(started.elapsed());
    match result {
        Err(_) => Err(Failure::new(
            Reason::Tls,
            format!("timed out after {timeout} in the TLS handshake"),
        )),
        Ok(Err(e)) => Err(classify_tls(&e)),
        Ok(Ok(stream)) => Ok(stream),
    }
}

fn classify_tls(e: &std::io::Error) -> Failure {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            Failure::new(Reason::Tls, format!("invalid certificate: {cert:?}"))
        }
        Some(other) => Failure::new(Reason::Tls, format!("TLS handshake failed: {other}")),
        None => {
            let f = super::classify_io(e, "TLS handshake");
            Failure::new(Reason::Tls, f.message)
        }
    }
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

/// Aborts the connection task when the probe ends, whichever way it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn open<T>(
    io: TokioIo<T>,
    h2: bool,
    deadline: Deadline,
    timeout: &str,
) -> Result<(Sender, AbortOnDrop), Failure>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = async {
        if h2 {
            let (s, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok::<_, hyper::Error>((Sender::H2(s), AbortOnDrop(task)))
        } else {
            let (s, conn) = hyper::client::conn::http1::handshake(io).await?;
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok((Sender::H1(s), AbortOnDrop(task)))
        }
    };
    tokio::time::timeout_at(deadline, handshake)
        .await
        .map_err(|_| {
            Failure::new(
                Reason::Timeout,
                format!("timed out after {timeout} setting up HTTP"),
            )
        })?
        .map_err(|e| classify_hyper(&e))
}

fn build_request(
    spec: &HttpSpec,
    host: &str,
    port: u16,
    h2: bool,
) -> Result<http::Request<Full<Bytes>>, Failure> {
    let url = &spec.url;
    let uri = if h2 {
        url.as_str().to_string()
    } else {
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    };
    let mut builder = http::Request::builder()
        .method(spec.method.clone())
        .uri(uri);
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
    builder
        .body(Full::new(Bytes::new()))
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
    result.map(|()| kept)
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

fn memchr_contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges_print_as_written() {
        assert_eq!(StatusRange::DEFAULT.to_string(), "200-399");
        assert_eq!(StatusRange { lo: 200, hi: 299 }.to_string(), "2xx");
        assert_eq!(StatusRange { lo: 301, hi: 301 }.to_string(), "301");
    }

    #[test]
    fn tls_config_builds_with_ring_and_system_roots() {
        let config = tls_config().expect("the system roots load");
        assert_eq!(config.alpn_protocols[0], b"h2");
    }
}
