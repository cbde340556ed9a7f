//! `hitdex node init`: a complete working node directory;
//! `hitdex serve`: run a node.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use hitdex_datasets::fingerprint::{self, FingerprintConfig};
use hitdex_datasets::synthetic::{self, SyntheticConfig};
use hitdex_engine::index::container::Category;
use hitdex_protocol::clock::SystemClock;
use hitdex_protocol::config::NodeConfig;
use hitdex_protocol::server::{self, Listener, Node};

use crate::generate::FrequencyArgs;
use crate::progress::phase;

#[derive(Subcommand)]
pub enum Op {
    /// Write a complete working node into a new directory: node.toml, the
    /// node's Ed25519 key, a directory of three test authorities of three
    /// countries with their key pairs (DE-BKA: direct access to DNA,
    /// fingerprints and the key-only categories; FR-PTS: index-only to DNA,
    /// fingerprints and vehicles; NL-NFI: none) and an investigating judge
    /// (DE-JUDGE), a DNA index of synthetic profiles with queries.csv, a
    /// fingerprint index of synthetic persons with queries-fingerprint.csv
    /// (a query manifest of templates in fingerprint-queries/), small
    /// vehicle, phone and identity indexes with queries-<category>.csv, and
    /// client.toml (DE-BKA; client-FR-PTS.toml and client-NL-NFI.toml for
    /// the others). Then: `hitdex serve --config DIR/node.toml` and
    /// `hitdex client search dna --config DIR/client.toml --queries DIR/queries.csv`
    /// (or `search fingerprint --queries DIR/queries-fingerprint.csv`,
    /// `search vehicle --queries DIR/queries-vehicle.csv`, ...).
    Init(InitArgs),
}

#[derive(ClapArgs)]
pub struct InitArgs {
    /// The new node's directory (must not exist, or be empty).
    #[arg(long)]
    dir: PathBuf,
    /// Where the node will listen (host:port, or unix:PATH).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: String,
    /// Synthetic DNA profiles in its index.
    #[arg(long, default_value_t = 10_000)]
    profiles: usize,
    /// Queries written to queries.csv.
    #[arg(long, default_value_t = 100)]
    queries: usize,
    /// Synthetic persons in the fingerprint index (two fingers each:
    /// right thumb and right index).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    fingerprint_persons: u32,
    /// Fingerprint queries in queries-fingerprint.csv: in turn a person's
    /// two-finger card, a latent of one of a person's fingers, and a
    /// finger of no one.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(..=100_000))]
    fingerprint_queries: u32,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    source: FrequencyArgs,
}

#[derive(ClapArgs)]
pub struct ServeArgs {
    /// The node's configuration (see `hitdex node init`).
    #[arg(long)]
    config: PathBuf,
    /// Listen here instead of node.toml's `listen`: host:port (port 0
    /// picks a free one) or unix:PATH. The address is printed on standard
    /// output once the node accepts requests.
    #[arg(long)]
    listen: Option<String>,
}

pub fn init(op: Op) -> Result<()> {
    let Op::Init(a) = op;
    let freqs = a.source.load()?;
    let config = SyntheticConfig { profiles: a.profiles, seed: a.seed, ..SyntheticConfig::default() };
    let profiles = phase("generate profiles", || synthetic::generate(&freqs, &config));
    let queries = synthetic::queries(&profiles, &freqs, a.queries, a.seed ^ 0x5eed);
    const KEYED: [&str; 3] = ["vehicle", "phone", "identity"];
    let created = phase("write the node", || hitdex_protocol::init::init(&a.dir, &a.listen, &profiles, &queries, &["fingerprint", KEYED[0], KEYED[1], KEYED[2]]))?;
    let (gallery, finger_queries) = phase("generate fingerprints", || fingerprint::persons(&FingerprintConfig::default(), a.fingerprint_persons, 2, a.fingerprint_queries, a.seed));
    let finger_manifest = phase("build the fingerprint index", || hitdex_protocol::init::fingerprints(&a.dir, &gallery, &finger_queries))?;
    // Small key-only indexes, and queries for each (half of them hits).
    for name in KEYED {
        let category = Category::of_name(name).context("a key-only category")?;
        let records = a.dir.join(format!("{name}-records.csv"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&records).with_context(|| format!("cannot write {}", records.display()))?);
        hitdex_datasets::keyed::write_records(&mut w, category, 1000, a.seed)?;
        std::io::Write::flush(&mut w)?;
        drop(w);
        crate::keyed::build(category, &records, &a.dir.join("indexes").join(name), 2, Some("DE"))?;
        std::fs::remove_file(&records)?;
        let queries = a.dir.join(format!("queries-{name}.csv"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&queries).with_context(|| format!("cannot write {}", queries.display()))?);
        hitdex_datasets::keyed::write_queries(&mut w, category, 1000, 20, a.seed)?;
        std::io::Write::flush(&mut w)?;
    }
    println!("wrote a node to {}:", a.dir.display());
    println!("  hitdex serve --config {}", created.node_config.display());
    println!("  hitdex client search dna --config {} --queries {} --case C-1", created.client_config.display(), created.queries.display());
    println!("  hitdex client search fingerprint --config {} --queries {} --case C-1", created.client_config.display(), finger_manifest.display());
    Ok(())
}

pub fn serve(a: ServeArgs) -> Result<()> {
    let config = NodeConfig::load(&a.config)?;
    let node = Arc::new(Node::open(&config, Arc::new(SystemClock)).context("cannot start the node")?);
    let listen = a.listen.unwrap_or_else(|| config.listen.clone());
    // The work of requests runs on tokio's blocking pool, as many at once
    // as `work_threads` says.
    let runtime = tokio::runtime::Builder::new_multi_thread().max_blocking_threads(config.limits.work_threads()).enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = Listener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        // Scripts and tests wait for this line.
        println!("listening on {}", listener.address());
        // SIGINT (Ctrl-C) or SIGTERM (systemd, containers): finish the
        // requests in flight, then close the audit log with a checkpoint.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("cannot watch for SIGTERM")?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        server::serve(node, listener, shutdown).await.context("the node stopped")
    })
}
