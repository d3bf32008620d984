//! Public email subscriptions: the mail subscribers get and how it reaches them.
//!
//! An event the public hears of is one outbox row for the `@subscribers` destination
//! (`notify::public`, in the writer's transaction); the fan-out lane (`fanout`) claims it like
//! any other lane and mails every confirmed subscriber who wants it, one at a time through one
//! SMTP connection, advancing the row's cursor (the last subscriber id done) after each mail
//! the server accepted. `notices` sends the mails of subscribing (confirmation links, "you are
//! already subscribed") from a bounded in-memory queue, so no token is ever stored in clear;
//! `mail` writes every mail; `token` makes and hashes tokens; `export` is the CLI's.
//!
//! Nothing here writes SQL or serves HTTP.

pub mod export;
pub mod fanout;
pub mod mail;
pub mod notices;
pub mod token;

use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use fanout::Fanout;
pub use mail::Site;
pub use notices::{Notice, Notices};
pub use token::Keys;

use super::send::{Error, smtp_builder};
use crate::config::Smtp;

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

/// One connection to the mail server for subscriber mail, and the sender.
#[derive(Clone)]
pub struct Post {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The server refused this address (no such mailbox, mailbox full, bad name): another
    /// address would go through, this one will not.
    #[error("the server refused the address: {0}")]
    Address(String),
    /// The server refused the mail or could not be reached.
    #[error("{0}")]
    Server(String),
}

impl Post {
    /// A transport for `smtp` that keeps at most one connection open.
    pub fn new(smtp: &Smtp) -> Result<Post, Error> {
        let transport = smtp_builder(smtp)?
            .pool_config(PoolConfig::new().max_size(1))
            .build();
        Ok(Post {
            transport,
            from: smtp.from.clone(),
        })
    }

    /// Sends `letter` to `to`, its Message-ID made from `key`.
    pub async fn send(&self, letter: &mail::Letter, to: &str, key: &str) -> Result<(), Refusal> {
        let to = address(to).map_err(|e| Refusal::Address(e.into()))?;
        let message = mail::message(letter, &self.from, to, key)
            .map_err(|e| Refusal::Server(format!("the mail cannot be built: {e}")))?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            // 550-553 name this recipient; others (auth, policy, syntax) every mail.
            let code = e.status().map(|c| c.to_string());
            if code
                .as_deref()
                .is_some_and(|c| ["550", "551", "552", "553"].contains(&c))
            {
                Refusal::Address(e.to_string())
            } else {
                Refusal::Server(e.to_string())
            }
        })
    }
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
