//! Formats for people: Slack (attachments with a colour), Discord (embeds), Microsoft Teams (a
//! MessageCard), Telegram (`sendMessage`) and ntfy (Title, Priority and Tags headers). Untrusted
//! text (titles, names, updates) is escaped where the service would read markup or mentions.

use serde_json::{Value, json};
use url::Url;

use super::{
    Batch, Item, Request, color, cut, facts, headline, link, one_line, plain_text, summary,
};
use crate::model::{Impact, State};
use crate::notify::message::{Message, What};

const JSON: (&str, &str) = ("content-type", "application/json");

fn post(url: Url, body: &Value) -> Request {
    Request {
        url,
        headers: vec![(JSON.0, JSON.1.to_string())],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The first `max` items, and how many more there are.
fn shown(items: &[Item], max: usize) -> (&[Item], usize) {
    if items.len() <= max {
        (items, 0)
    } else {
        let keep = max.saturating_sub(1);
        (&items[..keep], items.len() - keep)
    }
}

/// Slack's mrkdwn reads `&`, `<` and `>`: escaped as its docs say.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An incoming-webhook message: a summary line and one coloured attachment per notification.
pub(super) fn slack(url: &Url, b: &Batch<'_>) -> Request {
    let (items, more) = shown(b.items, 20);
    let mut attachments: Vec<Value> = items
        .iter()
        .map(|i| {
            let m = &i.message;
            let fields: Vec<Value> = facts(m, b.now)
                .into_iter()
                .map(|(k, v)| json!({ "title": k, "value": slack_escape(&v), "short": k != "Evidence" }))
                .collect();
            json!({
                "fallback": slack_escape(&headline(m)),
                "color": format!("#{:06x}", color(m)),
                "title": slack_escape(&cut(&headline(m), 300)),
                "title_link": link(m, b.base),
                "text": slack_escape(&cut(m.body.trim(), 3000)),
                "fields": fields,
                "ts": m.at_ms.div_euclid(1000),
            })
        })
        .collect();
    if more > 0 {
        attachments.push(json!({ "text": format!("… and {more} more") }));
    }
    let body = json!({
        "text": slack_escape(&cut(&summary(b.items), 3000)),
        "attachments": attachments,
    });
    post(url.clone(), &body)
}

/// An execute-webhook message: a summary and one coloured embed per notification (ten at most),
/// with mentions disabled so no title can ping @everyone.
pub(super) fn discord(url: &Url, b: &Batch<'_>) -> Request {
    let (items, more) = shown(b.items, 10);
    let mut embeds: Vec<Value> = items
        .iter()
        .map(|i| {
            let m = &i.message;
            let fields: Vec<Value> = facts(m, b.now)
                .into_iter()
                .take(25)
                .map(|(k, v)| json!({ "name": k, "value": cut(&v, 1024), "inline": k != "Evidence" }))
                .collect();
            json!({
                "title": cut(&headline(m), 256),
                "url": link(m, b.base),
                "description": cut(m.body.trim(), 4096),
                "color": color(m),
                "fields": fields,
                "timestamp": m.at().rfc3339(),
            })
        })
        .collect();
    if more > 0 {
        embeds.push(json!({ "description": format!("… and {more} more") }));
    }
    let body = json!({
        "content": cut(&summary(b.items), 2000),
        "embeds": embeds,
        "allowed_mentions": { "parse": [] },
    });
    post(url.clone(), &body)
}

/// An Office 365 connector MessageCard: one section of facts per notification.
pub(super) fn teams(url: &Url, b: &Batch<'_>) -> Request {
    let (items, more) = shown(b.items, 10);
    let mut sections: Vec<Value> = items
        .iter()
        .map(|i| {
            let m = &i.message;
            let facts: Vec<Value> = facts(m, b.now)
                .into_iter()
                .map(|(k, v)| json!({ "name": k, "value": v }))
                .collect();
            json!({
                "activityTitle": headline(m),
                "facts": facts,
                "text": m.body.trim(),
                "markdown": false,
            })
        })
        .collect();
    if more > 0 {
        sections.push(json!({ "text": format!("… and {more} more"), "markdown": false }));
    }
    let first = b.items.first().map(|i| &i.message);
    let body = json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": cut(&summary(b.items), 200),
        "title": summary(b.items),
        "themeColor": format!("{:06x}", first.map_or(0x8a8a8a, color)),
        "sections": sections,
        "potentialAction": [{
            "@type": "OpenUri",
            "name": "Open",
            "targets": [{ "os": "default", "uri": first.map_or_else(|| b.base.to_string(), |m| link(m, b.base)) }],
        }],
    });
    post(url.clone(), &body)
}

/// The Bot API's `sendMessage` to `chat_id`, as plain text (no parse mode, nothing to escape).
pub(super) fn telegram(api: &Url, token: &str, chat_id: &str, b: &Batch<'_>) -> Request {
    let url = api
        .join(&format!("./bot{token}/sendMessage"))
        .unwrap_or_else(|_| api.clone());
    let body = json!({
        "chat_id": chat_id,
        "text": cut(&plain_text(b), 4096),
        "disable_web_page_preview": true,
    });
    post(url, &body)
}

/// A POST to `server/topic`: the text as the body, the summary as Title, a Priority by severity
/// (urgent for critical, high for major) and Tags ntfy shows as emoji.
pub(super) fn ntfy(server: &Url, topic: &str, token: Option<&str>, b: &Batch<'_>) -> Request {
    let mut url = server.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().push(topic);
    }
    let priority = b
        .items
        .iter()
        .map(|i| priority(&i.message))
        .max()
        .unwrap_or(3);
    let mut tags: Vec<&str> = b.items.iter().map(|i| tag(&i.message)).collect();
    tags.dedup();
    let first = b.items.first().map(|i| &i.message);
    let mut headers = vec![
        ("content-type", "text/plain; charset=utf-8".to_string()),
        ("title", header_text(&cut(&summary(b.items), 250))),
        ("priority", priority.to_string()),
        ("tags", tags.join(",")),
        (
            "click",
            first.map_or_else(|| b.base.to_string(), |m| link(m, b.base)),
        ),
    ];
    if let Some(token) = token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    Request {
        url,
        headers,
        body: cut(&plain_text(b), 4096).into_bytes(),
    }
}

/// ntfy's priorities: 5 urgent, 4 high, 3 default, 2 low.
fn priority(m: &Message) -> u8 {
    match (m.what, m.impact) {
        (What::Opened | What::Reminder | What::Updated, Some(Impact::Critical)) => 5,
        (What::Opened | What::Reminder | What::Updated, Some(Impact::Major)) => 4,
        (What::CertExpiring, Some(Impact::Major | Impact::Critical)) => 4,
        (
            What::MaintenancePlanned
            | What::MaintenanceCancelled
            | What::MaintenanceStarted
            | What::MaintenanceEnded,
            _,
        ) => 2,
        _ => 3,
    }
}

/// The emoji tag ntfy shows for `m`.
fn tag(m: &Message) -> &'static str {
    match (m.state, m.impact) {
        _ if m.what == What::CertExpiring => "lock",
        (Some(State::Up), _) => "white_check_mark",
        (Some(State::Maintenance), _) => "wrench",
        _ if !m.what.is_incident() => "information_source",
        (_, Some(Impact::Minor | Impact::None)) => "warning",
        _ => "rotating_light",
    }
}

/// A header value: printable ASCII only (others become `?`), on one line.
fn header_text(s: &str) -> String {
    one_line(s)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}
