//! Operator alerts: events become outbox rows in the writer's transaction (`route`), and a worker
//! delivers them to webhooks, chat services, PagerDuty and email with retries, in order per
//! destination, grouped and damped (`worker`, `format`, `send`). Public email subscribers get
//! the public events through the same outbox (`public`, `subscribers`).
//!
//! Nothing here writes SQL: the outbox lives in `store`, which calls `route` and `public` and
//! reads `message`, nothing else of this module.

pub mod format;
pub mod message;
pub mod public;
pub mod route;
pub mod send;
pub mod subscribers;
pub mod worker;

use std::net::SocketAddr;

use url::Url;

use crate::clock::Timestamp;
use crate::config::{Config, Server};

pub use message::{CheckRef, Message, What};
pub use route::{FirstFailure, IncidentFacts, Outgoing, Routing};
pub use send::{Error, Sender};
pub use worker::Worker;

/// Where links point: `[server] public_url`, else the address the daemon listens on.
pub fn base_url(server: &Server, bound: SocketAddr) -> Url {
    server.public_url.clone().unwrap_or_else(|| {
        Url::parse(&format!("http://{bound}/")).unwrap_or_else(|_| {
            // A socket address always makes a valid URL; this is only a fallback.
            Url::parse("http://localhost/").expect("a constant URL parses")
        })
    })
}

/// Sends a test message to the destination `name` now, outside the outbox; answers what the
/// receiver said, or why it could not be sent.
pub async fn send_test(config: &Config, name: &str) -> Result<String, Error> {
    let Some(dest) = config.notify.destinations.iter().find(|d| d.name == name) else {
        let names: Vec<&str> = config
            .notify
            .destinations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        return Err(Error::Setup(if names.is_empty() {
            format!("there is no destination {name:?}: the config has no [[notify]]")
        } else {
            format!(
                "there is no destination {name:?}; the config has {}",
                names.join(", ")
            )
        }));
    };
    let sender = Sender::new(&config.notify)?;
    let now = Timestamp::now();
    let id = format!("test:{}:{}", now.0, dest.name);
    let items = [format::Item {
        key: id.clone(),
        message: Message::test(now),
    }];
    let base = base_url(&config.server, config.server.listen);
    let batch = format::Batch {
        id: &id,
        items: &items,
        now,
        base: &base,
    };
    let out = format::render(&dest.target, &batch);
    sender.send(&dest.target, &id, out).await
}
