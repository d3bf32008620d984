//! Problems found in a config file, each located as `file:line:column` in the source.
//!
//! Owns the collector every validation step reports into and the arithmetic that turns toml's byte
//! spans into lines and columns. It never decides what is wrong, and never stops at the first problem.

use std::cell::{Cell, OnceCell};
use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;

use super::{Error, Problem};

/// The problems found so far, and what is needed to locate them.
pub(super) struct Problems<'a> {
    file: String,
    src: &'a str,
    /// The byte offset where each line starts, built on the first `locate`: a check's duplicate-id
    /// test locates every id, and rescanning the text for each would be quadratic in the file.
    lines: OnceCell<Vec<usize>>,
    /// Bytes of source `locate` has examined, so a test can tell linear from quadratic work
    /// without timing anything.
    scanned: Cell<usize>,
    /// Keys dropped for their type or spelling, with the span of the table they were in: their
    /// absence is not reported again as a missing key.
    refused: Vec<(Range<usize>, String)>,
    list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    /// An empty collector for `src`, read from `path` (which only names the file in messages).
    pub(super) fn new(path: &Path, src: &'a str) -> Problems<'a> {
        Problems {
            file: path.display().to_string(),
            src,
            lines: OnceCell::new(),
            scanned: Cell::new(0),
            refused: Vec::new(),
            list: Vec::new(),
        }
    }

    /// The source text, for finding a key's span from its value's.
    pub(super) fn src(&self) -> &'a str {
        self.src
    }

    /// Whether nothing was reported, so the config may be built.
    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Records a problem at the start of `span` (a byte range of the source), unless it says a
    /// key is missing that was refused there already.
    pub(super) fn at(&mut self, span: Range<usize>, message: String) {
        if self.is_echo(span.start, &message) {
            return;
        }
        let (line, column) = self.locate(span.start);
        self.list.push(Problem {
            file: self.file.clone(),
            line,
            column,
            message,
        });
    }

    /// Forgets every problem reported, to report the file's again from the start.
    pub(super) fn clear(&mut self) {
        self.list.clear();
        self.refused.clear();
    }

    /// Notes that `key` of the table at `table` was reported and left out.
    pub(super) fn refused(&mut self, table: Range<usize>, key: String) {
        self.refused.push((table, key));
    }

    /// Whether `message`, at `offset`, says a key is missing that was refused in a table there.
    fn is_echo(&self, offset: usize, message: &str) -> bool {
        if self.refused.is_empty() {
            return false;
        }
        let Some((_, rest)) = message
            .split_once("missing `")
            .or_else(|| message.split_once("missing field `"))
        else {
            return false;
        };
        let key = rest.split('`').next().unwrap_or(rest);
        self.refused
            .iter()
            .any(|(table, k)| k == key && (table.contains(&offset) || table.start == offset))
    }

    /// The 1-based line and column (in characters) of a byte offset, in O(log lines + column).
    pub(super) fn locate(&self, offset: usize) -> (usize, usize) {
        let starts = self.lines.get_or_init(|| {
            self.scanned.set(self.scanned.get() + self.src.len());
            line_starts(self.src)
        });
        let offset = offset.min(self.src.len());
        // The last line starting at or before `offset`; `starts[0]` is 0, so there is one.
        let line = starts.partition_point(|&s| s <= offset).max(1);
        let start = starts[line - 1];
        self.scanned.set(self.scanned.get() + offset - start);
        let column = self
            .src
            .get(start..offset)
            .map_or(offset - start, |text| text.chars().count());
        (line, column + 1)
    }

    /// How many bytes of source `locate` has examined so far.
    #[cfg(test)]
    pub(super) fn scanned(&self) -> usize {
        self.scanned.get()
    }

    /// Every problem, in file order.
    pub(super) fn into_error(mut self) -> Error {
        self.list.sort_by_key(|p| (p.line, p.column));
        Error::Invalid(self.list)
    }
}

/// The byte offset of the start of every line of `src`, the first being 0.
fn line_starts(src: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The span of `key` in `key = value`, found by walking back from the value's span; the value's
/// span itself when the text before it is not that (a quoted or dotted key, say).
pub(super) fn key_span(src: &str, value: Range<usize>, key: &str) -> Range<usize> {
    let Some(before) = src.get(..value.start) else {
        return value;
    };
    let Some(before) = before.trim_end().strip_suffix('=') else {
        return value;
    };
    let before = before.trim_end();
    match before.strip_suffix(key) {
        Some(head)
            if !head.ends_with(|c: char| c.is_ascii_alphanumeric() || "_-.\"'".contains(c)) =>
        {
            head.len()..before.len()
        }
        _ => value,
    }
}

/// Where and how to report a required key that is missing.
pub(super) struct Required {
    pub(super) at: Range<usize>,
    /// What requires it, as a message names it ("an http check").
    pub(super) noun: &'static str,
}

impl Required {
    /// The value of a required key, or a problem saying it is missing.
    pub(super) fn get<'v, T>(
        &self,
        p: &mut Problems<'_>,
        ctx: &str,
        key: &str,
        v: &'v Option<Spanned<T>>,
    ) -> Option<&'v Spanned<T>> {
        if v.is_none() {
            let msg = format!("{ctx}missing `{key}`, required for {}", self.noun);
            p.at(self.at.clone(), msg);
        }
        v.as_ref()
    }
}
