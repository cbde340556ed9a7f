//! `hitdex client search dna|fingerprint|vehicle|phone|identity`: signed
//! searches against a node, taking the same query files as `hitdex search`
//! and printing the same NDJSON; `hitdex client demand`: an information
//! demand, through the contact point if need be.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use hitdex_engine::index::container::Category;
use hitdex_engine::keyed::KeyHit;
use hitdex_formats::dna_csv::{self, Mode};
use hitdex_formats::fingerprint::{manifest, Format};
use hitdex_formats::{keyed, ndjson};
use hitdex_protocol::client::{self as protocol_client, dna_query, finger_template, key_query, Client, Route};
use hitdex_protocol::directory::Directory;
use hitdex_protocol::message::demand::DemandForm;
use hitdex_protocol::config::ClientConfig;
use hitdex_protocol::message::{DnaSearch, FingerQuery, FingerSearch, KeySearch, DEFAULT_MAX_CANDIDATES, MAX_CANDIDATES};

#[derive(Subcommand)]
pub enum Op {
    /// Search a node's index. Each request is signed with the authority's
    /// key, each answer's signature checked with the node's key; takes the
    /// query file of `hitdex search` and prints one JSON line per query in
    /// input order, as `hitdex search` does (with index-only access, hits
    /// and candidates name only reference and authority).
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
    /// Fingerprints from a query manifest (`reference,finger,path`, as
    /// `hitdex search fingerprint` reads it): each template file is sent
    /// as it is (base64, with its format from its extension); rows sharing
    /// a reference are one ten-print card. The node pre-filters as
    /// `hitdex search fingerprint` does by default.
    Fingerprint(FingerArgs),
    /// Vehicles from a query CSV (`reference,plate,vin`), sent as written:
    /// the node normalises them.
    Vehicle(KeyArgs),
    /// Phone numbers from a query CSV (`reference,number,region`).
    Phone(KeyArgs),
    /// Identities from a query CSV (`reference,family_name,given_names,date_of_birth`).
    Identity(KeyArgs),
}

/// What every search of a node needs.
#[derive(ClapArgs)]
pub struct Remote {
    /// The client's settings: authority, key files, node URL, purpose.
    #[arg(long)]
    config: PathBuf,
    /// The node (http://host:port); default: client.toml's `url`.
    #[arg(long)]
    url: Option<String>,
    /// Purpose of the search, logged by the node; default: client.toml's.
    #[arg(long)]
    purpose: Option<String>,
    /// The case reference, logged by the node with every search.
    #[arg(long)]
    case: String,
    /// Queries per request.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    per_request: u64,
}

#[derive(ClapArgs)]
pub struct DnaArgs {
    #[command(flatten)]
    remote: Remote,
    /// Query profiles as DNA CSV.
    #[arg(long)]
    queries: PathBuf,
    #[command(flatten)]
    rules: crate::search::MatchArgs,
}

#[derive(ClapArgs)]
pub struct FingerArgs {
    #[command(flatten)]
    remote: Remote,
    /// Query manifest CSV (`reference,finger,path`, authority optional).
    #[arg(long)]
    queries: PathBuf,
    /// Most candidates per query (exchange practice: 1 for ten-print
    /// against ten-print, 10 for a latent).
    #[arg(long, default_value_t = DEFAULT_MAX_CANDIDATES, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CANDIDATES)))]
    top: u32,
    /// Lowest fused score of a candidate (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    threshold: f32,
}

#[derive(ClapArgs)]
pub struct KeyArgs {
    #[command(flatten)]
    remote: Remote,
    /// Queries as CSV, as `hitdex search` reads them (`reference`, then the
    /// category's columns; authority and kind may be absent).
    #[arg(long)]
    queries: PathBuf,
    /// Phone: region (ISO 3166 alpha-2, as DE) of numbers written without
    /// a country code, for rows with no `region` cell.
    #[arg(long)]
    region: Option<String>,
}

pub fn run(op: Op) -> Result<()> {
    match op {
        Op::Search(What::Dna(a)) => search(a),
        Op::Search(What::Fingerprint(a)) => search_fingerprint(a),
        Op::Search(What::Vehicle(a)) => search_keyed(Category::Vehicle, a),
        Op::Search(What::Phone(a)) => search_keyed(Category::Phone, a),
        Op::Search(What::Identity(a)) => search_keyed(Category::Identity, a),
        Op::Demand(a) => demand(&a),
    }
}

