//! The node's HTTP service (axum on tokio): signed searches, status,
//! health, readiness, metrics and the OpenAPI description.
//!
//! Searches, index status and information demands. Every `/v1/` request
//! except the description must be signed by an
//! authority of the directory ([`signature`]); the node checks the
//! signature, the time window and the nonce, then the authority's access
//! to the category (deny by default), and signs every answer, errors
//! included. Searches run on tokio's blocking pool (the engine is
//! synchronous and CPU-bound) under the request timeout; the audit entry of
//! every exchange is on disk before its answer leaves
//! ([`crate::audit_writer`]). At most `max_in_flight` requests to `/v1/` are
//! worked on at once; beyond, the node answers 503 `overloaded` at once
//! (signed, logged, with `Retry-After`). Client faults get a 4xx with
//! `{"error":{"code","message"}}`; a 5xx means the node itself failed.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use ed25519_dalek::SigningKey;
use hitdex_engine::dna::Profile;
use hitdex_engine::fingerprint::{Encoded, FingerIndex, QueryFinger};
use hitdex_engine::index::container::Category;
use hitdex_engine::index::Index;
use hitdex_engine::keyed::KeyIndex;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::{AuditError, AuditLog, Digest, Outcome, Record, Returned};
use crate::audit_writer::AuditWriter;
use crate::clock::Clock;
use crate::config::{ConfigError, Limits, NodeConfig};
use crate::demand::{self, DemandError, DemandStore};
use crate::message::demand::{AuthorisationDecision, AuthorisationSubmission, Demand, DemandFilter, DemandForm, DemandList, DemandReply};
use crate::directory::{Access, Directory};
use crate::keys::{self, KeyError};
use crate::message::{DnaAnswer, DnaHit, DnaResult, ErrorBody, FingerAnswer, FingerCandidate, FingerResult, Holder, IndexInfo, IndexStatus, KeyAnswer, KeyResult};
use crate::request::{self, DnaRequest, FingerRequest, RequestError};
use crate::metrics::Metrics;
use crate::signature::{self, Received, SignatureError, Verifier};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// `node.toml` or the directory of authorities is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The node's key is unreadable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The audit log cannot be opened (or is damaged).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The demands database cannot be opened.
    #[error(transparent)]
    Demands(#[from] DemandError),
    /// An index cannot be opened.
    #[error("{category} index {path}: {source}")]
    Index {
        /// Its category.
        category: String,
        /// Its directory.
        path: PathBuf,
        /// The engine's error.
        source: hitdex_engine::Error,
    },
}

/// A running node's state, shared by every request.
pub struct Node {
    id: String,
    key: SigningKey,
    directory: Directory,
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    limits: Limits,
    dna: Option<Index>,
    fingerprint: Option<FingerIndex>,
    /// The key-only indexes (vehicle, phone, identity) it serves.
    keyed: std::collections::BTreeMap<String, KeyIndex>,
    metrics: Metrics,
    ready: AtomicBool,
    audit: AuditWriter,
    demands: DemandStore,
    /// A permit per `/v1/` request admitted and not yet logged: `limits.max_in_flight`.
    in_flight: Arc<Semaphore>,
}

/// An answer (200) to a signed request, before it is signed.
struct Answer {
    content_type: &'static str,
    body: Vec<u8>,
    /// What the audit log records of it.
    purpose: String,
    case_reference: String,
    references: Vec<Returned>,
    /// The information demand the answer is about.
    demand: Option<String>,
}

impl Answer {
    /// A search's answer, with what the audit log records of it.
    fn search(content_type: &'static str, body: Vec<u8>, purpose: String, case_reference: String, references: Vec<Returned>) -> Answer {
        Answer { content_type, body, purpose, case_reference, references, demand: None }
    }

    /// A JSON answer that names no reference (status, a list of demands).
    fn plain(body: Vec<u8>) -> Answer {
        Answer::search(JSON, body, String::new(), String::new(), Vec::new())
    }
}

/// A refused request: the status and the JSON error body's code and message.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for a `Retry-After` header, if the client should try again.
    retry_after_s: Option<u32>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { status, code, message: message.into(), retry_after_s: None }
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl From<RequestError> for Refusal {
    fn from(e: RequestError) -> Refusal {
        let status = if matches!(e, RequestError::TooMany { .. }) { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
        Refusal::new(status, e.code(), e.to_string())
    }
}

impl From<SignatureError> for Refusal {
    fn from(e: SignatureError) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
    }
}

const JSON: &str = "application/json";
const NDJSON: &str = "application/x-ndjson";

