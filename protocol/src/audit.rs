//! The tamper-evident audit log (SPEC section 6, "Traceability").
//!
//! Every request the node serves or refuses is appended here: who asked, for
//! what purpose and case, in which category, a digest of the query (never the
//! profile itself), every reference returned, and the outcome. The log is what
//! a supervisory authority checks ([`verify`], `hitdex audit verify`) and what
//! a person's right of access is answered from ([`subject`],
//! `hitdex audit subject`).
//!
//! # File format
//!
//! One JSON object per line (NDJSON), UTF-8, each line ending in `\n`, so an
//! auditor can read it with any tool. Every line has exactly the bytes the
//! node writes: fields in the order shown, no spaces, strings escaped as
//! `serde_json` escapes them, hashes in lowercase hex. [`verify`] rejects any
//! other spelling of the same values, so that no byte can change unnoticed.
//!
//! ```text
//! {"type":"header","format":"hitdex-audit","version":1,"created_ms":T,"key":"<node public key, base64>"}
//! {"type":"checkpoint","seq":0,"time_ms":T,"head":"<hex>","signature":"<base64>"}
//! {"type":"entry","seq":1,"time_ms":T,"prev":"<hex>","record":{...},"hash":"<hex>"}
//! ...
//! ```
//!
//! - The **header** is line 1. Its chain hash (the "hash of seq 0") is
//!   BLAKE3 in key-derivation mode, context `hitdex audit log v1 header`,
//!   over the header line without its newline.
//! - An **entry** has a sequence number (1, 2, 3, ... without gaps), the
//!   time from the node's [`Clock`], `prev` (the hash of the entry before,
//!   or of the header), the [`Record`], and `hash` = BLAKE3 in key-derivation
//!   mode, context `hitdex audit log v1 entry`, over the 32 bytes of `prev`
//!   followed by the line's bytes up to (not including) `,"hash":`. An
//!   auditor can recompute it with
//!   `b3sum --derive-key "hitdex audit log v1 entry"`, fed those 32 bytes
//!   and that prefix.
//! - An exchange whose references do not fit in one line ([`MAX_LINE`]) is
//!   logged as **parts**: consecutive entries, each with the whole record
//!   but a share of its references, in order, and
//!   `"part":{"index":k,"of":n}` between the record and the hash (covered
//!   by the hash like the rest of the line):
//!   `{"type":"entry","seq":S,"time_ms":T,"prev":"<hex>","record":{...},"part":{"index":1,"of":3},"hash":"<hex>"}`.
//!   Part 1 comes first and part `k + 1` right after part `k`, with the
//!   same record apart from the references; nothing else (no other entry,
//!   no checkpoint) stands between them. An entry without `part` is a whole
//!   exchange. Each part names its requester, purpose and case, so
//!   [`subject`] lists a part as it lists any entry.
//! - A **checkpoint** states "the chain hash after entry `seq` is `head`",
//!   signed with Ed25519 by the node key: the signed message is the bytes
//!   `hitdex audit log v1 checkpoint\n` followed by the line's bytes up to
//!   (not including) `,"signature":`. It comes right after the entry it
//!   names (seq 0: right after the header). The node writes one when the log
//!   is created, after at least every [`Options::checkpoint_every`] entries,
//!   when [`Options::checkpoint_interval_ms`] has passed since the last one
//!   and a batch is written, on [`AuditLog::checkpoint`], and on close.
//! - The **signed head** is a side file (default: the log's name with
//!   `.head` appended, e.g. `audit.log.head`) holding a copy of the latest
//!   checkpoint line. It is replaced atomically (write, sync, rename) after
//!   that checkpoint is durable in the log, so it never names more than the
//!   log holds.
//!
//! # What verification finds, and what it cannot
//!
//! [`verify`] reads the whole log with the node's public key, obtained
//! independently of the log (a key file, see [`crate::keys`]), and stops at
//! the first damage, naming the line:
//!
//! - any changed byte in any line: the line no longer parses, is no longer in
//!   the node's exact form, or its hash no longer matches its contents (or,
//!   for the header, the next entry no longer chains to it);
//! - a removed, duplicated or moved entry: sequence numbers must run 1, 2,
//!   3, ... and each `prev` must be the hash of the line before;
//! - a rewritten stretch of the log in which the forger recomputed every
//!   hash: every checkpoint after it signs the old chain hash, so the first
//!   such checkpoint no longer matches (the forger lacks the node key);
//! - a forged, changed or moved checkpoint: its signature must verify with
//!   the given key, it must follow the entry it names and name that entry's
//!   chain hash; a log whose header names another key is rejected at line 1;
//! - an unfinished last line (a write interrupted by a crash and not yet
//!   repaired by reopening the log, or a damaged end);
//! - an exchange's parts out of order, mixed with other lines, or stopping
//!   before the last part (at the end of the log: an append interrupted by
//!   a crash and not yet repaired by reopening the log);
//! - entries removed from the end, back to and including the entry the
//!   signed head names, when the head file is present: the log must hold
//!   that entry with that chain hash.
//!
//! It cannot find:
//!
//! - the removal of whole lines from the end of the log (cut at a line
//!   boundary) beyond what the signed head covers: the shortened log is
//!   itself a valid log. In particular, without a head file, or with the
//!   head file removed or replaced by an older one (someone able to write
//!   the log's directory can do both), truncation is undetectable. Keep a
//!   copy of the head elsewhere (another disk, the supervisory authority)
//!   and pass it with [`verify_with_head`] / `--head`;
//! - a rewrite, with recomputed hashes, of the entries after the last
//!   signature (checkpoint or head) that covers them: until a checkpoint is
//!   written, these entries are protected by the hash chain only, which
//!   anyone can recompute. [`Report::unsigned`] says how many there are;
//!   the node bounds them with the checkpoint count and interval;
//! - anything done by someone holding the node's signing key, and any
//!   request the node never logged.
//!
//! # Durability and concurrency
//!
//! [`AuditLog::append`] returns once its entry is on disk (`fdatasync`).
//! Appends from many threads share writes ("group commit"): while one thread
//! writes and syncs a batch, the others queue their lines, and the next
//! thread to find no write in progress writes the whole queue with one
//! `write` and one `fdatasync`. Lines are complete in memory before they are
//! written and the file is only appended to, so a crash during a write
//! leaves what was synced before intact, then a prefix of the batch:
//! complete lines (valid entries, kept, though never acknowledged) and at
//! most one unfinished line, which [`AuditLog::open`] cuts off. The parts
//! of one exchange are queued together, so they are written in one batch,
//! before any checkpoint: if a crash leaves only the first parts, `open`
//! cuts those off too (the exchange was never acknowledged, and its answer
//! never given). A complete
//! line that does not verify, wherever it is, is damage, and `open` refuses
//! the log, naming the line. (A file system that kept a later part of an
//! unsynced write but not an earlier one would show as such damage: `open`
//! reports it rather than guess.)
//!
//! `append` blocks for a disk sync. An async server instead queues entries
//! with [`AuditLog::enqueue`] and lets one thread write them
//! ([`AuditLog::sync_queued`], as [`crate::audit_writer`] does). Batches
//! form only from entries queued at the same time: the rate is about the
//! number of concurrent appenders divided by the time of one `fdatasync`. After a failed write
//! or sync (of the log, or of the head file) the log refuses further
//! appends: the state of the file's end is then unknown, and retrying
//! `fdatasync` after a failure is not safe. Reopening it repairs the end
//! and continues.
//!
//! `open` and `verify` read the whole log; the time they take grows with it.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::Clock;
use crate::keys;

