//! HTTP validators and caching: the one entity-tag function, the one test of a request's
//! `If-None-Match` / `If-Modified-Since`, and the two middlewares that apply them. `public`
//! serves the machine-readable routes (JSON, feeds, badges): `Access-Control-Allow-Origin: *`,
//! `nosniff`, `Cache-Control`, a strong `ETag` hashed from the body and `304 Not Modified` when
//! the client already has that body. `pages` gives the HTML pages a weak `ETag`, a short
//! `Cache-Control` and the same `304`; the front page applies [`Validators`] to its stored bytes.
//!
//! It never changes a body and never caches anything itself; it only buffers a response to
//! hash it (these bodies are small and built in memory anyway).

use std::hash::{DefaultHasher, Hasher};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::WebError;

/// The largest body the middlewares buffer; our public bodies are far smaller.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// How long shared caches and clients may reuse a public response.
#[derive(Clone, Copy, Debug)]
pub struct Freshness {
    pub max_age_secs: u32,
}

/// JSON and feeds: fresh for 30 s, about the rate at which anything on them changes.
pub const DATA: Freshness = Freshness { max_age_secs: 30 };
/// Badges: fresh for 60 s; they are embedded in READMEs and dashboards and fetched often.
pub const BADGE: Freshness = Freshness { max_age_secs: 60 };

/// The middleware (use with `from_fn_with_state`): CORS on every answer; validators, caching and
/// `304` on successful ones.
pub async fn public(State(fresh): State<Freshness>, request: Request, next: Next) -> Response {
    let validators = Validators::of(request.headers());
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    parts.headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // Browsers must take the declared type (JSON, XML, SVG) at its word, never sniff HTML.
    parts.headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if parts.status != StatusCode::OK {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "buffering a public response failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let tag = etag(&bytes);
    set_validators(&mut parts.headers, &tag, fresh);
    if validators.current(&tag, None) {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        // A 304 carries the headers a 200 would have, except those describing the body.
        for name in [
            header::ETAG,
            header::CACHE_CONTROL,
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::VARY,
        ] {
            if let Some(v) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The request headers a cross-origin script may send with its reads.
const ALLOW_HEADERS: &str = "Accept, Accept-Language, Cache-Control, Content-Language, If-Modified-Since, If-None-Match, X-Requested-With";

/// CORS preflight for the public read-only routes (use with `from_fn`, outside [`public`]):
/// `OPTIONS` is answered here with `204` and what any origin may do; other methods go on.
pub async fn preflight(request: Request, next: Next) -> Response {
    if request.method() != Method::OPTIONS {
        return next.run(request).await;
    }
    let mut answer = StatusCode::NO_CONTENT.into_response();
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
        (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        (header::ALLOW, "GET, HEAD, OPTIONS"),
    ] {
        answer
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    answer
}

fn set_validators(headers: &mut HeaderMap, tag: &str, fresh: Freshness) {
    if let Ok(v) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, v);
    }
    let control = format!("public, max-age={}", fresh.max_age_secs);
    if let Ok(v) = HeaderValue::from_str(&control) {
        headers.insert(header::CACHE_CONTROL, v);
    }
}

/// The middleware for the HTML pages (use with `from_fn`, around the whole router): on a
/// successful `GET` of a public page, a weak ETag, a short Cache-Control unless the handler set
/// one, and `304 Not Modified` when `If-None-Match` matches.
pub async fn pages(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // The machine-readable routes have `public`, the front page its own validators
    // (`front::index`).
    let page = request.method() == Method::GET
        && path != "/"
        && !path.starts_with("/admin")
        && !path.starts_with("/api/")
        && !path.starts_with("/badge/")
        && !path.ends_with(".atom")
        && !path.ends_with(".rss")
        && path != "/metrics"
        && path != "/healthz";
    let validators = Validators::of(request.headers());
    let response = next.run(request).await;
    if !page || !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return WebError::Internal("a response body could not be read".into()).into_response();
    };
    // Weak: the compression layer outside may send these bytes gzipped.
    let tag = weak_etag(&bytes);
    let h = &mut parts.headers;
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("public, max-age=30"));
    if validators.current(&tag, None) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A strong entity tag from the body: std's SipHash, hex, quoted. Stable for a given build,
/// which is all a validator needs; a collision only costs one stale response for `max-age`.
pub(super) fn etag(body: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    h.write(body);
    format!("\"{:016x}\"", h.finish())
}

/// The weak form of [`etag`], for a body that may be sent in more than one encoding.
pub(super) fn weak_etag(body: &[u8]) -> String {
    format!("W/{}", etag(body))
}

/// What a request says the client already has, kept apart so that the request itself can be
/// handed on before the response is known.
pub(super) struct Validators {
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HeaderValue>,
}

impl Validators {
    pub(super) fn of(request: &HeaderMap) -> Validators {
        Validators {
            if_none_match: request.get(header::IF_NONE_MATCH).cloned(),
            if_modified_since: request.get(header::IF_MODIFIED_SINCE).cloned(),
        }
    }

    /// Whether the client's copy of a response tagged `tag` (and last changed at `modified`,
    /// when the response says) is current, so a `304` may answer: `If-None-Match` decides when
    /// present; otherwise `If-Modified-Since` at or after `modified`.
    pub(super) fn current(&self, tag: &str, modified: Option<SystemTime>) -> bool {
        if let Some(tags) = &self.if_none_match {
            return matches(tags, tag);
        }
        let since = self
            .if_modified_since
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok());
        match (since, modified) {
            (Some(since), Some(modified)) => {
                since.timestamp() >= chrono::DateTime::<chrono::Utc>::from(modified).timestamp()
            }
            _ => false,
        }
    }
}

/// `If-None-Match` uses the weak comparison: `*`, or any listed tag equal to ours with or
/// without `W/`.
fn matches(header: &HeaderValue, tag: &str) -> bool {
    let Ok(text) = header.to_str() else {
        return false;
    };
    let opaque = |t: &'_ str| t.strip_prefix("W/").unwrap_or(t).to_string();
    let tag = opaque(tag);
    text.split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || opaque(candidate) == tag)
}

