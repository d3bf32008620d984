//! The metrics table's rows in the order of their check ids: one sorted `Vec` (a `BTreeMap`
//! filled in config order leaves its nodes about half full), rows added since the last merge in a
//! small `BTreeMap`, merged in once they are many or before a scrape, and forgotten rows left as
//! holes until they are many. It only keeps rows; it never says what a row holds.

use std::collections::{BTreeMap, HashMap};

use crate::model::CheckId;

/// Added rows are merged in once there are this many, or an eighth of the sorted ones.
const MERGE_AT: usize = 1024;

/// Rows by check id, iterated in id order.
pub(super) struct Rows<T> {
    /// Sorted by id; `None` is a forgotten row.
    sorted: Vec<(CheckId, Option<T>)>,
    /// Positions in `sorted` by id, made at each merge: every probe finds its row, and a binary
    /// search through ids reads a dozen rows and strings scattered over the heap.
    index: HashMap<CheckId, u32>,
    /// Rows added since the last merge.
    added: BTreeMap<CheckId, T>,
    /// `None`s in `sorted`.
    holes: usize,
}

impl<T> Default for Rows<T> {
    fn default() -> Rows<T> {
        Rows {
            sorted: Vec::new(),
            index: HashMap::new(),
            added: BTreeMap::new(),
            holes: 0,
        }
    }
}

impl<T> Rows<T> {
    /// The row of `id`, made by `make` when there is none.
    pub(super) fn get_or_insert_with(&mut self, id: &CheckId, make: impl FnOnce() -> T) -> &mut T {
        match self.position(id) {
            Some(i) => {
                let row = &mut self.sorted[i].1;
                if row.is_none() {
                    self.holes -= 1;
                }
                row.get_or_insert_with(make)
            }
            None => {
                if self.added.len() >= MERGE_AT.max(self.sorted.len() / 8)
                    && !self.added.contains_key(id)
                {
                    self.merge();
                    return self.get_or_insert_with(id, make);
                }
                self.added.entry(id.clone()).or_insert_with(make)
            }
        }
    }

    /// Takes the row of `id` out, if there is one.
    pub(super) fn remove(&mut self, id: &CheckId) -> Option<T> {
        let Some(i) = self.position(id) else {
            return self.added.remove(id);
        };
        let row = self.sorted[i].1.take()?;
        self.holes += 1;
        if self.holes >= MERGE_AT && self.holes * 2 >= self.sorted.len() {
            self.merge();
        }
        Some(row)
    }

    fn position(&self, id: &CheckId) -> Option<usize> {
        self.index.get(id).map(|&i| i as usize)
    }

    /// Every row, in no particular order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.sorted
            .iter_mut()
            .filter_map(|(_, r)| r.as_mut())
            .chain(self.added.values_mut())
    }

    pub(super) fn len(&self) -> usize {
        self.sorted.len() - self.holes + self.added.len()
    }

    /// Brings the added rows into the sorted ones and drops the holes, in place: the sorted
    /// rows grow by the added ones alone, never copied whole beside themselves.
    pub(super) fn merge(&mut self) {
        if self.holes == 0 && self.added.is_empty() {
            return;
        }
        if self.holes > 0 {
            self.sorted.retain(|(_, r)| r.is_some());
            self.holes = 0;
        }
        self.insert_added();
        self.index = (self.sorted.iter().enumerate())
            .filter_map(|(i, (k, _))| Some((k.clone(), u32::try_from(i).ok()?)))
            .collect();
    }

    fn insert_added(&mut self) {
        let Some(first) = self.added.keys().next().cloned() else {
            return;
        };
        let mut added: Vec<(CheckId, Option<T>)> = std::mem::take(&mut self.added)
            .into_iter()
            .map(|(k, r)| (k, Some(r)))
            .collect();
        // From the back: the free slots `[i, w)` hold fillers, which end in `added`.
        let (mut i, mut j) = (self.sorted.len(), added.len());
        self.sorted.reserve_exact(j);
        self.sorted.resize_with(i + j, || (first.clone(), None));
        let mut w = self.sorted.len();
        while j > 0 {
            if i > 0 && self.sorted[i - 1].0 > added[j - 1].0 {
                self.sorted.swap(i - 1, w - 1);
                i -= 1;
            } else {
                std::mem::swap(&mut self.sorted[w - 1], &mut added[j - 1]);
                j -= 1;
            }
            w -= 1;
        }
    }

    /// The rows after `after` (all when `None`), in id order; call [`Rows::merge`] first, or
    /// the rows added since are left out.
    pub(super) fn after(&self, after: Option<&CheckId>) -> impl Iterator<Item = (&CheckId, &T)> {
        let start = after.map_or(0, |id| self.sorted.partition_point(|(k, _)| k <= id));
        self.sorted[start..]
            .iter()
            .filter_map(|(k, r)| Some((k, r.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: usize) -> CheckId {
        CheckId::new(&format!("c{i}")).unwrap()
    }

    #[test]
    fn rows_come_out_in_id_order_across_merges_and_holes() {
        let mut rows = Rows::default();
        let n = 5000;
        for i in 0..n {
            *rows.get_or_insert_with(&id(i), || 0) += i;
        }
        for i in (0..n).step_by(3) {
            assert_eq!(rows.remove(&id(i)), Some(i));
        }
        assert_eq!(rows.remove(&id(0)), None);
        *rows.get_or_insert_with(&id(3), || 7) += 1;
        assert_eq!(*rows.get_or_insert_with(&id(4), || 0), 4);
        rows.merge();
        let mut want: Vec<(CheckId, usize)> = (0..n)
            .filter(|i| i % 3 != 0)
            .map(|i| (id(i), i))
            .chain([(id(3), 8)])
            .collect();
        want.sort();
        let got: Vec<(CheckId, usize)> = rows.after(None).map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(got, want);
        assert_eq!(rows.len(), want.len());
        let from = &want[100].0;
        let rest: Vec<&CheckId> = rows.after(Some(from)).map(|(k, _)| k).collect();
        assert_eq!(rest.len(), want.len() - 101);
        assert_eq!(rest[0], &want[101].0);
    }
}
