//! The node end to end: `hitdex node init`, a real `hitdex serve` process
//! on loopback, signed requests over real sockets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use hitdex_protocol::keys;
use hitdex_protocol::signature::{self, Received};

mod common;

use common::{fails, ok, s};

/// `../shared/datasets`, or `None` with a message saying the test is skipped.
fn shared(test: &str) -> bool {
    let found = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/README.md").exists();
    if !found {
        eprintln!("SKIPPED {test}: ../shared/datasets not found (node init draws profiles from its allele frequencies)");
    }
    found
}

/// A `hitdex serve` process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Stops the node as an operator would (SIGINT) and waits for it.
    fn stop(mut self) {
        let status = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("the node exits");
        assert!(exit.success(), "the node exited with {exit}");
    }

    /// Starts a node on a free port and waits until it is ready.
    fn start(config: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hitdex"))
            .args(["serve", "--config", s(config), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("hitdex serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a first line");
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
        let server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.get("/readyz").0 != 200 {
            assert!(Instant::now() < deadline, "the node did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// One HTTP/1.1 request on a fresh connection: status, headers, body.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut stream = self.send_head(method, path, headers, body.len());
        // The node may answer (413) before reading all of a huge body.
        let _ = stream.write_all(body);
        read_reply(stream)
    }

    /// A fresh connection with a request's head sent, announcing a body of
    /// `len` bytes: the caller sends the body (or holds it back).
    fn send_head(&self, method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> TcpStream {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {len}\r\n", self.addr);
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += "\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        stream
    }

    /// Waits until `/metrics` shows `line`.
    fn wait_for_metric(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.get("/metrics").1.lines().any(|l| l == line) {
            assert!(Instant::now() < deadline, "/metrics never showed {line:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let r = self.request("GET", path, &[], b"");
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    }

    /// A request signed by `keyid` with `key`, created `age` seconds ago.
    fn signed(&self, key: &SigningKey, keyid: &str, path: &str, body: &[u8], age: i64) -> (Reply, String) {
        self.signed_as("POST", key, keyid, path, body, age)
    }

    fn signed_as(&self, method: &str, key: &SigningKey, keyid: &str, path: &str, body: &[u8], age: i64) -> (Reply, String) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let claim = signature::Claim { keyid: keyid.into(), node: "XX-NODE".into(), created: (now - age) as u64, nonce: signature::nonce() };
        let h = signature::sign_request(key, &claim, method, path, body);
        let nonce = claim.nonce;
        let reply = self.request(method, path, &[("content-digest", &h.content_digest), ("signature-input", &h.signature_input), ("signature", &h.signature)], body);
        (reply, nonce)
    }
}

/// The answer on `stream`, read to its end: status, headers, body.
fn read_reply(mut stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("an answer");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("a status line");
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&body[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 4 + size..];
    }
}

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    /// The JSON error's code, after checking the node signed the answer for `nonce`.
    fn code(&self, node: &ed25519_dalek::VerifyingKey, nonce: &str) -> String {
        self.verify(node, nonce);
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)));
        v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {v} ({})", self.status)).to_string()
    }

    fn verify(&self, node: &ed25519_dalek::VerifyingKey, nonce: &str) {
        let h = |n: &str| self.headers.get(n).map(String::as_str);
        let received = Received { content_digest: h("content-digest"), signature_input: h("signature-input"), signature: h("signature") };
        signature::check_response(self.status, &self.body, received, node, nonce).expect("a signed answer");
    }
}

/// A node directory with 3,000 profiles and 200 persons' fingerprints.
fn node(dir: &Path) -> PathBuf {
    ok(&["node", "init", "--dir", s(dir), "--profiles", "3000", "--queries", "200", "--seed", "7", "--fingerprint-persons", "200", "--fingerprint-queries", "12"]);
    dir.join("node.toml")
}

