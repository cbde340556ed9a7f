//! `hitdex index ...`: build and maintain an index directory.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use hitdex_engine::fingerprint::FingerIndex;
use hitdex_engine::index::container::Category as Stored;
use hitdex_engine::index::manifest::Manifest;
use hitdex_engine::keyed::KeyIndex;
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
    /// Vehicles by registration plate and/or VIN (key-only: exact hit/no-hit).
    Vehicle,
    /// Telephone numbers, compared in E.164 (key-only).
    Phone,
    /// Persons by family name, given names and date of birth (key-only).
    Identity,
}

#[derive(Subcommand)]
pub enum Op {
    /// Build a new index (refuses an existing one): DNA profiles from a DNA
    /// CSV file, or fingerprints from a manifest CSV
    /// (`reference,authority,finger,path[,kind]`; one person's fingers
    /// share the reference) or a directory of template files, or records of
    /// a key-only category from a CSV `reference,authority,kind,` then
    /// `plate,vin` (vehicle, either or both), `number[,region]` (phone) or
    /// `family_name,given_names,date_of_birth` (identity). Key-only indexes
    /// store keyed digests of the normalised values, never the values, with
    /// the index's random secret in DIR/SECRET (keep it with the node's
    /// keys; shards are useless without it).
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
        /// Phone: region (ISO 3166 alpha-2, as DE) of numbers written
        /// without a country code, for rows with no `region` cell.
        #[arg(long)]
        region: Option<String>,
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
        /// Phone: region of numbers written without a country code.
        #[arg(long)]
        region: Option<String>,
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
        Op::Build { category, input, authority, region, out, shards } => {
            let shards = shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            if shards == 0 {
                bail!("--shards must be at least 1");
            }
            if authority.is_some() && !matches!(category, Category::Fingerprint) {
                bail!("--authority is for fingerprint template directories; the CSV names each record's authority");
            }
            if region.is_some() && !matches!(category, Category::Phone) {
                bail!("--region is for phone numbers");
            }
            match category {
                Category::Dna => {
                    let profiles = phase("read profiles", || dna_csv::read_path(&input, Mode::Store))?;
                    let index = phase("build index", || Index::build(&out, &profiles, shards))?;
                    print_stats(&index);
                }
                Category::Fingerprint => {
                    let records = crate::fingerprint::read_records(&input, authority.as_deref())?;
                    let index = phase("build index", || FingerIndex::build(&out, &records, shards))?;
                    crate::fingerprint::print_stats(&index);
                }
                Category::Vehicle => crate::keyed::build(Stored::Vehicle, &input, &out, shards, None)?,
                Category::Phone => crate::keyed::build(Stored::Phone, &input, &out, shards, region.as_deref())?,
                Category::Identity => crate::keyed::build(Stored::Identity, &input, &out, shards, None)?,
            }
        }
        Op::Add { index, input, authority, region } => {
            let category = category_of(&index)?;
            if authority.is_some() && category != Stored::Fingerprint {
                bail!("--authority is for fingerprint template directories; the CSV names each record's authority");
            }
            if region.is_some() && category != Stored::Phone {
                bail!("--region is for phone numbers");
            }
            match category {
                Stored::Fingerprint => {
                    let records = crate::fingerprint::read_records(&input, authority.as_deref())?;
                    let idx = phase("add shard", || FingerIndex::add(&index, &records))?;
                    println!("added {} finger record(s)", records.len());
                    crate::fingerprint::print_stats(&idx);
                }
                Stored::Vehicle | Stored::Phone | Stored::Identity => crate::keyed::add(&index, &input, region.as_deref())?,
                Stored::Dna => {
                    let profiles = phase("read profiles", || dna_csv::read_path(&input, Mode::Store))?;
                    let idx = phase("add shard", || Index::add(&index, &profiles))?;
                    println!("added {} profile(s)", profiles.len());
                    print_stats(&idx);
                }
            }
        }
        Op::Delete { index, references } => {
            let keys: Vec<RecordKey> = references::read_path(&references)?
                .into_iter()
                .map(|(authority, reference)| RecordKey { authority, reference })
                .collect();
            let (deleted, missing) = match category_of(&index)? {
                Stored::Fingerprint => phase("delete", || FingerIndex::delete(&index, &keys))?,
                Stored::Vehicle | Stored::Phone | Stored::Identity => phase("delete", || KeyIndex::delete(&index, &keys))?,
                Stored::Dna => phase("delete", || Index::delete(&index, &keys))?,
            };
            println!("deleted {deleted} record(s)");
            for k in &missing {
                eprintln!("not found: {}{}", k.authority.as_deref().map(|a| format!("{a},")).unwrap_or_default(), k.reference);
            }
        }
        Op::Compact { index, shards } => match category_of(&index)? {
            Stored::Fingerprint => crate::fingerprint::print_stats(&phase("compact", || FingerIndex::compact(&index, shards))?),
            Stored::Vehicle | Stored::Phone | Stored::Identity => crate::keyed::print_stats(&phase("compact", || KeyIndex::compact(&index, shards))?),
            Stored::Dna => print_stats(&phase("compact", || Index::compact(&index, shards))?),
        },
        Op::Verify { index } => {
            let open = || format!("cannot open index {}", index.display());
            match category_of(&index)? {
                Stored::Fingerprint => {
                    let idx = FingerIndex::open(&index).with_context(open)?;
                    phase("verify", || idx.verify())?;
                    println!("ok: fingerprint index, {} shards, {} finger records, every checksum, offset and template verified", idx.shards().len(), idx.live());
                }
                Stored::Vehicle | Stored::Phone | Stored::Identity => {
                    let idx = KeyIndex::open(&index).with_context(open)?;
                    phase("verify", || idx.verify())?;
                    println!("ok: {} index, {} shards, {} records, every checksum, key order and offset verified", idx.category().name(), idx.shards().len(), idx.live());
                }
                Stored::Dna => {
                    let idx = Index::open(&index).with_context(open)?;
                    phase("verify", || idx.verify())?;
                    println!("ok: {} shards, {} profiles, every checksum and offset verified", idx.shards().len(), idx.live());
                }
            }
        }
        Op::Stats { index } => {
            let open = || format!("cannot open index {}", index.display());
            match category_of(&index)? {
                Stored::Fingerprint => crate::fingerprint::print_stats(&FingerIndex::open(&index).with_context(open)?),
                Stored::Vehicle | Stored::Phone | Stored::Identity => crate::keyed::print_stats(&KeyIndex::open(&index).with_context(open)?),
                Stored::Dna => print_stats(&Index::open(&index).with_context(open)?),
            }
        }
    }
    Ok(())
}

/// The category of the index in `dir` (by its manifest).
fn category_of(dir: &std::path::Path) -> Result<Stored> {
    let m = Manifest::read(dir).with_context(|| format!("cannot open index {}", dir.display()))?;
    Ok(m.category)
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
