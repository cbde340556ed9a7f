//! Signed transfers in the shape of RFC 9421 (HTTP Message Signatures).
//!
//! A request carries three headers:
//!
//! ```text
//! Content-Digest: blake3=:<base64 of the body's BLAKE3 digest>:
//! Signature-Input: hitdex=("@method" "@path" "@query" "content-digest");created=1764580000;nonce="<base64url>";keyid="DE-BKA";tag="XX-NODE";alg="ed25519"
//! Signature: hitdex=:<base64 Ed25519 signature>:
//! ```
//!
//! The signature covers the RFC 9421 signature base of those components:
//! one `"name": value` line per component, then `"@signature-params"` with
//! the exact text of the `Signature-Input` member. `keyid` names the
//! requesting authority and `tag` the node the request is for, so that a
//! request cannot be replayed to another node that trusts the same keys; the node looks its key up in the directory,
//! refuses a `created` time outside its window and a nonce it has seen
//! within the window (a replay). An answer is signed by the node over
//! `"@status"` and its `content-digest`, with the request's nonce echoed in
//! its parameters so that the answer is bound to the request.
//!
//! The parser accepts exactly this profile (one signature labelled
//! `hitdex`, these components in this order, these parameters), which
//! keeps it small and leaves no ambiguity about what was signed.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rand::RngCore;

/// The label of the one signature a message carries.
pub const LABEL: &str = "hitdex";
/// Components a request signature covers, in order.
const REQUEST_COMPONENTS: &str = r#"("@method" "@path" "@query" "content-digest")"#;
/// Components an answer signature covers, in order.
const RESPONSE_COMPONENTS: &str = r#"("@status" "content-digest")"#;
/// Longest key id or nonce accepted.
const MAX_TOKEN: usize = 128;

/// The three header values of a signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// `Content-Digest`.
    pub content_digest: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
}

/// The parameters of a signature: who signed, for which node, when, and
/// the nonce. What [`sign_request`] writes and [`check_request`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `keyid`: the authority (or node) that signed.
    pub keyid: String,
    /// `tag`: the node a request is for (empty on answers).
    pub node: String,
    /// `created`, seconds since the Unix epoch.
    pub created: u64,
    /// `nonce`.
    pub nonce: String,
}

/// Why a signature was refused. Each has a stable code for the JSON error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A signature header is absent.
    #[error("the request has no {0} header; every request must be signed")]
    Missing(&'static str),
    /// A header does not follow the profile.
    #[error("malformed {header} header: {problem}")]
    Malformed {
        /// The header at fault.
        header: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The body is not the one the digest names.
    #[error("Content-Digest does not match the body")]
    DigestMismatch,
    /// `keyid` names no authority of the directory.
    #[error("unknown authority {0:?}")]
    UnknownAuthority(String),
    /// The signature does not verify with the signer's key.
    #[error("the signature does not verify with the key of {0:?}")]
    Invalid(String),
    /// `created` is outside the accepted window around the node's time.
    #[error("signature created at {created} s, outside {window} s of the node's time {now} s")]
    OutsideWindow {
        /// The signature's time.
        created: u64,
        /// The node's time.
        now: u64,
        /// The window, each side.
        window: u64,
    },
    /// The request is for another node.
    #[error("the request is signed for node {0:?}, not this one")]
    WrongNode(String),
    /// The nonce was seen before within the window.
    #[error("nonce already used: a replayed request")]
    Replayed,
    /// An answer's nonce is not the request's.
    #[error("the answer is signed for another request (nonce {0:?})")]
    WrongNonce(String),
}

impl SignatureError {
    /// The stable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing(_) => "signature_missing",
            SignatureError::Malformed { .. } => "signature_malformed",
            SignatureError::DigestMismatch => "digest_mismatch",
            SignatureError::UnknownAuthority(_) => "unknown_authority",
            SignatureError::Invalid(_) => "signature_invalid",
            SignatureError::OutsideWindow { .. } => "signature_expired",
            SignatureError::Replayed => "replayed",
            SignatureError::WrongNode(_) => "wrong_node",
            SignatureError::WrongNonce(_) => "wrong_nonce",
        }
    }
}

/// `blake3=:<base64>:` of `body`.
pub fn content_digest(body: &[u8]) -> String {
    header_value(&blake3::hash(body))
}

fn header_value(hash: &blake3::Hash) -> String {
    format!("blake3=:{}:", STANDARD.encode(hash.as_bytes()))
}

