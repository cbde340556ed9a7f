//! Information demands after a hit (SPEC section 6, "Information demand"):
//! checking them, moving them through their states under the two 12-hour
//! deadlines, and keeping them in an embedded SQLite database.
//!
//! A demand arrives as a [`DemandForm`](crate::message::demand::DemandForm)
//! and is checked field by field ([`validate`]). It then moves through the
//! states of [`DemandStatus`] by the steps that [`machine`] allows, and no
//! other; the deadlines are computed there from the node's
//! [`Clock`](crate::clock::Clock). [`DemandStore`] keeps every demand and
//! every step of its history in one SQLite file, each step in its own
//! transaction, so a restart finds them as they were.
//!
//! ```text
//!  from                    step                       to
//!  (new)                   create                     received                (reply due in 12 h)
//!  received, authorised    submit_for_authorisation   awaiting_authorisation  (decision due in 12 h)
//!  awaiting_authorisation  authorise: granted         authorised              (reply due 12 h after grant)
//!  awaiting_authorisation  authorise: denied          refused                 (final)
//!  received, authorised    answer: data               answered                (final)
//!  received, authorised    answer: refusal            refused                 (final)
//!  received, authorised    answer: forward            forwarded               (final)
//! ```
//!
//! Any other step is refused ([`DemandError::IllegalTransition`]). A demand
//! is overdue when the deadline of its state has passed without the step.
//!
//! Data released for use as evidence needs a granted authorisation from a
//! judicial body; where national law requires prior authorisation
//! ([`Policy`]), no data leaves before some authorisation is granted.
//!
//! A demand may reach the node through the national contact point when the
//! requester could not reach the designated authority's node (SPEC
//! "Fallback"); the store records who it came from
//! ([`Demand::received_from`](crate::message::demand::Demand::received_from))
//! and treats it like any other.
//!
//! Calls block on SQLite: an async server runs them on a blocking thread.

pub mod machine;
mod store;
pub mod validate;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::message::demand::DemandStatus;

pub use machine::Step;
pub use store::{is_id, DemandStore};
pub use validate::{FieldError, InvalidInput};

/// The designated authority's time to reply, and the authorising body's time
/// to decide: 12 hours each.
pub const DEADLINE_MS: u64 = 12 * 60 * 60 * 1000;

/// How many demands a list returns when the filter does not say.
pub const DEFAULT_LIST_LIMIT: u32 = 100;

/// The most demands one list returns.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// What national law asks of the node's country.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// National law requires prior authorisation before any data is released:
    /// the designated authority may still refuse or forward at once, but data
    /// leaves only from the `authorised` state.
    pub prior_authorisation_required: bool,
}

/// Why a demand operation failed. [`DemandError::http_status`] says how the
/// node's HTTP service reports each.
#[derive(Debug, thiserror::Error)]
pub enum DemandError {
    /// The body is not JSON, or not the message's shape (a missing field, an
    /// unknown field, an unknown category).
    #[error("malformed JSON: {message}")]
    MalformedJson {
        /// Line of the fault (1-based; 0 when unknown).
        line: usize,
        /// Column of the fault (1-based; 0 when unknown).
        column: usize,
        /// What is wrong, as the JSON parser says it.
        message: String,
    },
    /// Well-formed, but some fields are not acceptable.
    #[error("{0}")]
    Invalid(InvalidInput),
    /// No demand has this id.
    #[error("no demand with id `{id}`")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The step is not allowed from the demand's status.
    #[error("demand `{id}` is {from}: it cannot be {step}")]
    IllegalTransition {
        /// The demand.
        id: String,
        /// Its status.
        from: DemandStatus,
        /// The step refused.
        step: Step,
    },
    /// The actor may not take this step: only the designated authority
    /// submits and replies, only the authorising body a demand awaits decides.
    #[error("demand `{id}`: {actor} may not {step}: {reason}")]
    NotPermitted {
        /// The demand.
        id: String,
        /// Who tried.
        actor: String,
        /// The step refused.
        step: Step,
        /// Who may.
        reason: String,
    },
    /// Data released for use as evidence without a granted judicial
    /// authorisation.
    #[error(
        "demand `{id}`: data can be released for use as evidence only after a judicial \
         authorisation is granted, and none is recorded"
    )]
    EvidenceWithoutJudicialAuthorisation {
        /// The demand.
        id: String,
    },
    /// Data released where national law requires prior authorisation and none
    /// is granted.
    #[error(
        "demand `{id}`: national law requires prior authorisation before data is released; \
         submit it for authorisation first"
    )]
    AuthorisationRequired {
        /// The demand.
        id: String,
    },
    /// The file is not a demand database, or is damaged.
    #[error("{}: not a demand database, or damaged: {reason}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// The database was written by a newer version of the node.
    #[error(
        "{}: demand database schema version {found}, this build reads up to {supported}",
        path.display()
    )]
    UnsupportedSchema {
        /// The database file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// SQLite failed (cannot open, disk full, locked too long).
    #[error("demand database {}: {source}", path.display())]
    Storage {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

impl DemandError {
    /// The HTTP status the node answers with: 400 malformed JSON, 422
    /// invalid fields, 404 not found, 409 a step the demand's state does not
    /// allow, 500 storage faults.
    pub fn http_status(&self) -> u16 {
        match self {
            DemandError::MalformedJson { .. } => 400,
            DemandError::Invalid(_) => 422,
            DemandError::NotFound { .. } => 404,
            DemandError::NotPermitted { .. } => 403,
            DemandError::IllegalTransition { .. }
            | DemandError::EvidenceWithoutJudicialAuthorisation { .. }
            | DemandError::AuthorisationRequired { .. } => 409,
            DemandError::Corrupt { .. }
            | DemandError::UnsupportedSchema { .. }
            | DemandError::Storage { .. } => 500,
        }
    }

    /// The `code` of the JSON error body (`{"error": {"code": ..., "message": ...}}`).
    pub fn code(&self) -> &'static str {
        match self {
            DemandError::MalformedJson { .. } => "malformed_json",
            DemandError::Invalid(_) => "invalid_input",
            DemandError::NotFound { .. } => "not_found",
            DemandError::NotPermitted { .. } => "forbidden",
            DemandError::IllegalTransition { .. } => "illegal_transition",
            DemandError::EvidenceWithoutJudicialAuthorisation { .. } => {
                "evidence_without_judicial_authorisation"
            }
            DemandError::AuthorisationRequired { .. } => "authorisation_required",
            DemandError::Corrupt { .. } => "storage_corrupt",
            DemandError::UnsupportedSchema { .. } => "storage_unsupported_schema",
            DemandError::Storage { .. } => "storage",
        }
    }
}

impl From<InvalidInput> for DemandError {
    fn from(e: InvalidInput) -> DemandError {
        DemandError::Invalid(e)
    }
}

/// Reads one of the demand messages from a request body, with the fault's
/// line and column when it is not one.
///
/// # Errors
///
/// [`DemandError::MalformedJson`] for anything serde rejects: bad JSON, a
/// missing or unknown field, a wrong type, an unknown category or status.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DemandError> {
    serde_json::from_slice(body).map_err(|e| DemandError::MalformedJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}
