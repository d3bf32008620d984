//! The 90-day bars of every check, rendered once per history refresh on the blocking pool and
//! reused while a check's data is unchanged, so that no request renders a bar. It only renders
//! what the history says; it never reads the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use maud::{Markup, html};
use tokio::sync::watch;

use crate::snapshot::{DayBar, History};
use crate::uptime::{DayCell, DayLevel, percent};

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

    /// The length of each bar's HTML, to size the page's buffer.
    pub(super) fn lengths(&self) -> impl Iterator<Item = usize> {
        self.html.values().map(|b| b.len())
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
        assert!(Arc::ptr_eq(&first.html["a"], &second.html["a"]), "kept");
        assert!(!Arc::ptr_eq(&first.html["b"], &second.html["b"]));
        assert!(
            second
                .bar("b")
                .unwrap()
                .contains("Jan 1: 98.33% uptime, down 1 min"),
            "{:?}",
            second.bar("b")
        );
    }
}
