//! The fan-out lane: claims the `@subscribers` outbox rows (one per public event, grouped by
//! the subscribers' window) and mails every confirmed subscriber who wants them, in subscriber
//! id order, through one SMTP session per batch.
//!
//! Exactly once per subscriber as far as mail allows: after each mail the server accepted, the
//! rows' cursor (the last subscriber id done) is committed before the next mail goes, so a crash
//! or a restart resumes after the last subscriber who got it; only a mail accepted in the instant
//! before a crash can go twice, with the same Message-ID. A subscriber who confirmed after an
//! event never hears of it; a false alarm cancels its rows and the fan-out stops between two
//! mails. It never writes SQL and never decides who hears of what.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::mail::{self, Site, Story};
use super::{Keys, Post, Refusal};
use crate::clock::Timestamp;
use crate::config::{Config, Timing};
use crate::event::Event;
use crate::metrics::Metrics;
use crate::notify::format::Item;
use crate::notify::message::Message;
use crate::notify::public::{Audience, DESTINATION};
use crate::notify::worker::{backoff, jitter};
use crate::store::{
    Claim, Error as StoreError, Finish, Lane, OutboxRow, Reader, Recipient, Writer,
};

/// How long claimed rows are ours; every mail sent extends it.
const LEASE: Duration = Duration::from_secs(60);
/// Subscribers read at a time.
const PAGE: usize = 200;
/// The longest the lane sleeps without looking at the outbox.
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// What the lane needs from the rest of the daemon.
pub struct Fanout {
    pub writer: Writer,
    pub reader: Reader,
    pub keys: Keys,
    /// The config in force: mail goes by its `[smtp]`, public URL, title, checks and windows.
    pub config: watch::Receiver<Arc<Config>>,
    pub metrics: Arc<Metrics>,
    /// Committed events: each may have written a row.
    pub events: broadcast::Receiver<Event>,
}

/// What a batch is mailed with, made again when the config in force changes.
struct Settings {
    post: Post,
    site: Site,
    /// The checks' names and groups, for saying each subscriber's choice.
    audience: Audience,
    timing: Timing,
    /// `[subscriptions] group_window`.
    group_window: Duration,
}

impl Settings {
    /// `None` when `config` cannot mail subscribers (no `[smtp]` or no public URL).
    fn of(config: &Config) -> Option<Settings> {
        let smtp = config.notify.smtp.as_ref()?;
        Some(Settings {
            post: Post::new(smtp),
            site: Site {
                title: config.server.title.clone(),
                base: config.server.public_url.clone()?,
            },
            audience: Audience::new(config),
            timing: config.notify.timing,
            group_window: config.subscriptions.group_window,
        })
    }
}

impl Fanout {
    /// Mails subscribers until `token` is cancelled; a mail in flight finishes and is recorded
    /// first, so nobody gets it twice after a clean stop.
    pub async fn run(mut self, token: CancellationToken) {
        for result in ["delivered", "failed", "dead"] {
            self.metrics.count_notifications(DESTINATION, result, 0);
        }
        let mut settings = Settings::of(&self.config.borrow_and_update());
        let mut watching = true;
        loop {
            if token.is_cancelled() {
                return;
            }
            let now = Timestamp::now();
            let until = match settings.as_mut() {
                Some(s) => match self.claim(s, now, &token).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(until) => until,
                },
                None => None,
            };
            let nap = until.map_or(LOOK_EVERY, |t| t.since(now)).min(LOOK_EVERY);
            tokio::select! {
                _ = token.cancelled() => return,
                changed = self.config.changed(), if watching => {
                    if changed.is_err() {
                        watching = false;
                        continue;
                    }
                    settings = Settings::of(&self.config.borrow_and_update());
                }
                e = self.events.recv() => {
                    if matches!(e, Err(broadcast::error::RecvError::Closed)) {
                        return;
                    }
                }
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Claims and mails the next batch: `Ok(Some)` when one went, `Ok(None)` when the writer
    /// is gone, `Err` with when to look again otherwise.
    async fn claim(
        &self,
        s: &mut Settings,
        now: Timestamp,
        token: &CancellationToken,
    ) -> Result<Option<()>, Option<Timestamp>> {
        let claim = self
            .writer
            .claim(Lane {
                destination: DESTINATION.into(),
                now,
                lease: LEASE,
                group_window: s.group_window,
            })
            .await;
        match claim {
            Ok(Claim::Batch(rows)) => {
                let delivered = self.deliver(s, rows, token).await;
                // The next batch may be hours away: the session ends with this one.
                s.post.close().await;
                match delivered {
                    Ok(()) => Ok(Some(())),
                    Err(StoreError::WriterGone) => Ok(None),
                    Err(e) => {
                        tracing::warn!(error = %e, "mailing subscribers failed; will retry");
                        Err(Some(now.plus(Duration::from_secs(5))))
                    }
                }
            }
            Ok(Claim::Wait(t)) => Err(Some(t)),
            Ok(Claim::Idle) => Err(None),
            Err(StoreError::WriterGone) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "claiming subscriber mail failed");
                Err(Some(now.plus(Duration::from_secs(1))))
            }
        }
    }

