//! What one notification says: the payload an outbox row keeps as JSON, written when its event is
//! committed and read back by the worker to format for a destination.
//!
//! A DTO: its JSON is stored, so fields are only ever added (with defaults), never renamed. It
//! knows nothing of destinations, HTTP or SQL.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::model::{Impact, State};

/// What happened, as operators hear of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    Opened,
    /// An admin posted an update.
    Updated,
    Resolved,
    FalseAlarm,
    /// The incident is still open.
    Reminder,
    MaintenancePlanned,
    MaintenanceCancelled,
    MaintenanceStarted,
    MaintenanceEnded,
    /// A check's TLS certificate came within a threshold of its expiry.
    CertExpiring,
    /// Sent by `watchpost notify test`, never stored.
    Test,
}

impl What {
    /// The event's name in webhook bodies and in idempotency keys.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Opened => "incident.opened",
            What::Updated => "incident.updated",
            What::Resolved => "incident.resolved",
            What::FalseAlarm => "incident.false_alarm",
            What::Reminder => "incident.reminder",
            What::MaintenancePlanned => "maintenance.planned",
            What::MaintenanceCancelled => "maintenance.cancelled",
            What::MaintenanceStarted => "maintenance.started",
            What::MaintenanceEnded => "maintenance.ended",
            What::CertExpiring => "certificate.expiring",
            What::Test => "test",
        }
    }

    /// Whether it is about an incident (rather than a maintenance window or a test).
    pub fn is_incident(self) -> bool {
        matches!(
            self,
            What::Opened | What::Updated | What::Resolved | What::FalseAlarm | What::Reminder
        )
    }
}

/// A check as a message names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub group: String,
}

impl CheckRef {
    /// `id` with its name and group from `checks` (by id: name, group); a check no longer
    /// configured is named by its id.
    pub fn named(
        checks: &std::collections::HashMap<crate::model::CheckId, Arc<crate::config::Check>>,
        id: &crate::model::CheckId,
    ) -> CheckRef {
        let (name, group) = checks.get(id).map_or_else(
            || (id.to_string(), String::new()),
            |c| (c.name.clone(), c.group.clone()),
        );
        CheckRef {
            id: id.to_string(),
            name,
            group,
        }
    }
}

/// One notification's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub what: What,
    /// The incident it is about.
    #[serde(default)]
    pub incident: Option<i64>,
    /// The one-off maintenance window it is about (recurring windows have no id).
    #[serde(default)]
    pub window: Option<i64>,
    pub title: String,
    #[serde(default, with = "named")]
    pub impact: Option<Impact>,
    /// The state the checks are in as of this message.
    #[serde(default, with = "named")]
    pub state: Option<State>,
    #[serde(default)]
    pub checks: Vec<CheckRef>,
    /// The first failing probe: its error, status code, timing and time.
    #[serde(default)]
    pub evidence: Option<String>,
    /// The timeline entry or the window's details.
    #[serde(default)]
    pub body: String,
    /// The admin who wrote `body`, when one did.
    #[serde(default)]
    pub author: Option<String>,
    /// When it happened.
    pub at_ms: i64,
    /// When the incident or window started.
    #[serde(default)]
    pub started_ms: Option<i64>,
    /// When the window ends.
    #[serde(default)]
    pub ends_ms: Option<i64>,
    /// The certificate an expiry notice is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertNote>,
}

/// A certificate near its expiry, as a notice names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertNote {
    /// The threshold crossed, in days.
    pub days: u32,
    /// SHA-256 of the certificate, in hex.
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    pub expires_ms: i64,
}

impl CertNote {
    /// The time left from `now` in words: "10 days", "20 hours", or "none: it has expired".
    pub fn left(&self, now: Timestamp) -> String {
        const HOUR: i64 = 3_600_000;
        let ms = self.expires_ms - now.0;
        match ms {
            ..=0 => "none: it has expired".into(),
            _ if ms >= 48 * HOUR => format!("{} days", (ms + 12 * HOUR) / (24 * HOUR)),
            _ => format!("{} hours", ms / HOUR),
        }
    }
}

impl Message {
    pub fn at(&self) -> Timestamp {
        Timestamp(self.at_ms)
    }

    pub fn started(&self) -> Option<Timestamp> {
        self.started_ms.map(Timestamp)
    }

    pub fn ends(&self) -> Option<Timestamp> {
        self.ends_ms.map(Timestamp)
    }

    /// The message `watchpost notify test` sends.
    pub fn test(at: Timestamp) -> Message {
        Message {
            what: What::Test,
            incident: None,
            window: None,
            title: "Test notification from watchpost".into(),
            impact: None,
            state: None,
            checks: Vec::new(),
            evidence: None,
            body: "If you can read this, this destination works.".into(),
            author: None,
            at_ms: at.0,
            started_ms: None,
            ends_ms: None,
            cert: None,
        }
    }
}

/// `Option<Impact>` and `Option<State>` as their names in JSON.
mod named {
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

    use crate::model::UnknownName;

    pub(super) fn serialize<T: Copy + std::fmt::Display, S: Serializer>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.map(|v| v.to_string()).serialize(s)
    }

    pub(super) fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr<Err = UnknownName>,
        D: Deserializer<'de>,
    {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_outbox_as_json() {
        let mut m = Message::test(Timestamp(1_700_000_000_000));
        m.what = What::Opened;
        m.impact = Some(Impact::Major);
        m.state = Some(State::Down);
        m.checks.push(CheckRef {
            id: "web".into(),
            name: "Web".into(),
            group: "Core".into(),
        });
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""what":"opened""#), "{json}");
        assert!(json.contains(r#""impact":"major""#), "{json}");
        assert!(json.contains(r#""state":"down""#), "{json}");
        let back: Message = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let bad = json.replace(r#""down""#, r#""sideways""#);
        assert!(serde_json::from_str::<Message>(&bad).is_err());
    }
}