impl Node {
    /// Opens what `config` names: key, directory, indexes (checked on open
    /// as every index is; the full checksum is [`Node::verify_indexes`]).
    ///
    /// # Errors
    /// [`NodeError`] naming the file at fault.
    pub fn open(config: &NodeConfig, clock: Arc<dyn Clock>) -> Result<Node, NodeError> {
        config.limits.check().map_err(|problem| ConfigError::Invalid { path: "node.toml".into(), problem })?;
        let key = keys::read_signing(&config.signing_key)?;
        let directory = Directory::load(&config.directory)?;
        let log = AuditLog::open(&config.audit_log, key.clone(), Arc::clone(&clock))?;
        let audit = AuditWriter::start(log).map_err(|e| AuditError::io(&config.audit_log, "start the writer thread of", e))?;
        let demands = DemandStore::open_with_policy(&config.demands, Arc::clone(&clock), config.policy)?;
        let dna = match config.indexes.get("dna") {
            Some(path) => Some(Index::open(path).map_err(|source| NodeError::Index { category: "dna".into(), path: path.clone(), source })?),
            None => None,
        };
        let fingerprint = match config.indexes.get("fingerprint") {
            Some(path) => Some(FingerIndex::open(path).map_err(|source| NodeError::Index { category: "fingerprint".into(), path: path.clone(), source })?),
            None => None,
        };
        let mut keyed = std::collections::BTreeMap::new();
        for (category, path) in &config.indexes {
            let Some(cat) = Category::of_name(category).filter(|c| hitdex_engine::keyed::is_keyed(*c)) else { continue };
            let index = KeyIndex::open_category(path, cat).map_err(|source| NodeError::Index { category: category.clone(), path: path.clone(), source })?;
            keyed.insert(category.clone(), index);
        }
        Ok(Node {
            id: config.id.clone(),
            keyed,
            key,
            directory,
            // Nonces are remembered in memory only: signatures made before
            // this start could be replays of requests the last run saw.
            verifier: Verifier::new(config.limits.signature_window_s, clock.now_ms() / 1000),
            clock,
            limits: config.limits,
            dna,
            fingerprint,
            metrics: Metrics::default(),
            ready: AtomicBool::new(false),
            audit,
            demands,
            in_flight: Arc::new(Semaphore::new(config.limits.max_in_flight)),
        })
    }

