//! `${NAME}` references in config values, replaced from the environment.
//!
//! Owns the `${NAME}` / `$${` syntax and the messages for it, [`Secret`] (one value that must
//! never be shown) and [`Secrets`]: the values a check's references expanded to, so that they can
//! be taken back out of what its probes report. It reads variables only through the [`Env`] it is
//! given, and never quotes an expanded value in a message or a `Debug` form: it may be a secret.

use std::cell::RefCell;
use std::fmt;

use serde_spanned::Spanned;

use super::diag::Problems;

/// Looks up an environment variable for `${NAME}`; tests pass a fake one.
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

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

/// `v` with its `${NAME}`s replaced, or a problem at `v` naming the key.
pub(super) fn expand(
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

/// An [`Env`] that notes every value it answers, for a check's [`Secrets`].
pub(super) struct Recorder<'a> {
    env: Env<'a>,
    seen: RefCell<Vec<(String, String)>>,
}

impl<'a> Recorder<'a> {
    pub(super) fn new(env: Env<'a>) -> Recorder<'a> {
        Recorder {
            env,
            seen: RefCell::new(Vec::new()),
        }
    }

    /// Looks `name` up in the environment, noting the value.
    pub(super) fn lookup(&self, name: &str) -> Option<String> {
        let value = (self.env)(name)?;
        self.seen
            .borrow_mut()
            .push((name.to_string(), value.clone()));
        Some(value)
    }

    /// Every value looked up so far.
    pub(super) fn into_secrets(self) -> Secrets {
        Secrets::new(self.seen.into_inner())
    }
}

/// The values of the `${NAME}`s a check's keys expanded to (tokens, passwords, header values),
/// so that a failure message that would quote one (a target echoing a request, a name from the
/// environment) shows `${NAME}` instead, in storage, on every page and in the log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `(value, name)`, longest value first, so a value containing another goes first; a boxed
    /// slice, since every check carries one and most are empty.
    values: Box<[(String, String)]>,
}

impl Secrets {
    /// Values shorter than this are left in messages: taking out every `1` or `on` would garble
    /// them, and so short a value protects nothing anyway.
    pub const MIN_CHARS: usize = 4;

    /// The secrets among `(name, value)` pairs.
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Secrets {
        let mut values: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(_, value)| value.chars().count() >= Secrets::MIN_CHARS)
            .map(|(name, value)| (value, name))
            .collect();
        values.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
        values.dedup_by(|a, b| a.0 == b.0);
        Secrets {
            values: values.into_boxed_slice(),
        }
    }

    /// Replaces every secret value in `text` by `${NAME}`.
    pub fn scrub(&self, text: &mut String) {
        for (value, name) in &self.values {
            if text.contains(value.as_str()) {
                *text = text.replace(value.as_str(), &format!("${{{name}}}"));
            }
        }
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.values.iter().map(|(_, name)| format!("${{{name}}}")))
            .finish()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::check;

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
    fn secrets_are_written_back_as_their_names_and_never_printed() {
        let env = |name: &str| match name {
            "TOKEN" => Some("s3cret-token".to_string()),
            "PART" => Some("s3cret".to_string()),
            "FLAG" => Some("on".to_string()),
            _ => None,
        };
        let recorder = Recorder::new(&env);
        let lookup = |name: &str| recorder.lookup(name);
        for name in ["PART", "TOKEN", "FLAG", "UNSET"] {
            let _ = lookup(name);
        }
        let secrets = recorder.into_secrets();
        let mut text = "got \"Authorization: s3cret-token\" and s3cret, turned on".to_string();
        secrets.scrub(&mut text);
        assert_eq!(
            text,
            "got \"Authorization: ${TOKEN}\" and ${PART}, turned on"
        );
        let debug = format!("{secrets:?}");
        assert_eq!(debug, r#"["${TOKEN}", "${PART}"]"#);
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
}
