//! A node's client: signs requests as one authority, sends them over
//! HTTP, and accepts an answer only if the node's signature over it
//! verifies and echoes the request's nonce. What `hitdex client` and the
//! load generator use.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use hitdex_engine::dna::{Locus, Profile};
use hitdex_engine::fingerprint::Candidate;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::clock::{Clock, SystemClock};
use crate::config::{ClientConfig, ConfigError};
use crate::keys::{self, KeyError};
use crate::directory::{Directory, NodeRef};
use crate::message::demand::{Demand, DemandForm};
use crate::message::{DnaAnswer, DnaQuery, DnaSearch, ErrorBody, FingerAnswer, FingerCandidate, FingerSearch, FingerTemplate, KeyAnswer, KeyQuery, KeySearch};
use crate::signature::{self, Claim, Received, SignatureError};

/// Longest wait for a node's answer (its own request timeout is 30 s by default).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request did not get a verified answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `client.toml` is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A key file is unreadable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The node's address is not a URL this client can use.
    #[error("{0:?} is not an http:// URL")]
    Url(String),
    /// The request could not be sent or the answer read.
    #[error("{url}: {message}")]
    Transport {
        /// The node.
        url: String,
        /// What failed.
        message: String,
    },
    /// The answer's signature did not verify: it is not trusted.
    #[error("the node's answer is not trusted: {0}")]
    Unverified(#[from] SignatureError),
    /// The node refused the request (its signed JSON error).
    #[error("the node refused the request ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error's code.
        code: String,
        /// The error's message.
        message: String,
    },
    /// The answer is not the expected JSON.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// The directory names no node to send to.
    #[error("cannot route the demand: {0}")]
    Routing(String),
}

/// A verified answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

/// A signed request not yet sent ([`Client::prepare`]).
pub struct Prepared {
    request: hyper::Request<Full<Bytes>>,
    url: String,
    nonce: String,
    node_key: ed25519_dalek::VerifyingKey,
}

/// An answer as received, before its signature is checked.
pub struct Unverified {
    /// HTTP status.
    pub status: u16,
    body: Bytes,
    /// Content-Digest, Signature-Input and Signature, if present.
    signed: [Option<String>; 3],
    nonce: String,
    node_key: ed25519_dalek::VerifyingKey,
}

impl Unverified {
    /// The answer, if the node's signature over it verifies and echoes the
    /// request's nonce.
    ///
    /// # Errors
    /// [`ClientError::Unverified`].
    pub fn verify(self) -> Result<Reply, ClientError> {
        let [digest, input, sig] = &self.signed;
        let received = Received { content_digest: digest.as_deref(), signature_input: input.as_deref(), signature: sig.as_deref() };
        signature::check_response(self.status, &self.body, received, &self.node_key, &self.nonce)?;
        Ok(Reply { status: self.status, body: self.body })
    }
}

/// A client speaking for one authority to one node.
pub struct Client {
    authority: String,
    key: SigningKey,
    /// The node requests go to unless another is named.
    node: NodeRef,
    http: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    clock: Box<dyn Clock>,
}

impl Client {
    /// A client with the keys `config` names, for the node at `url`
    /// (`http://host:port`).
    ///
    /// # Errors
    /// [`ClientError`] naming the key file or the URL.
    pub fn new(config: &ClientConfig, url: &str) -> Result<Client, ClientError> {
        let key = keys::read_signing(&config.signing_key)?;
        let node_key = keys::read_public(&config.node_public_key)?;
        Client::with_keys(&config.authority, key, NodeRef { url: url.to_string(), id: config.node.clone(), key: node_key })
    }

    /// A client from keys in hand, for `node`.
    ///
    /// # Errors
    /// [`ClientError::Url`] unless the node's URL is `http://…`.
    pub fn with_keys(authority: &str, key: SigningKey, node: NodeRef) -> Result<Client, ClientError> {
        check_url(&node.url)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
        Ok(Client { authority: authority.to_string(), key, node, http, clock: Box::new(SystemClock) })
    }

    /// The node requests go to unless another is named.
    pub fn node(&self) -> &NodeRef {
        &self.node
    }

    /// The same client reading time from `clock` (for tests of the window).
    pub fn with_clock(mut self, clock: Box<dyn Clock>) -> Client {
        self.clock = clock;
        self
    }

    /// Sends a signed request and verifies the signed answer, whatever its
    /// status.
    ///
    /// # Errors
    /// [`ClientError::Transport`] or [`ClientError::Unverified`].
    pub async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> Result<Reply, ClientError> {
        self.send_to(&self.node, method, path, body).await
    }

