//! The manifest of finger templates to index or to search with: a CSV
//! naming, per template file, whose finger it holds.
//!
//! ```text
//! reference,authority,finger,path,kind
//! P-1,DE-BKA,2,P-1/right-index.iso,person
//! "T 7",DE-BKA,0,/traces/t7.xyt,trace
//! ```
//!
//! Columns match case-insensitively in any order; `kind` may be left out
//! (all persons), and in queries so may `authority`. `finger` is the
//! ISO/IEC 19794-2 position (0 unknown, 1 right thumb ... 10 left little).
//! Relative paths are resolved against the manifest's directory, so a
//! manifest travels with its templates. Cells are quoted as in the DNA CSV;
//! blank lines, `#` comments and a UTF-8 BOM are skipped. Bad content is a
//! [`ManifestError`] naming file, line and column, never a panic.
//! [`from_dir`] stands in for a manifest with a directory of templates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hitdex_engine::dna::Kind;
use hitdex_engine::fingerprint::Template;

use super::Format;
use crate::dna_csv::cells::Cursor;

/// What a manifest is read for; templates to store are checked more strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Templates to store: `authority` required and filled in, and no
    /// (authority, reference, finger) twice, since a person's record holds
    /// each finger at most once.
    Store,
    /// Query templates: `authority` may be absent or empty.
    Query,
}

/// One template file and whose finger it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Reference of the record within its authority; one person's fingers share it.
    pub reference: String,
    /// Designated authority holding the record (may be empty in queries).
    pub authority: String,
    /// ISO/IEC 19794-2 finger position, 0..=10 (0: unknown).
    pub finger: u8,
    /// Person or trace.
    pub kind: Kind,
    /// The template file; not checked for existence here.
    pub path: PathBuf,
    /// 1-based line in the manifest (0 for [`from_dir`]).
    pub line: usize,
}

/// Why a manifest (or a directory of templates) cannot be read.
///
/// Displayed as `file: line N, column NAME: problem`, less what is not known.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file or directory cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The content is not a valid manifest.
    #[error("{}: {}{problem}", path.display(), at(*line, column.as_deref()))]
    Bad {
        /// The manifest (or the source given to [`read_bytes`], or the directory).
        path: PathBuf,
        /// 1-based line at fault; 0 when no line is.
        line: usize,
        /// The column at fault: its canonical name, or an unknown name as written.
        column: Option<String>,
        /// What is wrong.
        problem: String,
    },
    /// A template file listed in a manifest cannot be used.
    #[error("{problem}{}", if *line > 0 { format!(" (listed on manifest line {line})") } else { String::new() })]
    Template {
        /// The manifest line (0 for [`from_dir`]).
        line: usize,
        /// What is wrong, naming the template file.
        problem: String,
    },
}

impl ManifestError {
    fn bad(path: &Path, line: usize, column: Option<&str>, problem: impl Into<String>) -> Self {
        ManifestError::Bad { path: path.into(), line, column: column.map(Into::into), problem: problem.into() }
    }
}

/// `line N, column NAME: `, or `line N: `, or nothing for line 0.
fn at(line: usize, column: Option<&str>) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (_, None) => format!("line {line}: "),
        // Quote a name a reader could not see the end of.
        (_, Some(c)) if c.is_empty() || c.contains(char::is_control) => format!("line {line}, column {c:?}: "),
        (_, Some(c)) => format!("line {line}, column {c}: "),
    }
}

/// The header names, in the order `read_bytes` keeps their cell numbers.
const COLUMNS: [&str; 5] = ["reference", "authority", "finger", "path", "kind"];

/// Reads the manifest at `path`.
///
/// # Errors
/// [`ManifestError::Io`] if the file cannot be read, otherwise as [`read_bytes`].
pub fn read_path(path: &Path, mode: Mode) -> Result<Vec<Entry>, ManifestError> {
    let bytes = std::fs::read(path).map_err(|source| ManifestError::Io { path: path.to_path_buf(), source })?;
    read_bytes(&bytes, path, mode)
}