#[test]
fn signed_searches_answer_as_the_local_search_and_bad_requests_get_precise_4xx() {
    if !shared("signed_searches_answer_as_the_local_search_and_bad_requests_get_precise_4xx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node");
    let config = node(&d);
    assert!(fails(&["node", "init", "--dir", s(&d)]).contains("not empty"));
    let server = Server::start(&config);
    let url = format!("http://{}", server.addr);

    // The client's answers are the local search's, line for line.
    let local = ok(&["search", "dna", "--index", s(&d.join("indexes/dna")), "--queries", s(&d.join("queries.csv"))]);
    let remote = ok(&["client", "search", "dna", "--config", s(&d.join("client.toml")), "--url", &url, "--queries", s(&d.join("queries.csv")), "--per-request", "7", "--case", "C-0"]);
    assert_eq!(remote, local);
    assert!(local.contains("\"quality\":\"full\""), "the queries should find hits");
    // Index-only access: the same hits, reference and authority only.
    let index_only = ok(&["client", "search", "dna", "--config", s(&d.join("client-FR-PTS.toml")), "--url", &url, "--queries", s(&d.join("queries.csv")), "--case", "C-0"]);
    assert_eq!(index_only.matches("\"reference\"").count(), local.matches("\"reference\"").count());
    assert!(!index_only.contains("quality") && !index_only.contains("loci"));

    let node_key = keys::read_public(&d.join("node.pub")).unwrap();
    let de = keys::read_signing(&d.join("keys/DE-BKA.key")).unwrap();
    let nl = keys::read_signing(&d.join("keys/NL-NFI.key")).unwrap();
    let body = br#"{"purpose":"test","case_reference":"C-1","queries":[{"query":"Q","loci":{"TH01":"6/9.3","FGA":"20/22","vWA":"16/17","D3S1358":"15/16","D8S1179":"12/13","D21S11":"28/30"}}]}"#;

    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", body, 0);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.verify(&node_key, &nonce);

    // Unsigned.
    let r = server.request("POST", "/v1/search/dna", &[], body);
    assert_eq!((r.status, r.code(&node_key, "none")), (401, "signature_missing".into()));
    // Signed with another authority's key.
    let (r, nonce) = server.signed(&nl, "DE-BKA", "/v1/search/dna", body, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (401, "signature_invalid".into()));
    // An authority the directory does not know.
    let (r, nonce) = server.signed(&de, "XX-NONE", "/v1/search/dna", body, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (401, "unknown_authority".into()));
    // Expired, and from the future.
    for age in [3600, -3600] {
        let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", body, age);
        assert_eq!((r.status, r.code(&node_key, &nonce)), (401, "signature_expired".into()));
    }
    // Replayed: the very same signed request twice.
    let claim = |node: &str, nonce: &str| signature::Claim { keyid: "DE-BKA".into(), node: node.into(), created: SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs(), nonce: nonce.into() };
    // Signed for another node: refused, whatever else is right.
    let h = signature::sign_request(&de, &claim("YY-NODE", "elsewhere"), "POST", "/v1/search/dna", body);
    let r = server.request("POST", "/v1/search/dna", &[("content-digest", h.content_digest.as_str()), ("signature-input", &h.signature_input), ("signature", &h.signature)], body);
    assert_eq!((r.status, r.code(&node_key, "elsewhere")), (401, "wrong_node".into()));
    let h = signature::sign_request(&de, &claim("XX-NODE", "replay-me"), "POST", "/v1/search/dna", body);
    let headers = [("content-digest", h.content_digest.as_str()), ("signature-input", &h.signature_input), ("signature", &h.signature)];
    assert_eq!(server.request("POST", "/v1/search/dna", &headers, body).status, 200);
    let r = server.request("POST", "/v1/search/dna", &headers, body);
    assert_eq!((r.status, r.code(&node_key, "replay-me")), (401, "replayed".into()));
    // A body changed after signing.
    let h = signature::sign_request(&de, &claim("XX-NODE", "changed"), "POST", "/v1/search/dna", body);
    let headers = [("content-digest", h.content_digest.as_str()), ("signature-input", &h.signature_input), ("signature", &h.signature)];
    let r = server.request("POST", "/v1/search/dna", &headers, &body[..body.len() - 1]);
    assert_eq!((r.status, r.code(&node_key, "changed")), (401, "digest_mismatch".into()));
    // Unauthorised: NL-NFI has no access to DNA.
    let (r, nonce) = server.signed(&nl, "NL-NFI", "/v1/search/dna", body, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (403, "forbidden".into()));

    // Malformed JSON, wrong types, unknown fields, bad alleles: 400, signed.
    for (bad, code) in [
        (&b"{"[..], "invalid_json"),
        (b"[]", "invalid_json"),
        (br#"{"purpose":1,"case_reference":"c","queries":[]}"#, "invalid_json"),
        (br#"{"purpose":"p","case_reference":"c","queries":[],"min_locus":6}"#, "invalid_json"),
        (br#"{"purpose":"p","case_reference":"c","queries":[],"min_loci":99}"#, "invalid_query"),
        (br#"{"purpose":"p","case_reference":"c","queries":[{"query":"Q","loci":{"TH01":"9.3.1"}}]}"#, "invalid_query"),
        (br#"{"purpose":"p","case_reference":"c","queries":[{"query":"Q","loci":{"XYZ1":"6"}}]}"#, "invalid_query"),
        (b"\xff\xfe", "invalid_json"),
        (br#"{"purpose":"","case_reference":"c","queries":[]}"#, "invalid_field"),
    ] {
        let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", bad, 0);
        assert_eq!((r.status, r.code(&node_key, &nonce)), (400, code.to_string()), "{}", String::from_utf8_lossy(bad));
    }
    // Loci typed `*` match every profile: such a query cannot list the database.
    let wild = br#"{"purpose":"p","case_reference":"c","queries":[{"query":"W","loci":{"TH01":"*","FGA":"*","vWA":"*","D3S1358":"*","D8S1179":"*","D21S11":"*"}}]}"#;
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", wild, 0);
    r.verify(&node_key, &nonce);
    assert_eq!((r.status, String::from_utf8_lossy(&r.body).into_owned()), (200, r#"{"node":"XX-NODE","results":[{"query":"W","hits":[]}]}"#.to_string()));
    // Oversized: over max_body_bytes (8 MiB).
    let huge = vec![b' '; 9 << 20];
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", &huge, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (413, "body_too_large".into()));
    // Too many queries for one search.
    let many = format!(r#"{{"purpose":"p","case_reference":"c","queries":[{}]}}"#, vec![r#"{"query":"Q","loci":{}}"#; 1001].join(","));
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", many.as_bytes(), 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (413, "too_many_queries".into()));
    // Paths and methods that do not exist: JSON 404 and 405.
    assert_eq!(server.get("/v2/search/dna").0, 404);
    assert!(server.get("/v2/search/dna").1.contains("\"not_found\""));
    assert_eq!(server.get("/v1/search/dna").0, 405);

    // Batch: NDJSON in, NDJSON out, errors name the line.
    let six = r#""TH01":"6/9.3","FGA":"20/22","vWA":"16/17","D3S1358":"15/16","D8S1179":"12/13","D21S11":"28/30""#;
    let batch = format!("{{\"purpose\":\"p\",\"case_reference\":\"c\"}}\n{{\"query\":\"B1\",\"loci\":{{{six}}}}}\n\n{{\"query\":\"B2\",\"loci\":{{{six}}}}}\n");
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/batch/dna", batch.as_bytes(), 0);
    assert_eq!(r.status, 200);
    r.verify(&node_key, &nonce);
    assert_eq!(String::from_utf8_lossy(&r.body), "{\"query\":\"B1\",\"hits\":[]}\n{\"query\":\"B2\",\"hits\":[]}\n");
    let bad_batch = format!("{{\"purpose\":\"p\",\"case_reference\":\"c\"}}\n{{\"query\":\"B1\",\"loci\":{{{six}}}}}\n{{\"query\":7}}\n");
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/batch/dna", bad_batch.as_bytes(), 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (400, "invalid_json".into()));
    assert!(String::from_utf8_lossy(&r.body).contains("line 3"));

    // Key-only categories: the node answers each query as the local search does.
    for category in ["vehicle", "phone", "identity"] {
        let queries = d.join(format!("queries-{category}.csv"));
        let local = ok(&["search", category, "--index", s(&d.join("indexes").join(category)), "--queries", s(&queries)]);
        let text = std::fs::read_to_string(&queries).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let rows: Vec<serde_json::Value> = lines
            .map(|l| {
                let mut q = serde_json::Map::new();
                for (name, cell) in header.iter().zip(l.split(',')) {
                    match *name {
                        "reference" => drop(q.insert("query".into(), cell.into())),
                        "authority" | "kind" => {}
                        _ if !cell.is_empty() => drop(q.insert(name.to_string(), cell.into())),
                        _ => {}
                    }
                }
                serde_json::Value::Object(q)
            })
            .collect();
        let body = serde_json::json!({"purpose": "test", "case_reference": "C-2", "queries": rows}).to_string();
        let (r, nonce) = server.signed(&de, "DE-BKA", &format!("/v1/search/{category}"), body.as_bytes(), 0);
        assert_eq!(r.status, 200, "{category}: {}", String::from_utf8_lossy(&r.body));
        r.verify(&node_key, &nonce);
        let answer: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let local_results: Vec<serde_json::Value> = local.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(answer["results"].as_array().unwrap(), &local_results, "{category}");
        assert!(local.contains("\"reference\""), "{category}: the queries should hit");
    }
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/vehicle", br#"{"purpose":"p","case_reference":"c","queries":[{"query":"Q","number":"+49 30 1234567"}]}"#, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (400, "invalid_query".into()));
    let (r, nonce) = server.signed(&nl, "NL-NFI", "/v1/search/phone", br#"{"purpose":"p","case_reference":"c","queries":[]}"#, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (403, "forbidden".into()));

    // Status, metrics, description; the node is still up.
    let (r, nonce) = server.signed_as("GET", &de, "DE-BKA", "/v1/index/status", b"", 0);
    assert_eq!(r.status, 200);
    r.verify(&node_key, &nonce);
    let status: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((status["indexes"][0]["records"].as_u64(), status["indexes"][0]["verified"].as_bool()), (Some(3000), Some(true)));
    assert_eq!(status["indexes"].as_array().map(Vec::len), Some(5), "dna, fingerprint and the three key-only indexes");
    let metrics = server.get("/metrics").1;
    assert!(metrics.contains("hitdex_refusals_total{code=\"replayed\"} 1"), "{metrics}");
    assert!(metrics.contains("hitdex_request_seconds_count"));
    let openapi: serde_json::Value = serde_json::from_str(&server.get("/v1/openapi.json").1).unwrap();
    assert!(openapi["paths"]["/v1/search/dna"].is_object());
    assert_eq!(server.get("/healthz"), (200, "ok\n".into()));

    // Every signed exchange, answered or refused, is in the audit log, which
    // verifies once the node has stopped; the log answers a data subject.
    let requests = metrics.lines().filter(|l| l.starts_with("hitdex_requests_total")).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum::<u64>();
    server.stop();
    let log = d.join("audit.log");
    let report = ok(&["audit", "verify", "--log", s(&log), "--key", s(&d.join("node.pub"))]);
    assert!(report.starts_with(&format!("ok: {requests} entries")), "{requests} requests: {report}");
    let hit = local.split("\"reference\":\"").nth(1).and_then(|r| r.split('"').next()).expect("a hit reference");
    let concerned = ok(&["audit", "subject", "--log", s(&log), "--reference", hit]);
    assert!(concerned.lines().count() >= 2, "the direct and the index-only search both returned {hit}:\n{concerned}");
    assert!(concerned.lines().all(|l| l.contains(hit) && l.contains("\"answered\"")));
    for code in ["replayed", "signature_missing", "forbidden", "body_too_large"] {
        assert!(std::fs::read_to_string(&log).unwrap().contains(&format!("\"{code}\"")), "no refusal {code} in the log");
    }
    // A changed byte is found.
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.windows(5).position(|w| w == b"\"C-1\"").expect("the case reference in the log");
    bytes[at + 1] ^= 1;
    std::fs::write(&log, &bytes).unwrap();
    let out = common::hitdex(&["audit", "verify", "--log", s(&log), "--key", s(&d.join("node.pub"))]);
    assert!(!out.status.success(), "a changed log must fail verification");
}

/// The `(reference, authority)` of every candidate of each NDJSON line.
fn holders(ndjson: &str) -> Vec<Vec<(String, String)>> {
    ndjson
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let list = v["candidates"].as_array().or(v["hits"].as_array()).unwrap_or_else(|| panic!("no candidates: {l}"));
            list.iter().map(|c| (c["reference"].as_str().unwrap().to_string(), c["authority"].as_str().unwrap().to_string())).collect()
        })
        .collect()
}

#[test]
fn fingerprint_and_key_only_clients_answer_as_the_local_search() {
    if !shared("fingerprint_and_key_only_clients_answer_as_the_local_search") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node");
    let config = node(&d);
    let server = Server::start(&config);
    let url = format!("http://{}", server.addr);
    let manifest = d.join("queries-fingerprint.csv");
    let index = d.join("indexes/fingerprint");
    let client = |toml: &str, queries: &Path, extra: &[&str]| {
        let config = d.join(toml);
        let mut args = vec!["client", "search", "fingerprint", "--config", s(&config), "--url", &url, "--queries", s(queries), "--case", "C-F"];
        args.extend_from_slice(extra);
        common::hitdex(&args)
    };
    let stdout = |out: std::process::Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };

    // Direct access: the very lines of the local search, cards and latents.
    let local = ok(&["search", "fingerprint", "--index", s(&index), "--queries", s(&manifest)]);
    let remote = stdout(client("client.toml", &manifest, &["--per-request", "5"]));
    assert_eq!(remote, local);
    assert_eq!(local.lines().count(), 12);
    assert!(local.contains("\"fingers\":[{\"query_finger\":1,"), "two-finger cards are scored per finger: {local}");
    // List length and threshold: the mated queries (cards C, latents L) find
    // their person above 0.04 (0.056 or more at this seed), the unknown
    // fingers (U) no one (0.02 at most).
    let local = ok(&["search", "fingerprint", "--index", s(&index), "--queries", s(&manifest), "--top", "1", "--threshold", "0.04"]);
    let remote = stdout(client("client.toml", &manifest, &["--top", "1", "--threshold", "0.04"]));
    assert_eq!(remote, local);
    for (line, found) in local.lines().zip(holders(&local)) {
        let expected = if line.contains("\"query\":\"U") { 0 } else { 1 };
        assert_eq!(found.len(), expected, "{line}");
    }

    // Index-only access: the same candidates, who holds them and nothing more.
    let all = ok(&["search", "fingerprint", "--index", s(&index), "--queries", s(&manifest)]);
    let index_only = stdout(client("client-FR-PTS.toml", &manifest, &[]));
    assert_eq!(holders(&index_only), holders(&all));
    assert!(!index_only.contains("score") && !index_only.contains("finger"), "{index_only}");
    // No access.
    let refused = client("client-NL-NFI.toml", &manifest, &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403 forbidden"), "{}", String::from_utf8_lossy(&refused.stderr));

    // Malformed templates: 400, naming query and finger; signed.
    use base64::Engine as _;
    let node_key = keys::read_public(&d.join("node.pub")).unwrap();
    let de = keys::read_signing(&d.join("keys/DE-BKA.key")).unwrap();
    let nl = keys::read_signing(&d.join("keys/NL-NFI.key")).unwrap();
    let record = std::fs::read(d.join("fingerprint-queries/L0002-0.iso")).unwrap();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let search = |template: &str| format!(r#"{{"purpose":"p","case_reference":"C-F","queries":[{{"query":"L","fingers":[{{"finger":0,"format":"iso","template":"{}"}}]}},{{"query":"T","fingers":[{{"finger":0,"format":"iso","template":"{}"}},{{"finger":2,"format":"iso","template":"{template}"}}]}}]}}"#, b64(&record), b64(&record));
    for (template, code, says) in [
        ("*not base64*".to_string(), "invalid_template", "not base64"),
        (b64(&record[..record.len() / 2]), "invalid_template", "template: byte"),
        (b64(b"FMR\0 20\0"), "invalid_template", "template: byte"),
    ] {
        let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/fingerprint", search(&template).as_bytes(), 0);
        assert_eq!((r.status, r.code(&node_key, &nonce)), (400, code.to_string()));
        let message = serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.starts_with("queries[1] \"T\": fingers[1] (finger 2): ") && message.contains(says), "{message}");
    }
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/fingerprint", search(&b64(&record)).as_bytes(), 0);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.verify(&node_key, &nonce);
    let (r, nonce) = server.signed(&nl, "NL-NFI", "/v1/search/fingerprint", search(&b64(&record)).as_bytes(), 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (403, "forbidden".into()));
    // The NDJSON batch: a header, then a query per line.
    let latent = |name: &str| format!(r#"{{"query":"{name}","fingers":[{{"finger":0,"format":"iso","template":"{}"}}]}}"#, b64(&record));
    let batch = format!("{{\"purpose\":\"p\",\"case_reference\":\"C-F\",\"max_candidates\":2}}\n{}\n{}\n", latent("B1"), latent("B2"));
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/batch/fingerprint", batch.as_bytes(), 0);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.verify(&node_key, &nonce);
    let lines = String::from_utf8(r.body.clone()).unwrap();
    let found = holders(&lines);
    assert_eq!((found.len(), found[0].len()), (2, 2), "{lines}");
    assert_eq!(found[0], found[1]);
    assert_eq!(found[0][0], holders(&all)[1][0], "the latent L0002's best candidate, as in the search");

    // Key-only categories: the client takes the local search's CSV.
    for category in ["vehicle", "phone", "identity"] {
        let queries = d.join(format!("queries-{category}.csv"));
        let local = ok(&["search", category, "--index", s(&d.join("indexes").join(category)), "--queries", s(&queries)]);
        let remote = ok(&["client", "search", category, "--config", s(&d.join("client.toml")), "--url", &url, "--queries", s(&queries), "--case", "C-K", "--per-request", "3"]);
        assert_eq!(remote, local, "{category}");
        assert!(local.contains("\"reference\""), "{category}: the queries should hit");
    }
    // German numbers written nationally with --region: sent as written,
    // normalised by the node as by the local search.
    let mut national = String::from("reference,number\n");
    for (i, line) in std::fs::read_to_string(d.join("queries-phone.csv")).unwrap().lines().enumerate() {
        if let Some(rest) = line.split(',').nth(3).and_then(|n| n.strip_prefix("+49 ")) {
            national += &format!("N{i},0{rest}\n");
        }
    }
    let path = dir.path().join("national.csv");
    std::fs::write(&path, &national).unwrap();
    let local = ok(&["search", "phone", "--index", s(&d.join("indexes/phone")), "--queries", s(&path), "--region", "DE"]);
    let remote = ok(&["client", "search", "phone", "--config", s(&d.join("client.toml")), "--url", &url, "--queries", s(&path), "--region", "DE", "--case", "C-K"]);
    assert_eq!(remote, local);
    assert!(local.contains("\"reference\""), "a national number should hit: {national}");
    // A bad cell is found before anything is sent, naming line and column.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "reference,plate\nQ1,B-AB 1\nQ2,AB#1\n").unwrap();
    let e = fails(&["client", "search", "vehicle", "--config", s(&d.join("client.toml")), "--url", &url, "--queries", s(&bad), "--case", "C-K"]);
    assert!(e.contains("bad.csv:3: column plate"), "{e}");

    // The status lists the fingerprint index, verified.
    let (r, nonce) = server.signed_as("GET", &de, "DE-BKA", "/v1/index/status", b"", 0);
    r.verify(&node_key, &nonce);
    let status: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let fingerprint = status["indexes"].as_array().unwrap().iter().find(|i| i["category"] == "fingerprint").expect("the fingerprint index");
    assert_eq!((fingerprint["records"].as_u64(), fingerprint["verified"].as_bool()), (Some(400), Some(true)), "{status}");

    // The audit log names the candidates returned.
    server.stop();
    ok(&["audit", "verify", "--log", s(&d.join("audit.log")), "--key", s(&d.join("node.pub"))]);
    let (reference, _) = &holders(&all)[0][0];
    let concerned = ok(&["audit", "subject", "--log", s(&d.join("audit.log")), "--reference", reference]);
    assert!(concerned.lines().filter(|l| l.contains("\"fingerprint\"")).count() >= 3, "the direct, the limited and the index-only search returned {reference}:\n{concerned}");
}

/// A signed request whose answer must verify; its status and JSON body.
fn exchange(server: &Server, node: &ed25519_dalek::VerifyingKey, key: &SigningKey, keyid: &str, method: &str, target: &str, body: &str) -> (u16, serde_json::Value) {
    let (r, nonce) = server.signed_as(method, key, keyid, target, body.as_bytes(), 0);
    r.verify(node, &nonce);
    let v = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&r.body)));
    (r.status, v)
}

#[test]
fn an_information_demand_goes_through_authorisation_to_an_answer_and_survives_a_restart() {
    if !shared("an_information_demand_goes_through_authorisation_to_an_answer_and_survives_a_restart") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node");
    let config = node(&d);
    let node_key = keys::read_public(&d.join("node.pub")).unwrap();
    let key = |id: &str| keys::read_signing(&d.join(format!("keys/{id}.key"))).unwrap();
    let (de, fr, nl, judge) = (key("DE-BKA"), key("FR-PTS"), key("NL-NFI"), key("DE-JUDGE"));
    let server = Server::start(&config);

    let form = r#"{"case_reference":"FR-2026-77","hit":{"category":"dna","reference":"P0000000244"},"data_categories":["dna"],
        "requesting_authority":{"name":"PTS Lyon","address":"31 av. Franklin Roosevelt, Écully","country":"FR","phone":"+33 4 72 86 84 00","email":"pts@interieur.gouv.fr"},
        "designated_authority":"DE-BKA","offences":["armed robbery"],"purpose":"identify the trace donor","use_as_evidence":true}"#;
    let (status, demand) = exchange(&server, &node_key, &fr, "FR-PTS", "POST", "/v1/demands", form);
    assert_eq!(status, 200, "{demand}");
    assert_eq!(demand["status"], "received");
    let id = demand["id"].as_str().unwrap().to_string();
    let at = |rest: &str| format!("/v1/demands/{id}{rest}");

    // Malformed and invalid forms, other authorities.
    assert_eq!(exchange(&server, &node_key, &fr, "FR-PTS", "POST", "/v1/demands", "{").0, 400);
    let (status, e) = exchange(&server, &node_key, &fr, "FR-PTS", "POST", "/v1/demands", &form.replace("pts@interieur.gouv.fr", "not-an-address"));
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("invalid_input")));
    assert!(e["error"]["message"].as_str().unwrap().contains("requesting_authority.email"), "{e}");
    assert_eq!(exchange(&server, &node_key, &nl, "NL-NFI", "GET", &at(""), "").0, 404, "NL-NFI neither sent nor must answer it");
    let (status, e) = exchange(&server, &node_key, &nl, "NL-NFI", "POST", "/v1/demands", &form.replace("FR-2026-77", "NL-1"));
    assert_eq!((status, e["error"]["code"].as_str()), (403, Some("forbidden")), "NL-NFI has no access to DNA: {e}");
    assert_eq!(exchange(&server, &node_key, &fr, "FR-PTS", "POST", &at("/answer"), r#"{"outcome":"forward","competent_authority":"X"}"#).0, 403);

    // Evidence use needs a judicial authorisation first.
    let data = r#"{"outcome":"data","data":{"attachment_reference":"BKA-secure-mail-4711"},"conditions":[{"ground":"ongoing_investigation","condition":"do not contact the person before 2027-01-01"}],"released_for_evidence":true}"#;
    let (status, e) = exchange(&server, &node_key, &de, "DE-BKA", "POST", &at("/answer"), data);
    assert_eq!(status, 409, "{e}");
    // The directory says who is judicial, not the submitter.
    assert_eq!(exchange(&server, &node_key, &de, "DE-BKA", "POST", &at("/authorisation"), r#"{"authorising_body":"NL-NFI","judicial":true}"#).0, 422);
    let (status, d1) = exchange(&server, &node_key, &de, "DE-BKA", "POST", &at("/authorisation"), r#"{"authorising_body":"DE-JUDGE","judicial":true}"#);
    assert_eq!((status, d1["status"].as_str()), (200, Some("awaiting_authorisation")));
    assert_eq!(exchange(&server, &node_key, &de, "DE-BKA", "POST", &at("/decision"), r#"{"decision":"granted"}"#).0, 403, "only the judge decides");
    let (status, d2) = exchange(&server, &node_key, &judge, "DE-JUDGE", "POST", &at("/decision"), r#"{"decision":"granted","reference":"AG-WI 4 Gs 12/26"}"#);
    assert_eq!((status, d2["status"].as_str()), (200, Some("authorised")));
    let (status, d3) = exchange(&server, &node_key, &de, "DE-BKA", "POST", &at("/answer"), data);
    assert_eq!((status, d3["status"].as_str()), (200, Some("answered")), "{d3}");
    assert_eq!(exchange(&server, &node_key, &de, "DE-BKA", "POST", &at("/answer"), data).0, 409, "answered once");

    // Lists with filters; the requester sees its demand answered.
    let (_, list) = exchange(&server, &node_key, &fr, "FR-PTS", "GET", "/v1/demands?status=answered", "");
    assert_eq!(list["demands"].as_array().map(Vec::len), Some(1));
    let (_, list) = exchange(&server, &node_key, &fr, "FR-PTS", "GET", "/v1/demands?overdue=true", "");
    assert_eq!(list["demands"].as_array().map(Vec::len), Some(0));
    let (_, list) = exchange(&server, &node_key, &nl, "NL-NFI", "GET", "/v1/demands", "");
    assert_eq!(list["demands"].as_array().map(Vec::len), Some(0));
    assert_eq!(exchange(&server, &node_key, &fr, "FR-PTS", "GET", "/v1/demands?colour=red", "").0, 400);

    // A path naming no demand id is not logged as naming one.
    assert_eq!(exchange(&server, &node_key, &fr, "FR-PTS", "GET", "/v1/demands/not-a-demand-id", "").0, 404);

    // After a restart the demand is still answered, with its history.
    server.stop();
    let server = Server::start(&config);
    let (status, again) = exchange(&server, &node_key, &fr, "FR-PTS", "GET", &at(""), "");
    assert_eq!((status, again["status"].as_str()), (200, Some("answered")));
    assert_eq!(again["history"].as_array().map(Vec::len), Some(4), "{again}");
    server.stop();
    let concerned = ok(&["audit", "subject", "--log", s(&d.join("audit.log")), "--reference", "P0000000244"]);
    assert!(concerned.lines().count() >= 5, "the demand, submission, decision and answers name the reference:\n{concerned}");
    ok(&["audit", "verify", "--log", s(&d.join("audit.log")), "--key", s(&d.join("node.pub"))]);

    // The log names the demand of every exchange about it: the answer that
    // created it, those on its path, refusals included; and no other.
    let demand_of = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        (v["record"]["action"].as_str().unwrap().to_string(), v["record"]["outcome"]["status"].as_u64(), v["record"]["demand"].as_str().map(str::to_string))
    };
    let with_id = Some(id.clone());
    assert!(concerned.lines().all(|l| demand_of(l).2 == with_id), "subject shows the demand id:\n{concerned}");
    let log = std::fs::read_to_string(d.join("audit.log")).unwrap();
    let entries: Vec<_> = log.lines().filter(|l| l.starts_with(r#"{"type":"entry""#)).map(demand_of).collect();
    let e = |action: &str, status: Option<u64>, named: bool| (action.to_string(), status, named.then(|| id.clone()));
    let expected = [
        e("demand", None, true),
        e("demand", Some(400), false),
        e("demand", Some(422), false),
        e("read", Some(404), true),
        e("demand", Some(403), false),
        e("answer", Some(403), true),
        e("answer", Some(409), true),
        e("authorisation", Some(422), true),
        e("authorisation", None, true),
        e("decision", Some(403), true),
        e("decision", None, true),
        e("answer", None, true),
        e("answer", Some(409), true),
        e("list", None, false),
        e("list", None, false),
        e("list", None, false),
        e("list", Some(400), false),
        e("read", Some(404), false),
        e("read", None, true),
    ];
    assert_eq!(entries, expected);
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_demand_goes_through_the_contact_point_when_the_designated_node_is_down() {
    if !shared("a_demand_goes_through_the_contact_point_when_the_designated_node_is_down") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("bka"), dir.path().join("ncp"));
    node(&a);
    // The contact point's node knows the same authorities, and has a key of its own.
    copy_tree(&a, &b);
    let ncp_key = keys::generate();
    keys::write_signing(&b.join("node.key"), &ncp_key).unwrap();
    keys::write_public(&b.join("node.pub"), &ncp_key.verifying_key()).unwrap();
    let (bka, ncp) = (Server::start(&a.join("node.toml")), Server::start(&b.join("node.toml")));
    // The requester's directory: DE-BKA runs node A; Germany's contact point runs node B.
    let authorities = std::fs::read_to_string(a.join("authorities.toml")).unwrap();
    let public = |d: &Path| std::fs::read_to_string(d.join("node.pub")).unwrap().trim().to_string();
    let authorities = authorities.split("# National contact points").next().unwrap().replace(
        "id = \"DE-BKA\"\n",
        &format!("id = \"DE-BKA\"\nnode = {{ url = \"http://{}\", id = \"XX-NODE\", public_key = \"{}\" }}\n", bka.addr, public(&a)),
    );
    let directory = dir.path().join("directory.toml");
    std::fs::write(&directory, format!("{authorities}\n[[contact_point]]\ncountry = \"DE\"\nauthority = \"DE-NCP\"\nurl = \"http://{}\"\nnode_id = \"XX-NODE\"\nnode_key = \"{}\"\n", ncp.addr, public(&b))).unwrap();
    let form = dir.path().join("form.json");
    std::fs::write(&form, r#"{"case_reference":"FR-2026-78","data_categories":["dna"],"requesting_authority":{"name":"PTS Lyon","address":"Écully","country":"FR","phone":"+33 4 72 86 84 00","email":"pts@interieur.gouv.fr"},"designated_authority":"DE-BKA","offences":["burglary"],"purpose":"identify the donor","use_as_evidence":false}"#).unwrap();
    let send = || common::hitdex(&["client", "demand", "--config", s(&a.join("client-FR-PTS.toml")), "--directory", s(&directory), "--form", s(&form)]);
    let node_key = keys::read_public(&a.join("node.pub")).unwrap();
    let fr = keys::read_signing(&a.join("keys/FR-PTS.key")).unwrap();
    let id = |out: &std::process::Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_string();

    let direct = send();
    assert!(direct.status.success(), "{}", String::from_utf8_lossy(&direct.stderr));
    assert!(String::from_utf8_lossy(&direct.stderr).contains(&format!("sent to DE-BKA's node at http://{}", bka.addr)));
    assert_eq!(exchange(&bka, &node_key, &fr, "FR-PTS", "GET", &format!("/v1/demands/{}", id(&direct)), "").0, 200);

    bka.stop();
    let relayed = send();
    let said = String::from_utf8_lossy(&relayed.stderr).into_owned();
    assert!(relayed.status.success(), "{said}");
    assert!(said.contains(&format!("sent through the contact point DE-NCP at http://{}", ncp.addr)), "{said}");
    let (status, demand) = exchange(&ncp, &ncp_key.verifying_key(), &fr, "FR-PTS", "GET", &format!("/v1/demands/{}", id(&relayed)), "");
    assert_eq!((status, demand["status"].as_str(), demand["form"]["case_reference"].as_str()), (200, Some("received"), Some("FR-2026-78")));

    ncp.stop();
    let lost = send();
    assert!(!lost.status.success());
    assert!(String::from_utf8_lossy(&lost.stderr).contains("error"), "{}", String::from_utf8_lossy(&lost.stderr));
}

/// Writes a DNA CSV of `groups`: for each, `count` persons typed alike at
/// six loci, named `prefix` and a number. Returns the file.
fn alike(dir: &Path, groups: &[(&str, usize, &str)]) -> PathBuf {
    let mut csv = String::from("reference,authority,kind,TH01,FGA,vWA,D3S1358,D8S1179,D21S11\n");
    for (prefix, count, genotype) in groups {
        for i in 0..*count {
            csv += &format!("{prefix}{i:07},DE-BKA,person,{genotype}\n");
        }
    }
    let path = dir.join("alike.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn a_batch_naming_more_references_than_an_audit_line_holds_is_answered_and_logged_in_parts() {
    if !shared("a_batch_naming_more_references_than_an_audit_line_holds_is_answered_and_logged_in_parts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node");
    let config = node(&d);
    // An index where each query of a batch matches 5,000 profiles: 59 such
    // queries name 295,000 references, about 13 MB in the log, more than
    // three lines hold; a last query matches three other profiles.
    let (g1, g2) = ("6/9.3,20/22,16/17,15/16,12/13,28/30", "7/8,21/23,14/15,17/18,10/11,29/31");
    let csv = alike(dir.path(), &[("G", 5000, g1), ("L", 3, g2)]);
    std::fs::remove_dir_all(d.join("indexes/dna")).unwrap();
    ok(&["index", "build", "--category", "dna", "--input", s(&csv), "--out", s(&d.join("indexes/dna"))]);
    let loci = |g: &str| {
        let v: Vec<&str> = g.split(',').collect();
        format!(r#"{{"TH01":"{}","FGA":"{}","vWA":"{}","D3S1358":"{}","D8S1179":"{}","D21S11":"{}"}}"#, v[0], v[1], v[2], v[3], v[4], v[5])
    };
    let mut batch = String::from("{\"purpose\":\"p\",\"case_reference\":\"BIG-1\"}\n");
    for i in 0..59 {
        batch += &format!("{{\"query\":\"Q{i}\",\"loci\":{}}}\n", loci(g1));
    }
    batch += &format!("{{\"query\":\"LAST\",\"loci\":{}}}\n", loci(g2));

    let server = Server::start(&config);
    let node_key = keys::read_public(&d.join("node.pub")).unwrap();
    let fr = keys::read_signing(&d.join("keys/FR-PTS.key")).unwrap();
    let (r, nonce) = server.signed(&fr, "FR-PTS", "/v1/batch/dna", batch.as_bytes(), 0);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body[..r.body.len().min(500)]));
    r.verify(&node_key, &nonce);
    let answer = String::from_utf8(r.body).unwrap();
    assert_eq!(answer.lines().count(), 60);
    assert_eq!(answer.matches("\"reference\"").count(), 295_003);
    assert!(answer.lines().last().unwrap().contains("\"L0000002\""));
    server.stop();

    let log = d.join("audit.log");
    ok(&["audit", "verify", "--log", s(&log), "--key", s(&d.join("node.pub"))]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().all(|l| l.len() <= hitdex_protocol::audit::MAX_LINE));
    let part = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!((v["record"]["requester"].as_str(), v["record"]["case_reference"].as_str(), v["record"]["outcome"]["hits"].as_u64()), (Some("FR-PTS"), Some("BIG-1"), Some(295_003)), "every part names the exchange");
        (v["part"]["index"].as_u64().unwrap(), v["part"]["of"].as_u64().unwrap())
    };
    // A reference of the last part only: found there.
    let last = ok(&["audit", "subject", "--log", s(&log), "--reference", "L0000002"]);
    assert_eq!(last.lines().count(), 1, "{}", &last[..last.len().min(500)]);
    let (index, of) = part(last.lines().next().unwrap());
    assert!(of >= 4 && index == of, "part {index} of {of}");
    // A reference every query returned: found in every part, in order.
    let everywhere = ok(&["audit", "subject", "--log", s(&log), "--reference", "G0000000"]);
    assert_eq!(everywhere.lines().map(part).collect::<Vec<_>>(), (1..=of).map(|k| (k, of)).collect::<Vec<_>>());
}

#[test]
fn a_request_over_max_in_flight_is_refused_at_once_as_overloaded_and_logged() {
    if !shared("a_request_over_max_in_flight_is_refused_at_once_as_overloaded_and_logged") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node");
    let config = node(&d);
    let toml = std::fs::read_to_string(&config).unwrap();
    assert!(toml.contains("\nmax_in_flight = 512\n"), "node init writes the default:\n{toml}");
    std::fs::write(&config, toml.replace("\nmax_in_flight = 512\n", "\nmax_in_flight = 1\n")).unwrap();
    let server = Server::start(&config);
    let node_key = keys::read_public(&d.join("node.pub")).unwrap();
    let de = keys::read_signing(&d.join("keys/DE-BKA.key")).unwrap();
    let body = br#"{"purpose":"test","case_reference":"C-1","queries":[{"query":"Q","loci":{"TH01":"6/9.3","FGA":"20/22","vWA":"16/17","D3S1358":"15/16","D8S1179":"12/13","D21S11":"28/30"}}]}"#;
    assert_eq!(server.signed(&de, "DE-BKA", "/v1/search/dna", body, 0).0.status, 200);

    // A signed search whose body is held back holds the only permit.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claim = signature::Claim { keyid: "DE-BKA".into(), node: "XX-NODE".into(), created: now, nonce: signature::nonce() };
    let h = signature::sign_request(&de, &claim, "POST", "/v1/search/dna", body);
    let mut held = server.send_head("POST", "/v1/search/dna", &[("content-digest", &h.content_digest), ("signature-input", &h.signature_input), ("signature", &h.signature)], body.len());
    held.write_all(&body[..10]).unwrap();
    server.wait_for_metric("hitdex_in_flight 1");

    // Meanwhile: 503 overloaded at once, signed, with Retry-After; signed or not.
    let (r, nonce) = server.signed(&de, "DE-BKA", "/v1/search/dna", body, 0);
    assert_eq!((r.status, r.code(&node_key, &nonce)), (503, "overloaded".into()));
    assert_eq!(r.headers.get("retry-after").map(String::as_str), Some("1"));
    let r = server.request("GET", "/v1/demands", &[], b"");
    assert_eq!((r.status, r.code(&node_key, "none")), (503, "overloaded".into()));
    // What is not signed is not limited.
    assert_eq!(server.get("/healthz").0, 200);

    // The held request is answered once its body arrives; the permit is free again.
    held.write_all(&body[10..]).unwrap();
    let r = read_reply(held);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.verify(&node_key, &claim.nonce);
    server.wait_for_metric("hitdex_in_flight 0");
    assert_eq!(server.signed(&de, "DE-BKA", "/v1/search/dna", body, 0).0.status, 200);
    let metrics = server.get("/metrics").1;
    assert!(metrics.contains("hitdex_refusals_total{code=\"overloaded\"} 2"), "{metrics}");
    assert!(metrics.contains("hitdex_max_in_flight 1"), "{metrics}");
    server.stop();

    // Both refusals are in the log, under the authority the signed one claimed.
    let log = d.join("audit.log");
    ok(&["audit", "verify", "--log", s(&log), "--key", s(&d.join("node.pub"))]);
    let refusals: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""code":"overloaded""#))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].clone())
        .collect();
    assert_eq!(refusals.iter().map(|r| (r["requester"].as_str().unwrap(), r["action"].as_str().unwrap(), r["outcome"]["status"].as_u64().unwrap())).collect::<Vec<_>>(), [("DE-BKA", "search", 503), ("", "list", 503)]);
}

/// A client that hangs up right after sending its search: the request is
/// logged all the same (every request the node takes in is in the log,
/// with the lookup if it was made). Before the work and its entry ran in a
/// task of their own, hyper dropped the handler and nothing was logged.
#[test]
fn a_search_whose_client_hangs_up_is_logged_all_the_same() {
    if !shared("a_search_whose_client_hangs_up_is_logged_all_the_same") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node");
    let config = node(&d);
    let server = Server::start(&config);
    let de = keys::read_signing(&d.join("keys/DE-BKA.key")).unwrap();
    // Enough queries that the work still runs when the client is gone.
    let six = r#""TH01":"6/9.3","FGA":"20/22","vWA":"16/17","D3S1358":"15/16","D8S1179":"12/13","D21S11":"28/30""#;
    let mut batch = String::from("{\"purpose\":\"p\",\"case_reference\":\"HANGUP-1\"}\n");
    for i in 0..40_000 {
        batch += &format!("{{\"query\":\"Q{i}\",\"loci\":{{{six}}}}}\n");
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claim = signature::Claim { keyid: "DE-BKA".into(), node: "XX-NODE".into(), created: now, nonce: signature::nonce() };
    let h = signature::sign_request(&de, &claim, "POST", "/v1/batch/dna", batch.as_bytes());
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    let head = format!(
        "POST /v1/batch/dna HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\ncontent-digest: {}\r\nsignature-input: {}\r\nsignature: {}\r\n\r\n",
        server.addr,
        batch.len(),
        h.content_digest,
        h.signature_input,
        h.signature
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(batch.as_bytes()).unwrap();
    // Gone before any answer.
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);
    let log = d.join("audit.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    let entry = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if let Some(line) = text.lines().find(|l| l.starts_with("{\"type\":\"entry\"")) {
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "the search of a client that hung up was never logged");
        std::thread::sleep(Duration::from_millis(50));
    };
    // The search, with its case; or, if hyper closed the connection before
    // the body was handed over whole, its refusal (no lookup was made).
    assert!(
        entry.contains("\"case_reference\":\"HANGUP-1\"") && entry.contains("\"answered\"") || entry.contains("\"code\":\"unreadable_body\""),
        "{entry}"
    );
    server.stop();
    ok(&["audit", "verify", "--log", s(&log), "--key", s(&d.join("node.pub"))]);
}
