//! What the config unit tests share: a fake environment and the `check(input, expected)` helper.
//!
//! Test-only; it validates through the same `build` the daemon uses and never reads the real
//! environment or the file system.

use std::path::Path;

use super::validate::build;
use super::{Check, Config, Error};
use crate::probe::{HttpSpec, ProbeSpec};

/// A fake environment, so tests never depend on or touch the real one.
fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("s3cret".to_string()),
        "DB_HOST" => Some("db.internal".to_string()),
        _ => None,
    }
}

/// Validates `src` as if read from `etc/watchpost.toml`.
pub(super) fn parse(src: &str) -> Result<Config, Error> {
    build(Path::new("etc/watchpost.toml"), src, &env)
}

/// The config `src` describes; panics with the problems when it is refused.
pub(super) fn valid(src: &str) -> Config {
    parse(src).unwrap_or_else(|e| panic!("expected a valid config, got:\n{e}"))
}

/// Asserts that `src` is refused with exactly these `file:line:col: message` lines.
pub(super) fn check(src: &str, expected: &[&str]) {
    match parse(src) {
        Ok(_) => panic!("expected {expected:#?}, got a valid config"),
        Err(Error::Invalid(problems)) => {
            let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert_eq!(got, expected);
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// The http spec of `c`; panics when it is another type.
pub(super) fn http_spec(c: &Check) -> &HttpSpec {
    match &c.spec {
        ProbeSpec::Http(s) => s,
        other => panic!("expected an http check, got {other:?}"),
    }
}
