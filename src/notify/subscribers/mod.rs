//! Public email subscriptions: the mail subscribers get and how it reaches them.
//!
//! An event the public hears of is one outbox row for the `@subscribers` destination
//! (`notify::public`, in the writer's transaction); the fan-out lane (`fanout`) claims it like
//! any other lane and mails every confirmed subscriber who wants it, one at a time through one
//! SMTP session (`smtp`), advancing the row's cursor (the last subscriber id done) after each mail
//! the server accepted. `notices` sends the mails of subscribing (confirmation links, "you are
//! already subscribed") from a bounded in-memory queue, so no token is ever stored in clear;
//! `mail` writes every mail; `token` makes and hashes tokens; `export` is the CLI's.
//!
//! Nothing here writes SQL or serves HTTP.

pub mod export;
pub mod fanout;
pub mod mail;
pub mod notices;
pub mod smtp;
pub mod token;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use fanout::Fanout;
pub use mail::Site;
pub use notices::{Notice, Notices};
pub use smtp::{Post, Refusal};
pub use token::Keys;

use super::send::Error;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{Reader, Writer};

/// Subscriptions as the daemon runs them: what the web needs, and the tasks to wait for.
pub struct Started {
    pub keys: Keys,
    pub notices: Notices,
    pub tasks: Vec<JoinHandle<()>>,
}

/// What [`start`] needs from the rest of the daemon.
pub struct Handles {
    pub writer: Writer,
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
}

/// Starts the fan-out lane and the queue of subscription mails until `token` is cancelled,
/// both following the config in force; `None` when subscriptions are off.
pub async fn start(
    config: watch::Receiver<Arc<Config>>,
    handles: Handles,
    token: CancellationToken,
) -> Result<Option<Started>, Error> {
    if !config.borrow().subscriptions.email {
        return Ok(None);
    }
    let candidate = token::random_bytes()
        .ok_or_else(|| Error::Setup("the system random source failed".into()))?;
    let key = handles
        .writer
        .subscription_key(candidate.to_vec())
        .await
        .map_err(|e| Error::Setup(format!("reading the subscription key: {e}")))?;
    let keys = Keys::new(&key);
    let (notices, queue) = Notices::channel();
    let fanout = Fanout {
        events: handles.writer.subscribe(),
        writer: handles.writer,
        reader: handles.reader,
        keys: keys.clone(),
        config: config.clone(),
        metrics: handles.metrics.clone(),
    };
    let tasks = vec![
        tokio::spawn(fanout.run(token.clone())),
        tokio::spawn(notices::run(queue, config, handles.metrics, token)),
    ];
    Ok(Some(Started {
        keys,
        notices,
        tasks,
    }))
}

/// The longest address taken, in bytes (RFC 5321's limit on a path, less its brackets).
pub const MAX_ADDRESS: usize = 254;

/// An address as typed into the form, trimmed and checked; the error says what is wrong.
pub fn address(input: &str) -> Result<lettre::Address, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter your email address.");
    }
    if input.len() > MAX_ADDRESS {
        return Err("That address is too long.");
    }
    if input.chars().any(char::is_control) {
        return Err("That is not an email address.");
    }
    input
        .parse::<lettre::Address>()
        .map_err(|_| "That is not an email address.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_capped_and_parsed() {
        assert_eq!(
            address("  ann@example.org \n").map(|a| a.to_string()),
            Ok("ann@example.org".to_string())
        );
        assert_eq!(address(""), Err("Enter your email address."));
        assert_eq!(address("ann"), Err("That is not an email address."));
        assert_eq!(address("a@b@c"), Err("That is not an email address."));
        assert_eq!(
            address("ann@exa\u{7}mple.org"),
            Err("That is not an email address.")
        );
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(address(&long), Err("That address is too long."));
    }
}
