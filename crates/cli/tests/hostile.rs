//! A hostile user, by class of fault, each with generated cases: output folders that hold
//! other files; sizes from training files, `config.json` and flags; endless inputs;
//! truncated and re-encoded run-folder files; weights that overflow; data, state and
//! files changed before a resume; and slow or broken HTTP clients. Every command runs
//! under a 2 GiB address-space limit and a time limit, and must either work or exit 1
//! with a message that names the fault — never a panic, an abort, a hang or a silent
//! wrong answer.

use std::io::{Read as _, Write as _};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use recur_testkit::TOPIC_WORDS as WORDS;

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("hostile", tag)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The address-space limit every command runs under.
const MEMORY_LIMIT: u64 = 2 << 30;

/// Runs `recur args` under the memory limit, with `stdin` (a file) when given, killed after
/// `seconds`.
fn run_limited(args: &[&str], stdin: Option<&Path>, seconds: u64) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recur"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
            None => Stdio::null(),
        });
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut o = Vec::new();
        let _ = out.read_to_end(&mut o);
        o
    });
    let reader_err = std::thread::spawn(move || {
        let mut e = Vec::new();
        let _ = err.read_to_end(&mut e);
        e
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(seconds) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("recur {args:?} did not finish within {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: reader_err.join().unwrap(),
    }
}

fn recur(args: &[&str]) -> Output {
    run_limited(args, None, 120)
}

/// The command failed cleanly (exit 1, no signal, no panic) with a message holding `needle`.
fn refused(out: &Output, needle: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        None,
        "{what}: killed by a signal: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    assert!(
        stderr.contains(needle),
        "{what}: {needle:?} not in: {stderr}"
    );
}

