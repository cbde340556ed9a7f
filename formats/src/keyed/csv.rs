//! The CSV files of the key-only categories: records to store and queries.
//!
//! ```text
//! reference,authority,kind,plate,vin                      vehicle (plate and/or vin)
//! V-1,DE-KBA,person,B-AB 123,WVWZZZ1JZXW000001
//! reference,authority,kind,number,region                  phone (region optional)
//! P-1,DE-BKA,trace,030 12345678,DE
//! reference,authority,kind,family_name,given_names,date_of_birth   identity
//! I-1,DE-BKA,person,Müller,Hans Peter,1970-01-31
//! ```
//!
//! Columns match case-insensitively in any order. Records to store need
//! `reference`, `authority` and `kind` filled in and no (authority,
//! reference) twice; query files need only `reference` (the query's name,
//! may repeat), and `authority` and `kind` may be absent or empty. A
//! vehicle row needs a plate or a VIN; a phone row's `region` (or the
//! default region given to the reader) is the country of a number written
//! nationally; an identity row may leave `given_names` empty. Cells are
//! quoted as in the DNA CSV; blank lines and a UTF-8 BOM are skipped.
//! Every value is normalised on reading ([`super`]); anything wrong is a
//! [`KeyedCsvError`] naming file, line and column, never a panic.
//! [`read_raw`] checks a file the same way but yields each row's cells as
//! written: what a client sends a node, which normalises and keys them
//! itself.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hitdex_engine::dna::Kind;
use hitdex_engine::index::container::Category;
use hitdex_engine::keyed::Value;
use rayon::prelude::*;

use crate::dna_csv::cells::Cursor;
use crate::Mode;

/// One row: reference data and the normalised values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Reference of the record (of the query, in a query file).
    pub reference: String,
    /// Designated authority (may be empty in queries).
    pub authority: String,
    /// Person or trace (person when not given in queries).
    pub kind: Kind,
    /// The normalised values: one, or a vehicle's plate and VIN.
    pub values: Vec<Value>,
    /// 1-based line in the file.
    pub line: usize,
}

/// One row as written: reference data and the category's cells, not
/// normalised (though checked: they normalise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// Reference of the record (of the query, in a query file).
    pub reference: String,
    /// Designated authority (may be empty in queries).
    pub authority: String,
    /// Person or trace (person when not given in queries).
    pub kind: Kind,
    /// The category's non-empty cells, `(column, text as written)`, in the
    /// order of [`value_columns`]; a phone row without a region cell has
    /// the default region given to the reader, if any.
    pub cells: Vec<(&'static str, String)>,
    /// 1-based line in the file.
    pub line: usize,
}

/// Why a CSV of a key-only category cannot be read.
///
/// Displayed as `file:line: column NAME: problem` (or `file:line: problem`
/// when no single column is at fault, or `file: io error`).
#[derive(Debug, thiserror::Error)]
pub enum KeyedCsvError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The content is not valid.
    #[error("{}:{line}: {}{problem}", path.display(), ColumnPrefix(column.as_deref()))]
    Bad {
        /// The file (or the name given to [`read_bytes`]).
        path: PathBuf,
        /// 1-based line number; the header is line 1.
        line: usize,
        /// The column at fault, as the header names it.
        column: Option<String>,
        /// What is wrong.
        problem: String,
    },
}

impl KeyedCsvError {
    /// The 1-based line at fault, unless the file could not be read.
    pub fn line(&self) -> Option<usize> {
        match self {
            KeyedCsvError::Io { .. } => None,
            KeyedCsvError::Bad { line, .. } => Some(*line),
        }
    }

    /// The column at fault, if one is.
    pub fn column(&self) -> Option<&str> {
        match self {
            KeyedCsvError::Io { .. } => None,
            KeyedCsvError::Bad { column, .. } => column.as_deref(),
        }
    }
}

/// `column NAME: `, or nothing.
struct ColumnPrefix<'a>(Option<&'a str>);

impl fmt::Display for ColumnPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) if name.is_empty() || name.chars().any(char::is_control) => write!(f, "column {name:?}: "),
            Some(name) => write!(f, "column {name}: "),
            None => Ok(()),
        }
    }
}

