//! What the notification worker and the reloader ask of the outbox, as methods of the [`Writer`]:
//! routing, claims and outcomes, each an [`OutboxWrite`] answered after its commit. Only queues
//! writes; the SQL is `outbox`'s.

use std::sync::Arc;

use super::Error;
use super::outbox::{Claim, Finish, Lane, OutboxWrite, Routed};
use super::writer::{Write, Writer};
use crate::clock::Timestamp;
use crate::notify::route::Routing;

impl Writer {
    /// Routes events committed from now on to `routing`'s destinations.
    pub async fn set_routing(&self, routing: Arc<Routing>, when: Routed) -> Result<usize, Error> {
        self.ask(|reply| {
            Write::Outbox(OutboxWrite::Route {
                routing,
                when,
                reply,
            })
        })
        .await?
    }

    /// Claims the next rows of `lane.destination`.
    pub async fn claim(&self, lane: Lane) -> Result<Claim, Error> {
        self.ask(|reply| Write::Outbox(OutboxWrite::Claim { lane, reply }))
            .await?
    }

    /// Records the outcome of delivering the claimed rows `ids`, and waits for its commit.
    pub async fn finish(
        &self,
        ids: Vec<i64>,
        now: Timestamp,
        outcome: Finish,
    ) -> Result<(), Error> {
        self.ask(|reply| {
            Write::Outbox(OutboxWrite::Finish {
                ids,
                now,
                outcome,
                reply,
            })
        })
        .await?
    }
}
