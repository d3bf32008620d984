//! Dead letters of the notification outbox, retried by an admin: the row goes back to pending
//! with a fresh deadline, with its audit line, and the event that wakes the delivery lanes.

use super::{Error, Handles};
use crate::clock::Timestamp;
use crate::event::Event;
use crate::model::Action;
use crate::notify::public;
use crate::store::{AdminWrite, Audit};

/// Puts dead letter `id` back in the outbox, to be delivered by its destination's lane; refused
/// unless the row is dead and its destination still configured.
pub async fn retry_delivery(h: &Handles, actor: &str, id: i64) -> Result<(), Error> {
    let config = h.snapshot.borrow().config.clone();
    let mut destinations: Vec<String> = config
        .notify
        .destinations
        .iter()
        .map(|d| d.name.clone())
        .collect();
    if config.subscriptions.email {
        destinations.push(public::DESTINATION.to_string());
    }
    let now = Timestamp::now();
    let audit = Audit {
        actor: actor.to_string(),
        action: Action::RetryNotification,
        target: format!("notification {id}"),
        detail: String::new(),
    };
    let announce = Box::new(move |id| Some(Event::NotificationRetried { id, at: now }));
    h.writer
        .admin(
            AdminWrite::RetryDelivery { id, destinations },
            Some(audit),
            now,
            announce,
        )
        .await?;
    Ok(())
}
