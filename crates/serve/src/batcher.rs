//! Dynamic batching on a dedicated inference thread: requests queue their encoded texts;
//! the thread takes the first, gathers more — while other requests are in flight — until
//! `max_batch` texts or `max_delay` has passed, runs them as one batch (packed: no work on padding)
//! on its own rayon pool, and
//! answers each request on its oneshot channel. The async runtime never runs the model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use recur_cpu::Cpu;
use recur_train::Predictor;
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// Class probabilities of each text of a job, or why they could not be computed.
pub type Reply = Result<Vec<Vec<f64>>, String>;

/// One request's texts, encoded, and where to send their probabilities.
pub struct Job {
    /// The model version that encoded them, which runs them.
    pub run: Arc<Predictor<Cpu>>,
    /// Token ids per text (each non-empty).
    pub ids: Vec<Vec<usize>>,
    /// The answer goes here (a client that went away dropped its receiver).
    pub reply: oneshot::Sender<Reply>,
}

/// The queue into the inference thread.
#[derive(Clone)]
pub struct Queue {
    tx: Sender<Job>,
    depth: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
}

/// Counts a request from when its handler starts until it answers (see [`Queue::enter`]).
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Queue {
    /// Queues a job; `Err` when the inference thread has stopped.
    pub fn send(&self, job: Job) -> Result<(), String> {
        self.depth.fetch_add(1, Ordering::SeqCst);
        self.tx.send(job).map_err(|_| {
            self.depth.fetch_sub(1, Ordering::SeqCst);
            "the inference thread has stopped".to_string()
        })
    }

    /// Jobs waiting for the inference thread.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }

    /// Marks a request as in flight until the guard drops: the batcher waits for more
    /// requests only while others are in flight, so a lone client never waits.
    pub fn enter(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.in_flight.clone())
    }
}

/// Batching limits.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    /// Most texts in one batch.
    pub max_batch: usize,
    /// Longest wait for more requests after the first of a batch arrived.
    pub max_delay: Duration,
    /// Threads of the inference pool.
    pub threads: usize,
}

/// Starts an inference thread (each job brings the model version that runs it) on `pool`;
/// it stops when every [`Queue`] clone is dropped.
pub fn start(
    name: &str,
    pool: Arc<rayon::ThreadPool>,
    config: BatchConfig,
    metrics: Arc<Metrics>,
) -> std::io::Result<(Queue, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let depth = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let queue = Queue {
        tx,
        depth: depth.clone(),
        in_flight: in_flight.clone(),
    };
    let handle = std::thread::Builder::new()
        .name(format!("recur-{name}"))
        .spawn(move || {
            let counters = Counters {
                depth: &depth,
                in_flight: &in_flight,
            };
            run_loop(&rx, config, counters, &metrics, &pool)
        })?;
    Ok((queue, handle))
}

/// The queue's counters, as the inference thread reads them.
struct Counters<'a> {
    depth: &'a AtomicUsize,
    in_flight: &'a AtomicUsize,
}

fn run_loop(
    rx: &Receiver<Job>,
    config: BatchConfig,
    counters: Counters<'_>,
    metrics: &Metrics,
    pool: &rayon::ThreadPool,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut texts = jobs[0].ids.len();
        let deadline = Instant::now() + config.max_delay;
        // wait for more only while other requests are in flight (being read or queued)
        while texts < config.max_batch && counters.in_flight.load(Ordering::SeqCst) > jobs.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match rx.recv_timeout(left.min(Duration::from_micros(200))) {
                Ok(job) => {
                    texts += job.ids.len();
                    jobs.push(job);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        counters.depth.fetch_sub(jobs.len(), Ordering::SeqCst);
        // jobs whose client has gone are not computed
        jobs.retain(|j| !j.reply.is_closed());
        // each model version runs its own jobs (a reload may fall between two requests)
        while !jobs.is_empty() {
            let run = jobs[0].run.clone();
            let (group, rest): (Vec<Job>, Vec<Job>) =
                jobs.into_iter().partition(|j| Arc::ptr_eq(&j.run, &run));
            jobs = rest;
            answer(&run, group, config, metrics, pool);
        }
    }
}

/// Runs `jobs` on `run` in batches of at most `max_batch` texts and answers each.
fn answer(
    run: &Predictor<Cpu>,
    jobs: Vec<Job>,
    config: BatchConfig,
    metrics: &Metrics,
    pool: &rayon::ThreadPool,
) {
    let all: Vec<Vec<usize>> = jobs.iter().flat_map(|j| j.ids.iter().cloned()).collect();
    let mut results: Vec<Vec<f64>> = Vec::with_capacity(all.len());
    let mut failure = None;
    for chunk in all.chunks(config.max_batch.max(1)) {
        metrics.observe_batch(chunk.len());
        match pool.install(|| run.probabilities(chunk)) {
            Ok(p) => results.extend(p),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let mut rows = results.into_iter();
    for job in jobs {
        let reply = match &failure {
            Some(e) => Err(e.clone()),
            None => Ok(rows.by_ref().take(job.ids.len()).collect()),
        };
        let _ = job.reply.send(reply);
    }
}
