//! watchpost: an active uptime monitor in one daemon.
//!
//! # Layout
//! - [`app`]: wiring, task spawning and the ordered shutdown.
//! - [`config`]: the TOML, validated once into real types.
//! - [`scheduler`]: when each probe runs; [`reload`]: a new config applied while running.
//! - [`probe`]: one HTTP, TCP or DNS probe into an [`probe::Outcome`].
//! - [`recorder`]: the one consumer of outcomes: state, incidents, snapshot, metrics.
//! - [`monitor`]: the pure state machine; [`uptime`]: the pure rollup arithmetic.
//! - [`maintenance`]: which maintenance window covers a check when.
//! - [`store`]: SQLite, behind one writer thread and read-only connections.
//! - [`history`]: uptime figures and day cells read from rollups for the pages.
//! - [`snapshot`]: the in-memory "now" and "history" the web reads.
//! - [`web`]: pages, APIs, feeds, badges, the admin area; [`metrics`]: Prometheus.
//! - [`redact`]: what the public may read of a failure.
//! - [`model`]: the shared vocabulary (ids, states, impacts, statuses, actions, phases).
//! - [`clock`]: UTC millisecond timestamps and their hour/day arithmetic.
//! - [`logline`]: untrusted text escaped and cut for log lines.
//! - [`export`]: one check's results, days or incidents as CSV or JSON (`watchpost export`).
//! - [`service`]: the systemd protocol: ready, status lines and the watchdog.
//! - `words`: times and durations as people read them ("Dec 3, 11:24 UTC", "6 min 29 s").
//! - [`i18n`]: the public pages' words in each language, and the choice of one.

pub mod actions;
pub mod app;
pub mod clock;
pub mod config;
pub mod event;
pub mod export;
pub mod history;
pub mod i18n;
pub mod logging;
pub mod logline;
pub mod maintenance;
pub mod metrics;
pub mod model;
pub mod monitor;
pub mod notify;
pub mod probe;
pub mod recorder;
pub mod redact;
pub mod reload;
pub mod scheduler;
pub mod service;
pub mod snapshot;
pub mod store;
pub mod uptime;
pub mod web;
mod words;
