//! `hitdex index ...`: build and maintain an index directory.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use hitdex_engine::fingerprint::FingerIndex;
use hitdex_engine::index::manifest::Manifest;
use hitdex_engine::index::{Index, RecordKey};
use hitdex_formats::dna_csv::{self, Mode};
use hitdex_formats::references;

use crate::progress::phase;

#[derive(Clone, Copy, ValueEnum)]
pub enum Category {
    /// DNA profiles.
    Dna,
    /// Finger minutiae templates.
    Fingerprint,
}

#[derive(Subcommand)]
pub enum Op {
    /// Build a new index (refuses an existing one): DNA profiles from a DNA
    /// CSV file, or fingerprints from a manifest CSV
    /// (`reference,authority,finger,path[,kind]`; one person's fingers
    /// share the reference) or a directory of template files.
    Build {
        /// Record category of the index.
        #[arg(long, value_enum, default_value = "dna")]
        category: Category,
        /// DNA: profiles as DNA CSV (reference, authority, kind, one column
        /// per locus). Fingerprint: a manifest CSV, or a directory whose
        /// template files (.xyt, .iso, .ansi, .an2k) each become a record
        /// named by the file name (needs --authority).
        #[arg(long)]
        input: PathBuf,
        /// Fingerprint directories: the authority holding every record.
        #[arg(long)]
        authority: Option<String>,
        /// The index directory to create.
        #[arg(long)]
        out: PathBuf,
        /// Number of shards (searched in parallel); default: one per CPU.
        #[arg(long)]
        shards: Option<usize>,
    },
    /// Add records as one new shard (a delta): DNA profiles from a DNA CSV
    /// file, or fingers from a manifest CSV (or a directory, with
    /// --authority), as the index's category is.
    Add {
        /// The index directory.
        #[arg(long)]
        index: PathBuf,
        /// Records to add: DNA CSV, or a fingerprint manifest or directory.
        #[arg(long)]
        input: PathBuf,
        /// Fingerprint directories: the authority holding every record.
        #[arg(long)]
        authority: Option<String>,
    },
    /// Delete records by reference (tombstones, applied at once to searches;
    /// `compact` removes them from disk). In a fingerprint index every
    /// finger of the reference goes.
    ///
    /// The file has one reference per line, or `authority,reference` to
    /// name the holder; blank lines and lines starting with # are ignored.
    /// A bare reference deletes it at every authority that holds one.
    Delete {
        /// The index directory.
        #[arg(long)]
        index: PathBuf,
        /// File of references to delete.
        #[arg(long)]
        references: PathBuf,
    },
    /// Rewrite the index without its deleted records.
    Compact {
        /// The index directory.
        #[arg(long)]
        index: PathBuf,
        /// Number of shards to write; default: as many as now.
        #[arg(long)]
        shards: Option<usize>,
    },
    /// Full integrity check of every file (checksums, offsets).
    Verify {
        /// The index directory.
        #[arg(long)]
        index: PathBuf,
    },
    /// Counts and sizes.
    Stats {
        /// The index directory.
        #[arg(long)]
        index: PathBuf,
    },
}

pub fn run(op: Op) -> Result<()> {
    match op {
        Op::Build { category, input, authority, out, shards } => {
            let shards = shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            if shards == 0 {
                bail!("--shards must be at least 1");
            }
            match category {
                Category::Dna => {
                    if authority.is_some() {
                        bail!("--authority is for fingerprint template directories; the DNA CSV names each profile's authority");
                    }
                    let profiles = phase("read profiles", || dna_csv::read_path(&input, Mode::Store))?;
                    let index = phase("build index", || Index::build(&out, &profiles, shards))?;
                    print_stats(&index);
                }
                Category::Fingerprint => {
                    let records = crate::fingerprint::read_records(&input, authority.as_deref())?;
                    let index = phase("build index", || FingerIndex::build(&out, &records, shards))?;
                    crate::fingerprint::print_stats(&index);
                }
            }
        }
        Op::Add { index, input, authority } if is_fingerprint(&index)? => {
            let records = crate::fingerprint::read_records(&input, authority.as_deref())?;
            let idx = phase("add shard", || FingerIndex::add(&index, &records))?;
            println!("added {} finger record(s)", records.len());
            crate::fingerprint::print_stats(&idx);
        }
        Op::Add { index, input, authority } => {
            if authority.is_some() {
                bail!("--authority is for fingerprint template directories; the DNA CSV names each profile's authority");
            }
            let profiles = phase("read profiles", || dna_csv::read_path(&input, Mode::Store))?;
            let idx = phase("add shard", || Index::add(&index, &profiles))?;
            println!("added {} profile(s)", profiles.len());
            print_stats(&idx);
        }
        Op::Delete { index, references } => {
            let keys: Vec<RecordKey> = references::read_path(&references)?
                .into_iter()
                .map(|(authority, reference)| RecordKey { authority, reference })
                .collect();
            let (deleted, missing) = if is_fingerprint(&index)? {
                phase("delete", || FingerIndex::delete(&index, &keys))?
            } else {
                phase("delete", || Index::delete(&index, &keys))?
            };
            println!("deleted {deleted} record(s)");
            for k in &missing {
                eprintln!("not found: {}{}", k.authority.as_deref().map(|a| format!("{a},")).unwrap_or_default(), k.reference);
            }
        }
        Op::Compact { index, shards } if is_fingerprint(&index)? => {
            let idx = phase("compact", || FingerIndex::compact(&index, shards))?;
            crate::fingerprint::print_stats(&idx);
        }
        Op::Compact { index, shards } => {
            let idx = phase("compact", || Index::compact(&index, shards))?;
            print_stats(&idx);
        }
        Op::Verify { index } if is_fingerprint(&index)? => {
            let idx = FingerIndex::open(&index).with_context(|| format!("cannot open index {}", index.display()))?;
            phase("verify", || idx.verify())?;
            println!("ok: fingerprint index, {} shards, {} finger records, every checksum, offset and template verified", idx.shards().len(), idx.live());
        }
        Op::Stats { index } if is_fingerprint(&index)? => {
            let idx = FingerIndex::open(&index).with_context(|| format!("cannot open index {}", index.display()))?;
            crate::fingerprint::print_stats(&idx);
        }
        Op::Verify { index } => {
            let idx = Index::open(&index).with_context(|| format!("cannot open index {}", index.display()))?;
            phase("verify", || idx.verify())?;
            println!("ok: {} shards, {} profiles, every checksum and offset verified", idx.shards().len(), idx.live());
        }
        Op::Stats { index } => {
            let idx = Index::open(&index).with_context(|| format!("cannot open index {}", index.display()))?;
            print_stats(&idx);
        }
    }
    Ok(())
}

/// Whether the index in `dir` holds fingerprints (by its manifest).
fn is_fingerprint(dir: &std::path::Path) -> Result<bool> {
    let m = Manifest::read(dir).with_context(|| format!("cannot open index {}", dir.display()))?;
    Ok(m.category == hitdex_engine::index::container::Category::Fingerprint)
}

fn print_stats(index: &Index) {
    let s = index.stats();
    let live = s.profiles - s.deleted;
    println!("index      {}", index.dir().display());
    println!("shards     {}", s.shards);
    println!("profiles   {live} live ({} persons, {} traces), {} deleted awaiting compaction", s.persons, s.traces, s.deleted);
    println!("classes    {} (runs of profiles typed at the same loci)", s.classes);
    println!("bytes      {} ({:.1} per stored profile)", s.bytes, s.bytes as f64 / s.profiles.max(1) as f64);
}
