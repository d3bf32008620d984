//! Operator alerts: events become outbox rows in the writer's transaction (`route`), and a worker
//! delivers them to webhooks, chat services, PagerDuty and email with retries, in order per
//! destination, grouped and damped (`worker`, `format`, `send`).
//!
//! Nothing here writes SQL: the outbox lives in `store`, which calls [`route`] and nothing else
//! of this module.

pub mod format;
pub mod message;
pub mod route;

pub use message::{CheckRef, Message, What};
pub use route::{FirstFailure, IncidentFacts, Outgoing, Routing};
