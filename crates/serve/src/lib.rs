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
//! use recur_serve::{default_batch, Limits, Server, Timeouts};
//! use recur_train::RunDir;
//!
//! let path = std::path::Path::new("runs/lstm");
//! let run = RunDir::new(path).load_classifier(&Cpu)?;
//! let server = Server::bind(run, path, "127.0.0.1:8080".parse()?, default_batch(),
//! Limits::default(), Timeouts::default())?;
//! println!("listening on http://{}", server.local_addr()?);
//! server.run()?; // until SIGTERM or Ctrl-C, then drains (at most the shutdown timeout)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod batcher;
pub mod conn;
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

/// How long the server waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a request's head, and for the next request on an idle connection (then it is
    /// closed).
    pub read: Duration,
    /// For a request's body, once its head has come (408 after).
    pub body: Duration,
    /// After SIGTERM or Ctrl-C, for the requests in flight to finish; then the remaining
    /// connections are closed. A second signal closes them at once.
    pub shutdown: Duration,
}

impl Default for Timeouts {
    /// 30 s to read a request's head or to wait for the next, 30 s for its body, 10 s to
    /// drain at shutdown.
    fn default() -> Self {
        Timeouts {
            read: Duration::from_secs(30),
            body: Duration::from_secs(30),
            shutdown: Duration::from_secs(10),
        }
    }
}

/// The longest any timeout or batching delay may be (an hour).
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The most threads the model may run on.
pub const MAX_THREADS: usize = 1024;

/// How a server's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Connections still open at the shutdown deadline (or at a second signal), closed.
    pub closed: usize,
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
    timeouts: Timeouts,
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
        timeouts: Timeouts,
    ) -> Result<Server, ServeError> {
        for (name, t) in [
            ("max_delay", batch.max_delay),
            ("read_timeout", timeouts.read),
            ("body_timeout", timeouts.body),
            ("shutdown_timeout", timeouts.shutdown),
        ] {
            if t > MAX_WAIT {
                return Err(ServeError::Setting {
                    name,
                    problem: format!("must be at most an hour, found {t:?}"),
                });
            }
        }
        for (name, t) in [
            ("read_timeout", timeouts.read),
            ("body_timeout", timeouts.body),
        ] {
            if t.is_zero() {
                return Err(ServeError::Setting {
                    name,
                    problem: "must be positive".into(),
                });
            }
        }
        if batch.threads > MAX_THREADS {
            return Err(ServeError::Setting {
                name: "threads",
                problem: format!("must be at most {MAX_THREADS}, found {}", batch.threads),
            });
        }
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
            "read_timeout_s": timeouts.read.as_secs_f64(),
            "body_timeout_s": timeouts.body.as_secs_f64(),
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
            body_timeout: timeouts.body,
        });
        Ok(Server {
            listener,
            runtime,
            state,
            inference,
            timeouts,
        })
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
        } = self;
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
        let _ = inference.join();
        Ok(Stopped { closed })
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub fn run(self) -> Result<Stopped, ServeError> {
        self.run_until(shutdown_signal)
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