/// Reads a manifest from `bytes`. `source` names it in errors, and relative
/// template paths are resolved against its directory (against the current
/// directory for a name like `<stdin>` or a `/dev/` file).
///
/// # Errors
/// [`ManifestError::Bad`] naming the first bad line and column: invalid
/// UTF-8, a missing, unknown or repeated column, a bad quote or cell count,
/// an empty required cell, a finger outside 0..=10, a kind other than
/// `person` or `trace`, or in [`Mode::Store`] a repeated (authority,
/// reference, finger).
pub fn read_bytes(bytes: &[u8], source: &Path, mode: Mode) -> Result<Vec<Entry>, ManifestError> {
    let bad = |line, column: Option<&str>, problem: &str| ManifestError::bad(source, line, column, problem);
    // `<stdin>` has no directory (its parent is ""), and neither has a pipe
    // like `/dev/fd/63`: theirs is the current directory.
    let base = source.parent().filter(|_| !source.starts_with("/dev")).unwrap_or(Path::new(""));
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut header = None;
    let mut first_lines = HashMap::new();
    let mut entries = Vec::new();
    let mut cells = Vec::new();
    let mut line = 0;
    for raw in bytes.split(|&b| b == b'\n') {
        line += 1;
        let text = std::str::from_utf8(raw).map_err(|_| bad(line, None, "not valid UTF-8 (save it as UTF-8)"))?;
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let quote = "malformed quoted cell (a quote must close the cell; write \"\" for a quote inside)";
        Cursor::new(text).next_line(&mut cells).map_err(|_| bad(line, None, quote))?;
        // The first line read is the header: which cell holds each of COLUMNS.
        let Some(slots) = header else {
            let mut slots = [None; 5];
            for (i, name) in cells.iter().enumerate() {
                let Some(slot) = COLUMNS.iter().position(|c| name.eq_ignore_ascii_case(c)) else {
                    return Err(bad(
                        line,
                        Some(name.as_ref()),
                        "unknown column (expected reference, authority, finger, path, kind)",
                    ));
                };
                if slots[slot].replace(i).is_some() {
                    return Err(bad(line, Some(name), &format!("column {} appears twice", COLUMNS[slot])));
                }
            }
            let required = if mode == Mode::Store { &[0, 1, 2, 3][..] } else { &[0, 2, 3] };
            if let Some(&missing) = required.iter().find(|&&s| slots[s].is_none()) {
                return Err(bad(line, None, &format!("missing column {}", COLUMNS[missing])));
            }
            header = Some(slots);
            continue;
        };
        let width = slots.iter().flatten().count();
        if cells.len() != width {
            return Err(bad(line, None, &format!("{} cells where the header has {width}", cells.len())));
        }
        let [reference, authority, finger, path, kind] = slots.map(|s| s.map_or("", |i: usize| cells[i].as_ref()));
        let fail = |column, problem: &str| Err(bad(line, Some(column), problem));
        let store = mode == Mode::Store;
        for (column, text, needed) in
            [("reference", reference, true), ("authority", authority, store), ("path", path, true)]
        {
            if needed && text.is_empty() {
                return fail(column, &format!("empty {column}"));
            }
        }
        let finger = match finger.parse::<i64>() {
            Ok(n @ 0..=10) => n as u8,
            Ok(n) => return fail("finger", &format!("finger position {n} is not 0..=10")),
            Err(_) => return fail("finger", &format!("finger position {finger:?} is not 0..=10")),
        };
        let kind = match kind {
            _ if slots[4].is_none() => Kind::Person,
            k if k.eq_ignore_ascii_case("person") => Kind::Person,
            k if k.eq_ignore_ascii_case("trace") => Kind::Trace,
            k => return fail("kind", &format!("kind {k:?} is neither person nor trace")),
        };
        if store {
            if let Some(first) = first_lines.insert((authority.to_string(), reference.to_string(), finger), line) {
                let problem =
                    format!("{authority:?} reference {reference:?} finger {finger} again, first on line {first}");
                return Err(bad(line, None, &problem));
            }
        }
        let (reference, authority, path) = (reference.into(), authority.into(), base.join(path));
        entries.push(Entry { reference, authority, finger, kind, path, line });
    }
    let problem = "no header line (expected reference,authority,finger,path and optionally kind)";
    header.map(|_| entries).ok_or_else(|| bad(line, None, problem))
}

