//! The header line: which field or locus each column holds.

use std::borrow::Cow;

use hitdex_engine::dna::{Locus, AMELOGENIN};

use super::error::Problem;
use super::Mode;

/// What one column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Reference,
    Authority,
    Kind,
    Locus(Locus),
    Amelogenin,
}

impl Column {
    /// The canonical name, to say which columns clash.
    fn field(self) -> &'static str {
        match self {
            Column::Reference => "reference",
            Column::Authority => "authority",
            Column::Kind => "kind",
            Column::Locus(l) => l.name(),
            Column::Amelogenin => AMELOGENIN,
        }
    }

    fn from_name(name: &str) -> Option<Column> {
        let fixed = [
            ("reference", Column::Reference),
            ("authority", Column::Authority),
            ("kind", Column::Kind),
        ];
        if let Some(&(_, c)) = fixed.iter().find(|(n, _)| name.eq_ignore_ascii_case(n)) {
            return Some(c);
        }
        if Locus::is_amelogenin(name) {
            return Some(Column::Amelogenin);
        }
        Locus::parse(name).map(Column::Locus)
    }
}

/// The parsed header: one [`Column`] and one name (as written) per cell.
#[derive(Debug)]
pub(super) struct Header {
    pub columns: Vec<Column>,
    pub names: Vec<String>,
}

impl Header {
    /// Reads the header cells.
    ///
    /// Errors carry the 0-based column at fault, if one is.
    pub fn parse(cells: &[Cow<'_, str>], mode: Mode) -> Result<Header, (Option<usize>, Problem)> {
        let mut columns: Vec<Column> = Vec::with_capacity(cells.len());
        for (i, name) in cells.iter().enumerate() {
            let column = Column::from_name(name).ok_or((Some(i), Problem::UnknownColumn))?;
            if let Some(first) = columns.iter().position(|&c| c == column) {
                let problem = Problem::DuplicateColumn {
                    first: cells[first].to_string(),
                    field: column.field(),
                };
                return Err((Some(i), problem));
            }
            columns.push(column);
        }
        let required: &[Column] = match mode {
            Mode::Store => &[Column::Reference, Column::Authority, Column::Kind],
            Mode::Query => &[Column::Reference],
        };
        if let Some(missing) = required.iter().find(|c| !columns.contains(c)) {
            return Err((None, Problem::MissingColumn(missing.field())));
        }
        Ok(Header {
            columns,
            names: cells.iter().map(|c| c.to_string()).collect(),
        })
    }
}
