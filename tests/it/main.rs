//! The one integration test binary: real servers on loopback, a real SQLite file in a temp dir.

mod admin;
mod daemon;
mod dns_server;
mod lifecycle;
mod maintenance;
mod probe_depth;
mod probe_dns;
mod schedule;
mod support;
mod web;
