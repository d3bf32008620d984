//! The network steps every probe shares: resolving a name through the system, connecting to the
//! first address that accepts, and classifying I/O errors into a [`Reason`].
//!
//! A fault of this machine (out of descriptors, memory or buffers, or a local resolver that
//! answers nothing at all) is [`Reason::Local`]: it says nothing about the target, and the
//! recorder counts it as no data. Nothing here decides whether a target is up.

use std::net::SocketAddr;
use std::time::Instant;

use rustix::io::Errno;

use super::{Failure, IpFamily, Reason, Trace, dns};

/// Resolves `host:port` through the system resolver, timing the `resolve` phase: every address
/// of the allowed family, in the resolver's order, never an empty list.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    family: IpFamily,
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<Vec<SocketAddr>, Failure> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return if family.allows(ip) {
            trace.facts.lookup = Some(std::time::Duration::ZERO);
            trace.facts.ip = Some(ip);
            Ok(vec![SocketAddr::new(ip, port)])
        } else {
            Err(Failure::new(
                Reason::Dns,
                format!("{ip} is not an address of the required family ({family:?})"),
            ))
        };
    }
    let started = Instant::now();
    let lookup = tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port))).await;
    trace.phases.resolve = Some(started.elapsed());
    trace.facts.lookup = trace.phases.resolve;
    match lookup {
        Err(_) => Err(Failure::new(
            Reason::Dns,
            format!("resolving {host} timed out"),
        )),
        Ok(Err(e)) => Err(resolve_failure(host, &e, deadline).await),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.filter(|a| family.allows(a.ip())).collect();
            if addrs.is_empty() {
                let which = match family {
                    IpFamily::Any => "no address",
                    IpFamily::V4 => "no IPv4 address",
                    IpFamily::V6 => "no IPv6 address",
                };
                Err(Failure::new(Reason::Dns, format!("{host} has {which}")))
            } else {
                trace.facts.ip = addrs.first().map(SocketAddr::ip);
                Ok(addrs)
            }
        }
    }
}

/// What a failed `getaddrinfo` says: a local fault, a resolver that answers nothing (asked
/// directly to tell it apart from a target whose DNS fails), or a DNS failure of the target.
async fn resolve_failure(
    host: &str,
    e: &std::io::Error,
    deadline: tokio::time::Instant,
) -> Failure {
    if let Some(local) = local_fault(e, &format!("resolving {host}")) {
        return local;
    }
    // std words getaddrinfo's codes with gai_strerror, in the C locale: EAI_MEMORY is ours;
    // EAI_AGAIN is either a resolver that cannot be reached or the target's servers failing.
    let text = e.to_string();
    if text.contains("Memory allocation failure") {
        return Failure::new(
            Reason::Local,
            format!("resolving {host}: {text} (a fault of this machine, not of the target)"),
        );
    }
    if text.contains("Temporary failure in name resolution")
        && let Some(why) = dns::system_resolver_fault(deadline).await
    {
        return Failure::new(
            Reason::Local,
            format!("resolving {host}: the system resolver does not work ({why})"),
        );
    }
    Failure::new(Reason::Dns, format!("cannot resolve {host}: {e}"))
}

/// Opens a TCP connection to the first of `addrs` that accepts before the deadline, timing the
/// `connect` phase. Addresses are tried in order, as curl does: `localhost` is often `::1` first
/// while the service listens on `127.0.0.1` only. A failure is the last address's.
pub(crate) async fn connect(
    addrs: &[SocketAddr],
    deadline: tokio::time::Instant,
    trace: &mut Trace,
) -> Result<tokio::net::TcpStream, Failure> {
    let started = Instant::now();
    let mut failure = Failure::new(Reason::Dns, "no address to connect to");
    for &addr in addrs {
        match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Err(_) => {
                failure = Failure::new(
                    Reason::ConnectTimeout,
                    format!("connecting to {addr} timed out"),
                );
                break;
            }
            Ok(Err(e)) => {
                failure = classify_io(&e, &format!("connecting to {addr}"));
                if failure.reason == Reason::Local {
                    break;
                }
            }
            Ok(Ok(stream)) => {
                trace.phases.connect = Some(started.elapsed());
                trace.facts.ip = Some(addr.ip());
                // Probes are small request/response exchanges; Nagle would only add latency.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
        }
    }
    // A connection that failed is not a connect phase: the time is the probe's, not a phase's.
    Err(failure)
}