/// The columns of `category` after `reference,authority,kind` (none for
/// a category that is not key-only).
pub fn value_columns(category: Category) -> &'static [&'static str] {
    match category {
        Category::Vehicle => &["plate", "vin"],
        Category::Phone => &["number", "region"],
        Category::Identity => &["family_name", "given_names", "date_of_birth"],
        Category::Dna | Category::Fingerprint => &[],
    }
}

/// The header line of a file of `category` (without its line end).
pub fn header(category: Category) -> String {
    let mut h = String::from("reference,authority,kind");
    for c in value_columns(category) {
        h.push(',');
        h.push_str(c);
    }
    h
}

/// A cell as written: quoted when it holds a comma, quote, line end or
/// leading or trailing space.
pub fn cell(text: &str) -> Cow<'_, str> {
    let plain = !text.contains([',', '"', '\n', '\r']) && text.trim() == text;
    if plain {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    }
}

/// Reads the file at `path`.
///
/// # Errors
/// [`KeyedCsvError::Io`] if unreadable, otherwise as [`read_bytes`].
pub fn read_path(path: &Path, category: Category, mode: Mode, region: Option<&str>) -> Result<Vec<Row>, KeyedCsvError> {
    let bytes = std::fs::read(path).map_err(|source| KeyedCsvError::Io { path: path.to_path_buf(), source })?;
    read_bytes(&bytes, path, category, mode, region)
}

/// Reads a file of `category` from `bytes` (`source` names it in errors);
/// `region` is the default region of national phone numbers. Rows are
/// normalised in parallel; the error reported is the first line's.
///
/// # Errors
/// [`KeyedCsvError::Bad`] naming the first bad line and column: invalid
/// UTF-8, a missing, unknown or repeated column, a bad quote or cell
/// count, an empty required cell, a bad kind, a value that cannot be
/// normalised, or in [`Mode::Store`] a repeated (authority, reference).
pub fn read_bytes(bytes: &[u8], source: &Path, category: Category, mode: Mode, region: Option<&str>) -> Result<Vec<Row>, KeyedCsvError> {
    Ok(read_rows(bytes, source, category, mode, region, false)?.into_iter().map(|(row, _)| row).collect())
}

/// Reads the file at `path` as [`read_raw`] does.
///
/// # Errors
/// [`KeyedCsvError::Io`] if unreadable, otherwise as [`read_bytes`].
pub fn read_raw_path(path: &Path, category: Category, mode: Mode, region: Option<&str>) -> Result<Vec<RawRow>, KeyedCsvError> {
    let bytes = std::fs::read(path).map_err(|source| KeyedCsvError::Io { path: path.to_path_buf(), source })?;
    read_raw(&bytes, path, category, mode, region)
}

/// Reads and checks a file of `category` exactly as [`read_bytes`] does,
/// but yields each row's cells as written rather than its normalised
/// values.
///
/// # Errors
/// As [`read_bytes`].
pub fn read_raw(bytes: &[u8], source: &Path, category: Category, mode: Mode, region: Option<&str>) -> Result<Vec<RawRow>, KeyedCsvError> {
    Ok(read_rows(bytes, source, category, mode, region, true)?
        .into_iter()
        .map(|(row, cells)| RawRow { reference: row.reference, authority: row.authority, kind: row.kind, cells, line: row.line })
        .collect())
}

