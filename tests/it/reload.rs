//! Live reload against a running daemon: checks added, removed and changed, their metric series,
//! a bad config refused with its location while the running one stays, and a change only a
//! restart can apply refused with a message.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use crate::admin::api;
use crate::daemon;

const TOKEN: &str = "test-token-0123456789abcdef";

fn config(port: u16, checks: &[(&str, &str)], extra: &str) -> String {
    let mut toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
[storage]
path = "{{db}}"
[defaults]
interval = "100ms"
timeout = "80ms"
failure_threshold = 2
success_threshold = 1
[admin]
api_tokens = ["{TOKEN}"]
{extra}
"#
    );
    for (id, interval) in checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"{id}\"\nname = \"{id}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\ninterval = \"{interval}\"\n"
        ));
    }
    toml
}

fn ids(status: &Value) -> Vec<String> {
    let mut v: Vec<String> = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_come_and_go_without_a_restart_and_a_bad_config_changes_nothing() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = alive.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(
        dir.path(),
        &config(
            port,
            &[("kept", "100ms"), ("gone", "100ms"), ("moved", "100ms")],
            "",
        ),
    )
    .await;
    let limit = Duration::from_secs(10);
    d.wait_json("/api/v1/status", limit, |v| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "up")
    })
    .await;
    let write = |toml: String| {
        let db = d.db.display().to_string();
        std::fs::write(dir.path().join("watchpost.toml"), toml.replace("{db}", &db)).unwrap();
    };
    let headers = api(&[]);
    let reload = || d.request("POST", "/api/v1/admin/reload", &headers, "");

    write(config(
        port,
        &[("kept", "100ms"), ("moved", "150ms"), ("new", "100ms")],
        "",
    ));
    let r = reload().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let changes: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"added": ["new"], "removed": ["gone"], "changed": ["moved"]})
    );
    let status = d
        .wait_json("/api/v1/status", limit, |v| {
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["state"] == "up")
        })
        .await;
    assert_eq!(ids(&status), ["kept", "moved", "new"]);
    let metrics = d.get("/metrics").await.body;
    assert!(!metrics.contains("check=\"gone\""), "{metrics}");
    assert!(metrics.contains("check=\"new\""), "{metrics}");
    assert!(
        metrics.contains("watchpost_config_last_reload_successful 1"),
        "{metrics}"
    );
    // The kept check was never interrupted: its state stayed up through the reload.
    let kept = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "kept")
        .unwrap()
        .clone();
    assert_eq!(kept["state"], "up");

    // A config with an unknown key is refused whole, with where the problem is.
    let good = std::fs::read_to_string(dir.path().join("watchpost.toml")).unwrap();
    std::fs::write(
        dir.path().join("watchpost.toml"),
        format!("{good}colour = \"red\"\n"),
    )
    .unwrap();
    let r = reload().await;
    assert_eq!(r.status, 400, "{}", r.body);
    let error = serde_json::from_str::<Value>(&r.body).unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("watchpost.toml:") && error.contains("colour"),
        "{error}"
    );
    assert_eq!(
        ids(&d.json("/api/v1/status").await),
        ["kept", "moved", "new"]
    );
    assert!(
        d.get("/metrics")
            .await
            .body
            .contains("watchpost_config_last_reload_successful 0")
    );

    // Listening elsewhere needs a restart: said, and refused.
    write(config(port, &[("kept", "100ms")], "").replace("127.0.0.1:0", "127.0.0.1:1"));
    let r = reload().await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("restart"), "{}", r.body);
    assert_eq!(
        ids(&d.json("/api/v1/status").await),
        ["kept", "moved", "new"]
    );

    // A removed check's history stays: put back, it is the same check again.
    write(config(port, &[("kept", "100ms"), ("gone", "100ms")], ""));
    let r = reload().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows: i64 = d
        .db()
        .query_row("SELECT count(*) FROM checks WHERE slug = 'gone'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 1);
    d.stop().await;
}
