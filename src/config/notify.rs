//! Operator alerts in the config: each `[[notify]]` destination, `[smtp]` and the shared timing of
//! `[notifications]`, validated into [`Notify`] with every default filled in.
//!
//! Owns the list of destination types and the keys each may set. It never quotes a value that came
//! from `${ENV}` or a secret key in a message, and never opens a connection: URLs are checked for
//! shape only.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde_spanned::Spanned;
use url::Url;

use super::CheckId;
use super::diag::{Problems, Required, key_span};
use super::env::{Env, expand};
use super::fields::http_url;
use super::raw;
use crate::model::Impact;

/// Everything about operator alerts.
#[derive(Clone, Debug, Default)]
pub struct Notify {
    pub destinations: Vec<Destination>,
    pub smtp: Option<Smtp>,
    pub timing: Timing,
}

/// How deliveries are paced: grouping, retries and when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Rows that become due within this of the first are sent as one message (0: no grouping).
    pub group_window: Duration,
    /// The wait after the first failed attempt; it doubles after each failure.
    pub retry_first: Duration,
    /// The longest wait between two attempts.
    pub retry_max: Duration,
    /// A notification still undelivered this long after it was written is dead-lettered.
    pub give_up_after: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            group_window: Duration::from_secs(10),
            retry_first: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// One `[[notify]]`.
#[derive(Clone, Debug)]
pub struct Destination {
    /// Unique; names it in metrics, logs, idempotency keys and `watchpost notify test`.
    pub name: String,
    pub target: Target,
    /// Only incidents and windows touching these checks (with `groups`); empty: no check filter.
    pub checks: Vec<CheckId>,
    pub groups: Vec<String>,
    /// Incidents of a lower impact are not sent.
    pub min_severity: Impact,
    pub send_resolved: bool,
    /// Reminders while an incident stays open: after this, then twice as long each time.
    pub remind_every: Option<Duration>,
    pub group_window: Duration,
}

/// Where and how a destination is reached.
#[derive(Clone, Debug)]
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

/// A value that must not show in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// `[smtp]`: the mail server and the sender.
#[derive(Clone, Debug)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User and password from the URL, percent-decoded.
    pub credentials: Option<(String, Secret)>,
    pub from: lettre::message::Mailbox,
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Tls,
    /// `smtp://`: STARTTLS required (port 587 by default).
    StartTls,
    /// `smtp://` to a loopback address: a local relay, spoken to in plain text.
    Plain,
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

/// `[[notify]]`, `[smtp]` and `[notifications]`. The filters are checked against every
/// `[[check]]` written, valid or not, so a bad check is reported once, at the check.
pub(super) fn notify(raw: &raw::Config, env: Env<'_>, p: &mut Problems<'_>) -> Notify {
    let timing = timing(raw.notifications.as_ref(), p);
    let smtp = raw.smtp.as_ref().and_then(|s| smtp(s, env, p));
    let field = |f: fn(&raw::Check) -> &Option<Spanned<String>>| {
        raw.checks
            .iter()
            .filter_map(move |c| f(c.get_ref()).as_ref().map(|v| v.get_ref().as_str()))
    };
    let known = Known {
        checks: field(|c| &c.id).collect(),
        groups: field(|c| &c.group).filter(|g| !g.is_empty()).collect(),
        smtp: raw.smtp.is_some(),
        group_window: timing.group_window,
    };
    let mut names: HashMap<String, usize> = HashMap::new();
    let destinations = raw
        .notify
        .iter()
        .enumerate()
        .filter_map(|(i, d)| destination(i, d, &known, &mut names, env, p))
        .collect();
    Notify {
        destinations,
        smtp,
        timing,
    }
}

/// What a destination's keys are checked against.
struct Known<'a> {
    checks: HashSet<&'a str>,
    groups: HashSet<&'a str>,
    smtp: bool,
    group_window: Duration,
}

