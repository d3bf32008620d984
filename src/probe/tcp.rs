//! TCP probes: connect, then optionally send bytes and wait for a reply containing a string.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Failure, Limits, Reason, Trace, excerpt, fmt_duration};

/// A TCP check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSpec {
    pub host: String,
    pub port: u16,
    /// Bytes to send once connected.
    pub send: Option<String>,
    /// A substring the reply must contain.
    pub expect: Option<String>,
}

pub(super) async fn probe(
    spec: &TcpSpec,
    limits: &Limits,
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<(), Failure> {
    let addr = super::resolve(&spec.host, spec.port, deadline, trace).await?;
    let mut stream = super::connect(addr, deadline, trace).await?;
    if spec.send.is_none() && spec.expect.is_none() {
        return Ok(());
    }
    let started = Instant::now();
    let timeout = fmt_duration(limits.timeout);
    let exchange = async {
        if let Some(data) = &spec.send {
            stream
                .write_all(data.as_bytes())
                .await
                .map_err(|e| super::classify_io(&e, "sending"))?;
        }
        let Some(expected) = &spec.expect else {
            return Ok(());
        };
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| super::classify_io(&e, "reading the reply"))?;
            reply.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&reply).contains(expected.as_str()) {
                return Ok(());
            }
            if n == 0 || reply.len() >= limits.max_bytes {
                return Err(Failure::new(
                    Reason::Answer,
                    format!(
                        "reply does not contain {expected:?}; got {:?}",
                        excerpt(&reply, 80)
                    ),
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
