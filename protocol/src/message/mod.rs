//! Every message type of the node protocol (SPEC section 6), and the
//! OpenAPI description generated from them ([`openapi`]).
//!
//! Inputs refuse unknown fields, so a misspelt option is an error rather
//! than silently ignored. Answers of a search mirror `hitdex search`'s
//! NDJSON lines field for field.

pub mod demand;

use std::collections::BTreeMap;

use hitdex_engine::fingerprint::Candidate;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

/// Fewest matching loci for a DNA hit when a request does not say.
pub const DEFAULT_MIN_LOCI: u8 = 6;

fn default_min_loci() -> u8 {
    DEFAULT_MIN_LOCI
}

/// Why a request is made: logged with every search (SPEC section 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// The purpose of the search, e.g. "prevention and investigation of
    /// criminal offences".
    pub purpose: String,
    /// The requester's case reference.
    pub case_reference: String,
}

/// `POST /v1/search/dna`: one or more query profiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaSearch {
    /// See [`Purpose`].
    pub purpose: String,
    /// See [`Purpose`].
    pub case_reference: String,
    /// The query profiles.
    pub queries: Vec<DnaQuery>,
    /// Fewest matching loci for a hit (default 6).
    #[serde(default = "default_min_loci")]
    pub min_loci: u8,
    /// Turn off the microvariant tolerance.
    #[serde(default)]
    pub exact_microvariants: bool,
}

/// First line of `POST /v1/batch/dna`: what every following query line shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaBatchHeader {
    /// See [`Purpose`].
    pub purpose: String,
    /// See [`Purpose`].
    pub case_reference: String,
    /// Fewest matching loci for a hit (default 6).
    #[serde(default = "default_min_loci")]
    pub min_loci: u8,
    /// Turn off the microvariant tolerance.
    #[serde(default)]
    pub exact_microvariants: bool,
}

/// One query profile: its name and a genotype per locus, written as in the
/// DNA CSV (`15/16`, `15`, `*/16`; loci not named are untyped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaQuery {
    /// The query's name, echoed in its answer.
    pub query: String,
    /// Genotype text per locus name (any accepted spelling).
    pub loci: BTreeMap<String, String>,
}

/// The answer to one query: its hits, best first (as `hitdex search dna`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaResult {
    /// The query's name.
    pub query: String,
    /// Its hits; empty for no hit.
    pub hits: Vec<DnaHit>,
}

/// One hit. With index-only access only `reference` and `authority` are
/// given: whether there is a hit and who holds the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaHit {
    /// Reference number of the record.
    pub reference: String,
    /// The designated authority holding it.
    pub authority: String,
    /// `full` or `near` (direct access only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// Loci that match (direct access only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_loci: Option<u8>,
    /// Loci typed in both (direct access only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_loci: Option<u8>,
    /// The one locus that differs in a near match (direct access only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differing_locus: Option<String>,
}

/// The answer of `POST /v1/search/dna`: one result per query, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaAnswer {
    /// The node that answered.
    pub node: String,
    /// One result per query, in input order.
    pub results: Vec<DnaResult>,
}

/// `POST /v1/search/{vehicle|phone|identity}`: exact-key hit/no-hit
/// queries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySearch {
    /// See [`Purpose`].
    pub purpose: String,
    /// See [`Purpose`].
    pub case_reference: String,
    /// The queries.
    pub queries: Vec<KeyQuery>,
}

/// One key-only query: the fields of its category only (`vehicle`: plate
/// and/or VIN; `phone`: number, with a region for national numbers;
/// `identity`: family name, given names, date of birth `YYYY-MM-DD`),
/// normalised by the node as the CSV import does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyQuery {
    /// The query's name, echoed in its answer.
    pub query: String,
    /// Registration plate (vehicle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    /// Vehicle identification number (vehicle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<String>,
    /// Telephone number (phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// ISO 3166 region of a national phone number (phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Family name (identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Given names (identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_names: Option<String>,
    /// Date of birth, `YYYY-MM-DD` (identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
}

