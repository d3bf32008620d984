//! The validated configuration: real types with every default filled in.
//!
//! `raw` mirrors the TOML for serde; `validate` turns it into [`Config`], collecting every problem
//! with its file, line and column. After [`load`] returns nothing else parses strings or looks up an
//! `Option` that "should be set". This module does no network I/O.

mod check;
mod diag;
mod dns;
mod env;
mod fields;
mod http;
mod notify;
mod notify_target;
mod raw;
mod recover;
mod sections;
mod smtp;
mod split;
mod subscriptions;
mod tcp;
#[cfg(test)]
mod test_support;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::model::{CheckId, PublicDetails};
pub use crate::monitor::Policy;
pub use crate::probe::{Limits, ProbeSpec};
pub use env::{Secret, Secrets};
pub use notify::{CertDays, Destination, Notify, Timing};
pub use notify_target::Target;
pub use smtp::{Smtp, SmtpSecurity};
pub use subscriptions::Subscriptions;

/// The whole daemon configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from, for messages.
    pub path: PathBuf,
    pub server: Server,
    pub storage: Storage,
    /// Each shared by `Arc`, so the scheduler and the recorder hold a pointer, not a copy.
    pub checks: Vec<Arc<Check>>,
    /// Recurring maintenance windows (`[[maintenance]]`).
    pub maintenance: Vec<crate::maintenance::Recurring>,
    /// The admin area; `None` when no user or token is configured, and then there is none.
    pub admin: Option<Admin>,
    /// Operator alerts: `[[notify]]`, `[smtp]` and `[notifications]`.
    pub notify: Notify,
    /// Public email subscriptions: `[subscriptions]`.
    pub subscriptions: Subscriptions,
}

/// Who may use the admin area and its API.
#[derive(Clone, Debug)]
pub struct Admin {
    pub users: Vec<AdminUser>,
    /// Bearer tokens for `/api/v1/admin/*`, as configured (compared in constant time).
    pub api_tokens: Vec<String>,
}

/// An admin who signs in with a password.
#[derive(Clone, Debug)]
pub struct AdminUser {
    pub name: String,
    /// An argon2id PHC string, from `watchpost hash-password`.
    pub password_hash: String,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub listen: SocketAddr,
    /// Base URL of the public page, used in feeds, e-mails and embed.js.
    pub public_url: Option<url::Url>,
    pub title: String,
}

#[derive(Clone, Debug)]
pub struct Storage {
    /// The SQLite file, created if missing. A relative `path` in the TOML is resolved against the
    /// directory of the config file, so the daemon finds the same file whatever its working directory.
    pub path: PathBuf,
    /// How long raw results are kept.
    pub keep_raw: Duration,
    /// How long hourly rollups are kept (at least 2 days); daily rollups are kept forever.
    pub keep_hourly: Duration,
}

/// One `[[check]]`, with the `[defaults]` applied.
#[derive(Clone, Debug)]
pub struct Check {
    pub id: CheckId,
    pub name: String,
    /// Display group; empty when the check belongs to none.
    pub group: String,
    pub interval: Duration,
    pub policy: Policy,
    pub limits: Limits,
    pub spec: ProbeSpec,
    /// How much of its failures the public pages, feeds and APIs show.
    pub public_details: PublicDetails,
    /// The values its `${NAME}`s expanded to, taken out of every failure message.
    pub secrets: Secrets,
}

impl Check {
    /// The kind of probe, as shown in labels and APIs: `http`, `tcp` or `dns`.
    pub fn kind(&self) -> crate::model::ProbeKind {
        self.spec.kind()
    }

    /// After this long without a result the check's state is no longer known.
    pub fn stale_after(&self) -> Duration {
        self.interval * 2 + self.limits.timeout
    }
}

/// Everything wrong with a config file, one message per problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// One problem in a config file, located as `file:line:column`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, Error> {
    let src = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(path, &src)
}

/// Validates config text; `path` is only used to name the file in messages.
pub fn parse(path: &Path, src: &str) -> Result<Config, Error> {
    validate::validate(path, src)
}
