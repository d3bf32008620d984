//! watchpost: an active uptime monitor in one daemon.
//!
//! # Layout
//! - [`config`]: the TOML, validated once into real types.
//! - [`probe`]: one HTTP, TCP or DNS probe into an [`probe::Outcome`].
//! - [`clock`]: UTC millisecond timestamps and their hour/day arithmetic.

pub mod app;
pub mod clock;
pub mod config;
pub mod history;
pub mod maintenance;
pub mod metrics;
pub mod monitor;
pub mod probe;
pub mod recorder;
pub mod scheduler;
pub mod snapshot;
pub mod store;
pub mod uptime;
pub mod web;
