//! A third task plugged into the one loop, written as a user would in one file: estimating
//! the mean of some numbers by gradient descent (`loss = mean((μ − x)²)`). It implements
//! [`Task`] and [`Records`] and nothing else, and gets what the two shipped tasks get:
//! reports, evaluation, the best epoch, early stopping, typed `metrics.jsonl`, checkpoints,
//! and an exact resume after a stop inside an epoch.

use std::path::{Path, PathBuf};

use recur_autograd::{Tape, Var};
use recur_cpu::Cpu;
use recur_layers::{rng, ParamId, ParamStore, Rng, Sgd, SgdConfig};
use recur_tensor::{DType, Tensor};
use recur_train::{
    records_from_jsonl, Batches, Ending, EpochStats, Evaluated, Finished, Judged, Observer, Record,
    Records, ReportUnit, RunOutput, Silent, Stepped, Task, TrainConfig, Trainer,
};
use serde::{Deserialize, Serialize};

/// Mean estimation: batches of numbers, one parameter `mu [1, 1]`.
struct MeanTask {
    mu: ParamId,
    train: Vec<f64>,
    valid: Vec<f64>,
    batch: usize,
}

/// The toy task's records.
#[derive(Clone, Copy, Debug, PartialEq)]
struct MeanRecords;

/// Numbers within 0.5 of the estimate, counted over an epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Near {
    near: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct MeanReport {
    near_fraction: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct MeanEpoch {
    near_fraction: f64,
    mu: f64,
}

impl Records for MeanRecords {
    type Tally = Near;
    type Report = MeanReport;
    type Epoch = MeanEpoch;
    type Eval = f64;

    fn add(total: &mut Near, batch: &Near) {
        total.near += batch.near;
    }

    fn report(stats: &EpochStats<Near>) -> MeanReport {
        MeanReport {
            near_fraction: stats.tally.near as f64 / stats.samples.max(1) as f64,
        }
    }

    fn epoch(stats: &EpochStats<Near>, mu: &f64) -> MeanEpoch {
        MeanEpoch {
            near_fraction: stats.tally.near as f64 / stats.samples.max(1) as f64,
            mu: *mu,
        }
    }
}

impl MeanTask {
    /// `mean((μ − x)²)` on `tape` and the current μ.
    fn loss(&self, tape: &Tape<Cpu>, store: &ParamStore<Cpu>, xs: &[f64]) -> (Var, f64) {
        let mu = store.var(tape, self.mu).unwrap();
        let spread = tape.gather_rows(mu, &vec![0; xs.len()]).unwrap();
        let x = Tensor::from_f64(&Cpu, &[xs.len(), 1], xs, DType::F64).unwrap();
        let d = tape.sub(spread, tape.constant(x)).unwrap();
        let sq = tape.sum_all(tape.mul(d, d).unwrap()).unwrap();
        let loss = tape.scale(sq, 1.0 / xs.len() as f64).unwrap();
        let value = store.get(self.mu).unwrap().to_f64_vec().unwrap()[0];
        (loss, value)
    }
}

impl Task<Cpu> for MeanTask {
    type Batch = Vec<f64>;
    type Records = MeanRecords;

    fn report_unit(&self) -> ReportUnit {
        ReportUnit::Batches
    }
    fn has_validation(&self) -> bool {
        true
    }
    fn metric_name(&self) -> &'static str {
        "squared error"
    }
    fn batches_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.batch)
    }
    fn epoch_samples(&self) -> usize {
        self.train.len()
    }
    fn samples_per_batch(&self) -> usize {
        self.batch
    }
    fn batches(&self, _epoch: usize, skip: usize) -> recur_train::Result<Batches<Vec<f64>>> {
        let chunks: Vec<Vec<f64>> = self.train.chunks(self.batch).map(<[f64]>::to_vec).collect();
        Ok(Box::new(chunks.into_iter().skip(skip).map(Ok)))
    }
    fn samples(&self, batch: &Vec<f64>) -> usize {
        batch.len()
    }
    fn rows<'b>(&self, _batch: &'b Vec<f64>) -> &'b [usize] {
        &[]
    }
    fn step(
        &mut self,
        store: &ParamStore<Cpu>,
        batch: &Vec<f64>,
        _rng: &mut Rng,
    ) -> recur_train::Result<Stepped<Cpu, Near>> {
        let tape = Tape::new(&Cpu);
        let (loss, mu) = self.loss(&tape, store, batch);
        let near = batch.iter().filter(|x| (*x - mu).abs() < 0.5).count();
        Ok(Stepped {
            loss: tape.value(loss)?.scalar()?,
            grads: tape.backward(loss)?,
            tally: Near { near },
        })
    }
    fn evaluate(
        &self,
        store: &ParamStore<Cpu>,
        _train: f64,
    ) -> recur_train::Result<Evaluated<f64>> {
        let tape = Tape::no_grad(&Cpu);
        let (loss, mu) = self.loss(&tape, store, &self.valid);
        let value = tape.value(loss)?.scalar()?;
        Ok(Evaluated {
            eval: mu,
            valid_loss: Some(value),
            judged: Some(Judged {
                value,
                higher_is_better: false,
                from_validation: true,
            }),
        })
    }
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-toy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.join("run")
}