/// The longest line the log holds, in bytes. [`AuditLog::append`] logs a
/// record whose references would make a longer line in parts, and readers
/// refuse longer lines rather than buffer a damaged file without end.
pub const MAX_LINE: usize = 4 << 20;

const FORMAT: &str = "hitdex-audit";
const VERSION: u32 = 1;
const HEADER_CONTEXT: &str = "hitdex audit log v1 header";
const ENTRY_CONTEXT: &str = "hitdex audit log v1 entry";
const CHECKPOINT_CONTEXT: &[u8] = b"hitdex audit log v1 checkpoint\n";
const HEADER_PREFIX: &[u8] = br#"{"type":"header","#;
const ENTRY_PREFIX: &[u8] = br#"{"type":"entry","#;
const CHECKPOINT_PREFIX: &[u8] = br#"{"type":"checkpoint","#;
/// The bytes an entry line has besides its record, with room to spare.
const ENTRY_OVERHEAD: usize = 256;
/// The most bytes of record JSON in a whole exchange's entry.
const RECORD_BUDGET: usize = MAX_LINE - ENTRY_OVERHEAD;
/// The bytes of the longest `,"part":{"index":N,"of":N}`, with room to spare.
const PART_OVERHEAD: usize = 64;
/// The most bytes of record JSON in a part's entry.
const PART_BUDGET: usize = RECORD_BUDGET - PART_OVERHEAD;

/// A BLAKE3 hash: of a query, or a chain hash of the log. Written as 64
/// lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The BLAKE3 hash of `bytes` (e.g. a request body, for
    /// [`Record::query_digest`]).
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// Parses 64 lowercase hex digits; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Digest> {
        // Only one spelling is accepted, so that a line's bytes are
        // determined by its values (see the module documentation).
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        blake3::Hash::from_hex(text).ok().map(|h| Digest(*h.as_bytes()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&blake3::Hash::from_bytes(self.0).to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(d)?;
        Digest::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 lowercase hex digits"))
    }
}

/// What the node logs about one request or answer.
///
/// Only identifiers and digests: a raw profile or template never goes into
/// the log, which is why the query is a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The requesting authority, e.g. `DE-BKA`: the claimed one for a
    /// refused request; empty when not even that is known.
    pub requester: String,
    /// The purpose stated in the request.
    pub purpose: String,
    /// The requester's case reference.
    pub case_reference: String,
    /// `dna`, `fingerprint`, `vehicle`, ... or `demand`.
    pub category: String,
    /// What was asked: `search`, `batch`, `demand`, `answer`, ...
    pub action: String,
    /// The information demand the exchange created or concerned, if any.
    /// Written only when present (`"demand":"<id>"` after `action`), so
    /// that entries logged before the field existed keep their exact bytes
    /// and still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<String>,
    /// BLAKE3 of the request body.
    pub query_digest: Digest,
    /// Every reference the request concerned: each one returned, and the one
    /// a demand or an answer is about. [`subject`] finds entries by these.
    pub references: Vec<Returned>,
    /// Answered or refused.
    pub outcome: Outcome,
}

/// A reference as the log names it: which authority holds which record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Returned {
    /// The authority holding the record, e.g. `NL-NFI`.
    pub authority: String,
    /// The record's reference number at that authority.
    pub reference: String,
}

/// How the node dealt with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// The request was answered.
    Answered {
        /// Number of hits in the answer (0 for no hit).
        hits: u32,
    },
    /// The request was refused.
    Refused {
        /// The HTTP status of the refusal.
        status: u16,
        /// The error code of the refusal body.
        code: String,
    },
}

/// Which part of an exchange an entry holds, when the exchange's
/// references did not fit in one line (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// 1 for the first part, up to `of`.
    pub index: u32,
    /// How many parts the exchange has (2 or more).
    pub of: u32,
}

/// One entry of the log, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number: 1 for the first entry, no gaps.
    pub seq: u64,
    /// When the node logged it, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Chain hash of the entry before (or of the header, for seq 1).
    pub prev: Digest,
    /// What was logged: for a part, the exchange with this part's
    /// references only.
    pub record: Record,
    /// The part of its exchange this entry holds; `None`: all of it.
    pub part: Option<Part>,
    /// This entry's chain hash.
    pub hash: Digest,
}

impl Entry {
    /// The entry's line as it stands in the log (without the newline).
    pub fn to_line(&self) -> String {
        let body = entry_body(self.seq, self.time_ms, &self.prev, &record_json(&self.record), self.part);
        entry_line(&body, &self.hash)
    }
}

/// A signed statement: "the chain hash after entry `seq` is `head`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last entry it covers (0: only the header).
    pub seq: u64,
    /// When the node signed it, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The chain hash of entry `seq`.
    pub head: Digest,
    /// Ed25519 signature by the node key (see the module documentation for
    /// the signed bytes).
    pub signature: Signature,
}

impl Checkpoint {
    fn sign(key: &SigningKey, seq: u64, time_ms: u64, head: Digest) -> Checkpoint {
        let signature = key.sign(&checkpoint_message(&checkpoint_body(seq, time_ms, &head)));
        Checkpoint { seq, time_ms, head, signature }
    }

    /// Whether the signature is the node's (strict Ed25519 verification).
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let message = checkpoint_message(&checkpoint_body(self.seq, self.time_ms, &self.head));
        key.verify_strict(&message, &self.signature).is_ok()
    }

    /// The checkpoint's line as it stands in the log and in the head file
    /// (without the newline).
    pub fn to_line(&self) -> String {
        format!(
            r#"{},"signature":"{}"}}"#,
            checkpoint_body(self.seq, self.time_ms, &self.head),
            BASE64.encode(self.signature.to_bytes())
        )
    }
}

