//! DNS probes: one query to one server, over UDP (retried over TCP when the reply is truncated)
//! or TCP, built and read with hickory-proto's message codec, on sockets we own so the deadline
//! and every failure are ours to classify. Checks the rcode and the answers.

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use hickory_net::proto::op::{Message, Query};
use hickory_net::proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Failure, Limits, Reason, Trace, excerpt, fmt_duration};

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
    /// The answers must be exactly `expect_answers`, nothing more.
    pub exact: bool,
    pub transport: Transport,
}

/// How a DNS probe talks to its server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// UDP, and TCP again when the UDP reply is truncated.
    #[default]
    Udp,
    Tcp,
}

impl DnsSpec {
    /// A query of `name` for `record` with the default expectations.
    pub fn query(name: &str, record: RecordKind, server: Option<SocketAddr>) -> DnsSpec {
        DnsSpec {
            name: if name.ends_with('.') {
                name.to_string()
            } else {
                format!("{name}.")
            },
            record,
            server,
            expect_rcode: Rcode::NOERROR,
            expect_answers: Vec::new(),
            exact: false,
            transport: Transport::Udp,
        }
    }
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
    fn record_type(self) -> RecordType {
        match self {
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
            RecordKind::Cname => RecordType::CNAME,
            RecordKind::Mx => RecordType::MX,
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Ns => RecordType::NS,
            RecordKind::Soa => RecordType::SOA,
            RecordKind::Srv => RecordType::SRV,
            RecordKind::Caa => RecordType::CAA,
            RecordKind::Ptr => RecordType::PTR,
        }
    }

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

/// DNS replies are read up to this size (the largest a TCP reply can be).
const MAX_REPLY: usize = 65_535;

pub(super) async fn probe(
    spec: &DnsSpec,
    limits: &Limits,
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<(), Failure> {
    let server = match spec.server {
        Some(s) => s,
        None => system_server()?,
    };
    let name = Name::from_ascii(&spec.name).map_err(|e| {
        Failure::new(
            Reason::Dns,
            format!("{:?} is not a DNS name: {e}", spec.name),
        )
    })?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, spec.record.record_type()));
    let bytes = query
        .to_vec()
        .map_err(|e| Failure::new(Reason::Protocol, format!("cannot encode the query: {e}")))?;
    let id = query.metadata.id;
    let timeout = fmt_duration(limits.timeout);

    trace.facts.ip = Some(server.ip());
    trace.facts.lookup = Some(std::time::Duration::ZERO);
    let started = Instant::now();
    let exchange = async {
        let reply = match spec.transport {
            Transport::Tcp => over_tcp(server, &bytes, id).await?,
            Transport::Udp => {
                let reply = over_udp(server, &bytes, id).await?;
                if reply.metadata.truncation {
                    over_tcp(server, &bytes, id).await?
                } else {
                    reply
                }
            }
        };
        Ok::<_, Failure>(reply)
    };
    let result = tokio::time::timeout_at(deadline, exchange).await;
    trace.phases.processing = Some(started.elapsed());
    let reply = result.map_err(|_| {
        Failure::new(
            Reason::Timeout,
            format!("no answer from {server} within {timeout}"),
        )
    })??;

    let rcode = Rcode(u16::from(reply.metadata.response_code));
    trace.code = Some(rcode.0);
    let wanted = spec.record.record_type();
    let answers: Vec<String> = reply
        .answers
        .iter()
        .filter(|r| r.record_type() == wanted)
        .map(|r| normalise(&r.data.to_string()))
        .collect();
    trace.answers = Some(u32::try_from(reply.answers.len()).unwrap_or(u32::MAX));
    if rcode != spec.expect_rcode {
        return Err(Failure::new(
            Reason::Rcode,
            format!("rcode {rcode}, expected {}", spec.expect_rcode),
        ));
    }
    let expected: Vec<String> = spec.expect_answers.iter().map(|a| normalise(a)).collect();
    let missing: Vec<&String> = expected.iter().filter(|e| !answers.contains(e)).collect();
    let extra: Vec<&String> = answers.iter().filter(|a| !expected.contains(a)).collect();
    let seen = || excerpt(answers.join(", ").as_bytes(), 200);
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(Failure::new(
            Reason::Answer,
            format!(
                "missing {} among the answers; got [{}]",
                list.join(", "),
                seen()
            ),
        ));
    }
    if spec.exact && !extra.is_empty() {
        let list: Vec<&str> = extra.iter().map(|s| s.as_str()).collect();
        return Err(Failure::new(
            Reason::Answer,
            format!("unexpected answers {}; got [{}]", list.join(", "), seen()),
        ));
    }
    Ok(())
}