/// A fresh random nonce (128 bits, base64url).
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs a request of `claim.keyid` (the authority) for the node
/// `claim.node`, made at `claim.created` (seconds), to `target` (the path
/// and any `?query`).
pub fn sign_request(key: &SigningKey, claim: &Claim, method: &str, target: &str, body: &[u8]) -> Headers {
    let digest = content_digest(body);
    let Claim { keyid, node, created, nonce } = claim;
    let params = format!(r#"{REQUEST_COMPONENTS};created={created};nonce="{nonce}";keyid="{keyid}";tag="{node}";alg="ed25519""#);
    let base = request_base(method, target, &digest, &params);
    finish(key, digest, params, &base)
}

/// Signs an answer of the node `keyid` with status `status` to the request
/// that carried `nonce`.
pub fn sign_response(key: &SigningKey, keyid: &str, status: u16, body: &[u8], created: u64, nonce: &str) -> Headers {
    let digest = content_digest(body);
    let params = format!(r#"{RESPONSE_COMPONENTS};created={created};nonce="{nonce}";keyid="{keyid}";alg="ed25519""#);
    let base = response_base(status, &digest, &params);
    finish(key, digest, params, &base)
}

fn finish(key: &SigningKey, content_digest: String, params: String, base: &str) -> Headers {
    let signature = format!("{LABEL}=:{}:", STANDARD.encode(key.sign(base.as_bytes()).to_bytes()));
    Headers { content_digest, signature_input: format!("{LABEL}={params}"), signature }
}

/// The signature base of a request; `@query` is the query with its `?`,
/// or `?` alone when there is none (RFC 9421 section 2.2.7).
fn request_base(method: &str, target: &str, digest: &str, params: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    format!("\"@method\": {method}\n\"@path\": {path}\n\"@query\": ?{query}\n\"content-digest\": {digest}\n\"@signature-params\": {params}")
}

fn response_base(status: u16, digest: &str, params: &str) -> String {
    format!("\"@status\": {status}\n\"content-digest\": {digest}\n\"@signature-params\": {params}")
}

/// The three headers as received (any may be absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Received<'a> {
    /// `Content-Digest`.
    pub content_digest: Option<&'a str>,
    /// `Signature-Input`.
    pub signature_input: Option<&'a str>,
    /// `Signature`.
    pub signature: Option<&'a str>,
}

/// Checks a request's headers against its method, target (path and any
/// `?query`) and body, and the
/// signature against the key `key_of(keyid)` returns. Time and replays are
/// the [`Verifier`]'s business.
///
/// # Errors
/// [`SignatureError`] saying what is wrong.
pub fn check_request(method: &str, target: &str, body: &[u8], received: Received<'_>, key_of: impl FnOnce(&str) -> Option<VerifyingKey>) -> Result<Claim, SignatureError> {
    let claim = check_request_headers(method, target, received, key_of)?;
    check_digest(body, received)?;
    Ok(claim)
}

/// [`check_request`] without the body: the signature covers the
/// `Content-Digest` header, so the node checks who signed before it reads
/// a byte of the body, then [`check_digest`] once it has.
///
/// # Errors
/// [`SignatureError`] saying what is wrong.
pub fn check_request_headers(method: &str, target: &str, received: Received<'_>, key_of: impl FnOnce(&str) -> Option<VerifyingKey>) -> Result<Claim, SignatureError> {
    let (digest, params, signer, signature) = parse(received, REQUEST_COMPONENTS)?;
    let key = key_of(&signer.keyid).ok_or_else(|| SignatureError::UnknownAuthority(signer.keyid.clone()))?;
    let base = request_base(method, target, digest, params);
    key.verify(base.as_bytes(), &signature).map_err(|_| SignatureError::Invalid(signer.keyid.clone()))?;
    Ok(signer)
}

/// Whether `body` is the one the `Content-Digest` header names.
///
/// # Errors
/// [`SignatureError::Missing`], [`SignatureError::DigestMismatch`], or
/// [`SignatureError::Malformed`] for another digest algorithm.
pub fn check_digest(body: &[u8], received: Received<'_>) -> Result<(), SignatureError> {
    check_hash(&blake3::hash(body), received)
}

/// [`check_digest`] for a body whose BLAKE3 hash is already known.
///
/// # Errors
/// As [`check_digest`].
pub fn check_hash(hash: &blake3::Hash, received: Received<'_>) -> Result<(), SignatureError> {
    let digest = received.content_digest.ok_or(SignatureError::Missing("Content-Digest"))?;
    if digest == header_value(hash) {
        Ok(())
    } else if digest.starts_with("blake3=:") {
        Err(SignatureError::DigestMismatch)
    } else {
        Err(SignatureError::Malformed { header: "Content-Digest", problem: "expected blake3=:<base64>:".into() })
    }
}

/// Checks a node's answer: digest, signature with the node's `key`, and
/// that it answers the request that carried `nonce`.
///
/// # Errors
/// [`SignatureError`] saying what is wrong.
pub fn check_response(status: u16, body: &[u8], received: Received<'_>, key: &VerifyingKey, nonce: &str) -> Result<Claim, SignatureError> {
    check_digest(body, received)?;
    let (digest, params, signer, signature) = parse(received, RESPONSE_COMPONENTS)?;
    let base = response_base(status, digest, params);
    key.verify(base.as_bytes(), &signature).map_err(|_| SignatureError::Invalid(signer.keyid.clone()))?;
    if signer.nonce != nonce {
        return Err(SignatureError::WrongNonce(signer.nonce));
    }
    Ok(signer)
}

/// The digest header, the signature parameters' text, what they say, and the signature.
fn parse<'a>(received: Received<'a>, components: &str) -> Result<(&'a str, &'a str, Claim, Signature), SignatureError> {
    let digest = received.content_digest.ok_or(SignatureError::Missing("Content-Digest"))?;
    let input = received.signature_input.ok_or(SignatureError::Missing("Signature-Input"))?;
    let signature = received.signature.ok_or(SignatureError::Missing("Signature"))?;
    let malformed = |header, problem: &str| SignatureError::Malformed { header, problem: problem.to_string() };
    let params = input
        .strip_prefix(LABEL)
        .and_then(|s| s.strip_prefix('='))
        .ok_or_else(|| malformed("Signature-Input", "expected one signature labelled hitdex"))?;
    let signer = parse_params(params, components)?;
    let bytes = signature
        .strip_prefix(LABEL)
        .and_then(|s| s.strip_prefix("=:"))
        .and_then(|s| s.strip_suffix(':'))
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or_else(|| malformed("Signature", "expected hitdex=:<base64>:"))?;
    let signature = Signature::from_slice(&bytes).map_err(|_| malformed("Signature", "not 64 bytes"))?;
    Ok((digest, params, signer, signature))
}