/// What is wrong with a line of a log or with a head file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// Not JSON, or not the fields of any line type.
    Unreadable(String),
    /// The values are fine but the bytes are not those the node writes.
    NotCanonical,
    /// The first line is not a header of this format and version.
    Header(String),
    /// The header names another node key than the one verified against.
    WrongKey {
        /// The key the header names.
        found: String,
    },
    /// The entry's hash does not match its contents.
    Changed {
        /// The sequence number the entry claims.
        seq: u64,
    },
    /// Sequence numbers skip: entries before this one are missing.
    Missing {
        /// The sequence number due here.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// A sequence number repeats or goes back.
    OutOfOrder {
        /// The sequence number due here.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The entry's `prev` is not the chain hash of the entry before.
    BrokenChain {
        /// The entry's sequence number.
        seq: u64,
    },
    /// A checkpoint that does not follow the entry it names.
    MisplacedCheckpoint {
        /// The entry it names.
        seq: u64,
        /// The entry it follows.
        after: u64,
    },
    /// A checkpoint whose chain hash is not the log's at its entry.
    CheckpointMismatch {
        /// The entry it names.
        seq: u64,
    },
    /// A checkpoint whose signature is not the node key's.
    BadSignature {
        /// The entry it names.
        seq: u64,
    },
    /// The log ends before the entry the signed head names.
    Truncated {
        /// The last entry in the log.
        last_seq: u64,
        /// The entry the signed head names.
        head_seq: u64,
    },
    /// The log's chain hash at the entry the signed head names differs.
    HeadMismatch {
        /// The entry the signed head names.
        seq: u64,
    },
    /// The last line has no newline: an interrupted write.
    Unfinished {
        /// Its length in bytes.
        bytes: u64,
    },
    /// A line longer than [`MAX_LINE`].
    TooLong,
    /// An entry claims a part number no exchange can have (0, more than
    /// its count, or a count below 2).
    InvalidPart {
        /// The entry's sequence number.
        seq: u64,
        /// The part it claims to be.
        index: u32,
        /// Of how many.
        of: u32,
    },
    /// A part of an exchange that does not follow the part before it.
    StrayPart {
        /// The entry's sequence number.
        seq: u64,
        /// The part it claims to be.
        index: u32,
        /// Of how many.
        of: u32,
    },
    /// An exchange's parts stop before its last part.
    UnfinishedParts {
        /// The sequence number of its first part.
        seq: u64,
        /// The parts found.
        found: u32,
        /// Of how many.
        of: u32,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Unreadable(why) => write!(f, "not a valid log line: {why}"),
            Damage::NotCanonical => f.write_str("changed: the line is not in the exact form the node writes"),
            Damage::Header(why) => write!(f, "bad header: {why}"),
            Damage::WrongKey { found } => {
                write!(f, "the log was written with node key {found}, not with the given key")
            }
            Damage::Changed { seq } => write!(f, "entry seq {seq} was changed: its hash does not match its contents"),
            Damage::Missing { expected, found } => write!(
                f,
                "entry seq {expected} is missing (found seq {found}): entries removed or reordered"
            ),
            Damage::OutOfOrder { expected, found } => write!(
                f,
                "expected entry seq {expected}, found seq {found}: entries reordered or duplicated"
            ),
            Damage::BrokenChain { seq } => write!(
                f,
                "entry seq {seq} does not chain to the line before it (its prev hash differs): entries removed, \
                 replaced or reordered"
            ),
            Damage::MisplacedCheckpoint { seq, after } => write!(
                f,
                "checkpoint of seq {seq} stands after entry seq {after}: lines removed or moved"
            ),
            Damage::CheckpointMismatch { seq } => write!(
                f,
                "checkpoint of seq {seq} signs another chain hash than the log's: entries up to seq {seq} were \
                 rewritten"
            ),
            Damage::BadSignature { seq } => write!(
                f,
                "checkpoint of seq {seq}: the signature is not the node key's (forged or changed)"
            ),
            Damage::Truncated { last_seq, head_seq } => write!(
                f,
                "the log ends at entry seq {last_seq}, but the signed head names seq {head_seq}: entries were \
                 removed from its end"
            ),
            Damage::HeadMismatch { seq } => write!(
                f,
                "entry seq {seq} is not the one the signed head names: entries up to seq {seq} were rewritten"
            ),
            Damage::Unfinished { bytes } => write!(
                f,
                "unfinished last line ({bytes} bytes without a newline): a write interrupted by a crash (reopening \
                 the log as the node cuts it off) or a damaged end"
            ),
            Damage::TooLong => write!(f, "line longer than {MAX_LINE} bytes"),
            Damage::InvalidPart { seq, index, of } => write!(f, "entry seq {seq} claims to be part {index} of {of}: no exchange has such a part"),
            Damage::StrayPart { seq, index, of } => write!(
                f,
                "entry seq {seq} is part {index} of {of} of an exchange, but the entry before it is not part {} of the same \
                 exchange: entries removed, replaced or reordered",
                index.saturating_sub(1)
            ),
            Damage::UnfinishedParts { seq, found, of } => write!(
                f,
                "the exchange logged in {of} parts from entry seq {seq} stops after part {found}: entries removed, or (at \
                 the end of the log) an append interrupted by a crash, which reopening the log as the node cuts off"
            ),
        }
    }
}

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file could not be read, written or synced.
    #[error("{}: cannot {what}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The log is damaged or was tampered with at this line.
    #[error("{}: line {line}: {damage}", path.display())]
    Damaged {
        /// The log.
        path: PathBuf,
        /// The line, counting from 1 (one past the last line for damage at
        /// the end, such as a truncation).
        line: u64,
        /// What is wrong.
        damage: Damage,
    },
    /// The signed head file is damaged or not signed by the node key.
    #[error("{}: bad signed head: {damage}", path.display())]
    BadHead {
        /// The head file.
        path: PathBuf,
        /// What is wrong.
        damage: Damage,
    },
    /// Another [`AuditLog`] (in this or another process) has the log open.
    #[error("{}: the log is already open for writing (by this or another process)", path.display())]
    Locked {
        /// The log.
        path: PathBuf,
    },
    /// The record cannot be logged even in parts: its fields besides the
    /// references, with a single reference, make a line longer than
    /// [`MAX_LINE`].
    #[error(
        "record too large for the audit log: {bytes} bytes of JSON without its references or with just one of them \
         (at most {PART_BUDGET} fit in a line)"
    )]
    TooLarge {
        /// The size as JSON of the record without references (or with the
        /// reference that does not fit).
        bytes: usize,
    },
    /// An earlier write or sync failed; the log takes no more appends.
    #[error("{}: an earlier write failed ({cause}); the log takes no more entries until it is reopened", path.display())]
    Failed {
        /// The log.
        path: PathBuf,
        /// The earlier error.
        cause: String,
    },
}

impl AuditError {
    pub(crate) fn io(path: &Path, what: &'static str, source: io::Error) -> AuditError {
        AuditError::Io { path: path.to_path_buf(), what, source }
    }

    fn damaged(path: &Path, line: u64, damage: Damage) -> AuditError {
        AuditError::Damaged { path: path.to_path_buf(), line, damage }
    }
}

/// What a clean verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// When the log was created (header), ms since the Unix epoch.
    pub created_ms: u64,
    /// Number of entries.
    pub entries: u64,
    /// Number of checkpoint lines (all verified).
    pub checkpoints: u64,
    /// Sequence number of the last entry (0 for none).
    pub last_seq: u64,
    /// The entry the last checkpoint line covers.
    pub last_checkpoint: Option<u64>,
    /// The entry the signed head file names, when one was checked.
    pub head: Option<u64>,
    /// Entries after the last signature (checkpoint or head): protected by
    /// the hash chain only, see the module documentation.
    pub unsigned: u64,
}