    /// [`Client::send`] to another node.
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_to(&self, node: &NodeRef, method: &str, path: &str, body: Vec<u8>) -> Result<Reply, ClientError> {
        self.transmit(self.prepare(node, method, path, body)?).await?.verify()
    }

    /// Signs a request for `node` now, to send later with
    /// [`Client::transmit`] (within the node's signature window).
    ///
    /// # Errors
    /// [`ClientError::Url`] or [`ClientError::Transport`] if the request
    /// cannot be built.
    pub fn prepare(&self, node: &NodeRef, method: &str, path: &str, body: Vec<u8>) -> Result<Prepared, ClientError> {
        check_url(&node.url)?;
        let claim = Claim { keyid: self.authority.clone(), node: node.id.clone(), created: self.clock.now_ms() / 1000, nonce: signature::nonce() };
        let h = signature::sign_request(&self.key, &claim, method, path, &body);
        let url = format!("{}{path}", node.url.trim_end_matches('/'));
        let request = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", if path.starts_with("/v1/batch/") { "application/x-ndjson" } else { "application/json" })
            .header("content-digest", h.content_digest)
            .header("signature-input", h.signature_input)
            .header("signature", h.signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Transport { url: url.clone(), message: e.to_string() })?;
        Ok(Prepared { request, url, nonce: claim.nonce, node_key: node.key })
    }

    /// Sends a prepared request and reads the answer, not yet verified.
    ///
    /// # Errors
    /// [`ClientError::Transport`].
    pub async fn transmit(&self, prepared: Prepared) -> Result<Unverified, ClientError> {
        let Prepared { request, url, nonce, node_key } = prepared;
        let transport = |message: String| ClientError::Transport { url: url.clone(), message };
        let response = match tokio::time::timeout(ANSWER_TIMEOUT, self.http.request(request)).await {
            Err(_) => return Err(transport(format!("no answer within {} s", ANSWER_TIMEOUT.as_secs()))),
            Ok(r) => r.map_err(|e| transport(format!("{e} ({})", e.source_text())))?,
        };
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let signed = [header("content-digest"), header("signature-input"), header("signature")];
        let body = response.into_body().collect().await.map_err(|e| transport(e.to_string()))?.to_bytes();
        Ok(Unverified { status, body, signed, nonce, node_key })
    }

    /// Sends, verifies, and turns a refusal into [`ClientError::Refused`].
    ///
    /// # Errors
    /// As [`Client::send`], and [`ClientError::Refused`].
    pub async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<Bytes, ClientError> {
        accepted(self.send(method, path, body).await?)
    }

    /// A DNA search.
    ///
    /// # Errors
    /// As [`Client::call`], and [`ClientError::Decode`].
    pub async fn search_dna(&self, request: &DnaSearch) -> Result<DnaAnswer, ClientError> {
        self.post_json("/v1/search/dna", request).await
    }

    /// A fingerprint search.
    ///
    /// # Errors
    /// As [`Client::call`], and [`ClientError::Decode`].
    pub async fn search_fingerprint(&self, request: &FingerSearch) -> Result<FingerAnswer, ClientError> {
        self.post_json("/v1/search/fingerprint", request).await
    }

    /// A search of a key-only `category` (`vehicle`, `phone`, `identity`).
    ///
    /// # Errors
    /// As [`Client::call`], and [`ClientError::Decode`].
    pub async fn search_keyed(&self, category: &str, request: &KeySearch) -> Result<KeyAnswer, ClientError> {
        self.post_json(&format!("/v1/search/{category}"), request).await
    }

