//! Test support: finds the PyTorch golden files (`tests/golden/`, or `RECUR_GOLDEN_DIR`),
//! decodes their tensors, and compares results with a dtype-dependent tolerance.

use std::path::PathBuf;

use recur_tensor::{Backend, DType, Tensor};
use serde_json::Value;

/// The golden folder: `$RECUR_GOLDEN_DIR` if set, else the workspace's `tests/golden`.
pub fn golden_dir() -> PathBuf {
    match std::env::var_os("RECUR_GOLDEN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden"),
    }
}

/// Every `*.json` case of `folder` (sorted by name) as `(name, json)`.
///
/// # Panics
/// When the folder is missing or holds no case: a golden test must never pass vacuously.
pub fn cases(folder: &str) -> Vec<(String, Value)> {
    let dir = golden_dir().join(folder);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("golden folder {} cannot be read: {e}", dir.display()));
    let mut out: Vec<(String, Value)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", p.display()));
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, json)
        })
        .collect();
    assert!(
        !out.is_empty(),
        "golden folder {} holds no case",
        dir.display()
    );
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A decoded golden tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Golden {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
}

impl Golden {
    /// The values rounded to integers (token ids, lengths, indices).
    pub fn ints(&self) -> Vec<usize> {
        self.data.iter().map(|&x| x as usize).collect()
    }

    /// Uploads as a tensor of `dtype`.
    pub fn tensor<B: Backend>(&self, backend: &B, dtype: DType) -> Tensor<B> {
        Tensor::from_f64(backend, &self.shape, &self.data, dtype)
            .expect("golden tensor is well formed")
    }
}

/// Decodes `{"shape": [...], "data": [...]}`; `None` for JSON `null` or a missing key.
pub fn golden(v: &Value) -> Option<Golden> {
    if v.is_null() {
        return None;
    }
    let shape = v["shape"]
        .as_array()?
        .iter()
        .map(|d| d.as_u64().expect("shape entry") as usize)
        .collect::<Vec<_>>();
    let data = v["data"]
        .as_array()?
        .iter()
        .map(|x| x.as_f64().expect("numeric data"))
        .collect::<Vec<_>>();
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "golden tensor shape/data mismatch"
    );
    Some(Golden { shape, data })
}

/// A list of integers (`lengths`), `None` for null.
pub fn ints(v: &Value) -> Option<Vec<usize>> {
    v.as_array().map(|a| {
        a.iter()
            .map(|x| x.as_u64().expect("integer") as usize)
            .collect()
    })
}

/// `(rtol, atol)` for comparisons in `dtype`: f64 1e-9 relative, f32 1e-4 relative.
pub fn tolerance(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F64 => (1e-9, 1e-11),
        DType::F32 => (1e-4, 2e-5),
    }
}

/// Checks `|got − want| ≤ atol + rtol·max(|want|, max|want|/10)` elementwise (the second term
/// keeps near-zero entries of a large-valued tensor from demanding more than the dtype has).
pub fn check_close(what: &str, got: &[f64], want: &Golden, dtype: DType) -> Result<(), String> {
    if got.len() != want.data.len() {
        return Err(format!(
            "{what}: {} values, expected {} (shape {:?})",
            got.len(),
            want.data.len(),
            want.shape
        ));
    }
    let (rtol, atol) = tolerance(dtype);
    let scale = want.data.iter().fold(0.0f64, |m, x| m.max(x.abs())) / 10.0;
    for (i, (&g, &w)) in got.iter().zip(&want.data).enumerate() {
        let err = (g - w).abs();
        if err.is_nan() || err > atol + rtol * w.abs().max(scale) {
            return Err(format!(
                "{what}[{i}] ({dtype}): got {g:e}, expected {w:e} (err {err:e}, shape {:?})",
                want.shape
            ));
        }
    }
    Ok(())
}

