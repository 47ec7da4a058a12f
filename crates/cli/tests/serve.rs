//! `recur serve` on an ephemeral port: the JSON shapes and top_k, scores equal to
//! `recur predict`, every kind of bad input (status, message, and the next good request
//! still answered), concurrent clients receiving their own results, and a graceful
//! shutdown on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Command;

use recur_testkit::{Server, TOPIC_WORDS as WORDS};
use serde_json::{json, Value};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("serve", tag)
}

fn trained_run(dir: &Path) -> PathBuf {
    let mut s = String::new();
    for r in 0..320 {
        let c = r % 4;
        let w = WORDS[c];
        s.push_str(&format!(
            "{},\"{} {}\",\"the {} and {}\"\n",
            c + 1,
            w[r % 5],
            w[(r + 1) % 5],
            w[(r + 2) % 5],
            w[(r + 3) % 5]
        ));
    }
    std::fs::write(dir.join("train.csv"), &s).unwrap();
    let head: String = s.lines().take(40).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("test.csv"), head).unwrap();
    let run = dir.join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args([
            "train",
            "--data",
            dir.to_str().unwrap(),
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--lr",
            "0.01",
        ])
        .args(["--out", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run
}

fn serve(run: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--run", run.to_str().unwrap()];
    args.extend(extra);
    recur_testkit::serve(env!("CARGO_BIN_EXE_recur"), &args)
}

/// POSTs `body` to `path`; returns (status, JSON).
fn post(base: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let r = ureq::post(&format!("{base}{path}"))
        .set("content-type", "application/json")
        .send_bytes(body);
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn get(base: &str, path: &str) -> (u16, String) {
    match ureq::get(&format!("{base}{path}")).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{path}: {e}"),
    }
}

fn predict_probs(run: &Path, text: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["predict", "--run", run.to_str().unwrap(), "--json", text])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["probabilities"].clone()
}

