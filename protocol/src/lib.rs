//! Hitdex node: what turns the engine into a national node that partner
//! countries can query under the law (SPEC section 6).
//!
//! - [`message`]: every message type of the protocol, and the OpenAPI
//!   description generated from them.
//! - [`clock`]: the time every deadline, signature window and log entry
//!   reads, injectable so tests can pass deadlines.
//! - [`audit`]: the append-only, hash-chained log of every request, with
//!   signed checkpoints; what `hitdex audit verify` and `subject` read.
//! - [`keys`]: the textual form of node public keys, and key files.
//! - [`demand`]: information demands after a hit: validation, states,
//!   deadlines, stored in SQLite.
#![deny(missing_docs)]

pub mod audit;
pub mod clock;
pub mod demand;
pub mod keys;
pub mod message;
