//! `cargo xtask loadtest --run DIR [--against-pytorch]`: starts `recur serve` on the run and
//! drives it on loopback with a bounded, self-stopping load (`wrk` when installed, else a
//! built-in client of one blocking keep-alive connection per thread) at 1, 16 and 64
//! connections, one text per request; prints requests/s, p50 and p99 latency, errors and
//! the server's memory before and after. `--against-pytorch` also starts
//! `../shared/reference/serve_torch.py` on the same run and measures it the same way.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

/// Arguments of `xtask loadtest`.
#[derive(Args)]
pub struct LoadtestArgs {
    /// The run folder to serve (the lesson's packed LSTM for --against-pytorch).
    #[arg(long)]
    pub run: PathBuf,
    /// Seconds per connection count.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Connection counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub connections: Vec<usize>,
    /// Also measure the PyTorch + FastAPI server (serve_torch.py) on the same run.
    #[arg(long)]
    pub against_pytorch: bool,
    /// Python with torch, fastapi and uvicorn (default ~/.torchref/bin/python).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Use the built-in client even when wrk is installed.
    #[arg(long)]
    pub builtin_client: bool,
}

/// Texts sent round-robin (AG News-like headlines).
const TEXTS: [&str; 8] = [
    "Oil prices rise as stocks fall on Wall Street",
    "The home team won the cup after a late goal in extra time",
    "New chip makers race to build faster and cheaper processors",
    "Leaders meet to sign a peace treaty after weeks of talks",
    "Shares of the bank jumped after profits beat forecasts",
    "The coach praised his players after the season opener",
    "Scientists launch a probe to study the outer planets",
    "Election results are expected late tonight in the capital",
];

