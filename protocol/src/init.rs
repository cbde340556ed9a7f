//! `hitdex node init`: a complete working node in one directory.
//!
//! The node's signing key; three authorities of three countries with key
//! pairs for testing and different access (DE-BKA direct access to DNA,
//! fingerprints and the key-only categories, FR-PTS index-only to DNA,
//! fingerprints and vehicles, NL-NFI none), an investigating judge
//! (DE-JUDGE) to decide on demands, each country's contact point; a DNA
//! index of the profiles given and a file of queries; `node.toml`, and a
//! `client.toml` per authority (`client.toml` itself is DE-BKA's);
//! [`fingerprints`] adds a fingerprint index and a query manifest. Every
//! path in the files is relative, so the directory can be moved.

use std::fs;
use std::path::{Path, PathBuf};

use hitdex_engine::dna::{Kind, Profile};
use hitdex_engine::fingerprint::{Cylinders, FingerIndex, FingerRecord, Template};
use hitdex_engine::index::Index;

use crate::keys::{self, KeyError};

/// The test authorities: id, country, name, access line of the directory.
/// The last is an authorising body (an investigating judge) with no
/// search access: it decides on demands submitted to it.
pub const AUTHORITIES: [(&str, &str, &str, &str); 4] = [
    ("DE-BKA", "DE", "Bundeskriminalamt", r#"{ dna = "direct", fingerprint = "direct", vehicle = "direct", phone = "direct", identity = "direct" }"#),
    ("FR-PTS", "FR", "Police technique et scientifique", r#"{ dna = "index-only", fingerprint = "index-only", vehicle = "index-only" }"#),
    ("NL-NFI", "NL", "Nederlands Forensisch Instituut", "{}"),
    ("DE-JUDGE", "DE", "Ermittlungsrichter, Amtsgericht Wiesbaden", "{}"),
];

/// The node's name in a new node directory.
pub const NODE_ID: &str = "XX-NODE";

/// Why a node directory could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory exists and is not empty.
    #[error("{0} exists and is not empty; choose a new directory")]
    NotEmpty(PathBuf),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A key could not be written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A query template could not be written.
    #[error("{path}: {problem}")]
    Template {
        /// The template file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// The index could not be built.
    #[error("building {path}: {source}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// The engine's error.
        source: hitdex_engine::Error,
    },
}

/// What [`init`] wrote.
#[derive(Debug, Clone)]
pub struct Created {
    /// `node.toml`.
    pub node_config: PathBuf,
    /// `client.toml` (DE-BKA's).
    pub client_config: PathBuf,
    /// The query profiles, as DNA CSV.
    pub queries: PathBuf,
}

/// Writes a node in `dir` (new or empty) listening on `listen`, with a DNA
/// index of `profiles` and `queries` to try it with; `node.toml` also
/// names an index `indexes/<category>` for each of `more` (built by the
/// caller).
///
/// # Errors
/// [`InitError`] naming what could not be written.
pub fn init(dir: &Path, listen: &str, profiles: &[Profile], queries: &[Profile], more: &[&str]) -> Result<Created, InitError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    if fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(InitError::NotEmpty(dir.to_path_buf()));
    }
    fs::create_dir_all(dir.join("keys")).map_err(io(dir))?;
    let node_key = keys::generate();
    keys::write_signing(&dir.join("node.key"), &node_key)?;
    keys::write_public(&dir.join("node.pub"), &node_key.verifying_key())?;
    let url = format!("http://{listen}");
    let node_public = keys::encode(node_key.verifying_key().as_bytes());
    let mut directory = String::from("# Authorities that may query this node: keys and access per category\n# (direct, index-only or none; a category not listed is none).\n");
    for (id, country, name, access) in AUTHORITIES {
        let key = keys::generate();
        keys::write_signing(&dir.join("keys").join(format!("{id}.key")), &key)?;
        keys::write_public(&dir.join("keys").join(format!("{id}.pub")), &key.verifying_key())?;
        let public = keys::encode(key.verifying_key().as_bytes());
        directory += &format!("\n[[authority]]\nid = \"{id}\"\ncountry = \"{country}\"\nname = \"{name}\"\npublic_key = \"{public}\"\naccess = {access}\n");
        if id == "DE-JUDGE" {
            directory += "judicial = true\n";
        }
        let client = format!(
            "# hitdex client settings of {id}\nauthority = \"{id}\"\nsigning_key = \"keys/{id}.key\"\nnode = \"{NODE_ID}\"\nnode_public_key = \"node.pub\"\nurl = \"{url}\"\npurpose = \"prevention and investigation of criminal offences\"\n"
        );
        let file = if id == AUTHORITIES[0].0 { dir.join("client.toml") } else { dir.join(format!("client-{id}.toml")) };
        fs::write(&file, client).map_err(io(&file))?;
    }
    directory += "\n# National contact points: demands go here when a designated authority's node\n# cannot be reached. In this test node every country's is this node itself.\n";
    for (id, country, _, _) in &AUTHORITIES[..3] {
        directory += &format!("\n[[contact_point]]\ncountry = \"{country}\"\nauthority = \"{id}\"\nurl = \"{url}\"\nnode_id = \"{NODE_ID}\"\nnode_key = \"{node_public}\"\n");
    }
    let authorities = dir.join("authorities.toml");
    fs::write(&authorities, directory).map_err(io(&authorities))?;
    let index = dir.join("indexes").join("dna");
    Index::build(&index, profiles, 2).map_err(|source| InitError::Index { path: index.clone(), source })?;
    let queries_path = dir.join("queries.csv");
    hitdex_formats::dna_csv::write_path(&queries_path, queries).map_err(io(&queries_path))?;
    let node_config = dir.join("node.toml");
    let more: String = more.iter().map(|c| format!("{c} = \"indexes/{c}\"\n")).collect();
    let text = format!(
        "# A Hitdex node: `hitdex serve --config node.toml`\nid = \"{NODE_ID}\"\nlisten = \"{listen}\"\nsigning_key = \"node.key\"\ndirectory = \"authorities.toml\"\naudit_log = \"audit.log\"\ndemands = \"demands.sqlite\"\n\n[indexes]\ndna = \"indexes/dna\"\n{more}\n[limits]\nmax_body_bytes = 8388608\nmax_queries = 1000\nmax_batch = 100000\nrequest_timeout_ms = 30000\nsignature_window_s = 60\nmin_loci = 6\n# /v1/ requests admitted at once; beyond: 503 overloaded\nmax_in_flight = 512\n# threads running requests' work at once; default: twice the CPU cores\n# work_threads = 4\n\n[policy]\nprior_authorisation_required = false\n"
    );
    fs::write(&node_config, text).map_err(io(&node_config))?;
    Ok(Created { node_config, client_config: dir.join("client.toml"), queries: queries_path })
}