fn timing(raw: Option<&Spanned<raw::Notifications>>, p: &mut Problems<'_>) -> Timing {
    let mut t = Timing::default();
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return t;
    };
    const CTX: &str = "notifications: ";
    let keys = [
        (&raw.group_window, "group_window", &mut t.group_window, true),
        (&raw.retry_first, "retry_first", &mut t.retry_first, false),
        (&raw.retry_max, "retry_max", &mut t.retry_max, false),
        (
            &raw.give_up_after,
            "give_up_after",
            &mut t.give_up_after,
            false,
        ),
    ];
    for (v, key, slot, zero_ok) in keys {
        if let Some(d) = v
            .as_ref()
            .and_then(|v| span_duration(p, CTX, key, v, zero_ok))
        {
            *slot = d;
        }
    }
    if t.retry_max < t.retry_first
        && let Some(v) = raw.retry_max.as_ref().or(raw.retry_first.as_ref())
    {
        p.at(
            v.span(),
            format!("{CTX}retry_max must not be shorter than retry_first"),
        );
    }
    t
}

/// A humantime duration; zero only where `zero_ok`.
fn span_duration(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
    zero_ok: bool,
) -> Option<Duration> {
    match humantime::parse_duration(v.get_ref()) {
        Ok(d) if zero_ok || !d.is_zero() => Some(d),
        Ok(_) => {
            p.at(v.span(), format!("{ctx}{key} must be greater than 0"));
            None
        }
        Err(e) => {
            let msg = format!(
                "{ctx}invalid duration {:?} for {key}: {e}; write a number and a unit, like 30s, 5m or 1h",
                v.get_ref()
            );
            p.at(v.span(), msg);
            None
        }
    }
}

fn smtp(s: &Spanned<raw::Smtp>, env: Env<'_>, p: &mut Problems<'_>) -> Option<Smtp> {
    const CTX: &str = "smtp: ";
    let whole = s.span();
    let s = s.get_ref();
    let mut missing = |key: &str| p.at(whole.clone(), format!("{CTX}missing `{key}`"));
    if s.url.is_none() {
        missing("url");
    }
    if s.from.is_none() {
        missing("from");
    }
    let from = s.from.as_ref().and_then(|v| {
        let text = expand(p, CTX, "from", v, env)?;
        text.parse::<lettre::message::Mailbox>()
            .map_err(|_| {
                let msg = format!(
                    "{CTX}from: {:?} is not a mail address: write \"Name <status@example.org>\"",
                    v.get_ref()
                );
                p.at(v.span(), msg);
            })
            .ok()
    });
    let server = s.url.as_ref().and_then(|v| {
        let text = expand(p, CTX, "url", v, env)?;
        smtp_url(&text)
            .map_err(|e| {
                // Quote the text as written: the expanded one may hold the password.
                p.at(v.span(), format!("{CTX}url {:?}: {e}", v.get_ref()));
            })
            .ok()
    });
    let (host, port, security, credentials) = server?;
    Some(Smtp {
        host,
        port,
        security,
        credentials,
        from: from?,
    })
}

type SmtpServer = (String, u16, SmtpSecurity, Option<(String, Secret)>);

