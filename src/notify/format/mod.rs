//! Formats: what a batch of notifications looks like on the wire for each destination type.
//! Pure: the same batch, destination and instant give the same bytes, so every format is
//! unit-tested without a network.
//!
//! This file owns the shared wording (headline, facts, link, colour, plain text) and the choice
//! of format; `webhook` has the signed JSON and PagerDuty's events, `chat` the chat services and
//! ntfy. Nothing here sends, retries or reads the clock.

mod chat;
mod webhook;

use std::time::Duration;

use url::Url;

use super::message::{Message, What};
use crate::clock::Timestamp;
use crate::config::Target;
use crate::model::{Impact, State};

pub use webhook::sign;

/// One notification of a batch, with its idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub key: String,
    pub message: Message,
}

/// Notifications that go out as one message.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// The message's idempotency key (its first row's): the same on every retry.
    pub id: &'a str,
    pub items: &'a [Item],
    /// When it is sent: the signature's timestamp, "open for" durations.
    pub now: Timestamp,
    /// The status page, for links.
    pub base: &'a Url,
}

/// What to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Outbound {
    /// Requests to make in order; all must succeed.
    Http(Vec<Request>),
    Email(Mail),
}

/// One HTTP POST.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// A plain-text mail to the destination's list.
#[derive(Clone, Debug, PartialEq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
}

/// The batch as `target` wants it.
pub fn render(target: &Target, batch: &Batch<'_>) -> Outbound {
    match target {
        Target::Webhook { url, secret } => Outbound::Http(vec![webhook::webhook(
            url,
            secret.as_ref().map(|s| s.expose()),
            batch,
        )]),
        Target::PagerDuty { url, routing_key } => {
            Outbound::Http(webhook::pagerduty(url, routing_key.expose(), batch))
        }
        Target::Slack { url } => Outbound::Http(vec![chat::slack(url, batch)]),
        Target::Discord { url } => Outbound::Http(vec![chat::discord(url, batch)]),
        Target::Teams { url } => Outbound::Http(vec![chat::teams(url, batch)]),
        Target::Telegram {
            api,
            token,
            chat_id,
        } => Outbound::Http(vec![chat::telegram(api, token.expose(), chat_id, batch)]),
        Target::Ntfy {
            server,
            topic,
            token,
        } => Outbound::Http(vec![chat::ntfy(
            server,
            topic,
            token.as_ref().map(|t| t.expose()),
            batch,
        )]),
        Target::Email { .. } => Outbound::Email(Mail {
            subject: summary(batch.items),
            text: plain_text(batch),
        }),
    }
}

/// What happened, in a line: "Incident opened: Web is down".
pub(crate) fn headline(m: &Message) -> String {
    let what = match m.what {
        What::Opened => "Incident opened",
        What::Updated => "Incident update",
        What::Resolved => "Resolved",
        What::FalseAlarm => "False alarm",
        What::Reminder => "Still open",
        What::MaintenancePlanned => "Maintenance planned",
        What::MaintenanceCancelled => "Maintenance cancelled",
        What::MaintenanceStarted => "Maintenance started",
        What::MaintenanceEnded => "Maintenance ended",
        What::Test | What::CertExpiring => return one_line(&m.title),
    };
    format!("{what}: {}", one_line(&m.title))
}

/// The batch in a line: the headline of one, or how many and the first.
pub(crate) fn summary(items: &[Item]) -> String {
    match items {
        [] => "watchpost".into(),
        [one] => headline(&one.message),
        [first, rest @ ..] => format!(
            "{} notifications: {} and {} more",
            items.len(),
            headline(&first.message),
            rest.len()
        ),
    }
}

/// The page people open for `m`: its incident, the check a certificate notice is about, or the
/// status page.
pub(crate) fn link(m: &Message, base: &Url) -> String {
    let path = match (m.incident, &m.cert, m.checks.first()) {
        (Some(id), _, _) => format!("incidents/{id}"),
        (None, Some(_), Some(check)) => format!("checks/{}", check.id),
        _ => return base.to_string(),
    };
    base.join(&path)
        .map_or_else(|_| base.to_string(), String::from)
}

/// The facts shown under the headline, as (label, value).
pub(crate) fn facts(m: &Message, now: Timestamp) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !m.checks.is_empty() {
        let names: Vec<String> = m
            .checks
            .iter()
            .map(|c| match c.group.as_str() {
                "" => c.name.clone(),
                g => format!("{} ({g})", c.name),
            })
            .collect();
        out.push(("Checks", one_line(&names.join(", "))));
    }
    if let Some(state) = m.state {
        out.push(("State", state.as_str().to_string()));
    }
    if let Some(impact) = m.impact {
        out.push(("Impact", impact.as_str().to_string()));
    }
    if let Some(e) = &m.evidence {
        out.push(("Evidence", one_line(e)));
    }
    if let Some(c) = &m.cert {
        out.push(("Certificate", one_line(&c.subject)));
        out.push(("Issuer", one_line(&c.issuer)));
        out.push(("Expires", Timestamp(c.expires_ms).rfc3339()));
        out.push(("Time left", c.left(m.at())));
    }
    match (m.what, m.started(), m.ends()) {
        (What::Resolved, Some(start), _) => out.push(("Lasted", lasted(m.at().since(start)))),
        (What::Reminder, Some(start), _) => out.push(("Open for", lasted(now.since(start)))),
        (What::Opened, Some(start), _) => out.push(("Since", start.rfc3339())),
        (_, Some(start), Some(end)) => {
            out.push(("Window", format!("{} → {}", start.rfc3339(), end.rfc3339())))
        }
        _ => {}
    }
    if let Some(author) = &m.author {
        out.push(("By", one_line(author)));
    }
    out
}

/// A duration to the second, as people say it: `1h 2m 3s`.
pub(crate) fn lasted(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string()
}

/// The colour of `m` as `0xRRGGBB`: red down, orange degraded, green up, blue maintenance.
pub(crate) fn color(m: &Message) -> u32 {
    const RED: u32 = 0xd0342c;
    const ORANGE: u32 = 0xe8a317;
    const GREEN: u32 = 0x2e9e44;
    const BLUE: u32 = 0x3b7dd8;
    const GREY: u32 = 0x8a8a8a;
    match (m.what, m.state, m.impact) {
        (What::MaintenanceCancelled | What::Test, _, _) => GREY,
        (_, Some(State::Up), _) | (What::MaintenanceEnded, _, _) => GREEN,
        (_, Some(State::Maintenance), _) | (What::MaintenancePlanned, _, _) => BLUE,
        (_, _, Some(Impact::Minor | Impact::None)) => ORANGE,
        _ => RED,
    }
}

/// The batch as plain text: each notification's headline, facts, text and link.
pub(crate) fn plain_text(batch: &Batch<'_>) -> String {
    let mut out = String::new();
    for (i, item) in batch.items.iter().enumerate() {
        let m = &item.message;
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&headline(m));
        out.push('\n');
        for (label, value) in facts(m, batch.now) {
            out.push_str(&format!("{label}: {value}\n"));
        }
        if !m.body.is_empty() {
            out.push_str(m.body.trim());
            out.push('\n');
        }
        out.push_str(&link(m, batch.base));
        out.push('\n');
    }
    out
}

/// Text on one line, control characters (newlines included) replaced by spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests;
