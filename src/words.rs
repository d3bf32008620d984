//! Times and durations as people read them, the way Statuspage writes them, in the language of
//! the catalog given: an instant as "Dec 3, 11:24 UTC" (its year only when it is not the current
//! one), an age as "3 min ago", a duration as "6 min 29 s", a response time as "42 ms", an uptime
//! as "99.95%" ("3 déc., 11:24 UTC", "il y a 3 min", "99,95 %" in French). The pages wrap these
//! in `<time>` elements (see `web::layout`); timeline notes use them as they are, in English.
//! Pure: it never reads the clock ("now" is always given) and never writes HTML.

use std::time::Duration;

use chrono::{Datelike, Timelike};

use crate::clock::Timestamp;
use crate::i18n::Strings;

/// An instant in UTC, with the year when it is not `now`'s: "Dec 3, 11:24 UTC",
/// "Dec 3, 2025, 11:24 UTC".
pub(crate) fn when(txt: &Strings, t: Timestamp, now: Timestamp) -> String {
    format!("{} UTC", day_and_time(txt, t, now))
}

/// An instant to the second, for probes a few seconds apart: "Dec 3, 11:24:08 UTC".
pub(crate) fn when_to_the_second(txt: &Strings, t: Timestamp, now: Timestamp) -> String {
    format!(
        "{}:{:02} UTC",
        day_and_time(txt, t, now),
        clamped(t).second()
    )
}

/// An instant without its zone, for the start of a range: "Dec 3, 11:24".
pub(crate) fn day_and_time(txt: &Strings, t: Timestamp, now: Timestamp) -> String {
    let c = clamped(t);
    let month = txt.months[c.month0() as usize];
    let date = if c.year() == clamped(now).year() {
        (txt.day_month)(c.day(), month)
    } else {
        (txt.day_month_year)(c.day(), month, c.year())
    };
    format!("{date}, {}", c.format("%H:%M"))
}

/// The end of a range that starts at `start`, with the zone: "12:30 UTC" on the same UTC day,
/// "Dec 4, 01:00 UTC" on another.
pub(crate) fn until(txt: &Strings, start: Timestamp, end: Timestamp, now: Timestamp) -> String {
    if start.day_start() == end.day_start() {
        format!("{} UTC", clamped(end).format("%H:%M"))
    } else {
        when(txt, end, now)
    }
}

/// A range of time: "Dec 3, 11:00 – 12:30 UTC", "Dec 3, 23:00 – Dec 4, 01:00 UTC".
pub(crate) fn range(txt: &Strings, start: Timestamp, end: Timestamp, now: Timestamp) -> String {
    format!(
        "{} – {}",
        day_and_time(txt, start, now),
        until(txt, start, end, now)
    )
}

/// A UTC day as the 90-day bar names it: "Dec 3" (the bar spans 90 days, so no year).
pub(crate) fn day(txt: &Strings, t: Timestamp) -> String {
    let c = clamped(t);
    (txt.day_month)(c.day(), txt.months[c.month0() as usize])
}

/// A UTC month and its year, as the history heads its sections: "December 2026".
pub(crate) fn month(txt: &Strings, t: Timestamp) -> String {
    let c = clamped(t);
    format!("{} {}", txt.months_long[c.month0() as usize], c.year())
}

/// How long ago `then` was, in its largest unit: "just now" (under 10 s), "42 s ago",
/// "3 min ago", "5 h ago", "1 day ago", "12 days ago".
pub(crate) fn ago(txt: &Strings, now: Timestamp, then: Timestamp) -> String {
    let secs = now.since(then).as_secs();
    let age = match secs {
        0..10 => return txt.just_now.to_string(),
        10..60 => format!("{secs} {}", txt.unit_s),
        60..3600 => format!("{} {}", secs / 60, txt.unit_min),
        3600..86_400 => format!("{} {}", secs / 3600, txt.unit_h),
        _ => (txt.days)(secs / 86_400),
    };
    (txt.ago)(&age)
}

