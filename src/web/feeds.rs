//! The incident history as Atom (`/feed.atom`, alias `/history.atom`) and RSS 2.0 (`/feed.rss`,
//! alias `/history.rss`): one entry per incident, newest 50, its content the timeline newest first
//! as Statuspage writes it.
//!
//! Untrusted text is escaped twice where it travels as HTML inside XML: maud escapes the update
//! bodies into the HTML content, and the feed writers escape that HTML into XML text. Titles are
//! plain text, escaped once by the writers. It only reads.

use atom_syndication as atom;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::store::{IncidentFilter, IncidentTimeline};

/// Entries in a feed, as Statuspage does.
const ENTRIES: usize = 50;

/// `/feed.atom`.
pub async fn atom(State(state): State<WebState>) -> Result<Response, WebError> {
    let feed = Feed::load(&state).await?;
    let xml = feed
        .atom()
        .write_to(Vec::new())
        .map_err(|e| WebError::Internal(format!("writing the Atom feed: {e}")))?;
    Ok(xml_response("application/atom+xml; charset=utf-8", xml))
}

/// `/feed.rss`.
pub async fn rss(State(state): State<WebState>) -> Result<Response, WebError> {
    let feed = Feed::load(&state).await?;
    let xml = feed
        .rss()
        .write_to(Vec::new())
        .map_err(|e| WebError::Internal(format!("writing the RSS feed: {e}")))?;
    Ok(xml_response("application/rss+xml; charset=utf-8", xml))
}

fn xml_response(content_type: &'static str, xml: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], xml).into_response()
}

/// What both formats are written from.
struct Feed {
    title: String,
    base: String,
    incidents: Vec<IncidentTimeline>,
    /// The latest change: the newest incident update, or the newest check when there is none.
    updated: Timestamp,
}

impl Feed {
    async fn load(state: &WebState) -> Result<Feed, WebError> {
        let incidents = state.reader.timelines(IncidentFilter::All, ENTRIES).await?;
        let times = state.reader.page_times().await?;
        let updated = incidents
            .iter()
            .map(updated_at)
            .chain(times.checks.values().map(|t| t.created))
            .max()
            .unwrap_or_default();
        Ok(Feed {
            title: state.snapshot().config.server.title.clone(),
            base: state.base_url(),
            incidents,
            updated,
        })
    }

    fn link(&self, incident: i64) -> String {
        format!("{}/incidents/{incident}", self.base)
    }

    fn atom(&self) -> atom::Feed {
        let entries: Vec<atom::Entry> = self
            .incidents
            .iter()
            .map(|t| {
                let i = &t.incident;
                atom::EntryBuilder::default()
                    .id(tag(&self.base, i.started_at, i.id))
                    .title(atom::Text::plain(i.title.clone()))
                    .updated(fixed(updated_at(t)))
                    .published(Some(fixed(i.started_at)))
                    .link(
                        atom::LinkBuilder::default()
                            .href(self.link(i.id))
                            .rel("alternate")
                            .mime_type(Some("text/html".to_string()))
                            .build(),
                    )
                    .content(Some(
                        atom::ContentBuilder::default()
                            .content_type(Some("html".to_string()))
                            .value(Some(timeline_html(t)))
                            .build(),
                    ))
                    .build()
            })
            .collect();
        atom::FeedBuilder::default()
            .id(format!("{}/feed.atom", self.base))
            .title(atom::Text::plain(format!(
                "{} incident history",
                self.title
            )))
            .updated(fixed(self.updated))
            .author(
                atom::PersonBuilder::default()
                    .name(self.title.clone())
                    .uri(Some(format!("{}/", self.base)))
                    .build(),
            )
            .link(
                atom::LinkBuilder::default()
                    .href(format!("{}/feed.atom", self.base))
                    .rel("self")
                    .mime_type(Some("application/atom+xml".to_string()))
                    .build(),
            )
            .link(
                atom::LinkBuilder::default()
                    .href(format!("{}/", self.base))
                    .rel("alternate")
                    .mime_type(Some("text/html".to_string()))
                    .build(),
            )
            .generator(Some(
                atom::GeneratorBuilder::default().value("watchpost").build(),
            ))
            .entries(entries)
            .build()
    }

