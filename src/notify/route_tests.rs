use std::path::Path;

use super::*;
use crate::model::IncidentKind;

const CONFIG: &str = r#"
[[check]]
id = "web"
name = "Web"
group = "Core"
type = "tcp"
host = "h"
port = 1

[[check]]
id = "db"
name = "Database"
type = "tcp"
host = "h"
port = 2

[[notify]]
name = "all"
type = "webhook"
url = "http://127.0.0.1:1/"
remind_every = "10m"

[[notify]]
name = "core-major"
type = "slack"
url = "http://127.0.0.1:1/"
groups = ["Core"]
min_severity = "major"
send_resolved = false

[[notify]]
name = "db-only"
type = "discord"
url = "http://127.0.0.1:1/"
checks = ["db"]

[[notify]]
name = "pager"
type = "pagerduty"
routing_key = "k"
remind_every = "10m"
"#;

fn routing() -> Routing {
    let config = crate::config::parse(Path::new("t.toml"), CONFIG).unwrap();
    Routing::new(&config)
}

fn id(s: &str) -> CheckId {
    CheckId::new(s).unwrap()
}

fn opened(check: &str, impact: Impact) -> Event {
    Event::IncidentOpened {
        id: 7,
        kind: IncidentKind::Auto,
        impact,
        title: format!("{check} is down"),
        checks: vec![id(check)],
        at: Timestamp(1_000),
        body: "first said: refused".into(),
    }
}

fn facts(check: &str, impact: Impact) -> IncidentFacts {
    IncidentFacts {
        title: format!("{check} is down"),
        impact,
        checks: vec![id(check)],
        started_at: Timestamp(1_000),
        resolved: false,
        first_failure: Some(FirstFailure {
            at: Timestamp(1_000),
            code: Some(503),
            latency: Duration::from_millis(12),
            message: Some("status 503, expected 200-399".into()),
        }),
    }
}

/// (destination, kind, subject, due) of each row.
fn rows(event: &Event, facts: Option<&IncidentFacts>) -> Vec<(String, &'static str, String, i64)> {
    route(&routing(), event, facts, Timestamp(5_000))
        .into_iter()
        .map(|o| (o.destination, o.kind, o.subject, o.due.0))
        .collect()
}

fn row(
    d: &str,
    kind: &'static str,
    subject: &str,
    due: i64,
) -> (String, &'static str, String, i64) {
    (d.to_string(), kind, subject.to_string(), due)
}

#[test]
fn an_opened_incident_reaches_the_destinations_whose_filters_match() {
    let f = facts("web", Impact::Major);
    assert_eq!(
        rows(&opened("web", Impact::Major), Some(&f)),
        [
            row("all", "incident.opened", "7", 5_000),
            row("all", "incident.reminder", "7", 5_000 + 600_000),
            row("core-major", "incident.opened", "7", 5_000),
            row("pager", "incident.opened", "7", 5_000),
        ]
    );
    // Degraded is minor: below core-major's threshold.
    let f = facts("web", Impact::Minor);
    let got = rows(&opened("web", Impact::Minor), Some(&f));
    assert!(got.iter().all(|r| r.0 != "core-major"), "{got:?}");
    // db is in no group: db-only hears of it, core-major does not.
    let f = facts("db", Impact::Major);
    let names: Vec<String> = rows(&opened("db", Impact::Major), Some(&f))
        .into_iter()
        .filter(|r| r.1 == "incident.opened")
        .map(|r| r.0)
        .collect();
    assert_eq!(names, ["all", "db-only", "pager"]);
}

#[test]
fn the_message_carries_the_evidence_and_the_names() {
    let f = facts("web", Impact::Major);
    let out = route(
        &routing(),
        &opened("web", Impact::Major),
        Some(&f),
        Timestamp(5_000),
    );
    let m: Message = serde_json::from_str(&out[0].payload).unwrap();
    assert_eq!(m.what, What::Opened);
    assert_eq!(m.state, Some(State::Down));
    assert_eq!(m.checks[0].name, "Web");
    assert_eq!(m.checks[0].group, "Core");
    assert_eq!(
        m.evidence.as_deref(),
        Some("status 503, expected 200-399 (HTTP 503, after 12ms, at 1970-01-01T00:00:01Z)")
    );
    let reminder: Message = serde_json::from_str(&out[1].payload).unwrap();
    assert_eq!(reminder.what, What::Reminder);
}

