//! The plain comma-separated tables of `shared/datasets`: a header line, no
//! quoting. Just enough to read them with line numbers for error messages.

use std::path::{Path, PathBuf};

use crate::DatasetError;

/// A table read whole into memory (the files are small).
pub(crate) struct Table {
    pub path: PathBuf,
    text: String,
    /// Header names, trimmed.
    pub header: Vec<String>,
}

impl Table {
    /// Reads `path` and its header line.
    pub fn read(path: &Path) -> Result<Table, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::io(path, e))?;
        let header = text
            .lines()
            .next()
            .filter(|l| !l.trim().is_empty())
            .ok_or_else(|| DatasetError::Line {
                path: path.to_path_buf(),
                line: 1,
                message: "empty file, expected a header line".into(),
            })?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        Ok(Table {
            path: path.to_path_buf(),
            text,
            header,
        })
    }

    /// The index of the header column `name`, if any.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// The index of the header column `name`.
    pub fn require(&self, name: &str) -> Result<usize, DatasetError> {
        self.column(name).ok_or_else(|| DatasetError::Line {
            path: self.path.clone(),
            line: 1,
            message: format!(
                "no column {name:?} in the header ({})",
                self.header.join(",")
            ),
        })
    }

    /// The data rows: line number (from 1) and fields, trimmed. Blank lines
    /// are skipped; a row with another number of fields than the header is
    /// an error.
    pub fn rows(&self) -> impl Iterator<Item = Result<Row<'_>, DatasetError>> + '_ {
        self.text
            .lines()
            .enumerate()
            .skip(1)
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let fields: Vec<&str> = l.split(',').map(str::trim).collect();
                if fields.len() != self.header.len() {
                    return Err(DatasetError::Line {
                        path: self.path.clone(),
                        line: i + 1,
                        message: format!(
                            "{} fields where the header has {}",
                            fields.len(),
                            self.header.len()
                        ),
                    });
                }
                Ok(Row {
                    table: self,
                    line: i + 1,
                    fields,
                })
            })
    }
}

/// One data row of a [`Table`].
pub(crate) struct Row<'a> {
    table: &'a Table,
    /// Line number, from 1.
    pub line: usize,
    pub fields: Vec<&'a str>,
}

impl Row<'_> {
    /// The error "column `column` of this row: `message`".
    pub fn error(&self, column: usize, message: impl Into<String>) -> DatasetError {
        DatasetError::Cell {
            path: self.table.path.clone(),
            line: self.line,
            column: column + 1,
            name: self.table.header[column].clone(),
            message: message.into(),
        }
    }

    /// The cell of column `column` as a finite, non-negative number.
    pub fn number(&self, column: usize) -> Result<f64, DatasetError> {
        let text = self.fields[column];
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(self.error(column, format!("{text:?} is not a non-negative number"))),
        }
    }
}
