//! Turns the raw TOML into a [`Config`](super::Config), collecting every problem with its location.
//!
//! A syntax error, an unknown key or a value of the wrong type stops at the first one (that is
//! where toml stops); every other problem of every check is collected before returning. Nothing
//! here touches the network: host names are checked for shape, never resolved.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_spanned::Spanned;
use url::Url;

use super::raw;
use super::{Admin, AdminUser, Check, CheckId, Config, Error, Policy, Problem, Server, Storage};
use crate::maintenance::Recurring;
use crate::probe::{
    BodyConditions, DnsSpec, HttpSpec, IpFamily, JsonCondition, JsonPath, Limits, ProbeSpec, Rcode,
    RecordKind, StatusRange, TcpSpec, Transport,
};

/// Looks up an environment variable for `${NAME}`; tests pass a fake one.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn validate(path: &Path, src: &str) -> Result<Config, Error> {
    build(path, src, &|name| std::env::var(name).ok())
}

fn build(path: &Path, src: &str, env: Env<'_>) -> Result<Config, Error> {
    let mut p = Problems {
        file: path.display().to_string(),
        src,
        list: Vec::new(),
    };
    let raw: raw::Config = match toml::from_str(src) {
        Ok(raw) => raw,
        Err(e) => {
            p.at(e.span().unwrap_or(0..0), e.message().trim_end().to_string());
            return Err(p.into_error());
        }
    };

    let server = server(&raw.server, &mut p);
    let storage = storage(path, &raw.storage, &mut p);
    let defaults = defaults(&raw.defaults, &mut p);
    let mut first_line = HashMap::new();
    let checks: Vec<Check> = raw
        .checks
        .iter()
        .enumerate()
        .filter_map(|(i, c)| check(i, c, &defaults, env, &mut first_line, &mut p))
        .collect();
    let maintenance: Vec<Recurring> = raw
        .maintenance
        .iter()
        .enumerate()
        .filter_map(|(i, m)| recurring(i, m, &first_line, &mut p))
        .collect();
    let admin = raw.admin.as_ref().and_then(|a| admin(a, env, &mut p));

    match (server, storage) {
        (Some(server), Some(storage)) if p.list.is_empty() => Ok(Config {
            path: path.to_path_buf(),
            server,
            storage,
            checks,
            maintenance,
            admin,
        }),
        _ => Err(p.into_error()),
    }
}

/// One `[[maintenance]]`: a title, the checks it covers, a cron expression (UTC) and a duration.
fn recurring(
    index: usize,
    m: &Spanned<raw::Maintenance>,
    known: &HashMap<String, usize>,
    p: &mut Problems<'_>,
) -> Option<Recurring> {
    let whole = m.span();
    let m = m.get_ref();
    let ctx = format!("maintenance #{}: ", index + 1);
    let mut missing = |key: &str| {
        p.at(whole.clone(), format!("{ctx}missing `{key}`"));
    };
    let (title, checks, cron, duration) = (&m.title, &m.checks, &m.cron, &m.duration);
    if title.is_none() {
        missing("title");
    }
    if checks.is_none() {
        missing("checks");
    }
    if cron.is_none() {
        missing("cron");
    }
    if duration.is_none() {
        missing("duration");
    }
    let mut ids = Vec::new();
    for id in checks.iter().flat_map(|c| c.get_ref()) {
        match CheckId::new(id.get_ref()) {
            Ok(check) if known.contains_key(check.as_str()) => ids.push(check),
            _ => p.at(
                id.span(),
                format!("{ctx}checks: there is no check with id {:?}", id.get_ref()),
            ),
        }
    }
    if let Some(c) = checks.as_ref().filter(|c| c.get_ref().is_empty()) {
        p.at(
            c.span(),
            format!("{ctx}checks must name at least one check"),
        );
    }
    let cron = cron.as_ref().and_then(|v| {
        crate::maintenance::parse_cron(v.get_ref())
            .map_err(|e| {
                let msg = format!(
                    "{ctx}cron: invalid expression {:?}: {e}; write e.g. \"0 0 2 * * Sun\" (UTC)",
                    v.get_ref()
                );
                p.at(v.span(), msg)
            })
            .ok()
    });
    let duration = duration
        .as_ref()
        .and_then(|v| self::duration(p, &ctx, "duration", v));
    Some(Recurring {
        title: title.as_ref()?.get_ref().clone(),
        body: m
            .body
            .as_ref()
            .map_or_else(String::new, |b| b.get_ref().clone()),
        checks: ids,
        cron: cron?,
        duration: duration?,
    })
}

/// `[admin]`: users with argon2 hashes that parse, tokens long enough to be secrets.
fn admin(a: &Spanned<raw::Admin>, env: Env<'_>, p: &mut Problems<'_>) -> Option<Admin> {
    let raw = a.get_ref();
    let mut users: Vec<AdminUser> = Vec::new();
    for u in &raw.users {
        let (name, hash) = (&u.get_ref().name, &u.get_ref().password_hash);
        let valid_name = !name.get_ref().is_empty()
            && name.get_ref().len() <= 64
            && name
                .get_ref()
                .chars()
                .all(|c| c.is_alphanumeric() || "._-@".contains(c));
        if !valid_name {
            p.at(
                name.span(),
                "admin: user names are 1 to 64 letters, digits, '.', '_', '-' or '@'".to_string(),
            );
        } else if users.iter().any(|x| x.name == *name.get_ref()) {
            p.at(
                name.span(),
                format!("admin: duplicate user {:?}", name.get_ref()),
            );
        }
        let parsed = hash
            .get_ref()
            .parse::<argon2::password_hash::phc::PasswordHash>();
        match parsed {
            Ok(h) if h.algorithm.as_str().starts_with("argon2") => {}
            _ => p.at(
                hash.span(),
                format!(
                    "admin: password_hash of {:?} is not an argon2 hash; make one with `watchpost hash-password`",
                    name.get_ref()
                ),
            ),
        }
        users.push(AdminUser {
            name: name.get_ref().clone(),
            password_hash: hash.get_ref().clone(),
        });
    }
    let mut api_tokens = Vec::new();
    for t in &raw.api_tokens {
        let Some(token) = expand(p, "admin: ", "api_tokens", t, env) else {
            continue;
        };
        if token.len() < 16 {
            // Never quote the token: it is a secret.
            p.at(
                t.span(),
                "admin: api_tokens must be at least 16 characters long".to_string(),
            );
        } else {
            api_tokens.push(token);
        }
    }
    (!users.is_empty() || !api_tokens.is_empty()).then_some(Admin { users, api_tokens })
}

/// The problems found so far, and what is needed to locate them.
struct Problems<'a> {
    file: String,
    src: &'a str,
    list: Vec<Problem>,
}

impl Problems<'_> {
    /// Records a problem at the start of `span` (a byte range of the source).
    fn at(&mut self, span: Range<usize>, message: String) {
        let (line, column) = self.locate(span.start);
        self.list.push(Problem {
            file: self.file.clone(),
            line,
            column,
            message,
        });
    }

    /// The 1-based line and column (in characters) of a byte offset.
    fn locate(&self, offset: usize) -> (usize, usize) {
        let before = self.src.get(..offset).unwrap_or(self.src);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn into_error(mut self) -> Error {
        self.list.sort_by_key(|p| (p.line, p.column));
        Error::Invalid(self.list)
    }
}