/// When a certificate expires, from `now`: "expires in 45 days", "expires in 5 h",
/// "expired 3 days ago".
pub(crate) fn expiry(txt: &Strings, now: Timestamp, at: Timestamp) -> String {
    let left = at.since(now);
    match left.as_secs() {
        0 => (txt.expired)(&ago(txt, now, at)),
        1..86_400 => (txt.expires_in)(&duration(txt, left)),
        secs => (txt.expires_in)(&(txt.days)(secs / 86_400)),
    }
}

/// A duration in its two largest units, rounded down to whole seconds: "45 s", "6 min 29 s",
/// "6 min", "2 h 5 min", "3 d 4 h"; "under 1 s" below a second.
pub(crate) fn duration(txt: &Strings, d: Duration) -> String {
    let secs = d.as_secs();
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| match small {
        0 => format!("{big} {big_unit}"),
        _ => format!("{big} {big_unit} {small} {small_unit}"),
    };
    let (s, min, h) = (txt.unit_s, txt.unit_min, txt.unit_h);
    match secs {
        0 => txt.under_a_second.to_string(),
        1..60 => format!("{secs} {s}"),
        60..3600 => two(secs / 60, min, secs % 60, s),
        3600..86_400 => two(secs / 3600, h, secs % 3600 / 60, min),
        _ => two(secs / 86_400, txt.unit_d, secs % 86_400 / 3600, h),
    }
}

/// A duration as HTML's `<time datetime>` takes it (ISO 8601, whole seconds): "PT6M29S".
pub(crate) fn iso_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = "PT".to_string();
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{s}S"));
    }
    out
}

/// A response time, to the precision that matters: "420 µs", "42 ms", "1.3 s", "12 s".
pub(crate) fn latency(txt: &Strings, d: Duration) -> String {
    match d.as_micros() {
        0..1000 => format!("{} µs", d.as_micros()),
        1000..1_000_000 => format!("{} ms", d.as_millis()),
        1_000_000..10_000_000 => decimal(txt, format!("{:.1} s", d.as_secs_f64())),
        _ => format!("{} s", d.as_secs()),
    }
}

/// An uptime ratio (see `uptime::percent`, which never rounds a loss up to 100%): "99.95%",
/// "99,95 %"; "no data" without one.
pub(crate) fn percent(txt: &Strings, ratio: Option<f64>) -> String {
    match ratio {
        None => txt.no_data.to_string(),
        Some(_) => {
            let english = crate::uptime::percent(ratio);
            let number = english.trim_end_matches('%');
            format!("{}{}", decimal(txt, number.to_string()), txt.percent)
        }
    }
}

/// A number written with the language's decimal separator: "0.2 ms", "0,2 ms".
pub(crate) fn decimal(txt: &Strings, english: String) -> String {
    match txt.decimal {
        '.' => english,
        mark => english.replace('.', mark.encode_utf8(&mut [0; 4])),
    }
}

