//! The incident history as Atom (`/feed.atom`, alias `/history.atom`) and RSS 2.0 (`/feed.rss`,
//! alias `/history.rss`): one entry per incident and per maintenance window, the 50 changed
//! last, each with its updates newest first as Statuspage writes them.
//!
//! Untrusted text is escaped twice where it travels as HTML inside XML: maud escapes the update
//! bodies into the HTML content, and the feed writers escape that HTML into XML text. Titles are
//! plain text, escaped once by the writers. It only reads.

use atom_syndication as atom;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::planned::{self, UPCOMING};
use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::maintenance::stages;
use crate::store::{IncidentFilter, IncidentTimeline, Planned};

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
    entries: Vec<Entry>,
    /// The latest change: the newest entry, or the newest check when there is none.
    updated: Timestamp,
}

/// One incident or maintenance window as a feed entry.
struct Entry {
    /// The path naming it under the page: `incidents/7`, `maintenance/3`.
    path: String,
    title: String,
    link: String,
    /// `incident` or `maintenance`, as the entry's category.
    kind: &'static str,
    published: Timestamp,
    updated: Timestamp,
    /// The updates newest first, as HTML.
    content: String,
}

impl Feed {
    async fn load(state: &WebState) -> Result<Feed, WebError> {
        let now = Timestamp::now();
        let base = state.base_url();
        let incidents = state.reader.timelines(IncidentFilter::All, ENTRIES).await?;
        let planned = state.reader.planned_maintenance(ENTRIES).await?;
        let schedule = state.schedule.borrow().clone();
        let times = state.reader.page_times().await?;
        let mut entries: Vec<Entry> = incidents
            .iter()
            .map(|t| Entry {
                path: format!("incidents/{}", t.incident.id),
                title: t.incident.title.clone(),
                link: format!("{base}/incidents/{}", t.incident.id),
                kind: "incident",
                published: t.incident.started_at,
                updated: updated_at(t),
                content: timeline_html(t),
            })
            .collect();
        // One-off windows from the store; occurrences of recurring ones while announced.
        let recurring =
            planned::recurring(&schedule, now, UPCOMING).map(|(announced, w)| Planned {
                created: announced,
                updated: announced,
                cancelled: false,
                window: w,
            });
        entries.extend(
            planned
                .into_iter()
                .chain(recurring)
                .map(|p| maintenance_entry(&base, &p, now)),
        );
        entries.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.path.cmp(&a.path)));
        entries.truncate(ENTRIES);
        let updated = entries
            .iter()
            .map(|e| e.updated)
            .chain(times.checks.values().map(|t| t.created))
            .max()
            .unwrap_or_default();
        Ok(Feed {
            title: state.snapshot().config.server.title.clone(),
            base,
            entries,
            updated,
        })
    }

    fn atom(&self) -> atom::Feed {
        let entries: Vec<atom::Entry> = self
            .entries
            .iter()
            .map(|e| {
                atom::EntryBuilder::default()
                    .id(tag(&self.base, e.published, &e.path))
                    .title(atom::Text::plain(e.title.clone()))
                    .updated(fixed(e.updated))
                    .published(Some(fixed(e.published)))
                    .category(atom::CategoryBuilder::default().term(e.kind).build())
                    .link(
                        atom::LinkBuilder::default()
                            .href(e.link.clone())
                            .rel("alternate")
                            .mime_type(Some("text/html".to_string()))
                            .build(),
                    )
                    .content(Some(
                        atom::ContentBuilder::default()
                            .content_type(Some("html".to_string()))
                            .value(Some(e.content.clone()))
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
            .entries
            .iter()
            .map(|e| {
                rss::ItemBuilder::default()
                    .title(Some(e.title.clone()))
                    .link(Some(e.link.clone()))
                    .guid(Some(
                        rss::GuidBuilder::default()
                            .value(tag(&self.base, e.published, &e.path))
                            .permalink(false)
                            .build(),
                    ))
                    .category(rss::CategoryBuilder::default().name(e.kind).build())
                    // When it last changed, so that readers show an update as news.
                    .pub_date(Some(e.updated.to_chrono().to_rfc2822()))
                    .description(Some(e.content.clone()))
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
            .description(format!(
                "Incidents and planned maintenance reported on {}",
                self.title
            ))
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

/// A maintenance window's entry, its updates as Statuspage writes them (`maintenance::stages`).
fn maintenance_entry(base: &str, p: &Planned, now: Timestamp) -> Entry {
    let w = &p.window;
    let path = match w.id {
        Some(id) => format!("maintenance/{id}"),
        None => format!("maintenance/recurring-{}", w.start.0 / 1000),
    };
    let when = crate::words::range(crate::i18n::ENGLISH, w.start, w.end, now);
    let mut stages = stages(w, p.created, p.cancelled.then_some(p.updated), now);
    if let Some(first) = stages.first_mut() {
        first.body = format!("{when}. {}", first.body);
    }
    stages.reverse();
    let link = match w.id {
        Some(id) => format!("{base}/history#maintenance-{id}"),
        None => format!("{base}/"),
    };
    Entry {
        path,
        title: w.title.clone(),
        link,
        kind: "maintenance",
        published: p.created,
        updated: stages.first().map_or(p.created, |s| s.at),
        content: updates_html(stages.iter().map(|s| (s.at, s.status, s.body.as_str()))),
    }
}

fn fixed(t: Timestamp) -> atom::FixedDateTime {
    t.to_chrono().fixed_offset()
}

/// A stable entry id (RFC 4151): `tag:HOST,DATE:PORT/PATH/incidents/ID`, dated by the entry's
/// first publication, when the status page certainly had this address.
fn tag(base: &str, started: Timestamp, path: &str) -> String {
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
    format!("tag:{host},{}:{rest}/{path}", started.date())
}

/// The timeline as HTML, newest first, one paragraph per update as Statuspage writes it:
/// `<p><small>Nov 22, 23:34 UTC</small><br><strong>Resolved</strong> - body</p>`.
fn timeline_html(t: &IncidentTimeline) -> String {
    updates_html(
        t.updates
            .iter()
            .map(|u| (u.at, u.status.as_str(), u.body.as_str())),
    )
}

/// Updates as (time, status, body), newest first, in Statuspage's paragraphs.
fn updates_html<'a>(updates: impl Iterator<Item = (Timestamp, &'a str, &'a str)>) -> String {
    html! {
        @for (at, status, body) in updates {
            p {
                small { (at.to_chrono().format("%b %-d, %H:%M UTC")) }
                br;
                strong { (capitalized(&status.replace('_', " "))) }
                " - " (body)
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
            tag("https://status.example.org", started, "incidents/7"),
            "tag:status.example.org,2026-11-22:/incidents/7"
        );
        assert_eq!(
            tag("http://127.0.0.1:8080/status", started, "incidents/7"),
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
                status: crate::model::IncidentStatus::Investigating,
                cause: None,
                postmortem: None,
                hold: false,
                false_alarm: false,
            },
            updates: vec![UpdateRow {
                id: 1,
                at: Timestamp(1_795_390_477_500),
                status: crate::model::IncidentStatus::Investigating,
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