/// How often the node signs checkpoints, and where its head file is.
#[derive(Debug, Clone)]
pub struct Options {
    /// A checkpoint after at least this many new entries (1 or more; 0 is
    /// taken as 1).
    pub checkpoint_every: u64,
    /// A checkpoint with the next batch written once this many milliseconds
    /// have passed since the last one; `None`: by count only. Bounds how long
    /// entries stay covered by the hash chain only while requests arrive
    /// (an idle log waits for the next append, [`AuditLog::checkpoint`] or
    /// close).
    pub checkpoint_interval_ms: Option<u64>,
    /// The signed head file; `None`: the log's path with `.head` appended.
    pub head_path: Option<PathBuf>,
}

impl Default for Options {
    /// A checkpoint every 1,000 entries or every second of traffic: at
    /// 5,000 requests per second that is five signatures and head files per
    /// second, and at most a second of entries protected by the chain alone.
    fn default() -> Options {
        Options { checkpoint_every: 1000, checkpoint_interval_ms: Some(1000), head_path: None }
    }
}

/// The default signed head file of a log: its path with `.head` appended.
pub fn default_head_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// The node's audit log, open for appending. `Send + Sync`: share it (in an
/// `Arc`) between the threads that serve requests.
pub struct AuditLog {
    path: PathBuf,
    head_path: PathBuf,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    checkpoint_every: u64,
    checkpoint_interval_ms: Option<u64>,
    /// Opened for appending and locked against other writers. Only the
    /// thread holding the writer's turn (`State::writing`) writes to it.
    file: File,
    state: Mutex<State>,
    /// Signalled whenever a batch is done (written or failed).
    done: Condvar,
    /// Signalled whenever an entry is queued.
    queued: Condvar,
}

