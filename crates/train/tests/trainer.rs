//! The trainer driven through its public API, no command line: a run folder committed at
//! every epoch; the best model by validation kept apart from the last parameters; early
//! stopping; a non-finite loss stopping the run with its epoch and step while the last
//! checkpoint stays whole; resuming a run folder; the run folder's one-writer lock; a label
//! outside the classes named with its example; and the printing observer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use recur_autograd::{Tape, Var};
use recur_cpu::Cpu;
use recur_data::{Batch, Encoded};
use recur_layers::{
    rng, Adam, AdamConfig, Classifier, ClassifierConfig, ModelKind, ParamStore, Rng,
};
use recur_tensor::DType;
use recur_train::{
    load_params, Classify, ClassifyConfig, ClassifyRecords, Datasets, Ending, Finished, Metric,
    Model, RunOutput, RunWriter, Silent, TrainConfig, TrainError, Trainer,
};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-trainer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `n` examples of 3 classes: class c uses tokens 3c+1..3c+3 (0 is padding); `flip`
/// relabels class c as (c + 1) % 3, a task the training data teaches against.
fn task(n: usize, salt: usize, flip: bool) -> Encoded {
    let mut e = Encoded::default();
    for i in 0..n {
        let c = (i + salt) % 3;
        let len = 2 + (i * 7 + salt) % 5;
        e.ids
            .push((0..len).map(|t| 3 * c + 1 + (i + t) % 3).collect());
        e.labels.push(if flip { (c + 1) % 3 } else { c });
    }
    e
}

fn classifier(store: &mut ParamStore<Cpu>) -> Classifier {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 10);
    c.embed_dim = 6;
    c.hidden_dim = 5;
    c.num_class = 3;
    Classifier::new(store, c, &mut rng(4)).unwrap()
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        report_every: 64,
        ..TrainConfig::default()
    }
}

fn batching() -> ClassifyConfig {
    ClassifyConfig {
        batch_size: 8,
        eval_batch_size: 16,
        ..ClassifyConfig::default()
    }
}

/// `model` trained on `data` with batches of 8.
fn classify<'a, M>(model: &'a M, data: Datasets<'a>) -> Classify<'a, M> {
    Classify::new(model, data, batching())
}

fn adam(lr: f64) -> Box<Adam<Cpu>> {
    Box::new(Adam::new(AdamConfig {
        lr,
        ..AdamConfig::default()
    }))
}

fn output(dir: &Path) -> RunOutput {
    RunOutput::open(
        dir,
        "classify",
        vec![("notes.txt".into(), b"caller file\n".to_vec())],
    )
    .unwrap()
}

fn params_of(path: &Path) -> Vec<Vec<f64>> {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    classifier(&mut store);
    load_params(&mut store, path).unwrap();
    store
        .iter()
        .map(|(_, _, v)| v.to_f64_vec().unwrap())
        .collect()
}

#[test]
fn trains_validates_and_commits_every_epoch() {
    let dir = tmp("fit").join("run");
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = classifier(&mut store);
    let (train, valid, test) = (task(240, 0, false), task(60, 1, false), task(30, 2, false));
    let data = Datasets {
        train: Arc::new(train),
        valid: Some(&valid),
        folds: None,
        test: Some(&test),
    };
    let task = classify(&model, data);
    let mut t = Trainer::new(config(3), task, store, adam(0.05), rng(1)).with_output(output(&dir));
    let fit = t.fit(&mut Silent).unwrap();
    assert_eq!(fit.samples, 720);
    let last = fit.last.as_ref().unwrap();
    assert!(last.task.valid_accuracy.unwrap() > 0.9, "{fit:?}");
    assert!(last.task.test_accuracy.unwrap() > 0.9, "{fit:?}");
    assert_eq!(
        fit.ending,
        Ending::Finished(Finished::Completed { epochs: 3 })
    );
    for f in [
        "notes.txt",
        "model.safetensors",
        "metrics.jsonl",
        "checkpoint/params.safetensors",
        "checkpoint/optimizer.safetensors",
        "checkpoint/state.json",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let epochs: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "epoch")
        .collect();
    assert_eq!(epochs.len(), 3);
    assert!(epochs
        .iter()
        .all(|e| e["valid_macro_f1"].is_number() && e["lr"] == 0.05));
    assert!(metrics.contains("\"kind\":\"report\""));
    // the committed best model is the trainer's best
    let best: Vec<Vec<f64>> = t
        .best_store()
        .iter()
        .map(|(_, _, v)| v.to_f64_vec().unwrap())
        .collect();
    assert_eq!(params_of(&dir.join("model.safetensors")), best);
    // no temporaries left beside the folder
    let parent = dir.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".old-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn best_model_is_kept_apart_from_the_last_and_early_stopping_ends_the_run() {
    let dir = tmp("best").join("run");
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = classifier(&mut store);
    // validation labels contradict the training labels: validation accuracy falls as the
    // model learns, so the best epoch is the first and patience 2 stops after epoch 3
    let (train, valid) = (task(240, 0, false), task(60, 1, true));
    let mut cfg = config(10);
    cfg.patience = Some(2);
    let data = Datasets {
        train: Arc::new(train),
        valid: Some(&valid),
        folds: None,
        test: None,
    };
    let task = Classify::new(
        &model,
        data,
        ClassifyConfig {
            metric: Metric::Accuracy,
            ..batching()
        },
    );
    let mut t = Trainer::new(cfg, task, store, adam(0.05), rng(1)).with_output(output(&dir));
    let fit = t.fit(&mut Silent).unwrap();
    let best = fit.best.unwrap();
    assert_eq!(best.epoch, 1, "{fit:?}");
    assert!(
        matches!(
            fit.ending,
            Ending::Finished(Finished::EarlyStop { best_epoch: 1, .. })
        ),
        "{fit:?}"
    );
    assert_eq!(t.progress().epoch, 3, "stopped after patience epochs");
    let saved_best = params_of(&dir.join("model.safetensors"));
    let saved_last = params_of(&dir.join("checkpoint/params.safetensors"));
    assert_ne!(saved_best, saved_last, "best and last must differ here");
    let last: Vec<Vec<f64>> = t
        .store()
        .iter()
        .map(|(_, _, v)| v.to_f64_vec().unwrap())
        .collect();
    assert_eq!(saved_last, last);
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"kind\":\"early_stop\""), "{metrics}");
}

