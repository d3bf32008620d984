//! The one integration test binary: real servers on loopback, a real SQLite file in a temp dir.

mod actions;
mod admin;
mod architecture;
mod browser;
mod cli;
mod daemon;
mod dns_server;
mod hostile;
mod lifecycle;
mod local_fault;
mod maintenance;
mod probe_depth;
mod probe_dns;
mod public_api;
mod schedule;
mod smtp_sink;
mod store;
mod subscribe;
mod tls_messages;
mod web;
