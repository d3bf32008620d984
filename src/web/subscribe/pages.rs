//! The subscription pages, in the public pages' frame: the form (with its honeypot), "check
//! your inbox", the confirm and unsubscribe buttons and what they did. Plain HTML forms that
//! work without JavaScript; every text escaped by maud, in the visitor's language. Renders only:
//! it never reads the store.

use maud::{Markup, html};

use crate::config::Config;
use crate::i18n::Strings;
use crate::web::layout::public;

/// The name of the honeypot field: hidden from people, filled in by form-filling robots.
pub(super) const HONEYPOT: &str = "website";

/// What the form was sent with, to show it again beside an error.
#[derive(Default)]
pub(super) struct Sent<'a> {
    pub(super) email: &'a str,
    pub(super) groups: Vec<String>,
    pub(super) checks: Vec<String>,
}

fn frame(txt: &Strings, config: &Config, title: &str, body: Markup) -> Markup {
    public(txt, title, config, None, body)
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
pub(super) fn form(txt: &Strings, config: &Config, error: Option<&str>, sent: &Sent<'_>) -> Markup {
    let title = (txt.get_email_from)(&config.server.title);
    frame(
        txt,
        config,
        &title,
        html! {
            h1 { (title) }
            p { (txt.subscribe_intro) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.stack method="post" action="/subscribe" {
                label {
                    (txt.email_address)
                    input type="email" name="email" required maxlength="254"
                        autocomplete="email" value=(sent.email);
                }
                @if !config.checks.is_empty() {
                    fieldset {
                        legend { (txt.about) }
                        p.small { (txt.leave_empty_for_all) }
                        @for (group, checks) in grouped(config) {
                            @if !group.is_empty() {
                                label.check {
                                    input type="checkbox" name="groups" value=(group)
                                        checked[sent.groups.iter().any(|g| g == group)];
                                    (txt.everything_in) strong { (group) }
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
                        (txt.honeypot)
                        input type="text" name=(HONEYPOT) tabindex="-1" autocomplete="off";
                    }
                }
                p.small { (txt.confirm_first) }
                button { (txt.subscribe) }
            }
        },
    )
}

/// The one answer to every accepted request, whatever the address.
pub(super) fn inbox(txt: &Strings, config: &Config) -> Markup {
    message(txt, config, txt.inbox_title, txt.inbox_text)
}

pub(super) fn confirm(txt: &Strings, config: &Config, token: &str) -> Markup {
    frame(
        txt,
        config,
        txt.confirm_title,
        html! {
            h1 { (txt.confirm_title) }
            form method="post" action="/subscribe/confirm" {
                input type="hidden" name="token" value=(token);
                button { (txt.confirm) }
            }
        },
    )
}

pub(super) fn confirmed(txt: &Strings, config: &Config, scope: &str) -> Markup {
    message(
        txt,
        config,
        txt.subscribed_title,
        &(txt.subscribed_text)(scope),
    )
}

pub(super) fn unsubscribe(txt: &Strings, config: &Config, token: &str) -> Markup {
    frame(
        txt,
        config,
        txt.unsubscribe,
        html! {
            h1 { (txt.unsubscribe) }
            p { ((txt.unsubscribe_question)(&config.server.title)) }
            form method="post" action={ "/unsubscribe?token=" (token) } {
                button { (txt.unsubscribe) }
            }
        },
    )
}

pub(super) fn unsubscribed(txt: &Strings, config: &Config) -> Markup {
    message(
        txt,
        config,
        txt.unsubscribed_title,
        &(txt.unsubscribed_text)(&config.server.title),
    )
}

/// A token that is malformed, unknown, used or expired.
pub(super) fn stale(txt: &Strings, config: &Config) -> Markup {
    frame(
        txt,
        config,
        txt.stale_title,
        html! {
            h1 { (txt.stale_title) }
            p {
                (txt.stale_text)
                a href="/subscribe" { (txt.subscribe_again) } (txt.to_get_a_new_one)
            }
        },
    )
}

pub(super) fn message(txt: &Strings, config: &Config, title: &str, text: &str) -> Markup {
    frame(txt, config, title, html! { h1 { (title) } p { (text) } })
}
