use super::*;
use crate::model::{Impact, State};
use crate::notify::message::{CheckRef, What};

const EVIL: &str = r#"<script>alert(1)</script> & "quoted""#;

fn site() -> Site {
    Site {
        title: format!("Status {EVIL}"),
        base: Url::parse("https://status.example.org/").unwrap(),
    }
}

fn item() -> Item {
    Item {
        key: "incident.opened:7:1:@subscribers".into(),
        message: Message {
            what: What::Opened,
            incident: Some(7),
            window: None,
            title: format!("Web {EVIL}"),
            impact: Some(Impact::Major),
            state: Some(State::Down),
            checks: vec![CheckRef {
                id: "web".into(),
                name: "Web".into(),
                group: "Core".into(),
            }],
            evidence: None,
            body: format!("We are on it. {EVIL}"),
            author: None,
            at_ms: 1_700_000_000_000,
            started_ms: Some(1_700_000_000_000),
            ends_ms: None,
            cert: None,
        },
    }
}

#[test]
fn an_event_mail_says_what_happened_why_it_came_and_how_to_stop_it() {
    let s = site();
    let story = story(&s, &[item()], Timestamp(1_700_000_060_000));
    let link = s.unsubscribe("abc");
    assert_eq!(link, "https://status.example.org/unsubscribe?token=abc");
    let l = letter(&s, &story, "the group Core", &link);
    assert_eq!(
        l.subject,
        format!("Status {EVIL}: Incident opened: Web {EVIL}")
    );
    for part in [
        "Incident opened: Web",
        "Checks: Web (Core)",
        "Since: 2023-11-14T22:13:20Z",
        "We are on it.",
        "https://status.example.org/incidents/7",
        "you subscribed to the group Core",
        "Unsubscribe with one click: https://status.example.org/unsubscribe?token=abc",
    ] {
        assert!(l.text.contains(part), "{part:?} not in:\n{}", l.text);
    }
    assert!(!l.html.contains("<script>"), "{}", l.html);
    assert!(l.html.contains("&lt;script&gt;"));
    assert!(
        l.html
            .contains(r#"href="https://status.example.org/unsubscribe?token=abc""#)
    );
    assert!(!l.html.contains("<img"), "nothing to load");
    assert_eq!(l.unsubscribe.as_deref(), Some(link.as_str()));
}

#[test]
fn the_mail_is_multipart_alternative_with_one_click_unsubscribe_headers() {
    let s = site();
    let l = letter(
        &s,
        &story(&s, &[item()], Timestamp(0)),
        "everything",
        &s.unsubscribe("abc"),
    );
    let from: Mailbox = "Status <status@example.org>".parse().unwrap();
    let to: lettre::Address = "ann@example.org".parse().unwrap();
    let m = message(&l, &from, to, "incident.opened:7:1:@subscribers.12").unwrap();
    let raw = String::from_utf8(m.formatted()).unwrap();
    let head = raw.split("\r\n\r\n").next().unwrap();
    for header in [
        "List-Unsubscribe: <https://status.example.org/unsubscribe?token=abc>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Auto-Submitted: auto-generated",
        "Message-ID: <incident.opened.7.1..subscribers.12@example.org>",
        "To: ann@example.org",
        "Content-Type: multipart/alternative",
    ] {
        assert!(head.contains(header), "{header:?} not in:\n{head}");
    }
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(raw.contains("Content-Type: text/html; charset=utf-8"));
}

#[test]
fn subscribing_mails_carry_the_link_and_nothing_to_unsubscribe_from_until_there_is() {
    let s = site();
    let link = s.confirm("tok");
    assert_eq!(
        link,
        "https://status.example.org/subscribe/confirm?token=tok"
    );
    let new = confirm(&s, &link, "everything", None);
    assert!(new.subject.starts_with("Confirm your subscription"));
    assert!(new.text.contains(&link));
    assert!(new.text.contains("within 48 hours"));
    assert_eq!(new.unsubscribe, None);
    let change = confirm(&s, &link, "Web", Some(("everything", "https://u/")));
    assert!(
        change.text.contains("You get email from"),
        "{}",
        change.text
    );
    assert!(change.text.contains("about Web instead"));
    assert_eq!(change.unsubscribe.as_deref(), Some("https://u/"));
    let again = already(&s, "Web", "https://u/");
    assert!(again.text.contains("It already gets email about Web."));
    assert!(again.text.contains("https://status.example.org/subscribe"));
    assert_eq!(again.unsubscribe.as_deref(), Some("https://u/"));
    assert!(!again.html.contains("<script>"));
}
