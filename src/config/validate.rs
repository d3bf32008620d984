//! Turns config text into a [`Config`](super::Config): parses the TOML, then hands each table to
//! `sections`, `check` and the per-type modules, collecting every problem with its location.
//!
//! Every problem is collected before returning: every syntax error (then nothing else, since the
//! document's shape is unknown), or every unknown key and wrongly-typed value (`recover`) and every
//! problem of every check. Nothing here touches the network: host names are checked for shape,
//! never resolved.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::check::check;
use super::diag::Problems;
use super::env::Env;
use super::notify::Written;
use super::raw;
use super::recover::{accept, root as recover};
use super::sections::{admin, defaults, recurring, server, storage};
use super::split;
use super::{Check, Config, Error};
use crate::maintenance::Recurring;

/// Validates config text, reading `${NAME}`s from the process environment.
pub(super) fn validate(path: &Path, src: &str) -> Result<Config, Error> {
    build(path, src, &|name| std::env::var(name).ok())
}

/// Validates config text with `env` for `${NAME}`; `path` names the file and anchors `[storage] path`.
pub(super) fn build(path: &Path, src: &str, env: Env<'_>) -> Result<Config, Error> {
    let mut p = Problems::new(path, src);
    match build_into(path, src, env, &mut p) {
        Some(config) => Ok(config),
        None => Err(p.into_error()),
    }
}

/// The config, or `None` with every problem reported into `p`.
///
/// A file with `[[check]]` headers is cut at them (`split`): the rest is parsed as one document,
/// each check on its own, read into the serde mirror, validated and dropped before the next. So
/// loading holds one check's tokens, tree and mirror at a time, never 100,000 of them. A piece
/// that does not parse, or a `check` outside the headers, sends it back to the whole file.
fn build_into(path: &Path, src: &str, env: Env<'_>, p: &mut Problems<'_>) -> Option<Config> {
    if let Some(split) = split::split(src) {
        match from_pieces(path, src, &split, env, p) {
            Ok(config) => return config,
            Err(Reread) => p.clear(),
        }
    }
    whole(path, src, env, p)
}

/// What says a split file is to be read whole, for its errors to be the whole file's.
struct Reread;

/// The config of a file cut at its `[[check]]` headers.
fn from_pieces(
    path: &Path,
    src: &str,
    split: &split::Split<'_>,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Result<Option<Config>, Reread> {
    let root = DeTable::parse(&split.rest).map_err(|_| Reread)?;
    let span = root.span();
    let table = root.into_inner();
    if table.keys().any(|k| k.get_ref() == "check") {
        return Err(Reread);
    }
    let Some(raw) = recover(Spanned::new(span, DeValue::Table(table)), p) else {
        return Ok(None);
    };
    let mut pieces = split.checks.iter();
    let mut broken = false;
    let config = assemble(path, raw, env, p, |p| {
        let range = pieces.next()?;
        let Some(item) = split::check(src, range.clone()) else {
            broken = true;
            return None;
        };
        // Read without a copy; only a refused check is parsed again, to be read piece by piece.
        match Spanned::<raw::Check>::deserialize(ValueDeserializer::from(item)) {
            Ok(c) => Some(Some(c)),
            Err(_) => {
                let mut item = split::check(src, range.clone())?;
                Some(accept::<Spanned<raw::Check>>(&mut item, p))
            }
        }
    });
    if broken { Err(Reread) } else { Ok(config) }
}

/// The config of a file read as one document: every syntax error reported, or every problem.
fn whole(path: &Path, src: &str, env: Env<'_>, p: &mut Problems<'_>) -> Option<Config> {
    let (root, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        // The document's shape is unknown after a syntax error: report them all, nothing else.
        for e in errors {
            p.at(e.span().unwrap_or(0..0), e.message().trim_end().to_string());
        }
        return None;
    }
    let span = root.span();
    let mut table = root.into_inner();
    let mut items = take_checks(&mut table).into_iter();
    let raw = recover(Spanned::new(span, DeValue::Table(table)), p)?;
    assemble(path, raw, env, p, |p| {
        let mut item = items.next()?;
        Some(accept::<Spanned<raw::Check>>(&mut item, p))
    })
}

