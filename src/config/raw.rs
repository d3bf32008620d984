//! The serde mirror of watchpost.toml: field for field, with spans, unknown keys refused.
//!
//! Every value a later check may complain about is kept as a `Spanned` so the message can point at
//! it. Nothing here interprets a value: durations, URLs and addresses stay strings, numbers stay
//! `i64`, and `validate` turns them into real types.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_spanned::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Config {
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub defaults: Defaults,
    /// `validate` takes `[[check]]` out of the document and reads each element on its own; this
    /// is left only a `check` that is not an array of tables, to refuse it.
    #[serde(default, rename = "check")]
    pub _checks: Vec<de::IgnoredAny>,
    #[serde(default)]
    pub maintenance: Vec<Spanned<Maintenance>>,
    pub admin: Option<Spanned<Admin>>,
    #[serde(default)]
    pub notify: Vec<Spanned<Notify>>,
    pub smtp: Option<Spanned<Smtp>>,
    pub notifications: Option<Spanned<Notifications>>,
    pub subscriptions: Option<Spanned<Subscriptions>>,
}

/// One `[[notify]]`: an operator alert destination, every key of every type in one flat struct
/// (like `[[check]]`); `notify.rs` refuses the keys that belong to another type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Notify {
    pub name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub secret: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
    /// A string or an integer: Telegram chat ids are numbers, channel ids start with `@`.
    pub chat_id: Option<Spanned<toml::Value>>,
    pub topic: Option<Spanned<String>>,
    pub routing_key: Option<Spanned<String>>,
    pub to: Option<Spanned<Vec<Spanned<String>>>>,
    pub checks: Option<Spanned<Vec<Spanned<String>>>>,
    pub groups: Option<Spanned<Vec<Spanned<String>>>>,
    pub min_severity: Option<Spanned<String>>,
    pub send_resolved: Option<Spanned<bool>>,
    pub remind_every: Option<Spanned<String>>,
    pub group_window: Option<Spanned<String>>,
}

/// `[smtp]`: the mail server for email destinations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Smtp {
    pub url: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
}

/// `[notifications]`: timing shared by every destination.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Notifications {
    pub group_window: Option<Spanned<String>>,
    pub retry_first: Option<Spanned<String>>,
    pub retry_max: Option<Spanned<String>>,
    pub give_up_after: Option<Spanned<String>>,
    pub cert_expiry_days: Option<Spanned<Vec<Spanned<i64>>>>,
}

/// `[subscriptions]`: public email subscriptions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Subscriptions {
    pub email: Option<Spanned<bool>>,
    pub group_window: Option<Spanned<String>>,
}

/// `[admin]`: who may sign in, and the tokens scripts use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Admin {
    #[serde(default)]
    pub users: Vec<Spanned<AdminUser>>,
    #[serde(default)]
    pub api_tokens: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdminUser {
    pub name: Spanned<String>,
    pub password_hash: Spanned<String>,
}

/// A recurring maintenance window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Maintenance {
    pub title: Option<Spanned<String>>,
    pub body: Option<Spanned<String>>,
    pub checks: Option<Spanned<Vec<Spanned<String>>>>,
    pub cron: Option<Spanned<String>>,
    pub duration: Option<Spanned<String>>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Server {
    pub listen: Option<Spanned<String>>,
    pub public_url: Option<Spanned<String>>,
    pub title: Option<Spanned<String>>,
}

/// `[storage]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Storage {
    pub path: Option<Spanned<String>>,
    pub keep_raw: Option<Spanned<String>>,
    pub keep_hourly: Option<Spanned<String>>,
}

/// `[defaults]`: what every check inherits unless it sets the key itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Defaults {
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub failure_threshold: Option<Spanned<i64>>,
    pub success_threshold: Option<Spanned<i64>>,
    pub degraded_after: Option<Spanned<String>>,
    pub public_details: Option<Spanned<String>>,
}

