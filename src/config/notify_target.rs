//! The `type` of a `[[notify]]` destination and the keys each type may set, validated into a
//! [`Target`].
//!
//! Owns the list of destination types. It never quotes a secret or a value that came from
//! `${ENV}` in a message, and never opens a connection: URLs are checked for shape only.

use std::ops::Range;

use serde_spanned::Spanned;
use url::Url;

use super::diag::{Problems, Required, key_span};
use super::env::Secret;
use super::env::{Env, expand};
use super::fields::http_url;
use super::raw;

/// Where and how a destination is reached.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A JSON POST, signed by the Standard Webhooks scheme when `secret` is set.
    Webhook {
        url: Url,
        secret: Option<Secret>,
    },
    Slack {
        url: Url,
    },
    Discord {
        url: Url,
    },
    Teams {
        url: Url,
    },
    /// `api` is the Bot API base (`https://api.telegram.org` unless `url` says otherwise).
    Telegram {
        api: Url,
        token: Secret,
        chat_id: String,
    },
    Ntfy {
        server: Url,
        topic: String,
        token: Option<Secret>,
    },
    /// The Events API v2 endpoint (`url`, the public one by default).
    PagerDuty {
        url: Url,
        routing_key: Secret,
    },
    Email {
        to: Vec<lettre::message::Mailbox>,
    },
}

impl Target {
    /// The `type` as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Webhook { .. } => "webhook",
            Target::Slack { .. } => "slack",
            Target::Discord { .. } => "discord",
            Target::Teams { .. } => "teams",
            Target::Telegram { .. } => "telegram",
            Target::Ntfy { .. } => "ntfy",
            Target::PagerDuty { .. } => "pagerduty",
            Target::Email { .. } => "email",
        }
    }
}

/// The destination types and the keys each may set besides the common ones.
/// How messages name a destination of each type, then its keys.
const TYPES: &[(&str, &str, &[&str])] = &[
    ("webhook", "a webhook destination", &["url", "secret"]),
    ("slack", "a slack destination", &["url"]),
    ("discord", "a discord destination", &["url"]),
    ("teams", "a teams destination", &["url"]),
    (
        "telegram",
        "a telegram destination",
        &["token", "chat_id", "url"],
    ),
    ("ntfy", "an ntfy destination", &["url", "topic", "token"]),
    (
        "pagerduty",
        "a pagerduty destination",
        &["routing_key", "url"],
    ),
    ("email", "an email destination", &["to"]),
];

const TELEGRAM_API: &str = "https://api.telegram.org";
const PAGERDUTY_EVENTS: &str = "https://events.pagerduty.com/v2/enqueue";

/// The type-specific keys present, with the span of each value.
fn typed_keys(d: &raw::Notify) -> Vec<(&'static str, Range<usize>)> {
    fn span<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
        v.as_ref().map(Spanned::span)
    }
    [
        ("url", span(&d.url)),
        ("secret", span(&d.secret)),
        ("token", span(&d.token)),
        ("chat_id", span(&d.chat_id)),
        ("topic", span(&d.topic)),
        ("routing_key", span(&d.routing_key)),
        ("to", span(&d.to)),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|s| (key, s)))
    .collect()
}

