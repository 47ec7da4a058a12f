//! The training workloads of `cargo xtask bench`: the lesson's models (also with a
//! full-size vocabulary), a large shape, and the scan-cell rows, each as recur's `train`
//! arguments beside the PyTorch script's.

/// One workload: recur's `train` arguments and the PyTorch script's (seed_train.py, or
/// `script` in the repo, which runs seed_train.py's loop with models of its own).
pub(crate) struct Workload {
    /// The row's name.
    pub(crate) name: &'static str,
    /// `recur train`'s arguments.
    pub(crate) recur: Vec<&'static str>,
    /// The PyTorch script's arguments.
    pub(crate) torch: Vec<&'static str>,
    /// A script of the repo to run instead of seed_train.py.
    pub(crate) script: Option<&'static str>,
}

const FULL_VOCAB: &str = "95812";

pub(crate) fn workloads() -> Vec<Workload> {
    let lesson = [
        ("rnn", vec!["--model", "rnn"], vec!["--model", "rnn"]),
        ("lstm", vec!["--model", "lstm"], vec!["--model", "lstm"]),
        (
            "lstm-packed",
            vec!["--model", "lstm-packed"],
            vec!["--model", "lstm-pack"],
        ),
        ("gru", vec!["--model", "gru"], vec!["--model", "gru"]),
        (
            "bilstm2-packed",
            vec!["--model", "lstm-packed", "--layers", "2", "--bidirectional"],
            vec!["--model", "bilstm"],
        ),
    ];
    let mut out = Vec::new();
    for (name, r, t) in lesson.iter().cloned() {
        out.push(Workload {
            name,
            recur: r,
            torch: t,
            script: None,
        });
    }
    for (name, r, t) in lesson {
        let name: &'static str = Box::leak(format!("{name} (95,812-row vocab)").into_boxed_str());
        let mut r = r;
        r.extend(["--vocab-pad", FULL_VOCAB]);
        let mut t = t;
        t.extend(["--vocab-pad", FULL_VOCAB]);
        out.push(Workload {
            name,
            recur: r,
            torch: t,
            script: None,
        });
    }
    out.push(Workload {
        name: "large: bilstm2-packed E128 H256 B64",
        recur: vec![
            "--model",
            "lstm-packed",
            "--layers",
            "2",
            "--bidirectional",
            "--embed",
            "128",
            "--hidden",
            "256",
            "--batch-size",
            "64",
        ],
        torch: vec![
            "--model",
            "bilstm",
            "--embed",
            "128",
            "--hidden",
            "256",
            "--batch-size",
            "64",
        ],
        script: None,
    });
    out.extend(scan_workloads());
    out
}

/// The PyTorch script of the scan-cell rows (BiGRU and minGRU at the strong preset's shape).
const SCAN_SCRIPT: &str = "benches/reference/scan_cells.py";

/// A packed bidirectional GRU and minGRU classifier of the strong preset's shape (and a
/// larger one), recur's against the same in PyTorch: the rows of `--only scan`.
fn scan_workloads() -> Vec<Workload> {
    let shapes = [
        (
            "strong shape E64 H64 B128",
            ["--embed", "64", "--hidden", "64", "--batch-size", "128"],
        ),
        (
            "E128 H256 B64",
            ["--embed", "128", "--hidden", "256", "--batch-size", "64"],
        ),
    ];
    let mut out = Vec::new();
    for (shape, sizes) in shapes {
        for (cell, torch_model) in [("gru", "bigru-pack"), ("mingru", "bimingru-pack")] {
            let name: &'static str =
                Box::leak(format!("scan: bi{cell}-packed {shape}").into_boxed_str());
            let mut recur = vec![
                "--model",
                "lstm-packed",
                "--cell",
                cell,
                "--bidirectional",
                "--pooling",
                "mean",
                "--embed-dropout",
                "0.2",
                "--fc-dropout",
                "0.5",
                "--lr",
                "0.008",
            ];
            recur.extend(sizes);
            let mut torch = vec!["--model", torch_model, "--lr", "0.008"];
            torch.extend(sizes);
            out.push(Workload {
                name,
                recur,
                torch,
                script: Some(SCAN_SCRIPT),
            });
        }
    }
    out
}
