//! The mails of subscribing: the confirmation link of a new subscription or of a change, and
//! "you are already subscribed, here is how to manage it". Sent from a bounded queue in memory
//! by one task, outside the request, so the page answers the same, in the same time, whatever
//! the address.
//!
//! Not durable, on purpose: a confirmation token lives only in its mail and the database keeps
//! its hash; a mail lost to a full queue or a restart costs the person a second request. It
//! never stores a token and never decides which mail an address gets: the store does.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::mail::{self, Site};
use super::{Post, token};
use crate::config::Config;
use crate::metrics::Metrics;

/// Mails waiting to go; past this a new one is dropped (and logged).
const QUEUE: usize = 256;
/// The metrics label of these mails.
const LABEL: &str = "@subscribe";

/// One mail of subscribing, with what it needs to say.
#[derive(Clone, Debug)]
pub enum Notice {
    /// Confirm a new subscription to `scope` (in words) with `token`.
    Confirm {
        to: lettre::Address,
        token: String,
        scope: String,
    },
    /// Confirm a change from `current` to `scope`; `unsubscribe` is the subscriber's token.
    Change {
        to: lettre::Address,
        token: String,
        scope: String,
        current: String,
        unsubscribe: String,
    },
    /// Already subscribed to `scope`: how to change or stop it.
    Already {
        to: lettre::Address,
        scope: String,
        unsubscribe: String,
    },
}

/// The sending side of the queue; cheap to clone.
#[derive(Clone)]
pub struct Notices {
    tx: mpsc::Sender<Notice>,
}

impl Notices {
    /// A queue and its receiving end, for [`run`].
    pub fn channel() -> (Notices, mpsc::Receiver<Notice>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Notices { tx }, rx)
    }

    /// Queues `notice` without waiting; `false` (and a warning) when the queue is full.
    pub fn send(&self, notice: Notice) -> bool {
        match self.tx.try_send(notice) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "a subscription mail was dropped: the queue is full or closed");
                false
            }
        }
    }
}

/// Sends queued notices until `token` is cancelled or every sender is gone, through the
/// mail server and for the site of the config in force.
pub async fn run(
    mut rx: mpsc::Receiver<Notice>,
    mut config: watch::Receiver<Arc<Config>>,
    metrics: Arc<Metrics>,
    token: CancellationToken,
) {
    for result in ["delivered", "failed"] {
        metrics.count_notifications(LABEL, result, 0);
    }
    let mut in_force: Option<(Arc<Config>, Post, Site)> = None;
    loop {
        let notice = tokio::select! {
            _ = token.cancelled() => return,
            n = rx.recv() => match n {
                Some(n) => n,
                None => return,
            },
        };
        let config = config.borrow_and_update().clone();
        if !in_force
            .as_ref()
            .is_some_and(|(c, ..)| Arc::ptr_eq(c, &config))
        {
            if let Some((_, mut post, _)) = in_force.take() {
                post.close().await;
            }
            let (Some(smtp), Some(base)) = (&config.notify.smtp, &config.server.public_url) else {
                tracing::warn!(
                    "a subscription mail was dropped: the config has no [smtp] or public_url"
                );
                continue;
            };
            let site = Site {
                title: config.server.title.clone(),
                base: base.clone(),
            };
            in_force = Some((config.clone(), Post::new(smtp), site));
        }
        let Some((_, post, site)) = in_force.as_mut() else {
            continue;
        };
        let (to, letter) = letter(site, notice);
        let key = format!("subscribe.{}", token::random().unwrap_or_default());
        match post.send(&letter, to.as_ref(), &key).await {
            Ok(()) => metrics.count_notifications(LABEL, "delivered", 1),
            Err(e) => {
                metrics.count_notifications(LABEL, "failed", 1);
                tracing::warn!(error = %e, "a subscription mail was not sent");
            }
        }
        if rx.is_empty() {
            post.close().await;
        }
    }
}

fn letter(site: &Site, notice: Notice) -> (lettre::Address, mail::Letter) {
    match notice {
        Notice::Confirm { to, token, scope } => {
            let letter = mail::confirm(site, &site.confirm(&token), &scope, None);
            (to, letter)
        }
        Notice::Change {
            to,
            token,
            scope,
            current,
            unsubscribe,
        } => {
            let unsubscribe = site.unsubscribe(&unsubscribe);
            let current = Some((current.as_str(), unsubscribe.as_str()));
            let letter = mail::confirm(site, &site.confirm(&token), &scope, current);
            (to, letter)
        }
        Notice::Already {
            to,
            scope,
            unsubscribe,
        } => {
            let letter = mail::already(site, &scope, &site.unsubscribe(&unsubscribe));
            (to, letter)
        }
    }
}