fn server(s: &raw::Server, p: &mut Problems<'_>) -> Option<Server> {
    let listen = match &s.listen {
        None => Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        Some(v) => v.get_ref().parse().ok().or_else(|| {
            p.at(
                v.span(),
                format!(
                    "server: listen: invalid address {:?}: use ip:port, like 127.0.0.1:8080",
                    v.get_ref()
                ),
            );
            None
        }),
    };
    let public_url = match &s.public_url {
        None => Some(None),
        Some(v) => match http_url(v.get_ref(), v.get_ref()) {
            Ok(url) => Some(Some(url)),
            Err(e) => {
                p.at(v.span(), format!("server: public_url: {e}"));
                None
            }
        },
    };
    let title = s
        .title
        .as_ref()
        .map_or_else(|| "watchpost".to_string(), |t| t.get_ref().clone());
    Some(Server {
        listen: listen?,
        public_url: public_url?,
        title,
    })
}

fn storage(config: &Path, s: &raw::Storage, p: &mut Problems<'_>) -> Option<Storage> {
    let path = match &s.path {
        None => Some(PathBuf::from("watchpost.db")),
        Some(v) if v.get_ref().is_empty() => {
            p.at(v.span(), "storage: path must not be empty".to_string());
            None
        }
        Some(v) => Some(PathBuf::from(v.get_ref())),
    };
    let keep_raw = match &s.keep_raw {
        None => Some(Duration::from_secs(30 * 86_400)),
        Some(v) => duration(p, "storage: ", "keep_raw", v),
    };
    let dir = config.parent().unwrap_or(Path::new(""));
    Some(Storage {
        path: dir.join(path?),
        keep_raw: keep_raw?,
    })
}

/// `[defaults]` with the built-in values filled in; `None` where the file's value is invalid
/// (already reported), so checks that inherit it are not reported again.
struct Defaults {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    failure_threshold: Option<NonZeroU32>,
    success_threshold: Option<NonZeroU32>,
    degraded_after: Option<Option<Duration>>,
}

fn defaults(d: &raw::Defaults, p: &mut Problems<'_>) -> Defaults {
    const CTX: &str = "defaults: ";
    let policy = Policy::default();
    let interval = d
        .interval
        .as_ref()
        .map_or(Some(Duration::from_secs(60)), |v| {
            duration(p, CTX, "interval", v)
        });
    let timeout = d
        .timeout
        .as_ref()
        .map_or(Some(Duration::from_secs(10)), |v| {
            duration(p, CTX, "timeout", v)
        });
    if let (Some(i), Some(t)) = (interval, timeout)
        && t > i
    {
        // Point at whichever of the two the file sets; the built-in pair is consistent.
        let span = d
            .timeout
            .as_ref()
            .or(d.interval.as_ref())
            .map(Spanned::span);
        p.at(
            span.unwrap_or(0..0),
            format!("{CTX}{}", too_long(t, "", i, "")),
        );
    }
    Defaults {
        interval,
        timeout,
        failure_threshold: d
            .failure_threshold
            .as_ref()
            .map_or(Some(policy.failure_threshold), |v| {
                threshold(p, CTX, "failure_threshold", v)
            }),
        success_threshold: d
            .success_threshold
            .as_ref()
            .map_or(Some(policy.success_threshold), |v| {
                threshold(p, CTX, "success_threshold", v)
            }),
        degraded_after: d.degraded_after.as_ref().map_or(Some(None), |v| {
            duration(p, CTX, "degraded_after", v).map(Some)
        }),
    }
}

/// Validates one `[[check]]`; `first_line` maps each id seen so far to the line it was defined on.
fn check(
    index: usize,
    c: &Spanned<raw::Check>,
    defaults: &Defaults,
    env: Env<'_>,
    first_line: &mut HashMap<String, usize>,
    p: &mut Problems<'_>,
) -> Option<Check> {
    let whole = c.span();
    let c = c.get_ref();
    let ctx = match &c.id {
        Some(id) => format!("check {:?}: ", id.get_ref()),
        None => format!("check #{}: ", index + 1),
    };

    let id = match &c.id {
        None => {
            p.at(whole.clone(), format!("{ctx}missing `id`"));
            None
        }
        Some(v) => match CheckId::new(v.get_ref()) {
            Err(e) => {
                p.at(v.span(), e);
                None
            }
            Ok(id) => {
                let (line, _) = p.locate(v.span().start);
                match first_line.get(id.as_str()) {
                    Some(first) => {
                        let msg = format!(
                            "duplicate check id {:?}, first defined on line {first}",
                            id.as_str()
                        );
                        p.at(v.span(), msg);
                        None
                    }
                    None => {
                        first_line.insert(id.as_str().to_string(), line);
                        Some(id)
                    }
                }
            }
        },
    };
    let name = match &c.name {
        Some(v) if v.get_ref().trim().is_empty() => {
            p.at(v.span(), format!("{ctx}name must not be empty"));
            None
        }
        Some(v) => Some(v.get_ref().clone()),
        None => c.id.as_ref().map(|v| v.get_ref().clone()),
    };
    let group = c
        .group
        .as_ref()
        .map_or_else(String::new, |v| v.get_ref().clone());

    let interval = inherit(p, &ctx, "interval", &c.interval, defaults.interval);
    let timeout = inherit(p, &ctx, "timeout", &c.timeout, defaults.timeout);
    if let (Some(i), Some(t)) = (interval, timeout)
        && t > i
    {
        // When both are inherited the problem was reported once, at [defaults].
        let from = |set: bool| if set { "" } else { " (from [defaults])" };
        if let Some(span) = c
            .timeout
            .as_ref()
            .or(c.interval.as_ref())
            .map(Spanned::span)
        {
            let msg = too_long(t, from(c.timeout.is_some()), i, from(c.interval.is_some()));
            p.at(span, format!("{ctx}{msg}"));
        }
    }
    let degraded_after = match &c.degraded_after {
        None => defaults.degraded_after,
        Some(v) => duration(p, &ctx, "degraded_after", v).map(Some),
    };
    let max_latency = optional_duration(p, &ctx, "max_latency", &c.max_latency);
    let cert_expiry_warning =
        optional_duration(p, &ctx, "cert_expiry_warning", &c.cert_expiry_warning);
    let failure_threshold = match &c.failure_threshold {
        None => defaults.failure_threshold,
        Some(v) => threshold(p, &ctx, "failure_threshold", v),
    };
    let success_threshold = match &c.success_threshold {
        None => defaults.success_threshold,
        Some(v) => threshold(p, &ctx, "success_threshold", v),
    };

    let spec = spec(c, &ctx, whole, env, p);

    let (Some(id), Some(name), Some(interval), Some(timeout), Some(degraded_after)) =
        (id, name, interval, timeout, degraded_after)
    else {
        return None;
    };
    let (Some(failure_threshold), Some(success_threshold), Some(spec)) =
        (failure_threshold, success_threshold, spec)
    else {
        return None;
    };
    let (Some(max_latency), Some(cert_expiry_warning)) = (max_latency, cert_expiry_warning) else {
        return None;
    };
    Some(Check {
        id,
        name,
        group,
        interval,
        policy: Policy {
            failure_threshold,
            success_threshold,
        },
        limits: Limits {
            timeout,
            degraded_after,
            max_latency,
            cert_expiry_warning,
            ..Limits::default()
        },
        spec,
    })
}