pub(super) fn target(
    d: &raw::Notify,
    ctx: &str,
    whole: Range<usize>,
    smtp: bool,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<Target> {
    let names: Vec<&str> = TYPES.iter().map(|(t, _, _)| *t).collect();
    let Some(v) = &d.kind else {
        let msg = format!("{ctx}missing `type` ({})", names.join(", "));
        p.at(whole, msg);
        return None;
    };
    let kind = v.get_ref().as_str();
    let Some((_, noun, keys)) = TYPES.iter().find(|(t, _, _)| *t == kind) else {
        let msg = format!("{ctx}unknown type {kind:?}: use {}", names.join(", "));
        p.at(v.span(), msg);
        return None;
    };
    let mut foreign = false;
    for (key, span) in typed_keys(d) {
        if !keys.contains(&key) {
            let span = key_span(p.src(), span, key);
            p.at(span, format!("{ctx}`{key}` is not a key of {noun}"));
            foreign = true;
        }
    }
    let at = key_span(p.src(), v.span(), "type");
    let required = Required {
        at: at.clone(),
        noun,
    };
    let url = |p: &mut Problems<'_>, key: &str, v: &Option<Spanned<String>>, default: &str| {
        let Some(v) = v else {
            return Url::parse(default).ok();
        };
        let text = expand(p, ctx, key, v, env)?;
        http_url(&text, v.get_ref())
            .map_err(|e| p.at(v.span(), format!("{ctx}{key}: {e}")))
            .ok()
    };
    let secret = |p: &mut Problems<'_>, key: &str, v: &Spanned<String>| {
        let s = expand(p, ctx, key, v, env)?;
        if s.trim().is_empty() {
            p.at(v.span(), format!("{ctx}{key} must not be empty"));
            return None;
        }
        Some(Secret::new(s))
    };
    let target = match kind {
        "webhook" | "slack" | "discord" | "teams" => {
            let u = required.get(p, ctx, "url", &d.url);
            let url = u.and_then(|u| url(p, "url", &Some(u.clone()), ""));
            let key = match &d.secret {
                None => Some(None),
                Some(v) => {
                    secret(p, "secret", v).and_then(|s| webhook_secret(p, ctx, s, v).map(Some))
                }
            };
            let url = url?;
            match kind {
                "webhook" => Target::Webhook { url, secret: key? },
                "slack" => Target::Slack { url },
                "discord" => Target::Discord { url },
                _ => Target::Teams { url },
            }
        }
        "telegram" => {
            let token = required.get(p, ctx, "token", &d.token);
            let chat = required.get(p, ctx, "chat_id", &d.chat_id);
            let api = url(p, "url", &d.url, TELEGRAM_API);
            let token = token.and_then(|t| secret(p, "token", t));
            let chat_id = chat.and_then(|c| match c.get_ref() {
                toml::Value::Integer(i) => Some(i.to_string()),
                toml::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                _ => {
                    let msg = format!("{ctx}chat_id must be a number or a @channel name");
                    p.at(c.span(), msg);
                    None
                }
            });
            Target::Telegram {
                api: api?,
                token: token?,
                chat_id: chat_id?,
            }
        }
        "ntfy" => {
            let server = required.get(p, ctx, "url", &d.url);
            let topic = required.get(p, ctx, "topic", &d.topic);
            let server = server.and_then(|s| url(p, "url", &Some(s.clone()), ""));
            let topic = topic.and_then(|t| {
                let valid = !t.get_ref().is_empty()
                    && t.get_ref().len() <= 64
                    && t.get_ref()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
                if !valid {
                    let msg = format!("{ctx}topic: use 1 to 64 letters, digits, '_' or '-'");
                    p.at(t.span(), msg);
                }
                valid.then(|| t.get_ref().clone())
            });
            let token = match &d.token {
                None => Some(None),
                Some(v) => secret(p, "token", v).map(Some),
            };
            Target::Ntfy {
                server: server?,
                topic: topic?,
                token: token?,
            }
        }
        "pagerduty" => {
            let key = required.get(p, ctx, "routing_key", &d.routing_key);
            let url = url(p, "url", &d.url, PAGERDUTY_EVENTS);
            let routing_key = key.and_then(|k| secret(p, "routing_key", k));
            Target::PagerDuty {
                url: url?,
                routing_key: routing_key?,
            }
        }
        _ => {
            if !smtp {
                let msg = format!("{ctx}an email destination needs an [smtp] section");
                p.at(at, msg);
            }
            let to = required.get(p, ctx, "to", &d.to)?;
            if to.get_ref().is_empty() {
                p.at(to.span(), format!("{ctx}to must name at least one address"));
                return None;
            }
            let mut list = Vec::new();
            for a in to.get_ref() {
                let text = expand(p, ctx, "to", a, env)?;
                match text.parse::<lettre::message::Mailbox>() {
                    Ok(m) => list.push(m),
                    Err(_) => {
                        let msg = format!(
                            "{ctx}to: {:?} is not a mail address: write ops@example.org or \"Name <ops@example.org>\"",
                            a.get_ref()
                        );
                        p.at(a.span(), msg);
                    }
                }
            }
            if list.len() != to.get_ref().len() || !smtp {
                return None;
            }
            Target::Email { to: list }
        }
    };
    (!foreign).then_some(target)
}

/// A `whsec_` secret must carry base64 after its prefix, as Standard Webhooks says.
fn webhook_secret(
    p: &mut Problems<'_>,
    ctx: &str,
    secret: Secret,
    v: &Spanned<String>,
) -> Option<Secret> {
    use base64::Engine;
    if let Some(rest) = secret.expose().strip_prefix("whsec_")
        && base64::engine::general_purpose::STANDARD
            .decode(rest)
            .is_err()
    {
        let msg = format!("{ctx}secret: after `whsec_` the secret must be base64");
        p.at(v.span(), msg);
        return None;
    }
    Some(secret)
}
