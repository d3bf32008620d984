//! `[subscriptions]`: public email subscriptions on the status page, validated into
//! [`Subscriptions`].
//!
//! Owns whether `/subscribe` exists and how long subscriber mail waits to be grouped. It never
//! reads `[smtp]` beyond checking that it is there, and never opens a connection.

use std::time::Duration;

use serde_spanned::Spanned;

use super::diag::Problems;
use super::notify::span_duration;
use super::raw;

/// `[subscriptions]` with its defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscriptions {
    /// `/subscribe`, `/subscribe/confirm` and `/unsubscribe` are served, and subscribers mailed.
    pub email: bool,
    /// Subscriber mail waits this long after the first event, so a burst (an outage that ends
    /// at once, or an admin who marks it a false alarm) goes out as one mail or none.
    pub group_window: Duration,
}

impl Default for Subscriptions {
    fn default() -> Subscriptions {
        Subscriptions {
            email: false,
            group_window: Duration::from_secs(60),
        }
    }
}

/// `[subscriptions]`: `email = true` needs `[smtp]` to send through and `[server] public_url`
/// for the links in mails.
pub(super) fn subscriptions(raw: &raw::Config, p: &mut Problems<'_>) -> Subscriptions {
    let mut s = Subscriptions::default();
    let Some(section) = raw.subscriptions.as_ref().map(Spanned::get_ref) else {
        return s;
    };
    const CTX: &str = "subscriptions: ";
    if let Some(v) = &section.group_window
        && let Some(d) = span_duration(p, CTX, "group_window", v, true)
    {
        s.group_window = d;
    }
    let Some(email) = &section.email else {
        return s;
    };
    s.email = *email.get_ref();
    if s.email && raw.smtp.is_none() {
        let msg = format!("{CTX}email = true needs an [smtp] section to send the mail through");
        p.at(email.span(), msg);
    }
    if s.email && raw.server.public_url.is_none() {
        let msg = format!(
            "{CTX}email = true needs [server] public_url: the links in every mail point there"
        );
        p.at(email.span(), msg);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{check, valid};

    const SMTP: &str = r#"
[smtp]
url = "smtp://127.0.0.1:2525"
from = "Status <status@example.org>"
"#;

    #[test]
    fn off_unless_asked_for_with_a_minute_of_grouping() {
        let c = valid("");
        assert_eq!(c.subscriptions, Subscriptions::default());
        assert!(!c.subscriptions.email);
        assert_eq!(c.subscriptions.group_window, Duration::from_secs(60));
        let c = valid(&format!(
            "[server]\npublic_url = \"https://status.example.org\"\n{SMTP}\n[subscriptions]\nemail = true\ngroup_window = \"0s\"\n"
        ));
        assert!(c.subscriptions.email);
        assert_eq!(c.subscriptions.group_window, Duration::ZERO);
    }

    #[test]
    fn email_needs_smtp_and_a_public_url_said_at_the_key() {
        check(
            "[subscriptions]\nemail = true\n",
            &[
                "etc/watchpost.toml:2:9: subscriptions: email = true needs an [smtp] section to send the mail through",
                "etc/watchpost.toml:2:9: subscriptions: email = true needs [server] public_url: the links in every mail point there",
            ],
        );
        check(
            &format!(
                "{SMTP}\n[subscriptions]\nemail = true\ngroup_window = \"soon\"\nsms = true\n"
            ),
            // An unknown key no longer hides the section's other problems.
            &[
                "etc/watchpost.toml:7:9: subscriptions: email = true needs [server] public_url: the links in every mail point there",
                "etc/watchpost.toml:8:16: subscriptions: invalid duration \"soon\" for group_window: expected number at 0; write a number and a unit, like 30s, 5m or 1h",
                "etc/watchpost.toml:9:1: unknown field `sms`, expected `email` or `group_window`",
            ],
        );
        check(
            &format!(
                "[server]\npublic_url = \"https://s.example.org\"\n{SMTP}\n[subscriptions]\nemail = true\ngroup_window = \"soon\"\n"
            ),
            &[
                "etc/watchpost.toml:10:16: subscriptions: invalid duration \"soon\" for group_window: expected number at 0; write a number and a unit, like 30s, 5m or 1h",
            ],
        );
        // Off needs nothing.
        assert!(
            !valid("[subscriptions]\nemail = false\n")
                .subscriptions
                .email
        );
    }
}
