//! `recur serve --run DIR`: loads the run and serves it over HTTP (see `recur-serve`),
//! printing the address it listens on.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use recur_cpu::Cpu;
use recur_serve::{BatchConfig, Limits, Server};

use crate::RunDir;

/// Arguments of `recur serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Address to bind (loopback by default; 0.0.0.0 to accept other machines).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0: any free one, printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Most texts the model runs as one batch.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest wait, after a request arrives, for others to batch with it.
    #[arg(long, default_value_t = 2.0)]
    pub max_delay_ms: f64,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Most texts in one request (413 above).
    #[arg(long, default_value_t = 256)]
    pub max_inputs: usize,
    /// Longest text in bytes (413 above).
    #[arg(long, default_value_t = 64 << 10)]
    pub max_text_bytes: usize,
    /// Threads running the model.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// Runs `recur serve` until SIGTERM or Ctrl-C.
pub fn serve(a: &ServeArgs) -> Result<()> {
    if !(a.max_delay_ms >= 0.0 && a.max_delay_ms.is_finite()) {
        anyhow::bail!(
            "--max-delay-ms must be a finite number of milliseconds, found {}",
            a.max_delay_ms
        );
    }
    let run = RunDir::new(&a.run).load_on(&Cpu)?;
    let addr: SocketAddr = (a.host.as_str(), a.port)
        .to_socket_addrs()
        .with_context(|| format!("--host {} is not an address", a.host))?
        .next()
        .with_context(|| format!("--host {} resolves to no address", a.host))?;
    let batch = BatchConfig {
        max_batch: a.max_batch,
        max_delay: Duration::from_secs_f64(a.max_delay_ms / 1e3),
        threads: a.threads.max(1),
    };
    let limits = Limits {
        max_body_bytes: a.max_body_bytes,
        max_inputs: a.max_inputs,
        max_text_bytes: a.max_text_bytes,
    };
    let server = Server::bind(run, &a.run, addr, batch, limits)
        .with_context(|| format!("serving on {addr}"))?;
    let local = server.local_addr()?;
    println!("listening on http://{local}");
    let _ = std::io::stdout().flush();
    server.run()?;
    eprintln!("stopped: every request in flight was answered");
    Ok(())
}
