//! The per-check label text of the metrics table: every row's `check="…",group="…"` in one
//! buffer, a row holding its span, so 100,000 checks cost one string, not 100,000.
//! It only stores text; it never escapes or decides what a label says.

/// Where a row's labels are in [`Labels`].
#[derive(Clone, Copy)]
pub(super) struct Span {
    start: u32,
    len: u32,
}

/// Label text of every row, one after another.
#[derive(Default)]
pub(super) struct Labels {
    text: String,
    /// Bytes no row points at (forgotten or relabelled rows), dropped by compacting once they
    /// are half of the text.
    unused: usize,
}

impl Labels {
    /// Appends `text` and returns its span.
    pub(super) fn push(&mut self, text: &str) -> Span {
        push(&mut self.text, text)
    }

    pub(super) fn get(&self, span: Span) -> &str {
        let start = span.start as usize;
        &self.text[start..start + span.len as usize]
    }

    /// Counts `span` as no longer used.
    pub(super) fn release(&mut self, span: Span) {
        self.unused += span.len as usize;
    }

    /// Whether [`Labels::compact`] is due.
    pub(super) fn wasteful(&self) -> bool {
        self.unused >= 4096 && self.unused * 2 >= self.text.len()
    }

    /// Copies the text of `spans` (every span in use) into a fresh buffer, moving each span.
    pub(super) fn compact<'a>(&mut self, spans: impl Iterator<Item = &'a mut Span>) {
        let mut text = String::with_capacity(self.text.len() - self.unused);
        for span in spans {
            *span = push(&mut text, self.get(*span));
        }
        self.text = text;
        self.unused = 0;
    }
}

fn push(buf: &mut String, text: &str) -> Span {
    // Offsets past 4 GB of labels (tens of millions of checks) would need a wider span.
    let start = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    buf.push_str(text);
    Span {
        start,
        len: u32::try_from(text.len()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_keeps_the_text_of_the_spans_in_use_and_drops_the_rest() {
        let mut labels = Labels::default();
        let mut kept = labels.push("check=\"a\",group=\"g\"");
        let long = "x".repeat(5000);
        let gone = labels.push(&long);
        labels.release(gone);
        assert!(labels.wasteful());
        labels.compact(std::iter::once(&mut kept));
        assert_eq!(labels.get(kept), "check=\"a\",group=\"g\"");
        assert_eq!(labels.text.len(), kept.len as usize);
        assert!(!labels.wasteful());
    }
}