    /// Mails one claimed batch to every subscriber after its cursor, then finishes it.
    async fn deliver(
        &self,
        s: &mut Settings,
        rows: Vec<OutboxRow>,
        token: &CancellationToken,
    ) -> Result<(), StoreError> {
        let mut items = Vec::new();
        for r in &rows {
            match serde_json::from_str::<Message>(&r.payload) {
                Ok(message) => items.push((
                    r.id,
                    r.created_at,
                    Item {
                        key: r.key.clone(),
                        message,
                    },
                )),
                Err(e) => {
                    tracing::error!(row = r.id, error = %e, "a subscriber outbox row cannot be read; dead-lettered");
                    let error = format!("unreadable payload: {e}");
                    self.finish(vec![r.id], Finish::Dead { error }).await?;
                }
            }
        }
        let Some(first) = items.first().map(|(_, _, i)| i.key.clone()) else {
            return Ok(());
        };
        let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
        let oldest = rows
            .iter()
            .map(|r| r.created_at)
            .min()
            .unwrap_or(Timestamp(0));
        let newest = rows
            .iter()
            .map(|r| r.created_at)
            .max()
            .unwrap_or(Timestamp(0));
        let mut ids: Vec<i64> = items.iter().map(|(id, ..)| *id).collect();
        let mut after = self.reader.fanout_after(ids.clone()).await?;
        let mut stories: HashMap<Vec<usize>, Story> = HashMap::new();
        let mut sent = 0usize;
        loop {
            let page = self.reader.recipients(after, newest, PAGE).await?;
            let Some(last) = page.last().map(|r| r.id) else {
                break;
            };
            for r in page {
                if token.is_cancelled() {
                    // The cursor says where to resume; the lease runs out or a restart frees it.
                    return Ok(());
                }
                let wanted = wanted(&items, &r);
                if wanted.is_empty() {
                    continue;
                }
                let now = Timestamp::now();
                let story = stories.entry(wanted.clone()).or_insert_with(|| {
                    let chosen: Vec<Item> = wanted.iter().map(|&i| items[i].2.clone()).collect();
                    mail::story(&s.site, &chosen, now)
                });
                let scope = r
                    .scope
                    .as_ref()
                    .map_or_else(String::new, |scope| scope.describe(&s.audience));
                let token = self.keys.unsubscribe(&r.address, r.created_at);
                let unsubscribe = s.site.unsubscribe(&token);
                let letter = mail::letter(&s.site, story, &scope, &unsubscribe);
                let key = format!("{}.{}", first.replace('@', ""), r.id);
                match s.post.send(&letter, &r.address, &key).await {
                    Ok(()) => {
                        sent += 1;
                        self.metrics
                            .count_notifications(DESTINATION, "delivered", 1);
                    }
                    Err(Refusal::Address(e)) => {
                        tracing::warn!(subscriber = r.id, error = %e, "a subscriber's address was refused; skipped");
                        self.metrics.count_notifications(DESTINATION, "dead", 1);
                    }
                    Err(Refusal::Server(message)) => {
                        self.metrics.count_notifications(DESTINATION, "failed", 1);
                        let outcome = give_up_or_retry(&s.timing, attempts, oldest, message);
                        return self.finish(ids, outcome).await;
                    }
                }
                after = r.id;
                ids = self.advance(ids, after).await?;
                keep(&mut items, &ids, &mut stories);
                if ids.is_empty() {
                    tracing::info!(sent, "subscriber mail cancelled mid-way (a false alarm)");
                    return Ok(());
                }
            }
            if after < last {
                // The rest of the page wanted none of it: the cursor moves past them.
                after = last;
                ids = self.advance(ids, after).await?;
                keep(&mut items, &ids, &mut stories);
                if ids.is_empty() {
                    return Ok(());
                }
            }
        }
        if !ids.is_empty() {
            tracing::info!(subscribers = sent, notifications = ids.len(), id = %first, "subscriber mail delivered");
            self.finish(ids, Finish::Delivered).await?;
        }
        Ok(())
    }

    async fn advance(&self, ids: Vec<i64>, after: i64) -> Result<Vec<i64>, StoreError> {
        let lease_until = Timestamp::now().plus(LEASE);
        self.writer.advance_fanout(ids, after, lease_until).await
    }

    async fn finish(&self, ids: Vec<i64>, outcome: Finish) -> Result<(), StoreError> {
        self.writer.finish(ids, Timestamp::now(), outcome).await
    }
}

/// A refusal of the server (not of one address) is retried until the deadline, even a
/// permanent one: it is most likely the server's setup, and fixing it should lose nothing.
fn give_up_or_retry(timing: &Timing, attempts: u32, oldest: Timestamp, error: String) -> Finish {
    let now = Timestamp::now();
    if now.since(oldest) >= timing.give_up_after {
        tracing::error!(attempts, error = %error, "subscriber mail dead-lettered: not sent before the deadline");
        Finish::Dead { error }
    } else {
        let at = now.plus(backoff(attempts, timing, jitter()));
        tracing::warn!(attempts, error = %error, retry_at = %at.rfc3339(), "subscriber mail not sent; will resume where it stopped");
        Finish::Retry { error, at }
    }
}

/// Keeps the items of the rows still to deliver; the stories, made for the old list, go.
fn keep(
    items: &mut Vec<(i64, Timestamp, Item)>,
    ids: &[i64],
    stories: &mut HashMap<Vec<usize>, Story>,
) {
    let before = items.len();
    items.retain(|(id, ..)| ids.contains(id));
    if items.len() != before {
        stories.clear();
    }
}

/// The indexes of the items `r` gets: those written after they confirmed, about what they chose.
fn wanted(items: &[(i64, Timestamp, Item)], r: &Recipient) -> Vec<usize> {
    let Some(scope) = &r.scope else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(_, (_, written, item))| {
            r.confirmed_at <= *written && scope.wants(&item.message.checks)
        })
        .map(|(i, _)| i)
        .collect()
}