/// The check's own duration when it sets `key`, else the inherited one.
fn inherit(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    own: &Option<Spanned<String>>,
    inherited: Option<Duration>,
) -> Option<Duration> {
    match own {
        None => inherited,
        Some(v) => duration(p, ctx, key, v),
    }
}

/// The probe types, as written in `type`.
#[derive(Clone, Copy)]
enum Kind {
    Http,
    Tcp,
    Dns,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "http" => Some(Kind::Http),
            "tcp" => Some(Kind::Tcp),
            "dns" => Some(Kind::Dns),
            _ => None,
        }
    }

    /// How messages name a check of this type.
    fn noun(self) -> &'static str {
        match self {
            Kind::Http => "an http check",
            Kind::Tcp => "a tcp check",
            Kind::Dns => "a dns check",
        }
    }

    /// The type-specific keys a check of this type may set.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Http => &[
                "url",
                "method",
                "headers",
                "expect_status",
                "body_contains",
                "body_not_contains",
                "body_regex",
                "json_path",
                "json_equals",
                "body",
                "basic_auth",
                "bearer_token",
                "follow_redirects",
                "ip",
                "tls_insecure",
                "cert_expiry_warning",
            ],
            Kind::Tcp => &[
                "host",
                "port",
                "send",
                "expect",
                "expect_regex",
                "tls",
                "tls_insecure",
                "cert_expiry_warning",
                "ip",
            ],
            Kind::Dns => &[
                "query",
                "record",
                "server",
                "expect_rcode",
                "expect_answers",
                "expect_answers_exact",
                "transport",
            ],
        }
    }
}

/// The probe spec, after refusing the keys of other types.
fn spec(
    c: &raw::Check,
    ctx: &str,
    whole: Range<usize>,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<ProbeSpec> {
    let Some(v) = &c.kind else {
        p.at(whole, format!("{ctx}missing `type` (http, tcp or dns)"));
        return None;
    };
    let Some(kind) = Kind::parse(v.get_ref()) else {
        let msg = format!("{ctx}unknown type {:?}: use http, tcp or dns", v.get_ref());
        p.at(v.span(), msg);
        return None;
    };
    let mut foreign = false;
    for (key, span) in c.typed_keys() {
        if !kind.keys().contains(&key) {
            let span = key_span(p.src, span, key);
            p.at(
                span,
                format!("{ctx}`{key}` is not a key of {}", kind.noun()),
            );
            foreign = true;
        }
    }
    // Required keys that are missing are reported at `type`, which is what requires them.
    let required = Required {
        at: key_span(p.src, v.span(), "type"),
        kind,
    };
    let spec = match kind {
        Kind::Http => http(c, ctx, &required, env, p).map(|s| ProbeSpec::Http(Box::new(s))),
        Kind::Tcp => tcp(c, ctx, &required, env, p).map(ProbeSpec::Tcp),
        Kind::Dns => dns(c, ctx, &required, p).map(ProbeSpec::Dns),
    };
    if foreign { None } else { spec }
}

/// Where and how to report a required key that is missing.
struct Required {
    at: Range<usize>,
    kind: Kind,
}

impl Required {
    /// The value of a required key, or a problem saying it is missing.
    fn get<'v, T>(
        &self,
        p: &mut Problems<'_>,
        ctx: &str,
        key: &str,
        v: &'v Option<Spanned<T>>,
    ) -> Option<&'v Spanned<T>> {
        if v.is_none() {
            let msg = format!("{ctx}missing `{key}`, required for {}", self.kind.noun());
            p.at(self.at.clone(), msg);
        }
        v.as_ref()
    }
}

fn http(
    c: &raw::Check,
    ctx: &str,
    required: &Required,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<HttpSpec> {
    let url = required.get(p, ctx, "url", &c.url).and_then(|v| {
        let expanded = expand(p, ctx, "url", v, env)?;
        // Quote the text as written: the expanded URL may hold a secret.
        http_url(&expanded, v.get_ref())
            .map_err(|e| p.at(v.span(), format!("{ctx}url: {e}")))
            .ok()
    });
    let method = match &c.method {
        None => Some(Method::GET),
        Some(v) => {
            let s = v.get_ref();
            match Method::from_bytes(s.as_bytes()) {
                Ok(m) if !s.is_empty() && *s == s.to_ascii_uppercase() => Some(m),
                _ => {
                    p.at(
                        v.span(),
                        format!("{ctx}method: invalid HTTP method {s:?}: use GET, HEAD, POST …"),
                    );
                    None
                }
            }
        }
    };
    let headers = match &c.headers {
        None => Some(Vec::new()),
        Some(h) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (k, v) in &h.get_ref().0 {
                let name = HeaderName::from_bytes(k.get_ref().as_bytes()).map_err(|_| {
                    p.at(
                        k.span(),
                        format!("{ctx}headers: invalid header name {:?}", k.get_ref()),
                    );
                });
                let value = expand(p, ctx, "headers", v, env).and_then(|s| {
                    // Never quote the value: it may come from a secret in the environment.
                    HeaderValue::from_str(&s)
                        .map_err(|_| {
                            let msg =
                                format!("{ctx}headers: invalid value for header {:?}", k.get_ref());
                            p.at(v.span(), msg);
                        })
                        .ok()
                });
                match (name, value) {
                    (Ok(n), Some(v)) => out.push((n, v)),
                    _ => ok = false,
                }
            }
            ok.then_some(out)
        }
    };
    let expect_status = match &c.expect_status {
        None => Some(vec![StatusRange::DEFAULT]),
        Some(list) if list.get_ref().is_empty() => {
            let msg =
                format!("{ctx}expect_status must not be empty; leave it out to accept 200-399");
            p.at(list.span(), msg);
            None
        }
        Some(list) => {
            let mut out = Vec::new();
            for item in list.get_ref() {
                match status_range(item.get_ref()) {
                    Ok(r) => out.push(r),
                    Err(e) => p.at(item.span(), format!("{ctx}expect_status: {e}")),
                }
            }
            (out.len() == list.get_ref().len()).then_some(out)
        }
    };
    let mut headers = headers?;
    if let Some(auth) = &c.basic_auth {
        let a = auth.get_ref();
        let user = expand(p, ctx, "basic_auth", &a.username, env);
        let password = expand(p, ctx, "basic_auth", &a.password, env);
        if let (Some(user), Some(password)) = (user, password) {
            use base64::Engine as _;
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            match HeaderValue::from_str(&format!("Basic {token}")) {
                Ok(v) => headers.push((http::header::AUTHORIZATION, v)),
                Err(_) => p.at(auth.span(), format!("{ctx}basic_auth: invalid credentials")),
            }
        }
    }
    if let Some(v) = &c.bearer_token
        && let Some(token) = expand(p, ctx, "bearer_token", v, env)
    {
        match HeaderValue::from_str(&format!("Bearer {token}")) {
            Ok(v) => headers.push((http::header::AUTHORIZATION, v)),
            // Never quote the token: it may come from a secret in the environment.
            Err(_) => p.at(
                v.span(),
                format!("{ctx}bearer_token: invalid characters in the token"),
            ),
        }
    }
    if c.basic_auth.is_some()
        && let Some(v) = &c.bearer_token
    {
        p.at(
            v.span(),
            format!("{ctx}set basic_auth or bearer_token, not both"),
        );
    }
    let body = match &c.body {
        None => Some(None),
        Some(v) => expand(p, ctx, "body", v, env).map(Some),
    };
    let regex = regex_key(p, ctx, "body_regex", &c.body_regex);
    let json = match (&c.json_path, &c.json_equals) {
        (None, None) => Some(None),
        (None, Some(v)) => {
            p.at(v.span(), format!("{ctx}json_equals needs json_path"));
            None
        }
        (Some(path), equals) => {
            let path = JsonPath::parse(path.get_ref())
                .map_err(|e| p.at(path.span(), format!("{ctx}json_path: {e}")))
                .ok();
            let equals = match equals {
                None => Some(None),
                Some(v) => json_value(v.get_ref())
                    .map(Some)
                    .map_err(|e| p.at(v.span(), format!("{ctx}json_equals: {e}")))
                    .ok(),
            };
            match (path, equals) {
                (Some(path), Some(equals)) => Some(Some(JsonCondition { path, equals })),
                _ => None,
            }
        }
    };
    let ip = ip_family(p, ctx, &c.ip);
    Some(HttpSpec {
        url: url?,
        method: method?,
        headers,
        body: body?,
        expect_status: expect_status?,
        conditions: BodyConditions {
            contains: c.body_contains.as_ref().map(|v| v.get_ref().clone()),
            not_contains: c.body_not_contains.as_ref().map(|v| v.get_ref().clone()),
            regex: regex?,
            json: json?,
        },
        follow_redirects: c.follow_redirects.as_ref().is_none_or(|v| *v.get_ref()),
        ip: ip?,
        tls_insecure: c.tls_insecure.as_ref().is_some_and(|v| *v.get_ref()),
    })
}

