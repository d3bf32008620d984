//! Times and durations as people read them, the way Statuspage writes them: an instant as
//! "Dec 3, 11:24 UTC" (its year only when it is not the current one), an age as "3 min ago", a
//! duration as "6 min 29 s", a response time as "42 ms". The pages wrap these in `<time>`
//! elements (see `web::layout`); timeline notes use them as they are. Pure: it never reads the
//! clock ("now" is always given) and never writes HTML.

use std::time::Duration;

use chrono::Datelike;

use crate::clock::Timestamp;

/// An instant in UTC, with the year when it is not `now`'s: "Dec 3, 11:24 UTC",
/// "Dec 3, 2025, 11:24 UTC".
pub(crate) fn when(t: Timestamp, now: Timestamp) -> String {
    format!("{} UTC", day_and_time(t, now))
}

/// An instant to the second, for probes a few seconds apart: "Dec 3, 11:24:08 UTC".
pub(crate) fn when_to_the_second(t: Timestamp, now: Timestamp) -> String {
    format!("{}:{} UTC", day_and_time(t, now), clamped(t).format("%S"))
}

/// An instant without its zone, for the start of a range: "Dec 3, 11:24".
pub(crate) fn day_and_time(t: Timestamp, now: Timestamp) -> String {
    let c = clamped(t);
    if c.year() == clamped(now).year() {
        c.format("%b %-d, %H:%M").to_string()
    } else {
        c.format("%b %-d, %Y, %H:%M").to_string()
    }
}

/// The end of a range that starts at `start`, with the zone: "12:30 UTC" on the same UTC day,
/// "Dec 4, 01:00 UTC" on another.
pub(crate) fn until(start: Timestamp, end: Timestamp, now: Timestamp) -> String {
    if start.day_start() == end.day_start() {
        format!("{} UTC", clamped(end).format("%H:%M"))
    } else {
        when(end, now)
    }
}

/// A range of time: "Dec 3, 11:00 – 12:30 UTC", "Dec 3, 23:00 – Dec 4, 01:00 UTC".
pub(crate) fn range(start: Timestamp, end: Timestamp, now: Timestamp) -> String {
    format!("{} – {}", day_and_time(start, now), until(start, end, now))
}

/// A UTC day as the 90-day bar names it: "Dec 3" (the bar spans 90 days, so no year).
pub(crate) fn day(t: Timestamp) -> String {
    clamped(t).format("%b %-d").to_string()
}

/// How long ago `then` was, in its largest unit: "just now" (under 10 s), "42 s ago",
/// "3 min ago", "5 h ago", "1 day ago", "12 days ago".
pub(crate) fn ago(now: Timestamp, then: Timestamp) -> String {
    let secs = now.since(then).as_secs();
    match secs {
        0..10 => "just now".to_string(),
        10..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "1 day ago".to_string(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// When a certificate expires, from `now`: "expires in 45 days", "expires in 5 h",
/// "expired 3 days ago".
pub(crate) fn expiry(now: Timestamp, at: Timestamp) -> String {
    let left = at.since(now);
    match left.as_secs() {
        0 => format!("expired {}", ago(now, at)),
        1..86_400 => format!("expires in {}", duration(left)),
        86_400..172_800 => "expires in 1 day".to_string(),
        secs => format!("expires in {} days", secs / 86_400),
    }
}

/// A duration in its two largest units, rounded down to whole seconds: "45 s", "6 min 29 s",
/// "6 min", "2 h 5 min", "3 d 4 h"; "under 1 s" below a second.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| match small {
        0 => format!("{big} {big_unit}"),
        _ => format!("{big} {big_unit} {small} {small_unit}"),
    };
    match secs {
        0 => "under 1 s".to_string(),
        1..60 => format!("{secs} s"),
        60..3600 => two(secs / 60, "min", secs % 60, "s"),
        3600..86_400 => two(secs / 3600, "h", secs % 3600 / 60, "min"),
        _ => two(secs / 86_400, "d", secs % 86_400 / 3600, "h"),
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
pub(crate) fn latency(d: Duration) -> String {
    match d.as_micros() {
        0..1000 => format!("{} µs", d.as_micros()),
        1000..1_000_000 => format!("{} ms", d.as_millis()),
        1_000_000..10_000_000 => format!("{:.1} s", d.as_secs_f64()),
        _ => format!("{} s", d.as_secs()),
    }
}

fn clamped(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    Timestamp(t.0.clamp(0, crate::clock::MAX.0)).to_chrono()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-03T11:24:08Z.
    const T: Timestamp = Timestamp(1_796_297_048_000);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn instants_read_like_statuspage_with_the_year_only_when_it_differs() {
        assert_eq!(T.rfc3339(), "2026-12-03T11:24:08Z");
        assert_eq!(when(T, T), "Dec 3, 11:24 UTC");
        let next_year = T.plus(secs(60 * 86_400));
        assert_eq!(when(T, next_year), "Dec 3, 2026, 11:24 UTC");
        assert_eq!(when(next_year, T), "Feb 1, 2027, 11:24 UTC");
        assert_eq!(when(Timestamp(i64::MAX), T), "Dec 31, 9999, 23:59 UTC");
        assert_eq!(day(T), "Dec 3");
        assert_eq!(when_to_the_second(T, T), "Dec 3, 11:24:08 UTC");
    }

    #[test]
    fn ranges_name_the_day_once_when_they_end_on_it() {
        assert_eq!(range(T, T.plus(secs(3600)), T), "Dec 3, 11:24 – 12:24 UTC");
        assert_eq!(
            range(T, T.plus(secs(13 * 3600)), T),
            "Dec 3, 11:24 – Dec 4, 00:24 UTC"
        );
    }

    #[test]
    fn ages_are_in_their_largest_unit() {
        let check = |s: u64, expected: &str| assert_eq!(ago(T.plus(secs(s)), T), expected);
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
            ago(T, T.plus(secs(5))),
            "just now",
            "a clock a little ahead"
        );
    }

    #[test]
    fn expiries_count_whole_days_ahead() {
        let check = |s: i64, expected: &str| {
            let at = Timestamp(T.0 + s * 1000);
            assert_eq!(expiry(T, at), expected);
        };
        check(45 * 86_400 + 3600, "expires in 45 days");
        check(86_400, "expires in 1 day");
        check(5 * 3600 + 60, "expires in 5 h 1 min");
        check(-3 * 86_400, "expired 3 days ago");
        check(0, "expired just now");
    }

    #[test]
    fn durations_use_their_two_largest_units() {
        let check = |d: Duration, expected: &str| assert_eq!(duration(d), expected);
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
        assert_eq!(latency(Duration::from_micros(420)), "420 µs");
        assert_eq!(latency(Duration::from_micros(42_700)), "42 ms");
        assert_eq!(latency(Duration::from_millis(1_340)), "1.3 s");
        assert_eq!(latency(Duration::from_millis(12_900)), "12 s");
    }
}
