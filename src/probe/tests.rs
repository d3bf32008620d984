//! Unit tests of the shared probe types: durations, excerpts, bounded messages, verdicts.

use super::*;

#[test]
fn durations_read_like_people_write_them() {
    assert_eq!(fmt_duration(Duration::from_millis(850)), "850ms");
    assert_eq!(fmt_duration(Duration::from_millis(2500)), "2.5s");
    assert_eq!(fmt_duration(Duration::from_secs(10)), "10s");
    assert_eq!(fmt_duration(Duration::from_micros(420)), "420µs");
}

#[test]
fn excerpt_truncates_and_neutralises_control_characters() {
    assert_eq!(excerpt(b"ab\r\ncd", 10), "ab··cd");
    assert_eq!(excerpt(b"abcdef", 3), "abc…");
}

#[test]
fn cert_expiry_warning_degrades_before_slowness_and_max_latency_is_down() {
    let day = Duration::from_secs(86_400);
    let now = Timestamp(1_000 * 86_400_000);
    let limits = Limits {
        cert_expiry_warning: Some(day * 14),
        degraded_after: Some(Duration::from_millis(100)),
        max_latency: Some(Duration::from_secs(1)),
        ..Limits::default()
    };
    let tls = |days: i64| TlsInfo {
        version: "TLS 1.3",
        earliest_expiry: Some(Timestamp(now.0 + days * 86_400_000)),
        verified_expiry: None,
        issuer: None,
        subject: None,
        fingerprint: None,
    };
    let fast = Duration::from_millis(10);
    let (status, f) = judge_success(fast, Some(&tls(5)), &limits, now);
    assert_eq!(status, Status::Degraded);
    let f = f.unwrap();
    assert_eq!(f.reason, Reason::CertExpiry);
    assert!(f.message.contains("expires in 5 days"), "{}", f.message);
    assert_eq!(
        judge_success(fast, Some(&tls(30)), &limits, now),
        (Status::Up, None)
    );
    let (status, f) = judge_success(fast, Some(&tls(-1)), &limits, now);
    assert_eq!(status, Status::Degraded);
    assert!(f.unwrap().message.contains("expired on"));
    let (status, f) = judge_success(Duration::from_secs(2), None, &limits, now);
    assert_eq!((status, f.unwrap().reason), (Status::Down, Reason::Slow));
    let (status, f) = judge_success(Duration::from_millis(200), None, &limits, now);
    assert_eq!(
        (status, f.unwrap().reason),
        (Status::Degraded, Reason::Slow)
    );
}

#[test]
fn reasons_round_trip_through_their_names() {
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(r));
    }
}

#[test]
fn failure_messages_are_bounded_on_a_character_boundary() {
    let short = Failure::new(Reason::Dns, "cannot resolve example.org");
    assert_eq!(short.message, "cannot resolve example.org");
    let long = Failure::new(Reason::Redirect, "é".repeat(100_000));
    assert_eq!(long.message.chars().count(), MAX_MESSAGE);
    assert!(long.message.ends_with("é…"), "{}", long.message);
    let exact = "x".repeat(MAX_MESSAGE);
    assert_eq!(Failure::new(Reason::Dns, exact.clone()).message, exact);
    let forged = Failure::new(Reason::Answer, "got \"a\r\nERROR forged log line\"");
    assert_eq!(forged.message, "got \"a··ERROR forged log line\"");
}
