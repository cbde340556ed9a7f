//! The index: shards, the index directory and search (in progress).
