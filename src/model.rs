//! The shared vocabulary: check ids, probe verdicts, check states, incident kinds, impacts and
//! statuses, audit actions, probe phases and how much of a failure the public sees. Each closed
//! set is an enum with one `as_str` and one `FromStr`, so strings exist only at the edges (SQL,
//! JSON, HTML, metric labels).
//!
//! This module depends on nothing else in the crate, and every other module may depend on it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A closed set of names: the enum, `ALL`, `as_str`, `Display` and `FromStr` from one list.
macro_rules! vocabulary {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($text,)+].len()] = [$($name::$variant,)+];

            /// The value named `s`, if any (see `FromStr` for an error that says what was expected).
            pub fn parse(s: &str) -> Option<$name> {
                s.parse().ok()
            }

            /// The name used in storage, JSON, labels and forms.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<$name, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        what: stringify!($name),
                        name: s.chars().take(40).collect(),
                        expected: &[$($text,)+],
                    }),
                }
            }
        }
    };
}

/// A name that is not one of a closed set; says which were expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}: use {}",
            self.what.to_lowercase(),
            self.name,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

/// A stable slug naming a check in URLs, metric labels and history. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(Arc<str>);

impl CheckId {
    /// Accepts `[a-z0-9][a-z0-9_-]{0,63}`.
    pub fn new(s: &str) -> Result<CheckId, String> {
        let ok_first = s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let ok_rest = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok_first && ok_rest && s.len() <= 64 {
            Ok(CheckId(s.into()))
        } else {
            Err(format!(
                "invalid check id {s:?}: use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for CheckId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl std::borrow::Borrow<str> for CheckId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

vocabulary! {
    /// What a check probes with.
    pub enum ProbeKind {
        Http = "http",
        Tcp = "tcp",
        Dns = "dns",
    }
}

vocabulary! {
    /// The verdict of one probe.
    pub enum Status {
        Up = "up",
        Degraded = "degraded",
        Down = "down",
    }
}

vocabulary! {
    /// A check's state as shown to people.
    pub enum State {
        /// No verdict yet (just started, or stale).
        Unknown = "unknown",
        Up = "up",
        Degraded = "degraded",
        Down = "down",
        /// Inside a maintenance window: probed and recorded, but no incident and no uptime.
        Maintenance = "maintenance",
    }
}

impl State {
    /// The rollup column that time in this state is counted in; `None` for unknown (no data).
    pub fn bucket(self) -> Option<Bucket> {
        match self {
            State::Unknown => None,
            State::Up => Some(Bucket::Up),
            State::Degraded => Some(Bucket::Degraded),
            State::Down => Some(Bucket::Down),
            State::Maintenance => Some(Bucket::Maintenance),
        }
    }

    /// The incident a change into this state opens, if any.
    pub fn impact(self) -> Option<Impact> {
        match self {
            State::Down => Some(Impact::Major),
            State::Degraded => Some(Impact::Minor),
            _ => None,
        }
    }
}

vocabulary! {
    /// The columns of observed time in a rollup.
    pub enum Bucket {
        Up = "up_ms",
        Degraded = "degraded_ms",
        Down = "down_ms",
        Maintenance = "maintenance_ms",
    }
}

vocabulary! {
    /// How much an incident hurts, as Statuspage names it. Automatic incidents are minor
    /// (degraded) or major (down); admins may declare any.
    pub enum Impact {
        None = "none",
        Minor = "minor",
        Major = "major",
        Critical = "critical",
    }
}

impl Impact {
    /// The rollup column an incident of this impact counts its time in, if any.
    pub fn bucket(self) -> Option<Bucket> {
        match self {
            Impact::Major | Impact::Critical => Some(Bucket::Down),
            Impact::Minor => Some(Bucket::Degraded),
            Impact::None => None,
        }
    }

    /// The state an open incident of this impact puts its check in.
    pub fn state(self) -> State {
        match self {
            Impact::Major | Impact::Critical => State::Down,
            Impact::Minor | Impact::None => State::Degraded,
        }
    }
}

vocabulary! {
    /// Who opened an incident: watchpost's probes, or an admin.
    pub enum IncidentKind {
        Auto = "auto",
        Manual = "manual",
    }
}

vocabulary! {
    /// The status of an incident's timeline entry, in Statuspage's words.
    pub enum IncidentStatus {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
    }
}

vocabulary! {
    /// What an admin did, as the audit log names it.
    pub enum Action {
        SignIn = "sign in",
        SignOut = "sign out",
        DeclareIncident = "declare incident",
        EditIncident = "edit incident",
        PostUpdate = "post update",
        MarkFalseAlarm = "mark false alarm",
        UnmarkFalseAlarm = "unmark false alarm",
        PlanMaintenance = "plan maintenance",
        EditMaintenance = "edit maintenance",
        CancelMaintenance = "cancel maintenance",
        RetryNotification = "retry notification",
    }
}

vocabulary! {
    /// How much of a check's failures the public sees: `redacted` (the default) shows the error
    /// class in a fixed sentence with the check's name; `full` shows the probe's message, with
    /// addresses, ports and what the target sent.
    pub enum PublicDetails {
        Redacted = "redacted",
        Full = "full",
    }
}

vocabulary! {
    /// The phases a probe is timed in, with blackbox_exporter's names, in the order they run.
    pub enum Phase {
        Resolve = "resolve",
        Connect = "connect",
        Tls = "tls",
        /// From request sent to first response byte.
        Processing = "processing",
        /// Reading the body.
        Transfer = "transfer",
    }
}

impl Phase {
    /// The number of phases, for arrays indexed by [`Phase::index`].
    pub const COUNT: usize = 5;

    /// This phase's place in [`Phase::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_say_what_was_expected() {
        for s in Impact::ALL {
            assert_eq!(s.as_str().parse::<Impact>(), Ok(s));
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        let e = "huge".parse::<Impact>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown impact \"huge\": use none, minor, major, critical"
        );
        assert_eq!(Phase::ALL.len(), Phase::COUNT);
        assert!(Phase::ALL.iter().enumerate().all(|(i, p)| p.index() == i));
    }

    #[test]
    fn check_ids_are_slugs() {
        assert!(CheckId::new("tasks-1_a").is_ok());
        for bad in ["", "Web", "-x", "a b", &"a".repeat(65)] {
            assert!(CheckId::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(CheckId::new("db").unwrap(), *"db");
    }
}
