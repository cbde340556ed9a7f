//! The key-only categories (vehicle, phone, identity) in `hitdex index`
//! and `hitdex search`: reading their CSV files, making keys with the
//! index's secret, printing stats and answers.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use hitdex_engine::index::container::Category;
use hitdex_engine::keyed::{KeyIndex, KeyRecord, Secret};
use hitdex_formats::keyed::csv::{self, Row};
use hitdex_formats::{ndjson, Mode};

use crate::progress::phase;

/// Rows of a CSV of `category` (standard input for `-`).
fn read_rows(path: &Path, category: Category, mode: Mode, region: Option<&str>) -> Result<Vec<Row>> {
    if path != Path::new("-") {
        return Ok(csv::read_path(path, category, mode, region)?);
    }
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes).context("cannot read standard input")?;
    Ok(csv::read_bytes(&bytes, Path::new("<stdin>"), category, mode, region)?)
}

/// The records of a CSV of `category`, keyed with `secret`.
fn records(path: &Path, category: Category, region: Option<&str>, secret: &Secret) -> Result<Vec<KeyRecord>> {
    let rows = phase("read records", || read_rows(path, category, Mode::Store, region))?;
    let added = hitdex_engine::index::now() as u32;
    Ok(rows
        .into_iter()
        .map(|r| KeyRecord { keys: r.values.iter().map(|v| secret.key(v)).collect(), reference: r.reference, authority: r.authority, kind: r.kind, added })
        .collect())
}

/// `hitdex index build --category vehicle|phone|identity`: a new index
/// with a new secret.
pub fn build(category: Category, input: &Path, out: &Path, shards: usize, region: Option<&str>) -> Result<()> {
    let secret = Secret::generate()?;
    let records = records(input, category, region, &secret)?;
    let index = phase("build index", || KeyIndex::build(out, category, &secret, &records, shards))?;
    print_stats(&index);
    Ok(())
}

/// `hitdex index add` on a key-only index.
pub fn add(dir: &Path, input: &Path, region: Option<&str>) -> Result<()> {
    let index = KeyIndex::open(dir).with_context(|| format!("cannot open index {}", dir.display()))?;
    let records = records(input, index.category(), region, index.secret())?;
    let secret = index.secret().clone();
    drop(index);
    let index = phase("add shard", || KeyIndex::add(dir, &secret, &records))?;
    println!("added {} record(s)", records.len());
    print_stats(&index);
    Ok(())
}

pub fn print_stats(index: &KeyIndex) {
    let s = index.stats();
    let live = s.records - s.deleted;
    println!("index      {}", index.dir().display());
    println!("category   {} (keyed digests only; the secret is {})", index.category().name(), index.dir().join(hitdex_engine::keyed::SECRET_FILE).display());
    println!("shards     {}", s.shards);
    println!("records    {live} live ({} persons, {} traces), {} deleted awaiting compaction", s.persons, s.traces, s.deleted);
    println!("keys       {}", s.keys);
    println!("bytes      {} ({:.1} per stored record)", s.bytes, s.bytes as f64 / s.records.max(1) as f64);
}

/// `hitdex search vehicle|phone|identity`.
#[derive(ClapArgs)]
pub struct SearchArgs {
    /// The index directory.
    #[arg(long)]
    index: PathBuf,
    /// Queries as CSV: `reference` names the query, then the category's
    /// columns (authority and kind may be absent); `-` reads standard input.
    #[arg(long)]
    queries: PathBuf,
    /// Phone: region (ISO 3166 alpha-2, as DE) of numbers written without
    /// a country code, for rows with no `region` cell.
    #[arg(long)]
    region: Option<String>,
    /// Skip the full checksum of the index before searching (header,
    /// version and bounds are always checked on open).
    #[arg(long)]
    no_verify: bool,
}

pub fn search(category: Category, args: &SearchArgs) -> Result<()> {
    let idx = phase("open index", || KeyIndex::open_category(&args.index, category)).with_context(|| format!("cannot open index {}", args.index.display()))?;
    let rows = phase("read queries", || read_rows(&args.queries, category, Mode::Query, args.region.as_deref()))?;
    if !args.no_verify {
        phase("verify index", || idx.verify()).context("the index failed its integrity check; run `hitdex index verify`")?;
    }
    let queries = rows.iter().map(|r| r.values.iter().map(|v| idx.key(v)).collect::<Result<Vec<_>, _>>()).collect::<Result<Vec<_>, _>>()?;
    let answers = phase("search", || idx.search_queries(&queries))?;
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for (row, hits) in rows.iter().zip(&answers) {
        ndjson::write_key_hits(&mut out, &row.reference, hits)?;
    }
    out.flush()?;
    Ok(())
}
