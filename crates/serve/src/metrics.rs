//! The server's counters in Prometheus text format: requests by route and status, the
//! latency histogram, the batch-size histogram, and the queue depth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, seconds.
const LATENCY: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];
/// Upper bounds of the batch-size buckets, texts.
const BATCH: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// A cumulative histogram.
#[derive(Clone, Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        for (b, c) in self.bounds.iter().zip(&mut self.counts) {
            if v <= *b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", self.sum, self.count);
    }
}

struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: Histogram,
    batch: Histogram,
}

/// The server's metrics (shared by the handlers and the inference thread).
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            inner: Mutex::new(Inner {
                requests: BTreeMap::new(),
                latency: Histogram::new(&LATENCY),
                batch: Histogram::new(&BATCH),
            }),
        }
    }
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Records one answered request.
    pub fn observe_request(&self, route: &str, status: u16, seconds: f64) {
        self.with(|m| {
            *m.requests.entry((route.to_string(), status)).or_insert(0) += 1;
            if route == "/predict" {
                m.latency.observe(seconds);
            }
        });
    }

    /// Records the size of one batch run by the model.
    pub fn observe_batch(&self, texts: usize) {
        self.with(|m| m.batch.observe(texts as f64));
    }

    /// The Prometheus text exposition, with the current queue depth.
    pub fn render(&self, queue_depth: usize) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str("# HELP recur_requests_total Requests answered, by route and status.\n");
            out.push_str("# TYPE recur_requests_total counter\n");
            for ((route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "recur_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
            m.latency.render(
                &mut out,
                "recur_request_duration_seconds",
                "Latency of /predict requests, from headers read to response.",
            );
            m.batch.render(
                &mut out,
                "recur_batch_size",
                "Texts per batch run by the model.",
            );
            out.push_str("# HELP recur_queue_depth Requests waiting for the inference thread.\n");
            out.push_str("# TYPE recur_queue_depth gauge\n");
            let _ = writeln!(out, "recur_queue_depth {queue_depth}");
            out
        })
    }
}