/// The comparable form of an answer: lower case, quotes dropped, names without the root dot,
/// addresses in canonical form (`2001:DB8:0::1` is `2001:db8::1`).
pub fn normalise(answer: &str) -> String {
    answer
        .split_whitespace()
        .map(|t| {
            let t = t.trim_matches('"').trim_end_matches('.');
            match t.parse::<std::net::IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => t.to_ascii_lowercase(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One UDP exchange on a connected socket; stray datagrams with another id are ignored.
async fn over_udp(server: SocketAddr, query: &[u8], id: u16) -> Result<Message, Failure> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: std::io::Error| {
        let f = super::classify_io(&e, &format!("asking {server}"));
        match f.reason {
            Reason::Refused => Failure::new(
                Reason::Refused,
                format!("nothing answers DNS at {server} (port unreachable)"),
            ),
            _ => f,
        }
    };
    let socket = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    socket.send(query).await.map_err(io)?;
    let mut buf = vec![0u8; MAX_REPLY];
    loop {
        let n = socket.recv(&mut buf).await.map_err(io)?;
        let reply = decode(&buf[..n], server)?;
        if reply.metadata.id == id {
            return Ok(reply);
        }
    }
}

/// One TCP exchange: the query and the reply each prefixed with their length.
async fn over_tcp(server: SocketAddr, query: &[u8], id: u16) -> Result<Message, Failure> {
    let io = |e: std::io::Error| super::classify_io(&e, &format!("asking {server} over TCP"));
    let mut stream = tokio::net::TcpStream::connect(server).await.map_err(io)?;
    let len = u16::try_from(query.len())
        .map_err(|_| Failure::new(Reason::Protocol, "the query is too long"))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(io)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(io)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.map_err(io)?;
    let reply = decode(&buf, server)?;
    if reply.metadata.id != id {
        return Err(Failure::new(
            Reason::Protocol,
            format!("{server} answered another query"),
        ));
    }
    Ok(reply)
}

fn decode(bytes: &[u8], server: SocketAddr) -> Result<Message, Failure> {
    Message::from_vec(bytes).map_err(|e| {
        Failure::new(
            Reason::Protocol,
            format!("{server} sent a malformed DNS reply: {e}"),
        )
    })
}

/// The first name server of /etc/resolv.conf, as the system resolver would ask it.
fn system_server() -> Result<SocketAddr, Failure> {
    system_servers()?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(Reason::Dns, "no server set and /etc/resolv.conf names none"))
}

/// The name servers of /etc/resolv.conf, in order.
fn system_servers() -> Result<Vec<SocketAddr>, Failure> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").map_err(|e| {
        Failure::new(
            Reason::Dns,
            format!("no server set and /etc/resolv.conf is unreadable: {e}"),
        )
    })?;
    Ok(conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| {
            ip.trim()
                .split('%')
                .next()?
                .parse::<std::net::IpAddr>()
                .ok()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect())
}

/// Each name server of the system is given at most this long to answer for the root zone.
const RESOLVER_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Why the system resolver cannot resolve anything, or `None` when one of its servers answers
/// (then a failed lookup is the target's): asks each server of /etc/resolv.conf for the root
/// zone's name servers before the deadline.
pub(super) async fn system_resolver_fault(deadline: tokio::time::Instant) -> Option<String> {
    let servers = match system_servers() {
        Ok(servers) if servers.is_empty() => return Some("/etc/resolv.conf names none".into()),
        Ok(servers) => servers,
        Err(f) => return Some(f.message),
    };
    let mut last = None;
    for server in servers {
        let until = deadline.min(tokio::time::Instant::now() + RESOLVER_CHECK);
        match resolver_fault(server, until).await {
            None => return None,
            Some(why) => last = Some(why),
        }
        if tokio::time::Instant::now() >= deadline {
            // Out of time: the lookup's failure may still be the target's.
            return None;
        }
    }
    last
}

/// Why `server` does not answer a query for the root zone before `until`, or `None` if it does.
async fn resolver_fault(server: SocketAddr, until: tokio::time::Instant) -> Option<String> {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::root(), RecordType::NS));
    let bytes = query.to_vec().ok()?;
    let asked = over_udp(server, &bytes, query.metadata.id);
    match tokio::time::timeout_at(until, asked).await {
        Err(_) => Some(format!("no answer from {server}")),
        Ok(Err(f)) => Some(f.message),
        Ok(Ok(reply)) => {
            let rcode = Rcode(u16::from(reply.metadata.response_code));
            (rcode != Rcode::NOERROR).then(|| format!("{server} answers {rcode} for the root zone"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_compare_in_a_normal_form() {
        assert_eq!(normalise("10 Mail.Example.ORG."), "10 mail.example.org");
        assert_eq!(normalise("\"v=spf1 -all\""), "v=spf1 -all");
        assert_eq!(normalise("192.0.2.1"), "192.0.2.1");
        assert_eq!(normalise("2001:DB8:0::1"), normalise("2001:db8::1"));
    }

    /// A one-shot UDP responder answering the first query with `code`.
    async fn responder(code: hickory_net::proto::op::ResponseCode) -> SocketAddr {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let (n, peer) = socket.recv_from(&mut buf).await.unwrap();
            let query = Message::from_vec(&buf[..n]).unwrap();
            let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
            reply.metadata.response_code = code;
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_resolver_is_at_fault_only_when_it_cannot_answer_for_the_root() {
        use hickory_net::proto::op::ResponseCode;
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        let working = responder(ResponseCode::NoError).await;
        assert_eq!(resolver_fault(working, until).await, None);
        let failing = responder(ResponseCode::ServFail).await;
        let why = resolver_fault(failing, until).await.expect("SERVFAIL");
        assert!(why.contains("SERVFAIL"), "{why}");
        let closed = {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap()
        };
        let why = resolver_fault(closed, until)
            .await
            .expect("nothing listens");
        assert!(why.contains("nothing answers DNS"), "{why}");
    }
}
