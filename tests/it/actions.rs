//! The domain layer seen from outside: an admin change is all or nothing, the admin API answers
//! JSON on every error path, and the writer announces exactly the changes it committed.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;
use watchpost::clock::Timestamp;
use watchpost::event::Event;
use watchpost::model::{Action, Impact, IncidentKind, IncidentStatus};
use watchpost::store::{AdminWrite, Audit, IncidentEdit, Store};

use crate::admin::{FORM, api, csrf_of, form, session, start};

/// A request to the admin API and the status it must get: method, path, headers, body.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str, u16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_is_one_transaction_and_every_api_error_is_json() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;
    let declared =
        serde_json::json!({"title": "Mail is slow", "impact": "minor", "checks": ["alive"]});
    let r = d
        .request(
            "POST",
            "/api/v1/admin/incidents",
            &api(&[]),
            &declared.to_string(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = serde_json::from_str::<Value>(&r.body).unwrap()["id"]
        .as_i64()
        .unwrap();

    // A declared incident is an open incident for Prometheus too.
    d.wait_page("/metrics", Duration::from_secs(10), |m| {
        m.contains("watchpost_incidents_open 1")
    })
    .await;

    // The edit and the false alarm are one write: the false alarm is refused (the incident is
    // open), so the new title is not kept either.
    let patch = serde_json::json!({"title": "Renamed", "impact": "major", "false_alarm": true});
    let path = format!("/api/v1/admin/incidents/{id}");
    let r = d
        .request("PATCH", &path, &api(&[]), &patch.to_string())
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let (title, impact): (String, String) = d
        .db()
        .query_row(
            "SELECT title, severity FROM incidents WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((title.as_str(), impact.as_str()), ("Mail is slow", "minor"));
    let audited: i64 = d
        .db()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'edit incident'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 0, "a refused change leaves no audit line");
    // Without the false alarm the same edit goes through, with its audit line.
    let patch = serde_json::json!({"title": "Renamed"});
    let r = d
        .request("PATCH", &path, &api(&[]), &patch.to_string())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["title"],
        "Renamed"
    );

    let lower = [
        ("Authorization", "bearer test-token-0123456789abcdef"),
        ("Content-Type", "application/json"),
    ];
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            api(&[]),
            "{not json",
            400,
        ),
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            api(&[]),
            r#"{"title":"x","impact":"minor","colour":"red"}"#,
            422,
        ),
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            vec![api(&[])[0]],
            r#"{"title":"x","impact":"minor"}"#,
            415,
        ),
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            api(&[]),
            r#"{"title":"x","impact":"huge"}"#,
            400,
        ),
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            api(&[]),
            r#"{"title":"","impact":"minor"}"#,
            400,
        ),
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            api(&[]),
            r#"{"title":"x","impact":"minor","checks":["nope"]}"#,
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/incidents/abc".into(),
            api(&[]),
            "{}",
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/incidents/999999".into(),
            api(&[]),
            r#"{"title":"y"}"#,
            404,
        ),
        (
            "POST",
            format!("/api/v1/admin/incidents/{id}/updates"),
            api(&[]),
            r#"{"status":"fixed","body":"b"}"#,
            400,
        ),
        (
            "POST",
            format!("/api/v1/admin/incidents/{id}/updates"),
            api(&[]),
            r#"{"status":"monitoring","body":"  "}"#,
            400,
        ),
        (
            "DELETE",
            "/api/v1/admin/maintenance/999999".into(),
            api(&[]),
            "",
            404,
        ),
        (
            "POST",
            "/api/v1/admin/maintenance".into(),
            api(&[]),
            r#"{"title":"Old","checks":["alive"],"starts_at":"1960-01-01T00:00:00Z","ends_at":"1960-01-01T01:00:00Z"}"#,
            400,
        ),
        (
            "POST",
            "/api/v1/admin/maintenance".into(),
            api(&[]),
            r#"{"title":"Old","checks":["alive"],"starts_at":"2000-01-01T00:00:00Z","ends_at":"2000-01-01T01:00:00Z"}"#,
            400,
        ),
        (
            "GET",
            "/api/v1/admin/nothing-here".into(),
            api(&[]),
            "",
            404,
        ),
        (
            "POST",
            "/api/v1/admin/incidents".into(),
            vec![("Content-Type", "application/json")],
            "{}",
            401,
        ),
        (
            "PATCH",
            "/api/v1/admin/incidents/999999".into(),
            lower.to_vec(),
            r#"{"title":"y"}"#,
            404,
        ),
    ];
    for (method, path, headers, body, status) in cases {
        let r = d.request(method, &path, &headers, body).await;
        assert_eq!(r.status, status, "{method} {path} {body}: {}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{method} {path} {body}"
        );
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path}: {}",
            r.body
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_announces_what_it_committed_and_nothing_it_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.db")).unwrap();
    let mut events = store.writer.subscribe();
    let audit = |action| {
        Some(Audit {
            actor: "ops".into(),
            action,
            target: String::new(),
            detail: String::new(),
        })
    };
    let now = Timestamp::now();
    let declare = AdminWrite::CreateIncident {
        title: "Tiles are slow".into(),
        severity: Impact::Minor,
        checks: Vec::new(),
        status: IncidentStatus::Investigating,
        body: "Looking".into(),
    };
    let id = store
        .writer
        .admin(
            declare,
            audit(Action::DeclareIncident),
            now,
            Box::new(move |id| {
                Some(Event::IncidentOpened {
                    id,
                    kind: IncidentKind::Manual,
                    impact: Impact::Minor,
                    title: "Tiles are slow".into(),
                    checks: Vec::new(),
                    at: now,
                    body: "Looking".into(),
                })
            }),
        )
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(got, Event::IncidentOpened { id: got, .. } if got == id),
        "{got:?}"
    );

    // A false alarm on an open incident is refused: nothing is announced, nothing changed.
    let edit = IncidentEdit {
        title: Some("Renamed".into()),
        false_alarm: Some(true),
        ..IncidentEdit::default()
    };
    let refused = store
        .writer
        .admin(
            AdminWrite::EditIncident { id, edit },
            audit(Action::EditIncident),
            now,
            Box::new(move |id| Some(Event::IncidentEdited { id, at: now })),
        )
        .await;
    assert!(refused.is_err());
    store.writer.flush().await.unwrap();
    assert!(matches!(
        events.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Empty)
    ));
    drop(events);
    let writer = store.writer.clone();
    drop(writer);
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_planned_across_a_daylight_saving_change_is_right_to_the_minute() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;
    let cookie = session(&d).await;
    let cookie_h = ("Cookie", cookie.as_str());
    let page = d
        .request("GET", "/admin/maintenance", &[cookie_h], "")
        .await;
    let csrf = csrf_of(&page.body);
    // Berlin moves its clocks forward at 02:00 on 31 March 2030: 20:00 on the 30th is 19:00 UTC,
    // 20:00 on the 31st is 18:00 UTC. A fixed offset would put one end an hour off.
    let body = form(&[
        ("csrf", &csrf),
        ("tz", "Europe/Berlin"),
        ("title", "Across the change"),
        ("starts", "2030-03-30T20:00"),
        ("ends", "2030-03-31T20:00"),
        ("checks", "alive"),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &body)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (start, end): (i64, i64) = d
        .db()
        .query_row("SELECT starts_at, ends_at FROM maintenance", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (Timestamp(start).rfc3339(), Timestamp(end).rfc3339()),
        (
            "2030-03-30T19:00:00Z".to_string(),
            "2030-03-31T18:00:00Z".to_string()
        )
    );
    // The form offers the zone's name for admin.js to fill in, and UTC without it.
    assert!(
        page.body.contains(r#"name="tz" value="UTC""#),
        "{}",
        page.body
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_are_announced_as_they_begin_and_end() {
    use std::sync::Arc;
    use watchpost::event::WindowPhase;
    use watchpost::maintenance::{Schedule, Window};
    use watchpost::model::CheckId;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.db")).unwrap();
    let mut events = store.writer.subscribe();
    let toml =
        "[[check]]\nid = \"db\"\nname = \"DB\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\n";
    let config = Arc::new(watchpost::config::parse(std::path::Path::new("t.toml"), toml).unwrap());
    let now = Timestamp::now();
    let window = Window {
        id: Some(7),
        title: "Upgrade".into(),
        body: String::new(),
        checks: vec![CheckId::new("db").unwrap()],
        start: Timestamp(now.0 + 300),
        end: Timestamp(now.0 + 700),
    };
    let (schedule, _) = tokio::sync::watch::channel(Arc::new(Schedule {
        recurring: Vec::new(),
        one_off: vec![window],
    }));
    let (_snapshot_tx, snapshot) =
        tokio::sync::watch::channel(Arc::new(watchpost::snapshot::Snapshot::empty(config)));
    let handles = watchpost::actions::Handles {
        writer: store.writer.clone(),
        reader: store.reader.clone(),
        schedule,
        snapshot,
    };
    let token = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(watchpost::actions::watch_windows(handles, token.clone()));
    let mut phases = Vec::new();
    while phases.len() < 2 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an announcement")
            .unwrap();
        if let Event::MaintenanceTime { id, phase, window } = e {
            assert_eq!((id, window.title.as_str()), (Some(7), "Upgrade"));
            phases.push(phase);
        }
    }
    assert_eq!(phases, [WindowPhase::Started, WindowPhase::Ended]);
    token.cancel();
    task.await.unwrap();
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
}
