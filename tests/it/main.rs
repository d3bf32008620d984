//! The one integration test binary: real servers on loopback, a real SQLite file in a temp dir.

mod admin;
mod attacks;
mod browser;
mod cli;
mod daemon;
mod dns_server;
mod hostile;
mod lifecycle;
mod maintenance;
mod probe_depth;
mod probe_dns;
mod public_api;
mod schedule;
mod store;
mod web;
