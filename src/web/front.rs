//! The front page, built to be cheap at any size: the 90-day bars are rendered once per history
//! refresh ([`Bars`]), the page from them at most a few times a second ([`FrontCache`]), and
//! every request gets the stored bytes, already gzipped, with an ETag and Last-Modified.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use maud::{Markup, PreEscaped, Render, html};
use tokio::sync::watch;

use super::cache::{Validators, http_date, weak_etag};
use super::layout::{ago, incident_item, page, state_label};
use super::overall::{Overall, groups, worst};
use super::{WebError, WebState, markdown};
use crate::clock::Timestamp;
use crate::config::Check;
use crate::maintenance::Schedule;
use crate::probe::fmt_duration;
use crate::snapshot::{CheckNow, DayBar, History, Snapshot};
use crate::store::{IncidentFilter, IncidentRow, IncidentTimeline};
use crate::uptime::{DayCell, DayLevel, percent};

/// How far ahead planned maintenance is announced on the page and in the feeds.
pub(super) const UPCOMING: Duration = Duration::from_secs(7 * 86_400);

/// How long resolved incidents stay on the front page.
const PAST_INCIDENTS: Duration = Duration::from_secs(14 * 86_400);

/// Every check's bar, rendered from one history snapshot.
pub struct Bars {
    pub history: Arc<History>,
    html: HashMap<String, Arc<str>>,
}

impl Bars {
    /// Renders every check's bar, reusing `previous` ones whose data is unchanged (the same
    /// `DayBar`); done off the request path, once per history refresh.
    pub fn build(history: Arc<History>, previous: Option<&Bars>) -> Bars {
        let html = history
            .checks
            .iter()
            .map(|(id, h)| {
                let kept = previous.and_then(|p| {
                    let before = p.history.checks.get(id)?;
                    Arc::ptr_eq(&before.bar, &h.bar).then(|| p.html.get(id).cloned())?
                });
                let html = kept.unwrap_or_else(|| day_bar(&h.bar).into_string().into());
                (id.clone(), html)
            })
            .collect();
        Bars { history, html }
    }

    /// The bar of the check `id`, as HTML.
    pub fn bar(&self, id: &str) -> Option<&str> {
        self.html.get(id).map(|s| &**s)
    }
}

/// Keeps [`Bars`] in step with the history: rebuilt on the blocking pool after each refresh.
/// The task ends when the history's sender is dropped, at shutdown.
pub fn spawn_bars(mut history: watch::Receiver<Arc<History>>) -> watch::Receiver<Arc<Bars>> {
    let first = Bars::build(history.borrow_and_update().clone(), None);
    let (tx, rx) = watch::channel(Arc::new(first));
    tokio::spawn(async move {
        while history.changed().await.is_ok() {
            let latest = history.borrow_and_update().clone();
            let previous = tx.borrow().clone();
            let build = move || Bars::build(latest, Some(&previous));
            match tokio::task::spawn_blocking(build).await {
                Ok(bars) => {
                    tx.send_replace(Arc::new(bars));
                }
                Err(e) => {
                    tracing::error!(error = %e, "rendering the uptime bars failed");
                    return;
                }
            }
        }
    });
    rx
}

