//! The manifest: which shard and tombstone files make up the index.
//!
//! Every change to an index (build, add, delete, compact) writes its new
//! files under fresh names first and then replaces the manifest by
//! write-then-rename. The manifest is the single switch: a crash before the
//! rename leaves the old index intact (plus orphan files that compaction
//! removes), a crash after it leaves the new one.
//!
//! ```text
//! hitdex-index 1
//! category dna
//! generation 7
//! shard shard-000001.hdx 1000000 del-000007-000001.tomb
//! shard shard-000002.hdx 5000 -
//! checksum <BLAKE3 hex of the lines above>
//! ```

use std::path::Path;

use super::container::Category;
use crate::{Error, Result};

/// Manifest file name inside an index directory.
pub const FILE: &str = "MANIFEST";
const HEAD: &str = "hitdex-index 1";

/// One shard of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardEntry {
    /// Shard file name (inside the index directory).
    pub file: String,
    /// Profiles in the shard, deleted ones included.
    pub profiles: usize,
    /// Tombstone file name, if any profile of the shard is deleted.
    pub tombstones: Option<String>,
}

/// The parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// What the index holds.
    pub category: Category,
    /// Incremented by every change; names new files.
    pub generation: u64,
    /// The shards, in order.
    pub shards: Vec<ShardEntry>,
}

impl Manifest {
    /// Reads and checks `dir/MANIFEST`.
    ///
    /// # Errors
    /// `Io` if it cannot be read (no index there); `Corrupt` if malformed or
    /// its checksum does not match.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let bad = |line: usize, why: &str| Error::corrupt(&path, format!("line {line}: {why}"));
        let body_end = text.rfind("checksum ").ok_or_else(|| bad(0, "no checksum line"))?;
        let (body, sum) = text.split_at(body_end);
        let sum = sum.trim_end().trim_start_matches("checksum ");
        if blake3::hash(body.as_bytes()).to_hex().as_str() != sum {
            return Err(Error::corrupt(&path, "manifest checksum mismatch"));
        }
        let mut lines = body.lines().enumerate().map(|(i, l)| (i + 1, l));
        if lines.next().map(|(_, l)| l) != Some(HEAD) {
            return Err(bad(1, "not a Hitdex manifest of version 1"));
        }
        let mut category = None;
        let mut generation = None;
        let mut shards = Vec::new();
        for (no, line) in lines {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["category", name] => {
                    category = Some(Category::of_name(name).ok_or_else(|| bad(no, &format!("category {name} is not supported")))?);
                }
                ["generation", g] => generation = Some(g.parse().map_err(|_| bad(no, "bad generation"))?),
                ["shard", file, n, tomb] => {
                    let safe = |f: &str| !f.is_empty() && !f.contains(['/', '\\']) && f != "." && f != "..";
                    if !safe(file) || (*tomb != "-" && !safe(tomb)) {
                        return Err(bad(no, "file names must be plain names inside the index directory"));
                    }
                    shards.push(ShardEntry {
                        file: file.to_string(),
                        profiles: n.parse().map_err(|_| bad(no, "bad profile count"))?,
                        tombstones: (*tomb != "-").then(|| tomb.to_string()),
                    });
                }
                _ => return Err(bad(no, "unrecognised line")),
            }
        }
        let generation = generation.ok_or_else(|| bad(0, "no generation line"))?;
        let category = category.ok_or_else(|| bad(0, "no category line"))?;
        Ok(Manifest { category, generation, shards })
    }

    /// Reads `dir/MANIFEST` of an index of `category`.
    ///
    /// # Errors
    /// As [`read`](Self::read); `Invalid` for an index of another category.
    pub fn read_category(dir: &Path, category: Category) -> Result<Manifest> {
        let m = Manifest::read(dir)?;
        if m.category != category {
            return Err(Error::Invalid(format!("{} is an index of {} records, not {}", dir.display(), m.category.name(), category.name())));
        }
        Ok(m)
    }

    /// Writes the manifest into `dir` atomically.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut body = format!("{HEAD}\ncategory {}\ngeneration {}\n", self.category.name(), self.generation);
        for s in &self.shards {
            let tomb = s.tombstones.as_deref().unwrap_or("-");
            body.push_str(&format!("shard {} {} {tomb}\n", s.file, s.profiles));
        }
        let sum = blake3::hash(body.as_bytes()).to_hex();
        body.push_str(&format!("checksum {sum}\n"));
        super::write_atomically(&dir.join(FILE), body.as_bytes())
    }

    /// Total profiles, deleted ones included.
    pub fn profiles(&self) -> usize {
        self.shards.iter().map(|s| s.profiles).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest {
            category: Category::Fingerprint,
            generation: 3,
            shards: vec![
                ShardEntry { file: "shard-000001.hdx".into(), profiles: 10, tombstones: None },
                ShardEntry { file: "shard-000002.hdx".into(), profiles: 7, tombstones: Some("del-000003-000002.tomb".into()) },
            ],
        };
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), m);
        let path = dir.path().join(FILE);
        let text = std::fs::read_to_string(&path).unwrap().replace(" 10 ", " 11 ");
        std::fs::write(&path, text).unwrap();
        let err = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
    }
}
