//! The node under load: signed DNA searches against a running node over
//! loopback, as partner countries' gateways would send them.
//!
//! `connections` clients each send one signed single-query search at a
//! time (HTTP/1.1 keep-alive) until `requests` have been sent; each
//! request is signed just before it is sent and each answer's signature is
//! checked, so the client's cryptography runs on the same two cores as the
//! node's. Every request is accounted for: answered 200, refused (by
//! status), or failed (no answer).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hitdex_engine::dna::Profile;
use hitdex_protocol::client::{dna_query, Client};
use hitdex_protocol::message::DnaSearch;

/// What to send.
pub struct Load {
    /// The queries, cycled through.
    pub queries: Vec<Profile>,
    /// Requests in all.
    pub requests: usize,
    /// Concurrent clients.
    pub connections: usize,
}

/// What happened.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Requests answered 200 with a valid signature.
    pub ok: u64,
    /// Requests answered with another status, by status.
    pub refused: BTreeMap<u16, u64>,
    /// Requests without a (trusted) answer, with the first error.
    pub failed: u64,
    /// The first failure, if any.
    pub first_failure: Option<String>,
    /// Hits in the answers.
    pub hits: u64,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// Latency of every answered request, seconds, sorted.
    pub latencies: Vec<f64>,
}

impl LoadReport {
    /// Answered requests per second.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds.max(1e-9)
    }
}

/// Sends `load` through `client` (one per authority; shared by the tasks).
pub async fn run(client: Arc<Client>, load: &Load) -> LoadReport {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        load.queries
            .iter()
            .map(|q| {
                let search = DnaSearch { purpose: "load test".into(), case_reference: "BENCH-1".into(), queries: vec![dna_query(q)], min_loci: 6, exact_microvariants: false };
                serde_json::to_vec(&search).unwrap_or_default()
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let report = Arc::new(Mutex::new(LoadReport::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (client, bodies, next, report, total) = (Arc::clone(&client), Arc::clone(&bodies), Arc::clone(&next), Arc::clone(&report), load.requests);
        tasks.push(tokio::spawn(async move {
            let mut mine = LoadReport::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || bodies.is_empty() {
                    break;
                }
                let t = Instant::now();
                match client.send("POST", "/v1/search/dna", bodies[i % bodies.len()].clone()).await {
                    Ok(reply) => {
                        mine.latencies.push(t.elapsed().as_secs_f64());
                        if reply.status == 200 {
                            mine.ok += 1;
                            mine.hits += reply.body.windows(12).filter(|w| w == b"\"reference\":").count() as u64;
                        } else {
                            *mine.refused.entry(reply.status).or_default() += 1;
                        }
                    }
                    Err(e) => {
                        mine.failed += 1;
                        if mine.first_failure.is_none() {
                            mine.first_failure = Some(e.to_string());
                        }
                    }
                }
            }
            let mut all = report.lock().unwrap_or_else(|e| e.into_inner());
            all.ok += mine.ok;
            all.hits += mine.hits;
            all.failed += mine.failed;
            if all.first_failure.is_none() {
                all.first_failure = mine.first_failure;
            }
            for (status, n) in mine.refused {
                *all.refused.entry(status).or_default() += n;
            }
            all.latencies.extend(mine.latencies);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut report = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    report.seconds = started.elapsed().as_secs_f64();
    report.latencies.sort_by(f64::total_cmp);
    report
}

/// A `hitdex serve` child process on a free loopback port, stopped
/// (SIGINT, so that it closes its log cleanly) when dropped.
pub struct Served {
    child: std::process::Child,
    /// Its address, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Served {
    /// Starts `hitdex` (the binary `exe`) serving `config`.
    ///
    /// # Errors
    /// If it does not start or says nothing of where it listens.
    pub fn start(exe: &std::path::Path, config: &std::path::Path) -> std::io::Result<Served> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        match line.trim().strip_prefix("listening on ") {
            Some(url) => Ok(Served { url: url.to_string(), child }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(std::io::Error::other(format!("hitdex serve did not start (it said {line:?})")))
            }
        }
    }

    /// Stops the node: SIGINT, then waits for it to exit.
    ///
    /// # Errors
    /// If it cannot be signalled or waited for.
    pub fn stop(mut self) -> std::io::Result<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        self.child.wait()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