/// Who holds a record a key-only query hit: never more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// Reference number of the record.
    pub reference: String,
    /// The designated authority holding it.
    pub authority: String,
}

/// The answer to one key-only query (as `hitdex search vehicle` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyResult {
    /// The query's name.
    pub query: String,
    /// The records hit; empty for no hit.
    pub hits: Vec<Holder>,
}

/// The answer of `POST /v1/search/{vehicle|phone|identity}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAnswer {
    /// The node that answered.
    pub node: String,
    /// One result per query, in input order.
    pub results: Vec<KeyResult>,
}

/// Candidates per fingerprint query when a request does not say: exchange
/// practice is at most 10 for a latent against ten-prints (and 1 for a
/// ten-print against ten-prints, which a requester asks for with
/// `max_candidates: 1`).
pub const DEFAULT_MAX_CANDIDATES: u32 = 10;

/// Most candidates per fingerprint query a request may ask for.
pub const MAX_CANDIDATES: u32 = 100;

/// Most fingers in one fingerprint query: a person has ten.
pub const MAX_FINGERS: usize = 10;

fn default_max_candidates() -> u32 {
    DEFAULT_MAX_CANDIDATES
}

/// `POST /v1/search/fingerprint`: one or more queries (a latent, a
/// ten-print card), each of one to ten fingers, searched against the
/// persons of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerSearch {
    /// See [`Purpose`].
    pub purpose: String,
    /// See [`Purpose`].
    pub case_reference: String,
    /// The queries.
    pub queries: Vec<FingerQuery>,
    /// Most candidates per query, best first (default 10, at most 100;
    /// exchange practice: 1 for a ten-print against ten-prints, 10 for a
    /// latent).
    #[serde(default = "default_max_candidates")]
    pub max_candidates: u32,
    /// Lowest fused score of a candidate, 0 to 1 (default 0: the best
    /// `max_candidates` whatever their score).
    #[serde(default)]
    pub threshold: f32,
}

/// First line of `POST /v1/batch/fingerprint`: what every following query
/// line shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerBatchHeader {
    /// See [`Purpose`].
    pub purpose: String,
    /// See [`Purpose`].
    pub case_reference: String,
    /// As [`FingerSearch::max_candidates`].
    #[serde(default = "default_max_candidates")]
    pub max_candidates: u32,
    /// As [`FingerSearch::threshold`].
    #[serde(default)]
    pub threshold: f32,
}

/// One fingerprint query: its name and its fingers. A query of several
/// fingers (a ten-print card) scores each candidate person by the mean of
/// the per-finger scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerQuery {
    /// The query's name, echoed in its answer.
    pub query: String,
    /// One to ten fingers.
    pub fingers: Vec<FingerTemplate>,
}

/// One finger of a query: its position and its minutiae template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerTemplate {
    /// ISO/IEC 19794-2 finger position: 1 right thumb ... 10 left little,
    /// 0 unknown (a latent: compared with every finger). Of a record with
    /// several finger views, the view at this position is searched; with
    /// 0, a record's only view at the position it states.
    pub finger: u8,
    /// The template's format.
    pub format: TemplateFormat,
    /// The template file's bytes, base64 (RFC 4648, with padding).
    pub template: String,
}

/// The format of a [`FingerTemplate`]'s bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateFormat {
    /// An ISO/IEC 19794-2:2005 finger minutiae record.
    Iso,
    /// An ANSI INCITS 378-2004 finger minutiae record.
    Ansi,
    /// NIST `xyt` text (`x y theta [quality]` per line, origin bottom-left).
    Xyt,
    /// An ANSI/NIST-ITL transaction file (the minutiae of its Type-9 records).
    An2k,
}

impl From<TemplateFormat> for hitdex_formats::fingerprint::Format {
    fn from(f: TemplateFormat) -> Self {
        use hitdex_formats::fingerprint::Format;
        match f {
            TemplateFormat::Iso => Format::Iso,
            TemplateFormat::Ansi => Format::Ansi,
            TemplateFormat::Xyt => Format::Xyt,
            TemplateFormat::An2k => Format::An2k,
        }
    }
}

