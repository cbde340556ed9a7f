//! The index: shards, the index directory and search (in progress).

pub mod keys;
pub mod shard;