    /// Checks every shard's checksum; the node is ready once this passed.
    ///
    /// # Errors
    /// The first index that fails, naming it.
    pub fn verify_indexes(&self) -> Result<(), NodeError> {
        if let Some(index) = &self.dna {
            index.verify().map_err(|source| NodeError::Index { category: "dna".into(), path: index.dir().to_path_buf(), source })?;
        }
        if let Some(index) = &self.fingerprint {
            index.verify().map_err(|source| NodeError::Index { category: "fingerprint".into(), path: index.dir().to_path_buf(), source })?;
        }
        for (category, index) in &self.keyed {
            index.verify().map_err(|source| NodeError::Index { category: category.clone(), path: std::path::PathBuf::new(), source })?;
        }
        self.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Whether every index was verified.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn index_status(&self) -> IndexStatus {
        let indexes = self
            .dna
            .iter()
            .map(|index| IndexInfo { category: "dna".into(), records: index.live() as u64, shards: index.shards().len() as u64, verified: self.is_ready() })
            .chain(self.fingerprint.iter().map(|index| IndexInfo { category: "fingerprint".into(), records: index.live() as u64, shards: index.shards().len() as u64, verified: self.is_ready() }))
            .chain(self.keyed.iter().map(|(category, index)| IndexInfo { category: category.clone(), records: index.live() as u64, shards: index.stats().shards as u64, verified: self.is_ready() }))
            .collect();
        IndexStatus { node: self.id.clone(), indexes }
    }

    /// `category`'s index (`index`, if this node serves one), if
    /// `authority` may search it (deny by default); its access.
    fn index_for<'a, T>(&self, authority: &str, category: &str, index: Option<&'a T>) -> Result<(&'a T, Access), Refusal> {
        let access = self.directory.access(authority, category);
        if access == Access::None {
            return Err(Refusal::new(StatusCode::FORBIDDEN, "forbidden", format!("{authority} has no access to the {category} category")));
        }
        let index = index.ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "no_index", format!("this node serves no {category} index")))?;
        Ok((index, access))
    }

    /// The DNA index, if `authority` may search it; its access.
    fn dna_for(&self, authority: &str) -> Result<(&Index, Access), Refusal> {
        self.index_for(authority, "dna", self.dna.as_ref())
    }

    /// The fingerprint index, if `authority` may search it; its access.
    fn fingerprint_for(&self, authority: &str) -> Result<(&FingerIndex, Access), Refusal> {
        self.index_for(authority, "fingerprint", self.fingerprint.as_ref())
    }

    /// `POST /v1/search/fingerprint`: candidate persons per query, with
    /// scores for direct access only.
    fn search_fingerprint(&self, call: &Call) -> Result<Answer, Refusal> {
        let (index, access) = self.fingerprint_for(&call.authority)?;
        let request = request::finger_search(&call.body, self.limits.max_queries)?;
        let results = finger_results(index, &request, access, call.deadline)?;
        let references = finger_returned(&results);
        let body = serde_json::to_vec(&FingerAnswer { node: self.id.clone(), results }).map_err(internal)?;
        Ok(Answer::search(JSON, body, request.purpose, request.case_reference, references))
    }

    /// `POST /v1/batch/fingerprint`: as the search, NDJSON in and out.
    fn batch_fingerprint(&self, call: &Call) -> Result<Answer, Refusal> {
        let (index, access) = self.fingerprint_for(&call.authority)?;
        let request = request::finger_batch(&call.body, self.limits.max_batch)?;
        let results = finger_results(index, &request, access, call.deadline)?;
        let out = ndjson(&results)?;
        let references = finger_returned(&results);
        Ok(Answer::search(NDJSON, out, request.purpose, request.case_reference, references))
    }

    fn search_dna(&self, call: &Call) -> Result<Answer, Refusal> {
        let (index, access) = self.dna_for(&call.authority)?;
        let request = request::dna_search(&call.body, self.limits.max_queries, self.limits.min_loci)?;
        let results = search(index, &request, access)?;
        let references = returned(&results);
        let body = serde_json::to_vec(&DnaAnswer { node: self.id.clone(), results }).map_err(internal)?;
        Ok(Answer::search(JSON, body, request.purpose, request.case_reference, references))
    }

    /// `POST /v1/search/{vehicle|phone|identity}`: hit or no hit, and who
    /// holds the record, whatever the access (there is nothing more).
    fn search_keyed(&self, call: &Call) -> Result<Answer, Refusal> {
        let category = call.param.as_str();
        let (index, _) = self.index_for(&call.authority, category, self.keyed.get(category))?;
        let request = request::key_search(&call.body, self.limits.max_queries, category)?;
        let keys = request.values.iter().map(|values| values.iter().map(|v| index.key(v)).collect::<Result<Vec<_>, _>>()).collect::<Result<Vec<_>, _>>().map_err(internal)?;
        let found = index.search_queries(&keys).map_err(internal)?;
        let results: Vec<KeyResult> = request.names.into_iter().zip(found).map(|(query, hits)| KeyResult { query, hits: hits.into_iter().map(|h| Holder { reference: h.reference, authority: h.authority }).collect() }).collect();
        let references = results.iter().flat_map(|r| &r.hits).map(|h| Returned { authority: h.authority.clone(), reference: h.reference.clone() }).collect();
        let body = serde_json::to_vec(&KeyAnswer { node: self.id.clone(), results }).map_err(internal)?;
        Ok(Answer::search(JSON, body, request.purpose, request.case_reference, references))
    }

    fn batch_dna(&self, call: &Call) -> Result<Answer, Refusal> {
        let (index, access) = self.dna_for(&call.authority)?;
        let request = request::dna_batch(&call.body, self.limits.max_batch, self.limits.min_loci)?;
        let results = search(index, &request, access)?;
        let out = ndjson(&results)?;
        let references = returned(&results);
        Ok(Answer::search(NDJSON, out, request.purpose, request.case_reference, references))
    }

    /// Any authority of the directory may see what the node serves.
    fn status(&self, _call: &Call) -> Result<Answer, Refusal> {
        let body = serde_json::to_vec(&self.index_status()).map_err(internal)?;
        Ok(Answer::plain(body))
    }

    /// `POST /v1/demands`: an authority may ask for data of the categories
    /// it has access to, from another authority of the directory.
    fn demand_create(&self, call: &Call) -> Result<Answer, Refusal> {
        let form: DemandForm = demand::parse_json(&call.body)?;
        if self.directory.authority(&form.designated_authority).is_none() || form.designated_authority == call.authority {
            return Err(Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", format!("designated_authority {:?} must be another authority of the directory", form.designated_authority)));
        }
        // Deny by default: data of a category only to an authority with access to it.
        if let Some(c) = form.data_categories.iter().find(|c| self.directory.access(&call.authority, c.as_str()) == Access::None) {
            return Err(Refusal::new(StatusCode::FORBIDDEN, "forbidden", format!("{} has no access to the {} category", call.authority, c.as_str())));
        }
        let d = self.demands.create(form, &call.authority)?;
        Ok(demand_answer(&d, serde_json::to_vec(&d).map_err(internal)?))
    }

    /// `GET /v1/demands`: the demands the authority sent or must answer.
    fn demand_list(&self, call: &Call) -> Result<Answer, Refusal> {
        let filter: DemandFilter = serde_urlencoded::from_str(&call.query).map_err(|e| Refusal::bad("invalid_query", format!("query string: {e}")))?;
        let demands = self.demands.list_for(&filter, Some(&call.authority))?;
        let body = serde_json::to_vec(&DemandList { demands }).map_err(internal)?;
        Ok(Answer::plain(body))
    }

    /// A demand the authority may see: one it sent or must answer (others
    /// are not found, so their existence is not disclosed either).
    fn visible_demand(&self, id: &str, authority: &str) -> Result<Demand, Refusal> {
        let d = self.demands.get(id)?;
        if concerns(&d, authority) {
            Ok(d)
        } else {
            Err(Refusal::new(StatusCode::NOT_FOUND, "not_found", format!("no demand {id}")))
        }
    }

    /// `GET /v1/demands/{id}`.
    fn demand_get(&self, call: &Call) -> Result<Answer, Refusal> {
        let d = self.visible_demand(&call.param, &call.authority)?;
        Ok(demand_answer(&d, serde_json::to_vec(&d).map_err(internal)?))
    }

    /// `POST /v1/demands/{id}/answer`: the designated authority replies
    /// (the store checks who acts).
    fn demand_answer(&self, call: &Call) -> Result<Answer, Refusal> {
        self.visible_demand(&call.param, &call.authority)?;
        let reply: DemandReply = demand::parse_json(&call.body)?;
        let d = self.demands.answer(&call.param, &call.authority, reply)?;
        Ok(demand_answer(&d, serde_json::to_vec(&d).map_err(internal)?))
    }

    /// `POST /v1/demands/{id}/authorisation`: the designated authority
    /// submits the demand to the authorising body.
    fn demand_submit(&self, call: &Call) -> Result<Answer, Refusal> {
        self.visible_demand(&call.param, &call.authority)?;
        let submission: AuthorisationSubmission = demand::parse_json(&call.body)?;
        // The directory, not the submitter, says who is an authorising
        // body and whether it is judicial.
        match self.directory.authority(&submission.authorising_body) {
            Some(body) if body.judicial == submission.judicial => {}
            Some(_) => return Err(Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", format!("{} is {}a judicial authority in the directory", submission.authorising_body, if submission.judicial { "not " } else { "" }))),
            None => return Err(Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", format!("authorising_body {} is not in the directory", submission.authorising_body))),
        }
        let d = self.demands.submit_for_authorisation(&call.param, &call.authority, submission)?;
        Ok(demand_answer(&d, serde_json::to_vec(&d).map_err(internal)?))
    }

    /// `POST /v1/demands/{id}/decision`: the authorising body the demand was
    /// submitted to decides.
    fn demand_decide(&self, call: &Call) -> Result<Answer, Refusal> {
        self.visible_demand(&call.param, &call.authority)?;
        let decision: AuthorisationDecision = demand::parse_json(&call.body)?;
        let d = self.demands.authorise(&call.param, &call.authority, decision)?;
        Ok(demand_answer(&d, serde_json::to_vec(&d).map_err(internal)?))
    }

    /// Signs an answer to the request that carried `nonce`.
    fn respond(&self, status: StatusCode, content_type: &str, body: Vec<u8>, nonce: &str) -> Response {
        let h = signature::sign_response(&self.key, &self.id, status.as_u16(), &body, self.clock.now_ms() / 1000, nonce);
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .header("content-digest", h.content_digest)
            .header("signature-input", h.signature_input)
            .header("signature", h.signature)
            .body(Body::from(body))
            .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the answer's headers could not be built"))
    }

    /// `result`, once the audit log holds its entry; an internal error if
    /// the entry cannot be written.
    async fn logged(&self, exchange: &Exchange, requester: String, query_digest: Digest, result: Result<Answer, Refusal>) -> Result<Answer, Refusal> {
        let record = Node::record(exchange, requester, query_digest, result.as_ref());
        match self.audit.append(&record).await {
            Ok(_) => result,
            Err(e) => Err(internal(format!("audit log: {e}"))),
        }
    }

    /// The audit record of one exchange.
    fn record(exchange: &Exchange, requester: String, query_digest: Digest, result: Result<&Answer, &Refusal>) -> Record {
        let (purpose, case_reference, references, outcome) = match result {
            Ok(a) => (a.purpose.clone(), a.case_reference.clone(), a.references.clone(), Outcome::Answered { hits: a.references.len().min(u32::MAX as usize) as u32 }),
            Err(r) => (String::new(), String::new(), Vec::new(), Outcome::Refused { status: r.status.as_u16(), code: r.code.to_string() }),
        };
        // The demand the answer names (the new one, for `POST /v1/demands`),
        // else the one the path names, refused requests included, if it
        // has the form of an id.
        let demand = result.ok().and_then(|a| a.demand.clone()).or_else(|| (exchange.category == "demand" && demand::is_id(&exchange.param)).then(|| exchange.param.clone()));
        Record { requester, purpose, case_reference, category: exchange.category.clone(), action: exchange.action.to_string(), demand, query_digest, references, outcome }
    }

    /// Closes the audit log with a last signed checkpoint.
    ///
    /// # Errors
    /// If the checkpoint cannot be written.
    pub fn close(self) -> Result<(), AuditError> {
        self.audit.close()
    }

    fn refuse(&self, r: &Refusal, nonce: &str) -> Response {
        self.metrics.refusal(r.code);
        let body = serde_json::to_vec(&ErrorBody::new(r.code, r.message.clone())).unwrap_or_default();
        let mut response = self.respond(r.status, JSON, body, nonce);
        if let Some(seconds) = r.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// Whether `authority` sent the demand, must answer it, or was asked to
/// authorise it (as [`DemandStore::list_for`] selects).
fn concerns(d: &Demand, authority: &str) -> bool {
    d.received_from == authority || d.form.designated_authority == authority || d.authorisations.iter().any(|a| a.authorising_body == authority)
}

/// A demand as an answer: the audit log names the record it is about.
fn demand_answer(d: &Demand, body: Vec<u8>) -> Answer {
    let references = d.form.hit.iter().map(|h| Returned { authority: d.form.designated_authority.clone(), reference: h.reference.clone() }).collect();
    Answer { content_type: JSON, body, purpose: d.form.purpose.clone(), case_reference: d.form.case_reference.clone(), references, demand: Some(d.id.clone()) }
}

impl From<DemandError> for Refusal {
    fn from(e: DemandError) -> Refusal {
        match StatusCode::from_u16(e.http_status()) {
            Ok(status) if status.is_client_error() => Refusal::new(status, e.code(), e.to_string()),
            _ => internal(e),
        }
    }
}

/// `results` as NDJSON, a line each.
fn ndjson<T: serde::Serialize>(results: &[T]) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    for r in results {
        serde_json::to_writer(&mut out, r).map_err(internal)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Every hit of `results`, as the audit log names references.
fn returned(results: &[DnaResult]) -> Vec<Returned> {
    results.iter().flat_map(|r| &r.hits).map(|h| Returned { authority: h.authority.clone(), reference: h.reference.clone() }).collect()
}

/// A failure of the node itself: the detail (paths, causes) goes to the
/// node's standard error, the partner gets a generic message.
fn internal(e: impl std::fmt::Display) -> Refusal {
    eprintln!("hitdex serve: internal error: {e}");
    Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the node failed to answer; its operator has the details")
}

/// The results of `request`'s queries, in order; a query that does not
/// constrain enough loci ([`request::is_searchable`]) gets no hits.
fn search(index: &Index, request: &DnaRequest, access: Access) -> Result<Vec<DnaResult>, Refusal> {
    let (profiles, params) = (&request.profiles, &request.params);
    let searchable: Vec<bool> = profiles.iter().map(|p| request::is_searchable(p, params.min_loci)).collect();
    let asked: Vec<Profile> = profiles.iter().zip(&searchable).filter(|(_, &s)| s).map(|(p, _)| p.clone()).collect();
    // One query runs on this (blocking-pool) thread: the node runs many
    // requests at once, so fanning a query out to the thread pool would
    // only add hand-offs.
    let mut found = if asked.len() == 1 { vec![index.search_here(&asked[0], params).map_err(internal)?] } else { index.search_batch(&asked, params, &|_| {}).map_err(internal)? }.into_iter();
    let answers: Vec<Vec<hitdex_engine::dna::Hit>> = searchable.iter().map(|&s| if s { found.next().unwrap_or_default() } else { Vec::new() }).collect();
    Ok(profiles
        .iter()
        .zip(answers)
        .map(|(p, hits)| DnaResult {
            query: p.reference.clone(),
            hits: hits
                .into_iter()
                .map(|h| {
                    let direct = access == Access::Direct;
                    DnaHit {
                        quality: direct.then(|| h.quality.as_str().to_string()),
                        matching_loci: direct.then_some(h.matching_loci),
                        compared_loci: direct.then_some(h.compared_loci),
                        differing_locus: h.differing_locus.filter(|_| direct).map(|l| l.name().to_string()),
                        reference: h.reference,
                        authority: h.authority,
                    }
                })
                .collect(),
        })
        .collect())
}

/// The candidates of `request`'s queries, in order. Direct access gets
/// what `hitdex search fingerprint` prints (best finger, fused score, and
/// per query finger for a query of several); index-only access only who
/// holds each candidate's record. A fingerprint query costs far more than
/// a DNA one, so the queries stop at the `deadline` (the work cannot be
/// cancelled from outside).
fn finger_results(index: &FingerIndex, request: &FingerRequest, access: Access, deadline: Instant) -> Result<Vec<FingerResult>, Refusal> {
    let direct = access == Access::Direct;
    request
        .names
        .iter()
        .zip(&request.queries)
        .map(|(name, query)| {
            if Instant::now() > deadline {
                return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the fingerprint queries did not finish within the request timeout"));
            }
            let query: Vec<QueryFinger> = query.iter().map(|(finger, template)| QueryFinger { finger: *finger, template: Encoded::new(template) }).collect();
            let found = index.search(&query, &request.params).map_err(internal)?;
            let positions: Vec<u8> = query.iter().map(|f| f.finger).collect();
            let candidates = found.into_iter().map(|c| FingerCandidate::new(c, &positions, direct)).collect();
            Ok(FingerResult { query: name.clone(), candidates })
        })
        .collect()
}

/// Every candidate of `results`, as the audit log names references.
fn finger_returned(results: &[FingerResult]) -> Vec<Returned> {
    results.iter().flat_map(|r| &r.candidates).map(|c| Returned { authority: c.authority.clone(), reference: c.reference.clone() }).collect()
}

/// The handler of a signed route: `pick` turns the path parameter (a
/// category, a demand id; empty when the route has none) into the audit
/// log's category and the work to run.
macro_rules! signed_route {
    ($route:expr, $action:expr, $pick:expr) => {
        |State(node): State<Arc<Node>>, param: Result<UrlPath<String>, PathRejection>, method: Method, uri: Uri, headers: HeaderMap, body: Body| async move {
            let param = param.map(|p| p.0).unwrap_or_default();
            let pick: fn(&str) -> (String, Work) = $pick;
            let (category, work) = pick(&param);
            signed(node, Exchange { route: $route, category, action: $action, param }, method, uri, headers, body, work).await
        }
    };
}

/// The routes, for [`serve`] and for tests that drive the service in-process.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/search/{category}", post(signed_route!("/v1/search/{category}", "search", |c| (known(c), search_work(c)))))
        .route("/v1/batch/{category}", post(signed_route!("/v1/batch/{category}", "batch", |c| (known(c), batch_work(c)))))
        .route("/v1/index/status", get(signed_route!("/v1/index/status", "status", |_| (String::new(), Node::status))))
        .route("/v1/demands", post(signed_route!("/v1/demands", "demand", |_| demand(Node::demand_create))).get(signed_route!("/v1/demands", "list", |_| demand(Node::demand_list))))
        .route("/v1/demands/{id}", get(signed_route!("/v1/demands/{id}", "read", |_| demand(Node::demand_get))))
        .route("/v1/demands/{id}/answer", post(signed_route!("/v1/demands/{id}/answer", "answer", |_| demand(Node::demand_answer))))
        .route("/v1/demands/{id}/authorisation", post(signed_route!("/v1/demands/{id}/authorisation", "authorisation", |_| demand(Node::demand_submit))))
        .route("/v1/demands/{id}/decision", post(signed_route!("/v1/demands/{id}/decision", "decision", |_| demand(Node::demand_decide))))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready_route))
        .route("/metrics", get(metrics_route))
        .route("/v1/openapi.json", get(|| async { ([(header::CONTENT_TYPE, JSON)], crate::message::openapi()) }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(node)
}


fn search_work(category: &str) -> Work {
    match category {
        "dna" => Node::search_dna,
        "fingerprint" => Node::search_fingerprint,
        "vehicle" | "phone" | "identity" => Node::search_keyed,
        _ => unserved,
    }
}

fn batch_work(category: &str) -> Work {
    match category {
        "dna" => Node::batch_dna,
        "fingerprint" => Node::batch_fingerprint,
        _ => unserved,
    }
}

fn demand(work: Work) -> (String, Work) {
    ("demand".to_string(), work)
}

/// `category` if it is one of SPEC's, else empty: the audit log records
/// no text an unauthenticated client made up.
fn known(category: &str) -> String {
    if crate::directory::CATEGORIES.contains(&category) { category.to_string() } else { String::new() }
}

fn unserved(_: &Node, _: &Call) -> Result<Answer, Refusal> {
    Err(Refusal::new(StatusCode::NOT_FOUND, "no_index", "this node serves searches of the dna, fingerprint, vehicle, phone and identity categories (batches: dna, fingerprint)"))
}

/// One signed request, as the work behind a route sees it.
struct Call {
    /// The authority whose signature was checked.
    authority: String,
    /// The path parameter of the route (a category, a demand id), if any.
    param: String,
    /// The query string, if any.
    query: String,
    /// The body.
    body: axum::body::Bytes,
    /// When searches are abandoned (the request timeout from when the body
    /// was read).
    deadline: Instant,
}

type Work = fn(&Node, &Call) -> Result<Answer, Refusal>;

async fn ready_route(State(node): State<Arc<Node>>) -> Response {
    if node.is_ready() {
        plain(StatusCode::OK, "ready\n")
    } else {
        error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the indexes are still being verified")
    }
}

async fn metrics_route(State(node): State<Arc<Node>>) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Body::from(node.metrics.render(node.limits.max_in_flight.saturating_sub(node.in_flight.available_permits()), node.limits.max_in_flight)))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

async fn not_found(uri: Uri) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", format!("no such path: {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not allowed on {}", uri.path()))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(&ErrorBody::new(code, message)).unwrap_or_default()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(JSON));
    r
}

/// What a signed request is, for the metrics and the audit log.
struct Exchange {
    /// The route pattern (a metrics label).
    route: &'static str,
    /// The category searched, if any.
    category: String,
    /// `search`, `batch`, `status`, ...
    action: &'static str,
    /// The route's path parameter (category, demand id), if any.
    param: String,
}

/// Takes one of the `max_in_flight` permits (none left: a 503 `overloaded`
/// at once, logged), checks the signature, reads the body (at most the
/// limit), runs `work` under the timeout, logs the exchange in the audit
/// log (answered or refused) before answering, signs the answer, counts it.
/// An answer whose log entry cannot be written is not given (500): no
/// lookup goes untraced. The work runs on tokio's blocking pool (the engine
/// is synchronous and CPU-bound); past the timeout the partner gets a 503
/// (logged as such) while the work, which cannot be cancelled, ends
/// unheard. A panic in the work is an internal error.
async fn signed(node: Arc<Node>, exchange: Exchange, method: Method, uri: Uri, headers: HeaderMap, body: Body, work: Work) -> Response {
    let started = Instant::now();
    let claimed_nonce = claimed(&headers, "nonce");
    // The request is worked on and logged in a task of its own, which goes
    // on if the client hangs up (hyper then drops this handler): every
    // request the node takes in is logged, every lookup made with it.
    let route = exchange.route;
    let task = {
        let node = Arc::clone(&node);
        tokio::spawn(async move {
            // First, so that a request over the limit costs nothing but its
            // log entry: no signature check, no body read.
            match Arc::clone(&node.in_flight).try_acquire_owned() {
                Ok(permit) => admit_and_run(&node, &exchange, method, &uri, &headers, body, work, permit).await,
                Err(_) => (None, overloaded(&node, &exchange, &headers).await),
            }
        })
    };
    let (nonce, result) = task.await.unwrap_or_else(|e| (None, Err(internal(e))));
    let nonce = nonce.as_deref().or(claimed_nonce.as_deref()).unwrap_or("none");
    let response = match result {
        Ok(answer) => {
            node.metrics.hits(answer.references.len() as u64);
            node.respond(StatusCode::OK, answer.content_type, answer.body, nonce)
        }
        Err(refusal) => node.refuse(&refusal, nonce),
    };
    node.metrics.request(route, response.status().as_u16(), started.elapsed());
    response
}

/// A parameter (`keyid`, `nonce`) a request's signature claims, before or
/// without a valid signature: to log a refusal under the claimed authority
/// and to echo the claimed nonce, so the client can match the refusal.
fn claimed(headers: &HeaderMap, name: &str) -> Option<String> {
    let input = headers.get("signature-input")?.to_str().ok()?;
    let prefix = format!("{name}=\"");
    input.split(';').find_map(|p| p.strip_prefix(&prefix)).and_then(|k| k.strip_suffix('"')).filter(|k| crate::directory::is_valid_id(k)).map(str::to_string)
}

/// The refusal of a request over `max_in_flight`, logged as every refusal
/// is (from the headers: the body is not read).
async fn overloaded(node: &Arc<Node>, exchange: &Exchange, headers: &HeaderMap) -> Result<Answer, Refusal> {
    let message = format!("the node is working on as many requests as it takes at once ({}); try again shortly", node.limits.max_in_flight);
    let refusal = Refusal { retry_after_s: Some(1), ..Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", message) };
    node.logged(exchange, claimed(headers, "keyid").unwrap_or_default(), Digest::of(b""), Err(refusal)).await
}

/// `permit` is held until the request's log entry is written, and by the
/// work until it ends when it outlives the timeout: work the node cannot
/// cancel still counts against `max_in_flight`.
#[allow(clippy::too_many_arguments)]
async fn admit_and_run(node: &Arc<Node>, exchange: &Exchange, method: Method, uri: &Uri, headers: &HeaderMap, body: Body, work: Work, permit: OwnedSemaphorePermit) -> (Option<String>, Result<Answer, Refusal>) {
    let permit = Arc::new(permit);
    let limit = node.limits.max_body_bytes;
    let refused = |digest: Digest, refusal: Refusal| node.logged(exchange, claimed(headers, "keyid").unwrap_or_default(), digest, Err(refusal));
    // Who signed, when, for which node, and the nonce: all from the
    // headers, before a byte of the body is read, so that no one without a
    // key can make the node buffer bodies.
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let received = Received { content_digest: header("content-digest"), signature_input: header("signature-input"), signature: header("signature") };
    let target = uri.path_and_query().map_or(uri.path(), |t| t.as_str());
    let unread = Digest::of(b"");
    let claim = match signature::check_request_headers(method.as_str(), target, received, |id| node.directory.authority(id).map(|a| a.key)) {
        Ok(claim) => claim,
        Err(e) => return (None, refused(unread, e.into()).await),
    };
    if claim.node != node.id {
        return (Some(claim.nonce), refused(unread, SignatureError::WrongNode(claim.node).into()).await);
    }
    if let Err(e) = node.verifier.admit(&claim, node.clock.now_ms() / 1000) {
        return (Some(claim.nonce), refused(unread, e.into()).await);
    }
    let timeout = Duration::from_millis(node.limits.request_timeout_ms);
    let bytes = match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let refusal = Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("the body is over the limit of {limit} bytes"));
            return (Some(claim.nonce), refused(unread, refusal).await);
        }
        Ok(Err(e)) => return (Some(claim.nonce), refused(unread, Refusal::bad("unreadable_body", e.to_string())).await),
        Err(_) => return (Some(claim.nonce), refused(unread, Refusal::bad("slow_body", format!("the body did not arrive within {} ms", timeout.as_millis()))).await),
    };
    // One hash of the body serves the signed digest and the audit log.
    let hash = blake3::hash(&bytes);
    let digest = Digest(*hash.as_bytes());
    if let Err(e) = signature::check_hash(&hash, received) {
        return (Some(claim.nonce), refused(digest, e.into()).await);
    }
    // Searches are abandoned at the deadline (the partner gets a 503; the
    // work, which cannot be cancelled, ends unheard, or does not start if
    // it is still queued then). Demands change state: their work (SQLite,
    // milliseconds) is awaited to its end, so that the log says what was
    // done.
    let deadline = Instant::now() + timeout;
    let abandon = exchange.category != "demand";
    let call = Call { authority: claim.keyid.clone(), param: exchange.param.clone(), query: uri.query().unwrap_or_default().to_string(), body: bytes, deadline };
    let timed_out = move || Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", format!("no answer within {} ms", timeout.as_millis()));
    let (task_node, job_permit) = (Arc::clone(node), Arc::clone(&permit));
    let job = move || {
        let _in_flight = job_permit;
        if abandon && Instant::now() > call.deadline {
            return Err(timed_out());
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&task_node, &call))).unwrap_or_else(|_| Err(internal("a request's work panicked")))
    };
    let job = tokio::task::spawn_blocking(job);
    let joined = if abandon { tokio::time::timeout_at(deadline.into(), job).await.unwrap_or_else(|_| Ok(Err(timed_out()))) } else { job.await };
    let result = joined.unwrap_or_else(|e| Err(internal(e)));
    (Some(claim.nonce), node.logged(exchange, claim.keyid, digest, result).await)
}