impl From<hitdex_formats::fingerprint::Format> for TemplateFormat {
    fn from(f: hitdex_formats::fingerprint::Format) -> Self {
        use hitdex_formats::fingerprint::Format;
        match f {
            Format::Iso => TemplateFormat::Iso,
            Format::Ansi => TemplateFormat::Ansi,
            Format::Xyt => TemplateFormat::Xyt,
            Format::An2k => TemplateFormat::An2k,
        }
    }
}

/// The answer to one fingerprint query: candidate persons, best first (as
/// `hitdex search fingerprint` prints them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerResult {
    /// The query's name.
    pub query: String,
    /// Its candidates; empty for none.
    pub candidates: Vec<FingerCandidate>,
}

/// One candidate person. With index-only access only `reference` and
/// `authority` are given: who holds the record of a possible hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerCandidate {
    /// Reference number of the person's record.
    pub reference: String,
    /// The designated authority holding it.
    pub authority: String,
    /// The position of the person's finger that scored best (direct access
    /// only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finger: Option<u8>,
    /// Fused score, 0 to 1 (direct access only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Per query finger, in query order, the person's best finger and its
    /// score (direct access, queries of several fingers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingers: Option<Vec<FingerScore>>,
}

impl FingerCandidate {
    /// The wire form of the engine's candidate for a query whose fingers
    /// were searched at `positions`: with `direct` access every field of
    /// `hitdex search fingerprint`'s line (the best finger chosen as its
    /// printer does), else reference and authority only.
    pub fn new(c: Candidate, positions: &[u8], direct: bool) -> FingerCandidate {
        if !direct {
            return FingerCandidate { reference: c.reference, authority: c.authority, finger: None, score: None, fingers: None };
        }
        let finger = hitdex_formats::ndjson::best_finger(&c).map(|f| f.0);
        let fingers = (positions.len() > 1).then(|| positions.iter().zip(&c.fingers).map(|(&q, s)| FingerScore { query_finger: q, finger: s.map(|s| s.0), score: s.map(|s| s.1) }).collect());
        FingerCandidate { reference: c.reference, authority: c.authority, finger, score: Some(c.score), fingers }
    }

    /// The engine's candidate back, for the printer of `hitdex search
    /// fingerprint`; `None` without a score (index-only access).
    pub fn candidate(&self) -> Option<Candidate> {
        let score = self.score?;
        let fingers = match &self.fingers {
            Some(per) => per.iter().map(|f| f.finger.zip(f.score)).collect(),
            // One query finger: its best finger is the candidate's, its score the fused one.
            None => vec![self.finger.map(|f| (f, score))],
        };
        Some(Candidate { reference: self.reference.clone(), authority: self.authority.clone(), score, fingers })
    }
}

/// How one query finger scored against a candidate person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerScore {
    /// The query finger's position.
    pub query_finger: u8,
    /// The person's best-scoring finger; null if none of theirs was scored.
    pub finger: Option<u8>,
    /// Its score; null if none was scored.
    pub score: Option<f32>,
}

/// The answer of `POST /v1/search/fingerprint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerAnswer {
    /// The node that answered.
    pub node: String,
    /// One result per query, in input order.
    pub results: Vec<FingerResult>,
}

/// `GET /v1/index/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexStatus {
    /// The node.
    pub node: String,
    /// Every index it serves.
    pub indexes: Vec<IndexInfo>,
}

/// One index of [`IndexStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexInfo {
    /// Its category.
    pub category: String,
    /// Live records.
    pub records: u64,
    /// Shard files.
    pub shards: u64,
    /// Whether every shard's checksum was verified when the node started.
    pub verified: bool,
}

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// See [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// A stable code for programs (`signature_invalid`, `forbidden`, ...).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl ErrorBody {
    /// An error body.
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: code.to_string(), message: message.into() } }
    }
}

/// The paths, documented here so that the OpenAPI description comes from
/// this one module; the handlers live in `server`.
#[allow(dead_code)]
mod paths {
    use super::demand::{AuthorisationDecision, AuthorisationSubmission, Demand, DemandFilter, DemandForm, DemandList, DemandReply};
    use super::*;