/// An IMF-fixdate, as HTTP dates (`Last-Modified`) are written.
pub(super) fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Request headers from name and value pairs, for tests.
#[cfg(test)]
pub(super) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn check(header: &str, expected: bool) {
        let tag = etag(b"body");
        let value = header.replace("TAG", &tag);
        assert_eq!(
            matches(&HeaderValue::from_str(&value).unwrap(), &tag),
            expected,
            "{value}"
        );
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists() {
        check("TAG", true);
        check("W/TAG", true);
        check("\"other\", TAG", true);
        check("*", true);
        check("\"other\"", false);
        check("", false);
    }

    #[test]
    fn etags_are_quoted_and_follow_the_body() {
        let a = etag(b"one");
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 18);
        assert_eq!(a, etag(b"one"));
        assert_ne!(a, etag(b"two"));
    }

    fn not_modified(request: &HeaderMap, etag: &HeaderValue, modified: SystemTime) -> bool {
        Validators::of(request).current(etag.to_str().unwrap(), Some(modified))
    }

    #[test]
    fn validators_match_the_page() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let etag = HeaderValue::from_static("W/\"abc\"");
        assert!(not_modified(
            &headers(&[("if-none-match", "W/\"abc\"")]),
            &etag,
            modified
        ));
        assert!(not_modified(
            &headers(&[("if-none-match", "\"abc\", \"other\"")]),
            &etag,
            modified
        ));
        assert!(!not_modified(
            &headers(&[("if-none-match", "\"abd\"")]),
            &etag,
            modified
        ));
        let date = http_date(modified.into());
        assert_eq!(date, "Fri, 15 Jan 2027 08:00:00 GMT");
        assert!(not_modified(
            &headers(&[("if-modified-since", &date)]),
            &etag,
            modified
        ));
        let earlier = http_date((modified - Duration::from_secs(1)).into());
        assert!(!not_modified(
            &headers(&[("if-modified-since", &earlier)]),
            &etag,
            modified
        ));
        // An entity tag that does not match wins over a date that would.
        assert!(!not_modified(
            &headers(&[("if-none-match", "\"x\""), ("if-modified-since", &date)]),
            &etag,
            modified
        ));
    }

    #[test]
    fn a_date_alone_never_validates_a_response_without_one() {
        let request = headers(&[("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT")]);
        assert!(!Validators::of(&request).current(&etag(b"x"), None));
    }
}
