//! Problems found in a config file, each located as `file:line:column` in the source.
//!
//! Owns the collector every validation step reports into and the arithmetic that turns toml's byte
//! spans into lines and columns. It never decides what is wrong, and never stops at the first problem.

use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;

use super::{Error, Problem};

/// The problems found so far, and what is needed to locate them.
pub(super) struct Problems<'a> {
    file: String,
    src: &'a str,
    list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    /// An empty collector for `src`, read from `path` (which only names the file in messages).
    pub(super) fn new(path: &Path, src: &'a str) -> Problems<'a> {
        Problems {
            file: path.display().to_string(),
            src,
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

    /// Records a problem at the start of `span` (a byte range of the source).
    pub(super) fn at(&mut self, span: Range<usize>, message: String) {
        let (line, column) = self.locate(span.start);
        self.list.push(Problem {
            file: self.file.clone(),
            line,
            column,
            message,
        });
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub(super) fn locate(&self, offset: usize) -> (usize, usize) {
        let before = self.src.get(..offset).unwrap_or(self.src);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// Every problem, in file order.
    pub(super) fn into_error(mut self) -> Error {
        self.list.sort_by_key(|p| (p.line, p.column));
        Error::Invalid(self.list)
    }
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