/// A connected client, its purpose, and a runtime to run it on.
struct Session {
    client: Client,
    purpose: String,
    runtime: tokio::runtime::Runtime,
}

impl Remote {
    fn connect(&self) -> Result<Session> {
        let config = ClientConfig::load(&self.config)?;
        let url = self.url.clone().or(config.url.clone()).context("no node URL: give --url or set url in client.toml")?;
        let purpose = self.purpose.clone().or(config.purpose.clone()).context("no purpose: give --purpose or set purpose in client.toml")?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
        Ok(Session { client: Client::new(&config, &url)?, purpose, runtime })
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
    let profiles = dna_csv::read_path(&a.queries, Mode::Query)?;
    let s = a.remote.connect()?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for chunk in profiles.chunks(a.remote.per_request as usize) {
        let request = DnaSearch {
            purpose: s.purpose.clone(),
            case_reference: a.remote.case.clone(),
            queries: chunk.iter().map(dna_query).collect(),
            min_loci: a.rules.min_loci,
            exact_microvariants: a.rules.exact_microvariants,
        };
        let answer = s.runtime.block_on(s.client.search_dna(&request))?;
        for result in &answer.results {
            serde_json::to_writer(&mut out, result)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `hitdex client search fingerprint`: the manifest is read and its
/// templates checked here (errors name the manifest line), then each
/// template file goes to the node as it is.
fn search_fingerprint(a: FingerArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.threshold) {
        bail!("--threshold must lie between 0 and 1");
    }
    let entries = manifest::read_path(&a.queries, manifest::Mode::Query)?;
    // The positions each finger is searched as, as the node will find them.
    let positions: Vec<u8> = manifest::templates(&entries, None)?.into_iter().map(|(finger, _)| finger).collect();
    let fingers = entries
        .iter()
        .map(|e| {
            // manifest::templates has checked that the extension names a format.
            let format = Format::of_path(&e.path).with_context(|| format!("{}: the extension names no template format (manifest line {})", e.path.display(), e.line))?;
            let bytes = std::fs::read(&e.path).with_context(|| format!("cannot read {} (manifest line {})", e.path.display(), e.line))?;
            Ok(finger_template(e.finger, format, &bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    let queries = manifest::queries(&entries);
    let s = a.remote.connect()?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for chunk in queries.chunks(a.remote.per_request as usize) {
        let request = FingerSearch {
            purpose: s.purpose.clone(),
            case_reference: a.remote.case.clone(),
            queries: chunk.iter().map(|(name, rows)| FingerQuery { query: name.clone(), fingers: rows.iter().map(|&i| fingers[i].clone()).collect() }).collect(),
            max_candidates: a.top,
            threshold: a.threshold,
        };
        let answer = s.runtime.block_on(s.client.search_fingerprint(&request))?;
        if answer.results.len() != chunk.len() {
            bail!("the node answered {} queries of {}", answer.results.len(), chunk.len());
        }
        for ((_, rows), result) in chunk.iter().zip(&answer.results) {
            // Direct access: the very line `hitdex search fingerprint` prints.
            match protocol_client::candidates(&result.candidates) {
                Some(candidates) => ndjson::write_candidates(&mut out, &result.query, &rows.iter().map(|&i| positions[i]).collect::<Vec<_>>(), &candidates)?,
                None => {
                    serde_json::to_writer(&mut out, result)?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `hitdex client search vehicle|phone|identity`: the query CSV is read
/// and checked here as `hitdex search` reads it (errors name line and
/// column); its cells go to the node as written.
fn search_keyed(category: Category, a: KeyArgs) -> Result<()> {
    let rows = keyed::csv::read_raw_path(&a.queries, category, hitdex_formats::Mode::Query, a.region.as_deref())?;
    let s = a.remote.connect()?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for chunk in rows.chunks(a.remote.per_request as usize) {
        let request = KeySearch { purpose: s.purpose.clone(), case_reference: a.remote.case.clone(), queries: chunk.iter().map(key_query).collect() };
        let answer = s.runtime.block_on(s.client.search_keyed(category.name(), &request))?;
        for result in &answer.results {
            let hits: Vec<KeyHit> = result.hits.iter().map(|h| KeyHit { reference: h.reference.clone(), authority: h.authority.clone() }).collect();
            ndjson::write_key_hits(&mut out, &result.query, &hits)?;
        }
    }
    out.flush()?;
    Ok(())
}
