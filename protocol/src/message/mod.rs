//! Every message type of the node protocol (SPEC section 6), and the
//! OpenAPI description generated from them ([`openapi`]).
//!
//! Inputs refuse unknown fields, so a misspelt option is an error rather
//! than silently ignored. Answers of a search mirror `hitdex search`'s
//! NDJSON lines field for field.

pub mod demand;

use std::collections::BTreeMap;

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
        paths(search_dna, search_keyed, batch_dna, index_status, healthz, readyz, metrics, openapi, demand_create, demand_list, demand_get, demand_answer, demand_submit, demand_decide),
        components(schemas(Purpose, KeySearch, KeyQuery, KeyResult, Holder, KeyAnswer, DnaSearch, DnaBatchHeader, DnaQuery, DnaResult, DnaHit, DnaAnswer, IndexStatus, IndexInfo, ErrorBody, ErrorDetail, DemandForm, DemandReply, AuthorisationSubmission, AuthorisationDecision, Demand, DemandList, DemandFilter))
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
        for path in ["/v1/search/dna", "/v1/batch/dna", "/v1/index/status", "/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/v1/demands", "/v1/demands/{id}", "/v1/demands/{id}/answer"] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
        // Every signed path may refuse for load.
        for (path, method) in [("/v1/search/dna", "post"), ("/v1/batch/dna", "post"), ("/v1/demands", "get"), ("/v1/demands/{id}/decision", "post")] {
            assert!(doc["paths"][path][method]["responses"].get("503").is_some(), "{path}");
        }
        for schema in ["DnaSearch", "DnaAnswer", "ErrorBody", "IndexStatus", "DemandForm", "DemandReply", "Demand", "RefusalGround"] {
            assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<DnaSearch>(r#"{"purpose":"p","case_reference":"c","queries":[],"min_locus":6}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `min_locus`"), "{e}");
        let ok: DnaSearch = serde_json::from_str(r#"{"purpose":"p","case_reference":"c","queries":[{"query":"Q","loci":{"TH01":"6/9.3"}}]}"#).unwrap();
        assert_eq!((ok.min_loci, ok.exact_microvariants), (6, false));
    }
}
