//! `recur serve` with several models: each answers on its own route as `recur predict`
//! does (an f32 run and its int8 copy among them), `GET /models` lists them; a run folder
//! re-committed while clients keep sending requests is reloaded without one failed
//! request and answers as the new model after; a broken commit keeps the old model
//! serving and says why in `/models`; an int8 run evaluates, predicts and serves alike.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recur_testkit::{succeeded, TOPIC_WORDS as WORDS};
use serde_json::Value;

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("serve-models", tag)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn recur(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

/// Two runs with different seeds (so their answers differ) on the same data.
fn two_runs(dir: &Path) -> (PathBuf, PathBuf) {
    let mut csv = String::new();
    for r in 0..320 {
        let c = r % 4;
        let w = WORDS[c];
        csv.push_str(&format!(
            "{},\"{} {}\",\"the {} and {}\"\n",
            c + 1,
            w[r % 5],
            w[(r + 1) % 5],
            w[(r + 2) % 5],
            w[(r + 3) % 5]
        ));
    }
    std::fs::write(dir.join("train.csv"), &csv).unwrap();
    let head: String = csv.lines().take(80).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("test.csv"), head).unwrap();
    let train = |name: &str, seed: &str| {
        let run = dir.join(name);
        succeeded(&recur(&[
            "train",
            "--data",
            s(dir),
            "--epochs",
            "2",
            "--lr",
            "0.01",
            "--seed",
            seed,
            "--out",
            s(&run),
        ]));
        run
    };
    (train("a", "1"), train("b", "7"))
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no address: {line:?}"))
        .to_string();
    Server { child, base }
}

fn post(base: &str, path: &str, body: &str) -> (u16, Value) {
    match ureq::post(&format!("{base}{path}")).send_string(body) {
        Ok(r) => (
            r.status(),
            serde_json::from_str(&r.into_string().unwrap()).unwrap(),
        ),
        Err(ureq::Error::Status(code, r)) => (
            code,
            serde_json::from_str(&r.into_string().unwrap()).unwrap(),
        ),
        Err(e) => panic!("{path}: {e}"),
    }
}

fn models(base: &str) -> Value {
    let r = ureq::get(&format!("{base}/models")).call().unwrap();
    serde_json::from_str(&r.into_string().unwrap()).unwrap()
}

/// `recur predict`'s probability of each class for `text`, by name.
fn predicted(run: &Path, text: &str) -> Value {
    let out = succeeded(&recur(&["predict", "--run", s(run), "--json", text]));
    serde_json::from_str::<Value>(out.lines().next().unwrap()).unwrap()["probabilities"].clone()
}

/// The served answer for `text` as `{label: score}`.
fn served(base: &str, path: &str, text: &str) -> Value {
    let (code, v) = post(
        base,
        path,
        &format!("{{\"inputs\": {text:?}, \"parameters\": {{\"top_k\": null}}}}"),
    );
    assert_eq!(code, 200, "{v}");
    let mut out = serde_json::Map::new();
    for x in v.as_array().unwrap() {
        out.insert(x["label"].as_str().unwrap().into(), x["score"].clone());
    }
    Value::Object(out)
}

fn same(a: &Value, b: &Value) -> bool {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    a.len() == b.len()
        && a.iter()
            .all(|(k, x)| (x.as_f64().unwrap() - b[k].as_f64().unwrap()).abs() < 1e-6)
}

