use super::*;
use crate::i18n::{ENGLISH, Lang};

/// The one check of a config with `[[check]]` keys `keys`.
fn check(keys: &str) -> Check {
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"x.db\"\n[[check]]\nid = \"c\"\nname = \"C\"\n{keys}"
    );
    let config = crate::config::parse(std::path::Path::new("t.toml"), &toml)
        .unwrap_or_else(|e| panic!("{e}"));
    Check::clone(&config.checks[0])
}

#[test]
fn an_http_check_says_what_green_means_and_its_target_only_when_public() {
    let keys = r#"type = "http"
url = "https://ops:hunter22@status.example.com/health?token=abcdef"
expect_status = ["200-299"]
body_contains = "all good"
timeout = "5s"
interval = "30s"
"#;
    let redacted = describe(ENGLISH, &check(keys));
    assert_eq!(
        redacted,
        Described {
            expectation:
                "HTTPS answers 200–299 within 5 s (after redirects), body contains an expected text"
                    .into(),
            cadence: "every 30 s; down after 3 failures in a row".into(),
            target: None,
        }
    );
    let full = describe(
        ENGLISH,
        &check(&format!("{keys}public_details = \"full\"\n")),
    );
    assert_eq!(
        full.expectation,
        "HTTPS answers 200–299 within 5 s (after redirects), body contains “all good”"
    );
    assert_eq!(
        full.target.as_deref(),
        Some("https://status.example.com/health"),
        "no userinfo, no query"
    );
}

#[test]
fn a_secret_in_the_target_is_written_back_as_its_name() {
    let Ok(home) = std::env::var("HOME") else {
        return;
    };
    if home.chars().count() < 4 || !home.starts_with('/') {
        return;
    }
    let c = check(
        "type = \"http\"\nurl = \"https://example.com${HOME}/x\"\npublic_details = \"full\"\n",
    );
    let target = describe(ENGLISH, &c).target.unwrap();
    assert_eq!(target, "https://example.com${HOME}/x");
    assert!(!target.contains(&home));
}

#[test]
fn tcp_and_dns_checks_in_words() {
    let tcp = describe(
        ENGLISH,
        &check(
            "type = \"tcp\"\nhost = \"db.internal\"\nport = 5432\ninterval = \"1m\"\nfailure_threshold = 1\n",
        ),
    );
    assert_eq!(tcp.expectation, "TCP port accepts a connection");
    assert_eq!(tcp.cadence, "every 1 min; down at the first failure");
    assert_eq!(tcp.target, None);

    let keys = "type = \"dns\"\nquery = \"example.com\"\nrecord = \"A\"\nexpect_answers = [\"93.184.216.34\"]\n";
    let redacted = describe(ENGLISH, &check(keys));
    assert_eq!(
        redacted.expectation,
        "DNS A record resolves to the expected answers"
    );
    assert_eq!(redacted.target, None);
    let full = describe(
        ENGLISH,
        &check(&format!("{keys}public_details = \"full\"\n")),
    );
    assert_eq!(full.expectation, "DNS A record resolves to “93.184.216.34”");
    assert_eq!(full.target.as_deref(), Some("example.com"));
}

#[test]
fn a_check_is_described_in_the_page_s_language() {
    let keys = r#"type = "http"
url = "https://status.example.com/health"
body_contains = "all good"
expect_status = ["200-299", "404"]
timeout = "5s"
interval = "30s"
degraded_after = "800ms"
public_details = "full"
"#;
    let fr = describe(Lang::Fr.strings(), &check(keys));
    assert_eq!(
        fr.expectation,
        "HTTPS répond 200–299 ou 404 en moins de 5 s (après redirections), le corps contient «\u{a0}all good\u{a0}»\u{a0}; au-delà de 800 ms, dégradé"
    );
    assert_eq!(
        fr.cadence,
        "à intervalles de 30 s\u{a0}; en panne après 3 échecs consécutifs"
    );
    assert_eq!(
        fr.target.as_deref(),
        Some("https://status.example.com/health")
    );
    let tcp = describe(
        Lang::Fr.strings(),
        &check(
            "type = \"tcp\"\nhost = \"db.internal\"\nport = 5432\ntls = true\nfailure_threshold = 1\n",
        ),
    );
    assert_eq!(
        tcp.expectation,
        "Le port TCP accepte une connexion et une négociation TLS"
    );
    assert!(
        tcp.cadence.ends_with("en panne dès le premier échec"),
        "{}",
        tcp.cadence
    );
}
