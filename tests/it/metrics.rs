//! `/metrics` against real targets on loopback: blackbox_exporter's series for HTTP, TCP and
//! DNS checks with the values the targets gave, the daemon's own series, and (ignored by
//! default, run by `.ci/run`) a real Prometheus scraping the daemon with the documented config
//! and `promtool check metrics` on the output.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

use crate::daemon::{self, Daemon};
use crate::dns_server;

/// A target: `/old` redirects twice to `/page`, which has a Last-Modified and a fixed body.
async fn target() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/old", get(|| async { Redirect::temporary("/older") }))
        .route("/older", get(|| async { Redirect::temporary("/page") }))
        .route(
            "/page",
            get(|| async {
                (
                    [(header::LAST_MODIFIED, "Wed, 21 Oct 2015 07:28:00 GMT")],
                    "twenty-six bytes of body!\n",
                )
                    .into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn config(web: std::net::SocketAddr, tcp: u16, dns: std::net::SocketAddr) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Metrics"
[storage]
path = "{{db}}"
[defaults]
interval = "300ms"
timeout = "250ms"
[[check]]
id = "web"
name = "Web"
type = "http"
url = "http://{web}/old"
[[check]]
id = "wrong-body"
name = "Wrong body"
type = "http"
url = "http://{web}/page"
body_regex = 'v\d+'
[[check]]
id = "port"
name = "Port"
type = "tcp"
host = "127.0.0.1"
port = {tcp}
[[check]]
id = "zone"
name = "Zone"
type = "dns"
query = "ok.test"
record = "A"
server = "{dns}"
"#
    )
}

/// The value of the one sample of `name` for check `id`.
fn sample(metrics: &str, name: &str, id: &str) -> Option<f64> {
    let check = format!("check=\"{id}\"");
    metrics
        .lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(&check))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A daemon in `dir` probing an HTTP target, a listening TCP port and a DNS server, with the
/// port and the server, which must live as long as it does.
async fn start_probing(
    dir: &std::path::Path,
) -> (Daemon, std::net::TcpListener, dns_server::DnsServer) {
    let web = target().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dns = dns_server::start().await;
    let d = daemon::start(
        dir,
        &config(web, port.local_addr().unwrap().port(), dns.addr),
    )
    .await;
    (d, port, dns)
}

async fn all_probed(d: &Daemon) -> String {
    d.wait_page("/metrics", Duration::from_secs(20), |m| {
        ["web", "wrong-body", "port", "zone"]
            .iter()
            .all(|id| sample(m, "probe_success", id).is_some())
    })
    .await
    .body
}

#[tokio::test]
async fn blackbox_series_carry_what_the_targets_said() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _tcp, _dns) = start_probing(dir.path()).await;
    let m = all_probed(&d).await;
    let v = |name: &str, id: &str| {
        sample(&m, name, id).unwrap_or_else(|| panic!("no {name} for {id}:\n{m}"))
    };

    assert_eq!(v("probe_success", "web"), 1.0);
    assert_eq!(v("probe_http_status_code", "web"), 200.0);
    assert_eq!(v("probe_http_redirects", "web"), 2.0);
    assert_eq!(v("probe_http_version", "web"), 1.1);
    assert_eq!(v("probe_http_ssl", "web"), 0.0);
    assert_eq!(v("probe_http_content_length", "web"), 26.0);
    assert_eq!(v("probe_http_uncompressed_body_length", "web"), 26.0);
    assert_eq!(
        v("probe_http_last_modified_timestamp_seconds", "web"),
        1_445_412_480.0
    );
    assert_eq!(v("probe_failed_due_to_regex", "web"), 0.0);
    assert_eq!(v("probe_failed_due_to_regex", "wrong-body"), 1.0);
    assert_eq!(v("probe_success", "wrong-body"), 0.0);

    // The address probed, IPv4, and blackbox_exporter's FNV-1a hash of its bytes.
    let loopback_hash = [127u8, 0, 0, 1].iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    for id in ["web", "port", "zone"] {
        assert_eq!(v("probe_ip_protocol", id), 4.0, "{id}");
        assert_eq!(
            v("probe_ip_addr_hash", id),
            f64::from(loopback_hash),
            "{id}"
        );
        // An address written as such is not looked up.
        assert_eq!(v("probe_dns_lookup_time_seconds", id), 0.0, "{id}");
    }
    assert_eq!(v("probe_dns_answer_rrs", "zone"), 2.0);
    assert_eq!(v("probe_success", "port"), 1.0);
    // HTTP series only for HTTP checks.
    assert_eq!(sample(&m, "probe_http_version", "port"), None);
    assert_eq!(sample(&m, "probe_http_redirects", "zone"), None);

    // One HELP and TYPE per family, each family's samples together.
    let mut seen = std::collections::HashSet::new();
    let mut current = String::new();
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap().to_string();
        let family = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count")
            .to_string();
        if family != current {
            assert!(seen.insert(family.clone()), "{family} is split:\n{m}");
            current = family;
        }
    }
    d.stop().await;
}