fn tcp(
    c: &raw::Check,
    ctx: &str,
    required: &Required,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<TcpSpec> {
    let host = required.get(p, ctx, "host", &c.host).and_then(|v| {
        let host = expand(p, ctx, "host", v, env)?;
        let problem = if host.trim().is_empty() {
            Some("host must not be empty")
        } else if host.contains("://") || host.contains('/') {
            Some("host: write a host name or IP address, not a URL")
        } else if host.chars().any(char::is_whitespace) {
            Some("host must not contain spaces")
        } else {
            None
        };
        match problem {
            Some(msg) => {
                p.at(v.span(), format!("{ctx}{msg}"));
                None
            }
            None => Some(host),
        }
    });
    let port =
        required
            .get(p, ctx, "port", &c.port)
            .and_then(|v| match u16::try_from(*v.get_ref()) {
                Ok(port) if port != 0 => Some(port),
                _ => {
                    p.at(v.span(), format!("{ctx}port must be between 1 and 65535"));
                    None
                }
            });
    let send = match &c.send {
        None => Some(None),
        Some(v) => expand(p, ctx, "send", v, env).map(Some),
    };
    let expect_regex = regex_key(p, ctx, "expect_regex", &c.expect_regex);
    let tls = c.tls.as_ref().is_some_and(|v| *v.get_ref());
    if !tls {
        if let Some(v) = &c.tls_insecure {
            p.at(v.span(), format!("{ctx}tls_insecure needs tls = true"));
        }
        if let Some(v) = &c.cert_expiry_warning {
            p.at(
                v.span(),
                format!("{ctx}cert_expiry_warning needs tls = true"),
            );
        }
    }
    let ip = ip_family(p, ctx, &c.ip);
    Some(TcpSpec {
        host: host?,
        port: port?,
        send: send?,
        expect: c.expect.as_ref().map(|v| v.get_ref().clone()),
        expect_regex: expect_regex?,
        tls,
        tls_insecure: c.tls_insecure.as_ref().is_some_and(|v| *v.get_ref()),
        ip: ip?,
    })
}

fn dns(c: &raw::Check, ctx: &str, required: &Required, p: &mut Problems<'_>) -> Option<DnsSpec> {
    let name = required.get(p, ctx, "query", &c.query).and_then(|v| {
        dns_name(v.get_ref())
            .map_err(|e| p.at(v.span(), format!("{ctx}query: {e}")))
            .ok()
    });
    let record = match &c.record {
        None => Some(RecordKind::A),
        Some(v) => RecordKind::parse(v.get_ref()).or_else(|| {
            let kinds: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
            let msg = format!(
                "{ctx}record: unknown record type {:?}: use one of {}",
                v.get_ref(),
                kinds.join(" ")
            );
            p.at(v.span(), msg);
            None
        }),
    };
    let server = match &c.server {
        None => Some(None),
        Some(v) => {
            let s = v.get_ref();
            let addr = s
                .parse::<SocketAddr>()
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)));
            if addr.is_none() {
                let msg = format!(
                    "{ctx}server: invalid address {s:?}: use an IP address with an optional port, like 9.9.9.9:53"
                );
                p.at(v.span(), msg);
            }
            addr.map(Some)
        }
    };
    let expect_rcode = match &c.expect_rcode {
        None => Some(Rcode::NOERROR),
        Some(v) => Rcode::parse(v.get_ref()).or_else(|| {
            let msg = format!("{ctx}expect_rcode: unknown rcode {:?}: use a name like NOERROR, NXDOMAIN or SERVFAIL", v.get_ref());
            p.at(v.span(), msg);
            None
        }),
    };
    let (expect_answers, exact) = match (&c.expect_answers, &c.expect_answers_exact) {
        (Some(_), Some(v)) => {
            p.at(
                v.span(),
                format!("{ctx}set expect_answers or expect_answers_exact, not both"),
            );
            (None, false)
        }
        (None, Some(v)) => (Some(v.get_ref().clone()), true),
        (v, None) => (
            Some(v.as_ref().map_or_else(Vec::new, |v| v.get_ref().clone())),
            false,
        ),
    };
    let transport = match c
        .transport
        .as_ref()
        .map(|v| (v.get_ref().as_str(), v.span()))
    {
        None | Some(("udp", _)) => Some(Transport::Udp),
        Some(("tcp", _)) => Some(Transport::Tcp),
        Some((other, span)) => {
            p.at(
                span,
                format!("{ctx}transport: unknown transport {other:?}: use \"udp\" or \"tcp\""),
            );
            None
        }
    };
    Some(DnsSpec {
        name: name?,
        record: record?,
        server: server?,
        expect_rcode: expect_rcode?,
        expect_answers: expect_answers?,
        exact,
        transport: transport?,
    })
}