    /// Search the DNA index. Signed (RFC 9421 shape: `Content-Digest`,
    /// `Signature-Input`, `Signature`); the answer is signed by the node.
    #[utoipa::path(post, path = "/v1/search/dna", request_body = DnaSearch, responses(
        (status = 200, description = "One result per query", body = DnaAnswer),
        (status = 400, description = "Malformed JSON, unknown field, bad allele", body = ErrorBody),
        (status = 401, description = "Unsigned, wrongly signed, expired or replayed", body = ErrorBody),
        (status = 403, description = "No access to this category", body = ErrorBody),
        (status = 413, description = "Body or query count over the limit", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn search_dna() {}

    /// Search the fingerprint index: candidate persons ranked by score.
    /// Signed. With index-only access, candidates name only reference and
    /// authority.
    #[utoipa::path(post, path = "/v1/search/fingerprint", request_body = FingerSearch, responses(
        (status = 200, description = "One result per query", body = FingerAnswer),
        (status = 400, description = "Malformed JSON, unknown field, a template that is not base64 or not a valid record (the query and finger named)", body = ErrorBody),
        (status = 401, description = "Signature refused", body = ErrorBody),
        (status = 403, description = "No access to this category", body = ErrorBody),
        (status = 404, description = "No fingerprint index on this node", body = ErrorBody),
        (status = 413, description = "Body or query count over the limit", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn search_fingerprint() {}

    /// Search the fingerprint index with NDJSON: a [`FingerBatchHeader`]
    /// line, then one [`FingerQuery`] per line; the answer is one
    /// [`FingerResult`] per line.
    #[utoipa::path(post, path = "/v1/batch/fingerprint", request_body(content = String, content_type = "application/x-ndjson"), responses(
        (status = 200, description = "One FingerResult per line, in input order", body = String, content_type = "application/x-ndjson"),
        (status = 400, description = "A malformed line (named)", body = ErrorBody),
        (status = 401, description = "Signature refused", body = ErrorBody),
        (status = 403, description = "No access to this category", body = ErrorBody),
        (status = 413, description = "Body or batch over the limit", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn batch_fingerprint() {}

    /// Search a key-only index (`vehicle`, `phone`, `identity`): exact
    /// hit/no-hit on normalised keys. Signed.
    #[utoipa::path(post, path = "/v1/search/{category}", params(("category" = String, Path, description = "vehicle, phone or identity")), request_body = KeySearch, responses(
        (status = 200, description = "One result per query", body = KeyAnswer),
        (status = 400, description = "Malformed JSON, a field of another category, a value that does not normalise", body = ErrorBody),
        (status = 401, description = "Signature refused", body = ErrorBody),
        (status = 403, description = "No access to this category", body = ErrorBody),
        (status = 404, description = "No index of this category on this node", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn search_keyed() {}

    /// Search the DNA index with NDJSON: a [`DnaBatchHeader`] line, then
    /// one [`DnaQuery`] per line; the answer is one [`DnaResult`] per line.
    #[utoipa::path(post, path = "/v1/batch/dna", request_body(content = String, content_type = "application/x-ndjson"), responses(
        (status = 200, description = "One DnaResult per line, in input order", body = String, content_type = "application/x-ndjson"),
        (status = 400, description = "A malformed line (named)", body = ErrorBody),
        (status = 401, description = "Signature refused", body = ErrorBody),
        (status = 403, description = "No access to this category", body = ErrorBody),
        (status = 413, description = "Body or batch over the limit", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn batch_dna() {}

    /// The indexes served. Signed.
    #[utoipa::path(get, path = "/v1/index/status", responses((status = 200, body = IndexStatus), (status = 401, body = ErrorBody), (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody)))]
    fn index_status() {}

    /// Alive.
    #[utoipa::path(get, path = "/healthz", responses((status = 200, body = String)))]
    fn healthz() {}

    /// Ready: every shard open and verified.
    #[utoipa::path(get, path = "/readyz", responses((status = 200, body = String), (status = 503, body = ErrorBody)))]
    fn readyz() {}

    /// Prometheus text: requests, hits, latency histogram, refusals.
    #[utoipa::path(get, path = "/metrics", responses((status = 200, body = String, content_type = "text/plain")))]
    fn metrics() {}

    /// This description.
    #[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, body = Object)))]
    fn openapi() {}

    /// Send an information demand after a hit. Signed; any authority of
    /// the directory.
    #[utoipa::path(post, path = "/v1/demands", request_body = DemandForm, responses(
        (status = 200, description = "The demand as received, with its id and deadline", body = Demand),
        (status = 400, description = "Malformed JSON (line and column)", body = ErrorBody),
        (status = 422, description = "Invalid fields, every one named", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn demand_create() {}

    /// The demands the signing authority sent or must answer.
    #[utoipa::path(get, path = "/v1/demands", params(DemandFilter), responses((status = 200, body = DemandList), (status = 400, body = ErrorBody), (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody)))]
    fn demand_list() {}

    /// One demand (404 unless the signing authority sent it or must answer it).
    #[utoipa::path(get, path = "/v1/demands/{id}", params(("id" = String, Path)), responses((status = 200, body = Demand), (status = 404, body = ErrorBody), (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody)))]
    fn demand_get() {}

    /// The designated authority's reply: data with conditions of use, a
    /// refusal on one of four grounds, or a forward to the competent authority.
    #[utoipa::path(post, path = "/v1/demands/{id}/answer", params(("id" = String, Path)), request_body = DemandReply, responses(
        (status = 200, body = Demand),
        (status = 403, description = "Not the designated authority", body = ErrorBody),
        (status = 409, description = "Not possible in the demand's state, or evidence use without judicial authorisation", body = ErrorBody),
        (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody),
    ))]
    fn demand_answer() {}

    /// The designated authority submits the demand to the authorising body.
    #[utoipa::path(post, path = "/v1/demands/{id}/authorisation", params(("id" = String, Path)), request_body = AuthorisationSubmission, responses((status = 200, body = Demand), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody)))]
    fn demand_submit() {}

    /// The authorising body decides.
    #[utoipa::path(post, path = "/v1/demands/{id}/decision", params(("id" = String, Path)), request_body = AuthorisationDecision, responses((status = 200, body = Demand), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, description = "`overloaded`: more signed requests at once than the node takes (`max_in_flight`), with `Retry-After`; or `timeout`", body = ErrorBody)))]
    fn demand_decide() {}

    #[derive(OpenApi)]
    #[openapi(
        info(title = "Hitdex node", description = "Hit/no-hit searches and information demands between competent authorities (SPEC section 6)."),
        paths(search_dna, search_fingerprint, search_keyed, batch_dna, batch_fingerprint, index_status, healthz, readyz, metrics, openapi, demand_create, demand_list, demand_get, demand_answer, demand_submit, demand_decide),
        components(schemas(Purpose, FingerSearch, FingerBatchHeader, FingerQuery, FingerTemplate, TemplateFormat, FingerResult, FingerCandidate, FingerScore, FingerAnswer, KeySearch, KeyQuery, KeyResult, Holder, KeyAnswer, DnaSearch, DnaBatchHeader, DnaQuery, DnaResult, DnaHit, DnaAnswer, IndexStatus, IndexInfo, ErrorBody, ErrorDetail, DemandForm, DemandReply, AuthorisationSubmission, AuthorisationDecision, Demand, DemandList, DemandFilter))
    )]
    pub(super) struct Api;
}

/// The OpenAPI 3 description of the protocol, as JSON text.
pub fn openapi() -> String {
    // Serialising a value built from derived types cannot fail.
    paths::Api::openapi().to_pretty_json().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_every_path_and_message() {
        let doc: serde_json::Value = serde_json::from_str(&openapi()).unwrap();
        for path in ["/v1/search/dna", "/v1/batch/dna", "/v1/search/fingerprint", "/v1/batch/fingerprint", "/v1/index/status", "/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/v1/demands", "/v1/demands/{id}", "/v1/demands/{id}/answer"] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
        // Every signed path may refuse for load.
        for (path, method) in [("/v1/search/dna", "post"), ("/v1/batch/dna", "post"), ("/v1/search/fingerprint", "post"), ("/v1/batch/fingerprint", "post"), ("/v1/demands", "get"), ("/v1/demands/{id}/decision", "post")] {
            assert!(doc["paths"][path][method]["responses"].get("503").is_some(), "{path}");
        }
        for schema in ["DnaSearch", "DnaAnswer", "FingerSearch", "FingerAnswer", "TemplateFormat", "ErrorBody", "IndexStatus", "DemandForm", "DemandReply", "Demand", "RefusalGround"] {
            assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema}");
        }
    }