#[tokio::test]
async fn build_process_store_and_database_series_are_exported() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _tcp, _dns) = start_probing(dir.path()).await;
    let m = d
        .wait_page("/metrics", Duration::from_secs(20), |m| {
            m.lines()
                .any(|l| l.starts_with("watchpost_store_batch_writes_count ") && !l.ends_with(" 0"))
        })
        .await
        .body;
    let value = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}:\n{m}"))
    };
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        m.contains(&format!("watchpost_build_info{{version=\"{version}\"}} 1")),
        "{m}"
    );
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(value("process_open_fds") > 3.0);
    assert!(value("process_cpu_seconds_total") >= 0.0);
    assert!(value("process_start_time_seconds") > 1.7e9);
    assert!(value("watchpost_store_commit_seconds_count") >= 1.0);
    assert!(value("watchpost_recorder_queue_length") >= 0.0);
    assert!(value("watchpost_store_queue_length") >= 0.0);
    let on_disk = std::fs::metadata(&d.db).unwrap().len();
    assert!(
        value("watchpost_database_size_bytes") >= on_disk as f64,
        "{m}"
    );
    d.stop().await;
}

/// A free loopback port (taken then released: Prometheus binds it itself).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The scrape config documented in docs/prometheus.md, scraping `daemon` every second.
fn prometheus_yml(daemon: std::net::SocketAddr) -> String {
    format!(
        r#"
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: watchpost
    static_configs:
      - targets: ["{daemon}"]
    metric_relabel_configs:
      # Each check becomes its own instance, as blackbox_exporter's dashboards expect.
      - source_labels: [check]
        regex: (.+)
        target_label: instance
"#
    )
}

#[tokio::test]
#[ignore = "needs Debian's prometheus package; run by .ci/run"]
async fn prometheus_sees_each_check_as_its_own_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _tcp, _dns) = start_probing(dir.path()).await;
    let metrics = all_probed(&d).await;

    // promtool's linter has nothing to say about the exposition.
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    use std::io::Write as _;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );

    let yml = dir.path().join("prometheus.yml");
    std::fs::write(&yml, prometheus_yml(d.addr)).unwrap();
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut prometheus = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", yml.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus (apt-get install prometheus)");
    let query =
        "/api/v1/query?query=probe_success%7Binstance%3D%22web%22%2Cjob%3D%22watchpost%22%7D";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let found = loop {
        // Asked only once Prometheus listens: the client helper panics on a refused connection.
        let up = tokio::net::TcpStream::connect(listen).await.is_ok();
        let answer = match up {
            true => tokio::time::timeout(Duration::from_secs(5), daemon::get(listen, query))
                .await
                .ok(),
            false => None,
        };
        if let Some(r) = answer
            && r.status == 200
        {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            if let Some(sample) = v["data"]["result"].as_array().and_then(|a| a.first()) {
                break sample.clone();
            }
        }
        if tokio::time::Instant::now() > deadline {
            let _ = prometheus.kill();
            panic!("Prometheus never had probe_success{{instance=\"web\"}}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert_eq!(found["metric"]["instance"], "web", "{found}");
    assert_eq!(found["metric"]["check"], "web", "{found}");
    assert_eq!(found["value"][1], "1", "{found}");
    d.stop().await;
}

/// `/metrics` is sent in pieces of a few hundred checks of one family: together they are the
/// text `render` writes whole, with every family once and every check once in each.
#[test]
fn the_exposition_in_pieces_is_the_whole_text() {
    use watchpost::clock::Timestamp;
    use watchpost::model::State;
    use watchpost::probe::{Failure, Outcome, Phases, Reason, Status};

    let checks = 1_300;
    let mut toml = String::new();
    for i in 0..checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\ngroup = \"Group {}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\n",
            i % 7
        ));
    }
    let config = watchpost::config::parse(std::path::Path::new("pieces.toml"), &toml).unwrap();
    let metrics = std::sync::Arc::new(watchpost::metrics::Metrics::new().unwrap());
    for (i, check) in config.checks.iter().enumerate() {
        let down = i % 3 == 0;
        let outcome = Outcome {
            at: Timestamp::now(),
            status: if down { Status::Down } else { Status::Up },
            failure: down.then(|| Failure::new(Reason::Refused, "connection refused")),
            latency: Duration::from_millis(i as u64 % 50),
            code: None,
            phases: Phases::default(),
            tls: None,
            answers: None,
            facts: Default::default(),
        };
        metrics.observe(check, &outcome);
        metrics.set_state(check, if down { State::Down } else { State::Up });
        for (window, _) in watchpost::uptime::WINDOWS {
            metrics.set_uptime(check, window, Some(0.99));
        }
    }
    let pieces: Vec<String> = metrics.exposition().unwrap().collect();
    let whole = metrics.render().unwrap();
    assert!(pieces.len() > 40, "{} pieces", pieces.len());
    let largest = pieces.iter().map(String::len).max().unwrap();
    assert!(
        largest < 256 * 1024 && whole.len() > 1024 * 1024,
        "the largest piece is {largest} bytes of {}",
        whole.len()
    );
    // The process's own series (CPU, memory) move between two scrapes.
    let steady = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("process_") && !l.contains(" process_"))
            .map(String::from)
            .collect()
    };
    let streamed = pieces.concat();
    assert_eq!(steady(&streamed), steady(&whole));
    let mut seen = std::collections::HashSet::new();
    for line in streamed.lines() {
        assert!(seen.insert(line), "twice: {line}");
    }
    for family in ["probe_success", "probe_duration_seconds"] {
        let samples = streamed
            .lines()
            .filter(|l| l.starts_with(&format!("{family}{{")))
            .count();
        assert_eq!(samples, checks, "{family}");
    }
}