/// Classifies an I/O error by its kind; `doing` says what was attempted.
pub(crate) fn classify_io(e: &std::io::Error, doing: &str) -> Failure {
    use std::io::ErrorKind;
    if let Some(local) = local_fault(e, doing) {
        return local;
    }
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            Failure::new(Reason::Refused, format!("{doing}: connection refused"))
        }
        ErrorKind::TimedOut => Failure::new(Reason::Timeout, format!("{doing}: timed out")),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            Failure::new(
                Reason::Network,
                format!("{doing}: connection reset by the target"),
            )
        }
        ErrorKind::UnexpectedEof => Failure::new(
            Reason::Protocol,
            format!("{doing}: the target closed the connection"),
        ),
        _ => Failure::new(Reason::Network, format!("{doing}: {e}")),
    }
}

/// A [`Reason::Local`] failure when `e` says this machine ran out of descriptors, memory or
/// network buffers.
pub(crate) fn local_fault(e: &std::io::Error, doing: &str) -> Option<Failure> {
    // An error may wrap the OS error it came from (tokio-rustls and hyper do).
    let inner = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<std::io::Error>());
    let errno = match Errno::from_io_error(e) {
        Some(errno) => errno,
        None => return inner.and_then(|inner| local_fault(inner, doing)),
    };
    let what = match errno {
        Errno::MFILE => "watchpost has too many open files (EMFILE)",
        Errno::NFILE => "the system has too many open files (ENFILE)",
        Errno::NOMEM => "out of memory (ENOMEM)",
        Errno::NOBUFS => "out of network buffers (ENOBUFS)",
        _ => return None,
    };
    Some(Failure::new(
        Reason::Local,
        format!("{doing}: {what}, a fault of this machine, not of the target"),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Regression: only the first resolved address was tried, so `localhost` resolving to `::1`
    /// first was refused by a service listening on `127.0.0.1` alone.
    #[tokio::test]
    async fn connect_falls_back_past_a_refusing_address() {
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut trace = Trace::default();
        let addrs = [closed, open.local_addr().unwrap()];
        let stream = connect(&addrs, deadline, &mut trace)
            .await
            .expect("the second address accepts");
        assert_eq!(stream.peer_addr().unwrap(), addrs[1]);
        let failure = connect(&[closed], deadline, &mut trace).await.unwrap_err();
        assert_eq!(failure.reason, Reason::Refused, "{failure:?}");
        assert!(failure.message.contains(&closed.to_string()), "{failure:?}");
    }

    #[test]
    fn running_out_of_descriptors_or_memory_is_a_local_fault() {
        for errno in [Errno::MFILE, Errno::NFILE, Errno::NOMEM, Errno::NOBUFS] {
            let e = std::io::Error::from_raw_os_error(errno.raw_os_error());
            let f = classify_io(&e, "connecting to 192.0.2.1:80");
            assert_eq!(f.reason, Reason::Local, "{f:?}");
            assert!(f.message.contains("not of the target"), "{}", f.message);
        }
        let refused = std::io::Error::from_raw_os_error(Errno::CONNREFUSED.raw_os_error());
        assert_eq!(classify_io(&refused, "x").reason, Reason::Refused);
    }

    #[test]
    fn an_emfile_wrapped_in_another_io_error_is_still_local() {
        let inner = std::io::Error::from_raw_os_error(Errno::MFILE.raw_os_error());
        let outer = std::io::Error::other(inner);
        assert_eq!(classify_io(&outer, "x").reason, Reason::Local);
    }
}
