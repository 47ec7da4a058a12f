//! A PyTorch model in recur: `safetensors.torch.save_file(model.state_dict(), path)` of a
//! packed bidirectional GRU classifier (`examples/pytorch/make_fixture.py`) loads by name
//! into the same architecture and gives PyTorch's logits.
//! `cargo run --release --example load_pytorch [-- MODEL.safetensors]`
use recur::prelude::*;

/// The fixture folder: the PyTorch model, its inputs and logits.
fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pytorch")
}

/// Loads `weights` and checks its logits against PyTorch's.
pub fn run(weights: &std::path::Path) -> Result<()> {
    let dir = fixtures();
    // nn.Embedding(30, 8) -> nn.GRU(8, 6, batch_first=True, bidirectional=True) -> Linear(12, 3)
    let config = ClassifierConfig::new(30, 3)
        .with_cell(CellKind::Gru)
        .with_sizes(8, 6)
        .with_bidirectional();
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = Classifier::new(&mut store, config, &mut rng(0))?;
    store.load(weights)?; // strict: every key and shape checked
    println!("loaded {}", weights.display());

    let reference = std::fs::read_to_string(dir.join("gru_classifier.json")).expect("fixture");
    let reference: serde_json::Value = serde_json::from_str(&reference).expect("JSON");
    let as_usize = |v: &serde_json::Value| v.as_u64().expect("an id") as usize;
    let texts: Vec<Vec<usize>> = reference["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .map(|s| s.as_array().expect("ids").iter().map(as_usize).collect())
        .collect();
    let labels: Vec<usize> = reference["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(as_usize)
        .collect();
    let data = Encoded { labels, ids: texts };
    let ours = predict_logits(&model, &store, &data, 16)?;
    let theirs: Vec<f64> = reference["logits"]
        .as_array()
        .expect("logits")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("logit"))
        })
        .collect();
    for (i, row) in ours.chunks(3).enumerate() {
        println!(
            "sequence {i}: class {} (PyTorch: {}), logits {row:?}",
            argmax_rows(row, 3)[0],
            data.labels[i]
        );
    }
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    println!("largest difference from PyTorch's logits: {worst:.2e}");
    assert!(worst < 1e-4, "logits differ from PyTorch's by {worst}");
    Ok(())
}

/// `load_pytorch [MODEL.safetensors]`.
pub fn main() -> Result<()> {
    let default = fixtures().join("gru_classifier.safetensors");
    run(&std::env::args().nth(1).map_or(default, Into::into))
}