fn ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A learnable 4-class CSV of `rows` rows.
fn write_csv(path: &Path, rows: usize, salt: usize) {
    let mut out = String::new();
    for r in 0..rows {
        let c = (r + salt) % 4;
        let w = WORDS[c];
        out.push_str(&format!(
            "{},\"{} {}\",\"the {} and {}\"\n",
            c + 1,
            w[r % 5],
            w[(r + 1) % 5],
            w[(r + 2) % 5],
            w[(r * 3) % 5]
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// A small classifier run trained on `dir/train.csv`.
fn classifier(dir: &Path) -> PathBuf {
    write_csv(&dir.join("train.csv"), 200, 0);
    write_csv(&dir.join("test.csv"), 40, 1);
    let run = dir.join("run");
    ok(
        &recur(&[
            "train",
            "--train",
            s(&dir.join("train.csv")),
            "--epochs",
            "2",
            "--embed",
            "8",
            "--hidden",
            "8",
            "--save-every",
            "5",
            "--out",
            s(&run),
        ]),
        "training the good run",
    );
    run
}

/// A copy of the run folder `run` as `dir/tag`.
fn copy_run(run: &Path, dir: &Path, tag: &str) -> PathBuf {
    let to = dir.join(tag);
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(to.join("checkpoint")).unwrap();
    for f in [
        "config.json",
        "vocab.txt",
        "model.safetensors",
        "metrics.jsonl",
        "checkpoint/state.json",
        "checkpoint/params.safetensors",
        "checkpoint/optimizer.safetensors",
    ] {
        std::fs::copy(run.join(f), to.join(f)).unwrap();
    }
    to
}

#[test]
fn an_output_folder_that_is_not_a_run_is_never_written() {
    let dir = tmp("out");
    write_csv(&dir.join("train.csv"), 40, 0);
    let train = dir.join("train.csv");
    // folders with a user's files in them, of every kind
    let cases: [(&str, &[&str]); 4] = [
        ("data", &["train.csv"]),
        ("nested", &["sub/notes.txt"]),
        ("hidden", &[".env"]),
        ("mixed", &["config.json", "thesis.pdf"]),
    ];
    for (tag, files) in cases {
        let out = dir.join(tag);
        for f in files {
            let p = out.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("{tag}: {f}")).unwrap();
        }
        let o = recur(&["train", "--train", s(&train), "--out", s(&out)]);
        refused(&o, "not a recur run's", tag);
        for f in files {
            assert_eq!(
                std::fs::read_to_string(out.join(f)).unwrap(),
                format!("{tag}: {f}"),
                "{tag}: {f} was touched"
            );
        }
    }
    // a file, and a link, where the folder would be
    std::fs::write(dir.join("file"), "x").unwrap();
    refused(
        &recur(&["train", "--train", s(&train), "--out", s(&dir.join("file"))]),
        "not a folder",
        "a file",
    );
    std::fs::create_dir_all(dir.join("real")).unwrap();
    std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
    refused(
        &recur(&["train", "--train", s(&train), "--out", s(&dir.join("link"))]),
        "symbolic link",
        "a link",
    );
    // an empty folder, a new path and a run folder are written
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    for tag in ["empty", "new/deeper", "empty"] {
        let o = recur(&["train", "--train", s(&train), "--out", s(&dir.join(tag))]);
        ok(&o, tag);
    }
}

#[test]
fn sizes_from_files_and_flags_are_checked_before_anything_is_allocated() {
    let dir = tmp("sizes");
    let run = classifier(&dir);
    let test = dir.join("test.csv");
    // training labels that would make classes no example has
    for label in ["4000000000", "1000000", "65536", "100001"] {
        let p = dir.join(format!("labels-{label}.csv"));
        let mut text = std::fs::read_to_string(dir.join("train.csv")).unwrap();
        text.push_str(&format!("{label},\"an odd row\",\"x\"\n"));
        std::fs::write(&p, text).unwrap();
        let o = recur(&[
            "train",
            "--train",
            s(&p),
            "--out",
            s(&dir.join(format!("l{label}"))),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "label {label}: {stderr}");
        assert!(
            stderr.contains("classes") || stderr.contains("not an integer"),
            "label {label}: {stderr}"
        );
    }
    // config.json: each size of the model, at many magnitudes, through every command
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&config).unwrap();
    for key in [
        "vocab_size",
        "embed_dim",
        "hidden_dim",
        "num_class",
        "num_layers",
        "proj_size",
    ] {
        for value in [
            0u64,
            3,
            100_000,
            10_000_000,
            1_000_000_000,
            1 << 40,
            u64::MAX,
        ] {
            if v["model"][key] == serde_json::json!(value) {
                continue;
            }
            let bad = copy_run(&run, &dir, "bad-config");
            let mut w = v.clone();
            w["model"][key] = serde_json::json!(value);
            std::fs::write(bad.join("config.json"), w.to_string()).unwrap();
            let what = format!("{key} = {value}");
            for args in [
                vec!["eval", "--run", s(&bad), "--test", s(&test)],
                vec!["predict", "--run", s(&bad), "some text"],
            ] {
                let o = recur(&args);
                let stderr = String::from_utf8_lossy(&o.stderr);
                assert_eq!(o.status.signal(), None, "{what}: {stderr}");
                assert_eq!(o.status.code(), Some(1), "{what} {args:?}: {stderr}");
                assert!(!stderr.contains("panicked"), "{what}: {stderr}");
            }
        }
    }
    // flags
    let train = dir.join("train.csv");
    for (flag, value) in [
        ("--embed", "1000000000"),
        ("--hidden", "100000"),
        ("--hidden", "30000"),
        ("--layers", "1000000"),
        ("--vocab-pad", "1000000000000"),
        ("--batch-size", "18446744073709551615"),
        ("--max-vocab", "0"),
    ] {
        let o = recur(&[
            "train",
            "--train",
            s(&train),
            flag,
            value,
            "--out",
            s(&dir.join("flags")),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.signal(), None, "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{flag} {value}: {stderr}");
        if flag != "--batch-size" {
            assert!(!o.status.success(), "{flag} {value} was accepted");
        }
    }
}

#[test]
fn endless_and_oversized_inputs_are_refused_as_they_stream() {
    let dir = tmp("endless");
    let run = classifier(&dir);
    let zero = Path::new("/dev/zero");
    refused(
        &recur(&["train", "--train", s(zero), "--out", s(&dir.join("z"))]),
        "no end",
        "train on /dev/zero",
    );
    refused(
        &recur(&["eval", "--run", s(&run), "--test", s(zero)]),
        "no end",
        "eval on /dev/zero",
    );
    refused(
        &run_limited(&["predict", "--run", s(&run)], Some(zero), 60),
        "line 1",
        "predict from /dev/zero",
    );
    // one long line without a newline, in every format
    let long = "w ".repeat(6 << 20);
    for name in ["long.csv", "long.tsv", "long.jsonl", "long.txt"] {
        let p = dir.join(name);
        std::fs::write(&p, format!("1,{long}")).unwrap();
        let o = recur(&["train", "--train", s(&p), "--out", s(&dir.join("long"))]);
        refused(&o, "limit", name);
    }
    // a long prompt costs a window of memory
    let lm = dir.join("lm");
    std::fs::write(dir.join("docs.txt"), "the war . the goal .\n".repeat(200)).unwrap();
    ok(
        &recur(&[
            "train",
            "--task",
            "lm",
            "--train",
            s(&dir.join("docs.txt")),
            "--epochs",
            "1",
            "--embed",
            "8",
            "--hidden",
            "8",
            "--layers",
            "1",
            "--batch-size",
            "4",
            "--out",
            s(&lm),
        ]),
        "language model",
    );
    let prompt = "the war ".repeat(12_000);
    ok(
        &recur(&[
            "generate",
            "--run",
            s(&lm),
            "--prompt",
            &prompt,
            "--words",
            "3",
        ]),
        "a 24,000-word prompt",
    );
}

/// `bytes` cut at `n` places spread over it.
fn cuts(bytes: &[u8], n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| bytes[..bytes.len() * i / n].to_vec())
        .collect()
}

#[test]
fn damaged_run_files_are_refused_by_name() {
    let dir = tmp("damaged");
    let run = classifier(&dir);
    let test = dir.join("test.csv");
    for file in [
        "config.json",
        "vocab.txt",
        "model.safetensors",
        "checkpoint/state.json",
        "metrics.jsonl",
    ] {
        let good = std::fs::read(run.join(file)).unwrap();
        let mut variants = cuts(&good, 6);
        // re-encoded as UTF-16, with NUL bytes, with a stray byte order mark
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(good.iter().flat_map(|&b| [b, 0]));
        variants.push(utf16);
        variants.push(
            good.iter()
                .map(|&b| if b == b' ' { 0 } else { b })
                .collect(),
        );
        variants.push([b"\xef\xbb\xbf".as_slice(), &good[1..]].concat());
        for (i, bytes) in variants.into_iter().enumerate() {
            let bad = copy_run(&run, &dir, "bad");
            std::fs::write(bad.join(file), &bytes).unwrap();
            let what = format!("{file} variant {i}");
            let cmds: Vec<Vec<&str>> = if file.ends_with("state.json") || file == "metrics.jsonl" {
                vec![vec!["train", "--resume", s(&bad)]]
            } else {
                vec![
                    vec!["eval", "--run", s(&bad), "--test", s(&test)],
                    vec!["predict", "--run", s(&bad), "stocks"],
                ]
            };
            for args in cmds {
                let o = recur(&args);
                let stderr = String::from_utf8_lossy(&o.stderr);
                assert_eq!(o.status.signal(), None, "{what}: {stderr}");
                assert!(!stderr.contains("panicked"), "{what}: {stderr}");
                if !o.status.success() {
                    let name = file.rsplit('/').next().unwrap();
                    assert!(
                        stderr.contains(name) || stderr.contains("vocab"),
                        "{what}: the message does not name the file: {stderr}"
                    );
                }
            }
        }
    }
    // a garbage last line of metrics.jsonl is reported with its own number
    let bad = copy_run(&run, &dir, "metrics");
    let mut m = std::fs::read_to_string(bad.join("metrics.jsonl")).unwrap();
    let lines = m.lines().count();
    m.push_str("{garbage\n");
    std::fs::write(bad.join("metrics.jsonl"), m).unwrap();
    refused(
        &recur(&["train", "--resume", s(&bad)]),
        &format!("line {}", lines + 1),
        "garbage metrics line",
    );
}

#[test]
fn finite_weights_that_overflow_are_refused_at_load() {
    let dir = tmp("overflow");
    let run = classifier(&dir);
    let bytes = std::fs::read(run.join("model.safetensors")).unwrap();
    // every f32 of the file's data set to 3e38 (finite; its products are not)
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut big = bytes.clone();
    for c in big[8 + n..].chunks_exact_mut(4) {
        c.copy_from_slice(&3e38f32.to_le_bytes());
    }
    let bad = copy_run(&run, &dir, "big");
    std::fs::write(bad.join("model.safetensors"), big).unwrap();
    for args in [
        vec!["predict", "--run", s(&bad), "stocks and shares"],
        vec!["eval", "--run", s(&bad), "--test", s(&dir.join("test.csv"))],
        vec!["serve", "--run", s(&bad), "--port", "0"],
    ] {
        refused(&recur(&args), "not finite", &format!("{args:?}"));
    }
}

#[test]
fn a_resume_on_changed_data_state_or_files_is_refused_saying_what_changed() {
    let dir = tmp("resume");
    let run = classifier(&dir);
    let train = dir.join("train.csv");
    let original = std::fs::read_to_string(&train).unwrap();
    // an interrupted run: its state says epoch 1 of 2 (the run finished; rewind it)
    let make = |tag: &str| -> PathBuf {
        let r = copy_run(&run, &dir, tag);
        let p = r.join("checkpoint/state.json");
        let mut st: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        st["progress"]["finished"] = serde_json::Value::Null;
        st["progress"]["epoch"] = serde_json::json!(1);
        st["progress"]["step"] = serde_json::json!(13);
        st["progress"]["samples"] = serde_json::json!(200);
        std::fs::write(&p, st.to_string()).unwrap();
        r
    };
    ok(
        &recur(&["train", "--resume", s(&make("fine"))]),
        "an honest resume",
    );
    // the data: labels, order, rows
    let lines: Vec<&str> = original.lines().collect();
    let relabelled: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 7 {
                format!(
                    "{}{}\n",
                    if l.starts_with('1') { "2" } else { "1" },
                    &l[1..]
                )
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let mut reordered: Vec<&str> = lines.clone();
    reordered.swap(3, 4);
    let reordered: String = reordered.iter().map(|l| format!("{l}\n")).collect();
    for (what, text) in [("labels", relabelled), ("order", reordered)] {
        std::fs::write(&train, &text).unwrap();
        refused(
            &recur(&["train", "--resume", s(&make(what))]),
            "training data",
            what,
        );
    }
    std::fs::write(&train, &original).unwrap();
    // the state, hand-edited
    for (key, value) in [
        ("batch", serde_json::json!(1_000_000)),
        ("epoch", serde_json::json!(100)),
        ("step", serde_json::json!(3)),
        ("samples", serde_json::json!(0)),
    ] {
        let r = make(&format!("state-{key}"));
        let p = r.join("checkpoint/state.json");
        let mut st: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        st["progress"][key] = value;
        std::fs::write(&p, st.to_string()).unwrap();
        refused(&recur(&["train", "--resume", s(&r)]), "state.json", key);
    }
    let r = make("state-extra");
    let p = r.join("checkpoint/state.json");
    let mut st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    st["extra"] = serde_json::json!({"batch_size": 1e12});
    std::fs::write(&p, st.to_string()).unwrap();
    refused(
        &recur(&["train", "--resume", s(&r)]),
        "extra",
        "an unknown key",
    );
    // its own files: a swapped vocabulary line, another run's config
    let r = make("vocab");
    let v = std::fs::read_to_string(r.join("vocab.txt")).unwrap();
    let mut words: Vec<&str> = v.lines().collect();
    words.swap(5, 6);
    std::fs::write(r.join("vocab.txt"), words.join("\n") + "\n").unwrap();
    refused(
        &recur(&["train", "--resume", s(&r)]),
        "vocab.txt",
        "vocab.txt",
    );
    // unknown keys of config.json, near and far
    let r = make("config");
    let c = std::fs::read_to_string(r.join("config.json")).unwrap();
    std::fs::write(
        r.join("config.json"),
        c.replacen("\"hidden_dim\"", "\"hiden_dim\"", 1),
    )
    .unwrap();
    refused(
        &recur(&["predict", "--run", s(&r), "x"]),
        "did you mean `hidden_dim`",
        "a near-miss key",
    );
}

/// A server on a free port over `run`; its address.
fn serve(run: &Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["serve", "--run", s(run), "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    (child, addr)
}

/// What the server answers to raw `bytes` (until it closes or `wait` passes).
fn raw(addr: &str, bytes: &[u8], wait: Duration) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(bytes).unwrap();
    c.set_read_timeout(Some(wait)).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn slow_broken_and_odd_clients_and_a_server_that_always_stops() {
    let dir = tmp("serve");
    let run = classifier(&dir);
    let (mut child, addr) = serve(
        &run,
        &[
            "--read-timeout-s",
            "1",
            "--body-timeout-s",
            "1",
            "--shutdown-timeout-s",
            "2",
        ],
    );
    // malformed request heads: a JSON error
    for head in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /health HTTP/9.9\r\n\r\n",
        b"GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nBad Header\r\n\r\n",
    ] {
        let a = raw(&addr, head, Duration::from_secs(3));
        assert!(
            a.starts_with("HTTP/1.1 400") && a.contains("{\"error\":"),
            "{:?} → {a}",
            String::from_utf8_lossy(head)
        );
    }
    // a body that never comes: 408; a head that never ends: closed
    let a = raw(
        &addr,
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"in",
        Duration::from_secs(4),
    );
    assert!(a.starts_with("HTTP/1.1 408") && a.contains("error"), "{a}");
    let t0 = Instant::now();
    let a = raw(&addr, b"GET /health HTT", Duration::from_secs(6));
    assert!(a.is_empty() && t0.elapsed() < Duration::from_secs(5), "{a}");
    // a byte-order mark before the JSON
    let body = b"\xef\xbb\xbf{\"inputs\": \"stocks and shares\"}";
    let head = format!(
        "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let a = raw(
        &addr,
        &[head.as_bytes(), body].concat(),
        Duration::from_secs(3),
    );
    assert!(a.starts_with("HTTP/1.1 200") && a.contains("score"), "{a}");
    // SIGTERM while clients hold half-sent requests and idle connections: it stops, in time
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
            .unwrap();
        held.push(c);
    }
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(8),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    // numeric options out of range are refused
    for (flag, value) in [
        ("--max-delay-ms", "1e30"),
        ("--read-timeout-s", "NaN"),
        ("--shutdown-timeout-s", "-1"),
        ("--body-timeout-s", "99999"),
        ("--threads", "1000000"),
        ("--max-batch", "0"),
    ] {
        let given = format!("{flag}={value}");
        let o = recur(&["serve", "--run", s(&run), "--port", "0", &given]);
        refused(&o, flag, &format!("{flag} {value}"));
    }
}
