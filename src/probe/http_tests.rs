//! Unit tests of `probe::http`: messages, dates and status ranges, without a network.

use super::*;

#[test]
fn urls_in_messages_lose_their_userinfo_query_and_fragment() {
    let url = |s: &str| url::Url::parse(s).unwrap();
    assert_eq!(
        shown(&url(
            "https://user:secret@10.0.3.7:8443/health?token=s3cret#x"
        )),
        "https://10.0.3.7:8443/health?…"
    );
    assert_eq!(shown(&url("http://[::1]:8080/")), "http://[::1]:8080/");
    for (location, expected) in [
        (
            "ftp://admin:pw@files.internal/x?key=s3cret",
            "ftp://files.internal/x?…",
        ),
        ("//user@other.internal/login#frag", "//other.internal/login"),
        ("http://a b@host/?t=1", "http://host/?…"),
        ("/relative/path?token=s3cret", "/relative/path?…"),
        ("https://host/p@th", "https://host/p@th"),
    ] {
        assert_eq!(shown_location(location), expected, "{location}");
    }
}

#[test]
fn http_dates_are_read_as_sent() {
    assert_eq!(
        http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
        Some(Timestamp(1_445_412_480_000))
    );
    assert_eq!(http_date("yesterday"), None);
}

#[test]
fn status_ranges_print_as_written() {
    assert_eq!(StatusRange::DEFAULT.to_string(), "200-399");
    assert_eq!(StatusRange { lo: 200, hi: 299 }.to_string(), "2xx");
    assert_eq!(StatusRange { lo: 301, hi: 301 }.to_string(), "301");
}
