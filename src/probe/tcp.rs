//! TCP probes: connect, optionally send bytes and expect a reply containing a string.

use super::{Failure, Limits, Trace};

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
    let _ = (spec, limits, deadline, trace);
    Err(Failure::new(super::Reason::Protocol, "tcp probes are not built yet"))
}
