//! The error of reading a DNA CSV: always the file, and for bad content the
//! line and, when there is one, the column, so a laboratory can fix the row.

use std::fmt;
use std::path::PathBuf;

use hitdex_engine::dna::ProfileError;

use crate::AlleleParseError;

/// Why a DNA CSV file cannot be read.
///
/// Displayed as `file:line: column NAME: problem` (or `file:line: problem`
/// when no single column is at fault, or `file: io error`).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The content is not a valid DNA CSV.
    #[error("{}:{line}: {}{problem}", path.display(), ColumnPrefix(column.as_deref()))]
    Invalid {
        /// The file (or the display name given to `read_bytes`).
        path: PathBuf,
        /// 1-based line number; the header is line 1.
        line: usize,
        /// The header name of the offending column, as written in the file.
        column: Option<String>,
        /// What is wrong.
        problem: Box<Problem>,
    },
}

impl CsvError {
    /// The 1-based line at fault, unless the file could not be read at all.
    pub fn line(&self) -> Option<usize> {
        match self {
            CsvError::Io { .. } => None,
            CsvError::Invalid { line, .. } => Some(*line),
        }
    }

    /// The header name of the column at fault, if one is.
    pub fn column(&self) -> Option<&str> {
        match self {
            CsvError::Io { .. } => None,
            CsvError::Invalid { column, .. } => column.as_deref(),
        }
    }

    /// What is wrong with the content, unless the file could not be read.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            CsvError::Io { .. } => None,
            CsvError::Invalid { problem, .. } => Some(problem),
        }
    }
}

/// What is wrong with one line of a DNA CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// No header line.
    #[error("empty file, expected a header line (reference,authority,kind,<loci>)")]
    Empty,
    /// A header name that is neither a reference column nor a locus.
    #[error("unknown column (expected reference, authority, kind, a locus or Amelogenin)")]
    UnknownColumn,
    /// A second column for the same field or locus.
    #[error("duplicate column: {field} already comes from column {first}")]
    DuplicateColumn {
        /// The earlier header name.
        first: String,
        /// The canonical field or locus name both columns stand for.
        field: &'static str,
    },
    /// A column the mode requires is absent.
    #[error("missing column {0}")]
    MissingColumn(&'static str),
    /// A row with another number of cells than the header.
    #[error("{found} cells where the header has {expected}")]
    CellCount {
        /// Cells in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// A quoted cell without its closing quote, or with text after it.
    #[error("malformed quoted cell (a quote must close the cell; write \"\" for a quote inside)")]
    Quote,
    /// The line is not valid UTF-8.
    #[error("not valid UTF-8 (save the file as UTF-8; a Latin-1 or Windows-1252 export must be converted)")]
    InvalidUtf8,
    /// The file starts with a UTF-16 byte-order mark.
    #[error("the file is UTF-16; save it as UTF-8")]
    Utf16,
    /// An allele that is malformed or impossible at its locus.
    #[error(transparent)]
    Allele(#[from] AlleleParseError),
    /// An empty reference.
    #[error("empty reference")]
    EmptyReference,
    /// An empty authority in a file of profiles to store.
    #[error("empty authority")]
    EmptyAuthority,
    /// A kind other than `person` or `trace`.
    #[error("kind {0:?} is neither person nor trace")]
    BadKind(String),
    /// Too few typed loci for a stored profile.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The same (authority, reference) twice in a file of profiles to store.
    #[error(
        "duplicate reference {reference:?} of authority {authority:?}, first on line {first_line}"
    )]
    DuplicateReference {
        /// The authority.
        authority: String,
        /// The reference.
        reference: String,
        /// The line of the first occurrence.
        first_line: usize,
    },
}

/// `column NAME: `, or nothing.
struct ColumnPrefix<'a>(Option<&'a str>);

impl fmt::Display for ColumnPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            // Quote names a reader could not see the end of.
            Some(name) if name.is_empty() || name.chars().any(char::is_control) => {
                write!(f, "column {name:?}: ")
            }
            Some(name) => write!(f, "column {name}: "),
            None => Ok(()),
        }
    }
}
