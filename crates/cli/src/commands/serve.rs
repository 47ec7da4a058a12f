//! `recur serve --run DIR`: loads the run and serves it over HTTP (see `recur-serve`),
//! printing the address it listens on.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result};
use recur_cpu::Cpu;
use recur_serve::{BatchConfig, Limits, Server};

use recur_train::RunDir;

use crate::args::ServeArgs;

/// Runs `recur serve` until SIGTERM or Ctrl-C.
pub fn serve(a: &ServeArgs) -> Result<()> {
    if !(a.max_delay_ms >= 0.0 && a.max_delay_ms.is_finite()) {
        anyhow::bail!(
            "--max-delay-ms must be a finite number of milliseconds, found {}",
            a.max_delay_ms
        );
    }
    let run = RunDir::new(&a.run).load_classifier(&Cpu)?;
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
