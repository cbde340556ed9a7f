//! The node's parsers of what partner countries send: search and batch
//! bodies (DNA, and fingerprints with their base64 templates), the
//! signature headers, and the directory file. Any bytes get an
//! answer or an error, never a panic; a body the search parser accepts has
//! no more queries than the limit.
#![no_main]

use ed25519_dalek::SigningKey;
use hitdex_protocol::directory::Directory;
use hitdex_protocol::request;
use hitdex_protocol::signature::{self, Received};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = request::dna_search(data, 8, 1) {
        assert!(r.profiles.len() <= 8);
    }
    if let Ok(r) = request::dna_batch(data, 8, 1) {
        assert!(r.profiles.len() <= 8);
    }
    // Fingerprint searches: base64 templates of every format, read and encoded.
    for r in [request::finger_search(data, 8), request::finger_batch(data, 8)].into_iter().flatten() {
        assert!(r.queries.len() <= 8 && r.queries.len() == r.names.len());
        assert!(r.queries.iter().all(|q| (1..=10).contains(&q.len()) && q.iter().all(|(finger, _)| *finger <= 10)));
        assert!((1..=100).contains(&r.params.top));
    }
    // Three header lines, then the body.
    if let Ok(text) = std::str::from_utf8(data) {
        let mut parts = text.splitn(4, '\n');
        let (digest, input, sig) = (parts.next(), parts.next(), parts.next());
        let body = parts.next().unwrap_or_default().as_bytes();
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let received = Received { content_digest: digest, signature_input: input, signature: sig };
        let _ = signature::check_request("POST", "/v1/search/dna", body, received, |_| Some(key));
        let _ = signature::check_response(200, body, received, &key, "n");
        let _ = Directory::parse(text);
    }
});