    /// The line `hitdex search fingerprint` prints for `candidates`.
    fn printed(positions: &[u8], candidates: &[Candidate]) -> String {
        let mut out = Vec::new();
        hitdex_formats::ndjson::write_candidates(&mut out, "Q", positions, candidates).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fingerprint_candidates_print_the_same_after_the_wire() {
        let c = |reference: &str, score: f32, fingers: Vec<Option<(u8, f32)>>| Candidate { reference: reference.into(), authority: "DE-BKA".into(), score, fingers };
        let cases: Vec<(Vec<u8>, Vec<Candidate>)> = vec![
            (vec![0], vec![c("P1", 0.123_456_79, vec![Some((3, 0.123_456_79))]), c("P2", 0.1, vec![Some((7, 0.1))])]),
            (vec![1, 2], vec![c("P3", 0.333_333_34, vec![Some((1, 0.5)), Some((2, 0.166_666_67))]), c("P4", 0.05, vec![None, Some((2, 0.1))])]),
            (vec![2, 2], vec![c("P5", 0.2, vec![Some((2, 0.2)), Some((2, 0.2))])]),
            (vec![1], Vec::new()),
        ];
        for (positions, candidates) in cases {
            let wire: Vec<FingerCandidate> = candidates.iter().map(|c| FingerCandidate::new(c.clone(), &positions, true)).collect();
            let back: Vec<FingerCandidate> = serde_json::from_str(&serde_json::to_string(&wire).unwrap()).unwrap();
            let again: Vec<Candidate> = back.iter().map(|c| c.candidate().unwrap()).collect();
            assert_eq!(printed(&positions, &again), printed(&positions, &candidates));
            // Index-only: who holds the record, nothing more.
            for c in &candidates {
                let only = FingerCandidate::new(c.clone(), &positions, false);
                assert_eq!(serde_json::to_string(&only).unwrap(), format!(r#"{{"reference":"{}","authority":"DE-BKA"}}"#, c.reference));
                assert!(only.candidate().is_none());
            }
        }
    }

    #[test]
    fn fingerprint_searches_have_defaults_and_refuse_unknown_fields() {
        let ok: FingerSearch = serde_json::from_str(r#"{"purpose":"p","case_reference":"c","queries":[{"query":"L","fingers":[{"finger":0,"format":"xyt","template":"MSAyIDM="}]}]}"#).unwrap();
        assert_eq!((ok.max_candidates, ok.threshold, ok.queries[0].fingers[0].format), (DEFAULT_MAX_CANDIDATES, 0.0, TemplateFormat::Xyt));
        let e = serde_json::from_str::<FingerSearch>(r#"{"purpose":"p","case_reference":"c","queries":[],"top":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `top`"), "{e}");
        let e = serde_json::from_str::<FingerTemplate>(r#"{"finger":0,"format":"wsq","template":""}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `wsq`"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<DnaSearch>(r#"{"purpose":"p","case_reference":"c","queries":[],"min_locus":6}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `min_locus`"), "{e}");
        let ok: DnaSearch = serde_json::from_str(r#"{"purpose":"p","case_reference":"c","queries":[{"query":"Q","loci":{"TH01":"6/9.3"}}]}"#).unwrap();
        assert_eq!((ok.min_loci, ok.exact_microvariants), (6, false));
    }
}
