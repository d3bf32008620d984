//! The writer's methods for subscriber changes: each queues a [`SubscriberWrite`] and waits for
//! its answer after the commit. Kept apart from the SQL so the writer, which applies those
//! writes, and these methods, which queue them, do not import each other.

use tokio::sync::oneshot;

use super::{Subscribed, SubscriberWrite, Subscription};
use crate::clock::Timestamp;
use crate::notify::public::Scope;
use crate::store::Error;
use crate::store::writer::{Write, Writer};

/// Subscriber changes, each answered after its commit.
impl Writer {
    async fn subscribers<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> SubscriberWrite,
    ) -> Result<T, Error> {
        self.ask(|reply| Write::Subscribers(make(reply))).await?
    }

    /// Stores a request to subscribe and says which mail it calls for.
    pub async fn add_subscriber(&self, request: Subscription) -> Result<Subscribed, Error> {
        self.subscribers(|reply| SubscriberWrite::Subscribe { request, reply })
            .await
    }

    /// Confirms by the hash of a confirmation token; the scope now in force, if it was valid.
    pub async fn confirm(
        &self,
        confirm_hash: String,
        now: Timestamp,
    ) -> Result<Option<Scope>, Error> {
        self.subscribers(|reply| SubscriberWrite::Confirm {
            confirm_hash,
            now,
            reply,
        })
        .await
    }

    /// Deletes the subscriber of an unsubscribe token's hash; whether there was one.
    pub async fn unsubscribe(&self, unsubscribe_hash: String) -> Result<bool, Error> {
        self.subscribers(|reply| SubscriberWrite::Unsubscribe {
            unsubscribe_hash,
            reply,
        })
        .await
    }

    /// Deletes the subscriber with `address` (any case); whether there was one.
    pub async fn delete_subscriber(&self, address: String) -> Result<bool, Error> {
        self.subscribers(|reply| SubscriberWrite::Delete { address, reply })
            .await
    }

    /// Records that subscribers up to `after` have had `rows`; the rows still to deliver.
    pub async fn advance_fanout(
        &self,
        rows: Vec<i64>,
        after: i64,
        lease_until: Timestamp,
    ) -> Result<Vec<i64>, Error> {
        self.subscribers(|reply| SubscriberWrite::Advance {
            rows,
            after,
            lease_until,
            reply,
        })
        .await
    }

    /// The key unsubscribe tokens are derived from, stored with `candidate` the first time.
    pub async fn subscription_key(&self, candidate: Vec<u8>) -> Result<Vec<u8>, Error> {
        self.subscribers(|reply| SubscriberWrite::Key { candidate, reply })
            .await
    }
}
