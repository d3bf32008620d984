use std::time::Duration;

use base64::Engine;

use super::*;
use crate::config::smtp::smtp_url;
use crate::config::test_support::{check, valid};
use crate::config::{SmtpSecurity, Target};

const CHECKS: &str = r#"
[[check]]
id = "web"
group = "Core"
type = "tcp"
host = "h"
port = 1

[[check]]
id = "db"
type = "tcp"
host = "h"
port = 2
"#;

#[test]
fn every_destination_type_with_its_defaults() {
    let c = valid(&format!(
        r#"{CHECKS}
[notifications]
group_window = "0s"
retry_first = "100ms"
retry_max = "1s"
give_up_after = "1h"

[smtp]
url = "smtp://ops%40example.org:${{TOKEN}}@mail.example.org"
from = "Status <status@example.org>"

[[notify]]
name = "hook"
type = "webhook"
url = "https://example.org/hook?key=${{TOKEN}}"
secret = "whsec_c2VjcmV0"
checks = ["web"]
groups = ["Core"]
min_severity = "major"
send_resolved = false
remind_every = "1h"
group_window = "5s"

[[notify]]
name = "chat"
type = "telegram"
token = "${{TOKEN}}"
chat_id = -1001234

[[notify]]
name = "phone"
type = "ntfy"
url = "https://ntfy.sh"
topic = "ops-alerts"

[[notify]]
name = "pager"
type = "pagerduty"
routing_key = "R0UT1NG"

[[notify]]
name = "mail"
type = "email"
to = ["ops@example.org", "Night Shift <night@example.org>"]
"#
    ));
    let n = &c.notify;
    assert_eq!(
        n.timing,
        Timing {
            group_window: Duration::ZERO,
            retry_first: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            give_up_after: Duration::from_secs(3600),
        }
    );
    let smtp = n.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.security),
        ("mail.example.org", 587, SmtpSecurity::StartTls)
    );
    let (user, password) = smtp.credentials.as_ref().unwrap();
    assert_eq!(
        (user.as_str(), password.expose()),
        ("ops@example.org", "s3cret")
    );
    assert_eq!(smtp.from.email.to_string(), "status@example.org");

    let [hook, chat, phone, pager, mail] = &n.destinations[..] else {
        panic!("{:#?}", n.destinations);
    };
    assert!(
        matches!(&hook.target, Target::Webhook { url, secret: Some(s) }
            if url.as_str() == "https://example.org/hook?key=s3cret" && s.expose() == "whsec_c2VjcmV0")
    );
    assert_eq!(hook.checks[0].as_str(), "web");
    assert_eq!(hook.groups, ["Core"]);
    assert_eq!(hook.min_severity, Impact::Major);
    assert!(!hook.send_resolved);
    assert_eq!(hook.remind_every, Some(Duration::from_secs(3600)));
    assert_eq!(hook.group_window, Duration::from_secs(5));

    assert!(
        matches!(&chat.target, Target::Telegram { api, token, chat_id }
            if api.as_str() == "https://api.telegram.org/" && token.expose() == "s3cret" && chat_id == "-1001234")
    );
    assert_eq!(chat.min_severity, Impact::Minor);
    assert!(chat.send_resolved);
    assert_eq!(chat.remind_every, None);
    assert_eq!(
        chat.group_window,
        Duration::ZERO,
        "[notifications] is the default"
    );
    assert!(
        matches!(&phone.target, Target::Ntfy { server, topic, token: None }
            if server.as_str() == "https://ntfy.sh/" && topic == "ops-alerts")
    );
    assert!(
        matches!(&pager.target, Target::PagerDuty { url, routing_key }
            if url.as_str() == "https://events.pagerduty.com/v2/enqueue" && routing_key.expose() == "R0UT1NG")
    );
    assert!(matches!(&mail.target, Target::Email { to } if to.len() == 2));
    assert!(
        !format!("{smtp:?} {chat:?}").contains("s3cret"),
        "secrets stay out of Debug"
    );
}

#[test]
fn no_notify_section_means_no_destination_and_default_timing() {
    let c = valid(CHECKS);
    assert!(c.notify.destinations.is_empty());
    assert!(c.notify.smtp.is_none());
    assert_eq!(c.notify.timing, Timing::default());
    assert_eq!(c.notify.timing.group_window, Duration::from_secs(10));
}

#[test]
fn smtp_schemes_and_loopback() {
    for (url, want) in [
        (
            "smtps://mail.example.org",
            ("mail.example.org", 465, SmtpSecurity::Tls),
        ),
        (
            "smtp://127.0.0.1:2525",
            ("127.0.0.1", 2525, SmtpSecurity::Plain),
        ),
        ("smtp://localhost", ("localhost", 25, SmtpSecurity::Plain)),
        ("smtp://[::1]:26", ("::1", 26, SmtpSecurity::Plain)),
    ] {
        let (host, port, security, credentials) = smtp_url(url).unwrap();
        assert_eq!((host.as_str(), port, security), want, "{url}");
        assert!(credentials.is_none());
    }
}