/// What appenders share, under `AuditLog::state`.
struct State {
    /// The sequence number of the next entry.
    next_seq: u64,
    /// The chain hash of entry `next_seq - 1`.
    chain: Digest,
    /// Complete lines of entries not yet handed to a writer.
    pending: Vec<u8>,
    /// Every entry up to this one is on disk.
    durable: u64,
    /// A thread is writing a batch: the others queue.
    writing: bool,
    /// Set by a failed write; every later append is refused.
    failed: Option<String>,
    /// The entry the last checkpoint covers, and when it was signed.
    last_checkpoint: Option<(u64, u64)>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog").field("path", &self.path).field("head_path", &self.head_path).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the log at `path` with the default [`Options`]: see
    /// [`AuditLog::open_with`].
    ///
    /// # Errors
    ///
    /// As [`AuditLog::open_with`].
    pub fn open(path: &Path, key: SigningKey, clock: Arc<dyn Clock>) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, key, clock, Options::default())
    }

    /// Creates the log at `path`, or continues the one there.
    ///
    /// A new log gets its header and a first checkpoint (seq 0), and its
    /// signed head file. An existing one is read and checked whole, as
    /// [`verify`] does, with the key's public half; an unfinished last line
    /// (a crash in the middle of a write: the entry was never acknowledged)
    /// is cut off and everything before it kept, and so are the first parts
    /// of an exchange whose last part a crash kept from the disk. If the
    /// signed head file is older than the log's last checkpoint (a crash
    /// between the two), it is brought up to date.
    ///
    /// # Errors
    ///
    /// [`AuditError::Damaged`] naming the line if any complete line does not
    /// verify, if the log was written with another key, or if it ends before
    /// the entry its signed head names (a new log is not started over an
    /// old head: move the head file away first); [`AuditError::BadHead`] for
    /// a damaged or forged head file; [`AuditError::Locked`] if the log is
    /// already open for writing; [`AuditError::Io`].
    pub fn open_with(
        path: &Path,
        key: SigningKey,
        clock: Arc<dyn Clock>,
        options: Options,
    ) -> Result<AuditLog, AuditError> {
        let public = key.verifying_key();
        let head_path = options.head_path.unwrap_or_else(|| default_head_path(path));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| AuditError::io(path, "open", e))?;
        // Two writers would interleave two chains: one of them stops here.
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(AuditError::Locked { path: path.to_path_buf() }),
            Err(TryLockError::Error(e)) => return Err(AuditError::io(path, "lock", e)),
        }
        let head = read_head(&head_path, &public)?;
        let mut scanner = Scanner::new(Some(&public), head.as_ref());
        let torn = scan(path, BufReader::new(&file), &mut scanner, |_| {})?;
        if let Some(head) = &head {
            if !scanner.head_matched {
                let damage = Damage::Truncated { last_seq: scanner.last_seq, head_seq: head.seq };
                return Err(AuditError::damaged(path, scanner.lines + 1, damage));
            }
        }
        // The parts of an exchange cut short by a crash were never
        // acknowledged: cut them off with the unfinished line, if any, so
        // that the next entry does not stand in the middle of an exchange.
        // A checkpoint never stands among parts, so the signed head cannot
        // name one of them in a log the node wrote.
        if let Some(p) = &scanner.parts {
            if head.as_ref().is_some_and(|h| h.seq >= p.first_seq) {
                return Err(AuditError::damaged(path, p.line, p.unfinished()));
            }
        }
        let keep = scanner.parts.as_ref().map_or(scanner.good_len, |p| p.len_before);
        if keep < scanner.good_len + torn {
            file.set_len(keep).map_err(|e| AuditError::io(path, "cut off the unfinished end", e))?;
            file.sync_all().map_err(|e| AuditError::io(path, "sync", e))?;
        }
        let (last_seq, chain) = match &scanner.parts {
            Some(p) => (p.first_seq - 1, p.chain_before),
            None => (scanner.last_seq, scanner.chain),
        };
        let state = if scanner.header.is_none() {
            let created = clock.now_ms();
            let header = header_line(created, &public);
            let genesis = header_hash(header.as_bytes());
            let checkpoint = Checkpoint::sign(&key, 0, created, genesis);
            let checkpoint_line = checkpoint.to_line();
            (&file)
                .write_all(format!("{header}\n{checkpoint_line}\n").as_bytes())
                .map_err(|e| AuditError::io(path, "write", e))?;
            file.sync_all().map_err(|e| AuditError::io(path, "sync", e))?;
            // The new file's name must survive a crash as well as its bytes.
            sync_parent(path).map_err(|e| AuditError::io(path, "sync the directory of", e))?;
            write_head(&head_path, &checkpoint_line).map_err(|e| AuditError::io(&head_path, "write", e))?;
            State::new(0, genesis, Some((0, created)))
        } else {
            if let Some(last) = &scanner.last_checkpoint {
                if head.as_ref().is_none_or(|h| h.seq < last.seq) {
                    write_head(&head_path, &last.to_line()).map_err(|e| AuditError::io(&head_path, "write", e))?;
                }
            }
            let last_checkpoint = scanner.last_checkpoint.as_ref().map(|c| (c.seq, c.time_ms));
            State::new(last_seq, chain, last_checkpoint)
        };
        Ok(AuditLog {
            path: path.to_path_buf(),
            head_path,
            key,
            clock,
            checkpoint_every: options.checkpoint_every.max(1),
            checkpoint_interval_ms: options.checkpoint_interval_ms,
            file,
            state: Mutex::new(state),
            done: Condvar::new(),
            queued: Condvar::new(),
        })
    }

    /// Appends `record` and returns its sequence number once the entry is on
    /// disk. Blocks for a disk sync, shared with concurrent appends.
    ///
    /// A record whose references do not fit in one line is appended as
    /// consecutive parts (see the module documentation), all on disk on
    /// return; the number returned is the first part's.
    ///
    /// # Errors
    ///
    /// [`AuditError::TooLarge`] for a record that cannot be split into
    /// lines; [`AuditError::Io`] if writing or syncing its batch failed, and
    /// [`AuditError::Failed`] for every append after that (reopen the log).
    pub fn append(&self, record: &Record) -> Result<u64, AuditError> {
        let queued = self.enqueue(record)?;
        self.sync_through(*queued.end())?;
        Ok(*queued.start())
    }

    /// Queues `record`'s entry (or its parts) and returns their sequence
    /// numbers at once; they are on disk once [`AuditLog::sync_through`]
    /// (or [`AuditLog::sync_queued`]) has covered the last. For callers
    /// that must not block (an async server, with a writer thread calling
    /// `sync_queued`).
    ///
    /// # Errors
    ///
    /// [`AuditError::TooLarge`]; [`AuditError::Failed`] after a failed write.
    pub fn enqueue(&self, record: &Record) -> Result<std::ops::RangeInclusive<u64>, AuditError> {
        let entries = split(record)?;
        let mut state = self.lock();
        if let Some(cause) = &state.failed {
            return Err(self.failed(cause));
        }
        let first = state.next_seq;
        // Read under the lock so that times follow sequence numbers as the
        // clock does.
        let time_ms = self.clock.now_ms();
        // An exchange's parts are queued together, so that one batch writes
        // them all, next to each other and before any checkpoint.
        for (json, part) in &entries {
            let body = entry_body(state.next_seq, time_ms, &state.chain, json, *part);
            let hash = entry_hash(&state.chain, body.as_bytes());
            let line = entry_line(&body, &hash);
            state.pending.extend_from_slice(line.as_bytes());
            state.pending.push(b'\n');
            state.chain = hash;
            state.next_seq += 1;
        }
        self.queued.notify_one();
        Ok(first..=state.next_seq - 1)
    }

    /// Returns once every entry up to `seq` is on disk, writing the queue
    /// itself if no other thread is writing.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] if the batch holding `seq` failed;
    /// [`AuditError::Failed`] after an earlier failure.
    pub fn sync_through(&self, seq: u64) -> Result<(), AuditError> {
        let mut state = self.lock();
        loop {
            if state.durable >= seq {
                return Ok(());
            }
            if let Some(cause) = &state.failed {
                return Err(self.failed(cause));
            }
            if !state.writing {
                // Our line is queued and nobody is writing: write the queue.
                let (next, result) = self.write_batch(state, false);
                state = next;
                if let Err(e) = result {
                    if state.durable < seq {
                        return Err(e);
                    }
                }
                continue;
            }
            state = self.done.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Waits up to `idle` for entries after `published` (unless there are
    /// some already), writes every queued entry (as
    /// [`AuditLog::sync_through`]) and returns the sequence number through
    /// which entries are on disk: the loop of a writer thread, which passes
    /// the number it last reported. Entries another thread wrote meanwhile
    /// count too, so no waiter misses them.
    ///
    /// # Errors
    ///
    /// As [`AuditLog::sync_through`].
    pub fn sync_queued(&self, published: u64, idle: std::time::Duration) -> Result<u64, AuditError> {
        let mut state = self.lock();
        if state.next_seq - 1 <= published {
            state = self.queued.wait_timeout(state, idle).unwrap_or_else(PoisonError::into_inner).0;
        }
        let last = state.next_seq - 1;
        drop(state);
        self.sync_through(last)?;
        Ok(self.lock().durable)
    }

    /// Signs a checkpoint of every entry appended so far, durable with them
    /// on return (together with the head file). Does nothing if the last
    /// checkpoint already covers the last entry.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] if the write, the sync or the head file failed;
    /// [`AuditError::Failed`] after an earlier failure.
    pub fn checkpoint(&self) -> Result<(), AuditError> {
        let mut state = self.lock();
        while state.writing {
            state = self.done.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if let Some(cause) = &state.failed {
            return Err(self.failed(cause));
        }
        if state.last_checkpoint.is_some_and(|(seq, _)| seq == state.next_seq - 1) {
            return Ok(());
        }
        self.write_batch(state, true).1
    }

    /// Signs a last checkpoint and closes the log, reporting what dropping
    /// it would have to swallow.
    ///
    /// # Errors
    ///
    /// As [`AuditLog::checkpoint`].
    pub fn close(self) -> Result<(), AuditError> {
        self.checkpoint()
        // Drop then finds nothing left to sign.
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The signed head file's path.
    pub fn head_path(&self) -> &Path {
        &self.head_path
    }

    /// The sequence number of the last entry appended (0 for none); it may
    /// still be on its way to the disk.
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is changed only in short sections that do not panic, so
        // a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, cause: &str) -> AuditError {
        AuditError::Failed { path: self.path.clone(), cause: cause.to_string() }
    }

    /// Takes the writer's turn: writes and syncs every queued line, with a
    /// checkpoint after them when one is due (or `force`d), then the head
    /// file, and wakes the waiting appenders. Returns the lock again.
    fn write_batch<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        force: bool,
    ) -> (MutexGuard<'a, State>, Result<(), AuditError>) {
        state.writing = true;
        let mut batch = std::mem::take(&mut state.pending);
        let through = state.next_seq - 1;
        let head = state.chain;
        let now = self.clock.now_ms();
        let (covered, signed_ms) = state.last_checkpoint.unwrap_or((0, 0));
        let due = state.last_checkpoint.is_none()
            || (through > covered
                && (force
                    || through - covered >= self.checkpoint_every
                    || self.checkpoint_interval_ms.is_some_and(|ms| now.saturating_sub(signed_ms) >= ms)));
        drop(state);

        // Signing (tens of microseconds) and the disk happen outside the
        // lock, so that appenders keep queueing meanwhile.
        let checkpoint_line = due.then(|| Checkpoint::sign(&self.key, through, now, head).to_line());
        if let Some(line) = &checkpoint_line {
            batch.extend_from_slice(line.as_bytes());
            batch.push(b'\n');
        }
        let written = (&self.file)
            .write_all(&batch)
            .map_err(|e| AuditError::io(&self.path, "write", e))
            .and_then(|()| self.file.sync_data().map_err(|e| AuditError::io(&self.path, "sync", e)));
        // Only once the checkpoint is durable in the log may the head name
        // it: the head must never be ahead of the log.
        let headed = match (&written, &checkpoint_line) {
            (Ok(()), Some(line)) => {
                write_head(&self.head_path, line).map_err(|e| AuditError::io(&self.head_path, "write", e))
            }
            _ => Ok(()),
        };

        let mut state = self.lock();
        state.writing = false;
        if written.is_ok() {
            state.durable = through;
            if due {
                state.last_checkpoint = Some((through, now));
            }
        }
        let result = written.and(headed);
        if let Err(e) = &result {
            state.failed = Some(e.to_string());
        }
        self.done.notify_all();
        (state, result)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // A writer that panicked left its turn taken; waiting for it would
        // hang.
        if self.state.get_mut().unwrap_or_else(PoisonError::into_inner).writing {
            return;
        }
        // A last checkpoint, so that the head file covers every entry. Drop
        // cannot report a failure; `close` does.
        let _ = self.checkpoint();
    }
}

impl State {
    fn new(last_seq: u64, chain: Digest, last_checkpoint: Option<(u64, u64)>) -> State {
        State {
            next_seq: last_seq + 1,
            chain,
            pending: Vec::new(),
            durable: last_seq,
            writing: false,
            failed: None,
            last_checkpoint,
        }
    }
}

/// Checks the log at `path` against the node's public key, and its signed
/// head file at the default place ([`default_head_path`]) if there is one.
///
/// Works on a log the node is writing, except that an append caught half
/// written shows as an unfinished last line: check again.
///
/// # Errors
///
/// [`AuditError::Damaged`] naming the first damaged line and what is wrong
/// (see the module documentation for what is found);
/// [`AuditError::BadHead`] for a damaged or forged head file;
/// [`AuditError::Io`].
pub fn verify(path: &Path, node_key: &VerifyingKey) -> Result<Report, AuditError> {
    let head = read_head(&default_head_path(path), node_key)?;
    verify_against(path, node_key, head)
}

/// As [`verify`], with the signed head file at `head` (e.g. a copy kept
/// elsewhere), which must exist.
///
/// # Errors
///
/// As [`verify`]; [`AuditError::Io`] if `head` cannot be read.
pub fn verify_with_head(path: &Path, node_key: &VerifyingKey, head: &Path) -> Result<Report, AuditError> {
    match read_head(head, node_key)? {
        Some(checkpoint) => verify_against(path, node_key, Some(checkpoint)),
        None => Err(AuditError::io(head, "read", io::Error::from(io::ErrorKind::NotFound))),
    }
}

fn verify_against(path: &Path, node_key: &VerifyingKey, head: Option<Checkpoint>) -> Result<Report, AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io(path, "open", e))?;
    let mut scanner = Scanner::new(Some(node_key), head.as_ref());
    let torn = scan(path, BufReader::new(file), &mut scanner, |_| {})?;
    let Some(created_ms) = scanner.header else {
        let damage = Damage::Header("no complete header line: the log is empty".to_string());
        return Err(AuditError::damaged(path, 1, damage));
    };
    if let Some(head) = &head {
        if !scanner.head_matched {
            let damage = Damage::Truncated { last_seq: scanner.last_seq, head_seq: head.seq };
            return Err(AuditError::damaged(path, scanner.lines + 1, damage));
        }
    }
    if torn > 0 {
        return Err(AuditError::damaged(path, scanner.lines + 1, Damage::Unfinished { bytes: torn }));
    }
    if let Some(p) = &scanner.parts {
        return Err(AuditError::damaged(path, p.line, p.unfinished()));
    }
    let last_checkpoint = scanner.last_checkpoint.as_ref().map(|c| c.seq);
    let signed = last_checkpoint.max(head.as_ref().map(|h| h.seq)).unwrap_or(0);
    Ok(Report {
        created_ms,
        entries: scanner.entries,
        checkpoints: scanner.checkpoints,
        last_seq: scanner.last_seq,
        last_checkpoint,
        head: head.as_ref().map(|h| h.seq),
        unsigned: scanner.last_seq - signed,
    })
}

