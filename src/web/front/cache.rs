//! The front page as last rendered, kept with its gzip and validators and shared by every
//! request ([`FrontCache`]), one per language, each rendered only once asked for: it decides when
//! to render again and reads what a render needs. It never answers a request itself
//! (`front::index` does) and never renders a bar itself.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::http::HeaderValue;
use bytes::Bytes;

use super::bars::Bars;
use super::render::{Front, render_index};
use crate::clock::Timestamp;
use crate::i18n::Lang;
use crate::maintenance::Schedule;
use crate::snapshot::Snapshot;
use crate::store::{IncidentFilter, IncidentRow};
use crate::web::cache::weak_etag;
use crate::web::{WebError, WebState};

/// How long resolved incidents stay on the front page.
const PAST_INCIDENTS: Duration = Duration::from_secs(14 * 86_400);

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
pub(super) struct Rendered {
    versions: Versions,
    at: Instant,
    pub(super) modified: SystemTime,
    pub(super) html: Bytes,
    pub(super) gzip: Bytes,
    pub(super) etag: HeaderValue,
}

/// The rendered front page in each language, shared by all requests.
#[derive(Default)]
pub struct FrontCache {
    /// By `Lang::index`.
    langs: [Slot; Lang::COUNT],
}

impl FrontCache {
    /// The longest a page is reused.
    pub const FRESH: Duration = Duration::from_secs(1);

    /// The page to serve now in `lang`, rendering it first when the stored one may not be
    /// served.
    pub(super) async fn get(
        &self,
        state: &WebState,
        lang: Lang,
    ) -> Result<Arc<Rendered>, WebError> {
        self.langs[lang.index()].get(state, lang).await
    }
}

/// The front page in one language. A page is reused while nothing it shows has changed and it
/// is under a second old (it says "checked N s ago"); while one request renders, the others get
/// the previous page instead of rendering too; and renders are spaced by ten times their cost,
/// so a busy daemon with many checks spends at most a tenth of a core here per language read.
#[derive(Default)]
struct Slot {
    /// Held only to copy the `Arc` in or out.
    page: Mutex<Option<Arc<Rendered>>>,
    building: tokio::sync::Mutex<()>,
    /// How long the last render took.
    cost: Mutex<Duration>,
}

impl Slot {
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

    /// The page to serve now, rendering it first when the stored one may not be served.
    async fn get(&self, state: &WebState, lang: Lang) -> Result<Arc<Rendered>, WebError> {
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
        let page = match render(state, versions, lang).await {
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
async fn render(state: &WebState, versions: Versions, lang: Lang) -> Result<Rendered, WebError> {
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
            lang,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::History;

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
        let cache = Slot::default();
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
}
