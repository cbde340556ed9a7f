//! The node's counters in the Prometheus text format (`GET /metrics`):
//! requests by path and status, hits, refusals by code, a latency
//! histogram, and the requests in flight against their limit. Atomics for the hot counters; the labelled counts sit behind
//! short locks (few distinct labels).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0];

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (path, status) → count; few distinct keys, so a locked map is cheap.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
    hits: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts one answered request on `path` (a route pattern, not the raw
    /// path, so the label set stays small) with `status`, taking `elapsed`.
    pub fn request(&self, path: &'static str, status: u16, elapsed: Duration) {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((path, status)).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// Counts a refused request by its error code.
    pub fn refusal(&self, code: &'static str) {
        *self.refusals.lock().unwrap_or_else(|e| e.into_inner()).entry(code).or_default() += 1;
    }

    /// Counts hits returned.
    pub fn hits(&self, n: u64) {
        self.hits.fetch_add(n, Relaxed);
    }

    /// The Prometheus text exposition, with `in_flight` signed requests
    /// being worked on, of at most `max_in_flight`.
    pub fn render(&self, in_flight: usize, max_in_flight: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP hitdex_in_flight Requests to /v1/ admitted and not yet logged.\n# TYPE hitdex_in_flight gauge\nhitdex_in_flight {in_flight}");
        let _ = writeln!(out, "# HELP hitdex_max_in_flight The limit of requests to /v1/ admitted at once.\n# TYPE hitdex_max_in_flight gauge\nhitdex_max_in_flight {max_in_flight}");
        out.push_str("# HELP hitdex_requests_total Requests answered, by route and status.\n# TYPE hitdex_requests_total counter\n");
        for ((path, status), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "hitdex_requests_total{{path=\"{path}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP hitdex_refusals_total Requests refused, by error code.\n# TYPE hitdex_refusals_total counter\n");
        for (code, n) in self.refusals.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "hitdex_refusals_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP hitdex_hits_total Hits returned.\n# TYPE hitdex_hits_total counter\nhitdex_hits_total {}", self.hits.load(Relaxed));
        out.push_str("# HELP hitdex_request_seconds Time from request to answer.\n# TYPE hitdex_request_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(out, "hitdex_request_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "hitdex_request_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "hitdex_request_seconds_sum {}", self.sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "hitdex_request_seconds_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_counters_add_up() {
        let m = Metrics::default();
        m.request("/v1/search/dna", 200, Duration::from_micros(300));
        m.request("/v1/search/dna", 200, Duration::from_millis(3));
        m.request("/v1/search/dna", 401, Duration::from_secs(9));
        m.refusal("replayed");
        m.hits(4);
        let text = m.render(3, 512);
        for line in [
            "hitdex_requests_total{path=\"/v1/search/dna\",status=\"200\"} 2",
            "hitdex_requests_total{path=\"/v1/search/dna\",status=\"401\"} 1",
            "hitdex_refusals_total{code=\"replayed\"} 1",
            "hitdex_hits_total 4",
            "hitdex_request_seconds_bucket{le=\"0.0005\"} 1",
            "hitdex_request_seconds_bucket{le=\"0.005\"} 2",
            "hitdex_request_seconds_bucket{le=\"5\"} 2",
            "hitdex_request_seconds_bucket{le=\"+Inf\"} 3",
            "hitdex_request_seconds_count 3",
            "hitdex_in_flight 3",
            "hitdex_max_in_flight 512",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
    }
}
