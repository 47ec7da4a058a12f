//! `recur serve --run DIR`: loads the run and serves it over HTTP (see `recur-serve`),
//! printing the address it listens on.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result};
use recur_cpu::Cpu;
use recur_serve::{BatchConfig, Limits, ServeError, Server, Timeouts};

use recur_train::RunDir;

use crate::args::ServeArgs;

/// Runs `recur serve` until SIGTERM or Ctrl-C.
pub fn serve(a: &ServeArgs) -> Result<()> {
    let wait = |flag: &str, secs: f64| -> Result<Duration> {
        if !(secs >= 0.0 && secs <= recur_serve::MAX_WAIT.as_secs_f64()) {
            anyhow::bail!("{flag} must be between 0 and an hour, found {secs}");
        }
        Ok(Duration::from_secs_f64(secs))
    };
    let max_delay = wait("--max-delay-ms (in seconds)", a.max_delay_ms / 1e3)?;
    let timeouts = Timeouts {
        read: wait("--read-timeout-s", a.read_timeout_s)?,
        body: wait("--body-timeout-s", a.body_timeout_s)?,
        shutdown: wait("--shutdown-timeout-s", a.shutdown_timeout_s)?,
    };
    let run = RunDir::new(&a.run).load_classifier(&Cpu)?;
    let addr: SocketAddr = (a.host.as_str(), a.port)
        .to_socket_addrs()
        .with_context(|| format!("--host {} is not an address", a.host))?
        .next()
        .with_context(|| format!("--host {} resolves to no address", a.host))?;
    let batch = BatchConfig {
        max_batch: a.max_batch,
        max_delay,
        threads: a.threads,
    };
    let limits = Limits {
        max_body_bytes: a.max_body_bytes,
        max_inputs: a.max_inputs,
        max_text_bytes: a.max_text_bytes,
    };
    let server = match Server::bind(run, &a.run, addr, batch, limits, timeouts) {
        Ok(s) => s,
        Err(ServeError::Setting { name, problem }) => {
            anyhow::bail!("--{} {problem}", name.replace('_', "-"))
        }
        Err(e) => return Err(e).with_context(|| format!("serving on {addr}")),
    };
    let local = server.local_addr()?;
    println!("listening on http://{local}");
    let _ = std::io::stdout().flush();
    let stopped = server.run()?;
    if stopped.closed == 0 {
        eprintln!("stopped: every request in flight was answered");
    } else {
        eprintln!(
            "stopped: {} connections still open at the shutdown deadline were closed",
            stopped.closed
        );
    }
    Ok(())
}
