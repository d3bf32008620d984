//! DNS probes: one query to one server with hickory's raw client, checking rcode and answers.

use std::fmt;
use std::net::SocketAddr;

use super::{Failure, Limits, Trace};

/// A DNS check: ask `server` (or the system's first name server) for `record` of `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsSpec {
    /// Fully qualified, with a trailing dot.
    pub name: String,
    pub record: RecordKind,
    pub server: Option<SocketAddr>,
    pub expect_rcode: Rcode,
    /// Each must be present among the answers, in presentation format.
    pub expect_answers: Vec<String>,
}

/// The record types a DNS check can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
    Soa,
    Srv,
    Caa,
    Ptr,
}

impl RecordKind {
    pub const ALL: [RecordKind; 10] = [
        RecordKind::A,
        RecordKind::Aaaa,
        RecordKind::Cname,
        RecordKind::Mx,
        RecordKind::Txt,
        RecordKind::Ns,
        RecordKind::Soa,
        RecordKind::Srv,
        RecordKind::Caa,
        RecordKind::Ptr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
            RecordKind::Mx => "MX",
            RecordKind::Txt => "TXT",
            RecordKind::Ns => "NS",
            RecordKind::Soa => "SOA",
            RecordKind::Srv => "SRV",
            RecordKind::Caa => "CAA",
            RecordKind::Ptr => "PTR",
        }
    }

    /// Case-insensitive: `mx` and `MX` are the same.
    pub fn parse(s: &str) -> Option<RecordKind> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// A DNS response code, by number, printed by its mnemonic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rcode(pub u16);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
    const NAMES: [(&'static str, u16); 6] = [
        ("NOERROR", 0),
        ("FORMERR", 1),
        ("SERVFAIL", 2),
        ("NXDOMAIN", 3),
        ("NOTIMP", 4),
        ("REFUSED", 5),
    ];

    /// Case-insensitive mnemonic: `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED` …
    pub fn parse(s: &str) -> Option<Rcode> {
        Rcode::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|&(_, c)| Rcode(c))
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Rcode::NAMES.iter().find(|&&(_, c)| c == self.0) {
            Some((n, _)) => f.write_str(n),
            None => write!(f, "RCODE{}", self.0),
        }
    }
}

pub(super) async fn probe(
    spec: &DnsSpec,
    limits: &Limits,
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<(), Failure> {
    let _ = (spec, limits, deadline, trace);
    Err(Failure::new(
        super::Reason::Protocol,
        "dns probes are not built yet",
    ))
}