fn clamped(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    Timestamp(t.0.clamp(0, crate::clock::MAX.0)).to_chrono()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    const EN: &Strings = Lang::En.strings();

    /// 2026-12-03T11:24:08Z.
    const T: Timestamp = Timestamp(1_796_297_048_000);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn instants_read_like_statuspage_with_the_year_only_when_it_differs() {
        assert_eq!(T.rfc3339(), "2026-12-03T11:24:08Z");
        assert_eq!(when(EN, T, T), "Dec 3, 11:24 UTC");
        let next_year = T.plus(secs(60 * 86_400));
        assert_eq!(when(EN, T, next_year), "Dec 3, 2026, 11:24 UTC");
        assert_eq!(when(EN, next_year, T), "Feb 1, 2027, 11:24 UTC");
        assert_eq!(when(EN, Timestamp(i64::MAX), T), "Dec 31, 9999, 23:59 UTC");
        assert_eq!(day(EN, T), "Dec 3");
        assert_eq!(when_to_the_second(EN, T, T), "Dec 3, 11:24:08 UTC");
    }

    #[test]
    fn ranges_name_the_day_once_when_they_end_on_it() {
        assert_eq!(
            range(EN, T, T.plus(secs(3600)), T),
            "Dec 3, 11:24 – 12:24 UTC"
        );
        assert_eq!(
            range(EN, T, T.plus(secs(13 * 3600)), T),
            "Dec 3, 11:24 – Dec 4, 00:24 UTC"
        );
    }

    #[test]
    fn ages_are_in_their_largest_unit() {
        let check = |s: u64, expected: &str| assert_eq!(ago(EN, T.plus(secs(s)), T), expected);
        check(0, "just now");
        check(9, "just now");
        check(10, "10 s ago");
        check(59, "59 s ago");
        check(60, "1 min ago");
        check(3599, "59 min ago");
        check(3600, "1 h ago");
        check(86_399, "23 h ago");
        check(86_400, "1 day ago");
        check(3 * 86_400, "3 days ago");
        assert_eq!(
            ago(EN, T, T.plus(secs(5))),
            "just now",
            "a clock a little ahead"
        );
    }

    #[test]
    fn expiries_count_whole_days_ahead() {
        let check = |s: i64, expected: &str| {
            let at = Timestamp(T.0 + s * 1000);
            assert_eq!(expiry(EN, T, at), expected);
        };
        check(45 * 86_400 + 3600, "expires in 45 days");
        check(86_400, "expires in 1 day");
        check(5 * 3600 + 60, "expires in 5 h 1 min");
        check(-3 * 86_400, "expired 3 days ago");
        check(0, "expired just now");
    }

    #[test]
    fn durations_use_their_two_largest_units() {
        let check = |d: Duration, expected: &str| assert_eq!(duration(EN, d), expected);
        check(Duration::from_millis(400), "under 1 s");
        check(Duration::from_millis(45_900), "45 s");
        check(secs(388), "6 min 28 s");
        check(secs(389), "6 min 29 s");
        check(secs(360), "6 min");
        check(secs(2 * 3600 + 5 * 60 + 7), "2 h 5 min");
        check(secs(3600), "1 h");
        check(secs(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        check(secs(86_400), "1 d");
    }

    #[test]
    fn durations_for_the_time_element_are_iso_8601() {
        assert_eq!(iso_duration(secs(389)), "PT6M29S");
        assert_eq!(iso_duration(secs(7200)), "PT2H");
        assert_eq!(iso_duration(secs(0)), "PT0S");
        assert_eq!(iso_duration(secs(90_061)), "PT25H1M1S");
    }

    #[test]
    fn response_times_keep_the_precision_that_matters() {
        assert_eq!(latency(EN, Duration::from_micros(420)), "420 µs");
        assert_eq!(latency(EN, Duration::from_micros(42_700)), "42 ms");
        assert_eq!(latency(EN, Duration::from_millis(1_340)), "1.3 s");
        assert_eq!(latency(EN, Duration::from_millis(12_900)), "12 s");
    }

    #[test]
    fn french_reads_french() {
        let fr = Lang::Fr.strings();
        assert_eq!(when(fr, T, T), "3 déc., 11:24 UTC");
        assert_eq!(
            when(fr, T, T.plus(secs(60 * 86_400))),
            "3 déc. 2026, 11:24 UTC"
        );
        assert_eq!(day(fr, Timestamp(0)), "1er janv.");
        assert_eq!(month(fr, T), "Décembre 2026");
        assert_eq!(month(EN, T), "December 2026");
        assert_eq!(ago(fr, T.plus(secs(180)), T), "il y a 3 min");
        assert_eq!(ago(fr, T.plus(secs(3 * 86_400)), T), "il y a 3 jours");
        assert_eq!(ago(fr, T, T), "à l’instant");
        assert_eq!(duration(fr, secs(3 * 86_400 + 4 * 3600)), "3 j 4 h");
        assert_eq!(duration(fr, secs(389)), "6 min 29 s");
        assert_eq!(
            expiry(fr, T, T.plus(secs(45 * 86_400))),
            "expire dans 45 jours"
        );
        assert_eq!(latency(fr, Duration::from_millis(1_340)), "1,3 s");
        assert_eq!(percent(fr, Some(0.99951)), "99,95\u{a0}%");
        assert_eq!(percent(EN, Some(0.99951)), "99.95%");
        assert_eq!(percent(EN, Some(1.0)), "100%");
        assert_eq!(percent(fr, None), "aucune donnée");
        assert_eq!(percent(EN, None), "no data");
    }
}
