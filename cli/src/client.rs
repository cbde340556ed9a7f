//! `hitdex client search dna`: signed searches against a node, printing
//! the same NDJSON as `hitdex search dna`; `hitdex client demand`: an
//! information demand, through the contact point if need be.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use hitdex_formats::dna_csv::{self, Mode};
use hitdex_protocol::client::{dna_query, Client, Route};
use hitdex_protocol::directory::Directory;
use hitdex_protocol::message::demand::DemandForm;
use hitdex_protocol::config::ClientConfig;
use hitdex_protocol::message::DnaSearch;

#[derive(Subcommand)]
pub enum Op {
    /// Search a node's DNA index. Each request is signed with the
    /// authority's key, each answer's signature checked with the node's
    /// key; prints one JSON line per query in input order, as
    /// `hitdex search dna` does (with index-only access, hits name only
    /// reference and authority).
    #[command(subcommand)]
    Search(What),
    /// Send an information demand (a JSON demand form, as in
    /// /v1/openapi.json) to the designated authority's node, as the
    /// directory names it, or through its country's national contact
    /// point when that node cannot be reached. Prints the demand as the
    /// node received it (with its id and deadline); says on standard error
    /// which way it went.
    Demand(DemandArgs),
}

#[derive(ClapArgs)]
pub struct DemandArgs {
    /// The client's settings: authority and key files.
    #[arg(long)]
    config: PathBuf,
    /// The directory of authorities (their nodes and contact points).
    #[arg(long)]
    directory: PathBuf,
    /// The demand form (JSON).
    #[arg(long)]
    form: PathBuf,
}

#[derive(Subcommand)]
pub enum What {
    /// DNA profiles from a DNA CSV file.
    Dna(DnaArgs),
}

#[derive(ClapArgs)]
pub struct DnaArgs {
    /// The client's settings: authority, key files, node URL, purpose.
    #[arg(long)]
    config: PathBuf,
    /// The node (http://host:port); default: client.toml's `url`.
    #[arg(long)]
    url: Option<String>,
    /// Query profiles as DNA CSV.
    #[arg(long)]
    queries: PathBuf,
    /// Purpose of the search, logged by the node; default: client.toml's.
    #[arg(long)]
    purpose: Option<String>,
    /// The case reference, logged by the node with every search.
    #[arg(long)]
    case: String,
    /// Fewest matching loci for a hit.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=28))]
    min_loci: u8,
    /// Turn off the microvariant tolerance.
    #[arg(long)]
    exact_microvariants: bool,
    /// Queries per request.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    per_request: u64,
}

pub fn run(op: Op) -> Result<()> {
    match op {
        Op::Search(What::Dna(a)) => search(a),
        Op::Demand(a) => demand(&a),
    }
}

fn demand(a: &DemandArgs) -> Result<()> {
    let config = ClientConfig::load(&a.config)?;
    let directory = Directory::load(&a.directory)?;
    let text = std::fs::read(&a.form).with_context(|| format!("cannot read {}", a.form.display()))?;
    let form: DemandForm = hitdex_protocol::demand::parse_json(&text).with_context(|| format!("{}", a.form.display()))?;
    // The URL is the directory's business here; the client needs one to start.
    let client = Client::new(&config, config.url.as_deref().unwrap_or("http://127.0.0.1:0"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let (demand, route) = runtime.block_on(client.send_demand(&directory, &form))?;
    match route {
        Route::Direct(url) => eprintln!("sent to {}'s node at {url}", form.designated_authority),
        Route::ContactPoint { url, authority, because } => eprintln!("{because}; sent through the contact point {authority} at {url}"),
    }
    println!("{}", serde_json::to_string(&demand)?);
    Ok(())
}

fn search(a: DnaArgs) -> Result<()> {
    let config = ClientConfig::load(&a.config)?;
    let url = a.url.or(config.url.clone()).context("no node URL: give --url or set url in client.toml")?;
    let purpose = a.purpose.or(config.purpose.clone()).context("no purpose: give --purpose or set purpose in client.toml")?;
    let profiles = dna_csv::read_path(&a.queries, Mode::Query)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let client = Client::new(&config, &url)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for chunk in profiles.chunks(a.per_request as usize) {
        let request = DnaSearch {
            purpose: purpose.clone(),
            case_reference: a.case.clone(),
            queries: chunk.iter().map(dna_query).collect(),
            min_loci: a.min_loci,
            exact_microvariants: a.exact_microvariants,
        };
        let answer = runtime.block_on(client.search_dna(&request))?;
        for result in &answer.results {
            serde_json::to_writer(&mut out, result)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
