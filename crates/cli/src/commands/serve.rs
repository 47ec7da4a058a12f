//! `recur serve --run DIR` (or several `--run NAME=DIR`, or `--runs FOLDER`): loads the
//! runs and serves them over HTTP (see `recur-serve`), printing the address it listens on
//! and, with `--watch`, each reload.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use recur_cpu::Cpu;
use recur_serve::{BatchConfig, Limits, ServeError, Served, Server, Timeouts};

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
    let watch = wait("--watch-interval-s", a.watch_interval_s)?;
    let mut served = Vec::new();
    for (name, path) in runs(a)? {
        let run = RunDir::new(&path)
            .load_classifier(&Cpu)
            .with_context(|| format!("loading model {name}"))?;
        served.push(Served { name, path, run });
    }
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
    let server = match Server::bind(served, addr, batch, limits, timeouts) {
        Ok(s) => s,
        Err(ServeError::Setting {
            name: "models",
            problem,
        }) => anyhow::bail!("--run: {problem}"),
        Err(ServeError::Setting { name, problem }) => {
            anyhow::bail!("--{} {problem}", name.replace('_', "-"))
        }
        Err(e) => return Err(e).with_context(|| format!("serving on {addr}")),
    };
    let server = if a.watch {
        server.watch(
            watch.max(Duration::from_millis(50)),
            Box::new(|name, result| match result {
                Ok(v) => eprintln!("reloaded {name} (version {v})"),
                Err(e) => eprintln!("{name}: not reloaded, the previous version still serves: {e}"),
            }),
        )
    } else {
        server
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

/// The models to serve, `(name, folder)`: each `--run` (`DIR` named by its folder, or
/// `NAME=DIR`), then the run folders inside `--runs`, in name order.
fn runs(a: &ServeArgs) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for r in &a.run {
        let (name, path) = match r.split_once('=') {
            Some((n, p)) if !n.contains('/') => (n.to_string(), PathBuf::from(p)),
            _ => {
                let path = PathBuf::from(r);
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .with_context(|| format!("--run {r}: name it as NAME={r}"))?;
                (name, path)
            }
        };
        out.push((name, path));
    }
    if let Some(dir) = &a.runs {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.join("config.json").is_file() {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    found.push((name.to_string(), path.clone()));
                }
            }
        }
        if found.is_empty() {
            anyhow::bail!(
                "--runs {}: no run folder in it (none holds a config.json)",
                dir.display()
            );
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}
