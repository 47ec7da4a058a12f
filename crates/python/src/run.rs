//! `recur._recur.load` and [`Run`]: a run folder as the library loads it — a classifier's
//! `Predictor` (probabilities, evaluation, ONNX export) or a language model's `Generator`
//! (text, perplexity) — the inference path `recur eval`, `predict`, `serve` and `export`
//! use, so the numbers are theirs.

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use recur_cpu::Cpu;
use recur_data::Encoded;
use recur_layers::rng;
use recur_train::{read_examples, Generator, Loaded, Predictor, RunDir, Sampling, TrainError};

use crate::py_err;

/// Texts classified per batch (each batch on one core, batches spread over the cores; 64
/// keeps a batch's activations in cache, as `recur predict` does).
const PREDICT_BATCH: usize = 64;

/// A loaded run folder.
#[pyclass(module = "recur._recur", frozen)]
pub struct Run {
    dir: PathBuf,
    model: Loaded<Cpu>,
}

/// Loads the run folder `path` (a classifier or a language model).
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Run> {
    let model = py
        .detach(|| RunDir::new(&path).load(&Cpu))
        .map_err(py_err)?;
    Ok(Run { dir: path, model })
}

impl Run {
    fn classifier(&self) -> PyResult<&Predictor<Cpu>> {
        match &self.model {
            Loaded::Classifier(p) => Ok(p),
            Loaded::Lm(_) => Err(PyValueError::new_err(format!(
                "{} is a language model: it generates text and scores perplexity, it does not \
                 classify",
                self.dir.display()
            ))),
        }
    }

    fn lm(&self) -> PyResult<&Generator<Cpu>> {
        match &self.model {
            Loaded::Lm(g) => Ok(g),
            Loaded::Classifier(_) => Err(PyValueError::new_err(format!(
                "{} is a classifier: it classifies, it does not generate",
                self.dir.display()
            ))),
        }
    }
}

/// Scores of `p` on encoded examples as a dict: what `recur eval --json` prints.
fn scores_dict<'py>(
    py: Python<'py>,
    p: &Predictor<Cpu>,
    encoded: &Encoded,
    batch_size: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let eval = py
        .detach(|| p.evaluate(encoded, batch_size))
        .map_err(py_err)?;
    let d = PyDict::new(py);
    d.set_item("examples", encoded.len())?;
    d.set_item("loss", eval.loss)?;
    d.set_item("accuracy", eval.scores.accuracy())?;
    d.set_item("macro_f1", eval.scores.macro_f1())?;
    d.set_item("confusion", eval.scores.confusion.clone())?;
    Ok(d)
}

#[pymethods]
impl Run {
    /// The run folder.
    #[getter]
    fn path(&self) -> String {
        self.dir.display().to_string()
    }

    /// `"classify"` or `"lm"`.
    #[getter]
    fn task(&self) -> &'static str {
        match self.model {
            Loaded::Classifier(_) => "classify",
            Loaded::Lm(_) => "lm",
        }
    }

    /// Class names, index = class (classifiers).
    #[getter]
    fn classes(&self) -> PyResult<Vec<String>> {
        Ok(self.classifier()?.class_names().to_vec())
    }

    /// Class probabilities `[N, K]` of `texts`, read as the run's training read text; a
    /// text with no token the model can read is a `ValueError` naming it.
    fn predict_proba(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<Vec<f64>>> {
        let p = self.classifier()?;
        let ids = p.encode_texts(&texts).map_err(py_err)?;
        py.detach(|| p.probabilities_batched(&ids, PREDICT_BATCH))
            .map_err(py_err)
    }

    /// Loss, accuracy, macro-F1 and confusion on a labelled file, read as the run reads its
    /// training files (what `recur eval` reports).
    #[pyo3(signature = (path, batch_size=16))]
    fn evaluate_file<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let p = self.classifier()?;
        let classes = p.config().classes.classes().map_err(py_err)?;
        let tokenizer = p.encoder().tokenizer;
        let spec = p.config().data.clone();
        let data = py
            .detach(|| read_examples(&path, &spec, tokenizer, &classes, false, &mut |_| {}))
            .map_err(py_err)?;
        scores_dict(py, p, &p.encode_examples(&data.examples).0, batch_size)
    }

    /// The same scores on `texts` with their `labels` as written (class names, or integer
    /// labels as the run's classes number them).
    #[pyo3(signature = (texts, labels, batch_size=16))]
    fn evaluate_texts<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        labels: Vec<String>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let p = self.classifier()?;
        if texts.len() != labels.len() {
            return Err(PyValueError::new_err(format!(
                "{} texts but {} labels",
                texts.len(),
                labels.len()
            )));
        }
        let classes = p.config().classes.classes().map_err(py_err)?;
        let labels = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                classes
                    .class_of(label)
                    .map_err(|e| PyValueError::new_err(format!("label {i}: {e}")))
            })
            .collect::<PyResult<Vec<usize>>>()?;
        let ids = p.encode_texts(&texts).map_err(py_err)?;
        scores_dict(py, p, &Encoded { labels, ids }, batch_size)
    }

    /// Writes the model as an ONNX graph to `path` and its sidecar (what a runtime needs to
    /// read text) to `path + ".json"`, as `recur export --onnx` does.
    fn export_onnx(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let exported = py
            .detach(|| match &self.model {
                Loaded::Classifier(p) => recur_onnx::export_classifier(p),
                Loaded::Lm(g) => recur_onnx::export_lm(g),
            })
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        write_whole(&path, &exported.model)?;
        write_whole(&recur_onnx::sidecar_path(&path), &exported.sidecar_json())
    }

    /// Continues `prompt` by `words` tokens (language models), drawn with `temperature`
    /// and `top_k` from the seed `seed`.
    #[pyo3(signature = (prompt="", words=50, temperature=1.0, top_k=None, seed=0))]
    fn generate(
        &self,
        py: Python<'_>,
        prompt: &str,
        words: usize,
        temperature: f64,
        top_k: Option<usize>,
        seed: u64,
    ) -> PyResult<String> {
        let g = self.lm()?;
        let sampling = Sampling { temperature, top_k };
        py.detach(|| g.generate_text(prompt, words, sampling, &mut rng(seed)))
            .map_err(py_err)
    }

    /// Perplexity of `texts` (each a document), as `recur eval` scores a language model.
    fn perplexity(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<f64> {
        let g = self.lm()?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let p = py.detach(|| g.perplexity(&refs)).map_err(py_err)?;
        Ok(p.loss.exp())
    }

    fn __repr__(&self) -> String {
        format!("recur.Run({:?}, task={:?})", self.path(), self.task())
    }
}

/// Writes `bytes` to a file beside `path`, then renames it into place (whole or absent).
fn write_whole(path: &Path, bytes: &[u8]) -> PyResult<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            py_err(TrainError::io(path, e))
        })
}
