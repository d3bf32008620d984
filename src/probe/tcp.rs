//! TCP probes: connect (optionally over TLS), then optionally send bytes and wait for a reply
//! that contains a string or matches a regex.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::tls::{self, Mode};
use super::{Failure, IpFamily, Limits, Reason, Trace, excerpt, fmt_duration};

/// A TCP check.
#[derive(Clone, Debug)]
pub struct TcpSpec {
    pub host: String,
    pub port: u16,
    /// Bytes to send once connected.
    pub send: Option<String>,
    /// A substring the reply must contain.
    pub expect: Option<String>,
    /// A regex the reply must match.
    pub expect_regex: Option<regex::Regex>,
    /// Speak TLS once connected (checks the certificate; its expiry is reported).
    pub tls: bool,
    pub tls_insecure: bool,
    pub ip: IpFamily,
}

impl TcpSpec {
    /// A plain connect check of `host:port`.
    pub fn connect(host: &str, port: u16) -> TcpSpec {
        TcpSpec {
            host: host.to_string(),
            port,
            send: None,
            expect: None,
            expect_regex: None,
            tls: false,
            tls_insecure: false,
            ip: IpFamily::Any,
        }
    }
}

pub(super) async fn probe(
    spec: &TcpSpec,
    limits: &Limits,
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<(), Failure> {
    let addr = super::resolve(&spec.host, spec.port, spec.ip, deadline, trace).await?;
    let stream = super::connect(addr, deadline, trace).await?;
    let timeout = fmt_duration(limits.timeout);
    if spec.tls {
        let mode = Mode {
            insecure: spec.tls_insecure,
            http: false,
        };
        let stream = tls::handshake(&spec.host, stream, mode, deadline, &timeout, trace).await?;
        converse(spec, stream, limits, deadline, &timeout, trace).await
    } else {
        converse(spec, stream, limits, deadline, &timeout, trace).await
    }
}

/// Sends `send` and reads the reply until it satisfies `expect`/`expect_regex`, ends, or fills
/// the byte cap.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    spec: &TcpSpec,
    mut stream: S,
    limits: &Limits,
    deadline: tokio::time::Instant,
    timeout: &str,
    trace: &mut Trace,
) -> Result<(), Failure> {
    if spec.send.is_none() && spec.expect.is_none() && spec.expect_regex.is_none() {
        return Ok(());
    }
    let started = Instant::now();
    let exchange = async {
        if let Some(data) = &spec.send {
            stream
                .write_all(data.as_bytes())
                .await
                .map_err(|e| super::classify_io(&e, "sending"))?;
            stream
                .flush()
                .await
                .map_err(|e| super::classify_io(&e, "sending"))?;
        }
        if spec.expect.is_none() && spec.expect_regex.is_none() {
            return Ok(());
        }
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| super::classify_io(&e, "reading the reply"))?;
            reply.extend_from_slice(&chunk[..n.min(limits.max_bytes.saturating_sub(reply.len()))]);
            let text = String::from_utf8_lossy(&reply);
            let contains = spec
                .expect
                .as_ref()
                .is_none_or(|e| text.contains(e.as_str()));
            let matches = spec
                .expect_regex
                .as_ref()
                .is_none_or(|re| re.is_match(&text));
            if contains && matches {
                return Ok(());
            }
            if n == 0 || reply.len() >= limits.max_bytes {
                let wanted = match (&spec.expect, &spec.expect_regex) {
                    (Some(e), _) if !contains => format!("does not contain {e:?}"),
                    (_, Some(re)) => format!("does not match /{}/", re.as_str()),
                    _ => "is not as expected".to_string(),
                };
                return Err(Failure::new(
                    Reason::Answer,
                    format!("reply {wanted}; got {:?}", excerpt(&reply, 80)),
                ));
            }
        }
    };
    let result = tokio::time::timeout_at(deadline, exchange).await;
    trace.phases.processing = Some(started.elapsed());
    match result {
        Err(_) => Err(Failure::new(
            Reason::Timeout,
            format!("timed out after {timeout} waiting for the reply"),
        )),
        Ok(r) => r,
    }
}
