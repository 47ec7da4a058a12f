//! `recur serve`: a run folder's classifier behind an HTTP JSON API (axum + tokio).
//!
//! `POST /predict` takes `{"inputs": "text" | ["t1", …], "parameters": {"top_k": k}}` and
//! answers `[{"label", "score"}, …]` (a list of such lists for a list of inputs), scores
//! being softmax probabilities sorted high to low; `GET /health`, `GET /info`,
//! `GET /metrics` (Prometheus). Concurrent requests are gathered into batches on a
//! dedicated inference thread ([`batcher`]); bad input is a JSON error that never touches
//! another request; SIGTERM or Ctrl-C drains the requests in flight, then the server exits.
//!
//! ```no_run
//! use recur_cpu::Cpu;
//! use recur_serve::{default_batch, Limits, Server};
//! use recur_train::RunDir;
//!
//! let path = std::path::Path::new("runs/lstm");
//! let run = RunDir::new(path).load_classifier(&Cpu)?;
//! let server = Server::bind(run, path, "127.0.0.1:8080".parse()?, default_batch(),
//! Limits::default())?;
//! println!("listening on http://{}", server.local_addr()?);
//! server.run()?; // until SIGTERM or Ctrl-C, then drains
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod batcher;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use recur_cpu::Cpu;
use recur_train::Predictor;
use serde_json::json;

pub use batcher::BatchConfig;

/// Request limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Most texts in one request (413 above).
    pub max_inputs: usize,
    /// Longest text, in bytes (413 above).
    pub max_text_bytes: usize,
}

impl Default for Limits {
    /// 1 MiB bodies, 256 texts, 64 KiB per text.
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_inputs: 256,
            max_text_bytes: 64 << 10,
        }
    }
}

/// What went wrong starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding, the runtime or a thread could not start.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A setting that cannot work, by its field name in [`BatchConfig`] or [`Limits`].
    #[error("{name}: {problem}")]
    Setting {
        /// The field (`max_batch`, `max_inputs`, …).
        name: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    runtime: tokio::runtime::Runtime,
    state: Arc<api::AppState>,
    inference: std::thread::JoinHandle<()>,
}

impl Server {
    /// Loads nothing itself: serves `run` (read from `run_path`) on `addr` (port 0 picks a
    /// free one) with `batch` and `limits`.
    pub fn bind(
        run: Predictor<Cpu>,
        run_path: &Path,
        addr: SocketAddr,
        batch: BatchConfig,
        limits: Limits,
    ) -> Result<Server, ServeError> {
        for (name, v) in [
            ("max_batch", batch.max_batch),
            ("threads", batch.threads),
            ("max_inputs", limits.max_inputs),
            ("max_body_bytes", limits.max_body_bytes),
            ("max_text_bytes", limits.max_text_bytes),
        ] {
            if v == 0 {
                return Err(ServeError::Setting {
                    name,
                    problem: "must be at least 1".into(),
                });
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let metrics = Arc::new(metrics::Metrics::default());
        let classes = run.class_names().to_vec();
        let info = json!({
            "run": run_path.display().to_string(),
            "model": run.config().model,
            "classes": classes,
            "vocab_size": run.encoder().vocab.len(),
            "tokenizer": run.encoder().tokenizer,
            "max_tokens": run.encoder().max_tokens,
            "max_batch": batch.max_batch,
            "max_delay_ms": batch.max_delay.as_secs_f64() * 1e3,
            "max_body_bytes": limits.max_body_bytes,
            "max_inputs": limits.max_inputs,
            "max_text_bytes": limits.max_text_bytes,
        });
        // the handlers encode, the inference thread runs the model: one predictor
        let run = Arc::new(run);
        let encoder = run.clone();
        let (queue, inference) = batcher::start(run, batch, metrics.clone())?;
        let state = Arc::new(api::AppState {
            queue,
            metrics,
            limits,
            info,
            classes,
            encode: Box::new(move |t| encoder.encode(t)),
        });
        Ok(Server {
            listener,
            runtime,
            state,
            inference,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight and stops
    /// the inference thread.
    pub fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            listener,
            runtime,
            state,
            inference,
        } = self;
        let app = api::router(state);
        runtime.block_on(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        })?;
        // the router (and every queue clone) is gone: the inference thread ends
        drop(runtime);
        let _ = inference.join();
        Ok(())
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub fn run(self) -> Result<(), ServeError> {
        self.run_until(shutdown_signal())
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

/// The default batching: 64 texts or 2 ms, two inference threads.
pub fn default_batch() -> BatchConfig {
    BatchConfig {
        max_batch: 64,
        max_delay: Duration::from_millis(2),
        threads: 2,
    }
}