    fn rss(&self) -> rss::Channel {
        let items: Vec<rss::Item> = self
            .incidents
            .iter()
            .map(|t| {
                let i = &t.incident;
                rss::ItemBuilder::default()
                    .title(Some(i.title.clone()))
                    .link(Some(self.link(i.id)))
                    .guid(Some(
                        rss::GuidBuilder::default()
                            .value(tag(&self.base, i.started_at, i.id))
                            .permalink(false)
                            .build(),
                    ))
                    .pub_date(Some(i.started_at.to_chrono().to_rfc2822()))
                    .description(Some(timeline_html(t)))
                    .build()
            })
            .collect();
        let self_link = rss::extension::atom::Link {
            href: format!("{}/feed.rss", self.base),
            rel: "self".to_string(),
            mime_type: Some("application/rss+xml".to_string()),
            ..Default::default()
        };
        rss::ChannelBuilder::default()
            .title(format!("{} incident history", self.title))
            .link(format!("{}/", self.base))
            .description(format!("Incidents reported on {}", self.title))
            .last_build_date(Some(self.updated.to_chrono().to_rfc2822()))
            .generator(Some("watchpost".to_string()))
            .atom_ext(Some(rss::extension::atom::AtomExtension {
                links: vec![self_link],
            }))
            .items(items)
            .build()
    }
}

/// When an incident last changed: its newest update, or its start.
fn updated_at(t: &IncidentTimeline) -> Timestamp {
    t.updates
        .first()
        .map_or(t.incident.started_at, |u| u.at.max(t.incident.started_at))
}

fn fixed(t: Timestamp) -> atom::FixedDateTime {
    t.to_chrono().fixed_offset()
}

/// A stable entry id (RFC 4151): `tag:HOST,DATE:PORT/PATH/incidents/ID`, dated by the incident's
/// start, when the status page certainly had this address.
fn tag(base: &str, started: Timestamp, id: i64) -> String {
    let (host, rest) = match url::Url::parse(base) {
        Ok(u) => (
            u.host_str().unwrap_or("localhost").to_string(),
            format!(
                "{}{}",
                u.port().map(|p| p.to_string()).unwrap_or_default(),
                u.path().trim_end_matches('/')
            ),
        ),
        Err(_) => ("localhost".to_string(), String::new()),
    };
    format!("tag:{host},{}:{rest}/incidents/{id}", started.date())
}

/// The timeline as HTML, newest first, one paragraph per update as Statuspage writes it:
/// `<p><small>Nov 22, 23:34 UTC</small><br><strong>Resolved</strong> - body</p>`.
fn timeline_html(t: &IncidentTimeline) -> String {
    html! {
        @for u in &t.updates {
            p {
                small { (u.at.to_chrono().format("%b %-d, %H:%M UTC")) }
                br;
                strong { (capitalized(&u.status)) }
                " - " (u.body)
            }
        }
    }
    .into_string()
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{IncidentRow, Severity, UpdateRow};

    #[test]
    fn tags_are_stable_and_dated_by_the_incident() {
        let started = Timestamp(1_795_390_477_500);
        assert_eq!(
            tag("https://status.example.org", started, 7),
            "tag:status.example.org,2026-11-22:/incidents/7"
        );
        assert_eq!(
            tag("http://127.0.0.1:8080/status", started, 7),
            "tag:127.0.0.1,2026-11-22:8080/status/incidents/7"
        );
    }

    #[test]
    fn timeline_is_statuspage_html_with_bodies_escaped() {
        let t = IncidentTimeline {
            incident: IncidentRow {
                id: 1,
                check: None,
                auto: true,
                severity: Severity::Major,
                title: "t".to_string(),
                started_at: Timestamp(0),
                resolved_at: None,
                checks: Vec::new(),
                status: "investigating".to_string(),
                cause: None,
                postmortem: None,
                hold: false,
                false_alarm: false,
            },
            updates: vec![UpdateRow {
                id: 1,
                at: Timestamp(1_795_390_477_500),
                status: "investigating".to_string(),
                body: "<script>x</script> & co".to_string(),
                author: None,
            }],
        };
        assert_eq!(
            timeline_html(&t),
            "<p><small>Nov 22, 23:34 UTC</small><br><strong>Investigating</strong> - \
             &lt;script&gt;x&lt;/script&gt; &amp; co</p>"
        );
    }
}
