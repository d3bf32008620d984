//! `${NAME}` references in config values, replaced from the environment.
//!
//! Owns the `${NAME}` / `$${` syntax and the messages for it. It reads variables only through the
//! [`Env`] it is given, and never quotes an expanded value in a message: it may be a secret.

use serde_spanned::Spanned;

use super::diag::Problems;

/// Looks up an environment variable for `${NAME}`; tests pass a fake one.
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

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
