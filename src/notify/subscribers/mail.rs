//! Subscriber mail as people read it: a plain-text part and an HTML part (multipart/alternative,
//! every text escaped by maud, no remote image, nothing to load), with `List-Unsubscribe` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) on every mail to a subscriber;
//! and the mails of subscribing itself: the confirmation link, and how to manage a subscription.
//!
//! Pure: the same input gives the same mail. It never sends, never reads the clock and never
//! decides who gets what.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use url::Url;

use crate::clock::Timestamp;
use crate::notify::format::{self, Batch, Item};
use crate::notify::message::Message;
use crate::notify::send::message_id;

/// The status page mails speak for.
#[derive(Clone, Debug)]
pub struct Site {
    pub title: String,
    /// `[server] public_url`.
    pub base: Url,
}

impl Site {
    /// An absolute link to `path` (with its query) on the status page.
    pub fn link(&self, path: &str) -> String {
        self.base
            .join(path)
            .map_or_else(|_| self.base.to_string(), String::from)
    }

    pub fn unsubscribe(&self, token: &str) -> String {
        self.link(&format!("unsubscribe?token={token}"))
    }

    pub fn confirm(&self, token: &str) -> String {
        self.link(&format!("subscribe/confirm?token={token}"))
    }
}

/// One mail's content.
#[derive(Clone, Debug, PartialEq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link, for the `List-Unsubscribe` header.
    pub unsubscribe: Option<String>,
}

/// What every subscriber who hears of the same events reads, before their own footer.
#[derive(Clone, Debug)]
pub struct Story {
    subject: String,
    text: String,
    html: String,
}

/// The story of `items`, as of `now`.
pub fn story(site: &Site, items: &[Item], now: Timestamp) -> Story {
    let batch = Batch {
        id: "",
        items,
        now,
        base: &site.base,
    };
    let html = html! { @for item in items { (section(&item.message, now, &site.base)) } };
    Story {
        subject: format!(
            "{}: {}",
            format::one_line(&site.title),
            format::summary(items)
        ),
        text: format::plain_text(&batch),
        html: html.into_string(),
    }
}

fn section(m: &Message, now: Timestamp, base: &Url) -> Markup {
    html! {
        h2 style="font-size:1.15em;margin:1.2em 0 .4em" { (format::headline(m)) }
        table style="border-collapse:collapse" {
            @for (label, value) in format::facts(m, now) {
                tr {
                    th align="left" style="padding:.1em 1em .1em 0;vertical-align:top" { (label) }
                    td { (value) }
                }
            }
        }
        @if !m.body.trim().is_empty() { p style="white-space:pre-wrap" { (m.body.trim()) } }
        p { a href=(format::link(m, base)) { "See it on the status page" } }
    }
}

/// `story` for one subscriber of `scope` (in words), with their one-click unsubscribe link.
pub fn letter(site: &Site, story: &Story, scope: &str, unsubscribe: &str) -> Letter {
    let why = format!(
        "You get this mail because you subscribed to {scope} on {}.",
        format::one_line(&site.title)
    );
    Letter {
        subject: story.subject.clone(),
        text: format!(
            "{}\n-- \n{why}\nUnsubscribe with one click: {unsubscribe}\n",
            story.text
        ),
        html: page(
            &story.subject,
            PreEscaped(story.html.clone()),
            html! { (why) " " a href=(unsubscribe) { "Unsubscribe" } " with one click." },
        ),
        unsubscribe: Some(unsubscribe.to_string()),
    }
}

/// The confirmation mail of a new subscription to `scope`, or of a change from `current`.
pub fn confirm(site: &Site, link: &str, scope: &str, current: Option<(&str, &str)>) -> Letter {
    let title = format::one_line(&site.title);
    let ask = match current {
        None => format!("Someone, probably you, asked to get email from {title} about {scope}."),
        Some((current, _)) => format!(
            "You get email from {title} about {current}. Someone, probably you, asked to get it about {scope} instead."
        ),
    };
    let act = match current {
        None => "To confirm, open this link within 48 hours:",
        Some(_) => "To confirm the change, open this link within 48 hours:",
    };
    let ignore = match current {
        None => "If it was not you, ignore this mail: nothing more will be sent to you.",
        Some(_) => "If it was not you, ignore this mail: nothing changes.",
    };
    let unsubscribe = current.map(|(_, link)| link);
    let mut text = format!("{ask}\n\n{act}\n{link}\n\n{ignore}\n");
    if let Some(u) = unsubscribe {
        text.push_str(&format!("\nTo get no more mail from {title}: {u}\n"));
    }
    Letter {
        subject: match current {
            None => format!("Confirm your subscription to {title}"),
            Some(_) => format!("Confirm the change to your subscription to {title}"),
        },
        text,
        html: page(
            &title,
            html! {
                p { (ask) }
                p { (act) br; a href=(link) { (link) } }
                p { (ignore) }
            },
            html! { @if let Some(u) = unsubscribe { a href=(u) { "Unsubscribe" } " with one click." } },
        ),
        unsubscribe: unsubscribe.map(String::from),
    }
}

/// The mail to an address that asked again for what it already gets.
pub fn already(site: &Site, scope: &str, unsubscribe: &str) -> Letter {
    let title = format::one_line(&site.title);
    let subscribe = site.link("subscribe");
    let told = format!(
        "Someone, probably you, asked to subscribe this address to {title}. It already gets email about {scope}."
    );
    let change = "To change what you get, subscribe again with other choices and confirm:";
    let ignore = "If it was not you, ignore this mail: nothing changes.";
    Letter {
        subject: format!("You are already subscribed to {title}"),
        text: format!(
            "{told}\n\n{change}\n{subscribe}\n\nTo get no more mail: {unsubscribe}\n\n{ignore}\n"
        ),
        html: page(
            &title,
            html! {
                p { (told) }
                p { (change) br; a href=(subscribe) { (subscribe) } }
                p { (ignore) }
            },
            html! { a href=(unsubscribe) { "Unsubscribe" } " with one click." },
        ),
        unsubscribe: Some(unsubscribe.to_string()),
    }
}

/// A whole HTML document: `body`, then `footer` in small print.
fn page(title: &str, body: Markup, footer: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) } }
            body style="font-family:sans-serif;line-height:1.45;max-width:40em;color:#1f2328" {
                (body)
                hr style="border:0;border-top:1px solid #d0d7de;margin-top:2em";
                p style="color:#59636e;font-size:.85em" { (footer) }
            }
        }
    }
    .into_string()
}

/// `letter` as a mail from `from` to `to`, its Message-ID made from `key` (the same on every
/// retry, so a duplicate can be folded).
pub fn message(
    letter: &Letter,
    from: &Mailbox,
    to: lettre::Address,
    key: &str,
) -> Result<lettre::Message, lettre::error::Error> {
    let header = |name: &'static str, value: String| {
        HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
    };
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(letter.subject.clone())
        .message_id(Some(message_id(key, from)))
        .raw_header(header("Auto-Submitted", "auto-generated".into()));
    if let Some(u) = &letter.unsubscribe {
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{u}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    builder.multipart(MultiPart::alternative_plain_html(
        letter.text.clone(),
        letter.html.clone(),
    ))
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