/// An optional duration key: `Some(None)` when absent, `None` when present but invalid.
fn optional_duration(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Option<Spanned<String>>,
) -> Option<Option<Duration>> {
    match v {
        None => Some(None),
        Some(v) => duration(p, ctx, key, v).map(Some),
    }
}

/// `ip = "v4" | "v6"`; any family when absent.
fn ip_family(p: &mut Problems<'_>, ctx: &str, v: &Option<Spanned<String>>) -> Option<IpFamily> {
    match v.as_ref().map(|v| (v.get_ref().as_str(), v.span())) {
        None => Some(IpFamily::Any),
        Some(("v4", _)) => Some(IpFamily::V4),
        Some(("v6", _)) => Some(IpFamily::V6),
        Some((other, span)) => {
            p.at(
                span,
                format!("{ctx}ip: unknown family {other:?}: use \"v4\" or \"v6\""),
            );
            None
        }
    }
}

/// A regex key, compiled; the problem quotes the regex engine's complaint.
fn regex_key(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Option<Spanned<String>>,
) -> Option<Option<regex::Regex>> {
    match v {
        None => Some(None),
        Some(v) => match regex::Regex::new(v.get_ref()) {
            Ok(re) => Some(Some(re)),
            Err(e) => {
                let first = e.to_string().lines().last().unwrap_or_default().to_string();
                p.at(
                    v.span(),
                    format!("{ctx}{key}: invalid regex: {}", first.trim()),
                );
                None
            }
        },
    }
}

/// A TOML value as the JSON value `json_equals` compares with.
fn json_value(v: &toml::Value) -> Result<serde_json::Value, String> {
    Ok(match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or("a float that JSON cannot hold")?,
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(json_value).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), json_value(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
    })
}

/// A humantime duration greater than zero, such as `30s`, `5m` or `14d`.
fn duration(p: &mut Problems<'_>, ctx: &str, key: &str, v: &Spanned<String>) -> Option<Duration> {
    match humantime::parse_duration(v.get_ref()) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            p.at(v.span(), format!("{ctx}{key} must be greater than 0"));
            None
        }
        Err(e) => {
            // humantime lists the units itself when the unit is wrong; otherwise show the shape.
            let hint = match e {
                humantime::DurationError::UnknownUnit { .. } => "",
                _ => "; write a number and a unit, like 30s, 5m or 14d",
            };
            let msg = format!(
                "{ctx}invalid duration {:?} for {key}: {e}{hint}",
                v.get_ref()
            );
            p.at(v.span(), msg);
            None
        }
    }
}

/// The message for a timeout longer than its interval; `*_from` say where inherited values come from.
fn too_long(
    timeout: Duration,
    timeout_from: &str,
    interval: Duration,
    interval_from: &str,
) -> String {
    format!(
        "timeout {}{timeout_from} is longer than interval {}{interval_from}",
        humantime::format_duration(timeout),
        humantime::format_duration(interval)
    )
}

fn threshold(p: &mut Problems<'_>, ctx: &str, key: &str, v: &Spanned<i64>) -> Option<NonZeroU32> {
    let n = u32::try_from(*v.get_ref()).ok().and_then(NonZeroU32::new);
    if n.is_none() {
        p.at(
            v.span(),
            format!("{ctx}{key} must be between 1 and {}", u32::MAX),
        );
    }
    n
}

/// `v` with its `${NAME}`s replaced, or a problem at `v` naming the key.
fn expand(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
    env: Env<'_>,
) -> Option<String> {
    expand_env(v.get_ref(), env)
        .map_err(|e| p.at(v.span(), format!("{ctx}{key}: {e}")))
        .ok()
}

