//! `recur serve`: run folders' classifiers behind an HTTP JSON API (axum + tokio).
//!
//! `POST /predict` takes `{"inputs": "text" | ["t1", …], "parameters": {"top_k": k}}` and
//! answers `[{"label", "score"}, …]` (a list of such lists for a list of inputs), scores
//! being softmax probabilities sorted high to low, from the first model;
//! `POST /models/NAME/predict` the same from any model; `GET /models` lists them (version,
//! when loaded, the last reload's error); `POST /models/NAME/reload` loads a model's run
//! folder again, as [`Server::watch`] does by itself when a training run re-commits it; a
//! request runs on the version that encoded it, so a reload drops none, and a reload that
//! fails keeps the old version serving. `GET /health`, `GET /info`, `GET /metrics`
//! (Prometheus). Concurrent requests are gathered into batches on each model's inference
//! thread ([`batcher`]); bad input is a JSON error that never touches another request;
//! SIGTERM or Ctrl-C drains the requests in flight, then the server exits.
//!
//! ```no_run
//! use recur_cpu::Cpu;
//! use recur_serve::{default_batch, Limits, Served, Server, Timeouts};
//! use recur_train::RunDir;
//!
//! let path = std::path::PathBuf::from("runs/lstm");
//! let run = RunDir::new(&path).load_classifier(&Cpu)?;
//! let served = vec![Served { name: "lstm".into(), path, run }];
//! let server = Server::bind(served, "127.0.0.1:8080".parse()?, default_batch(),
//! Limits::default(), Timeouts::default())?;
//! println!("listening on http://{}", server.local_addr()?);
//! server.run()?; // until SIGTERM or Ctrl-C, then drains (at most the shutdown timeout)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod batcher;
pub mod conn;
pub mod metrics;
pub mod models;
pub mod request;
mod settings;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

pub use batcher::BatchConfig;
pub use models::{Served, Slot};
pub use settings::{default_batch, Limits, ServeError, Timeouts, MAX_THREADS, MAX_WAIT};

/// How a server's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Connections still open at the shutdown deadline (or at a second signal), closed.
    pub closed: usize,
}

/// What a watched reload did: the model's name, and its new version or why it stays.
pub type ReloadReport = Box<dyn Fn(&str, Result<u64, String>) + Send>;

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    runtime: tokio::runtime::Runtime,
    state: Arc<api::AppState>,
    inference: Vec<std::thread::JoinHandle<()>>,
    timeouts: Timeouts,
    watch: Option<(Duration, ReloadReport)>,
}

