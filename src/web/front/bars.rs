//! The 90-day bars of every check, rendered from the history and kept in a bounded cache per
//! language: a bar is rendered once while its data is unchanged. English bars are rendered on
//! the blocking pool after each history refresh for configs small enough to keep every bar,
//! another language's from the first page asked in it (then kept up to date with English), so
//! a language nobody reads costs nothing; in larger configs a bar is rendered when first asked
//! for (the front page folds their groups and renders a group's bars when it is opened). It
//! only renders what the history says; it never reads the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use maud::{Markup, html};
use tokio::sync::watch;

use crate::i18n::{Lang, Strings};
use crate::snapshot::{DayBar, History};
use crate::uptime::{DayCell, DayLevel};
use crate::words::percent;

/// The most bars kept rendered in a language: 4.5 KB of HTML each, so at most about 9 MB per
/// language read. Configs up to this size keep every bar and render none on a request.
pub const KEPT: usize = 2_000;

/// A rendered bar and the data it was rendered from.
type Entry = (Arc<DayBar>, Arc<str>);

/// The bars kept in one language.
#[derive(Clone, Default)]
struct Kept {
    /// Whether a page was asked for in this language (English always is): its bars are then
    /// rendered ahead where they all fit.
    used: bool,
    bars: HashMap<String, Entry>,
}

/// Every check's bar, from one history snapshot, in each language asked for: rendered ones
/// kept, others rendered on demand.
pub struct Bars {
    pub history: Arc<History>,
    /// By `Lang::index`.
    html: [Mutex<Kept>; Lang::COUNT],
}

impl Bars {
    /// Keeps the bars of `previous` whose data is unchanged (the same `DayBar`) and, when every
    /// bar fits in the cache, renders the others in English and in each language `previous`
    /// was read in; done off the request path, once per history refresh.
    pub fn build(history: Arc<History>, previous: Option<&Bars>) -> Bars {
        let html = Lang::ALL.map(|lang| {
            let mut kept = previous.map(|p| p.lock(lang).clone()).unwrap_or_default();
            kept.bars.retain(|id, (bar, _)| {
                history
                    .checks
                    .get(id.as_str())
                    .is_some_and(|h| Arc::ptr_eq(&h.bar, bar))
            });
            kept.used |= lang == Lang::En;
            if kept.used {
                fill(&history, lang.strings(), &mut kept.bars);
            }
            Mutex::new(kept)
        });
        Bars { history, html }
    }

    fn lock(&self, lang: Lang) -> MutexGuard<'_, Kept> {
        self.html[lang.index()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// How many bars are rendered and kept in `lang`, and their bytes.
    pub fn kept(&self, lang: Lang) -> (usize, usize) {
        let kept = self.lock(lang);
        let bytes = kept.bars.values().map(|(_, h)| h.len()).sum();
        (kept.bars.len(), bytes)
    }

    /// The bar of the check `id` in `lang`, as HTML: the kept one, or rendered now and kept
    /// (making room by dropping another when the cache is full). The first call in a language
    /// renders every bar in it when they all fit.
    pub fn bar(&self, lang: Lang, id: &str) -> Option<Arc<str>> {
        let data = self.history.checks.get(id)?;
        let txt = lang.strings();
        {
            let mut kept = self.lock(lang);
            if !kept.used {
                kept.used = true;
                fill(&self.history, txt, &mut kept.bars);
            }
            if let Some((_, html)) = kept.bars.get(id) {
                return Some(html.clone());
            }
        }
        let html: Arc<str> = day_bar(txt, &data.bar).into_string().into();
        let mut kept = self.lock(lang);
        if kept.bars.len() >= KEPT {
            let evicted = kept.bars.keys().next().cloned();
            if let Some(evicted) = evicted {
                kept.bars.remove(&evicted);
            }
        }
        kept.bars
            .insert(id.to_string(), (data.bar.clone(), html.clone()));
        Some(html)
    }
}

/// Renders into `bars` every bar of `history` it lacks, in `txt`'s language, when they all fit
/// in the cache; nothing otherwise.
fn fill(history: &History, txt: &Strings, bars: &mut HashMap<String, Entry>) {
    if history.checks.len() > KEPT {
        return;
    }
    for (id, h) in &history.checks {
        if !bars.contains_key(id.as_str()) {
            let html = day_bar(txt, &h.bar).into_string().into();
            bars.insert(id.to_string(), (h.bar.clone(), html));
        }
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
                h.checks.insert(
                    crate::model::CheckId::new(id).unwrap(),
                    CheckHistory { uptime, bar },
                );
            }
            Arc::new(h)
        };
        let same = Arc::new(day(0));
        let first = Bars::build(history(&same, day(0)), None);
        let second = Bars::build(history(&same, day(60_000)), Some(&first));
        let html = |bars: &Bars, lang: Lang, id: &str| bars.bar(lang, id).unwrap();
        let english = |bars: &Bars, id: &str| html(bars, Lang::En, id);
        assert!(
            Arc::ptr_eq(&english(&first, "a"), &english(&second, "a")),
            "kept"
        );
        assert!(!Arc::ptr_eq(&english(&first, "b"), &english(&second, "b")));
        assert!(
            second
                .bar(Lang::En, "b")
                .unwrap()
                .contains("Jan 1: 98.33% uptime, down 1 min"),
            "{:?}",
            second.bar(Lang::En, "b")
        );
        // French is rendered when first asked for, then kept in step with each refresh.
        assert_eq!(first.kept(Lang::Fr).0, 0, "nobody asked for French yet");
        assert!(
            first
                .bar(Lang::Fr, "b")
                .unwrap()
                .contains("1er janv.\u{a0}: 100\u{a0}% de disponibilité")
        );
        let third = Bars::build(history(&same, day(60_000)), Some(&first));
        assert_eq!(third.kept(Lang::Fr).0, 2, "rendered ahead once read");
        let french = |bars: &Bars, id: &str| html(bars, Lang::Fr, id);
        assert!(
            Arc::ptr_eq(&french(&first, "a"), &french(&third, "a")),
            "kept"
        );
        assert!(
            third.bar(Lang::Fr, "b").unwrap().contains("en panne 1 min"),
            "{:?}",
            third.bar(Lang::Fr, "b")
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
            h.checks.insert(
                crate::model::CheckId::new(&format!("c{i}")).unwrap(),
                history,
            );
        }
        let bars = Bars::build(Arc::new(h), None);
        assert_eq!(bars.kept(Lang::En).0, 0, "nothing rendered ahead");
        let first = bars.bar(Lang::En, "c0").unwrap();
        assert!(first.starts_with("<ol class=\"bar\""), "{first}");
        assert!(
            Arc::ptr_eq(&first, &bars.bar(Lang::En, "c0").unwrap()),
            "kept"
        );
        for i in 0..=KEPT {
            bars.bar(Lang::En, &format!("c{i}")).unwrap();
        }
        assert_eq!(bars.kept(Lang::En).0, KEPT);
        assert!(bars.bar(Lang::En, "nope").is_none());
        // Each language keeps its own bars, in its own words, within the same bound.
        let french = bars.bar(Lang::Fr, "c0").unwrap();
        assert!(french.contains("État quotidien"), "{french}");
        assert_eq!(bars.kept(Lang::Fr).0, 1, "rendered when asked, not ahead");
    }
}