/// Replaces each `${NAME}` in `s` with the environment variable `NAME`; `$${` is a literal `${`.
fn expand_env(s: &str, env: Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("${") {
        let (before, after) = (&rest[..at], &rest[at + 2..]);
        if let Some(literal) = before.strip_suffix('$') {
            out.push_str(literal);
            out.push_str("${");
            rest = after;
            continue;
        }
        out.push_str(before);
        let end = after
            .find('}')
            .ok_or("unterminated ${ (write $${ for a literal ${)")?;
        let name = &after[..end];
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "invalid environment variable name {name:?} in ${{…}}"
            ));
        }
        let value = env(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An absolute `http` or `https` URL with a host; the error quotes `shown`, the text as written.
fn http_url(s: &str, shown: &str) -> Result<Url, String> {
    let invalid = |why: &dyn std::fmt::Display| format!("invalid URL {shown:?}: {why}");
    let url = Url::parse(s).map_err(|e| invalid(&e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(&"the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(&"it has no host"));
    }
    Ok(url)
}

/// A DNS name in absolute form, with its trailing dot.
fn dns_name(s: &str) -> Result<String, String> {
    let bare = s.strip_suffix('.').unwrap_or(s);
    if bare.is_empty() {
        return Err("the name must not be empty".to_string());
    }
    if bare.len() > 253 || bare.chars().any(|c| c.is_whitespace()) {
        return Err(format!("{s:?} is not a DNS name"));
    }
    if bare
        .split('.')
        .any(|label| label.is_empty() || label.len() > 63)
    {
        return Err(format!(
            "{s:?} is not a DNS name: each dot-separated label must have 1 to 63 characters"
        ));
    }
    Ok(format!("{bare}."))
}

/// One `expect_status` item as a range: `200`, `"2xx"` or `"200-299"`.
fn status_range(item: &raw::Status) -> Result<StatusRange, String> {
    fn code(n: i64) -> Result<u16, String> {
        u16::try_from(n)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("{n} is not an HTTP status code (100 to 599)"))
    }
    let text = match item {
        raw::Status::Code(n) => return code(*n).map(|c| StatusRange { lo: c, hi: c }),
        raw::Status::Text(t) => t.trim(),
    };
    let invalid = || {
        format!(
            r#"invalid status {text:?}: use a code like 200, a class like "2xx" or a range like "200-299""#
        )
    };
    if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
        return match class.parse::<u16>() {
            Ok(d @ 1..=5) if class.len() == 1 => Ok(StatusRange {
                lo: d * 100,
                hi: d * 100 + 99,
            }),
            _ => Err(invalid()),
        };
    }
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (Ok(lo), Ok(hi)) = (lo.trim().parse::<i64>(), hi.trim().parse::<i64>()) else {
        return Err(invalid());
    };
    let (lo, hi) = (code(lo)?, code(hi)?);
    if lo > hi {
        return Err(format!(
            "invalid status range {text:?}: the first code is greater than the second"
        ));
    }
    Ok(StatusRange { lo, hi })
}

/// The span of `key` in `key = value`, found by walking back from the value's span; the value's
/// span itself when the text before it is not that (a quoted or dotted key, say).
fn key_span(src: &str, value: Range<usize>, key: &str) -> Range<usize> {
    let Some(before) = src.get(..value.start) else {
        return value;
    };
    let Some(before) = before.trim_end().strip_suffix('=') else {
        return value;
    };
    let before = before.trim_end();
    match before.strip_suffix(key) {
        Some(head)
            if !head.ends_with(|c: char| c.is_ascii_alphanumeric() || "_-.\"'".contains(c)) =>
        {
            head.len()..before.len()
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake environment, so tests never depend on or touch the real one.
    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".to_string()),
            "DB_HOST" => Some("db.internal".to_string()),
            _ => None,
        }
    }

    fn parse(src: &str) -> Result<Config, Error> {
        build(Path::new("etc/watchpost.toml"), src, &env)
    }

    fn valid(src: &str) -> Config {
        parse(src).unwrap_or_else(|e| panic!("expected a valid config, got:\n{e}"))
    }

    /// Asserts that `src` is refused with exactly these `file:line:col: message` lines.
    fn check(src: &str, expected: &[&str]) {
        match parse(src) {
            Ok(_) => panic!("expected {expected:#?}, got a valid config"),
            Err(Error::Invalid(problems)) => {
                let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
                assert_eq!(got, expected);
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    fn http_spec(c: &Check) -> &HttpSpec {
        match &c.spec {
            ProbeSpec::Http(s) => s,
            other => panic!("expected an http check, got {other:?}"),
        }
    }

    #[test]
    fn example_config_is_valid() {
        let src = include_str!("../../config/watchpost.toml");
        let config = build(Path::new("config/watchpost.toml"), src, &|_| None)
            .unwrap_or_else(|e| panic!("config/watchpost.toml:\n{e}"));
        assert_eq!(config.storage.path, Path::new("config/watchpost.db"));
        assert_eq!(
            config.server.listen,
            SocketAddr::from(([127, 0, 0, 1], 8080))
        );
        let kinds: Vec<&str> = config.checks.iter().map(Check::kind).collect();
        for kind in ["http", "tcp", "dns"] {
            assert!(kinds.contains(&kind), "no {kind} check in {kinds:?}");
        }
        assert!(
            config
                .checks
                .iter()
                .all(|c| c.interval == Duration::from_secs(60))
        );
    }

    #[test]
    fn empty_file_is_valid_with_every_default() {
        let config = valid("");
        assert!(config.checks.is_empty());
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.server.title, "watchpost");
        assert_eq!(config.server.public_url, None);
        assert_eq!(config.storage.path, Path::new("etc/watchpost.db"));
        assert_eq!(config.storage.keep_raw, Duration::from_secs(30 * 86_400));
    }

    #[test]
    fn full_config_inherits_defaults_and_keeps_overrides() {
        let config = valid(
            r#"
[server]
listen = "0.0.0.0:9000"
public_url = "https://status.example.org"
title = "Example Status"

[storage]
path = "/var/lib/watchpost/w.db"
keep_raw = "7d"

[defaults]
interval = "30s"
timeout = "5s"
failure_threshold = 4
success_threshold = 3
degraded_after = "2s"

[[check]]
id = "web"
type = "http"
url = "https://example.org/?key=${TOKEN}"
headers = { "User-Agent" = "watchpost", Authorization = "Bearer ${TOKEN}" }
expect_status = [200, "3xx", "401-403"]
body_contains = "Example"

[[check]]
id = "db"
name = "Database"
group = "Backend"
type = "tcp"
host = "${DB_HOST}"
port = 5432
interval = "2m"
timeout = "20s"
failure_threshold = 1
degraded_after = "500ms"

[[check]]
id = "dns"
type = "dns"
query = "example.org"
record = "mx"
server = "9.9.9.9"
expect_rcode = "nxdomain"
expect_answers = ["10 mail.example.org."]
"#,
        );
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(
            config.server.public_url.as_ref().map(Url::as_str),
            Some("https://status.example.org/")
        );
        assert_eq!(config.server.title, "Example Status");
        assert_eq!(config.storage.path, Path::new("/var/lib/watchpost/w.db"));
        assert_eq!(config.storage.keep_raw, Duration::from_secs(7 * 86_400));

        let [web, db, dns] = &config.checks[..] else {
            panic!("expected 3 checks, got {:#?}", config.checks);
        };
        assert_eq!(
            (web.id.as_str(), web.name.as_str(), web.group.as_str()),
            ("web", "web", "")
        );
        assert_eq!(web.interval, Duration::from_secs(30));
        assert_eq!(
            web.limits,
            Limits {
                timeout: Duration::from_secs(5),
                degraded_after: Some(Duration::from_secs(2)),
                ..Limits::default()
            }
        );
        assert_eq!(
            (
                web.policy.failure_threshold.get(),
                web.policy.success_threshold.get()
            ),
            (4, 3)
        );
        let http = http_spec(web);
        assert_eq!(http.url.as_str(), "https://example.org/?key=s3cret");
        assert_eq!(http.method, Method::GET);
        let headers: Vec<(&str, &[u8])> = http
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        assert_eq!(
            headers,
            [
                ("authorization", &b"Bearer s3cret"[..]),
                ("user-agent", b"watchpost")
            ]
        );
        assert_eq!(
            http.expect_status,
            [
                StatusRange { lo: 200, hi: 200 },
                StatusRange { lo: 300, hi: 399 },
                StatusRange { lo: 401, hi: 403 }
            ]
        );
        assert_eq!(http.conditions.contains.as_deref(), Some("Example"));
        assert!(http.follow_redirects);

        assert_eq!(
            (db.name.as_str(), db.group.as_str()),
            ("Database", "Backend")
        );
        assert_eq!(db.interval, Duration::from_secs(120));
        assert_eq!(db.limits.timeout, Duration::from_secs(20));
        assert_eq!(db.limits.degraded_after, Some(Duration::from_millis(500)));
        assert_eq!(
            (
                db.policy.failure_threshold.get(),
                db.policy.success_threshold.get()
            ),
            (1, 3)
        );
        assert!(
            matches!(&db.spec, ProbeSpec::Tcp(s) if s.host == "db.internal" && s.port == 5432
                && s.send.is_none() && s.expect.is_none() && !s.tls),
            "{:?}",
            db.spec
        );

        let want = DnsSpec {
            name: "example.org.".to_string(),
            record: RecordKind::Mx,
            server: Some(SocketAddr::from(([9, 9, 9, 9], 53))),
            expect_rcode: Rcode(3),
            expect_answers: vec!["10 mail.example.org.".to_string()],
            exact: false,
            transport: Transport::Udp,
        };
        assert!(
            matches!(&dns.spec, ProbeSpec::Dns(s) if *s == want),
            "{:?}",
            dns.spec
        );
    }

    #[test]
    fn http_check_defaults() {
        let config = valid(
            "[[check]]\nid = \"a\"\ntype = \"http\"\nurl = \"http://127.0.0.1:8080/healthz\"\n",
        );
        let c = &config.checks[0];
        assert_eq!(c.interval, Duration::from_secs(60));
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.policy, Policy::default());
        assert_eq!(http_spec(c).expect_status, [StatusRange::DEFAULT]);
    }

    #[test]
    fn unknown_key() {
        let problems = match parse("[[check]]\nid = \"a\"\ntype = \"http\"\nretries = 3\n") {
            Err(Error::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        };
        assert_eq!(problems.len(), 1);
        let shown = problems[0].to_string();
        assert!(
            shown.starts_with(
                "etc/watchpost.toml:4:1: unknown field `retries`, expected one of `id`, `name`"
            ),
            "{shown}"
        );
        check(
            "[notify.email]\nfrom = \"a@b\"\n",
            &[
                "etc/watchpost.toml:1:2: unknown field `notify`, expected one of `server`, `storage`, `defaults`, `check`, `maintenance`, `admin`",
            ],
        );
    }

    #[test]
    fn probe_depth_keys() {
        let c = valid(
            r#"
[[check]]
id = "api"
type = "http"
url = "https://api.example.org/health"
method = "POST"
body = '{"ping":1}'
bearer_token = "${TOKEN}"
body_not_contains = "maintenance"
body_regex = 'v\d+'
json_path = "$.status"
json_equals = "ok"
follow_redirects = false
ip = "v6"
tls_insecure = true
cert_expiry_warning = "14d"
max_latency = "3s"
[[check]]
id = "smtp"
type = "tcp"
host = "mail.example.org"
port = 465
tls = true
expect_regex = '^220 '
"#,
        );
        let api = &c.checks[0];
        let http = http_spec(api);
        assert_eq!(http.body.as_deref(), Some(r#"{"ping":1}"#));
        assert_eq!(http.headers[0].0, http::header::AUTHORIZATION);
        assert_eq!(http.headers[0].1, "Bearer s3cret");
        assert_eq!(http.conditions.not_contains.as_deref(), Some("maintenance"));
        assert!(
            http.conditions
                .regex
                .as_ref()
                .is_some_and(|r| r.is_match("v4"))
        );
        let json = http.conditions.json.as_ref().unwrap();
        assert_eq!(json.path.to_string(), "$.status");
        assert_eq!(json.equals, Some(serde_json::json!("ok")));
        assert!(!http.follow_redirects && http.tls_insecure);
        assert_eq!(http.ip, IpFamily::V6);
        assert_eq!(api.limits.max_latency, Some(Duration::from_secs(3)));
        assert_eq!(
            api.limits.cert_expiry_warning,
            Some(Duration::from_secs(14 * 86_400))
        );
        let ProbeSpec::Tcp(smtp) = &c.checks[1].spec else {
            panic!("not tcp")
        };
        assert!(smtp.tls && smtp.expect_regex.is_some());
    }

    #[test]
    fn recurring_maintenance_windows() {
        let c = valid(
            r#"
[[check]]
id = "db"
type = "tcp"
host = "db"
port = 5432
[[maintenance]]
title = "Weekly database upkeep"
checks = ["db"]
cron = "0 0 2 * * Sun"
duration = "30m"
"#,
        );
        let m = &c.maintenance[0];
        assert_eq!(m.title, "Weekly database upkeep");
        assert_eq!(m.checks[0].as_str(), "db");
        assert_eq!(m.duration, Duration::from_secs(1800));
        check(
            r#"[[check]]
id = "db"
type = "tcp"
host = "db"
port = 5432
[[maintenance]]
title = "Oops"
checks = ["db", "nope"]
cron = "at two on sundays"
duration = "30 parsecs"
"#,
            &[
                "etc/watchpost.toml:8:17: maintenance #1: checks: there is no check with id \"nope\"",
                "etc/watchpost.toml:9:8: maintenance #1: cron: invalid expression \"at two on sundays\": Invalid pattern: Pattern must have between 5 and 7 fields.; write e.g. \"0 0 2 * * Sun\" (UTC)",
                "etc/watchpost.toml:10:12: maintenance #1: invalid duration \"30 parsecs\" for duration: unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)",
            ],
        );
    }

    #[test]
    fn probe_depth_key_errors() {
        check(
            r#"[[check]]
id = "a"
type = "http"
url = "http://a/"
body_regex = "("
json_equals = 1
ip = "v5"
[[check]]
id = "b"
type = "tcp"
host = "b"
port = 1
tls_insecure = true
"#,
            &[
                "etc/watchpost.toml:5:14: check \"a\": body_regex: invalid regex: error: unclosed group",
                "etc/watchpost.toml:6:15: check \"a\": json_equals needs json_path",
                "etc/watchpost.toml:7:6: check \"a\": ip: unknown family \"v5\": use \"v4\" or \"v6\"",
                "etc/watchpost.toml:13:16: check \"b\": tls_insecure needs tls = true",
            ],
        );
    }

    #[test]
    fn key_of_the_wrong_type() {
        check(
            "[[check]]\nid = \"db\"\ntype = \"tcp\"\nhost = \"h\"\nport = \"5432\"\n",
            &["etc/watchpost.toml:5:8: invalid type: string \"5432\", expected i64"],
        );
        check(
            "[defaults]\ninterval = 30\n",
            &["etc/watchpost.toml:2:12: invalid type: integer `30`, expected a string"],
        );
    }

    #[test]
    fn bad_duration() {
        check(
            "[defaults]\ninterval = \"30 parsecs\"\n",
            &[
                r#"etc/watchpost.toml:2:12: defaults: invalid duration "30 parsecs" for interval: unknown time unit "parsecs", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)"#,
            ],
        );
        check(
            "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\ninterval = \"0s\"\n",
            &["etc/watchpost.toml:6:12: check \"a\": interval must be greater than 0"],
        );
    }

    #[test]
    fn timeout_longer_than_interval() {
        let tcp = "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n";
        check(
            &format!("{tcp}interval = \"30s\"\ntimeout = \"1m\"\n"),
            &["etc/watchpost.toml:7:11: check \"a\": timeout 1m is longer than interval 30s"],
        );
        check(
            &format!("{tcp}interval = \"5s\"\n"),
            &[
                "etc/watchpost.toml:6:12: check \"a\": timeout 10s (from [defaults]) is longer than interval 5s",
            ],
        );
        // Reported once at [defaults], not again for every check that inherits both.
        check(
            &format!("[defaults]\ntimeout = \"2m\"\n\n{tcp}"),
            &["etc/watchpost.toml:2:11: defaults: timeout 2m is longer than interval 1m"],
        );
    }

    #[test]
    fn bad_thresholds() {
        check(
            "[defaults]\nfailure_threshold = 0\nsuccess_threshold = 5000000000\n",
            &[
                "etc/watchpost.toml:2:21: defaults: failure_threshold must be between 1 and 4294967295",
                "etc/watchpost.toml:3:21: defaults: success_threshold must be between 1 and 4294967295",
            ],
        );
    }

    #[test]
    fn bad_and_duplicate_ids() {
        let tcp = "type = \"tcp\"\nhost = \"h\"\nport = 1\n";
        check(
            &format!("[[check]]\nid = \"a\"\n{tcp}\n[[check]]\nid = \"a\"\n{tcp}"),
            &["etc/watchpost.toml:8:6: duplicate check id \"a\", first defined on line 2"],
        );
        check(
            &format!("[[check]]\nid = \"Web Site\"\n{tcp}\n[[check]]\n{tcp}"),
            &[
                "etc/watchpost.toml:2:6: invalid check id \"Web Site\": use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
                "etc/watchpost.toml:7:1: check #2: missing `id`",
            ],
        );
    }

    #[test]
    fn type_and_its_keys() {
        check(
            "[[check]]\nid = \"a\"\ntype = \"ftp\"\n\n[[check]]\nid = \"b\"\n",
            &[
                "etc/watchpost.toml:3:8: check \"a\": unknown type \"ftp\": use http, tcp or dns",
                "etc/watchpost.toml:5:1: check \"b\": missing `type` (http, tcp or dns)",
            ],
        );
        check(
            "[[check]]\nid = \"web\"\ntype = \"http\"\nurl = \"https://example.org/\"\nport = 443\n",
            &["etc/watchpost.toml:5:1: check \"web\": `port` is not a key of an http check"],
        );
    }

    #[test]
    fn missing_url() {
        check(
            "[[check]]\nid = \"web\"\ntype = \"http\"\n",
            &["etc/watchpost.toml:3:1: check \"web\": missing `url`, required for an http check"],
        );
    }

    #[test]
    fn bad_url() {
        let web = "[[check]]\nid = \"web\"\ntype = \"http\"\n";
        check(
            &format!("{web}url = \"example.org\"\n"),
            &[
                "etc/watchpost.toml:4:7: check \"web\": url: invalid URL \"example.org\": relative URL without a base",
            ],
        );
        check(
            &format!("{web}url = \"ftp://example.org/\"\n"),
            &[
                "etc/watchpost.toml:4:7: check \"web\": url: invalid URL \"ftp://example.org/\": the scheme must be http or https",
            ],
        );
    }

    #[test]
    fn bad_port() {
        let db = "[[check]]\nid = \"db\"\ntype = \"tcp\"\nhost = \"db.example.org\"\n";
        check(
            &format!("{db}port = 0\n"),
            &["etc/watchpost.toml:5:8: check \"db\": port must be between 1 and 65535"],
        );
        check(
            &format!("{db}port = 70000\n"),
            &["etc/watchpost.toml:5:8: check \"db\": port must be between 1 and 65535"],
        );
    }

    #[test]
    fn unset_environment_variable() {
        check(
            "[[check]]\nid = \"web\"\ntype = \"http\"\nurl = \"https://u:${SMTP_PASSWORD}@example.org/\"\n",
            &[
                "etc/watchpost.toml:4:7: check \"web\": url: environment variable SMTP_PASSWORD is not set",
            ],
        );
    }

    #[test]
    fn bad_http_dns_and_server_values() {
        check(
            r#"[server]
listen = "localhost:8080"

[[check]]
id = "web"
type = "http"
url = "https://example.org/"
method = "get"
headers = { "Bad Name" = "x", X-Token = "a\u0007b" }
expect_status = [600, "2yy", "299-200"]

[[check]]
id = "dns"
type = "dns"
query = "example..org"
record = "XYZ"
server = "dns.google"
expect_rcode = "OOPS"
"#,
            &[
                r#"etc/watchpost.toml:2:10: server: listen: invalid address "localhost:8080": use ip:port, like 127.0.0.1:8080"#,
                r#"etc/watchpost.toml:8:10: check "web": method: invalid HTTP method "get": use GET, HEAD, POST …"#,
                r#"etc/watchpost.toml:9:13: check "web": headers: invalid header name "Bad Name""#,
                r#"etc/watchpost.toml:9:41: check "web": headers: invalid value for header "X-Token""#,
                r#"etc/watchpost.toml:10:18: check "web": expect_status: 600 is not an HTTP status code (100 to 599)"#,
                r#"etc/watchpost.toml:10:23: check "web": expect_status: invalid status "2yy": use a code like 200, a class like "2xx" or a range like "200-299""#,
                r#"etc/watchpost.toml:10:30: check "web": expect_status: invalid status range "299-200": the first code is greater than the second"#,
                r#"etc/watchpost.toml:15:9: check "dns": query: "example..org" is not a DNS name: each dot-separated label must have 1 to 63 characters"#,
                r#"etc/watchpost.toml:16:10: check "dns": record: unknown record type "XYZ": use one of A AAAA CNAME MX TXT NS SOA SRV CAA PTR"#,
                r#"etc/watchpost.toml:17:10: check "dns": server: invalid address "dns.google": use an IP address with an optional port, like 9.9.9.9:53"#,
                r#"etc/watchpost.toml:18:16: check "dns": expect_rcode: unknown rcode "OOPS": use a name like NOERROR, NXDOMAIN or SERVFAIL"#,
            ],
        );
    }

    #[test]
    fn every_problem_of_every_check_is_reported_in_file_order() {
        check(
            r#"[storage]
keep_raw = "forever"

[[check]]
id = "web"
type = "http"
interval = "10s"
timeout = "15s"
port = 80

[[check]]
id = "db"
type = "tcp"
host = "db"
port = 0

[[check]]
id = "web"
type = "dns"
"#,
            &[
                r#"etc/watchpost.toml:2:12: storage: invalid duration "forever" for keep_raw: expected number at 0; write a number and a unit, like 30s, 5m or 14d"#,
                r#"etc/watchpost.toml:6:1: check "web": missing `url`, required for an http check"#,
                r#"etc/watchpost.toml:8:11: check "web": timeout 15s is longer than interval 10s"#,
                r#"etc/watchpost.toml:9:1: check "web": `port` is not a key of an http check"#,
                r#"etc/watchpost.toml:15:8: check "db": port must be between 1 and 65535"#,
                r#"etc/watchpost.toml:18:6: duplicate check id "web", first defined on line 5"#,
                r#"etc/watchpost.toml:19:1: check "web": missing `query`, required for a dns check"#,
            ],
        );
    }

    #[test]
    fn environment_references_expand() {
        let env = |name: &str| (name == "A").then(|| "1".to_string());
        assert_eq!(expand_env("x${A}y${A}", &env), Ok("x1y1".to_string()));
        assert_eq!(
            expand_env("cost: $5, $${A}", &env),
            Ok("cost: $5, ${A}".to_string())
        );
        assert_eq!(
            expand_env("${A", &env),
            Err("unterminated ${ (write $${ for a literal ${)".to_string())
        );
        assert_eq!(
            expand_env("${A-B}", &env),
            Err("invalid environment variable name \"A-B\" in ${…}".to_string())
        );
        assert_eq!(
            expand_env("${B}", &env),
            Err("environment variable B is not set".to_string())
        );
    }

    #[test]
    fn relative_storage_path_is_relative_to_the_config_file() {
        let config = valid("[storage]\npath = \"data/w.db\"\n");
        assert_eq!(config.storage.path, Path::new("etc/data/w.db"));
    }
}
