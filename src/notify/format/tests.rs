use serde_json::Value;

use super::*;
use crate::config::Secret;
use crate::notify::message::CheckRef;

fn base() -> Url {
    Url::parse("https://status.example.org/").unwrap()
}

fn opened() -> Message {
    Message {
        what: What::Opened,
        incident: Some(12),
        window: None,
        title: "Web <b> is down".into(),
        impact: Some(Impact::Major),
        state: Some(State::Down),
        checks: vec![CheckRef {
            id: "web".into(),
            name: "Web".into(),
            group: "Core".into(),
        }],
        evidence: Some("status 503 (HTTP 503, after 12ms, at 2023-11-14T22:13:20Z)".into()),
        body: "watchpost detected 3 consecutive failed probes".into(),
        author: None,
        at_ms: 1_700_000_000_000,
        started_ms: Some(1_700_000_000_000),
        ends_ms: None,
        cert: None,
    }
}

fn resolved() -> Message {
    Message {
        what: What::Resolved,
        state: Some(State::Up),
        at_ms: 1_700_000_000_000 + 3_723_000,
        body: "Web recovered.".into(),
        ..opened()
    }
}

fn items(ms: &[Message]) -> Vec<Item> {
    ms.iter()
        .enumerate()
        .map(|(n, m)| Item {
            key: format!(
                "{}:{}:{}:ops",
                m.what.as_str(),
                m.incident.unwrap_or(0),
                n + 1
            ),
            message: m.clone(),
        })
        .collect()
}

fn one(target: &Target, ms: &[Message]) -> (Request, Value) {
    let items = items(ms);
    let base = base();
    let batch = Batch {
        id: &items[0].key,
        items: &items,
        now: Timestamp(1_700_000_100_000),
        base: &base,
    };
    match render(target, &batch) {
        Outbound::Http(mut requests) => {
            assert_eq!(requests.len(), 1, "{requests:?}");
            let r = requests.remove(0);
            let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r, json)
        }
        other => panic!("{other:?}"),
    }
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn signatures_follow_standard_webhooks() {
    // The example of the Standard Webhooks reference libraries.
    let sig = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265330",
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    // A secret without the prefix is the key's bytes.
    assert_ne!(
        sign("plain", "id", "1", b"x"),
        sign("other", "id", "1", b"x")
    );
}

#[test]
fn webhook_is_signed_json_with_every_notification() {
    let target = Target::Webhook {
        url: url("http://127.0.0.1:9/hook"),
        secret: Some(Secret::new("whsec_c2VjcmV0".into())),
    };
    let (r, v) = one(&target, &[opened(), resolved()]);
    assert_eq!(r.url.as_str(), "http://127.0.0.1:9/hook");
    let id = header(&r, "webhook-id").unwrap();
    assert_eq!(id, "incident.opened:12:1:ops");
    let ts = header(&r, "webhook-timestamp").unwrap();
    assert_eq!(ts, "1700000100");
    assert_eq!(
        header(&r, "webhook-signature").unwrap(),
        sign("whsec_c2VjcmV0", id, ts, &r.body)
    );
    assert_eq!(v["type"], "batch");
    let n = &v["data"]["notifications"];
    assert_eq!(n[0]["event"], "incident.opened");
    assert_eq!(n[0]["key"], "incident.opened:12:1:ops");
    assert_eq!(n[0]["url"], "https://status.example.org/incidents/12");
    assert_eq!(n[0]["checks"][0]["name"], "Web");
    assert_eq!(n[0]["state"], "down");
    assert_eq!(n[0]["impact"], "major");
    assert!(n[0]["evidence"].as_str().unwrap().contains("HTTP 503"));
    assert_eq!(n[1]["event"], "incident.resolved");
    assert_eq!(n[1]["duration_seconds"], 3723);

    let unsigned = Target::Webhook {
        url: url("http://127.0.0.1:9/hook"),
        secret: None,
    };
    let (r, v) = one(&unsigned, &[opened()]);
    assert_eq!(header(&r, "webhook-signature"), None);
    assert_eq!(v["type"], "incident.opened");
}