/// A row's cells as written: `(column, text)`.
type Cells = Vec<(&'static str, String)>;

/// The rows of a file, and with `raw` each one's cells as written.
fn read_rows(bytes: &[u8], source: &Path, category: Category, mode: Mode, region: Option<&str>, raw: bool) -> Result<Vec<(Row, Cells)>, KeyedCsvError> {
    let bad = |line, column: Option<&str>, problem: String| KeyedCsvError::Bad { path: source.to_path_buf(), line, column: column.map(Into::into), problem };
    let specific = value_columns(category);
    if specific.is_empty() {
        return Err(bad(0, None, format!("{} is not a key-only category", category.name())));
    }
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut lines = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let text = std::str::from_utf8(raw).map_err(|_| bad(i + 1, None, "not valid UTF-8 (save the file as UTF-8)".into()))?;
        if !text.trim().is_empty() {
            lines.push((i + 1, text));
        }
    }
    let Some(&(header_line, header_text)) = lines.first() else {
        return Err(bad(1, None, format!("empty file, expected a header line ({})", header(category))));
    };
    // Column slots: reference, authority, kind, then the category's.
    let names: Vec<&str> = ["reference", "authority", "kind"].into_iter().chain(specific.iter().copied()).collect();
    let mut cells = Vec::new();
    let quote = "malformed quoted cell (a quote must close the cell; write \"\" for a quote inside)";
    Cursor::new(header_text).next_line(&mut cells).map_err(|_| bad(header_line, None, quote.into()))?;
    let mut slots: Vec<Option<usize>> = vec![None; names.len()];
    let mut written: Vec<String> = Vec::with_capacity(cells.len());
    for (i, name) in cells.iter().enumerate() {
        let Some(slot) = names.iter().position(|c| name.eq_ignore_ascii_case(c)) else {
            return Err(bad(header_line, Some(name), format!("unknown column (expected {})", names.join(", "))));
        };
        if slots[slot].replace(i).is_some() {
            return Err(bad(header_line, Some(name), format!("column {} appears twice", names[slot])));
        }
        written.push(name.to_string());
    }
    let mut required: Vec<usize> = vec![0];
    if mode == Mode::Store {
        required.extend([1, 2]);
    }
    match category {
        Category::Phone => required.push(3),
        Category::Identity => required.extend([3, 4, 5]),
        _ => {}
    }
    if let Some(&missing) = required.iter().find(|&&s| slots[s].is_none()) {
        return Err(bad(header_line, None, format!("missing column {}", names[missing])));
    }
    if category == Category::Vehicle && slots[3].is_none() && slots[4].is_none() {
        return Err(bad(header_line, None, "missing column plate or vin (a vehicle is found by either)".into()));
    }
    let width = cells.len();
    let parse = |&(line, text): &(usize, &str)| -> Result<(Row, Cells), KeyedCsvError> {
        let mut cells = Vec::new();
        Cursor::new(text).next_line(&mut cells).map_err(|(i, _)| bad(line, written.get(i).map(String::as_str), quote.into()))?;
        if cells.len() != width {
            return Err(bad(line, None, format!("{} cells where the header has {width}", cells.len())));
        }
        let get = |slot: usize| slots[slot].map_or("", |i| cells[i].as_ref());
        let column_of = |slot: usize| slots[slot].and_then(|i| written.get(i)).map_or(names[slot], String::as_str);
        let fail = |slot: usize, problem: String| Err(bad(line, Some(column_of(slot)), problem));
        let store = mode == Mode::Store;
        let (reference, authority, kind) = (get(0), get(1), get(2));
        if reference.is_empty() {
            return fail(0, "empty reference".into());
        }
        if store && authority.is_empty() {
            return fail(1, "empty authority".into());
        }
        let kind = match kind {
            "" if !store => Kind::Person,
            k if k.eq_ignore_ascii_case("person") => Kind::Person,
            k if k.eq_ignore_ascii_case("trace") => Kind::Trace,
            k => return fail(2, format!("kind {k:?} is neither person nor trace")),
        };
        let values = match category {
            Category::Vehicle => super::vehicle_values(Some(get(3)), Some(get(4))),
            Category::Phone => {
                let r = get(4);
                super::phone_value(get(3), if r.trim().is_empty() { region } else { Some(r) }).map(|v| vec![v])
            }
            _ => super::identity_value(get(3), get(4), get(5)).map(|v| vec![v]),
        };
        let values = values.map_err(|e| {
            let slot = names.iter().position(|n| *n == e.column).unwrap_or(0);
            let problem = if e.column == "region" && slots[4].is_none() { format!("--region: {}", e.problem) } else { e.problem };
            bad(line, Some(column_of(slot)), problem)
        })?;
        let mut cells = Vec::new();
        if raw {
            for (slot, &column) in specific.iter().enumerate() {
                let text = match get(slot + 3) {
                    t if column == "region" && t.trim().is_empty() => region.unwrap_or_default(),
                    t => t,
                };
                if !text.trim().is_empty() {
                    cells.push((column, text.to_string()));
                }
            }
        }
        Ok((Row { reference: reference.to_string(), authority: authority.to_string(), kind, values, line }, cells))
    };
    let parsed: Vec<Result<(Row, Cells), KeyedCsvError>> = lines[1..].par_iter().map(parse).collect();
    let mut rows = Vec::with_capacity(parsed.len());
    let mut first_lines: HashMap<(String, String), usize> = HashMap::new();
    for r in parsed {
        let (row, cells) = r?;
        if mode == Mode::Store {
            if let Some(first) = first_lines.insert((row.authority.clone(), row.reference.clone()), row.line) {
                let problem = format!("duplicate reference {:?} of authority {:?}, first on line {first}", row.reference, row.authority);
                return Err(bad(row.line, None, problem));
            }
        }
        rows.push((row, cells));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use hitdex_engine::keyed::Field;

    use super::*;

    fn read(text: &str, category: Category, mode: Mode) -> Result<Vec<Row>, KeyedCsvError> {
        read_bytes(text.as_bytes(), Path::new("in.csv"), category, mode, Some("DE"))
    }

    fn error(text: &str, category: Category, mode: Mode) -> (usize, Option<String>, String) {
        let e = read(text, category, mode).unwrap_err();
        (e.line().unwrap(), e.column().map(Into::into), e.to_string())
    }

    #[test]
    fn each_category_reads_and_normalises() {
        let v = read("\u{feff}Reference,AUTHORITY,kind,plate,vin\r\nV1,DE-KBA,person,B-AB 123,\r\n\r\nV2,DE-KBA,trace,\"m-x 9\",1M8GDM9AXKP042788\r\n", Category::Vehicle, Mode::Store).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].values, [Value { field: Field::Plate, text: "BAB123".into() }]);
        assert_eq!((v[1].kind, v[1].line, v[1].values.len()), (Kind::Trace, 4, 2));
        let p = read("reference,authority,kind,number,region\nP1,DE,person,030 12345678,\nP2,FR,person,06 12 34 56 78,FR\n", Category::Phone, Mode::Store).unwrap();
        assert_eq!(p[0].values[0].text, "+493012345678");
        assert_eq!(p[1].values[0].text, "+33612345678");
        let i = read("date_of_birth,family_name,given_names,reference\n1970-01-31,Müller,,Q1\n1970-01-31,Müller,,Q1\n", Category::Identity, Mode::Query).unwrap();
        assert_eq!((i[0].authority.as_str(), i[0].kind), ("", Kind::Person));
        assert_eq!(i[0].values, i[1].values, "queries may repeat");
    }

    #[test]
    fn errors_name_line_and_column() {
        let db = "reference,authority,kind,plate,vin\nV1,DE,person,B-AB 1,\nV2,DE,person,,1M8GDM9AXKP042789\n";
        let (line, column, text) = error(db, Category::Vehicle, Mode::Store);
        assert_eq!((line, column.as_deref()), (3, Some("vin")));
        assert!(text.starts_with("in.csv:3: column vin: check digit"), "{text}");

        let (line, column, _) = error("reference,authority,kind,Number\nP1,DE,person,12\n", Category::Phone, Mode::Store);
        assert_eq!((line, column.as_deref()), (2, Some("Number")), "the column as the header writes it");

        let (line, column, text) = error("reference,authority,kind,family_name,given_names,date_of_birth\nI1,DE,person,Müller,Hans,1970-02-30\n", Category::Identity, Mode::Store);
        assert_eq!((line, column.as_deref()), (2, Some("date_of_birth")), "{text}");

        let (line, column, _) = error("reference,authority,kind,plate,colour\n", Category::Vehicle, Mode::Store);
        assert_eq!((line, column.as_deref()), (1, Some("colour")));

        let (line, _, text) = error("reference,authority,kind,plate\nV1,DE,person,A1\n\nV1,DE,trace,A2\n", Category::Vehicle, Mode::Store);
        assert_eq!(line, 4);
        assert!(text.contains("first on line 2"), "{text}");

        let (line, column, _) = error("reference,authority,kind,plate\nV1,DE,ghost,A1\n", Category::Vehicle, Mode::Store);
        assert_eq!((line, column.as_deref()), (2, Some("kind")));

        let (line, column, text) = error("reference,plate\nQ1,A1\n", Category::Vehicle, Mode::Store);
        assert_eq!((line, column), (1, None));
        assert!(text.contains("missing column authority"), "{text}");

        let (line, _, text) = error("reference,kind,plate\nQ1,,A1,x\n", Category::Vehicle, Mode::Query);
        assert_eq!(line, 2);
        assert!(text.contains("4 cells where the header has 3"), "{text}");

        let (line, column, _) = error("reference,plate\nQ1,\"A1\n", Category::Vehicle, Mode::Query);
        assert_eq!((line, column.as_deref()), (2, Some("plate")));

        let (line, _, text) = error("reference,plate\nQ1,\n", Category::Vehicle, Mode::Query);
        assert_eq!(line, 2);
        assert!(text.contains("plate or a VIN"), "{text}");

        let e = read_bytes(b"reference,number\nQ1,030 1234567\n", Path::new("q.csv"), Category::Phone, Mode::Query, None).unwrap_err();
        assert!(e.to_string().contains("needs a region"), "{e}");
        let e = read_bytes(b"reference,number\nQ1,030 1234567\n", Path::new("q.csv"), Category::Phone, Mode::Query, Some("ZZ")).unwrap_err();
        assert!(e.to_string().contains("column region: --region"), "{e}");

        let e = read_bytes(b"reference,plate\nQ1,\xff\n", Path::new("q.csv"), Category::Vehicle, Mode::Query, None).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(read("", Category::Vehicle, Mode::Query).is_err());
        assert!(read("reference\n", Category::Dna, Mode::Query).is_err());
    }

    #[test]
    fn raw_rows_keep_the_cells_as_written_and_are_checked_alike() {
        let text = "reference,number,region\nQ1,030 12345678,\nQ2,\"+33 6 12 34 56 78\",FR\n";
        let raw = read_raw(text.as_bytes(), Path::new("q.csv"), Category::Phone, Mode::Query, Some("DE")).unwrap();
        let cells: Vec<_> = raw.iter().map(|r| (r.reference.as_str(), r.line, r.cells.clone())).collect();
        assert_eq!(cells, [("Q1", 2, vec![("number", "030 12345678".into()), ("region", "DE".into())]), ("Q2", 3, vec![("number", "+33 6 12 34 56 78".into()), ("region", "FR".into())])]);
        let raw = read_raw(b"plate,reference\nb-ab 1,Q1\n", Path::new("q.csv"), Category::Vehicle, Mode::Query, None).unwrap();
        assert_eq!(raw[0].cells, [("plate", "b-ab 1".to_string())], "no vin column, no vin cell");
        let raw = read_raw("reference,family_name,given_names,date_of_birth\nI,Müller,,1970-01-31\n".as_bytes(), Path::new("q.csv"), Category::Identity, Mode::Query, None).unwrap();
        assert_eq!(raw[0].cells, [("family_name", "Müller".to_string()), ("date_of_birth", "1970-01-31".to_string())]);
        // The same errors as read_bytes, naming line and column.
        for bad in ["reference,plate\nQ1,B-AB 1\nQ2,AB#1\n", "reference,plate\nQ1,B-AB 1\nQ2\n"] {
            let e = read_raw(bad.as_bytes(), Path::new("q.csv"), Category::Vehicle, Mode::Query, None).unwrap_err();
            let f = read_bytes(bad.as_bytes(), Path::new("q.csv"), Category::Vehicle, Mode::Query, None).unwrap_err();
            assert_eq!(e.to_string(), f.to_string());
            assert_eq!(e.line(), Some(3));
        }
    }

    #[test]
    fn cells_quote_what_needs_it() {
        assert_eq!(cell("Müller"), "Müller");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(cell(" x"), "\" x\"");
        let line = format!("{},{},person,{},Hans,1970-01-01\n", cell("R,1"), cell("DE \"BKA\""), cell("O'Neil, Jr"));
        let rows = read(&format!("{}\n{line}", header(Category::Identity)), Category::Identity, Mode::Store).unwrap();
        assert_eq!(rows[0].values[0].text, "oneiljr|hans|1970-01-01");
        assert_eq!((rows[0].reference.as_str(), rows[0].authority.as_str()), ("R,1", "DE \"BKA\""));
    }

    proptest::proptest! {
        /// No bytes make the reader panic.
        #[test]
        fn any_bytes_give_rows_or_an_error(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), c in 0usize..3) {
            let category = [Category::Vehicle, Category::Phone, Category::Identity][c];
            let mut text = header(category).into_bytes();
            text.push(b'\n');
            text.extend(bytes);
            let _ = read_bytes(&text, Path::new("x"), category, Mode::Query, Some("DE"));
        }
    }
}
