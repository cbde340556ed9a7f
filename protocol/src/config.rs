//! `node.toml` and `client.toml`: what a node serves and how a client signs.
//!
//! Paths in either file are relative to the file's own directory, so a
//! node directory made by `hitdex node init` can be moved as a whole.
//!
//! ```toml
//! # node.toml
//! id = "XX-NODE"                  # keyid of the node's answers
//! listen = "127.0.0.1:8443"       # or "unix:/run/hitdex.sock"
//! signing_key = "node.key"
//! directory = "authorities.toml"
//! audit_log = "audit.log"
//! demands = "demands.sqlite"
//! [indexes]
//! dna = "indexes/dna"
//! [limits]                        # all optional; these are the defaults
//! max_body_bytes = 8388608
//! max_queries = 1000              # per POST /v1/search
//! max_batch = 100000              # lines per POST /v1/batch
//! request_timeout_ms = 30000
//! signature_window_s = 60
//! min_loci = 6                    # fewest matching loci a DNA search may ask for
//! max_in_flight = 512             # /v1/ requests admitted at once; beyond: 503 overloaded
//! work_threads = 4                # threads running requests' work; default: twice the CPU cores
//! [policy]
//! prior_authorisation_required = false   # national law: data only after authorisation
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a configuration file (`node.toml`, `client.toml`, the directory of
/// authorities) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with its line where TOML can tell.
        problem: String,
    },
}

/// The limits of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most queries in one `POST /v1/search`.
    pub max_queries: usize,
    /// Most query lines in one `POST /v1/batch`.
    pub max_batch: usize,
    /// Longest a request's work may take before it is answered 503 and
    /// logged as timed out (the work is not cancelled; its result is
    /// dropped).
    pub request_timeout_ms: u64,
    /// How far a signature's time may be from the node's, either side.
    pub signature_window_s: u64,
    /// Fewest matching loci a DNA search may ask for (SPEC section 3: 6),
    /// and fewest loci a query must type without wildcards.
    pub min_loci: u8,
    /// Most `/v1/` requests admitted at once (signed or not: the permit is
    /// taken before the signature is checked), from the first look at their
    /// headers until their log entry is written (work that outlived the
    /// timeout included); beyond it a request is answered 503 `overloaded`
    /// at once, with `Retry-After`.
    pub max_in_flight: usize,
    /// Threads running requests' work at once (searches, demands; a
    /// fingerprint query also uses the engine's thread pool); default: twice
    /// the CPU cores. More let long batches run beside short
    /// searches; fewer spend less on switching between threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_threads: Option<usize>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_body_bytes: 8 << 20, max_queries: 1000, max_batch: 100_000, request_timeout_ms: 30_000, signature_window_s: 60, min_loci: 6, max_in_flight: 512, work_threads: None }
    }
}

impl Limits {
    /// The largest [`Limits::max_in_flight`] accepted (tokio's semaphore
    /// takes no more permits).
    pub const MAX_IN_FLIGHT: usize = tokio::sync::Semaphore::MAX_PERMITS;

    /// What is wrong with these limits, if anything.
    ///
    /// # Errors
    /// A message naming the setting.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=Limits::MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return Err(format!("[limits] max_in_flight = {}: must be 1 to {}", self.max_in_flight, Limits::MAX_IN_FLIGHT));
        }
        if self.work_threads == Some(0) {
            return Err("[limits] work_threads = 0: must be at least 1".into());
        }
        Ok(())
    }

    /// [`Limits::work_threads`], or its default.
    pub fn work_threads(&self) -> usize {
        self.work_threads.unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
    }
}

/// `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's name: the keyid of its answers.
    pub id: String,
    /// Where to listen: `host:port`, or `unix:PATH`.
    pub listen: String,
    /// The node's Ed25519 signing key file.
    pub signing_key: PathBuf,
    /// The directory of authorities.
    pub directory: PathBuf,
    /// The audit log.
    pub audit_log: PathBuf,
    /// The information demands database.
    pub demands: PathBuf,
    /// Index directory per category.
    #[serde(default)]
    pub indexes: BTreeMap<String, PathBuf>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// What national law asks of demands.
    #[serde(default)]
    pub policy: crate::demand::Policy,
}

