//! The 90-day bars of every check, rendered once per history refresh on the blocking pool and
//! reused while a check's data is unchanged, so that no request renders a bar. A bar's words are
//! in a language: English always, another from the first page asked in it (then kept up to date
//! with English), so a language nobody reads costs nothing. It only renders what the history
//! says; it never reads the store.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use maud::{Markup, html};
use tokio::sync::watch;

use crate::i18n::{Lang, Strings};
use crate::snapshot::{DayBar, History};
use crate::uptime::{DayCell, DayLevel};
use crate::words::percent;

/// Every check's bar as HTML, by check id.
type Rendered = HashMap<String, Arc<str>>;

/// Every check's bar, rendered from one history snapshot, in each language asked for.
pub struct Bars {
    pub history: Arc<History>,
    /// By `Lang::index`: English at once, the others on first use.
    html: [OnceLock<Rendered>; Lang::COUNT],
}

impl Bars {
    /// Renders every check's bar in English and in each language `previous` had, reusing
    /// `previous` ones whose data is unchanged (the same `DayBar`); done off the request path,
    /// once per history refresh.
    pub fn build(history: Arc<History>, previous: Option<&Bars>) -> Bars {
        let html: [OnceLock<Rendered>; Lang::COUNT] = Default::default();
        for lang in Lang::ALL {
            let before = previous.and_then(|p| Some((&*p.history, p.html[lang.index()].get()?)));
            if lang == Lang::En || before.is_some() {
                let _ = html[lang.index()].set(render(&history, lang.strings(), before));
            }
        }
        Bars { history, html }
    }

    fn rendered(&self, lang: Lang) -> &Rendered {
        self.html[lang.index()].get_or_init(|| render(&self.history, lang.strings(), None))
    }

    /// The length of each bar's HTML in `lang`, to size the page's buffer.
    pub(super) fn lengths(&self, lang: Lang) -> impl Iterator<Item = usize> {
        self.rendered(lang).values().map(|b| b.len())
    }

    /// The bar of the check `id` in `lang`, as HTML; the first call in a language renders
    /// every bar in it.
    pub fn bar(&self, lang: Lang, id: &str) -> Option<&str> {
        self.rendered(lang).get(id).map(|s| &**s)
    }
}

/// Every bar of `history`, reusing those of `previous` (a history and its bars in the same
/// language) whose data is unchanged.
fn render(history: &History, txt: &Strings, previous: Option<(&History, &Rendered)>) -> Rendered {
    history
        .checks
        .iter()
        .map(|(id, h)| {
            let kept = previous.and_then(|(history, html)| {
                let before = history.checks.get(id)?;
                Arc::ptr_eq(&before.bar, &h.bar).then(|| html.get(id).cloned())?
            });
            let html = kept.unwrap_or_else(|| day_bar(txt, &h.bar).into_string().into());
            (id.clone(), html)
        })
        .collect()
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
fn day_bar(txt: &Strings, h: &DayBar) -> Markup {
    html! {
        ol.bar aria-label=(txt.bar_label) {
            @for cell in &h.days {
                @let class = (cell.level != DayLevel::Up).then(|| cell.level.as_str());
                li class=[class] {
                    span {
                        (day_text(txt, cell))
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
fn day_text(txt: &Strings, cell: &DayCell) -> String {
    let date = crate::words::day(txt, cell.day);
    match (cell.level, cell.uptime()) {
        (DayLevel::NoData, _) => (txt.day_no_data)(&date),
        (DayLevel::Maintenance, None) => (txt.day_maintenance)(&date),
        (_, Some(u)) if cell.down_ms > 0 => (txt.day_down)(
            &date,
            &percent(txt, Some(u)),
            &crate::words::duration(txt, Duration::from_millis(u64::from(cell.down_ms))),
        ),
        (_, u) => (txt.day_uptime)(&date, &percent(txt, u)),
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
        let english = |b: &Bars| b.html[Lang::En.index()].get().unwrap().clone();
        assert!(
            Arc::ptr_eq(&english(&first)["a"], &english(&second)["a"]),
            "kept"
        );
        assert!(!Arc::ptr_eq(&english(&first)["b"], &english(&second)["b"]));
        assert!(
            second
                .bar(Lang::En, "b")
                .unwrap()
                .contains("Jan 1: 98.33% uptime, down 1 min"),
            "{:?}",
            second.bar(Lang::En, "b")
        );
        // French is rendered when first asked for, then kept in step with each refresh.
        let fr = Lang::Fr.index();
        assert!(
            first.html[fr].get().is_none(),
            "nobody asked for French yet"
        );
        assert!(
            first
                .bar(Lang::Fr, "b")
                .unwrap()
                .contains("1er janv.\u{a0}: 100\u{a0}% de disponibilité")
        );
        let third = Bars::build(history(&same, day(60_000)), Some(&first));
        let french = |b: &Bars| b.html[fr].get().unwrap().clone();
        assert!(
            Arc::ptr_eq(&french(&first)["a"], &french(&third)["a"]),
            "kept"
        );
        assert!(
            third.bar(Lang::Fr, "b").unwrap().contains("en panne 1 min"),
            "{:?}",
            third.bar(Lang::Fr, "b")
        );
    }
}
