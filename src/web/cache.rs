//! HTTP caching and CORS for the public machine-readable routes (JSON, feeds, badges), in one
//! middleware so no handler repeats it: `Access-Control-Allow-Origin: *`, `nosniff`,
//! `Cache-Control`, an `ETag` hashed from the body, and `304 Not Modified` when the client
//! already has that body.
//!
//! It never changes a body and never caches anything itself; it only buffers the response to hash it
//! (these bodies are small and built in memory anyway).

use std::hash::{DefaultHasher, Hasher};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The largest body the middleware buffers; our public bodies are far smaller.
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
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
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
    if if_none_match.is_some_and(|v| matches(&v, &tag)) {
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

/// A strong entity tag from the body: std's SipHash, hex, quoted. Stable for a given build,
/// which is all a validator needs; a collision only costs one stale response for `max-age`.
pub(super) fn etag(body: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    h.write(body);
    format!("\"{:016x}\"", h.finish())
}

/// `If-None-Match` uses the weak comparison: `*`, or any listed tag equal to ours with or
/// without `W/`.
pub(super) fn matches(header: &HeaderValue, tag: &str) -> bool {
    let Ok(text) = header.to_str() else {
        return false;
    };
    let opaque = |t: &'_ str| t.strip_prefix("W/").unwrap_or(t).to_string();
    let tag = opaque(tag);
    text.split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || opaque(candidate) == tag)
}

#[cfg(test)]
mod tests {
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
}