impl Server {
    /// Loads nothing itself: serves `models` (the first also on `/predict`; names unique,
    /// of letters, digits, `-`, `_`, `.`) on `addr` (port 0 picks a free one) with `batch`
    /// and `limits`; the models share one pool of `batch.threads` threads.
    pub fn bind(
        models: Vec<Served>,
        addr: SocketAddr,
        batch: BatchConfig,
        limits: Limits,
        timeouts: Timeouts,
    ) -> Result<Server, ServeError> {
        if models.is_empty() {
            return Err(ServeError::Setting {
                name: "models",
                problem: "no model to serve".into(),
            });
        }
        for (i, m) in models.iter().enumerate() {
            if !models::valid_name(&m.name) {
                return Err(ServeError::Setting {
                    name: "models",
                    problem: format!(
                        "model name {:?}: use letters, digits, '-', '_' and '.'",
                        m.name
                    ),
                });
            }
            if models[..i].iter().any(|o| o.name == m.name) {
                return Err(ServeError::Setting {
                    name: "models",
                    problem: format!("two models are named {:?}", m.name),
                });
            }
        }
        settings::check(&batch, &limits, &timeouts)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let metrics = Arc::new(metrics::Metrics::default());
        let settings = json!({
            "max_batch": batch.max_batch,
            "max_delay_ms": batch.max_delay.as_secs_f64() * 1e3,
            "max_body_bytes": limits.max_body_bytes,
            "max_inputs": limits.max_inputs,
            "max_text_bytes": limits.max_text_bytes,
            "read_timeout_s": timeouts.read.as_secs_f64(),
            "body_timeout_s": timeouts.body.as_secs_f64(),
        });
        // the handlers encode, each model's inference thread runs it, on one shared pool
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(batch.threads)
                .build()
                .map_err(std::io::Error::other)?,
        );
        let mut slots = Vec::with_capacity(models.len());
        let mut inference = Vec::with_capacity(models.len());
        for served in models {
            let (queue, thread) =
                batcher::start(&served.name, pool.clone(), batch, metrics.clone())?;
            slots.push(Arc::new(Slot::new(served, queue)));
            inference.push(thread);
        }
        let state = Arc::new(api::AppState {
            models: slots,
            metrics,
            limits,
            settings,
            body_timeout: timeouts.body,
        });
        Ok(Server {
            listener,
            runtime,
            state,
            inference,
            timeouts,
            watch: None,
        })
    }

    /// Watches every model's run folder, checking every `every`: a new commit (a training
    /// run re-committing it, a copy swapped in) is loaded and served; `report` hears of each
    /// reload, good or failed.
    pub fn watch(mut self, every: Duration, report: ReloadReport) -> Server {
        self.watch = Some((every, report));
        self
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes (the first time), then stops accepting, lets the
    /// requests in flight finish — until the shutdown timeout or until `shutdown` completes
    /// again (a second signal) — closes what is left, and stops the inference thread.
    pub fn run_until<F>(self, shutdown: impl Fn() -> F) -> Result<Stopped, ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Server {
            listener,
            runtime,
            state,
            inference,
            timeouts,
            watch,
        } = self;
        let stop_watch = Arc::new(AtomicBool::new(false));
        let watcher = match watch {
            Some((every, report)) => {
                let slots = state.models.clone();
                let stop = stop_watch.clone();
                Some(
                    std::thread::Builder::new()
                        .name("recur-watch".into())
                        .spawn(move || watch_loop(&slots, every, &report, &stop))?,
                )
            }
            None => None,
        };
        let app = api::router(state);
        let closed = runtime.block_on(async move {
            use hyper_util::rt::{TokioIo, TokioTimer};
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            let first = shutdown();
            tokio::pin!(first);
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else {
                            // out of descriptors and the like: pause, then go on
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        };
                        let service = hyper_util::service::TowerToHyperService::new(app.clone());
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            let conn::Head::Good(io) =
                                conn::first_head(stream, timeouts.read).await
                            else {
                                return;
                            };
                            let conn = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(timeouts.read)
                                .serve_connection(TokioIo::new(io), service);
                            let _ = watcher.watch(conn).await;
                        });
                    }
                    _ = &mut first => break,
                }
            }
            drop(listener);
            let second = shutdown();
            let open = graceful.count();
            tokio::select! {
                _ = graceful.shutdown() => 0,
                _ = tokio::time::sleep(timeouts.shutdown) => open,
                _ = second => open,
            }
        });
        // the router (and every queue clone) is gone with the runtime: the inference
        // thread ends, and connections still open are closed
        drop(runtime);
        stop_watch.store(true, Ordering::SeqCst);
        if let Some(w) = watcher {
            let _ = w.join();
        }
        for thread in inference {
            let _ = thread.join();
        }
        Ok(Stopped { closed })
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub fn run(self) -> Result<Stopped, ServeError> {
        self.run_until(shutdown_signal)
    }
}

/// Reloads each slot whose folder holds a new commit, every `every`, until `stop`.
fn watch_loop(slots: &[Arc<Slot>], every: Duration, report: &ReloadReport, stop: &AtomicBool) {
    let tick = Duration::from_millis(50).min(every);
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(tick);
        waited += tick;
        if waited < every {
            continue;
        }
        waited = Duration::ZERO;
        for slot in slots {
            if slot.changed() {
                report(&slot.name, slot.reload());
            }
        }
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