/// [`check_close`] on a tensor, also checking its shape.
pub fn check_tensor<B: Backend>(what: &str, got: &Tensor<B>, want: &Golden) -> Result<(), String> {
    if got.shape() != want.shape.as_slice() {
        return Err(format!(
            "{what}: shape {:?}, expected {:?}",
            got.shape(),
            want.shape
        ));
    }
    let values = got.to_f64_vec().map_err(|e| format!("{what}: {e}"))?;
    check_close(what, &values, want, got.dtype())
}

/// Reports a test part skipped for want of the AG News files: prints it, or, with
/// `REQUIRE_DATA=1` (CI, where the shared files are), fails — a test that needs the data
/// must not pass silently without it.
///
/// # Panics
/// With `REQUIRE_DATA=1`.
pub fn skip_without_data(what: &str) {
    if std::env::var("REQUIRE_DATA").is_ok_and(|v| v == "1") {
        panic!(
            "{what}: the AG News files are required (REQUIRE_DATA=1) but were not found; set \
            RECUR_DATA_DIR"
        );
    }
    println!("SKIPPED {what}: AG News files not found (set RECUR_DATA_DIR)");
}

/// A fresh, empty temporary folder `recur-{suite}-{tag}-{pid}` (removed first if a previous
/// run left it).
///
/// # Panics
/// When the folder cannot be made (a test has nothing to stand on then).
pub fn fresh_dir(suite: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-{suite}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("cannot make {}: {e}", d.display()));
    d
}

/// Four topics of five words each (politics, sport, business, technology): the command-line
/// tests write learnable AG-News-like files from them.
pub const TOPIC_WORDS: [&[&str]; 4] = [
    &["war", "minister", "election", "treaty", "embassy"],
    &["goal", "match", "season", "coach", "league"],
    &["stocks", "profit", "market", "shares", "bank"],
    &["software", "internet", "chip", "space", "computer"],
];

/// `rows` AG-News-like CSV lines (`label,"title","body"`) from [`TOPIC_WORDS`], a word of
/// another topic now and then so the task is not trivial; `salt` shifts the labels.
pub fn topic_csv(rows: usize, salt: usize) -> String {
    let mut s = String::new();
    for r in 0..rows {
        let c = (r + salt) % 4;
        let w = TOPIC_WORDS[c];
        let noise = TOPIC_WORDS[(c + r % 3) % 4][r % 5];
        s.push_str(&format!(
            "{},\"{} {}\",\"the {} and {} or {}\"\n",
            c + 1,
            w[r % 5],
            w[(r + 1) % 5],
            w[(r + 2) % 5],
            noise,
            w[(r * 7) % 5]
        ));
    }
    s
}

/// A `recur serve` process started by a test, killed when dropped.
pub struct Server {
    /// The process (its standard error piped, for tests that read it).
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, from the server's first line.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin serve --port 0 ARGS` and waits for its `listening on ADDRESS` line.
///
/// # Panics
/// When the server does not start or says something else first.
pub fn serve(bin: &str, args: &[&str]) -> Server {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin)
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("no first line from the server: {e}"));
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, base }
}

/// The standard output of a command that must have succeeded.
///
/// # Panics
/// When it failed (its standard error is the message).
pub fn succeeded(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the command failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks that a command failed with an error (not a panic) whose message holds `needle`.
///
/// # Panics
/// When it succeeded, panicked, or said something else.
pub fn fails_with(out: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a failure mentioning {needle:?}"
    );
    assert!(
        !stderr.contains("panicked"),
        "panic instead of an error: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "error does not mention {needle:?}: {stderr}"
    );
}

/// Runs `program` with `args`, writing `stdin` to its standard input, to its end.
///
/// # Panics
/// When it cannot be started or its input cannot be written.
pub fn run_with_stdin(program: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut input = child.stdin.take().expect("a piped stdin");
    // a program that exits before reading it all closes the pipe: that is its answer
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("the program's output")
}