/// One `[[check]]`: every key of every probe type in one flat struct.
///
/// Not a serde-tagged enum on `type`: that buffers the table and loses the spans. `validate` reads
/// `kind` and refuses the keys that belong to another type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Check {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub failure_threshold: Option<Spanned<i64>>,
    pub success_threshold: Option<Spanned<i64>>,
    pub degraded_after: Option<Spanned<String>>,
    pub max_latency: Option<Spanned<String>>,
    pub public_details: Option<Spanned<String>>,

    // http
    pub url: Option<Spanned<String>>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<Headers>>,
    pub expect_status: Option<Spanned<Vec<Spanned<Status>>>>,
    pub body_contains: Option<Spanned<String>>,
    pub body_not_contains: Option<Spanned<String>>,
    pub body_regex: Option<Spanned<String>>,
    pub json_path: Option<Spanned<String>>,
    pub json_equals: Option<Spanned<toml::Value>>,
    pub body: Option<Spanned<String>>,
    pub basic_auth: Option<Spanned<BasicAuth>>,
    pub bearer_token: Option<Spanned<String>>,
    pub follow_redirects: Option<Spanned<bool>>,

    // http and tcp
    pub ip: Option<Spanned<String>>,
    pub tls_insecure: Option<Spanned<bool>>,
    pub cert_expiry_warning: Option<Spanned<String>>,

    // tcp
    pub host: Option<Spanned<String>>,
    /// Signed and wide so that 0 and 70000 reach validation and get our message.
    pub port: Option<Spanned<i64>>,
    pub send: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    pub expect_regex: Option<Spanned<String>>,
    pub tls: Option<Spanned<bool>>,

    // dns
    pub query: Option<Spanned<String>>,
    pub record: Option<Spanned<String>>,
    pub server: Option<Spanned<String>>,
    pub expect_rcode: Option<Spanned<String>>,
    pub expect_answers: Option<Spanned<Vec<String>>>,
    pub expect_answers_exact: Option<Spanned<Vec<String>>>,
    pub transport: Option<Spanned<String>>,
}

impl Check {
    /// The type-specific keys present in this check, with the span of each value.
    pub fn typed_keys(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        fn span<T>(v: &Option<Spanned<T>>) -> Option<std::ops::Range<usize>> {
            v.as_ref().map(Spanned::span)
        }
        [
            ("url", span(&self.url)),
            ("method", span(&self.method)),
            ("headers", span(&self.headers)),
            ("expect_status", span(&self.expect_status)),
            ("body_contains", span(&self.body_contains)),
            ("body_not_contains", span(&self.body_not_contains)),
            ("body_regex", span(&self.body_regex)),
            ("json_path", span(&self.json_path)),
            ("json_equals", span(&self.json_equals)),
            ("body", span(&self.body)),
            ("basic_auth", span(&self.basic_auth)),
            ("bearer_token", span(&self.bearer_token)),
            ("follow_redirects", span(&self.follow_redirects)),
            ("ip", span(&self.ip)),
            ("tls_insecure", span(&self.tls_insecure)),
            ("cert_expiry_warning", span(&self.cert_expiry_warning)),
            ("host", span(&self.host)),
            ("port", span(&self.port)),
            ("send", span(&self.send)),
            ("expect", span(&self.expect)),
            ("expect_regex", span(&self.expect_regex)),
            ("tls", span(&self.tls)),
            ("query", span(&self.query)),
            ("record", span(&self.record)),
            ("server", span(&self.server)),
            ("expect_rcode", span(&self.expect_rcode)),
            ("expect_answers", span(&self.expect_answers)),
            ("expect_answers_exact", span(&self.expect_answers_exact)),
            ("transport", span(&self.transport)),
        ]
        .into_iter()
        .filter_map(|(key, span)| span.map(|s| (key, s)))
        .collect()
    }
}

/// `headers = { Name = "value" }`, each name and value with its span (toml yields them sorted by name).
/// `basic_auth = { username = "…", password = "${SECRET}" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BasicAuth {
    pub username: Spanned<String>,
    pub password: Spanned<String>,
}

#[derive(Debug)]
pub(super) struct Headers(pub Vec<(Spanned<String>, Spanned<String>)>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Headers, D::Error> {
        struct HeadersVisitor;

        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of header names to string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
                let mut headers = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    headers.push(entry);
                }
                Ok(Headers(headers))
            }
        }

        d.deserialize_map(HeadersVisitor)
    }
}

/// One item of `expect_status`: a code such as `200`, or text such as `"2xx"` or `"200-299"`.
#[derive(Debug)]
pub(super) enum Status {
    Code(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        struct StatusVisitor;

        impl Visitor<'_> for StatusVisitor {
            type Value = Status;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a status code like 200, "2xx" or "200-299""#)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Status, E> {
                Ok(Status::Code(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Status, E> {
                Ok(Status::Code(i64::try_from(v).unwrap_or(i64::MAX)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Status, E> {
                Ok(Status::Text(v.to_string()))
            }
        }

        d.deserialize_any(StatusVisitor)
    }
}
