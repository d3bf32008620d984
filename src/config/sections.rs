//! The top-level tables other than `[[check]]`: `[server]`, `[storage]`, `[defaults]`, `[admin]` and
//! each `[[maintenance]]`.
//!
//! Each function validates one table and fills in the built-in defaults. `[defaults]` is only parsed
//! here; applying it to each check is `check`'s job. Nothing here opens the database or a socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_spanned::Spanned;

use super::diag::Problems;
use super::env::{Env, expand};
use super::fields::{capped_duration, duration, http_url, public_details, threshold, too_long};
use super::raw;
use super::{Admin, AdminUser, CheckId, Policy, Server, Storage};
use crate::maintenance::Recurring;
use crate::model::PublicDetails;

/// `[server]`: where to listen and how the public page names itself.
pub(super) fn server(s: &raw::Server, p: &mut Problems<'_>) -> Option<Server> {
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

/// The shortest `keep_hourly`: the 24 h uptime window and the response-time chart read the last
/// 25 hourly rows; two days leave a day's room.
pub(super) const MIN_KEEP_HOURLY: Duration = Duration::from_secs(2 * 86_400);

/// `[storage]`: the database file (relative to the config file's directory), raw and hourly
/// retention.
pub(super) fn storage(config: &Path, s: &raw::Storage, p: &mut Problems<'_>) -> Option<Storage> {
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
    let keep_hourly = match &s.keep_hourly {
        None => Some(Duration::from_secs(90 * 86_400)),
        Some(v) => duration(p, "storage: ", "keep_hourly", v).and_then(|d| {
            if d >= MIN_KEEP_HOURLY {
                return Some(d);
            }
            p.at(
                v.span(),
                "storage: keep_hourly must be at least 2d: the 24h uptime and the response-time chart read hourly rollups".to_string(),
            );
            None
        }),
    };
    let dir = config.parent().unwrap_or(Path::new(""));
    Some(Storage {
        path: dir.join(path?),
        keep_raw: keep_raw?,
        keep_hourly: keep_hourly?,
    })
}

/// `[defaults]` with the built-in values filled in; `None` where the file's value is invalid
/// (already reported), so checks that inherit it are not reported again.
pub(super) struct Defaults {
    pub(super) interval: Option<Duration>,
    pub(super) timeout: Option<Duration>,
    pub(super) failure_threshold: Option<NonZeroU32>,
    pub(super) success_threshold: Option<NonZeroU32>,
    pub(super) degraded_after: Option<Option<Duration>>,
    pub(super) public_details: Option<PublicDetails>,
}

/// `[defaults]`, each problem reported once here rather than at every check that inherits it.
pub(super) fn defaults(d: &raw::Defaults, p: &mut Problems<'_>) -> Defaults {
    const CTX: &str = "defaults: ";
    let policy = Policy::default();
    let interval = d
        .interval
        .as_ref()
        .map_or(Some(Duration::from_secs(60)), |v| {
            capped_duration(p, CTX, "interval", v)
        });
    let timeout = d
        .timeout
        .as_ref()
        .map_or(Some(Duration::from_secs(10)), |v| {
            capped_duration(p, CTX, "timeout", v)
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
        public_details: d
            .public_details
            .as_ref()
            .map_or(Some(PublicDetails::Redacted), |v| public_details(p, CTX, v)),
    }
}

/// One `[[maintenance]]`: a title, the checks it covers, a cron expression (UTC) and a duration.
pub(super) fn recurring(
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
pub(super) fn admin(a: &Spanned<raw::Admin>, env: Env<'_>, p: &mut Problems<'_>) -> Option<Admin> {
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::test_support::{check, valid};

    #[test]
    fn keep_hourly_defaults_to_90_days_and_takes_a_duration() {
        assert_eq!(
            valid("").storage.keep_hourly,
            Duration::from_secs(90 * 86_400)
        );
        let c = valid("[storage]\nkeep_hourly = \"400d\"\n");
        assert_eq!(c.storage.keep_hourly, Duration::from_secs(400 * 86_400));
        assert_eq!(
            valid("[storage]\nkeep_hourly = \"2d\"\n")
                .storage
                .keep_hourly,
            Duration::from_secs(2 * 86_400)
        );
    }

    #[test]
    fn keep_hourly_shorter_than_the_readers_need_or_invalid_is_reported_where_it_is() {
        check(
            "[storage]\nkeep_hourly = \"36h\"\n",
            &[
                r#"etc/watchpost.toml:2:15: storage: keep_hourly must be at least 2d: the 24h uptime and the response-time chart read hourly rollups"#,
            ],
        );
        check(
            "[storage]\nkeep_raw = \"0s\"\nkeep_hourly = \"a year\"\n",
            &[
                r#"etc/watchpost.toml:2:12: storage: keep_raw must be greater than 0"#,
                r#"etc/watchpost.toml:3:15: storage: invalid duration "a year" for keep_hourly: expected number at 0; write a number and a unit, like 30s, 5m or 14d"#,
            ],
        );
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
    fn relative_storage_path_is_relative_to_the_config_file() {
        let config = valid("[storage]\npath = \"data/w.db\"\n");
        assert_eq!(config.storage.path, Path::new("etc/data/w.db"));
    }
}