/// Every entry of the log at `path` whose [`Record::references`] name
/// `reference` (exactly), in log order: what a data subject's right of
/// access is answered from.
///
/// Each entry read is checked against its hash and the chain, but not
/// against the node's signatures (no key is needed): run [`verify`] for
/// those. An unfinished last line (a write in progress) is not an entry and
/// is skipped, and so are the parts of an exchange whose last part is not
/// in the log yet. An exchange logged in parts is listed by the parts that
/// name `reference` (each part names the requester, purpose and case).
///
/// # Errors
///
/// [`AuditError::Damaged`] naming the first damaged line;
/// [`AuditError::Io`].
pub fn subject(path: &Path, reference: &str) -> Result<Vec<Entry>, AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io(path, "open", e))?;
    let mut scanner = Scanner::new(None, None);
    let mut found = Vec::new();
    // Parts of an exchange are listed once its last part is read: before,
    // it is an append in progress (or cut short by a crash).
    let mut held = Vec::new();
    scan(path, BufReader::new(file), &mut scanner, |entry| {
        let last_part = entry.part.is_none_or(|p| p.index == p.of);
        if entry.record.references.iter().any(|r| r.reference == reference) {
            held.push(entry);
        }
        if last_part {
            found.append(&mut held);
        }
    })?;
    if scanner.header.is_none() {
        let damage = Damage::Header("no complete header line: the log is empty".to_string());
        return Err(AuditError::damaged(path, 1, damage));
    }
    Ok(found)
}

/// The line-by-line check shared by [`AuditLog::open`], [`verify`] and
/// [`subject`].
struct Scanner<'a> {
    /// Checkpoint signatures are checked only with a key.
    key: Option<&'a VerifyingKey>,
    head: Option<&'a Checkpoint>,
    lines: u64,
    /// Bytes of the complete lines read.
    good_len: u64,
    /// The header's `created_ms`, once read.
    header: Option<u64>,
    entries: u64,
    checkpoints: u64,
    last_seq: u64,
    /// The chain hash of `last_seq`.
    chain: Digest,
    last_checkpoint: Option<Checkpoint>,
    /// The head's entry was found with the head's chain hash.
    head_matched: bool,
    /// The exchange whose parts are being read, until its last part.
    parts: Option<Parts>,
}

/// An exchange logged in parts, as far as it has been read.
struct Parts {
    /// Its first part's sequence number and line.
    first_seq: u64,
    line: u64,
    /// Parts read so far, of how many.
    found: u32,
    of: u32,
    /// Its record without references, which every part repeats.
    exchange: Record,
    /// The log before its first part: bytes, and the chain hash.
    len_before: u64,
    chain_before: Digest,
}

impl Parts {
    fn unfinished(&self) -> Damage {
        Damage::UnfinishedParts { seq: self.first_seq, found: self.found, of: self.of }
    }
}

