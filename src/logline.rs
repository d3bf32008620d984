//! Untrusted text on its way into a log line: line breaks, control characters and the Unicode
//! characters that reorder or hide text are escaped, and the text is cut to a bounded excerpt, so
//! a user name, an error message or a path can neither forge a second line nor flood the log.
//!
//! It only formats; it never decides what is logged and never allocates a copy of the text.

use std::fmt::{self, Display, Write};

/// The longest text [`escaped`] keeps, in characters; the rest is counted, not written.
pub const MAX_CHARS: usize = 1024;

/// `value`'s text, escaped for a log line and cut after `max_chars` characters.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<T> {
    value: T,
    max_chars: usize,
}

/// `value` escaped for a log field, e.g. `error = %escaped(&e)`.
pub fn escaped<T: Display>(value: T) -> Escaped<T> {
    excerpt(value, MAX_CHARS)
}

/// The first `max_chars` characters of `value`, escaped, followed by how many were left out.
pub fn excerpt<T: Display>(value: T, max_chars: usize) -> Escaped<T> {
    Escaped { value, max_chars }
}

impl<T: Display> Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Escaper {
            out: f,
            left: self.max_chars,
            cut: 0,
        };
        write!(out, "{}", self.value)?;
        let cut = out.cut;
        if cut > 0 {
            write!(f, "… ({cut} more characters)")?;
        }
        Ok(())
    }
}

/// Writes characters through, escaping those that could break or disguise a log line.
struct Escaper<'a, 'f> {
    out: &'a mut fmt::Formatter<'f>,
    left: usize,
    cut: usize,
}

impl Write for Escaper<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.left == 0 {
                self.cut += 1;
                continue;
            }
            self.left -= 1;
            if needs_escape(c) {
                write!(self.out, "{}", c.escape_debug())?;
            } else {
                self.out.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Control characters (line breaks, terminal escapes), the Unicode line and paragraph
/// separators, the invisible characters that reorder or hide text (bidi controls, zero-width
/// characters, the byte order mark), and the backslash, so an escape cannot be faked.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\\' | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, max: usize, expected: &str) {
        assert_eq!(excerpt(input, max).to_string(), expected);
    }

    #[test]
    fn line_breaks_and_control_characters_are_escaped() {
        check("ops", 64, "ops");
        check("ops\nWARN forged line\r", 64, "ops\\nWARN forged line\\r");
        check("a\u{1b}[31mred", 64, "a\\u{1b}[31mred");
        check("evil\u{202e}txt.exe", 64, "evil\\u{202e}txt.exe");
        check("line\u{2028}sep", 64, "line\\u{2028}sep");
        check("quotes \" stay", 64, "quotes \" stay");
        check("a\\nb", 64, "a\\\\nb");
        check("élan ✓", 64, "élan ✓");
    }

    #[test]
    fn long_text_is_cut_to_an_excerpt_that_says_how_much_is_missing() {
        let long = "A".repeat(60_000);
        let shown = excerpt(&long, 64).to_string();
        assert_eq!(
            shown,
            format!("{}… (59936 more characters)", "A".repeat(64))
        );
        assert!(escaped(&long).to_string().len() < MAX_CHARS + 40);
    }

    #[test]
    fn errors_are_escaped_through_their_display() {
        let e = std::io::Error::other("disk\nfull");
        assert_eq!(escaped(&e).to_string(), "disk\\nfull");
    }
}
