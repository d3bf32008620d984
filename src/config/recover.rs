//! Reading the parsed document into toml's serde mirror so that every problem in it is reported:
//! every unknown key and wrongly-typed value, each at its own location.
//!
//! serde stops at the first unknown key or wrong type. Here a table is deserialized, the item an
//! error points at is dropped, and the rest is tried again until it is accepted; the elements of
//! `[[maintenance]]` and `[[notify]]` are tried one by one first (`validate` hands each
//! `[[check]]` here on its own), so a file with a problem in every element is still read in linear
//! time. Every dropped item is reported, so a file with one is never accepted.

use std::collections::HashSet;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_spanned::Spanned;
use toml::de::{DeArray, DeValue, ValueDeserializer};

use super::diag::Problems;
use super::raw;

/// The file's tables apart from its checks (which `validate` reads one by one), with every refused
/// item left out and reported into `p`; `None` when an error points at the document itself.
pub(super) fn root(mut root: Spanned<DeValue<'_>>, p: &mut Problems<'_>) -> Option<raw::Config> {
    if let DeValue::Table(table) = root.get_mut() {
        for (key, value) in table.iter_mut() {
            match key.get_ref().as_ref() {
                "check" => each::<raw::Check>(value, p),
                "maintenance" => each::<raw::Maintenance>(value, p),
                "notify" => each::<raw::Notify>(value, p),
                _ => {}
            }
        }
    }
    accept::<raw::Config>(&mut root, p)
}

/// Cleans each element of an array of tables on its own, dropping those that cannot be read.
fn each<T: DeserializeOwned>(value: &mut Spanned<DeValue<'_>>, p: &mut Problems<'_>) {
    let DeValue::Array(items) = value.get_mut() else {
        return;
    };
    let all = std::mem::replace(items, DeArray::new());
    *items = all
        .into_iter()
        .filter_map(|mut item| accept::<T>(&mut item, p).map(|_| item))
        .collect();
}

/// Deserializes `value` as a `T`, reporting each error and dropping the item it points at until
/// the rest is accepted; `None` when an error points at `value` itself.
pub(super) fn accept<T: DeserializeOwned>(
    value: &mut Spanned<DeValue<'_>>,
    p: &mut Problems<'_>,
) -> Option<T> {
    let mut said = HashSet::new();
    loop {
        let e = match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let at = e.span().unwrap_or_else(|| value.span());
        let text = message(e.message());
        if said.insert((at.start, text.clone())) {
            p.at(at.clone(), text);
        }
        let dropped = drop_at(value, at.start)?;
        // A key misspelt is then missing under its right name: the suggestion said so already.
        if let Some(meant) = suggestion(e.message()) {
            p.refused(dropped.table.clone(), meant.to_string());
        }
        if let Some(key) = dropped.key {
            p.refused(dropped.table, key);
        }
    }
}

/// What `drop_at` took out: from which table or array, and the key when it was a table's.
struct Dropped {
    table: Range<usize>,
    key: Option<String>,
}

/// Removes the innermost key or array element of `v` that `at` points at: a key, a value that
/// starts there, or a scalar holding it. `None` when nothing does (the error is about `v` itself).
fn drop_at(v: &mut Spanned<DeValue<'_>>, at: usize) -> Option<Dropped> {
    let table = extent(v);
    match v.get_mut() {
        DeValue::Table(entries) => {
            let key = match entries.keys().find(|k| holds(&k.span(), at)) {
                Some(key) => key.clone(),
                None => {
                    // Spans of tables may overlap (a header's table, an array of tables around it):
                    // try each that could hold `at`.
                    let candidates: Vec<_> = entries
                        .iter()
                        .filter(|(_, val)| holds(&extent(val), at))
                        .map(|(k, _)| k.clone())
                        .collect();
                    let mut found = None;
                    for key in candidates {
                        let Some(inner) = entries.get_mut(&key) else {
                            continue;
                        };
                        if let Some(d) = drop_at(inner, at) {
                            return Some(d);
                        }
                        if is_the_value(inner, at) {
                            found = Some(key);
                            break;
                        }
                    }
                    found?
                }
            };
            entries.remove(&key);
            Some(Dropped {
                table,
                key: Some(key.into_inner().into_owned()),
            })
        }
        DeValue::Array(items) => {
            let mut found = None;
            for (i, item) in items.iter_mut().enumerate() {
                if !holds(&extent(item), at) {
                    continue;
                }
                if let Some(d) = drop_at(item, at) {
                    return Some(d);
                }
                if is_the_value(item, at) {
                    found = Some(i);
                    break;
                }
            }
            let i = found?;
            let all = std::mem::replace(items, DeArray::new());
            *items = all
                .into_iter()
                .enumerate()
                .filter_map(|(j, item)| (j != i).then_some(item))
                .collect();
            Some(Dropped { table, key: None })
        }
        _ => None,
    }
}

/// Whether `span` holds the offset `at` (an empty span holds its start).
fn holds(span: &Range<usize>, at: usize) -> bool {
    span.contains(&at) || span.start == at
}

/// Whether an error at `at` is about `v` as a whole: it starts there, or it is a scalar holding it.
fn is_the_value(v: &Spanned<DeValue<'_>>, at: usize) -> bool {
    v.span().start == at
        || (!matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) && holds(&v.span(), at))
}

/// The bytes `v` covers with everything in it: a table's own span may be its header alone.
fn extent(v: &Spanned<DeValue<'_>>) -> Range<usize> {
    let span = v.span();
    let inner: Vec<Range<usize>> = match v.get_ref() {
        DeValue::Table(entries) => entries
            .iter()
            .flat_map(|(k, val)| [k.span(), extent(val)])
            .collect(),
        DeValue::Array(items) => items.iter().map(extent).collect(),
        _ => Vec::new(),
    };
    inner
        .into_iter()
        .fold(span, |a, b| a.start.min(b.start)..a.end.max(b.end))
}

/// serde's message, with the nearest known key suggested after an unknown one.
pub(super) fn message(serde: &str) -> String {
    let serde = serde.trim_end();
    match suggestion(serde) {
        Some(known) => format!("{serde}; did you mean `{known}`?"),
        None => serde.to_string(),
    }
}

/// The known key an "unknown field" message's key is probably a typo of.
fn suggestion(serde: &str) -> Option<&str> {
    let rest = serde.strip_prefix("unknown field `")?;
    // "unknown field `x`, expected one of `a`, `b`" or "… expected `a` or `b`": every other
    // backtick-delimited word after the first is a known key.
    let mut words = rest.split('`').step_by(2);
    let unknown = words.next()?;
    nearest(unknown, words)
}

/// The known key closest to `unknown` in spelling, if it is close enough to be a typo.
fn nearest<'k>(unknown: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let unknown = unknown.to_lowercase();
    let limit = (unknown.chars().count() / 3).clamp(1, 3);
    known
        .map(|k| (strsim::damerau_levenshtein(&unknown, k), k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_gets_the_nearest_known_one() {
        let serde = "unknown field `intervall`, expected one of `id`, `interval`, `timeout`";
        assert_eq!(message(serde), format!("{serde}; did you mean `interval`?"));
        let serde = "unknown field `Timout`, expected `interval` or `timeout`";
        assert_eq!(message(serde), format!("{serde}; did you mean `timeout`?"));
        let serde = "unknown field `retries`, expected one of `id`, `name`, `interval`";
        assert_eq!(message(serde), serde);
        assert_eq!(
            message("invalid type: integer `30`"),
            "invalid type: integer `30`"
        );
    }
}