/// A bound listening socket: TCP, or a Unix socket for `unix:PATH`.
pub enum Listener {
    /// `host:port`.
    Tcp(tokio::net::TcpListener),
    /// `unix:PATH`.
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Listener {
    /// Binds `listen` (`host:port` or `unix:PATH`; a stale socket file is replaced).
    ///
    /// # Errors
    /// The operating system's error.
    pub async fn bind(listen: &str) -> std::io::Result<Listener> {
        match listen.strip_prefix("unix:") {
            Some(path) => {
                let path = PathBuf::from(path);
                // Replace a stale socket, never another kind of file.
                use std::os::unix::fs::FileTypeExt;
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.file_type().is_socket() => std::fs::remove_file(&path)?,
                    Ok(_) => return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{} exists and is not a socket", path.display()))),
                    Err(_) => {}
                }
                Ok(Listener::Unix(tokio::net::UnixListener::bind(&path)?, path))
            }
            None => Ok(Listener::Tcp(tokio::net::TcpListener::bind(listen).await?)),
        }
    }

    /// Where it listens, as a URL or `unix:PATH`.
    pub fn address(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map_or_else(|e| format!("(unknown: {e})"), |a| format!("http://{a}")),
            Listener::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }
}

/// Serves `node` on `listener` until `shutdown` completes, verifying the
/// indexes in the background meanwhile (`/readyz` says when that is done).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(node: Arc<Node>, listener: Listener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let verifying = Arc::clone(&node);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = verifying.verify_indexes() {
            eprintln!("hitdex serve: not ready: {e}");
        }
    });
    let app = router(Arc::clone(&node));
    let served = match listener {
        Listener::Tcp(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await,
        Listener::Unix(l, _) => axum::serve(l, app).with_graceful_shutdown(shutdown).await,
    };
    // Every request is answered; close the log with a signed checkpoint
    // (dropping it would too, but could not report a failure).
    if let Ok(node) = Arc::try_unwrap(node) {
        node.close().map_err(std::io::Error::other)?;
    }
    served
}
