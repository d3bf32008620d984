//! The keys of an http check, turned into an [`HttpSpec`].
//!
//! Owns the list of keys an http check may set and their messages. It expands `${NAME}` but never
//! quotes an expanded value (it may hold a secret), and never sends a request.

use http::{HeaderName, HeaderValue, Method};

use super::diag::{Problems, Required};
use super::env::{Env, expand};
use super::fields::{http_url, ip_family, json_value, regex_key, status_range};
use super::raw;
use crate::probe::{BodyConditions, HttpSpec, JsonCondition, JsonPath, StatusRange};

/// The type-specific keys an http check may set; `check` refuses the others.
pub(super) const KEYS: &[&str] = &[
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
];

/// The http spec; `required` reports the keys this type needs and the file leaves out.
pub(super) fn spec(
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Policy;
    use crate::config::test_support::{check, http_spec, valid};
    use crate::probe::{IpFamily, Limits, ProbeSpec};

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
}