/// Adds a fingerprint index to the node in `dir` (made by [`init`] with
/// `fingerprint` among its other indexes): `indexes/fingerprint` of the
/// `gallery` fingers (reference, finger position, template), their
/// records held in turn by DE-BKA, FR-PTS and NL-NFI; the `queries`
/// (name, finger position, template) as ISO/IEC 19794-2 records in
/// `fingerprint-queries/`, listed in the query manifest
/// `queries-fingerprint.csv` (`reference,finger,path`: rows of one name
/// are one ten-print card), which it returns.
///
/// # Errors
/// [`InitError`] naming what could not be written.
pub fn fingerprints(dir: &Path, gallery: &[(String, u8, Template)], queries: &[(String, u8, Template)]) -> Result<PathBuf, InitError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    let added = hitdex_engine::index::now() as u32;
    // Persons in order of first appearance, held in turn by the three
    // countries' authorities: a person's fingers stay with one.
    let mut holders = std::collections::HashMap::new();
    let records: Vec<FingerRecord> = gallery
        .iter()
        .map(|(reference, finger, template)| {
            let persons = holders.len();
            let holder = *holders.entry(reference).or_insert(AUTHORITIES[persons % 3].0);
            FingerRecord { reference: reference.clone(), authority: holder.to_string(), kind: Kind::Person, finger: *finger, template: Cylinders::new(template), added }
        })
        .collect();
    let index = dir.join("indexes").join("fingerprint");
    FingerIndex::build(&index, &records, 2).map_err(|source| InitError::Index { path: index.clone(), source })?;
    let templates = dir.join("fingerprint-queries");
    fs::create_dir_all(&templates).map_err(io(&templates))?;
    let mut manifest = String::from("reference,finger,path\n");
    for (name, finger, template) in queries {
        let file = format!("{name}-{finger}.iso");
        let path = templates.join(&file);
        let bytes = hitdex_formats::fingerprint::fmr::write_iso(std::slice::from_ref(template)).map_err(|e| InitError::Template { path: path.clone(), problem: e.to_string() })?;
        fs::write(&path, bytes).map_err(io(&path))?;
        manifest += &format!("{name},{finger},fingerprint-queries/{file}\n");
    }
    let path = dir.join("queries-fingerprint.csv");
    fs::write(&path, manifest).map_err(io(&path))?;
    Ok(path)
}
