use std::path::Path;

use super::*;
use crate::event::WindowInfo;
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
"#;

fn audience() -> Audience {
    let config = crate::config::parse(Path::new("t.toml"), CONFIG).unwrap();
    Audience::new(&config)
}

fn id(s: &str) -> CheckId {
    CheckId::new(s).unwrap()
}

fn facts(checks: &[&str]) -> PublicFacts {
    PublicFacts {
        title: "Web is down".into(),
        impact: Impact::Major,
        checks: checks.iter().map(|c| id(c)).collect(),
        started_at: Timestamp(1_000),
        false_alarm: false,
    }
}

fn opened(kind: IncidentKind, checks: &[&str]) -> Event {
    Event::IncidentOpened {
        id: 7,
        kind,
        impact: Impact::Major,
        title: "Web is down".into(),
        checks: checks.iter().map(|c| id(c)).collect(),
        at: Timestamp(1_000),
        body: "Web: connection refused".into(),
    }
}

/// The message routed for `event`, or `None`.
fn routed(event: &Event, facts: Option<&PublicFacts>) -> Option<Message> {
    let row = route(&audience(), event, facts, Timestamp(5_000))?;
    assert_eq!(row.kind, {
        let m: Message = serde_json::from_str(&row.payload).unwrap();
        m.what.as_str()
    });
    Some(serde_json::from_str(&row.payload).unwrap())
}

#[test]
fn an_incident_reaches_the_public_with_its_first_entry_and_without_evidence() {
    let m = routed(&opened(IncidentKind::Auto, &["web"]), None).unwrap();
    assert_eq!(m.what, What::Opened);
    assert_eq!(m.title, "Web is down");
    assert_eq!(m.body, "Web: connection refused", "the page's first entry");
    assert_eq!(m.evidence, None);
    assert_eq!(m.author, None);
    assert_eq!(m.checks[0].name, "Web");
    assert_eq!(m.checks[0].group, "Core");
    let m = routed(&opened(IncidentKind::Manual, &["web"]), None).unwrap();
    assert_eq!(m.body, "Web: connection refused");
}

#[test]
fn admins_updates_and_resolutions_reach_the_public_watchposts_notes_do_not() {
    let f = facts(&["web"]);
    let update = |author: Option<&str>, status| Event::IncidentUpdated {
        id: 7,
        status,
        body: "We found it.".into(),
        author: author.map(Into::into),
        at: Timestamp(2_000),
    };
    let m = routed(&update(Some("ann"), IncidentStatus::Identified), Some(&f)).unwrap();
    assert_eq!(m.what, What::Updated);
    assert_eq!(m.body, "identified: We found it.");
    assert_eq!(m.author, None, "admins stay unnamed");
    let m = routed(&update(Some("ann"), IncidentStatus::Resolved), Some(&f)).unwrap();
    assert_eq!((m.what, m.state), (What::Resolved, Some(State::Up)));
    assert_eq!(
        routed(&update(None, IncidentStatus::Monitoring), Some(&f)),
        None
    );
    let resolved = Event::IncidentResolved {
        id: 7,
        started_at: Timestamp(1_000),
        at: Timestamp(3_000),
        body: "Web recovered at …".into(),
    };
    let m = routed(&resolved, Some(&f)).unwrap();
    assert_eq!(
        (m.what, m.body.as_str()),
        (What::Resolved, "Web recovered at …")
    );
    assert_eq!(m.started_ms, Some(1_000));
    assert_eq!(routed(&resolved, None), None, "no facts, no message");
}

#[test]
fn false_alarms_and_hidden_checks_never_reach_the_public() {
    let mut f = facts(&["web"]);
    f.false_alarm = true;
    let update = Event::IncidentUpdated {
        id: 7,
        status: IncidentStatus::Resolved,
        body: "x".into(),
        author: Some("ann".into()),
        at: Timestamp(2_000),
    };
    assert_eq!(routed(&update, Some(&f)), None);
    let marked = Event::FalseAlarm {
        id: 7,
        false_alarm: true,
        at: Timestamp(2_000),
    };
    assert_eq!(routed(&marked, Some(&facts(&["web"]))), None);
    // A removed check is hidden: alone it silences the event, beside a visible one it is left out.
    assert_eq!(routed(&opened(IncidentKind::Auto, &["gone"]), None), None);
    let m = routed(&opened(IncidentKind::Manual, &["gone", "db"]), None).unwrap();
    let names: Vec<&str> = m.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Database"]);
    // No check at all is about everything.
    assert!(routed(&opened(IncidentKind::Manual, &[]), None).is_some());
}

#[test]
fn one_off_maintenance_is_mailed_recurring_windows_and_edits_are_not() {
    let window = WindowInfo {
        title: "Upgrade".into(),
        checks: vec![id("db")],
        start: Timestamp(10_000),
        end: Timestamp(20_000),
    };
    let planned = |change| Event::Maintenance {
        id: 3,
        change,
        window: window.clone(),
    };
    let m = routed(&planned(Planning::Planned), None).unwrap();
    assert_eq!(
        (m.what, m.window, m.at_ms),
        (What::MaintenancePlanned, Some(3), 5_000)
    );
    assert!(routed(&planned(Planning::Cancelled), None).is_some());
    assert_eq!(routed(&planned(Planning::Edited), None), None);
    let time = |id, phase| Event::MaintenanceTime {
        id,
        phase,
        window: window.clone(),
    };
    let m = routed(&time(Some(3), WindowPhase::Started), None).unwrap();
    assert_eq!((m.what, m.at_ms), (What::MaintenanceStarted, 10_000));
    let m = routed(&time(Some(3), WindowPhase::Ended), None).unwrap();
    assert_eq!((m.what, m.at_ms), (What::MaintenanceEnded, 20_000));
    assert_eq!(routed(&time(None, WindowPhase::Started), None), None);
    let hidden = Event::Maintenance {
        id: 4,
        change: Planning::Planned,
        window: WindowInfo {
            checks: vec![id("gone")],
            ..window.clone()
        },
    };
    assert_eq!(routed(&hidden, None), None);
}

#[test]
fn a_scope_is_stored_read_back_matched_and_said() {
    let a = audience();
    let some = Scope::Some {
        checks: vec![id("db")],
        groups: vec!["Core".into()],
    };
    for s in [Scope::All, some.clone()] {
        assert_eq!(Scope::from_stored(&s.to_stored()), Some(s));
    }
    assert_eq!(Scope::from_stored("{broken"), None);
    assert_eq!(Scope::from_stored(r#"{"checks":["Not A Slug"]}"#), None);
    let web = a.check(&id("web"));
    let db = a.check(&id("db"));
    assert!(some.wants(std::slice::from_ref(&web)), "by its group");
    assert!(some.wants(std::slice::from_ref(&db)), "by itself");
    let only_db = Scope::Some {
        checks: vec![id("db")],
        groups: vec![],
    };
    assert!(!only_db.wants(std::slice::from_ref(&web)));
    assert!(!only_db.wants(&[]), "about everything: for All only");
    assert!(Scope::All.wants(&[]));
    assert_eq!(some.describe(&a), "the group Core and Database");
    assert_eq!(Scope::All.describe(&a), "everything on the status page");
}
