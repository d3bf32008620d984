//! Splitting watchpost.toml at its `[[check]]` headers, so that each check is parsed on its own and
//! a file of 100,000 checks never becomes one tree (toml lexes a whole document into a vector of
//! tokens first: 110 MB for 100,000 checks, before the tree itself).
//!
//! Owns finding the top-level headers, with toml's own lexer so that a `[` in a string, a comment
//! or an array spanning lines is never taken for one, and moving a piece's spans to the file's
//! offsets. It judges nothing: a piece that does not parse sends `validate` back to reading the
//! whole file, whose errors are the ones reported.

use std::borrow::Cow;
use std::ops::Range;

use serde_spanned::Spanned;
use toml::de::{DeArray, DeTable, DeValue};
use toml_parser::lexer::TokenKind;

/// A file cut at its `[[check]]` headers.
pub(super) struct Split<'a> {
    /// Each check's text: its `[[check]]` header up to the next header that is not one of its
    /// sub-tables (`[check.headers]`).
    pub(super) checks: Vec<Range<usize>>,
    /// Everything else, each check blanked with spaces so that every offset is the file's.
    pub(super) rest: Cow<'a, str>,
}

/// One top-level header: where its `[` is, its key path, and whether it is `[[…]]`.
struct Header {
    at: usize,
    path: Vec<String>,
    array: bool,
}

/// The file cut at its `[[check]]` headers; `None` when it has none, or a header that does not
/// lex as one (the whole file is then read as it is, and its errors reported).
pub(super) fn split(src: &str) -> Option<Split<'_>> {
    let mut checks: Vec<Range<usize>> = Vec::new();
    let mut open: Option<usize> = None;
    for h in headers(src)? {
        let first = h.path.first().map(String::as_str);
        let is_check = h.array && h.path.len() == 1 && first == Some("check");
        let sub_table = first == Some("check") && h.path.len() > 1 && open.is_some();
        if sub_table {
            continue;
        }
        if let Some(start) = open.take() {
            checks.push(start..h.at);
        }
        if is_check {
            open = Some(h.at);
        }
    }
    if let Some(start) = open {
        checks.push(start..src.len());
    }
    if checks.is_empty() {
        return None;
    }
    Some(Split {
        rest: blank(src, &checks),
        checks,
    })
}

/// `src` with the `checks` ranges blanked, cut after the last byte that is not in one.
fn blank<'a>(src: &'a str, checks: &[Range<usize>]) -> Cow<'a, str> {
    // The rest ends where the last check ends, unless that check runs to the end of the file.
    let end = match checks.last() {
        Some(last) if last.end == src.len() => last.start,
        _ => src.len(),
    };
    let inside: Vec<&Range<usize>> = checks.iter().filter(|c| c.start < end).collect();
    if inside.is_empty() {
        return Cow::Borrowed(&src[..end]);
    }
    let mut rest = String::with_capacity(end);
    let mut at = 0;
    for c in inside {
        rest.push_str(&src[at..c.start]);
        rest.extend(std::iter::repeat_n(' ', c.end - c.start));
        at = c.end;
    }
    rest.push_str(&src[at..end]);
    Cow::Owned(rest)
}

/// Every top-level header of `src`, in order; `None` when one does not lex as a header.
fn headers(src: &str) -> Option<Vec<Header>> {
    let source = toml_parser::Source::new(src);
    let mut tokens = source.lex().peekable();
    let mut found = Vec::new();
    // Brackets of values still open, and whether only whitespace came since the last newline.
    let mut depth = 0usize;
    let mut line_start = true;
    while let Some(t) = tokens.next() {
        match t.kind() {
            TokenKind::Newline => line_start = true,
            TokenKind::Whitespace | TokenKind::Comment => {}
            TokenKind::LeftSquareBracket if depth == 0 && line_start => {
                let at = t.span().start();
                let array = tokens.next_if(|n| {
                    n.kind() == TokenKind::LeftSquareBracket && n.span().start() == t.span().end()
                });
                let array = array.is_some();
                let mut path = Vec::new();
                loop {
                    let k = tokens.next()?;
                    match k.kind() {
                        TokenKind::Whitespace | TokenKind::Dot => {}
                        TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString => {
                            let raw = source.get(k)?;
                            let mut key = String::new();
                            let mut bad = false;
                            raw.decode_key(&mut key, &mut |_| bad = true);
                            if bad {
                                return None;
                            }
                            path.push(key);
                        }
                        TokenKind::RightSquareBracket => break,
                        _ => return None,
                    }
                }
                if array && tokens.next()?.kind() != TokenKind::RightSquareBracket {
                    return None;
                }
                found.push(Header { at, path, array });
                line_start = false;
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => {
                depth += 1;
                line_start = false;
            }
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.saturating_sub(1);
                line_start = false;
            }
            _ => line_start = false,
        }
    }
    Some(found)
}

