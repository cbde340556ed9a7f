//! Splitting a line into cells: commas, optional double quotes (`"R 1"`,
//! `""` for a quote inside), spaces around cells ignored.
//!
//! The reader walks each chunk once, finding cell and line ends in the same
//! pass, and borrows cell text from the input: only a cell with an escaped
//! quote is copied. The fingerprint manifest splits its lines with it too,
//! so both CSVs quote the same way.

use std::borrow::Cow;

use super::error::Problem;

/// Bytes ignored around a cell; `\r` makes CRLF line ends work.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// The first `,` or `\n` at or after `i`, or the end.
///
/// Cells are a few bytes long and vary in length, so a byte loop pays a
/// mispredicted branch per cell; testing eight bytes at once (the classic
/// "has zero byte" trick on `word ^ separator`) mostly finds the end in one
/// step. The lowest flagged byte is always a true match.
fn cell_end(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*word);
        let comma = w ^ (ONES * u64::from(b','));
        let newline = w ^ (ONES * u64::from(b'\n'));
        let found =
            (comma.wrapping_sub(ONES) & !comma | newline.wrapping_sub(ONES) & !newline) & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = bytes.get(i..).unwrap_or_default();
    rest.iter()
        .position(|&b| b == b',' || b == b'\n')
        .map_or(bytes.len(), |k| i + k)
}

/// A position in a chunk of whole lines.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

/// Why a line could not be split: the 0-based cell at fault and the problem.
pub(crate) type SplitError = (usize, Problem);

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    /// Whether every line has been read.
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Reads the cells of the next line into `cells` (cleared first) and
    /// moves past its line end. Returns whether the line is blank.
    ///
    /// After an error the cursor is not moved to the next line: callers
    /// stop at the first error.
    pub(crate) fn next_line(&mut self, cells: &mut Vec<Cow<'a, str>>) -> Result<bool, SplitError> {
        cells.clear();
        let bytes = self.text.as_bytes();
        let mut blank = true;
        loop {
            let mut i = self.pos;
            while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
                i += 1;
            }
            let (cell, end) = if bytes.get(i) == Some(&b'"') {
                blank = false;
                self.quoted(i + 1).map_err(|p| (cells.len(), p))?
            } else {
                let end = cell_end(bytes, i);
                let mut e = end;
                while e > i && is_blank(bytes[e - 1]) {
                    e -= 1;
                }
                blank &= e == i;
                // Slicing is safe: `i` and `e` sit next to ASCII bytes.
                (Cow::Borrowed(&self.text[i..e]), end)
            };
            cells.push(cell);
            match bytes.get(end) {
                Some(b',') => {
                    blank = false;
                    self.pos = end + 1;
                }
                Some(_) => {
                    self.pos = end + 1;
                    return Ok(blank);
                }
                None => {
                    self.pos = end;
                    return Ok(blank);
                }
            }
        }
    }

    /// Reads a quoted cell whose content starts at `start`; returns it and
    /// the position of the `,` or line end that follows.
    fn quoted(&self, start: usize) -> Result<(Cow<'a, str>, usize), Problem> {
        let bytes = self.text.as_bytes();
        let mut owned: Option<String> = None;
        let mut from = start;
        let mut i = start;
        let close = loop {
            match bytes.get(i) {
                None | Some(b'\n') => return Err(Problem::Quote),
                Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                    // An escaped quote: keep the text so far and one quote.
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[from..=i]);
                    i += 2;
                    from = i;
                }
                Some(b'"') => break i,
                Some(_) => i += 1,
            }
        };
        let cell = match owned {
            Some(mut s) => {
                s.push_str(&self.text[from..close]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.text[start..close]),
        };
        let mut end = close + 1;
        while end < bytes.len() && is_blank(bytes[end]) {
            end += 1;
        }
        match bytes.get(end) {
            None | Some(b',' | b'\n') => Ok((cell, end)),
            Some(_) => Err(Problem::Quote),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, SplitError> {
        let mut cells = Vec::new();
        Cursor::new(line).next_line(&mut cells)?;
        Ok(cells.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn cells_are_trimmed_and_unquoted() {
        assert_eq!(
            split(" R1 , DE-BKA,\t15/16 \r\n").unwrap(),
            ["R1", "DE-BKA", "15/16"]
        );
        assert_eq!(
            split("\"R 1\",\"a \"\"b\"\"\" , x\n").unwrap(),
            ["R 1", "a \"b\"", "x"]
        );
        assert_eq!(split(",,").unwrap(), ["", "", ""]);
        assert_eq!(split("\"\"\"\"").unwrap(), ["\""]);
    }

    #[test]
    fn cell_ends_are_found_in_words_and_tails() {
        let text = b"R1,DE-BKA,person,15/16,,9.3/10\n12345678901234567,x\nabc";
        let naive = |i: usize| {
            text[i..]
                .iter()
                .position(|&b| b == b',' || b == b'\n')
                .map_or(text.len(), |k| i + k)
        };
        for i in 0..=text.len() {
            assert_eq!(cell_end(text, i), naive(i), "from {i}");
        }
        // Bytes just above and below the separators must not match.
        let near = b"+-\t\x0b\x8c\xaa\xac\x2d\x2b\x0b";
        assert_eq!(cell_end(near, 0), near.len());
    }

    #[test]
    fn bad_quotes_name_their_cell() {
        assert_eq!(split("a,\"b\n"), Err((1, Problem::Quote)));
        assert_eq!(split("a,b,\"c\"d"), Err((2, Problem::Quote)));
    }

    #[test]
    fn blank_lines_are_told_apart() {
        let mut cells = Vec::new();
        let mut c = Cursor::new("a\n \r\n\"\"\n");
        assert_eq!(c.next_line(&mut cells), Ok(false));
        assert_eq!(c.next_line(&mut cells), Ok(true));
        assert_eq!(c.next_line(&mut cells), Ok(false));
        assert!(c.at_end());
    }
}
