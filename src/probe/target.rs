//! Parses the one-line targets of `watchpost probe`: `https://…`, `http://…`, `tcp://host:port`,
//! `dns://[server/]name?type=MX`.

use std::net::SocketAddr;

use super::{DnsSpec, HttpSpec, ProbeSpec, RecordKind, TcpSpec, Transport};

/// Turns a target into a probe with default expectations, or says what is wrong with it.
pub fn parse(target: &str) -> Result<ProbeSpec, String> {
    if !target.contains("://") {
        return Err(format!(
            "{target:?} has no scheme: did you mean {}?",
            suggest(target)
        ));
    }
    let url =
        url::Url::parse(target).map_err(|e| format!("{target:?} is not a target URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => {
            if url.host_str().is_none() {
                return Err(format!("{target:?} has no host"));
            }
            Ok(ProbeSpec::Http(Box::new(HttpSpec::get(url))))
        }
        "tcp" | "tls" => {
            let host = url
                .host_str()
                .ok_or_else(|| format!("{target:?} has no host: write tcp://host:port"))?;
            let port = url
                .port()
                .ok_or_else(|| format!("{target:?} has no port: write tcp://host:port"))?;
            let mut spec = TcpSpec::connect(host, port);
            spec.tls = url.scheme() == "tls";
            Ok(ProbeSpec::Tcp(spec))
        }
        "dns" => parse_dns(target, &url),
        other => Err(format!(
            "unknown scheme {other:?}: use https://…, http://…, tcp://host:port, tls://host:port or dns://[server/]name?type=A"
        )),
    }
}

/// The targets a scheme-less `host`, `host:port` or `host/path` was probably meant as.
fn suggest(target: &str) -> String {
    let (authority, path) = target.split_once('/').unwrap_or((target, ""));
    let port = authority.rsplit_once(':').filter(|(host, port)| {
        !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && (!host.contains(':') || host.ends_with(']'))
    });
    match port {
        Some((host, "443")) => format!("tcp://{authority} or https://{host}/{path}"),
        Some(_) => format!("tcp://{authority} or http://{authority}/{path}"),
        None => format!("https://{authority}/{path}"),
    }
}

fn parse_dns(target: &str, url: &url::Url) -> Result<ProbeSpec, String> {
    let host = url.host_str().unwrap_or_default();
    let path = url.path().trim_start_matches('/');
    // dns://server/name (server with optional port) or dns://name
    let (server, name) = if path.is_empty() {
        (None, host.to_string())
    } else {
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr = ip.parse().map_err(|_| {
            format!("{target:?}: the server must be an IP address, like dns://9.9.9.9/example.org")
        })?;
        (
            Some(SocketAddr::new(ip, url.port().unwrap_or(53))),
            path.to_string(),
        )
    };
    if name.is_empty() {
        return Err(format!(
            "{target:?} names no domain: write dns://[server/]name?type=A"
        ));
    }
    let mut record = RecordKind::A;
    let mut transport = Transport::Udp;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "type" => {
                record = RecordKind::parse(&value)
                    .ok_or_else(|| format!("unknown record type {value:?}"))?
            }
            "transport" => {
                transport = match value.as_ref() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    other => return Err(format!("unknown transport {other:?}: use udp or tcp")),
                }
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?}: use type= and transport="
                ));
            }
        }
    }
    let mut spec = DnsSpec::query(&name, record, server);
    spec.transport = transport;
    Ok(ProbeSpec::Dns(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_targets_with_and_without_a_server() {
        let Ok(ProbeSpec::Dns(d)) = parse("dns://9.9.9.9/example.org?type=MX") else {
            panic!("not a dns spec")
        };
        assert_eq!(d.server, Some("9.9.9.9:53".parse().unwrap()));
        assert_eq!(d.name, "example.org.");
        assert_eq!(d.record, RecordKind::Mx);
        let Ok(ProbeSpec::Dns(d)) = parse("dns://example.org") else {
            panic!("not a dns spec")
        };
        assert_eq!((d.server, d.record), (None, RecordKind::A));
    }

    #[test]
    fn tcp_targets_need_a_port() {
        assert!(
            matches!(parse("tcp://db.example.org:5432"), Ok(ProbeSpec::Tcp(t)) if t.port == 5432)
        );
        assert!(
            parse("tcp://db.example.org")
                .unwrap_err()
                .contains("no port")
        );
    }

    #[test]
    fn a_target_without_a_scheme_gets_a_suggestion() {
        let err = parse("127.0.0.1:80").unwrap_err();
        assert!(
            err.contains("did you mean tcp://127.0.0.1:80 or http://127.0.0.1:80/?"),
            "{err}"
        );
        let err = parse("example.org:443").unwrap_err();
        assert!(
            err.contains("did you mean tcp://example.org:443 or https://example.org/?"),
            "{err}"
        );
        let err = parse("[::1]:8080").unwrap_err();
        assert!(
            err.contains("tcp://[::1]:8080 or http://[::1]:8080/?"),
            "{err}"
        );
        let err = parse("example.org/health").unwrap_err();
        assert!(
            err.contains("did you mean https://example.org/health?"),
            "{err}"
        );
        assert!(!err.contains("relative URL"), "{err}");
    }

    #[test]
    fn unknown_schemes_say_what_is_understood() {
        assert!(
            parse("ftp://example.org")
                .unwrap_err()
                .contains("tcp://host:port")
        );
    }
}