/// The check whose text is `src[range]`, parsed on its own, with the file's offsets; `None` when
/// the piece does not parse.
pub(super) fn check(src: &str, range: Range<usize>) -> Option<Spanned<DeValue<'_>>> {
    let text = src.get(range.clone())?;
    let root = DeTable::parse(text).ok()?.into_inner();
    let (_, value) = root.into_iter().find(|(k, _)| k.get_ref() == "check")?;
    let DeValue::Array(items) = value.into_inner() else {
        return None;
    };
    let item = items.into_iter().next()?;
    Some(shift(item, range.start))
}

/// `v` with every span in it moved `by` bytes later.
fn shift(v: Spanned<DeValue<'_>>, by: usize) -> Spanned<DeValue<'_>> {
    let span = v.span();
    let value = match v.into_inner() {
        DeValue::Table(table) => DeValue::Table(
            table
                .into_iter()
                .map(|(k, v)| {
                    let span = k.span();
                    let k = Spanned::new(span.start + by..span.end + by, k.into_inner());
                    (k, shift(v, by))
                })
                .collect(),
        ),
        DeValue::Array(items) => DeValue::Array(
            items
                .into_iter()
                .map(|v| shift(v, by))
                .collect::<DeArray<'_>>(),
        ),
        other => other,
    };
    Spanned::new(span.start + by..span.end + by, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(src: &str) -> Option<(Vec<&str>, String)> {
        let s = split(src)?;
        let checks = s.checks.iter().map(|r| &src[r.clone()]).collect();
        Some((checks, s.rest.into_owned()))
    }

    #[test]
    fn checks_are_cut_at_their_headers_with_their_sub_tables() {
        let src = "title = \"[[check]]\"\n[server]\nx = [\n  [1],\n]\n[[check]]\nid = \"a\"\n\
                   [check.headers]\nA = \"b\"\n# [[check]]\n[[ check ]]\nid = \"b\"\n\
                   [[maintenance]]\ntitle = 't'\n[[\"check\"]]\nid = 'c'\n";
        let (checks, rest) = pieces(src).expect("three checks");
        assert_eq!(
            checks,
            [
                "[[check]]\nid = \"a\"\n[check.headers]\nA = \"b\"\n# [[check]]\n",
                "[[ check ]]\nid = \"b\"\n",
                "[[\"check\"]]\nid = 'c'\n",
            ]
        );
        assert_eq!(rest.len(), src.find("[[\"check\"]]").unwrap_or(0));
        assert!(rest.starts_with("title = \"[[check]]\"\n[server]\nx = [\n  [1],\n]\n   "));
        assert!(rest.ends_with("   [[maintenance]]\ntitle = 't'\n"));
    }

    #[test]
    fn a_file_without_check_headers_is_not_split() {
        assert!(pieces("[server]\ntitle = \"x\"\ncheck = [{ id = \"a\" }]\n").is_none());
        assert!(pieces("[check]\nid = \"a\"\n").is_none());
        assert!(pieces("[[check]\nid = \"a\"\n").is_none());
    }

    #[test]
    fn a_check_keeps_the_files_offsets() {
        let src = "[server]\n[[check]]\nid = \"a\"\n";
        let s = split(src).expect("one check");
        let item = check(src, s.checks[0].clone()).expect("it parses");
        let DeValue::Table(t) = item.get_ref() else {
            panic!("not a table: {item:?}");
        };
        let (k, v) = t.iter().next().expect("one key");
        assert_eq!(&src[k.span()], "id");
        assert_eq!(&src[v.span()], "\"a\"");
    }
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod validated;