#[test]
fn bad_destinations_are_located() {
    check(
        &format!(
            r#"{CHECKS}
[[notify]]
name = "a"
type = "sms"

[[notify]]
type = "slack"
topic = "x"

[[notify]]
name = "a"
type = "webhook"
url = "ftp://example.org"
secret = "whsec_!!"

[[notify]]
name = "mail"
type = "email"
to = ["nobody"]

[[notify]]
name = "f"
type = "discord"
url = "https://discord.example/x"
checks = ["web", "nope"]
groups = ["Edge"]
min_severity = "none"
remind_every = "0s"

[[notify]]
name = "bad name"
type = "telegram"
chat_id = 1.5
"#
        ),
        &[
            "etc/watchpost.toml:17:8: notify \"a\": unknown type \"sms\": use webhook, slack, discord, teams, telegram, ntfy, pagerduty, email",
            "etc/watchpost.toml:19:1: notify #2: missing `name`",
            "etc/watchpost.toml:20:1: notify #2: missing `url`, required for a slack destination",
            "etc/watchpost.toml:21:1: notify #2: `topic` is not a key of a slack destination",
            "etc/watchpost.toml:24:8: duplicate notify name \"a\", first defined on line 16",
            "etc/watchpost.toml:26:7: notify \"a\": url: invalid URL \"ftp://example.org\": the scheme must be http or https",
            "etc/watchpost.toml:27:10: notify \"a\": secret: after `whsec_` the secret must be base64",
            "etc/watchpost.toml:31:1: notify \"mail\": an email destination needs an [smtp] section",
            "etc/watchpost.toml:32:7: notify \"mail\": to: \"nobody\" is not a mail address: write ops@example.org or \"Name <ops@example.org>\"",
            "etc/watchpost.toml:38:18: notify \"f\": checks: there is no check with id \"nope\"",
            "etc/watchpost.toml:39:11: notify \"f\": groups: no check is in group \"Edge\"",
            "etc/watchpost.toml:40:16: notify \"f\": min_severity: unknown severity \"none\": use minor, major or critical",
            "etc/watchpost.toml:41:16: notify \"f\": remind_every must be greater than 0",
            "etc/watchpost.toml:44:8: notify \"bad name\": name: use 1 to 64 letters, digits, '.', '_' or '-'",
            "etc/watchpost.toml:45:1: notify \"bad name\": missing `token`, required for a telegram destination",
            "etc/watchpost.toml:46:11: notify \"bad name\": chat_id must be a number or a @channel name",
        ],
    );
}

#[test]
fn bad_smtp_and_timing() {
    check(
        r#"
[smtp]
url = "http://mail.example.org"

[notifications]
retry_first = "10m"
retry_max = "1m"
give_up_after = "soon"
"#,
        &[
            "etc/watchpost.toml:2:1: smtp: missing `from`",
            "etc/watchpost.toml:3:7: smtp: url \"http://mail.example.org\": the scheme must be smtp (STARTTLS) or smtps (TLS)",
            "etc/watchpost.toml:7:13: notifications: retry_max must not be shorter than retry_first",
            "etc/watchpost.toml:8:17: notifications: invalid duration \"soon\" for give_up_after: expected number at 0; write a number and a unit, like 30s, 5m or 1h",
        ],
    );
    // The password never shows: the URL is quoted as written, before ${…} is expanded.
    check(
        "[smtp]\nurl = \"smtp://u:${TOKEN}@mail.example.org/x\"\nfrom = \"a@example.org\"\n",
        &[
            "etc/watchpost.toml:2:7: smtp: url \"smtp://u:${TOKEN}@mail.example.org/x\": write only smtp[s]://user:password@host:port",
        ],
    );
}

#[test]
fn certificate_thresholds_and_the_relay_authority() {
    let c = valid("[notifications]\ncert_expiry_days = [7, 30, 7, 1]\n");
    assert_eq!(c.notify.cert_days, CertDays(vec![30, 7, 1]));
    assert_eq!(valid("").notify.cert_days, CertDays(vec![30, 14, 7, 1]));
    assert!(
        valid("[notifications]\ncert_expiry_days = []\n")
            .notify
            .cert_days
            .0
            .is_empty()
    );
    check(
        "[notifications]\ncert_expiry_days = [14, 0, 400]\n",
        &[
            "etc/watchpost.toml:2:25: notifications: cert_expiry_days: 0 is not a number of days from 1 to 366",
            "etc/watchpost.toml:2:28: notifications: cert_expiry_days: 400 is not a number of days from 1 to 366",
        ],
    );

    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertificateParams::new(vec!["relay.example.org".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca.der());
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    let good = dir.path().join("ca.pem");
    std::fs::write(&good, pem).unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let smtp = |url: &str, ca: &std::path::Path| {
        format!(
            "[smtp]\nurl = \"{url}\"\nfrom = \"a@example.org\"\nca_file = \"{}\"\n",
            ca.display()
        )
    };
    let c = valid(&smtp("smtp://localhost:2525?tls=required", &good));
    let s = c.notify.smtp.unwrap();
    assert_eq!(s.security, SmtpSecurity::StartTls);
    assert_eq!(s.extra_roots, [ca.der().clone()]);
    check(
        &smtp("smtps://relay.example.org?tls=none", &empty),
        &[
            "etc/watchpost.toml:2:7: smtp: url \"smtps://relay.example.org?tls=none\": the only query is ?tls=required, for STARTTLS with a relay on loopback",
            &format!(
                "etc/watchpost.toml:4:11: smtp: ca_file {:?}: it holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                empty.display().to_string()
            ),
        ],
    );
    let missing = smtp("smtp://relay.example.org", std::path::Path::new("nope.pem"));
    let Err(crate::config::Error::Invalid(problems)) = crate::config::test_support::parse(&missing)
    else {
        panic!("a missing ca_file must be refused");
    };
    let text = problems[0].to_string();
    assert!(
        text.starts_with("etc/watchpost.toml:4:11: smtp: ca_file \"nope.pem\": cannot read it: "),
        "{text}"
    );
}