#[test]
fn resolved_respects_send_resolved_and_watchpost_own_entries_are_silent() {
    let mut f = facts("web", Impact::Major);
    f.resolved = true;
    let resolved = Event::IncidentResolved {
        id: 7,
        started_at: Timestamp(1_000),
        at: Timestamp(4_000),
        body: "Web recovered".into(),
    };
    let names: Vec<String> = rows(&resolved, Some(&f)).into_iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        ["all", "pager"],
        "core-major has send_resolved = false"
    );

    let own = Event::IncidentUpdated {
        id: 7,
        status: IncidentStatus::Monitoring,
        body: "held".into(),
        author: None,
        at: Timestamp(4_000),
    };
    assert!(rows(&own, Some(&f)).is_empty());
    let admin = Event::IncidentUpdated {
        id: 7,
        status: IncidentStatus::Resolved,
        body: "Fixed the cable.".into(),
        author: Some("ana".into()),
        at: Timestamp(4_000),
    };
    let got = rows(&admin, Some(&f));
    assert!(got.iter().all(|r| r.1 == "incident.resolved"), "{got:?}");
    let changed = Event::CheckChanged {
        check: id("web"),
        from: State::Up,
        to: State::Down,
        at: Timestamp(1),
    };
    assert!(rows(&changed, None).is_empty());
}

#[test]
fn maintenance_goes_to_all_but_pagerduty_and_names_recurring_windows_by_start() {
    let window = WindowInfo {
        title: "Upgrade".into(),
        checks: vec![id("db")],
        start: Timestamp(10_000),
        end: Timestamp(20_000),
    };
    let started = Event::MaintenanceTime {
        id: None,
        phase: WindowPhase::Started,
        window: window.clone(),
    };
    assert_eq!(
        rows(&started, None),
        [
            row("all", "maintenance.started", "r10000", 5_000),
            row("db-only", "maintenance.started", "r10000", 5_000),
        ]
    );
    let planned = Event::Maintenance {
        id: 3,
        change: Planning::Planned,
        window,
    };
    let out = route(&routing(), &planned, None, Timestamp(5_000));
    assert_eq!(out[0].subject, "w3");
    let m: Message = serde_json::from_str(&out[0].payload).unwrap();
    assert_eq!(
        (m.at_ms, m.started_ms, m.ends_ms),
        (5_000, Some(10_000), Some(20_000))
    );
}

#[test]
fn reminders_back_off_to_a_day() {
    let every = Duration::from_secs(3600);
    let gaps: Vec<u64> = (1..=7)
        .map(|n| reminder_gap(every, n).as_secs() / 3600)
        .collect();
    assert_eq!(gaps, [1, 2, 4, 8, 16, 24, 24]);
    assert_eq!(reminder_gap(every, 200), MAX_REMINDER_GAP);
    assert_eq!(
        routing().remind_every("pager"),
        None,
        "PagerDuty pages again by itself"
    );
}

#[test]
fn a_certificate_notice_goes_by_check_and_severity_and_never_to_pagerduty() {
    let r = routing();
    let now = Timestamp(1_700_000_000_000);
    let notice = |check: &str, days: u32| Event::CertExpiring {
        check: id(check),
        days,
        cert: CertInfo {
            fingerprint: "ab".repeat(32),
            subject: "web.example.org".into(),
            issuer: "R11 (Let's Encrypt)".into(),
            expires: Timestamp(now.0 + i64::from(days) * 86_400_000 - 3_600_000),
        },
        at: now,
    };
    let rows = route(&r, &notice("web", 14), None, now);
    let to: Vec<&str> = rows.iter().map(|o| o.destination.as_str()).collect();
    assert_eq!(
        to,
        ["all"],
        "minor: not core-major; web: not db-only; never pager"
    );
    let o = &rows[0];
    assert_eq!(o.kind, "certificate.expiring");
    assert_eq!(o.subject, format!("c:web:{}:14", "ab".repeat(8)));
    let m: Message = serde_json::from_str(&o.payload).unwrap();
    assert_eq!(m.impact, Some(Impact::Minor));
    assert_eq!(m.title, "The TLS certificate of Web expires in 14 days");
    assert!(
        m.body
            .contains("web.example.org issued by R11 (Let's Encrypt)"),
        "{}",
        m.body
    );
    let cert = m.cert.unwrap();
    assert_eq!((cert.days, cert.left(now)), (14, "14 days".to_string()));

    let last = route(&r, &notice("web", 1), None, now);
    let to: Vec<&str> = last.iter().map(|o| o.destination.as_str()).collect();
    assert_eq!(to, ["all", "core-major"], "the last day is major");
    assert_ne!(last[0].subject, o.subject, "a key per threshold");
    let db = route(&r, &notice("db", 7), None, now);
    let to: Vec<&str> = db.iter().map(|o| o.destination.as_str()).collect();
    assert_eq!(to, ["all", "db-only"]);
}
