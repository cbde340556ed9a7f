//! Hitdex node: what turns the engine into a national node that partner
//! countries can query under the law (SPEC section 6).
//!
//! - [`message`]: every message type of the protocol, and the OpenAPI
//!   description generated from them.
//! - [`clock`]: the time every deadline, signature window and log entry
//!   reads, injectable so tests can pass deadlines.
//! - [`keys`]: Ed25519 key files.
//! - [`signature`]: signed requests and answers in the shape of RFC 9421,
//!   the time window and the replay check.
//! - [`directory`]: the authorities, their keys and access per category,
//!   and the national contact points.
//! - [`request`]: request bodies to engine queries (fuzzed).
//! - [`config`]: `node.toml` and `client.toml`.
//! - [`server`]: the HTTP service; [`metrics`]: its Prometheus counters.
//! - [`init`]: a complete working node directory for trying it out.
//! - [`client`]: signs requests as one authority and checks the node's
//!   signed answers.
//! - [`audit`]: the append-only, hash-chained log of every request, with
//!   signed checkpoints; what `hitdex audit verify` and `subject` read;
//!   [`audit_writer`]: its writer thread, for the async server.
//! - [`demand`]: information demands after a hit: validation, states,
//!   deadlines, stored in SQLite.
#![deny(missing_docs)]

pub mod audit;
pub mod audit_writer;
pub mod client;
pub mod clock;
pub mod config;
pub mod demand;
pub mod directory;
pub mod init;
pub mod keys;
pub mod message;
pub mod metrics;
pub mod request;
pub mod server;
pub mod signature;
