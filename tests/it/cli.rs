//! The `watchpost` binary as a sysadmin uses it: `check` with its exit codes and located errors,
//! `probe` against each kind of target, `hash-password`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::dns_server;

fn watchpost(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn check_accepts_the_example_and_locates_every_error() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/watchpost.toml");
    let (code, out, _) = watchpost(&["check", "--config", example]);
    assert_eq!(code, 0);
    assert!(out.contains(": ok, 7 checks"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[check]]\nid = \"web\"\ntype = \"http\"\nurl = \"ftp://x\"\n[[check]]\nid = \"web\"\ntype = \"tcp\"\nhost = \"db\"\nport = 0\n",
    )
    .unwrap();
    let (code, _, err) = watchpost(&["check", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    let shown = bad.display().to_string();
    assert!(
        err.contains(&format!("{shown}:4:7: check \"web\": url:")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{shown}:6:6: duplicate check id \"web\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{shown}:9:8: check \"web\": port must be between 1 and 65535"
        )),
        "{err}"
    );

    let (code, _, err) = watchpost(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "run refuses a bad config");
    assert!(err.contains("duplicate check id"), "{err}");
}

#[test]
fn check_reports_every_unknown_key_and_wrong_type_in_order_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("typos.toml");
    std::fs::write(
        &bad,
        "[server]\ntitel = \"Status\"\n\n[[check]]\nid = \"db\"\ntype = \"tcp\"\nhost = \"db\"\n\
         port = \"5432\"\nintervall = \"30s\"\n\n[[check]]\nid = \"db\"\ntype = \"tcp\"\nhost = \"db\"\nport = 1\n",
    )
    .unwrap();
    let (code, out, err) = watchpost(&["check", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    let shown = bad.display().to_string();
    let lines: Vec<&str> = err.lines().collect();
    let want = [
        format!("{shown}:2:1: unknown field `titel`"),
        format!("{shown}:8:8: invalid type: string \"5432\", expected i64"),
        format!("{shown}:9:1: unknown field `intervall`"),
        format!("{shown}:12:6: duplicate check id \"db\", first defined on line 5"),
        format!("{shown}: 4 errors"),
    ];
    assert_eq!(lines.len(), want.len(), "{err}");
    for (line, want) in lines.iter().zip(&want) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} is not {want:?} in\n{err}"
        );
    }
    assert!(lines[0].ends_with("; did you mean `title`?"), "{err}");
    assert!(lines[2].ends_with("; did you mean `interval`?"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_reports_phases_and_exits_by_the_result() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dns = dns_server::start().await;
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            watchpost(&args)
        })
    };

    let (code, out, _) = run(vec!["probe".into(), format!("http://{addr}/")])
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    for line in [
        "result     up",
        "code       200",
        "connect",
        "processing",
        "transfer",
        "total",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    let (code, out, _) = run(vec!["probe".into(), format!("tcp://{addr}")])
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(vec![
        "probe".into(),
        format!("dns://{}/ok.test?type=TXT", dns.addr),
    ])
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(vec![
        "probe".into(),
        format!("dns://{}/nowhere.test", dns.addr),
    ])
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(
        out.contains("rcode NXDOMAIN, expected NOERROR (rcode)"),
        "{out}"
    );
    server.abort();
    let (code, out, _) = run(vec![
        "probe".into(),
        "--timeout".into(),
        "300ms".into(),
        format!("http://{addr}/"),
    ])
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(out.contains("connection refused (refused)"), "{out}");
    let (code, _, err) = run(vec!["probe".into(), "gopher://x".into()])
        .await
        .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("unknown scheme"), "{err}");
}

#[test]
fn hash_password_prints_an_argon2id_hash_that_verifies() {
    use argon2::password_hash::PasswordVerifier;
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"s3cret pass\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let parsed: argon2::password_hash::phc::PasswordHash = hash.trim().parse().unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(b"s3cret pass", &parsed)
            .is_ok()
    );
}

#[test]
fn probe_without_a_scheme_suggests_one() {
    let (code, _, err) = watchpost(&["probe", "127.0.0.1:80"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("did you mean tcp://127.0.0.1:80 or http://127.0.0.1:80/?"),
        "{err}"
    );
    assert!(!err.contains("relative URL"), "{err}");
}

#[test]
fn a_missing_config_names_every_path_tried() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .arg("check")
        .current_dir(dir.path())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if std::path::Path::new("/etc/watchpost/watchpost.toml").exists() {
        // An installed package's config is the fallback; then it is the one read.
        let said = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
        assert!(said.contains("/etc/watchpost/watchpost.toml"), "{said}");
        return;
    }
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("tried ./watchpost.toml and /etc/watchpost/watchpost.toml"),
        "{err}"
    );
    let (code, _, err) = watchpost(&["check", "--config", "/nonexistent/watchpost.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/watchpost.toml"), "{err}");
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    let (code, bash, _) = watchpost(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        bash.contains("_watchpost()") && bash.contains("hash-password"),
        "{bash}"
    );
    let (_, zsh, _) = watchpost(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef watchpost"), "{zsh}");
    let (_, fish, _) = watchpost(&["completions", "fish"]);
    assert!(fish.contains("complete -c watchpost"), "{fish}");

    let (code, page, _) = watchpost(&["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH watchpost 1"), "{page}");
    assert!(page.contains("watchpost\\-export(1)"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = watchpost(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let export = std::fs::read_to_string(dir.path().join("watchpost-export.1")).unwrap();
    assert!(export.contains("\\-\\-from"), "{export}");
    let check = std::fs::read_to_string(dir.path().join("watchpost-check.1")).unwrap();
    assert!(check.contains("Config file to validate"), "{check}");
}
