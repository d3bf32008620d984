//! The keys of a dns check, turned into a [`DnsSpec`].
//!
//! Owns the list of keys a dns check may set and their messages. The query name and server are
//! checked for shape; nothing is resolved.

use std::net::{IpAddr, SocketAddr};

use super::diag::{Problems, Required};
use super::fields::dns_name;
use super::raw;
use crate::probe::{DnsSpec, Rcode, RecordKind, Transport};

/// The type-specific keys a dns check may set; `check` refuses the others.
pub(super) const KEYS: &[&str] = &[
    "query",
    "record",
    "server",
    "expect_rcode",
    "expect_answers",
    "expect_answers_exact",
    "transport",
];

/// The dns spec; `required` reports the keys this type needs and the file leaves out.
pub(super) fn spec(
    c: &raw::Check,
    ctx: &str,
    required: &Required,
    p: &mut Problems<'_>,
) -> Option<DnsSpec> {
    let name = required.get(p, ctx, "query", &c.query).and_then(|v| {
        dns_name(v.get_ref())
            .map_err(|e| p.at(v.span(), format!("{ctx}query: {e}")))
            .ok()
    });
    let record = match &c.record {
        None => Some(RecordKind::A),
        Some(v) => RecordKind::parse(v.get_ref()).or_else(|| {
            let kinds: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
            let msg = format!(
                "{ctx}record: unknown record type {:?}: use one of {}",
                v.get_ref(),
                kinds.join(" ")
            );
            p.at(v.span(), msg);
            None
        }),
    };
    let server = match &c.server {
        None => Some(None),
        Some(v) => {
            let s = v.get_ref();
            let addr = s
                .parse::<SocketAddr>()
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)));
            if addr.is_none() {
                let msg = format!(
                    "{ctx}server: invalid address {s:?}: use an IP address with an optional port, like 9.9.9.9:53"
                );
                p.at(v.span(), msg);
            }
            addr.map(Some)
        }
    };
    let expect_rcode = match &c.expect_rcode {
        None => Some(Rcode::NOERROR),
        Some(v) => Rcode::parse(v.get_ref()).or_else(|| {
            let msg = format!("{ctx}expect_rcode: unknown rcode {:?}: use a name like NOERROR, NXDOMAIN or SERVFAIL", v.get_ref());
            p.at(v.span(), msg);
            None
        }),
    };
    let (expect_answers, exact) = match (&c.expect_answers, &c.expect_answers_exact) {
        (Some(_), Some(v)) => {
            p.at(
                v.span(),
                format!("{ctx}set expect_answers or expect_answers_exact, not both"),
            );
            (None, false)
        }
        (None, Some(v)) => (Some(v.get_ref().clone()), true),
        (v, None) => (
            Some(v.as_ref().map_or_else(Vec::new, |v| v.get_ref().clone())),
            false,
        ),
    };
    let transport = match c
        .transport
        .as_ref()
        .map(|v| (v.get_ref().as_str(), v.span()))
    {
        None | Some(("udp", _)) => Some(Transport::Udp),
        Some(("tcp", _)) => Some(Transport::Tcp),
        Some((other, span)) => {
            p.at(
                span,
                format!("{ctx}transport: unknown transport {other:?}: use \"udp\" or \"tcp\""),
            );
            None
        }
    };
    Some(DnsSpec {
        name: name?,
        record: record?,
        server: server?,
        expect_rcode: expect_rcode?,
        expect_answers: expect_answers?,
        exact,
        transport: transport?,
    })
}