/// One measurement.
struct Measure {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    requests: u64,
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Waits until `GET url/health` answers.
fn wait_healthy(url: &str, child: &mut Child) -> Result<()> {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(120) {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited with {status} before answering");
        }
        if ureq::get(&format!("{url}/health")).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{url} did not answer /health in 120 s")
}

fn wrk(url: &str, connections: usize, secs: u64, dir: &Path) -> Result<Measure> {
    let script = dir.join("post.lua");
    let bodies: Vec<String> = TEXTS
        .iter()
        .map(|t| {
            format!(
                "'{}'",
                json!({"inputs": t}).to_string().replace('\'', "\\'")
            )
        })
        .collect();
    std::fs::write(
        &script,
        format!(
            "local bodies = {{{}}}\nlocal i = 0\nwrk.method = 'POST'\nwrk.headers['Content-Type'] \
                = 'application/json'\nrequest = function()\n  i = i % #bodies + 1\n  return \
                wrk.format(nil, '/predict', nil, bodies[i])\nend\n",
            bodies.join(", ")
        ),
    )?;
    let threads = connections.min(2);
    let out = Command::new("wrk")
        .args([
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{secs}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(format!("{url}/predict"))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_string()))
    };
    let ms = |s: String| -> f64 {
        let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
        let v: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => v / 1e3,
            "ms" => v,
            "s" => v * 1e3,
            "m" => v * 6e4,
            _ => f64::NAN,
        }
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let mut errors: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if let Some(sock) = field("Socket errors:") {
        errors += sock
            .split(',')
            .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(Measure {
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
        p50_ms: field("50%").map(ms).unwrap_or(f64::NAN),
        p99_ms: field("99%").map(ms).unwrap_or(f64::NAN),
        errors,
        requests,
    })
}

/// The built-in client: `connections` threads, each one keep-alive connection sending
/// requests back to back for `secs`.
fn builtin(url: &str, connections: usize, secs: u64) -> Result<Measure> {
    let stop = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..connections)
        .map(|c| {
            let url = format!("{url}/predict");
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().max_idle_connections(1).build();
                let (mut lat, mut errors) = (Vec::new(), 0u64);
                let mut i = c;
                while Instant::now() < stop {
                    let body = json!({"inputs": TEXTS[i % TEXTS.len()]}).to_string();
                    i += 1;
                    let t0 = Instant::now();
                    match agent
                        .post(&url)
                        .set("content-type", "application/json")
                        .send_string(&body)
                    {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.into_string();
                            lat.push(t0.elapsed().as_secs_f64() * 1e3);
                        }
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let t0 = Instant::now();
    let (mut lat, mut errors) = (Vec::new(), 0);
    for h in handles {
        let (l, e) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = t0.elapsed().as_secs_f64().max(secs as f64);
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Ok(Measure {
        rps: lat.len() as f64 / elapsed,
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        errors,
        requests: lat.len() as u64 + errors,
    })
}

/// Starts a server command, waits for it to be healthy, measures every connection count.
fn measure(
    name: &str,
    mut cmd: Command,
    url_of: impl Fn(&mut Child) -> Result<String>,
    a: &LoadtestArgs,
    use_wrk: bool,
    dir: &Path,
) -> Result<Vec<Value>> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let result = (|| -> Result<Vec<Value>> {
        let url = url_of(&mut child)?;
        wait_healthy(&url, &mut child)?;
        let mut rows = Vec::new();
        for &c in &a.connections {
            let before = rss_kb(child.id());
            let m = if use_wrk {
                wrk(&url, c, a.duration, dir)?
            } else {
                builtin(&url, c, a.duration)?
            };
            let after = rss_kb(child.id());
            println!(
                "{name:<10} {c:>5} {:>10.0} {:>9.2} {:>9.2} {:>8} {:>9} {:>12}",
                m.rps,
                m.p50_ms,
                m.p99_ms,
                m.errors,
                m.requests,
                format!(
                    "{}→{}",
                    before.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
                    after.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0))
                ),
            );
            rows.push(
                json!({"server": name, "connections": c, "requests_per_s": m.rps,
                "p50_ms": m.p50_ms,
                "p99_ms": m.p99_ms, "errors": m.errors, "requests": m.requests,
                "rss_kb_before": before, "rss_kb_after": after}),
            );
        }
        Ok(rows)
    })();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    result
}

/// Runs `xtask loadtest`.
pub fn run(a: &LoadtestArgs) -> Result<()> {
    let recur = crate::build_recur()?;
    let dir = std::env::temp_dir().join(format!("recur-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let use_wrk = !a.builtin_client && Command::new("wrk").arg("--version").output().is_ok();
    println!(
        "client: {}, {} s per point",
        if use_wrk {
            "wrk"
        } else {
            "built-in (one keep-alive connection per thread)"
        },
        a.duration
    );
    println!(
        "{:<10} {:>5} {:>10} {:>9} {:>9} {:>8} {:>9} {:>12}",
        "server", "conns", "req/s", "p50 ms", "p99 ms", "errors", "requests", "RSS MB"
    );
    let mut cmd = Command::new(&recur);
    cmd.args(["serve", "--run"])
        .arg(&a.run)
        .args(["--port", "0"]);
    let mut rows = measure(
        "recur",
        cmd,
        |child| {
            let mut line = String::new();
            let out = child.stdout.take().context("no stdout")?;
            BufReader::new(out).read_line(&mut line)?;
            Ok(line
                .trim()
                .strip_prefix("listening on ")
                .context("recur serve printed no address")?
                .to_string())
        },
        a,
        use_wrk,
        &dir,
    )?;
    if a.against_pytorch {
        let python = a.python.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".torchref/bin/python"))
                .unwrap_or_else(|| PathBuf::from("python3"))
        });
        let script = crate::root().join("../shared/reference/serve_torch.py");
        let port = 18000 + (std::process::id() % 1000) as u16;
        let mut cmd = Command::new(python);
        cmd.arg(&script)
            .arg("--run")
            .arg(&a.run)
            .args(["--port", &port.to_string()]);
        rows.extend(measure(
            "pytorch",
            cmd,
            |_| Ok(format!("http://127.0.0.1:{port}")),
            a,
            use_wrk,
            &dir,
        )?);
    }
    let out = crate::root().join("bench");
    std::fs::create_dir_all(&out)?;
    let mut f = std::fs::File::create(out.join("loadtest.json"))?;
    writeln!(
        f,
        "{}",
        serde_json::to_string_pretty(
            &json!({"client": if use_wrk {"wrk"} else {"builtin"}, "duration_s": a.duration,
                "rows": rows})
        )?
    )?;
    println!("wrote {}", out.join("loadtest.json").display());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
