//! The crate's error type: every variant names the file (and, for bad
//! content, the line and column) so that a broken data file is found fast.

use std::path::PathBuf;

/// Errors of loading datasets or configuring a generator.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A cell could not be read.
    #[error("{}:{line}: column {column} ({name}): {message}", path.display())]
    Cell {
        /// The file.
        path: PathBuf,
        /// Line number, from 1 (the header is line 1).
        line: usize,
        /// Column number, from 1.
        column: usize,
        /// Column name from the header.
        name: String,
        /// What is wrong with the cell.
        message: String,
    },
    /// A line as a whole is wrong (missing header columns, wrong number of
    /// fields).
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// The population asked for is not in the table.
    #[error("{}: no population {population:?}; available: {}", path.display(), available.join(", "))]
    UnknownPopulation {
        /// The table.
        path: PathBuf,
        /// The population asked for.
        population: String,
        /// The populations the table offers.
        available: Vec<String>,
    },
    /// A frequency table lacks a locus of the European Standard Set, which
    /// every generated profile needs.
    #[error(
        "{table}: no usable allele frequencies at {locus}, a locus of the European Standard Set"
    )]
    MissingLocus {
        /// The table (file and population).
        table: String,
        /// The missing locus.
        locus: &'static str,
    },
    /// The name of a frequency source is not known.
    #[error("unknown allele frequency source {0:?} (expected nist1036, uk-dna17 or fbi2015)")]
    UnknownSource(String),
    /// The shared datasets directory was not found.
    #[error("{0}")]
    SharedDatasetsNotFound(String),
    /// A generator configuration is out of range.
    #[error("invalid synthetic data configuration: {0}")]
    InvalidConfig(String),
}

impl DatasetError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DatasetError {
        DatasetError::Io {
            path: path.into(),
            source,
        }
    }
}