#[test]
fn slack_has_a_coloured_attachment_per_notification_with_markup_escaped() {
    let (_, v) = one(
        &Target::Slack {
            url: url("http://127.0.0.1:9/s"),
        },
        &[opened(), resolved()],
    );
    let a = v["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["color"], "#d0342c");
    assert_eq!(a[1]["color"], "#2e9e44");
    assert_eq!(a[0]["title"], "Incident opened: Web &lt;b&gt; is down");
    assert_eq!(
        a[0]["title_link"],
        "https://status.example.org/incidents/12"
    );
    let fields: Vec<&str> = a[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["Checks", "State", "Impact", "Evidence", "Lasted"]);
    assert_eq!(a[1]["fields"][4]["value"], "1h 2m 3s");
    assert!(v["text"].as_str().unwrap().starts_with("2 notifications"));
}

#[test]
fn discord_has_embeds_at_most_ten_and_no_mentions() {
    let many: Vec<Message> = (0..20).map(|_| opened()).collect();
    let (_, v) = one(
        &Target::Discord {
            url: url("http://127.0.0.1:9/d"),
        },
        &many,
    );
    let embeds = v["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 10);
    assert_eq!(embeds[0]["color"], 0xd0342c);
    assert_eq!(embeds[0]["title"], "Incident opened: Web <b> is down");
    assert_eq!(embeds[9]["description"], "… and 11 more");
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[test]
fn teams_telegram_and_ntfy() {
    let (_, v) = one(
        &Target::Teams {
            url: url("http://127.0.0.1:9/t"),
        },
        &[opened()],
    );
    assert_eq!(v["@type"], "MessageCard");
    assert_eq!(v["themeColor"], "d0342c");
    assert_eq!(v["sections"][0]["facts"][0]["name"], "Checks");

    let telegram = Target::Telegram {
        api: url("http://127.0.0.1:9/"),
        token: Secret::new("123:abc".into()),
        chat_id: "-1001".into(),
    };
    let (r, v) = one(&telegram, &[opened()]);
    assert_eq!(r.url.as_str(), "http://127.0.0.1:9/bot123:abc/sendMessage");
    assert_eq!(v["chat_id"], "-1001");
    let text = v["text"].as_str().unwrap();
    assert!(
        text.starts_with("Incident opened: Web <b> is down\nChecks: Web (Core)\n"),
        "{text}"
    );
    assert!(
        text.ends_with("https://status.example.org/incidents/12\n"),
        "{text}"
    );

    let ntfy = Target::Ntfy {
        server: url("http://127.0.0.1:9"),
        topic: "ops".into(),
        token: Some(Secret::new("tk".into())),
    };
    let mut critical = opened();
    critical.impact = Some(Impact::Critical);
    critical.title = "Web\r\nInjected: yes é".into();
    let (r, _) = one(&ntfy, &[critical]);
    assert_eq!(r.url.as_str(), "http://127.0.0.1:9/ops");
    assert_eq!(
        header(&r, "title"),
        Some("Incident opened: Web  Injected: yes ?")
    );
    assert_eq!(header(&r, "priority"), Some("5"));
    assert_eq!(header(&r, "tags"), Some("rotating_light"));
    assert_eq!(header(&r, "authorization"), Some("Bearer tk"));
    let (r, _) = one(&ntfy, &[resolved()]);
    assert_eq!(
        (header(&r, "priority"), header(&r, "tags")),
        (Some("3"), Some("white_check_mark"))
    );
}

#[test]
fn pagerduty_triggers_and_resolves_by_incident() {
    let target = Target::PagerDuty {
        url: url("http://127.0.0.1:9/v2/enqueue"),
        routing_key: Secret::new("R0UT1NG".into()),
    };
    let (_, v) = one(&target, &[opened()]);
    assert_eq!(v["event_action"], "trigger");
    assert_eq!(v["routing_key"], "R0UT1NG");
    assert_eq!(v["dedup_key"], "watchpost-incident-12");
    assert_eq!(v["payload"]["severity"], "error");
    assert_eq!(v["payload"]["source"], "web");
    assert_eq!(v["payload"]["summary"], "Incident opened: Web <b> is down");
    let (_, v) = one(&target, &[resolved()]);
    assert_eq!(v["event_action"], "resolve");
    assert_eq!(v["dedup_key"], "watchpost-incident-12");
    assert!(v.get("payload").is_none());
}

#[test]
fn email_is_plain_text_with_a_summary_subject() {
    let items = items(&[opened(), resolved()]);
    let base = base();
    let batch = Batch {
        id: "k",
        items: &items,
        now: Timestamp(1_700_000_100_000),
        base: &base,
    };
    let Outbound::Email(mail) = render(&Target::Email { to: Vec::new() }, &batch) else {
        panic!()
    };
    assert_eq!(
        mail.subject,
        "2 notifications: Incident opened: Web <b> is down and 1 more"
    );
    assert!(
        mail.text.contains("Evidence: status 503 (HTTP 503"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("\nResolved: Web <b> is down\n"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Lasted: 1h 2m 3s"), "{}", mail.text);
}

#[test]
fn maintenance_and_reminders_say_when() {
    let reminder = Message {
        what: What::Reminder,
        ..opened()
    };
    let f = facts(&reminder, Timestamp(1_700_000_000_000 + 7_200_000));
    assert!(f.contains(&("Open for", "2h".to_string())), "{f:?}");
    let window = Message {
        what: What::MaintenanceStarted,
        incident: None,
        window: Some(3),
        impact: None,
        state: Some(State::Maintenance),
        evidence: None,
        ends_ms: Some(1_700_000_000_000 + 1_800_000),
        ..opened()
    };
    let f = facts(&window, Timestamp(0));
    assert!(
        f.contains(&(
            "Window",
            "2023-11-14T22:13:20Z → 2023-11-14T22:43:20Z".to_string()
        )),
        "{f:?}"
    );
    assert_eq!(color(&window), 0x3b7dd8);
    assert_eq!(link(&window, &base()), "https://status.example.org/");
}
