//! The JSON responder of every API: serde's encoding, plus `<`, `>` and `&` written as `\u003c`,
//! `\u003e` and `\u0026` (as Go's encoding/json does). The decoded values are unchanged, so clients
//! see no difference, but hostile text such as a `<script>` in a check name never appears raw
//! in a body that a browser, a proxy or a careless embedder might treat as HTML.

use std::io;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON response body, escaped for HTML contexts as the module says.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %crate::logline::escaped(&e), "encoding a JSON response failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// Serializes `value` with the HTML-safe escaping.
fn to_vec<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, HtmlSafe);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// serde_json's compact formatter, with the three HTML-significant characters escaped in strings.
struct HtmlSafe;

impl serde_json::ser::Formatter for HtmlSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(['<', '>', '&']) {
            writer.write_all(&rest.as_bytes()[..i])?;
            let escaped: &[u8] = match rest.as_bytes()[i] {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                _ => b"\\u0026",
            };
            writer.write_all(escaped)?;
            rest = &rest[i + 1..];
        }
        writer.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_characters_are_escaped_and_decode_unchanged() {
        let text = r#"<script>alert("x")</script> & more"#;
        let body =
            String::from_utf8(to_vec(&serde_json::json!({ "name": text })).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"name":"\u003cscript\u003ealert(\"x\")\u003c/script\u003e \u0026 more"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(back["name"], text);
    }
}