/// The lesson classifier, but its logits turn NaN at call `nan_at` (counting from 0).
struct NanAt {
    inner: Classifier,
    calls: std::sync::atomic::AtomicUsize,
    nan_at: usize,
}

impl Model<Cpu> for NanAt {
    fn logits(
        &self,
        tape: &Tape<Cpu>,
        store: &ParamStore<Cpu>,
        batch: &Batch,
        rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Var> {
        let l = self.inner.logits(tape, store, batch, rng)?;
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(if n == self.nan_at {
            tape.scale(l, f64::NAN)?
        } else {
            l
        })
    }

    fn num_classes(&self) -> usize {
        3
    }
}

#[test]
fn a_nan_loss_stops_the_run_and_keeps_the_last_checkpoint() {
    let dir = tmp("nan").join("run");
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = NanAt {
        inner: classifier(&mut store),
        calls: Default::default(),
        nan_at: 36, // epoch 2, step 37 (30 batches an epoch)
    };
    let train = task(240, 0, false);
    let mut cfg = config(3);
    cfg.save_every = Some(5);
    let task = classify(&model, Datasets::new(train));
    let mut t = Trainer::new(cfg, task, store, adam(0.05), rng(1)).with_output(output(&dir));
    let err = t.fit(&mut Silent).unwrap_err();
    assert!(matches!(err, TrainError::NonFinite(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("epoch 2, step 37 (batch 7 of the epoch)"),
        "{msg}"
    );
    drop(t);
    // the last checkpoint (step 35) is whole and loads
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoint/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["progress"]["step"], 35);
    params_of(&dir.join("model.safetensors"));
    params_of(&dir.join("checkpoint/params.safetensors"));
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    // plain, with adversarial training (a second pass at every step), and three members
    // stepping in parallel with dropout (each member's own stream)
    for (adversarial, members) in [(0.0, 1), (0.3, 1), (0.0, 3)] {
        resumes_exactly(adversarial, members);
    }
}

fn resumes_exactly(adversarial: f64, members: usize) {
    let (train, valid) = (task(240, 0, false), task(60, 1, false));
    let run = |dir: &Path, stop_after: Option<usize>, resume: bool| {
        let mut store = ParamStore::new(&Cpu, DType::F32);
        let model = match members {
            1 => classifier(&mut store),
            n => {
                let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 10).with_members(n);
                (c.embed_dim, c.hidden_dim, c.num_class) = (6, 5, 3);
                c.embed_dropout = 0.3;
                Classifier::new(&mut store, c, &mut rng(4)).unwrap()
            }
        };
        let mut cfg = config(3);
        cfg.save_every = Some(7);
        let data = Datasets {
            train: Arc::new(train.clone()),
            valid: Some(&valid),
            folds: None,
            test: None,
        };
        let batching = ClassifyConfig {
            adversarial,
            ..batching()
        };
        let task = Classify::new(&model, data, batching);
        let mut t = Trainer::new(cfg, task, store, adam(0.05), rng(1)).with_output(output(dir));
        if resume {
            t.resume().unwrap();
        }
        struct StopAfter(Option<usize>, usize);
        impl recur_train::Observer<ClassifyRecords> for StopAfter {
            fn batch_done(&mut self, _: usize) {
                self.1 += 1;
            }
            fn stop_requested(&self) -> bool {
                self.0.is_some_and(|n| self.1 >= n)
            }
        }
        t.fit(&mut StopAfter(stop_after, 0)).unwrap()
    };
    let whole = tmp(&format!("whole{adversarial}-{members}")).join("run");
    run(&whole, None, false);
    // 30 batches an epoch: stops mid-epoch, and one after an epoch's last batch (saved
    // before the epoch's evaluation)
    for (i, stops) in [vec![40, 25], vec![30]].into_iter().enumerate() {
        let parts = tmp(&format!("parts{i}-{adversarial}-{members}")).join("run");
        for (j, n) in stops.into_iter().enumerate() {
            assert!(run(&parts, Some(n), j > 0).interrupted());
        }
        assert!(!run(&parts, None, true).interrupted());
        for f in [
            "model.safetensors",
            "checkpoint/params.safetensors",
            "checkpoint/optimizer.safetensors",
        ] {
            assert_eq!(
                std::fs::read(whole.join(f)).unwrap(),
                std::fs::read(parts.join(f)).unwrap(),
                "{f} differs after resuming from stops {i}"
            );
        }
    }
}

#[test]
fn one_writer_per_run_folder() {
    let dir = tmp("lock").join("run");
    let first = RunWriter::open(&dir).unwrap();
    let e = RunWriter::open(&dir).unwrap_err();
    assert!(matches!(e, TrainError::Locked { .. }), "{e}");
    drop(first);
    RunWriter::open(&dir).unwrap();
    // a file where the folder should be is refused before anything runs
    let file = tmp("lockfile").join("run");
    std::fs::write(&file, "x").unwrap();
    assert!(RunWriter::open(&file)
        .unwrap_err()
        .to_string()
        .contains("not a folder"));
}

/// Lazy ("catch-up") Adam on the embedding trains exactly as dense Adam: the rows a batch
/// reads are brought up to date before its forward pass, so every step sees the values
/// dense Adam would give, bit for bit (a vocabulary much larger than a batch, so most rows
/// are behind at any step).
#[test]
fn lazy_adam_rows_train_exactly_as_dense_adam() {
    let run = |lazy: bool| {
        let mut store = ParamStore::new(&Cpu, DType::F32);
        let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 90);
        c.embed_dim = 6;
        c.hidden_dim = 5;
        c.num_class = 3;
        let model = Classifier::new(&mut store, c, &mut rng(4)).unwrap();
        let mut train = Encoded::default();
        for i in 0..96 {
            let class = i % 3;
            train.ids.push(
                (0..3 + i % 4)
                    .map(|t| 1 + 30 * class + (i * 7 + t * 11) % 29)
                    .collect(),
            );
            train.labels.push(class);
        }
        let opt = Box::new(Adam::new(AdamConfig {
            lr: 0.01,
            lazy_rows: lazy,
            ..AdamConfig::default()
        }));
        let batching = ClassifyConfig {
            batch_size: 4,
            ..batching()
        };
        let task = Classify::new(&model, Datasets::new(train), batching);
        let mut t = Trainer::new(config(2), task, store, opt, rng(1));
        t.fit(&mut Silent).unwrap();
        let params: Vec<Vec<f32>> = t
            .store()
            .iter()
            .map(|(_, _, v)| v.to_f32_vec().unwrap())
            .collect();
        params
    };
    let (dense, lazy) = (run(false), run(true));
    assert_eq!(dense.len(), lazy.len());
    for (i, (d, l)) in dense.iter().zip(&lazy).enumerate() {
        let same = d.iter().zip(l).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "parameter {i} differs between dense and lazy Adam");
    }
}

