//! Mail over TLS: the daemon sends an operator's incident mail (lettre's transport) and a
//! subscriber's confirmation (its own SMTP session) to a sink that speaks STARTTLS, then to one
//! that speaks TLS from the first byte, trusting the sink's test authority through
//! `[smtp] ca_file`; without it, nothing is sent in clear instead.

use std::time::Duration;

use crate::admin::{FORM, form};
use crate::daemon;
use crate::smtp_sink::{Security, Sink, TestCa};

const WAIT: Duration = Duration::from_secs(15);

fn toml(url: &str, ca_file: Option<&str>, closed_port: u16) -> String {
    let ca = ca_file.map_or(String::new(), |f| format!("ca_file = \"{f}\"\n"));
    crate::notify::config(&format!(
        r#"[smtp]
url = "{url}"
from = "Status <status@example.org>"
{ca}[subscriptions]
email = true
[[check]]
id = "db"
name = "Database"
type = "tcp"
host = "127.0.0.1"
port = {closed_port}
[[notify]]
name = "mail"
type = "email"
to = ["ops@example.org"]
"#
    ))
}

/// Runs a daemon against a sink with `security`; both kinds of mail arrive over TLS.
async fn both_mails_arrive_over(security: Security) {
    let ca = TestCa::new();
    let sink = Sink::tls(security, &ca).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.pem).unwrap();
    let port = sink.addr.port();
    let url = match security {
        Security::Implicit => format!("smtps://localhost:{port}"),
        _ => format!("smtp://localhost:{port}?tls=required"),
    };
    let d = daemon::start(
        dir.path(),
        &toml(&url, Some("ca.pem"), daemon::refused_port()),
    )
    .await;
    let r = d
        .request(
            "POST",
            "/subscribe",
            &[FORM],
            &form(&[("email", "ann@example.org")]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = sink
        .wait(WAIT, |m| {
            m.iter()
                .any(|m| m.to.contains(&"ann@example.org".to_string()))
                && m.iter()
                    .any(|m| m.to.contains(&"ops@example.org".to_string()))
        })
        .await;
    d.stop().await;
    assert!(
        mails.iter().all(|m| m.secure),
        "{security:?}: a mail came in clear"
    );
    let ops = sink.to("ops@example.org");
    let subject = ops[0].header("Subject").unwrap();
    assert!(
        subject.contains("Check db") || subject.contains("Database"),
        "{subject}"
    );
    assert!(
        sink.to("ann@example.org")[0]
            .data
            .contains("/subscribe/confirm")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_through_starttls_with_a_private_authority() {
    both_mails_arrive_over(Security::StartTls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_through_implicit_tls_with_a_private_authority() {
    both_mails_arrive_over(Security::Implicit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_relay_gets_nothing_and_nothing_goes_in_clear() {
    let ca = TestCa::new();
    let sink = Sink::tls(Security::StartTls, &ca).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("smtp://localhost:{}?tls=required", sink.addr.port());
    let d = daemon::start(dir.path(), &toml(&url, None, daemon::refused_port())).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = d.get("/metrics").await;
    d.stop().await;
    assert!(sink.mails().is_empty(), "{:#?}", sink.mails());
    assert!(sink.connections() > 0, "it tried");
    let failed = r
        .body
        .lines()
        .filter(|l| l.starts_with("watchpost_notifications_total{"))
        .filter(|l| l.contains(r#"destination="mail""#) && l.contains(r#"result="failed""#))
        .any(|l| !l.ends_with(" 0"));
    assert!(failed, "{}", r.body);
}
