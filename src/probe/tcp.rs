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
    let addrs = super::resolve(&spec.host, spec.port, spec.ip, deadline, trace).await?;
    let stream = super::connect(&addrs, deadline, trace).await?;
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

/// Regexes are tried on every read while the reply is at most this long, then once at the end,
/// so a target that floods us costs time linear in `max_bytes`.
const REGEX_EVERY_READ: usize = 64 * 1024;

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
    let expects = spec.expect.is_some() || spec.expect_regex.is_some();
    if spec.send.is_none() && !expects {
        return Ok(());
    }
    let started = Instant::now();
    // Outside the exchange, so what came is still known when the deadline cuts it off.
    let mut reply = Vec::new();
    let mut found = spec.expect.is_none();
    let matches = |reply: &[u8]| {
        spec.expect_regex
            .as_ref()
            .is_none_or(|re| re.is_match(&String::from_utf8_lossy(reply)))
    };
    let exchange = async {
        if let Some(data) = &spec.send {
            stream
                .write_all(data.as_bytes())
                .await
                .map_err(|e| Some(super::classify_io(&e, "sending")))?;
            stream
                .flush()
                .await
                .map_err(|e| Some(super::classify_io(&e, "sending")))?;
        }
        if !expects {
            return Ok(());
        }
        let needle = spec.expect.as_deref().unwrap_or("").as_bytes();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| Some(super::classify_io(&e, "reading the reply")))?;
            // Only the new bytes, and enough before them for a match across reads, are searched.
            let from = reply.len().saturating_sub(needle.len().saturating_sub(1));
            let room = limits.max_bytes.saturating_sub(reply.len());
            reply.extend_from_slice(&chunk[..n.min(room)]);
            found = found
                || reply[from..]
                    .windows(needle.len().max(1))
                    .any(|w| w == needle);
            let full = n == 0 || reply.len() >= limits.max_bytes;
            if found && (reply.len() <= REGEX_EVERY_READ || full) && matches(&reply) {
                return Ok(());
            }
            if full {
                // The reply ended or filled the cap without matching.
                return Err(None);
            }
        }
    };
    let result = tokio::time::timeout_at(deadline, exchange).await;
    trace.phases.processing = Some(started.elapsed());
    let wrong = |after: &str| {
        let wanted = match (&spec.expect, &spec.expect_regex) {
            (Some(e), _) if !found => format!("does not contain {e:?}"),
            (_, Some(re)) => format!("does not match /{}/", re.as_str()),
            _ => "is not as expected".to_string(),
        };
        Failure::new(
            Reason::Answer,
            format!("reply {wanted}{after}; got {:?}", excerpt(&reply, 80)),
        )
    };
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(None)) => Err(wrong("")),
        Ok(Err(Some(f))) => Err(f),
        // A server that greets with the wrong banner and then waits, as SSH and SMTP do,
        // answered wrongly: that says more than a bare timeout.
        Err(_) if expects && !reply.is_empty() => {
            if found && matches(&reply) {
                Ok(())
            } else {
                Err(wrong(&format!(" after {timeout}")))
            }
        }
        Err(_) => Err(Failure::new(
            Reason::Timeout,
            format!("timed out after {timeout} waiting for the reply"),
        )),
    }
}