#[test]
fn several_models_answer_on_their_routes_as_recur_predict_does() {
    let dir = tmp("two");
    let (a, b) = two_runs(&dir);
    let q = dir.join("a-int8");
    let out = succeeded(&recur(&["quantize", "--run", s(&a), "--out", s(&q)]));
    assert!(out.contains("smaller"), "{out}");
    let server = serve(&[
        "--run",
        s(&a),
        "--run",
        &format!("second={}", s(&b)),
        "--run",
        s(&q),
    ]);
    let text = "the match and the league season";
    for (path, run) in [
        ("/predict", &a),
        ("/models/a/predict", &a),
        ("/models/second/predict", &b),
        ("/models/a-int8/predict", &q),
    ] {
        let got = served(&server.base, path, text);
        assert!(same(&got, &predicted(run, text)), "{path}: {got}");
    }
    let listed = models(&server.base);
    let names: Vec<&str> = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "second", "a-int8"]);
    let (code, v) = post(&server.base, "/models/none/predict", "{\"inputs\": \"x\"}");
    assert_eq!(code, 404);
    assert!(
        v["error"].as_str().unwrap().contains("a, second, a-int8"),
        "{v}"
    );
    // the int8 run: eval agrees with predict (its loss is predict's mean cross-entropy on
    // the same rows), the file is smaller
    let size = |r: &Path| {
        std::fs::metadata(r.join("model.safetensors"))
            .unwrap()
            .len()
    };
    assert!(size(&q) * 3 < size(&a), "{} vs {}", size(&q), size(&a));
    let eval: Value = serde_json::from_str(&succeeded(&recur(&[
        "eval",
        "--run",
        s(&q),
        "--test",
        s(&dir.join("test.csv")),
        "--batch-size",
        "1",
        "--json",
    ])))
    .unwrap();
    let csv = std::fs::read_to_string(dir.join("test.csv")).unwrap();
    let preds = succeeded(&recur(&[
        "predict",
        "--run",
        s(&q),
        "--input",
        s(&dir.join("test.csv")),
        "--json",
    ]));
    let names: Vec<&str> = listed["models"][2]["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut ce = 0.0;
    for (row, p) in csv.lines().zip(preds.lines()) {
        let label: usize = row[..1].parse().unwrap();
        let v: Value = serde_json::from_str(p).unwrap();
        ce -= v["probabilities"][names[label - 1]].as_f64().unwrap().ln();
    }
    ce /= csv.lines().count() as f64;
    let loss = eval["loss"].as_f64().unwrap();
    assert!((ce - loss).abs() < 1e-5, "{ce} vs {loss}");
}

#[test]
fn a_recommitted_run_is_reloaded_under_load_and_a_broken_one_keeps_the_old_model() {
    let dir = tmp("reload");
    let (a, b) = two_runs(&dir);
    let live = dir.join("live");
    // the served folder is committed as one unit, as a training run commits it
    succeeded(&recur(&["quantize", "--run", s(&a), "--out", s(&live)]));
    let server = serve(&["--run", s(&live), "--watch", "--watch-interval-s", "0.1"]);
    let text = "stocks and profit at the bank";
    let before = served(&server.base, "/predict", text);
    // clients keep sending while the folder is swapped for b's int8 copy
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (base, stop, ok, failed) = (
                server.base.clone(),
                stop.clone(),
                ok.clone(),
                failed.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let r = ureq::post(&format!("{base}/predict")).send_string(
                        "{\"inputs\": [\"goal in the match\", \"chip and software\"]}",
                    );
                    match r {
                        Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::SeqCst),
                        _ => failed.fetch_add(1, Ordering::SeqCst),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    succeeded(&recur(&["quantize", "--run", s(&b), "--out", s(&live)]));
    let want = predicted(&live, text);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !same(&served(&server.base, "/predict", text), &want) {
        assert!(Instant::now() < deadline, "the new commit was not served");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "requests failed during the reload"
    );
    assert!(ok.load(Ordering::SeqCst) > 10);
    assert!(
        !same(&before, &want),
        "the two runs answer alike: the test proves nothing"
    );
    assert_eq!(models(&server.base)["models"][0]["version"], 1);
    // a broken commit: the model in service stays, /models says why
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for f in ["config.json", "vocab.txt", "model.safetensors"] {
        std::fs::copy(live.join(f), broken.join(f)).unwrap();
    }
    std::fs::write(broken.join("model.safetensors"), b"not a model").unwrap();
    let old = dir.join("old");
    std::fs::rename(&live, &old).unwrap();
    std::fs::rename(&broken, &live).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = models(&server.base);
        if let Some(e) = m["models"][0]["last_reload_error"].as_str() {
            assert!(e.contains("model.safetensors"), "{e}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broken commit was not reported: {m}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(same(&served(&server.base, "/predict", text), &want));
    // an explicit reload of the broken folder fails, naming why, and changes nothing
    let (code, v) = post(&server.base, "/models/live/reload", "");
    assert_eq!(code, 500, "{v}");
    assert!(v["error"].as_str().unwrap().contains("still serves"), "{v}");
    assert!(same(&served(&server.base, "/predict", text), &want));
}