impl<'a> Scanner<'a> {
    fn new(key: Option<&'a VerifyingKey>, head: Option<&'a Checkpoint>) -> Scanner<'a> {
        Scanner {
            key,
            head,
            lines: 0,
            good_len: 0,
            header: None,
            entries: 0,
            checkpoints: 0,
            last_seq: 0,
            chain: Digest::default(),
            last_checkpoint: None,
            head_matched: false,
            parts: None,
        }
    }

    /// Checks one complete line (without its newline); an entry is returned.
    fn line(&mut self, line: &[u8]) -> Result<Option<Entry>, Damage> {
        self.lines += 1;
        if self.lines == 1 {
            self.header_line(line)?;
            Ok(None)
        } else if line.starts_with(ENTRY_PREFIX) {
            self.entry_line(line).map(Some)
        } else if line.starts_with(CHECKPOINT_PREFIX) {
            self.checkpoint_line(line)?;
            Ok(None)
        } else {
            Err(match serde_json::from_slice::<serde_json::Value>(line) {
                Err(e) => unreadable(&e),
                Ok(_) if line.starts_with(HEADER_PREFIX) => Damage::Unreadable("a second header".to_string()),
                Ok(_) => Damage::Unreadable("neither an entry nor a checkpoint".to_string()),
            })
        }
    }

    fn header_line(&mut self, line: &[u8]) -> Result<(), Damage> {
        if !line.starts_with(HEADER_PREFIX) {
            return Err(Damage::Header("the first line is not the header of a Hitdex audit log".to_string()));
        }
        let header: HeaderLine = serde_json::from_slice(line).map_err(|e| unreadable(&e))?;
        if header.format != FORMAT {
            return Err(Damage::Header(format!("format {:?}, not {FORMAT:?}", header.format)));
        }
        if header.version != VERSION {
            return Err(Damage::Header(format!(
                "version {} (this program reads version {VERSION})",
                header.version
            )));
        }
        let key = keys::public_from_text(&header.key, "the header's key").map_err(|e| Damage::Header(format!("node key: {e}")))?;
        if header_line(header.created_ms, &key).as_bytes() != line {
            return Err(Damage::NotCanonical);
        }
        if self.key.is_some_and(|k| *k != key) {
            return Err(Damage::WrongKey { found: header.key });
        }
        self.chain = header_hash(line);
        self.header = Some(header.created_ms);
        self.check_head()
    }

    fn entry_line(&mut self, line: &[u8]) -> Result<Entry, Damage> {
        let e: EntryLine = serde_json::from_slice(line).map_err(|e| unreadable(&e))?;
        let body = entry_body(e.seq, e.time_ms, &e.prev, &record_json(&e.record), e.part);
        if entry_line(&body, &e.hash).as_bytes() != line {
            return Err(Damage::NotCanonical);
        }
        // The entry's own integrity first, so that a changed sequence number
        // is reported as a change, not as a gap.
        if entry_hash(&e.prev, body.as_bytes()) != e.hash {
            return Err(Damage::Changed { seq: e.seq });
        }
        let expected = self.last_seq + 1;
        if e.seq > expected {
            return Err(Damage::Missing { expected, found: e.seq });
        }
        if e.seq < expected {
            return Err(Damage::OutOfOrder { expected, found: e.seq });
        }
        if e.prev != self.chain {
            return Err(Damage::BrokenChain { seq: e.seq });
        }
        self.part(e.seq, &e.record, e.part)?;
        self.last_seq = e.seq;
        self.chain = e.hash;
        self.entries += 1;
        self.check_head()?;
        Ok(Entry { seq: e.seq, time_ms: e.time_ms, prev: e.prev, record: e.record, part: e.part, hash: e.hash })
    }

    /// Checks that entry `seq` continues the exchange being read in parts,
    /// starts one, or is whole when none is being read.
    fn part(&mut self, seq: u64, record: &Record, part: Option<Part>) -> Result<(), Damage> {
        let Some(Part { index, of }) = part else {
            return self.parts.as_ref().map_or(Ok(()), |p| Err(p.unfinished()));
        };
        if of < 2 || index == 0 || index > of {
            return Err(Damage::InvalidPart { seq, index, of });
        }
        match &mut self.parts {
            None if index == 1 => {
                self.parts = Some(Parts {
                    first_seq: seq,
                    line: self.lines,
                    found: 1,
                    of,
                    exchange: exchange_of(record),
                    len_before: self.good_len,
                    chain_before: self.chain,
                });
                Ok(())
            }
            Some(p) if index == 1 => Err(p.unfinished()),
            Some(p) if p.of == of && p.found + 1 == index && p.exchange == exchange_of(record) => {
                p.found = index;
                if index == of {
                    self.parts = None;
                }
                Ok(())
            }
            _ => Err(Damage::StrayPart { seq, index, of }),
        }
    }

    fn checkpoint_line(&mut self, line: &[u8]) -> Result<(), Damage> {
        if let Some(p) = &self.parts {
            return Err(p.unfinished());
        }
        let checkpoint = parse_checkpoint(line)?;
        if checkpoint.seq != self.last_seq {
            return Err(Damage::MisplacedCheckpoint { seq: checkpoint.seq, after: self.last_seq });
        }
        if checkpoint.head != self.chain {
            return Err(Damage::CheckpointMismatch { seq: checkpoint.seq });
        }
        if self.key.is_some_and(|k| !checkpoint.is_signed_by(k)) {
            return Err(Damage::BadSignature { seq: checkpoint.seq });
        }
        self.checkpoints += 1;
        self.last_checkpoint = Some(checkpoint);
        Ok(())
    }

    /// Compares the chain hash just reached with the signed head's.
    fn check_head(&mut self) -> Result<(), Damage> {
        if let Some(head) = self.head {
            if head.seq == self.last_seq {
                if head.head != self.chain {
                    return Err(Damage::HeadMismatch { seq: head.seq });
                }
                self.head_matched = true;
            }
        }
        Ok(())
    }
}

/// Feeds every complete line of `reader` to `scanner`, and every entry to
/// `visit`. Returns the length of an unfinished last line (0 if none).
fn scan(
    path: &Path,
    mut reader: impl BufRead,
    scanner: &mut Scanner<'_>,
    mut visit: impl FnMut(Entry),
) -> Result<u64, AuditError> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| AuditError::io(path, "read", e))?;
        if n == 0 {
            return Ok(0);
        }
        let Some(line) = buf.strip_suffix(b"\n") else {
            if n > MAX_LINE {
                return Err(AuditError::damaged(path, scanner.lines + 1, Damage::TooLong));
            }
            // No newline before the end of the file.
            return Ok(n as u64);
        };
        match scanner.line(line) {
            Ok(Some(entry)) => visit(entry),
            Ok(None) => {}
            Err(damage) => return Err(AuditError::damaged(path, scanner.lines, damage)),
        }
        scanner.good_len += n as u64;
    }
}

