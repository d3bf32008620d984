//! The one integration test binary: real servers on loopback, a real SQLite file in a temp dir.

mod daemon;
mod dns_server;
mod lifecycle;
mod probe_dns;
mod public_api;
mod support;
mod web;