/// `client.toml`: one authority's settings for `hitdex client`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The authority the client speaks for (keyid of its signatures).
    pub authority: String,
    /// Its signing key file.
    pub signing_key: PathBuf,
    /// The node's id: requests are signed for it.
    pub node: String,
    /// The node's public key file, to check answers.
    pub node_public_key: PathBuf,
    /// The node's address, unless given on the command line.
    #[serde(default)]
    pub url: Option<String>,
    /// Purpose logged with requests, unless given on the command line.
    #[serde(default)]
    pub purpose: Option<String>,
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid { path: path.display().to_string(), problem: e.to_string() })
}

/// `path` relative to the directory of the file `config`.
fn beside(config: &Path, path: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new(".")).join(path)
}

impl NodeConfig {
    /// Reads `node.toml`, with its paths made relative to where it lies.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let mut c: NodeConfig = read(path)?;
        for p in [&mut c.signing_key, &mut c.directory, &mut c.audit_log, &mut c.demands].into_iter().chain(c.indexes.values_mut()) {
            *p = beside(path, p);
        }
        if let Some(category) = c.indexes.keys().find(|k| !crate::directory::CATEGORIES.contains(&k.as_str())) {
            return Err(ConfigError::Invalid { path: path.display().to_string(), problem: format!("[indexes]: unknown category {category:?}") });
        }
        c.limits.check().map_err(|problem| ConfigError::Invalid { path: path.display().to_string(), problem })?;
        Ok(c)
    }
}

impl ClientConfig {
    /// Reads `client.toml`, with its paths made relative to where it lies.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file.
    pub fn load(path: &Path) -> Result<ClientConfig, ConfigError> {
        let mut c: ClientConfig = read(path)?;
        c.signing_key = beside(path, &c.signing_key);
        c.node_public_key = beside(path, &c.node_public_key);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_toml(limits: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("node.toml");
        let text = format!("id = \"XX-NODE\"\nlisten = \"127.0.0.1:0\"\nsigning_key = \"node.key\"\ndirectory = \"authorities.toml\"\naudit_log = \"audit.log\"\ndemands = \"demands.sqlite\"\n{limits}");
        std::fs::write(&path, text).expect("write node.toml");
        (dir, path)
    }

    #[test]
    fn max_in_flight_defaults_to_512_and_must_be_at_least_1() {
        let (_dir, path) = node_toml("");
        assert_eq!(NodeConfig::load(&path).expect("load").limits.max_in_flight, 512);
        let (_dir, path) = node_toml("[limits]\nmax_in_flight = 3\n");
        assert_eq!(NodeConfig::load(&path).expect("load").limits, Limits { max_in_flight: 3, ..Limits::default() });
        let (_dir, path) = node_toml("[limits]\nmax_in_flight = 0\n");
        let e = NodeConfig::load(&path).expect_err("0 takes no request");
        assert!(e.to_string().contains("max_in_flight = 0: must be 1 to"), "{e}");
        assert!(Limits { max_in_flight: Limits::MAX_IN_FLIGHT + 1, ..Limits::default() }.check().is_err());
    }

    #[test]
    fn work_threads_default_to_twice_the_cores_and_zero_is_refused() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let (_dir, path) = node_toml("");
        assert_eq!(NodeConfig::load(&path).expect("defaults").limits.work_threads(), 2 * cores);
        let (_dir, path) = node_toml("[limits]\nwork_threads = 3\n");
        assert_eq!(NodeConfig::load(&path).expect("three").limits.work_threads(), 3);
        let (_dir, path) = node_toml("[limits]\nwork_threads = 0\n");
        let e = NodeConfig::load(&path).expect_err("zero").to_string();
        assert!(e.contains("node.toml") && e.contains("work_threads = 0: must be at least 1"), "{e}");
    }
}
