//! DNS probes against the in-process responder: answers, rcodes, a server that never answers,
//! truncation (retried over TCP), a closed port, and TCP as the transport.

use std::time::{Duration, Instant};

use watchpost::probe::{
    self, DnsSpec, Limits, ProbeSpec, Rcode, Reason, RecordKind, Status, Transport,
};

use crate::dns_server;

fn limits(ms: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(ms),
        ..Limits::default()
    }
}

async fn run(spec: DnsSpec) -> probe::Outcome {
    probe::run(&ProbeSpec::Dns(spec), &limits(2000)).await
}

#[tokio::test]
async fn answers_are_checked_in_presentation_form() {
    let server = dns_server::start().await;
    let mut a = DnsSpec::query("ok.test", RecordKind::A, Some(server.addr));
    a.expect_answers = vec!["192.0.2.1".into()];
    let o = run(a.clone()).await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);
    assert_eq!((o.code, o.answers), (Some(0), Some(2)));
    assert!(o.phases.processing.is_some());

    a.exact = true;
    let f = run(a.clone()).await.failure.unwrap();
    assert_eq!(f.reason, Reason::Answer);
    assert!(
        f.message.contains("unexpected answers 192.0.2.2"),
        "{}",
        f.message
    );
    a.expect_answers = vec!["192.0.2.2".into(), "192.0.2.1".into()];
    assert_eq!(
        run(a.clone()).await.status,
        Status::Up,
        "order does not matter"
    );

    a.exact = false;
    a.expect_answers = vec!["192.0.2.9".into()];
    let f = run(a).await.failure.unwrap();
    assert_eq!(f.reason, Reason::Answer);
    assert!(f.message.contains("missing 192.0.2.9"), "{}", f.message);
    assert!(f.message.contains("192.0.2.1, 192.0.2.2"), "{}", f.message);

    let mut txt = DnsSpec::query("ok.test", RecordKind::Txt, Some(server.addr));
    txt.expect_answers = vec!["v=ok".into()];
    assert_eq!(run(txt).await.status, Status::Up);
    let mut mx = DnsSpec::query("ok.test", RecordKind::Mx, Some(server.addr));
    mx.expect_answers = vec!["10 MAIL.ok.test.".into()];
    assert_eq!(run(mx).await.status, Status::Up);
}

#[tokio::test]
async fn rcodes_are_checked() {
    let server = dns_server::start().await;
    let nx = DnsSpec::query("nowhere.test", RecordKind::A, Some(server.addr));
    let o = run(nx.clone()).await;
    let f = o.failure.unwrap();
    assert_eq!(
        (f.reason, f.message.as_str()),
        (Reason::Rcode, "rcode NXDOMAIN, expected NOERROR")
    );
    assert_eq!(o.code, Some(3));
    let mut expect_nx = nx;
    expect_nx.expect_rcode = Rcode::parse("NXDOMAIN").unwrap();
    assert_eq!(run(expect_nx).await.status, Status::Up);
    let f = run(DnsSpec::query(
        "fail.test",
        RecordKind::A,
        Some(server.addr),
    ))
    .await
    .failure
    .unwrap();
    assert_eq!(
        (f.reason, f.message.as_str()),
        (Reason::Rcode, "rcode SERVFAIL, expected NOERROR")
    );
}

#[tokio::test]
async fn a_server_that_never_answers_ends_the_probe_at_its_timeout() {
    let server = dns_server::start().await;
    let spec = DnsSpec::query("slow.test", RecordKind::A, Some(server.addr));
    let started = Instant::now();
    let o = probe::run(&ProbeSpec::Dns(spec), &limits(400)).await;
    let took = started.elapsed();
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Timeout);
    assert!(
        f.message.contains("no answer from") && f.message.contains("within 400ms"),
        "{}",
        f.message
    );
    // The server never answers: ending at all soon after the timeout proves the timeout ended
    // it; the second of slack is for a loaded machine.
    assert!(
        took < Duration::from_millis(1400),
        "ended within timeout + 1 s: {took:?}"
    );
}

#[tokio::test]
async fn a_truncated_reply_is_asked_again_over_tcp() {
    let server = dns_server::start().await;
    let o = run(DnsSpec::query(
        "big.test",
        RecordKind::Txt,
        Some(server.addr),
    ))
    .await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);
    assert_eq!(o.answers, Some(40), "the full answer came over TCP");
}

#[tokio::test]
async fn tcp_can_be_the_transport() {
    let server = dns_server::start().await;
    let mut spec = DnsSpec::query("ok.test", RecordKind::A, Some(server.addr));
    spec.transport = Transport::Tcp;
    spec.expect_answers = vec!["192.0.2.2".into()];
    assert_eq!(run(spec).await.status, Status::Up);
}

#[tokio::test]
async fn a_closed_port_fails_fast() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    let started = Instant::now();
    let o = run(DnsSpec::query("ok.test", RecordKind::A, Some(addr))).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Refused, "{}", f.message);
    assert!(f.message.contains("port unreachable"), "{}", f.message);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "well before the timeout"
    );
}

#[tokio::test]
async fn a_malformed_reply_is_a_protocol_failure() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        if let Ok((_, peer)) = socket.recv_from(&mut buf).await {
            // The query's id, then garbage where a header and sections should be.
            let _ = socket
                .send_to(&[buf[0], buf[1], 0x81, 0x80, 0xff, 0xff, 0x00], peer)
                .await;
        }
    });
    let o = run(DnsSpec::query("ok.test", RecordKind::A, Some(addr))).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Protocol, "{}", f.message);
    assert!(f.message.contains("malformed DNS reply"), "{}", f.message);
    task.abort();
}
