//! The keys of a tcp check, turned into a [`TcpSpec`].
//!
//! Owns the list of keys a tcp check may set and their messages. A host is checked for shape,
//! never resolved or connected to.

use super::diag::{Problems, Required};
use super::env::{Env, expand};
use super::fields::{ip_family, regex_key};
use super::raw;
use crate::probe::TcpSpec;

/// The type-specific keys a tcp check may set; `check` refuses the others.
pub(super) const KEYS: &[&str] = &[
    "host",
    "port",
    "send",
    "expect",
    "expect_regex",
    "tls",
    "tls_insecure",
    "cert_expiry_warning",
    "ip",
];

/// The tcp spec; `required` reports the keys this type needs and the file leaves out.
pub(super) fn spec(
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

#[cfg(test)]
mod tests {
    use crate::config::test_support::check;

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
}