/// `(components);created=…;nonce="…";keyid="…";alg="ed25519"`, parameters in any order, each once.
fn parse_params(params: &str, components: &str) -> Result<Claim, SignatureError> {
    let malformed = |problem: String| SignatureError::Malformed { header: "Signature-Input", problem };
    let rest = params.strip_prefix(components).ok_or_else(|| malformed(format!("the covered components must be {components}")))?;
    let (mut created, mut nonce, mut keyid, mut tag, mut alg) = (None, None, None, None, None);
    for item in rest.split(';').skip(1) {
        let (name, value) = item.split_once('=').ok_or_else(|| malformed(format!("parameter {item:?} has no value")))?;
        let quoted = || {
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.is_empty() && v.len() <= MAX_TOKEN && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
                .map(str::to_string)
                .ok_or_else(|| malformed(format!("{name} must be a quoted token of letters, digits and -_.: (at most {MAX_TOKEN})")))
        };
        let slot = match name {
            "created" => {
                let v = value.parse::<u64>().map_err(|_| malformed("created must be whole seconds since 1970".into()))?;
                created.replace(v).is_some()
            }
            "nonce" => nonce.replace(quoted()?).is_some(),
            "keyid" => keyid.replace(quoted()?).is_some(),
            "tag" => tag.replace(quoted()?).is_some(),
            "alg" => alg.replace(quoted()?).is_some(),
            _ => return Err(malformed(format!("unknown parameter {name:?}"))),
        };
        if slot {
            return Err(malformed(format!("parameter {name} given twice")));
        }
    }
    if alg.as_deref() != Some("ed25519") {
        return Err(malformed("alg must be \"ed25519\"".into()));
    }
    // Requests name the node they are for; answers do not.
    let node = match (tag, components == REQUEST_COMPONENTS) {
        (Some(tag), true) => tag,
        (None, true) => return Err(malformed("tag (the node the request is for) is missing".into())),
        (Some(_), false) => return Err(malformed("an answer carries no tag".into())),
        (None, false) => String::new(),
    };
    Ok(Claim {
        node,
        created: created.ok_or_else(|| malformed("created is missing".into()))?,
        nonce: nonce.ok_or_else(|| malformed("nonce is missing".into()))?,
        keyid: keyid.ok_or_else(|| malformed("keyid is missing".into()))?,
    })
}