/// One day per cell, the colour repeated in words: a hidden label that hover, focus or the
/// keyboard (`/assets/bars.js`) shows, with that day's incidents as links. Up days, most of
/// them, carry no class: the page is a thousand bars at most sizes, so every byte counts.
fn day_bar(h: &DayBar) -> Markup {
    html! {
        ol.bar aria-label="Daily status for the last 90 days, oldest first" {
            @for cell in &h.days {
                @let class = (cell.level != DayLevel::Up).then(|| cell.level.as_str());
                li class=[class] {
                    span {
                        (day_text(cell))
                        @for i in h.incidents.iter().filter(|i| i.touches(cell.day)) {
                            a href={ "/incidents/" (i.id) } { (i.title) }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn day_text(cell: &DayCell) -> String {
    let date = cell.day.date();
    match (cell.level, cell.uptime()) {
        (DayLevel::NoData, _) => format!("{date}: no data"),
        (DayLevel::Maintenance, None) => format!("{date}: maintenance"),
        (_, Some(u)) if cell.down_ms > 0 => format!(
            "{date}: {} uptime, down {}",
            percent(Some(u)),
            fmt_duration(Duration::from_millis(u64::from(cell.down_ms)))
        ),
        (_, u) => format!("{date}: {} uptime", percent(u)),
    }
}

/// Appends one check's row to `out`: the parts that change by the second around the bar,
/// which is copied in as rendered.
fn check_row(out: &mut String, check: &Check, now_state: &CheckNow, bars: &Bars, now: Timestamp) {
    let state = now_state.shown_state(check, now);
    let history = bars.history.checks.get(check.id.as_str());
    out.push_str("<li class=\"check\">");
    html! {
        div.line {
            a.name href={ "/checks/" (check.id) } { (check.name) }
            span class={ "state " (state.as_str()) } { (state_label(state)) }
        }
    }
    .render_to(out);
    if let (Some(h), Some(bar)) = (history, bars.bar(check.id.as_str())) {
        out.push_str(bar);
        html! {
            div.meta {
                span { "90 days ago" }
                span {
                    @match h.uptime[3] {
                        Some(_) => { (percent(h.uptime[3])) " uptime" }
                        None => "no data yet",
                    }
                }
                span { "today" }
            }
        }
        .render_to(out);
    }
    if let Some(last) = &now_state.last {
        html! {
            p.small {
                "Last checked " (ago(now, last.at))
                @if let Some(f) = &last.failure { " · " (f.message) }
            }
        }
        .render_to(out);
    }
    out.push_str("</li>");
}

/// Appends the checks, by group, to `out`.
fn check_rows(out: &mut String, f: &Front<'_>) {
    for (group, members) in groups(f.snapshot) {
        if group.is_empty() {
            out.push_str("<section class=\"group\">");
        } else {
            let worst = worst(members.iter().map(|(c, n)| n.shown_state(c, f.now)));
            out.push_str("<details class=\"group\" open>");
            html! {
                summary { h2 { (group) } span class={ "state " (worst.as_str()) } { (state_label(worst)) } }
            }
            .render_to(out);
        }
        out.push_str("<ul class=\"checks\">");
        for (check, current) in members {
            check_row(out, check, current, f.bars, f.now);
        }
        out.push_str("</ul>");
        out.push_str(if group.is_empty() {
            "</section>"
        } else {
            "</details>"
        });
    }
}

/// Where the checks go in the page: text from config or Markdown can never produce it, since
/// both escape `<`.
const ROWS: &str = "<!--rows-->";

/// An active incident with its latest update.
fn active_item(t: &IncidentTimeline, now: Timestamp) -> Markup {
    html! {
        (incident_item(&t.incident, now))
        @if let Some(u) = t.updates.first() {
            div.latest {
                strong { (u.status) } " "
                time datetime=(u.at.rfc3339()) { (u.at.rfc3339()) }
                div.md { (PreEscaped(markdown::render(&u.body))) }
            }
        }
    }
}

/// The overall banner's class and text, in Statuspage's words: maintenance is named before
/// checks without a known state.
fn banner(overall: Overall) -> (&'static str, &'static str) {
    match overall {
        Overall::NoChecks => ("unknown", "No checks are configured"),
        Overall::Waiting => ("unknown", "Status unknown: waiting for the first probes"),
        Overall::MajorOutage => ("down", "Major outage"),
        Overall::PartialOutage => ("partial", "Partial outage"),
        Overall::Degraded => ("degraded", "Degraded performance"),
        Overall::Maintenance { .. } => ("maintenance", "Under maintenance"),
        Overall::Operational { unknown: true } => ("up", "All known systems operational"),
        Overall::Operational { unknown: false } => ("up", "All systems operational"),
    }
}

/// Everything the front page shows, gathered.
pub struct Front<'a> {
    pub snapshot: &'a Snapshot,
    pub bars: &'a Bars,
    pub schedule: &'a Schedule,
    /// Open incidents, newest first, with their timelines (newest update first).
    pub open: &'a [IncidentTimeline],
    pub recent: &'a [IncidentRow],
    pub now: Timestamp,
}

/// Renders the front page; pure, so it can be measured on its own. The frame is rendered
/// first, then the rows are written into one buffer sized for the whole page.
pub fn render_index(f: &Front<'_>) -> String {
    let (snapshot, now) = (f.snapshot, f.now);
    let (open, recent) = (f.open, f.recent);
    let (class, text) = banner(Overall::at(snapshot, now));
    let title = &snapshot.config.server.title;
    let active = f.schedule.active(now);
    let upcoming = f.schedule.upcoming(now, UPCOMING);
    let names = |slugs: &[crate::config::CheckId]| {
        slugs
            .iter()
            .map(|c| {
                snapshot
                    .get(c.as_str())
                    .map_or(c.as_str(), |(c, _)| c.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let frame = page(
        title,
        title,
        Some("/assets/bars.js"),
        html! {
            h1.sr { (title) }
            div class={ "banner " (class) } role="status" { (text) }
            @if !open.is_empty() {
                section {
                    h2 { "Active incidents" }
                    ul.incidents { @for t in open { (active_item(t, now)) } }
                }
            }
            @if !active.is_empty() || !upcoming.is_empty() {
                section {
                    h2 { "Maintenance" }
                    ul.incidents {
                        @for (w, label) in active.iter().map(|w| (w, "In progress")).chain(upcoming.iter().map(|w| (w, "Planned"))) {
                            li.incident.maintenance {
                                strong { (label) ": " } (w.title)
                                p.small { (w.start.rfc3339()) " → " (w.end.rfc3339()) " · " (names(&w.checks)) }
                                @if !w.body.is_empty() { div.md { (PreEscaped(markdown::render(&w.body))) } }
                            }
                        }
                    }
                }
            }
            (PreEscaped(ROWS))
            p.legend {
                @for (level, text) in [("up", "operational"), ("degraded", "degraded"), ("partial", "outage under 1 h"), ("down", "outage of 1 h or more"), ("maintenance", "maintenance"), ("nodata", "no data")] {
                    i class=(level) {} " " (text) " "
                }
            }
            @if !recent.is_empty() {
                section {
                    h2 { "Past incidents" }
                    ul.incidents { @for i in recent { (incident_item(i, now)) } }
                    p.small { a href="/history" { "Incident history" } }
                }
            }
        },
    )
    .into_string();
    let (head, tail) = frame.split_once(ROWS).unwrap_or((&frame, ""));
    let rows: usize = f.bars.html.values().map(|b| b.len() + 512).sum();
    let mut out = String::with_capacity(head.len() + rows + tail.len());
    out.push_str(head);
    check_rows(&mut out, f);
    out.push_str(tail);
    out
}

/// The snapshot, bars and schedule a page was made from. Held, not just their addresses, so
/// that a newer value can never be mistaken for them by taking a freed address.
#[derive(Clone)]
struct Versions {
    snapshot: Arc<Snapshot>,
    bars: Arc<Bars>,
    schedule: Arc<Schedule>,
}

impl Versions {
    fn current(state: &WebState) -> Versions {
        Versions {
            snapshot: state.snapshot.borrow().clone(),
            bars: state.bars.borrow().clone(),
            schedule: state.schedule.borrow().clone(),
        }
    }

    fn same(&self, other: &Versions) -> bool {
        Arc::ptr_eq(&self.snapshot, &other.snapshot)
            && Arc::ptr_eq(&self.bars, &other.bars)
            && Arc::ptr_eq(&self.schedule, &other.schedule)
    }
}

/// The front page as last rendered, in the forms it is served in.
pub struct Rendered {
    versions: Versions,
    at: Instant,
    modified: SystemTime,
    html: Bytes,
    gzip: Bytes,
    etag: HeaderValue,
}

/// The rendered front page, shared by all requests. A page is reused while nothing it shows has
/// changed and it is under a second old (it says "checked N s ago"); while one request renders,
/// the others get the previous page instead of rendering too; and renders are spaced by ten
/// times their cost, so a busy daemon with many checks spends at most a tenth of a core here.
#[derive(Default)]
pub struct FrontCache {
    /// Held only to copy the `Arc` in or out.
    page: Mutex<Option<Arc<Rendered>>>,
    building: tokio::sync::Mutex<()>,
    /// How long the last render took.
    cost: Mutex<Duration>,
}

impl FrontCache {
    /// The longest a page is reused.
    pub const FRESH: Duration = Duration::from_secs(1);

    fn latest(&self) -> Option<Arc<Rendered>> {
        self.page.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The stored page if it may still be served for these versions.
    fn usable(&self, versions: &Versions) -> Option<Arc<Rendered>> {
        let page = self.latest()?;
        let age = page.at.elapsed();
        let cost = *self.cost.lock().unwrap_or_else(|p| p.into_inner());
        let current = page.versions.same(versions) && age < FrontCache::FRESH;
        (current || age < (cost * 10).min(FrontCache::FRESH)).then_some(page)
    }

    async fn get(&self, state: &WebState) -> Result<Arc<Rendered>, WebError> {
        if let Some(page) = self.usable(&Versions::current(state)) {
            return Ok(page);
        }
        let _building = match (self.building.try_lock(), self.latest()) {
            (Ok(guard), _) => guard,
            (Err(_), Some(previous)) => return Ok(previous),
            (Err(_), None) => self.building.lock().await,
        };
        // Someone else may have rendered it while this request waited.
        let versions = Versions::current(state);
        if let Some(page) = self.usable(&versions) {
            return Ok(page);
        }
        let started = Instant::now();
        let page = match render(state, versions).await {
            Ok(page) => Arc::new(page),
            // A failed read (say, the database busy past its timeout) shows the last page
            // rather than an error; the next request tries again.
            Err(e) => match self.latest() {
                Some(previous) => {
                    tracing::warn!(error = ?e, "rendering the front page failed; serving the previous one");
                    return Ok(previous);
                }
                None => return Err(e),
            },
        };
        *self.cost.lock().unwrap_or_else(|p| p.into_inner()) = started.elapsed();
        *self.page.lock().unwrap_or_else(|p| p.into_inner()) = Some(page.clone());
        Ok(page)
    }
}

/// Reads what the page needs, renders and compresses it on the blocking pool.
async fn render(state: &WebState, versions: Versions) -> Result<Rendered, WebError> {
    let now = Timestamp::now();
    let open = state.reader.timelines(IncidentFilter::Open, 100).await?;
    let recent: Vec<IncidentRow> = state
        .reader
        .incidents(None, 50)
        .await?
        .into_iter()
        .filter(|i| {
            i.resolved_at
                .is_some_and(|r| now.since(r) <= PAST_INCIDENTS)
        })
        .collect();
    let work = move || {
        let html = render_index(&Front {
            snapshot: &versions.snapshot,
            bars: &versions.bars,
            schedule: &versions.schedule,
            open: &open,
            recent: &recent,
            now,
        });
        let gzip = gzip(html.as_bytes())?;
        // Weak: the plain and the gzipped bytes are one page.
        let etag = HeaderValue::from_str(&weak_etag(html.as_bytes()))
            .map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(Rendered {
            versions,
            at: Instant::now(),
            modified: SystemTime::now(),
            html: Bytes::from(html),
            gzip: Bytes::from(gzip),
            etag,
        })
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
}

/// Gzip at the default level: once per render, and the page is repeated markup, so the fast
/// levels cost a third of the time for three times the bytes (measured in `benches/render.rs`).
pub fn gzip(data: &[u8]) -> Result<Vec<u8>, WebError> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 16),
        flate2::Compression::default(),
    );
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| WebError::Internal(format!("compressing the page: {e}")))
}

/// `/`: the stored page, gzipped when the client takes it, `304` when it has it already.
pub async fn index(
    State(state): State<WebState>,
    request: HeaderMap,
) -> Result<Response, WebError> {
    let page = state.front.get(&state).await?;
    let modified = http_date(page.modified.into());
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    let validators = Validators::of(&request);
    let tag = page.etag.to_str().unwrap_or_default();
    let mut response = if validators.current(tag, Some(page.modified)) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(&request) {
        (
            [
                (header::CONTENT_TYPE, html),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            page.gzip.clone(),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, html)], page.html.clone()).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, page.etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=10"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    Ok(response)
}

/// Whether `Accept-Encoding` allows gzip (or anything, by `*`) with a non-zero quality.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn unchanged_bars_are_kept_and_changed_ones_rendered_again() {
        use crate::snapshot::CheckHistory;
        use crate::uptime::{DayCell, Rollup};
        let day = |down_ms| {
            let r = Rollup {
                up_ms: 3_600_000 - down_ms,
                down_ms,
                ..Rollup::default()
            };
            DayBar {
                days: vec![DayCell::new(Timestamp(0), Some(&r))],
                incidents: Vec::new(),
            }
        };
        let history = |a: &Arc<DayBar>, b: DayBar| {
            let mut h = History::default();
            for (id, bar) in [("a", a.clone()), ("b", Arc::new(b))] {
                let uptime = [None; 4];
                h.checks
                    .insert(id.to_string(), CheckHistory { uptime, bar });
            }
            Arc::new(h)
        };
        let same = Arc::new(day(0));
        let first = Bars::build(history(&same, day(0)), None);
        let second = Bars::build(history(&same, day(60_000)), Some(&first));
        assert!(Arc::ptr_eq(&first.html["a"], &second.html["a"]), "kept");
        assert!(!Arc::ptr_eq(&first.html["b"], &second.html["b"]));
        assert!(
            second.bar("b").unwrap().contains("down 60s"),
            "{:?}",
            second.bar("b")
        );
    }

    #[test]
    fn a_page_is_reused_while_current_and_renders_are_spaced_by_their_cost() {
        let toml = "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n";
        let config = crate::config::parse(std::path::Path::new("t.toml"), toml).unwrap();
        let config = Arc::new(config);
        let bars = Arc::new(Bars::build(Arc::new(History::default()), None));
        let schedule = Arc::new(Schedule::default());
        let versions = || Versions {
            snapshot: Arc::new(Snapshot::empty(config.clone())),
            bars: bars.clone(),
            schedule: schedule.clone(),
        };
        let (a, b) = (versions(), versions());
        let cache = FrontCache::default();
        let store = |age: Duration| {
            *cache.page.lock().unwrap() = Some(Arc::new(Rendered {
                versions: a.clone(),
                at: Instant::now().checked_sub(age).unwrap(),
                modified: SystemTime::now(),
                html: Bytes::new(),
                gzip: Bytes::new(),
                etag: HeaderValue::from_static("W/\"x\""),
            }));
        };
        store(Duration::ZERO);
        assert!(cache.usable(&a).is_some(), "unchanged and fresh");
        assert!(
            cache.usable(&b).is_none(),
            "changed, and renders cost nothing"
        );
        *cache.cost.lock().unwrap() = Duration::from_millis(20);
        assert!(
            cache.usable(&b).is_some(),
            "changed, within ten renders' time"
        );
        store(Duration::from_millis(300));
        assert!(cache.usable(&b).is_none(), "changed, and spaced enough");
        assert!(cache.usable(&a).is_some());
        store(FrontCache::FRESH);
        assert!(
            cache.usable(&a).is_none(),
            "a second old: it says \"N s ago\""
        );
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
