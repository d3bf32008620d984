//! The one integration test binary: real servers on loopback, a real SQLite file in a temp dir.

mod actions;
mod admin;
mod architecture;
mod attacks;
mod browser;
mod cli;
mod daemon;
mod dns_server;
mod flood;
mod hostile;
mod lifecycle;
mod local_fault;
mod maintenance;
mod notify;
mod ops;
mod probe_depth;
mod probe_dns;
mod public_api;
mod redaction;
mod reload;
mod schedule;
mod service;
mod store;
mod tls_messages;
mod visitors;
mod web;
