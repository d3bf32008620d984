//! The admin page of notifications against a running daemon: a receiver that fails until its
//! notification is dead-lettered, the page showing the destination, the dead letter and the
//! subscribers, and a retry (session, CSRF and origin checked, audited) after which the receiver
//! gets the message once.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher;

use crate::admin::{FORM, PASSWORD, csrf_of, form, session};
use crate::daemon::{self, Daemon};
use crate::notify::{Receiver, config, destination, events};
use crate::smtp_sink::Sink;

/// The admin page once `done` holds for its body.
async fn page_when(d: &Daemon, cookie: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = d
            .request("GET", "/admin/notifications", &[("Cookie", cookie)], "")
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if done(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "not as expected in time:\n{}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_shown_and_a_retry_delivers_it_once() {
    let rx = Receiver::start().await;
    rx.fail.store(usize::MAX, Ordering::SeqCst);
    let sink = Sink::start().await;
    let port = crate::daemon::refused_port();
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let toml = config(&format!(
        "give_up_after = \"1s\"\n\
         [admin]\nusers = [{{ name = \"ops\", password_hash = \"{hash}\" }}]\n\
         [smtp]\nurl = \"smtp://127.0.0.1:{}\"\nfrom = \"Status <status@example.org>\"\n\
         [subscriptions]\nemail = true\n\
         [[check]]\nid = \"db\"\nname = \"Database\"\ngroup = \"Core\"\ntype = \"tcp\"\n\
         host = \"127.0.0.1\"\nport = {port}\n{}",
        sink.addr.port(),
        destination("hook", "webhook", &rx.url("/hook"), ""),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    for (email, scope) in [("ann@example.org", None), ("bob@example.org", Some("Core"))] {
        let mut pairs = vec![("email", email)];
        pairs.extend(scope.map(|g| ("groups", g)));
        let r = d
            .request("POST", "/subscribe", &[FORM], &form(&pairs))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let cookie = session(&d).await;

    let dash = d.request("GET", "/admin", &[("Cookie", &cookie)], "").await;
    assert!(
        dash.body.contains(r#"href="/admin/notifications""#),
        "linked from the navigation"
    );
    let body = page_when(&d, &cookie, |b| b.contains("dead letter")).await;
    assert!(body.contains("<td>hook</td><td>webhook</td>"), "{body}");
    assert!(body.contains("incident.opened"), "{body}");
    assert!(body.contains("HTTP 503"), "the last error: {body}");
    assert!(body.contains("@subscribers"), "{body}");
    assert!(
        body.contains("0 confirmed, 2 awaiting confirmation"),
        "{body}"
    );
    assert!(body.contains("<td>everything</td>"), "{body}");
    assert!(body.contains("<td>the group Core</td>"), "{body}");
    let at = body.find("/retry\"").expect("a retry button");
    let start = body[..at].rfind("/admin/notifications/").unwrap();
    let action = body[start..at + 6].to_string();
    let tries = rx.hits("/hook").len();
    assert!(tries >= 1, "tried before giving up");
    // No more attempts once dead.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.hits("/hook").len(), tries);

    // The retry is a form like every other: a forged token or another origin is refused.
    let csrf = csrf_of(&body);
    let post = |token: &str, origin: Option<&'static str>| {
        let mut h = vec![FORM, ("Cookie", cookie.as_str())];
        h.extend(origin.map(|o| ("Origin", o)));
        let body = form(&[("csrf", token)]);
        let (d, action) = (&d, action.clone());
        async move { d.request("POST", &action, &h, &body).await }
    };
    assert_eq!(post(&"0".repeat(64), None).await.status, 403);
    assert_eq!(post(&csrf, Some("http://evil.example")).await.status, 403);
    assert_eq!(
        rx.hits("/hook").len(),
        tries,
        "a refused retry sends nothing"
    );

    rx.fail.store(0, Ordering::SeqCst);
    let r = post(&csrf, None).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let got = rx.wait("/hook", |h| !h.is_empty()).await;
    let body = page_when(&d, &cookie, |b| !b.contains("dead letter")).await;
    assert!(body.contains("delivered"), "{body}");
    // Refused now: it is no longer a dead letter.
    assert_eq!(post(&csrf, None).await.status, 409);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let accepted: Vec<_> = rx
        .hits("/hook")
        .into_iter()
        .filter(|h| h.accepted)
        .collect();
    assert_eq!(accepted.len(), 1, "{:#?}", events(&accepted));
    assert_eq!(events(&got)[0].0, "incident.opened");
    let audit = d
        .request("GET", "/admin/audit", &[("Cookie", &cookie)], "")
        .await;
    assert!(audit.body.contains("retry notification"), "{}", audit.body);
    d.stop().await;
}

/// The delivery log and the retry, for scripts: bearer token, JSON answers and errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_read_the_delivery_log_and_retry_a_dead_letter_through_the_api() {
    const TOKEN: &str = "ops-script-token-0123456789";
    let rx = Receiver::start().await;
    rx.fail.store(usize::MAX, Ordering::SeqCst);
    let port = crate::daemon::refused_port();
    let toml = config(&format!(
        "give_up_after = \"1s\"\n\
         [admin]\napi_tokens = [\"{TOKEN}\"]\n\
         [[check]]\nid = \"db\"\nname = \"Database\"\ntype = \"tcp\"\n\
         host = \"127.0.0.1\"\nport = {port}\n{}",
        destination("hook", "webhook", &rx.url("/hook"), ""),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    let json = |r: &crate::daemon::Response| -> serde_json::Value {
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
    };

    let no_token = d
        .request("GET", "/api/v1/admin/notifications", &[], "")
        .await;
    assert_eq!(no_token.status, 401, "{}", no_token.body);
    let deadline = Instant::now() + Duration::from_secs(15);
    let log = loop {
        let r = d
            .request("GET", "/api/v1/admin/notifications", &auth, "")
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = json(&r);
        if v["destinations"][0]["dead"] == 1 {
            break v;
        }
        assert!(Instant::now() < deadline, "no dead letter in time: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let lane = &log["destinations"][0];
    assert_eq!(lane["name"], "hook");
    assert_eq!(lane["last_result"], "dead");
    assert!(
        lane["last_error"].as_str().unwrap().contains("HTTP 503"),
        "{lane}"
    );
    let dead = &log["deliveries"][0];
    assert_eq!(dead["state"], "dead", "{log}");
    assert_eq!(dead["event"], "incident.opened");
    assert_eq!(dead["destination"], "hook");
    assert!(dead["attempts"].as_u64().unwrap() >= 1);
    assert!(log["next_page"].is_null());
    let id = dead["id"].as_i64().unwrap();

    let bad = d
        .request("GET", "/api/v1/admin/notifications?page=0", &auth, "")
        .await;
    assert_eq!(bad.status, 400);
    assert!(json(&bad)["error"].as_str().unwrap().contains("page"));
    let bad = d
        .request("GET", "/api/v1/admin/notifications?page=x", &auth, "")
        .await;
    assert_eq!(bad.status, 400);
    assert!(json(&bad)["error"].is_string());

    let retry = format!("/api/v1/admin/notifications/{id}/retry");
    assert_eq!(d.request("POST", &retry, &[], "").await.status, 401);
    assert_eq!(
        rx.hits("/hook").iter().filter(|h| h.accepted).count(),
        0,
        "nothing accepted before the retry"
    );
    rx.fail.store(0, Ordering::SeqCst);
    let r = d.request("POST", &retry, &auth, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json(&r),
        serde_json::json!({ "id": id, "state": "pending" })
    );
    let got = rx.wait("/hook", |h| !h.is_empty()).await;
    assert_eq!(events(&got)[0].0, "incident.opened");

    let again = d.request("POST", &retry, &auth, "").await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(json(&again)["error"].is_string());
    let missing = d
        .request(
            "POST",
            "/api/v1/admin/notifications/999999/retry",
            &auth,
            "",
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(json(&missing)["error"].is_string());
    let after = json(
        &d.request("GET", "/api/v1/admin/notifications", &auth, "")
            .await,
    );
    assert_eq!(after["deliveries"][0]["state"], "delivered", "{after}");
    assert_eq!(after["destinations"][0]["dead"], 0, "{after}");
    d.stop().await;
}