/// The head file at `path` checked against the node key; `None` if there is
/// no such file.
fn read_head(path: &Path, key: &VerifyingKey) -> Result<Option<Checkpoint>, AuditError> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(f) => f.take(MAX_LINE as u64).read_to_end(&mut bytes).map_err(|e| AuditError::io(path, "read", e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::io(path, "open", e)),
    };
    let bad = |damage| AuditError::BadHead { path: path.to_path_buf(), damage };
    let line = bytes.strip_suffix(b"\n").ok_or_else(|| bad(Damage::Unfinished { bytes: bytes.len() as u64 }))?;
    if !line.starts_with(CHECKPOINT_PREFIX) {
        return Err(bad(Damage::Unreadable("not a checkpoint line".to_string())));
    }
    let checkpoint = parse_checkpoint(line).map_err(bad)?;
    if !checkpoint.is_signed_by(key) {
        return Err(bad(Damage::BadSignature { seq: checkpoint.seq }));
    }
    Ok(Some(checkpoint))
}

/// Replaces the head file atomically: a reader sees the old head or the new
/// one, never a mix.
fn write_head(path: &Path, line: &str) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()?;
    // The directory is not synced: if a crash loses the rename, the previous
    // head remains, which names an earlier point of the same chain and is
    // still true. That saves a sync per checkpoint.
    fs::rename(&tmp, path)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

fn parse_checkpoint(line: &[u8]) -> Result<Checkpoint, Damage> {
    let c: CheckpointLine = serde_json::from_slice(line).map_err(|e| unreadable(&e))?;
    let signature = BASE64
        .decode(&c.signature)
        .ok()
        .and_then(|bytes| <[u8; 64]>::try_from(bytes.as_slice()).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
        .ok_or(Damage::BadSignature { seq: c.seq })?;
    let checkpoint = Checkpoint { seq: c.seq, time_ms: c.time_ms, head: c.head, signature };
    if checkpoint.to_line().as_bytes() != line {
        return Err(Damage::NotCanonical);
    }
    Ok(checkpoint)
}

/// A `serde_json` error without its "line 1": the line is ours to name.
fn unreadable(e: &serde_json::Error) -> Damage {
    let text = e.to_string();
    let text = match text.rsplit_once(" at line ") {
        Some((message, _)) => format!("{message} (column {})", e.column()),
        None => text,
    };
    Damage::Unreadable(text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderLine {
    #[serde(rename = "type")]
    _kind: String,
    format: String,
    version: u32,
    created_ms: u64,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    #[serde(rename = "type")]
    _kind: String,
    seq: u64,
    time_ms: u64,
    prev: Digest,
    record: Record,
    #[serde(default)]
    part: Option<Part>,
    hash: Digest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    #[serde(rename = "type")]
    _kind: String,
    seq: u64,
    time_ms: u64,
    head: Digest,
    signature: String,
}

/// The record JSON of each entry `record` takes: the whole record in one
/// entry when it fits in a line, else parts sharing out its references in
/// order, each as many as fit.
fn split(record: &Record) -> Result<Vec<(String, Option<Part>)>, AuditError> {
    let whole = record_json(record);
    if whole.len() <= RECORD_BUDGET {
        return Ok(vec![(whole, None)]);
    }
    let bare = exchange_of(record);
    let base = record_json(&bare).len();
    // No reference: the record's other fields alone are too long.
    if record.references.is_empty() {
        return Err(AuditError::TooLarge { bytes: base });
    }
    // Where each part's references start, by the JSON each adds: its own
    // bytes, and a comma after the first of a part.
    let mut starts = vec![0];
    let mut used = base;
    for (i, r) in record.references.iter().enumerate() {
        let len = serde_json::to_vec(r).map_or(0, |json| json.len());
        if base + len > PART_BUDGET {
            return Err(AuditError::TooLarge { bytes: base + len });
        }
        let first_of_part = starts.last() == Some(&i);
        if first_of_part {
            used = base + len;
        } else if used + 1 + len <= PART_BUDGET {
            used += 1 + len;
        } else {
            starts.push(i);
            used = base + len;
        }
    }
    let of = u32::try_from(starts.len()).map_err(|_| AuditError::TooLarge { bytes: whole.len() })?;
    starts.push(record.references.len());
    starts
        .windows(2)
        .zip(1..)
        .map(|(range, index)| {
            let part = Record { references: record.references[range[0]..range[1]].to_vec(), ..bare.clone() };
            let json = record_json(&part);
            // What the sizes above promise; checked rather than trusted.
            if json.len() > PART_BUDGET {
                return Err(AuditError::TooLarge { bytes: json.len() });
            }
            Ok((json, Some(Part { index, of })))
        })
        .collect()
}

/// `record` without its references: what every part of an exchange repeats.
fn exchange_of(record: &Record) -> Record {
    // Spelled out, so that a new field of Record must be considered here.
    let Record { requester, purpose, case_reference, category, action, demand, query_digest, references: _, outcome } = record;
    Record {
        requester: requester.clone(),
        purpose: purpose.clone(),
        case_reference: case_reference.clone(),
        category: category.clone(),
        action: action.clone(),
        demand: demand.clone(),
        query_digest: *query_digest,
        references: Vec::new(),
        outcome: outcome.clone(),
    }
}

fn record_json(record: &Record) -> String {
    // Cannot fail: a Record is strings, integers and a list of structs, and
    // serde_json fails only on maps with non-string keys or on Serialize
    // impls that fail.
    serde_json::to_string(record).expect("a Record serializes to JSON")
}

fn header_line(created_ms: u64, key: &VerifyingKey) -> String {
    format!(
        r#"{{"type":"header","format":"{FORMAT}","version":{VERSION},"created_ms":{created_ms},"key":"{}"}}"#,
        keys::encode(key.as_bytes())
    )
}

fn header_hash(line: &[u8]) -> Digest {
    Digest(blake3::derive_key(HEADER_CONTEXT, line))
}

/// An entry line up to, not including, `,"hash":`: the bytes its hash covers.
fn entry_body(seq: u64, time_ms: u64, prev: &Digest, record_json: &str, part: Option<Part>) -> String {
    let mut body = format!(r#"{{"type":"entry","seq":{seq},"time_ms":{time_ms},"prev":"{prev}","record":{record_json}"#);
    if let Some(Part { index, of }) = part {
        body += &format!(r#","part":{{"index":{index},"of":{of}}}"#);
    }
    body
}

fn entry_line(body: &str, hash: &Digest) -> String {
    format!(r#"{body},"hash":"{hash}"}}"#)
}

fn entry_hash(prev: &Digest, body: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new_derive_key(ENTRY_CONTEXT);
    hasher.update(&prev.0);
    hasher.update(body);
    Digest(*hasher.finalize().as_bytes())
}

/// A checkpoint line up to, not including, `,"signature":`.
fn checkpoint_body(seq: u64, time_ms: u64, head: &Digest) -> String {
    format!(r#"{{"type":"checkpoint","seq":{seq},"time_ms":{time_ms},"head":"{head}""#)
}

fn checkpoint_message(body: &str) -> Vec<u8> {
    [CHECKPOINT_CONTEXT, body.as_bytes()].concat()
}