/// One person entry per template file directly in `dir` (an extension
/// [`Format::of_path`] knows), sorted by file name: reference the file
/// stem, finger 0 (unknown), line 0.
///
/// # Errors
/// [`ManifestError::Io`] if the directory cannot be listed;
/// [`ManifestError::Bad`] if it holds no template file or a template's
/// name is not UTF-8.
pub fn from_dir(dir: &Path, authority: &str) -> Result<Vec<Entry>, ManifestError> {
    let io = |path: &Path, source| ManifestError::Io { path: path.to_path_buf(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        // Follows symbolic links: a link to a template counts as one.
        if Format::of_path(&path).is_some() && std::fs::metadata(&path).map_err(|e| io(&path, e))?.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(ManifestError::bad(dir, 0, None, "no template file (.xyt, .iso, .ansi, .an2k, ...)"));
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let entry = |path: PathBuf| {
        let stem = path.file_stem().and_then(|s| s.to_str());
        let reference = stem.ok_or_else(|| ManifestError::bad(&path, 0, None, "file name is not UTF-8"))?.into();
        Ok(Entry { reference, authority: authority.into(), finger: 0, kind: Kind::Person, path, line: 0 })
    };
    paths.into_iter().map(entry).collect()
}

/// The finger position 1–10 a record's position code stands for, 0 if
/// none: plain thumbs (11, 12) are the thumbs; slaps (13–15), unknown
/// (0, 18, 255) and other codes are unknown, compared with every finger.
fn rolled_position(code: u8) -> u8 {
    match code {
        1..=10 => code,
        11 => 1,
        12 => 6,
        _ => 0,
    }
}

/// The template of each entry, in order, read in parallel: the format its
/// file's extension names (or `format`); of a file with several finger
/// views, the one at the entry's finger position. An entry with finger 0
/// takes the position the record states.
///
/// # Errors
/// A bad or unreadable file, a file of no known format, and a file with
/// no view (or several and none at the entry's position), naming the
/// manifest line.
pub fn templates(entries: &[Entry], format: Option<Format>) -> Result<Vec<(u8, Template)>, ManifestError> {
    use rayon::prelude::*;
    entries
        .par_iter()
        .map(|e| {
            let bad = |problem: String| ManifestError::Template { line: e.line, problem };
            let format = format.or_else(|| Format::of_path(&e.path)).ok_or_else(|| bad(format!("{}: the extension names no template format (.xyt, .iso, .ansi, .an2k)", e.path.display())))?;
            let views = super::read_path(&e.path, format).map_err(|err| bad(err.to_string()))?;
            pick_view(views, e.finger).ok_or_else(|| bad(format!("{}: no finger view at position {}", e.path.display(), e.finger)))
        })
        .collect()
}

/// The view of a file's `views` that stands for finger position `finger`
/// (0 unknown), and the position it is searched as: a file's only view
/// whatever its position, or of several the one at `finger`; an unknown
/// `finger` takes the position the record states. `None` if no view fits.
/// What [`templates`] does per file, and the node per received template.
pub fn pick_view(views: Vec<Template>, finger: u8) -> Option<(u8, Template)> {
    let view = match views.len() {
        0 => None,
        1 => views.into_iter().next(),
        _ => views.into_iter().find(|v| rolled_position(v.finger) == finger),
    }?;
    let position = if finger == 0 { rolled_position(view.finger) } else { finger };
    Some((position, view))
}

/// The queries of a query manifest: one per (authority, reference), in
/// order of first appearance, named by its reference, with the indexes
/// of its entries (its fingers) in manifest order. Rows sharing a
/// reference are one ten-print card.
pub fn queries(entries: &[Entry]) -> Vec<(String, Vec<usize>)> {
    let mut queries: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index_of = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let at = *index_of.entry((&e.authority, &e.reference)).or_insert_with(|| {
            queries.push((e.reference.clone(), Vec::new()));
            queries.len() - 1
        });
        queries[at].1.push(i);
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(text: &str, mode: Mode) -> Result<Vec<Entry>, ManifestError> {
        read_bytes(text.as_bytes(), Path::new("cases/gallery.csv"), mode)
    }

    /// An entry as a tuple, to compare with literals.
    fn row(e: &Entry) -> (&str, &str, u8, Kind, &Path, usize) {
        (&e.reference, &e.authority, e.finger, e.kind, &e.path, e.line)
    }

    /// The line, column and message of the error of reading `bytes`.
    fn fails(bytes: &[u8], mode: Mode) -> (usize, Option<String>, String) {
        let e = read_bytes(bytes, Path::new("cases/gallery.csv"), mode).unwrap_err();
        let ManifestError::Bad { line, column, .. } = &e else { panic!("{e}") };
        (*line, column.clone(), e.to_string())
    }

    #[test]
    fn good_manifests_read_in_any_column_order() {
        let text = "\u{feff}# exported 2024-05-01\r\n Path , KIND,finger, Reference ,Authority\r\n\r\n\
                    P-1/ri.iso,person,2,P-1,DE-BKA\n  # a comment\n\
                    \"/t/t 7.xyt\" , Trace , 0 ,\"T \"\"7\"\"\",\"DE,BKA\"\n\
                    P-1/li.iso,PERSON,7,P-1,DE-BKA";
        let want = [
            ("P-1", "DE-BKA", 2, Kind::Person, Path::new("cases/P-1/ri.iso"), 4),
            ("T \"7\"", "DE,BKA", 0, Kind::Trace, Path::new("/t/t 7.xyt"), 6),
            ("P-1", "DE-BKA", 7, Kind::Person, Path::new("cases/P-1/li.iso"), 7),
        ];
        assert_eq!(read(text, Mode::Store).unwrap().iter().map(row).collect::<Vec<_>>(), want);
        // Queries may leave out authority and kind; paths resolve against the manifest.
        let entries = read("reference,finger,path\nQ1,10,q1.xyt\n", Mode::Query).unwrap();
        assert_eq!((entries[0].authority.as_str(), entries[0].kind), ("", Kind::Person));
        assert_eq!(read("reference,authority,finger,path\nQ1,,0,q\n", Mode::Query).unwrap()[0].authority, "");
        let text = "reference,authority,finger,path\nR,A,1,a/b.iso\nS,A,1,/abs/c.iso\n";
        for (source, base) in [("/data/m.csv", "/data/"), ("m.csv", ""), ("<stdin>", ""), ("/dev/fd/63", "")] {
            let entries = read_bytes(text.as_bytes(), Path::new(source), Mode::Store).unwrap();
            let paths: Vec<_> = entries.iter().map(|e| e.path.to_str().unwrap()).collect();
            assert_eq!(paths, [&format!("{base}a/b.iso"), "/abs/c.iso"], "read from {source}");
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        const H: &str = "reference,authority,finger,path\n";
        const K: &str = "reference,authority,finger,path,kind\n";
        let cases: &[(&str, Mode, usize, Option<&str>)] = &[
            ("", Mode::Query, 1, None),
            ("# only a comment\n\n", Mode::Query, 3, None),
            ("reference,authority,finger,path,Hand\n", Mode::Query, 1, Some("Hand")),
            ("reference,authority,finger,path,Finger\n", Mode::Query, 1, Some("Finger")),
            ("reference,finger,path\n", Mode::Store, 1, None),
            ("reference,authority,path\n", Mode::Query, 1, None),
            (&format!("{H}R,A,11,p\n"), Mode::Store, 2, Some("finger")),
            (&format!("{H}\nR,A,-1,p\n"), Mode::Store, 3, Some("finger")),
            (&format!("{H}R,A,x,p\n"), Mode::Query, 2, Some("finger")),
            (&format!("{H}R,A,,p\n"), Mode::Query, 2, Some("finger")),
            (&format!("{H}R,A,1,\n"), Mode::Query, 2, Some("path")),
            (&format!("{H} ,A,1,p\n"), Mode::Query, 2, Some("reference")),
            (&format!("{H}R,,1,p\n"), Mode::Store, 2, Some("authority")),
            (&format!("{H}R,A,1\n"), Mode::Query, 2, None),
            (&format!("{H}R,\"A,1,p\n"), Mode::Query, 2, None),
            (&format!("{H}R,\"A\"x,1,p\n"), Mode::Query, 2, None),
            (&format!("{K}R,A,1,p,suspect\n"), Mode::Query, 2, Some("kind")),
            (&format!("{K}R,A,1,p,\n"), Mode::Query, 2, Some("kind")),
            (&format!("{H}R,A,1,a\nR,A,2,b\nR,B,1,c\n\nR,A,1,d\n"), Mode::Store, 6, None),
        ];
        for &(text, mode, line, column) in cases {
            let (l, c, message) = fails(text.as_bytes(), mode);
            assert_eq!((l, c.as_deref()), (line, column), "{text:?}: {message}");
        }
        assert_eq!(fails(b"reference,finger,path\nR,1,a\nR\xff,2,b\n", Mode::Query).0, 3);
        let message = fails(format!("{H}R,A,12,p\n").as_bytes(), Mode::Store).2;
        assert_eq!(message, "cases/gallery.csv: line 2, column finger: finger position 12 is not 0..=10");
        let message = fails(format!("{H}R,A,1,a\n\nR,A,1,b\n").as_bytes(), Mode::Store).2;
        assert!(
            message.starts_with("cases/gallery.csv: line 4: \"A\" reference \"R\" finger 1 again")
                && message.ends_with("first on line 2")
        );
        assert_eq!(read(&format!("{H}R,A,1,a\nR,A,1,b\n"), Mode::Query).unwrap().len(), 2);
    }

    #[test]
    fn rows_sharing_authority_and_reference_are_one_query() {
        let entries = read("reference,authority,finger,path\nC,,1,a\nL,,0,b\nC,,2,c\nC,X,1,d\n", Mode::Query).unwrap();
        let got = queries(&entries);
        assert_eq!(got, [("C".to_string(), vec![0, 2]), ("L".to_string(), vec![1]), ("C".to_string(), vec![3])]);
    }

    #[test]
    fn a_view_is_picked_by_position() {
        let view = |finger| Template { finger, ..Template::default() };
        assert_eq!(pick_view(vec![view(3)], 0).map(|v| v.0), Some(3), "an unknown position takes the record's");
        assert_eq!(pick_view(vec![view(3)], 7).map(|v| v.0), Some(7), "a file's only view is the finger named");
        assert_eq!(pick_view(vec![view(3), view(12)], 6).map(|v| (v.0, v.1.finger)), Some((6, 12)), "a plain thumb is a thumb");
        assert_eq!(pick_view(vec![view(3), view(4)], 5), None);
        assert_eq!(pick_view(Vec::new(), 0), None);
    }

    #[test]
    fn record_positions_map_to_fingers_or_unknown() {
        assert_eq!((1..=10).map(rolled_position).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
        assert_eq!([11, 12].map(rolled_position), [1, 6]);
        for code in [0, 13, 14, 15, 18, 255] {
            assert_eq!(rolled_position(code), 0, "{code}");
        }
    }

    #[test]
    fn a_directory_of_templates_is_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.ISO", "a.xyt", "notes.txt", "c.eft"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.xyt")).unwrap();
        let entries = from_dir(dir.path(), "DE-BKA").unwrap();
        let got: Vec<_> = entries.iter().map(row).collect();
        let paths = ["a.xyt", "b.ISO", "c.eft"].map(|n| dir.path().join(n));
        let want: Vec<_> =
            paths.iter().zip(["a", "b", "c"]).map(|(p, r)| (r, "DE-BKA", 0, Kind::Person, &**p, 0)).collect();
        assert_eq!(got, want);
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(matches!(from_dir(&empty, "A"), Err(ManifestError::Bad { line: 0, .. })));
        assert!(matches!(from_dir(&dir.path().join("missing"), "A"), Err(ManifestError::Io { .. })));
        // read_path: a missing file, then a manifest beside its templates.
        let manifest = dir.path().join("m.csv");
        assert!(matches!(read_path(&manifest, Mode::Query), Err(ManifestError::Io { .. })));
        std::fs::write(&manifest, "reference,finger,path\nR,3,a.xyt\n").unwrap();
        assert_eq!(read_path(&manifest, Mode::Query).unwrap()[0].path, dir.path().join("a.xyt"));
    }

    proptest! {
        #[test]
        fn no_bytes_make_the_reader_panic(
            header in any::<bool>(),
            body in prop::collection::vec(
                prop_oneof![any::<u8>(), prop::sample::select(b"R07,\"#\r\n -".to_vec())],
                0..400,
            ),
        ) {
            let head: &[u8] = if header { b"reference,authority,finger,path,kind\n" } else { b"" };
            for mode in [Mode::Store, Mode::Query] {
                let _ = read_bytes(&[head, &body].concat(), Path::new("fuzz.csv"), mode);
            }
        }
    }
}