    /// Posts `request` as JSON to `path` and decodes the verified answer.
    async fn post_json<T: serde::de::DeserializeOwned>(&self, path: &str, request: &impl serde::Serialize) -> Result<T, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode(e.to_string()))?;
        let answer = self.call("POST", path, body).await?;
        serde_json::from_slice(&answer).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Sends an information demand to the designated authority's node, as
    /// the `directory` names it; when that node cannot be reached (no
    /// answer at all, not a refusal), through the national contact point
    /// of the designated authority's country (SPEC section 6, "Fallback").
    ///
    /// # Errors
    /// [`ClientError::Routing`] when the directory names no node to try;
    /// otherwise as [`Client::call`] for the last node tried.
    pub async fn send_demand(&self, directory: &Directory, form: &DemandForm) -> Result<(Demand, Route), ClientError> {
        let designated = directory.authority(&form.designated_authority).ok_or_else(|| ClientError::Routing(format!("{} is not in the directory", form.designated_authority)))?;
        let body = serde_json::to_vec(form).map_err(|e| ClientError::Decode(e.to_string()))?;
        let decode = |b: Bytes| serde_json::from_slice::<Demand>(&b).map_err(|e| ClientError::Decode(e.to_string()));
        let unreachable = match &designated.node {
            Some(node) => match self.send_to(node, "POST", "/v1/demands", body.clone()).await {
                Err(e @ ClientError::Transport { .. }) => e.to_string(),
                reply => return Ok((decode(accepted(reply?)?)?, Route::Direct(node.url.clone()))),
            },
            None => format!("the directory names no node of {}", designated.id),
        };
        let contact = directory.contact_point(&designated.country).ok_or_else(|| ClientError::Routing(format!("{unreachable}, and {} has no contact point in the directory", designated.country)))?;
        let demand = decode(accepted(self.send_to(&contact.node, "POST", "/v1/demands", body).await?)?)?;
        Ok((demand, Route::ContactPoint { url: contact.node.url.clone(), authority: contact.authority.clone(), because: unreachable }))
    }
}

/// Where a demand went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// To the designated authority's own node.
    Direct(String),
    /// Through the national contact point, because the designated
    /// authority's node could not be reached.
    ContactPoint {
        /// The contact point's node.
        url: String,
        /// The contact point.
        authority: String,
        /// Why the designated authority's node was not used.
        because: String,
    },
}

fn check_url(url: &str) -> Result<(), ClientError> {
    if url.starts_with("http://") && url.parse::<hyper::Uri>().is_ok() {
        Ok(())
    } else {
        Err(ClientError::Url(url.to_string()))
    }
}

/// The body of a 200 answer; a refusal as [`ClientError::Refused`].
fn accepted(reply: Reply) -> Result<Bytes, ClientError> {
    if reply.status == 200 {
        return Ok(reply.body);
    }
    let e: ErrorBody = serde_json::from_slice(&reply.body).map_err(|e| ClientError::Decode(format!("status {} without a JSON error: {e}", reply.status)))?;
    Err(ClientError::Refused { status: reply.status, code: e.error.code, message: e.error.message })
}


/// The error's causes as text (hyper's own message is terse).
trait SourceText {
    fn source_text(&self) -> String;
}

impl<E: std::error::Error> SourceText for E {
    fn source_text(&self) -> String {
        let mut text = Vec::new();
        let mut cause = self.source();
        while let Some(c) = cause {
            text.push(c.to_string());
            cause = c.source();
        }
        text.join(": ")
    }
}

/// A query profile in its wire form (genotypes written as in the CSV).
pub fn dna_query(p: &Profile) -> DnaQuery {
    let loci = Locus::all().filter(|l| p.genotype(*l).is_typed()).map(|l| (l.name().to_string(), p.genotype(l).display(l).to_string())).collect();
    DnaQuery { query: p.reference.clone(), loci }
}

/// A key-only query in its wire form: the cells of a query CSV row as
/// written ([`hitdex_formats::keyed::csv::read_raw`]), which the node
/// normalises as the CSV import does.
pub fn key_query(row: &hitdex_formats::keyed::csv::RawRow) -> KeyQuery {
    let mut q = KeyQuery { query: row.reference.clone(), ..KeyQuery::default() };
    for (column, text) in &row.cells {
        let field = match *column {
            "plate" => &mut q.plate,
            "vin" => &mut q.vin,
            "number" => &mut q.number,
            "region" => &mut q.region,
            "family_name" => &mut q.family_name,
            "given_names" => &mut q.given_names,
            "date_of_birth" => &mut q.date_of_birth,
            // value_columns names no other.
            _ => continue,
        };
        *field = Some(text.clone());
    }
    q
}

/// A finger of a fingerprint query in its wire form: the bytes of a
/// template file of `format`, at finger position `finger` (0 unknown).
pub fn finger_template(finger: u8, format: hitdex_formats::fingerprint::Format, bytes: &[u8]) -> FingerTemplate {
    use base64::Engine as _;
    FingerTemplate { finger, format: format.into(), template: base64::engine::general_purpose::STANDARD.encode(bytes) }
}

/// The engine's candidates back from a direct-access answer, as
/// `hitdex search fingerprint` prints them
/// ([`hitdex_formats::ndjson::write_candidates`]); `None` when a candidate
/// has no score (index-only access: reference and authority only).
pub fn candidates(found: &[FingerCandidate]) -> Option<Vec<Candidate>> {
    found.iter().map(FingerCandidate::candidate).collect()
}