#[test]
fn shapes_scores_and_bad_inputs() {
    let dir = tmp("api");
    let run = trained_run(&dir);
    let s = serve(
        &run,
        &[
            "--max-body-bytes",
            "4096",
            "--max-inputs",
            "8",
            "--max-text-bytes",
            "500",
        ],
    );
    let b = s.base.as_str();
    assert_eq!(get(b, "/health"), (200, "{\"status\":\"ok\"}".to_string()));
    let (code, info) = get(b, "/info");
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(code, 200);
    assert_eq!(
        info["classes"],
        json!(["World", "Sports", "Business", "Sci/Tech"])
    );
    assert!(info["vocab_size"].as_u64().unwrap() > 10 && info["model"]["model"] == "lstm-packed");

    let text = "stocks and shares at the bank";
    let (code, one) = post(
        b,
        "/predict",
        json!({"inputs": text}).to_string().as_bytes(),
    );
    assert_eq!(code, 200);
    assert_eq!(
        one.as_array().unwrap().len(),
        1,
        "top_k defaults to 1: {one}"
    );
    assert_eq!(one[0]["label"], "Business");
    let (_, all) = post(
        b,
        "/predict",
        json!({"inputs": text, "parameters": {"top_k": null}})
            .to_string()
            .as_bytes(),
    );
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 4);
    assert!(all
        .windows(2)
        .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()));
    let total: f64 = all.iter().map(|x| x["score"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-6);
    // equal to recur predict
    let want = predict_probs(&run, text);
    for x in &all {
        let p = want[x["label"].as_str().unwrap()].as_f64().unwrap();
        assert!(
            (p - x["score"].as_f64().unwrap()).abs() < 1e-5,
            "{p} vs {x}"
        );
    }
    for (k, n) in [(json!(0), 4), (json!(2), 2), (json!(9), 4)] {
        let (_, r) = post(
            b,
            "/predict",
            json!({"inputs": text, "parameters": {"top_k": k}})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(r.as_array().unwrap().len(), n, "top_k {k}");
    }
    let (code, many) = post(
        b,
        "/predict",
        json!({"inputs": [text, "the coach and the league"]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(code, 200);
    assert_eq!(many[1][0]["label"], "Sports", "{many}");
    assert_eq!(many[0], one);

    let long = "w ".repeat(300);
    let huge = format!("{{\"inputs\": \"{}\"}}", "x".repeat(5000));
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{not json".to_vec(), "/predict", 400, "not valid JSON"),
        (
            b"[1, 2]".to_vec(),
            "/predict",
            422,
            "expected a JSON object",
        ),
        (
            b"{\"text\": \"x\"}".to_vec(),
            "/predict",
            422,
            "missing \"inputs\"",
        ),
        (b"{\"inputs\": 7}".to_vec(), "/predict", 422, "is a number"),
        (
            b"{\"inputs\": [\"ok\", 3]}".to_vec(),
            "/predict",
            422,
            "inputs[1] is a number",
        ),
        (b"{\"inputs\": []}".to_vec(), "/predict", 422, "empty list"),
        (b"{\"inputs\": \"\"}".to_vec(), "/predict", 422, "no token"),
        (
            b"{\"inputs\": \"\xff\xfe\"}".to_vec(),
            "/predict",
            400,
            "not valid UTF-8",
        ),
        (
            b"{\"inputs\": \"x\", \"parameters\": {\"top_k\": -1}}".to_vec(),
            "/predict",
            422,
            "top_k",
        ),
        (huge.into_bytes(), "/predict", 413, "limit of 4096 bytes"),
        (
            json!({"inputs": vec!["a"; 9]}).to_string().into_bytes(),
            "/predict",
            413,
            "limit of 8 a request",
        ),
        (
            json!({"inputs": long}).to_string().into_bytes(),
            "/predict",
            413,
            "bytes a text",
        ),
        (b"{}".to_vec(), "/nowhere", 404, "no such route"),
        (b"{}".to_vec(), "/health", 405, "method not allowed"),
    ];
    for (body, path, want_code, needle) in cases {
        let (code, v) = post(b, path, &body);
        assert_eq!(
            code,
            want_code,
            "{path} {}: {v}",
            String::from_utf8_lossy(&body)
        );
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{needle:?} not in {v}");
        // the server is unharmed
        let (code, again) = post(
            b,
            "/predict",
            json!({"inputs": text}).to_string().as_bytes(),
        );
        assert_eq!((code, &again), (200, &one));
    }
    let (code, m) = get(b, "/metrics");
    assert_eq!(code, 200);
    for needle in [
        "recur_requests_total{route=\"/predict\",status=\"200\"}",
        "recur_requests_total{route=\"/predict\",status=\"413\"}",
        "recur_request_duration_seconds_bucket",
        "recur_batch_size_bucket",
        "recur_queue_depth",
    ] {
        assert!(m.contains(needle), "{needle} not in metrics:\n{m}");
    }
}

#[test]
fn concurrent_clients_get_their_own_results_and_sigterm_drains() {
    let dir = tmp("load");
    let run = trained_run(&dir);
    let mut s = serve(&run, &["--max-delay-ms", "20"]);
    let b = s.base.clone();
    let texts: Vec<String> = (0..24)
        .map(|i| {
            let w = WORDS[i % 4];
            format!(
                "{} {} {}",
                w[i % 5],
                w[(i + 2) % 5],
                "the".repeat(i % 3 + 1)
            )
        })
        .collect();
    // each text alone, one by one
    let want: Vec<Value> = texts
        .iter()
        .map(|t| {
            post(
                &b,
                "/predict",
                json!({"inputs": t, "parameters": {"top_k": 0}})
                    .to_string()
                    .as_bytes(),
            )
            .1
        })
        .collect();
    let handles: Vec<_> = (0..8)
        .map(|c| {
            let (b, texts, want) = (b.clone(), texts.clone(), want.clone());
            std::thread::spawn(move || {
                for round in 0..6 {
                    let i = (c * 7 + round * 5) % texts.len();
                    let j = (i + 11) % texts.len();
                    let body = json!({"inputs": [texts[i], texts[j]], "parameters": {"top_k": 0}});
                    let (code, got) = post(&b, "/predict", body.to_string().as_bytes());
                    assert_eq!(code, 200);
                    for (k, idx) in [i, j].into_iter().enumerate() {
                        for (g, w) in got[k]
                            .as_array()
                            .unwrap()
                            .iter()
                            .zip(want[idx].as_array().unwrap())
                        {
                            assert_eq!(g["label"], w["label"], "client {c} text {idx}");
                            let d =
                                (g["score"].as_f64().unwrap() - w["score"].as_f64().unwrap()).abs();
                            assert!(d < 1e-5, "client {c} text {idx}: {g} vs {w}");
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let (_, m) = get(&b, "/metrics");
    // requests were batched together: some batch held more than one request's two texts
    let bigger: u64 = m
        .lines()
        .find(|l| l.starts_with("recur_batch_size_bucket{le=\"2\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap();
    let count: u64 = m
        .lines()
        .find(|l| l.starts_with("recur_batch_size_count"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap();
    assert!(bigger < count, "no batch of more than 2 texts:\n{m}");
    // graceful shutdown: in-flight requests are answered, then exit 0
    let inflight: Vec<_> = (0..4)
        .map(|_| {
            let b = b.clone();
            let t = texts[0].clone();
            std::thread::spawn(move || {
                // Some(status), or None when it arrived after the listener closed
                match ureq::post(&format!("{b}/predict"))
                    .send_string(&json!({"inputs": t}).to_string())
                {
                    Ok(r) => Some(r.status()),
                    Err(ureq::Error::Status(c, _)) => Some(c),
                    Err(ureq::Error::Transport(_)) => None,
                }
            })
        })
        .collect();
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    for h in inflight {
        if let Some(code) = h.join().unwrap() {
            assert_eq!(code, 200, "a request in flight failed");
        }
    }
    let status = s.child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(s.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("every request in flight was answered"),
        "{stderr}"
    );
}
