//! The maintenance form through HTTP: a window whose start has passed is accepted only as in
//! progress (it begins when it is planned, and both the admin's answer and the public pages say
//! "in progress"), and a window that ends before or when it starts is refused with a message and
//! the form as it was typed.

use std::net::TcpListener;

use crate::admin::{self, FORM, csrf_of, form};

/// "YYYY-MM-DDTHH:MM" in UTC, as a datetime-local input sends it.
fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_started_in_the_past_is_in_progress_and_a_backwards_one_is_refused_keeping_the_form()
 {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = admin::start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;
    let cookie = admin::session(&d).await;
    let cookie_h = ("Cookie", cookie.as_str());
    let page = d
        .request("GET", "/admin/maintenance", &[cookie_h], "")
        .await;
    let csrf = csrf_of(&page.body);
    let now = chrono::Utc::now();

    // Ends before it starts: refused, with the message and every field as typed.
    let (starts, ends) = (
        local(now + chrono::Duration::hours(3)),
        local(now + chrono::Duration::hours(2)),
    );
    let backwards = form(&[
        ("csrf", &csrf),
        ("tz", "UTC"),
        ("title", "Swap the <disks>"),
        ("starts", &starts),
        ("ends", &ends),
        ("checks", "flaky"),
        ("body", "Both **racks**."),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &backwards)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("must end after it starts"), "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    assert!(
        r.body.contains("value=\"Swap the &lt;disks&gt;\""),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("name=\"starts\" required value=\"{starts}\"")),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("value=\"{ends}\"")), "{}", r.body);
    assert!(
        r.body
            .contains("<input type=\"checkbox\" name=\"checks\" value=\"flaky\" checked>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(">Both **racks**.</textarea>"), "{}", r.body);
    // Ending exactly when it starts is refused too.
    let empty = form(&[
        ("csrf", &csrf),
        ("tz", "UTC"),
        ("title", "Nothing"),
        ("starts", &starts),
        ("ends", &starts),
        ("checks", "flaky"),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &empty)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("must end after it starts"), "{}", r.body);
    let count: i64 = d
        .db()
        .query_row("SELECT count(*) FROM maintenance", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0, "nothing refused was stored");

    // Started half an hour ago: accepted as in progress from now, and said so.
    let started = form(&[
        ("csrf", &csrf),
        ("tz", "UTC"),
        ("title", "Router firmware"),
        ("starts", &local(now - chrono::Duration::minutes(30))),
        ("ends", &local(now + chrono::Duration::hours(1))),
        ("checks", "flaky"),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &started)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").unwrap().to_string();
    assert!(to.starts_with("/admin/maintenance?started="), "{to}");
    let answer = d.request("GET", &to, &[cookie_h], "").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .body
            .contains("<strong>In progress: </strong>“Router firmware”"),
        "{}",
        answer.body
    );
    let stored: i64 = d
        .db()
        .query_row("SELECT starts_at FROM maintenance", [], |r| r.get(0))
        .unwrap();
    let asked = (now - chrono::Duration::minutes(30)).timestamp_millis();
    assert!(
        stored > asked + 25 * 60_000,
        "the start moved to the moment of planning: {stored} vs {asked}"
    );
    assert!(stored <= chrono::Utc::now().timestamp_millis());

    // The public pages say it is in progress.
    let front = d.get("/").await.body;
    assert!(
        front.contains("<strong>In progress: </strong>Router firmware"),
        "{front}"
    );
    let history = d.get("/history").await.body;
    assert!(
        history.contains("Maintenance, in progress: </strong>Router firmware"),
        "{history}"
    );
    let french = crate::daemon::get_with(d.addr, "/history", &[("Accept-Language", "fr")]).await;
    assert!(
        french
            .body
            .contains("Maintenance en cours\u{a0}: </strong>Router firmware"),
        "{}",
        french.body
    );

    // Through the API too: the answer says it is in progress, from a later start than sent.
    let window = serde_json::json!({
        "title": "Cache flush",
        "checks": ["alive"],
        "starts_at": (now - chrono::Duration::minutes(10)).to_rfc3339(),
        "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
    });
    let r = d
        .request(
            "POST",
            "/api/v1/admin/maintenance",
            &admin::api(&[]),
            &window.to_string(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["in_progress"], true, "{v}");
    let at = chrono::DateTime::parse_from_rfc3339(v["starts_at"].as_str().unwrap()).unwrap();
    assert!(at > now - chrono::Duration::minutes(2), "{v}");
    let r = d
        .request(
            "DELETE",
            &format!("/api/v1/admin/maintenance/{}", v["id"]),
            &admin::api(&[]),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Saving it unchanged keeps its start, and says nothing of a moved start.
    let id: i64 = d
        .db()
        .query_row("SELECT min(id) FROM maintenance", [], |r| r.get(0))
        .unwrap();
    let edit_page = d
        .request("GET", &format!("/admin/maintenance/{id}"), &[cookie_h], "")
        .await;
    let value = |name: &str| {
        let key = format!("name=\"{name}\" required value=\"");
        let at = edit_page.body.find(&key).unwrap() + key.len();
        edit_page.body[at..at + 16].to_string()
    };
    let same = form(&[
        ("csrf", &csrf),
        ("tz", "UTC"),
        ("title", "Router firmware v2"),
        ("starts", &value("starts")),
        ("ends", &value("ends")),
        ("checks", "flaky"),
    ]);
    let r = d
        .request(
            "POST",
            &format!("/admin/maintenance/{id}"),
            &[FORM, cookie_h],
            &same,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/admin/maintenance"));
    let kept: i64 = d
        .db()
        .query_row(
            "SELECT starts_at FROM maintenance WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, stored);
    d.stop().await;
}