/// Numbers around 3 (and a validation set around 3.2).
fn numbers(n: usize, centre: f64) -> Vec<f64> {
    (0..n)
        .map(|i| centre + ((i * 37 % 11) as f64 - 5.0) / 5.0)
        .collect()
}

/// Trains the toy task into `dir` (resuming when asked), stopping after `stop_after`
/// batches when given.
fn run(dir: &Path, resume: bool, stop_after: Option<usize>) -> (Trainer<Cpu, MeanTask>, Ending) {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let mu = store.add_f64("mu", &[1, 1], &[0.0]).unwrap();
    let task = MeanTask {
        mu,
        train: numbers(60, 3.0),
        valid: numbers(20, 3.2),
        batch: 8,
    };
    let config = TrainConfig {
        epochs: 6,
        report_every: 3,
        patience: Some(2),
        ..TrainConfig::default()
    };
    let sgd = Box::new(Sgd::new(SgdConfig {
        lr: 0.05,
        momentum: 0.5,
        ..SgdConfig::default()
    }));
    let out = RunOutput::open(dir, "mean", vec![("notes.txt".into(), b"toy\n".to_vec())]).unwrap();
    let mut t = Trainer::new(config, task, store, sgd, rng(0)).with_output(out);
    if resume {
        t.resume().unwrap();
    }
    struct StopAfter(Option<usize>, usize);
    impl Observer<MeanRecords> for StopAfter {
        fn batch_done(&mut self, _: usize) {
            self.1 += 1;
        }
        fn stop_requested(&self) -> bool {
            self.0.is_some_and(|n| self.1 >= n)
        }
    }
    let fit = match stop_after {
        Some(n) => t.fit(&mut StopAfter(Some(n), 0)),
        None => t.fit(&mut Silent),
    }
    .unwrap();
    (t, fit.ending)
}

#[test]
fn a_toy_task_gets_the_whole_loop() {
    let dir = tmp("whole");
    let (t, ending) = run(&dir, false, None);
    let mu = t
        .best_store()
        .iter()
        .next()
        .unwrap()
        .2
        .to_f64_vec()
        .unwrap()[0];
    assert!((mu - 3.1).abs() < 0.3, "μ = {mu}");
    assert!(
        matches!(
            ending,
            Ending::Finished(Finished::Completed { .. } | Finished::EarlyStop { .. })
        ),
        "{ending:?}"
    );
    // typed records, read back through the same types
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let records: Vec<Record<MeanRecords>> = records_from_jsonl(&text, &dir).unwrap();
    assert_eq!(records, t.records());
    let epochs: Vec<&MeanEpoch> = records
        .iter()
        .filter_map(|r| match r {
            Record::Epoch(e) => Some(&e.task),
            _ => None,
        })
        .collect();
    assert!(!epochs.is_empty());
    assert!(records.iter().any(|r| matches!(r, Record::Report(_))));
    assert!(dir.join("notes.txt").is_file() && dir.join("checkpoint/state.json").is_file());
    let state = std::fs::read_to_string(dir.join("checkpoint/state.json")).unwrap();
    assert!(state.contains("\"task\": \"mean\""), "{state}");
}

#[test]
fn a_toy_task_resumes_exactly_from_inside_an_epoch() {
    let whole = tmp("straight");
    run(&whole, false, None);
    let parts = tmp("parts");
    // 8 batches an epoch: stop inside the first and the third epochs
    assert!(matches!(
        run(&parts, false, Some(5)).1,
        Ending::Interrupted { saved: true, .. }
    ));
    assert!(matches!(
        run(&parts, true, Some(13)).1,
        Ending::Interrupted { saved: true, .. }
    ));
    run(&parts, true, None);
    for f in [
        "model.safetensors",
        "checkpoint/params.safetensors",
        "checkpoint/optimizer.safetensors",
    ] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(parts.join(f)).unwrap(),
            "{f} differs after resuming"
        );
    }
    // a checkpoint of another task is refused
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let mu = store.add_f64("mu", &[1, 1], &[0.0]).unwrap();
    let task = MeanTask {
        mu,
        train: numbers(60, 3.0),
        valid: numbers(20, 3.2),
        batch: 8,
    };
    let notes = vec![("notes.txt".to_string(), b"toy\n".to_vec())];
    let out = RunOutput::open(&parts, "another", notes).unwrap();
    let sgd = Box::new(Sgd::new(SgdConfig::default()));
    let mut t = Trainer::new(TrainConfig::default(), task, store, sgd, rng(0)).with_output(out);
    let e = t.resume().unwrap_err().to_string();
    assert!(
        e.contains("a checkpoint of a mean run, not of a another run"),
        "{e}"
    );
}