/// `smtp://[user:password@]host[:port]` or `smtps://…`.
fn smtp_url(text: &str) -> Result<SmtpServer, String> {
    let url = Url::parse(text).map_err(|e| format!("invalid URL: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("it has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let (security, port) = match url.scheme() {
        "smtps" => (SmtpSecurity::Tls, 465),
        "smtp" if loopback => (SmtpSecurity::Plain, 25),
        "smtp" => (SmtpSecurity::StartTls, 587),
        _ => return Err("the scheme must be smtp (STARTTLS) or smtps (TLS)".into()),
    };
    if url.path().len() > 1 || url.query().is_some() {
        return Err("write only smtp[s]://user:password@host:port".into());
    }
    let decode = |s: &str| {
        percent_decode(s).ok_or("the user or password is not valid percent-encoded UTF-8")
    };
    let credentials = match (url.username(), url.password()) {
        ("", None) => None,
        (user, password) => Some((decode(user)?, Secret(decode(password.unwrap_or_default())?))),
    };
    Ok((host, url.port().unwrap_or(port), security, credentials))
}

/// `%XX` escapes decoded, as URLs carry user names and passwords.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

fn destination(
    index: usize,
    d: &Spanned<raw::Notify>,
    known: &Known<'_>,
    names: &mut HashMap<String, usize>,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<Destination> {
    let whole = d.span();
    let d = d.get_ref();
    let ctx = match &d.name {
        Some(n) => format!("notify {:?}: ", n.get_ref()),
        None => format!("notify #{}: ", index + 1),
    };
    let name = name(d, &ctx, whole.clone(), names, p);
    let target = target(d, &ctx, whole, known, env, p);
    let checks = filter(&d.checks, &ctx, p, |id| {
        let found = CheckId::new(id)
            .ok()
            .filter(|c| known.checks.contains(c.as_str()));
        found.ok_or_else(|| format!("checks: there is no check with id {id:?}"))
    });
    let groups = filter(&d.groups, &ctx, p, |g| {
        if known.groups.contains(g) {
            Ok(g.to_string())
        } else {
            Err(format!("groups: no check is in group {g:?}"))
        }
    });
    let min_severity = match &d.min_severity {
        None => Some(Impact::Minor),
        Some(v) => match Impact::parse(v.get_ref()) {
            Some(i) if i >= Impact::Minor => Some(i),
            _ => {
                let msg = format!(
                    "{ctx}min_severity: unknown severity {:?}: use minor, major or critical",
                    v.get_ref()
                );
                p.at(v.span(), msg);
                None
            }
        },
    };
    let remind_every = match &d.remind_every {
        None => Some(None),
        Some(v) => span_duration(p, &ctx, "remind_every", v, false).map(Some),
    };
    let group_window = match &d.group_window {
        None => Some(known.group_window),
        Some(v) => span_duration(p, &ctx, "group_window", v, true),
    };
    Some(Destination {
        name: name?,
        target: target?,
        checks: checks?,
        groups: groups?,
        min_severity: min_severity?,
        send_resolved: d.send_resolved.as_ref().is_none_or(|v| *v.get_ref()),
        remind_every: remind_every?,
        group_window: group_window?,
    })
}

/// The destination's unique name: letters, digits, '.', '_' or '-'.
fn name(
    d: &raw::Notify,
    ctx: &str,
    whole: Range<usize>,
    names: &mut HashMap<String, usize>,
    p: &mut Problems<'_>,
) -> Option<String> {
    let Some(v) = &d.name else {
        p.at(whole, format!("{ctx}missing `name`"));
        return None;
    };
    let n = v.get_ref();
    let valid = !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        let msg = format!("{ctx}name: use 1 to 64 letters, digits, '.', '_' or '-'");
        p.at(v.span(), msg);
        return None;
    }
    let (line, _) = p.locate(v.span().start);
    if let Some(first) = names.get(n) {
        let msg = format!("duplicate notify name {n:?}, first defined on line {first}");
        p.at(v.span(), msg);
        return None;
    }
    names.insert(n.clone(), line);
    Some(n.clone())
}

/// A `checks` or `groups` list, each item checked by `item`.
fn filter<T>(
    list: &Option<Spanned<Vec<Spanned<String>>>>,
    ctx: &str,
    p: &mut Problems<'_>,
    item: impl Fn(&str) -> Result<T, String>,
) -> Option<Vec<T>> {
    let mut ok = true;
    let mut out = Vec::new();
    for v in list.iter().flat_map(|l| l.get_ref()) {
        match item(v.get_ref()) {
            Ok(t) => out.push(t),
            Err(e) => {
                p.at(v.span(), format!("{ctx}{e}"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

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

fn target(
    d: &raw::Notify,
    ctx: &str,
    whole: Range<usize>,
    known: &Known<'_>,
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
        Some(Secret(s))
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
            if !known.smtp {
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
            if list.len() != to.get_ref().len() || !known.smtp {
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
    if let Some(rest) = secret.0.strip_prefix("whsec_")
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

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