/// The node's checks of time and replays, after [`check_request`].
///
/// A signature is accepted within `window` seconds of the node's clock
/// either side; its nonce is remembered until it would be outside the
/// window anyway, so any replay inside the window is caught and memory
/// stays bounded by the request rate times twice the window.
#[derive(Debug)]
pub struct Verifier {
    window: u64,
    not_before: u64,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    nonces: HashSet<[u8; 16]>,
    /// (forget after, seconds; nonce digest), oldest first.
    order: VecDeque<(u64, [u8; 16])>,
}

impl Verifier {
    /// A verifier accepting signatures `window` seconds either side of
    /// now, and none created before `not_before` (seconds; the node's start,
    /// since nonces seen before it are forgotten).
    pub fn new(window: u64, not_before: u64) -> Verifier {
        Verifier { window, not_before, seen: Mutex::new(Seen::default()) }
    }

    /// Checks `signer`'s time against `now` (seconds) and records its
    /// nonce, refusing one already seen.
    ///
    /// # Errors
    /// [`SignatureError::OutsideWindow`] or [`SignatureError::Replayed`].
    pub fn admit(&self, signer: &Claim, now: u64) -> Result<(), SignatureError> {
        if signer.created.abs_diff(now) > self.window || signer.created < self.not_before {
            return Err(SignatureError::OutsideWindow { created: signer.created, now, window: self.window });
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(signer.keyid.as_bytes());
        hasher.update(&[0]);
        hasher.update(signer.nonce.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        // A poisoned lock only means another request panicked mid-update of
        // a set that stays consistent; keep serving.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(&(until, old)) = seen.order.front() {
            if until >= now {
                break;
            }
            seen.nonces.remove(&old);
            seen.order.pop_front();
        }
        if !seen.nonces.insert(key) {
            return Err(SignatureError::Replayed);
        }
        // Outside the window from created + window on; keep it one second more.
        seen.order.push_back((signer.created.max(now) + self.window + 1, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn claim(keyid: &str, created: u64, nonce: &str) -> Claim {
        Claim { keyid: keyid.into(), node: "XX-NODE".into(), created, nonce: nonce.into() }
    }

    fn received(h: &Headers) -> Received<'_> {
        Received { content_digest: Some(&h.content_digest), signature_input: Some(&h.signature_input), signature: Some(&h.signature) }
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_is_found() {
        let k = key(1);
        let lookup = |id: &str| (id == "DE-BKA").then(|| k.verifying_key());
        let h = sign_request(&k, &claim("DE-BKA", 1000, "n1"), "POST", "/v1/search/dna", b"{}");
        let s = check_request("POST", "/v1/search/dna", b"{}", received(&h), lookup).unwrap();
        assert_eq!(s, claim("DE-BKA", 1000, "n1"));
        assert_eq!(check_request("POST", "/v1/search/dna", b"{ }", received(&h), lookup), Err(SignatureError::DigestMismatch));
        assert_eq!(check_request("POST", "/v1/search/fingerprint", b"{}", received(&h), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
        assert_eq!(check_request("GET", "/v1/search/dna", b"{}", received(&h), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
        assert_eq!(check_request("POST", "/v1/search/dna?x=1", b"{}", received(&h), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
        let q = sign_request(&k, &claim("DE-BKA", 1000, "n2"), "GET", "/v1/demands?status=received", b"");
        assert!(check_request("GET", "/v1/demands?status=received", b"", received(&q), lookup).is_ok());
        assert_eq!(check_request("GET", "/v1/demands?status=answered", b"", received(&q), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
        assert_eq!(check_request("GET", "/v1/demands", b"", received(&q), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
        let other = sign_request(&key(2), &claim("DE-BKA", 1000, "n1"), "POST", "/v1/search/dna", b"{}");
        assert_eq!(check_request("POST", "/v1/search/dna", b"{}", received(&other), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
        let stranger = sign_request(&k, &claim("FR-PTS", 1000, "n1"), "POST", "/v1/search/dna", b"{}");
        assert_eq!(check_request("POST", "/v1/search/dna", b"{}", received(&stranger), lookup), Err(SignatureError::UnknownAuthority("FR-PTS".into())));
        // A changed parameter (a later time) breaks the signature.
        let mut later = h.clone();
        later.signature_input = later.signature_input.replace("created=1000", "created=1001");
        assert_eq!(check_request("POST", "/v1/search/dna", b"{}", received(&later), lookup), Err(SignatureError::Invalid("DE-BKA".into())));
    }

    #[test]
    fn malformed_and_missing_headers_are_named() {
        let k = key(1);
        let lookup = |_: &str| Some(k.verifying_key());
        let h = sign_request(&k, &claim("DE-BKA", 1, "n"), "POST", "/p", b"");
        assert_eq!(check_request("POST", "/p", b"", Received::default(), lookup), Err(SignatureError::Missing("Content-Digest")));
        for (input, needle) in [
            (r#"other=("@method" "@path" "@query" "content-digest");created=1;nonce="n";keyid="A";tag="N";alg="ed25519""#, "labelled hitdex"),
            (r#"hitdex=("@method" "@path" "content-digest");created=1;nonce="n";keyid="A";tag="N";alg="ed25519""#, "covered components"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=x;nonce="n";keyid="A";tag="N";alg="ed25519""#, "created"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=1;nonce="n";keyid="A";tag="N";alg="rsa""#, "alg"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=1;keyid="A";tag="N";alg="ed25519""#, "nonce is missing"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=1;created=2;nonce="n";keyid="A";tag="N";alg="ed25519""#, "twice"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=1;nonce="a b";keyid="A";tag="N";alg="ed25519""#, "nonce must be"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=1;nonce="n";keyid="A";tag="N";alg="ed25519";x=1"#, "unknown parameter"),
            (r#"hitdex=("@method" "@path" "@query" "content-digest");created=1;nonce="n";keyid="A";alg="ed25519""#, "tag (the node"),
        ] {
            let bad = Received { signature_input: Some(input), ..received(&h) };
            let e = check_request("POST", "/p", b"", bad, lookup).unwrap_err();
            assert_eq!(e.code(), "signature_malformed", "{input}");
            assert!(e.to_string().contains(needle), "{input}: {e}");
        }
        let bad = Received { signature: Some("hitdex=:AAAA:"), ..received(&h) };
        assert_eq!(check_request("POST", "/p", b"", bad, lookup).unwrap_err().code(), "signature_malformed");
    }

    #[test]
    fn the_window_and_replays_are_enforced() {
        let v = Verifier::new(60, 900);
        let at = |created: u64, nonce: &str| claim("A", created, nonce);
        // Made before the node started: its nonce may have been seen by the last run.
        assert!(matches!(v.admit(&at(899, "z"), 900), Err(SignatureError::OutsideWindow { .. })));
        assert!(v.admit(&at(1000, "a"), 1000).is_ok());
        assert_eq!(v.admit(&at(1000, "a"), 1030), Err(SignatureError::Replayed));
        // The same nonce from another authority is another request.
        assert!(v.admit(&Claim { keyid: "B".into(), ..at(1000, "a") }, 1030).is_ok());
        assert!(matches!(v.admit(&at(1000, "b"), 1061), Err(SignatureError::OutsideWindow { .. })));
        assert!(matches!(v.admit(&at(1100, "c"), 1000), Err(SignatureError::OutsideWindow { .. })));
        // Long after, the nonce is forgotten, and its signature too old anyway.
        assert!(matches!(v.admit(&at(1000, "a"), 5000), Err(SignatureError::OutsideWindow { .. })));
        assert!(v.seen.lock().unwrap().nonces.len() <= 2);
    }

    #[test]
    fn an_answer_is_bound_to_its_request() {
        let node = key(9);
        let h = sign_response(&node, "XX-NODE", 200, b"[1]", 5, "n1");
        assert!(check_response(200, b"[1]", received(&h), &node.verifying_key(), "n1").is_ok());
        assert_eq!(check_response(200, b"[1]", received(&h), &node.verifying_key(), "n2"), Err(SignatureError::WrongNonce("n1".into())));
        assert!(matches!(check_response(403, b"[1]", received(&h), &node.verifying_key(), "n1"), Err(SignatureError::Invalid(_))));
        assert!(matches!(check_response(200, b"[1]", received(&h), &key(8).verifying_key(), "n1"), Err(SignatureError::Invalid(_))));
    }
}