/// Validates the file's sections and each check `next` reads (`None` when there are no more,
/// `Some(None)` for one refused whole), one at a time.
fn assemble(
    path: &Path,
    raw: raw::Config,
    env: Env<'_>,
    p: &mut Problems<'_>,
    mut next: impl FnMut(&mut Problems<'_>) -> Option<Option<Spanned<raw::Check>>>,
) -> Option<Config> {
    let server = server(&raw.server, p);
    let storage = storage(path, &raw.storage, p);
    let defaults = defaults(&raw.defaults, p);
    let mut first_line = HashMap::new();
    let mut written = Written::default();
    let mut checks: Vec<Arc<Check>> = Vec::new();
    let mut index = 0;
    while let Some(read) = next(p) {
        let Some(c) = read else {
            continue;
        };
        if !raw.notify.is_empty() {
            written.note(c.get_ref());
        }
        checks.extend(check(index, &c, &defaults, env, &mut first_line, p).map(Arc::new));
        index += 1;
    }
    checks.shrink_to_fit();
    let maintenance: Vec<Recurring> = raw
        .maintenance
        .iter()
        .enumerate()
        .filter_map(|(i, m)| recurring(i, m, &first_line, p))
        .collect();
    drop(first_line);
    let admin = raw.admin.as_ref().and_then(|a| admin(a, env, p));
    let notify = super::notify::notify(&raw, &written, path, env, p);
    let subscriptions = super::subscriptions::subscriptions(&raw, p);

    match (server, storage) {
        (Some(server), Some(storage)) if p.is_empty() => Some(Config {
            path: path.to_path_buf(),
            server,
            storage,
            checks,
            maintenance,
            admin,
            notify,
            subscriptions,
        }),
        _ => None,
    }
}

/// The elements of `[[check]]`, taken out of the document; a `check` that is not an array stays
/// for the mirror to refuse.
fn take_checks<'i>(table: &mut DeTable<'i>) -> Vec<Spanned<DeValue<'i>>> {
    let Some(key) = table.keys().find(|k| k.get_ref() == "check").cloned() else {
        return Vec::new();
    };
    if !matches!(
        table.get(&key).map(Spanned::get_ref),
        Some(DeValue::Array(_))
    ) {
        return Vec::new();
    }
    match table.remove(&key).map(Spanned::into_inner) {
        Some(DeValue::Array(items)) => items.into_iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use http::Method;
    use url::Url;

    use super::*;
    use crate::config::test_support::{check, http_spec, parse, valid};
    use crate::probe::{DnsSpec, Limits, ProbeSpec, Rcode, RecordKind, StatusRange, Transport};

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
        let kinds: Vec<&str> = config.checks.iter().map(|c| c.kind().as_str()).collect();
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
    fn unknown_key() {
        let problems = match parse("[[check]]\nid = \"a\"\ntype = \"http\"\nretries = 3\n") {
            Err(Error::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        };
        // The check's own problem is reported too, now that an unknown key no longer stops there.
        assert_eq!(problems.len(), 2, "{problems:#?}");
        let shown = problems[0].to_string();
        assert!(
            shown.starts_with(
                "etc/watchpost.toml:3:1: check \"a\": missing `url`, required for an http check"
            ),
            "{shown}"
        );
        let shown = problems[1].to_string();
        assert!(
            shown.starts_with(
                "etc/watchpost.toml:4:1: unknown field `retries`, expected one of `id`, `name`"
            ),
            "{shown}"
        );
        check(
            "[alerts.email]\nfrom = \"a@b\"\n",
            &[
                "etc/watchpost.toml:1:2: unknown field `alerts`, expected one of `server`, `storage`, `defaults`, `check`, `maintenance`, `admin`, `notify`, `smtp`, `notifications`, `subscriptions`",
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

    /// Every key a `[[check]]` may have, as serde lists them after an unknown one.
    const CHECK_KEYS: &str = "expected one of `id`, `name`, `group`, `type`, `interval`, `timeout`, `failure_threshold`, `success_threshold`, `degraded_after`, `max_latency`, `public_details`, `url`, `method`, `headers`, `expect_status`, `body_contains`, `body_not_contains`, `body_regex`, `json_path`, `json_equals`, `body`, `basic_auth`, `bearer_token`, `follow_redirects`, `ip`, `tls_insecure`, `cert_expiry_warning`, `host`, `port`, `send`, `expect`, `expect_regex`, `tls`, `query`, `record`, `server`, `expect_rcode`, `expect_answers`, `expect_answers_exact`, `transport`";

    /// Neither stops the reading: the port refused for its type is not reported again as missing,
    /// nor the password as missing where its misspelling was reported with it as the suggestion.
    #[test]
    fn every_unknown_key_and_wrong_type_is_reported_with_the_nearest_key() {
        check(
            r#"[server]
titel = "Status"

[[check]]
id = "db"
type = "tcp"
host = "db"
port = "5432"
intervall = "30s"

[[check]]
id = "web"
type = "http"
url = "https://example.org/"
expect_status = [200, true]
retries = 3
basic_auth = { username = "u", pasword = "p" }

[[check]]
id = "web"
type = "dns"
query = "example.org"

[alerts]
to = "ops@example.org"
"#,
            &[
                "etc/watchpost.toml:2:1: unknown field `titel`, expected one of `listen`, `public_url`, `title`; did you mean `title`?",
                r#"etc/watchpost.toml:8:8: invalid type: string "5432", expected i64"#,
                &format!(
                    "etc/watchpost.toml:9:1: unknown field `intervall`, {CHECK_KEYS}; did you mean `interval`?"
                ),
                r#"etc/watchpost.toml:15:23: invalid type: boolean `true`, expected a status code like 200, "2xx" or "200-299""#,
                &format!("etc/watchpost.toml:16:1: unknown field `retries`, {CHECK_KEYS}"),
                "etc/watchpost.toml:17:32: unknown field `pasword`, expected `username` or `password`; did you mean `password`?",
                r#"etc/watchpost.toml:20:6: duplicate check id "web", first defined on line 12"#,
                "etc/watchpost.toml:24:2: unknown field `alerts`, expected one of `server`, `storage`, `defaults`, `check`, `maintenance`, `admin`, `notify`, `smtp`, `notifications`, `subscriptions`",
            ],
        );
    }

    #[test]
    fn every_syntax_error_is_reported() {
        check(
            "[server\nlisten = \"127.0.0.1:1\"\n[[check]]\nid = \"a\"\ntype = = \"tcp\"\n",
            &[
                "etc/watchpost.toml:1:8: unclosed table, expected `]`",
                "etc/watchpost.toml:5:8: extra `=`, expected nothing",
                "etc/watchpost.toml:5:10: unexpected key or value, expected newline, `#`",
            ],
        );
    }

    /// Finding lines and columns must not rescan the file for each check: a 2,000-check file
    /// with a duplicate id in every other check is located in a few passes over its text.
    #[test]
    fn locating_is_linear_in_the_file() {
        let mut src = String::new();
        for i in 0..2000 {
            src.push_str(&format!(
                "[[check]]\nid = \"c{}\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n",
                i / 2
            ));
        }
        let mut p = Problems::new(Path::new("t.toml"), &src);
        assert!(build_into(Path::new("t.toml"), &src, &|_| None, &mut p).is_none());
        let scanned = p.scanned();
        let Err(Error::Invalid(problems)) = build(Path::new("t.toml"), &src, &|_| None) else {
            panic!("expected problems");
        };
        assert_eq!(problems.len(), 1000);
        assert!(
            scanned <= 2 * src.len(),
            "{scanned} bytes examined to locate problems in a file of {}",
            src.len()
        );
    }
}
