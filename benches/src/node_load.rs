//! The node under load: signed DNA searches against a running node over
//! loopback, as partner countries' gateways would send them.
//!
//! `connections` clients each send one signed single-query search at a
//! time (HTTP/1.1 keep-alive) until `requests` have been sent. Every
//! request is accounted for: answered 200, refused (by status), or failed
//! (no answer, or one whose signature does not verify).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hitdex_engine::dna::Profile;
use hitdex_protocol::client::{dna_query, Client, ClientError, Prepared, Reply, Unverified};
use rayon::prelude::*;

use crate::resources;
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
    /// CPU seconds the node (if its process id was given) and this
    /// process used while requests were being sent.
    pub cpu: (Option<f64>, Option<f64>),
}

impl LoadReport {
    /// Answered requests per second.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds.max(1e-9)
    }
}

/// Sends `load` through `client` (one per authority; shared by the tasks).
///
/// Every request is signed before the clock starts and every answer's
/// signature is checked after it stops (all of them, on both cores), so
/// that the two cores the node shares with this generator go to the node
/// during the run, as they would with a separate load tool; the signatures
/// must therefore stay within the node's window (60 s by default) from the
/// first request's signing to the last one's arrival.
///
/// # Errors
/// If a request cannot be built.
pub async fn run(client: Arc<Client>, load: &Load, node_pid: Option<u32>) -> Result<LoadReport, ClientError> {
    let bodies: Vec<Vec<u8>> = load
        .queries
        .iter()
        .map(|q| {
            let search = DnaSearch { purpose: "load test".into(), case_reference: "BENCH-1".into(), queries: vec![dna_query(q)], min_loci: 6, exact_microvariants: false };
            serde_json::to_vec(&search).unwrap_or_default()
        })
        .collect();
    if bodies.is_empty() {
        return Ok(LoadReport::default());
    }
    let prepared: Vec<Prepared> = (0..load.requests).into_par_iter().map(|i| client.prepare(client.node(), "POST", "/v1/search/dna", bodies[i % bodies.len()].clone())).collect::<Result<_, _>>()?;
    let queue = Arc::new(Mutex::new(prepared.into_iter()));
    let cpu = || (node_pid.and_then(|p| resources::cpu_seconds(Some(p))), resources::cpu_seconds(None));
    let cpu_before = cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (client, queue) = (Arc::clone(&client), Arc::clone(&queue));
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(request) = next else { break };
                let t = Instant::now();
                let answer = client.transmit(request).await;
                answers.push((t.elapsed().as_secs_f64(), answer));
            }
            answers
        }));
    }
    let mut answers = Vec::with_capacity(load.requests);
    for t in tasks {
        answers.extend(t.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu();
    let used = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    // Trust only what verifies.
    let checked: Vec<(f64, Result<Reply, ClientError>)> = answers.into_par_iter().map(|(latency, answer)| (latency, answer.and_then(Unverified::verify))).collect();
    let mut report = LoadReport { seconds, cpu: (used(cpu_before.0, cpu_after.0), used(cpu_before.1, cpu_after.1)), ..LoadReport::default() };
    for (latency, answer) in checked {
        match answer {
            Ok(reply) => {
                report.latencies.push(latency);
                if reply.status == 200 {
                    report.ok += 1;
                    report.hits += reply.body.windows(12).filter(|w| w == b"\"reference\":").count() as u64;
                } else {
                    *report.refused.entry(reply.status).or_default() += 1;
                }
            }
            Err(e) => {
                report.failed += 1;
                report.first_failure.get_or_insert_with(|| e.to_string());
            }
        }
    }
    report.latencies.sort_by(f64::total_cmp);
    Ok(report)
}

/// A `hitdex serve` child process on a free loopback port, stopped
/// (SIGINT, so that it closes its log cleanly) when dropped.
pub struct Served {
    child: std::process::Child,
    /// Its address, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Served {
    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

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