#[test]
fn a_label_outside_the_classes_names_the_example_and_the_label() {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = classifier(&mut store);
    let mut data = task(40, 0, false);
    data.labels[17] = 5;
    let mut t = Trainer::new(
        config(1),
        classify(&model, Datasets::new(data)),
        store,
        adam(0.01),
        rng(1),
    );
    let err = t.fit(&mut Silent).unwrap_err().to_string();
    assert!(
        err.contains("training example 17: label 5 is outside the model's 3 classes"),
        "{err}"
    );
    let mut valid = task(10, 1, false);
    valid.ids[3].clear();
    let err = recur_train::evaluate(&model, t.store(), &valid, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("evaluation example 3 has no token"), "{err}");
}

#[test]
fn the_printing_observer_tells_notices_reports_and_epochs() {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = classifier(&mut store);
    let (train, valid) = (task(96, 0, false), task(24, 1, false));
    let data = Datasets::new(train).with_valid(&valid);
    let mut t = Trainer::new(config(2), classify(&model, data), store, adam(0.01), rng(1));
    let mut printing = recur_train::Printing::to(Vec::new());
    t.fit(&mut printing).unwrap();
    let text = String::from_utf8(printing.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // a report every 64 samples (the lesson's "samples: acc=" line), then the epoch line
    assert!(lines[0].starts_with("64: acc="), "{text}");
    assert!(lines[1].starts_with("epoch 1: mean loss "), "{text}");
    assert!(lines[1].contains("valid loss "), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("epoch 2: ")), "{text}");
    let notice = recur_train::Notice::Resuming { at: (1, 2, 3) };
    assert_eq!(notice.to_string(), "resuming at epoch 2, batch 2 (step 3)");
}
