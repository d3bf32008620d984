//! The 90-day bars of every check, rendered from the history and kept in a bounded cache: a bar
//! is rendered once while its data is unchanged, on the blocking pool after each history refresh
//! for configs small enough to keep every bar, and when first asked for in larger ones (the
//! front page folds their groups and renders a group's bars when it is opened). It only renders
//! what the history says; it never reads the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use maud::{Markup, html};
use tokio::sync::watch;

use crate::snapshot::{DayBar, History};
use crate::uptime::{DayCell, DayLevel, percent};

/// The most bars kept rendered: 4.5 KB of HTML each, so at most about 9 MB. Configs up to this
/// size keep every bar and render none on a request.
pub const KEPT: usize = 2_000;

/// A rendered bar and the data it was rendered from.
type Entry = (Arc<DayBar>, Arc<str>);

/// Every check's bar, from one history snapshot: rendered ones kept, others rendered on demand.
pub struct Bars {
    pub history: Arc<History>,
    html: Mutex<HashMap<String, Entry>>,
}

impl Bars {
    /// Keeps the bars of `previous` whose data is unchanged (the same `DayBar`) and, when every
    /// bar fits in the cache, renders the others; done off the request path, once per history
    /// refresh.
    pub fn build(history: Arc<History>, previous: Option<&Bars>) -> Bars {
        let mut kept = previous.map(Bars::entries).unwrap_or_default();
        kept.retain(|id, (bar, _)| {
            history
                .checks
                .get(id)
                .is_some_and(|h| Arc::ptr_eq(&h.bar, bar))
        });
        if history.checks.len() <= KEPT {
            for (id, h) in &history.checks {
                if !kept.contains_key(id) {
                    let html = day_bar(&h.bar).into_string().into();
                    kept.insert(id.clone(), (h.bar.clone(), html));
                }
            }
        }
        Bars {
            history,
            html: Mutex::new(kept),
        }
    }

    fn entries(&self) -> HashMap<String, Entry> {
        self.html.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many bars are rendered and kept, and their bytes.
    pub fn kept(&self) -> (usize, usize) {
        let map = self.html.lock().unwrap_or_else(|p| p.into_inner());
        (map.len(), map.values().map(|(_, h)| h.len()).sum())
    }

    /// The bar of the check `id`, as HTML: the kept one, or rendered now and kept (making room
    /// by dropping another when the cache is full).
    pub fn bar(&self, id: &str) -> Option<Arc<str>> {
        let data = self.history.checks.get(id)?;
        if let Some((_, html)) = self.html.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Some(html.clone());
        }
        let html: Arc<str> = day_bar(&data.bar).into_string().into();
        let mut map = self.html.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEPT {
            let evicted = map.keys().next().cloned();
            if let Some(evicted) = evicted {
                map.remove(&evicted);
            }
        }
        map.insert(id.to_string(), (data.bar.clone(), html.clone()));
        Some(html)
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

/// A day's cell in words: its date ("Dec 3", UTC), its uptime and how long it was down.
fn day_text(cell: &DayCell) -> String {
    let date = crate::words::day(cell.day);
    match (cell.level, cell.uptime()) {
        (DayLevel::NoData, _) => format!("{date}: no data"),
        (DayLevel::Maintenance, None) => format!("{date}: maintenance"),
        (_, Some(u)) if cell.down_ms > 0 => format!(
            "{date}: {} uptime, down {}",
            percent(Some(u)),
            crate::words::duration(Duration::from_millis(u64::from(cell.down_ms)))
        ),
        (_, u) => format!("{date}: {} uptime", percent(u)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_bars_are_kept_and_changed_ones_rendered_again() {
        use crate::clock::Timestamp;
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
        let html = |bars: &Bars, id: &str| bars.bar(id).unwrap();
        assert!(Arc::ptr_eq(&html(&first, "a"), &html(&second, "a")), "kept");
        assert!(!Arc::ptr_eq(&html(&first, "b"), &html(&second, "b")));
        assert!(
            second
                .bar("b")
                .unwrap()
                .contains("Jan 1: 98.33% uptime, down 1 min"),
            "{:?}",
            second.bar("b")
        );
    }

    #[test]
    fn a_large_config_renders_bars_when_asked_and_keeps_at_most_kept() {
        use crate::snapshot::CheckHistory;
        let bar = Arc::new(DayBar::default());
        let mut h = History::default();
        for i in 0..=KEPT {
            let history = CheckHistory {
                uptime: [None; 4],
                bar: bar.clone(),
            };
            h.checks.insert(format!("c{i}"), history);
        }
        let bars = Bars::build(Arc::new(h), None);
        assert_eq!(bars.kept().0, 0, "nothing rendered ahead");
        let first = bars.bar("c0").unwrap();
        assert!(first.starts_with("<ol class=\"bar\""), "{first}");
        assert!(Arc::ptr_eq(&first, &bars.bar("c0").unwrap()), "kept");
        for i in 0..=KEPT {
            bars.bar(&format!("c{i}")).unwrap();
        }
        assert_eq!(bars.kept().0, KEPT);
        assert!(bars.bar("nope").is_none());
    }
}
