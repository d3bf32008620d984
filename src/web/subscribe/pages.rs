//! The subscription pages, in the public pages' frame: the form (with its honeypot), "check
//! your inbox", the confirm and unsubscribe buttons and what they did. Plain HTML forms that
//! work without JavaScript; every text escaped by maud. Renders only: it never reads the store.

use maud::{Markup, html};

use crate::config::Config;
use crate::web::layout::page;

/// The name of the honeypot field: hidden from people, filled in by form-filling robots.
pub(super) const HONEYPOT: &str = "website";

/// What the form was sent with, to show it again beside an error.
#[derive(Default)]
pub(super) struct Sent<'a> {
    pub(super) email: &'a str,
    pub(super) groups: Vec<String>,
    pub(super) checks: Vec<String>,
}

fn frame(config: &Config, title: &str, body: Markup) -> Markup {
    page(title, &config.server.title, None, body)
}

/// The groups of the configured checks in the config's order, each with its checks.
fn grouped(config: &Config) -> Vec<(&str, Vec<&crate::config::Check>)> {
    let mut out: Vec<(&str, Vec<&crate::config::Check>)> = Vec::new();
    for c in &config.checks {
        match out.iter_mut().find(|(g, _)| *g == c.group) {
            Some((_, checks)) => checks.push(c),
            None => out.push((&c.group, vec![c])),
        }
    }
    out
}

/// The form, with `error` above it when the last attempt was refused.
pub(super) fn form(config: &Config, error: Option<&str>, sent: &Sent<'_>) -> Markup {
    let title = format!("Get email from {}", config.server.title);
    frame(
        config,
        &title,
        html! {
            h1 { (title) }
            p {
                "We write when an incident opens, when it is updated and when it is resolved, and "
                "when maintenance is planned, begins and ends. Nothing else; every mail has a "
                "link to stop with one click."
            }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.stack method="post" action="/subscribe" {
                label {
                    "Email address "
                    input type="email" name="email" required maxlength="254"
                        autocomplete="email" value=(sent.email);
                }
                @if !config.checks.is_empty() {
                    fieldset {
                        legend { "About" }
                        p.small { "Leave every box empty to hear about everything." }
                        @for (group, checks) in grouped(config) {
                            @if !group.is_empty() {
                                label.check {
                                    input type="checkbox" name="groups" value=(group)
                                        checked[sent.groups.iter().any(|g| g == group)];
                                    " Everything in " strong { (group) }
                                }
                            }
                            @for c in checks {
                                label.check {
                                    input type="checkbox" name="checks" value=(c.id)
                                        checked[sent.checks.iter().any(|s| s == c.id.as_str())];
                                    " " (c.name)
                                }
                            }
                        }
                    }
                }
                div.hp aria-hidden="true" {
                    label {
                        "Leave this field empty "
                        input type="text" name=(HONEYPOT) tabindex="-1" autocomplete="off";
                    }
                }
                p.small {
                    "We send a link to confirm first. Your address is used for these mails only."
                }
                button { "Subscribe" }
            }
        },
    )
}

/// The one answer to every accepted request, whatever the address.
pub(super) fn inbox(config: &Config) -> Markup {
    message(
        config,
        "Check your inbox",
        "If the address can get mail, a message is on its way with what to do next. \
         The link in it works for 48 hours.",
    )
}

pub(super) fn confirm(config: &Config, token: &str) -> Markup {
    frame(
        config,
        "Confirm your subscription",
        html! {
            h1 { "Confirm your subscription" }
            form method="post" action="/subscribe/confirm" {
                input type="hidden" name="token" value=(token);
                button { "Confirm" }
            }
        },
    )
}

pub(super) fn confirmed(config: &Config, scope: &str) -> Markup {
    message(
        config,
        "You are subscribed",
        &format!("You will get email about {scope}. Every mail has a link to stop."),
    )
}

pub(super) fn unsubscribe(config: &Config, token: &str) -> Markup {
    frame(
        config,
        "Unsubscribe",
        html! {
            h1 { "Unsubscribe" }
            p { "Stop getting email from " (config.server.title) "?" }
            form method="post" action={ "/unsubscribe?token=" (token) } {
                button { "Unsubscribe" }
            }
        },
    )
}

pub(super) fn unsubscribed(config: &Config) -> Markup {
    message(
        config,
        "You are unsubscribed",
        &format!(
            "This address gets no more email from {}. Its subscription was deleted.",
            config.server.title
        ),
    )
}

/// A token that is malformed, unknown, used or expired.
pub(super) fn stale(config: &Config) -> Markup {
    frame(
        config,
        "This link does not work (any more)",
        html! {
            h1 { "This link does not work (any more)" }
            p {
                "It may have expired (links work for 48 hours), been used already, or been cut "
                "short when it was copied. "
                a href="/subscribe" { "Subscribe again" } " to get a new one."
            }
        },
    )
}

pub(super) fn message(config: &Config, title: &str, text: &str) -> Markup {
    frame(config, title, html! { h1 { (title) } p { (text) } })
}
