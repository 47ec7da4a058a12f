//! The recipe search: reproducible by seed and trial count, a stopped search resumes to the
//! same result, the best trial becomes a normal run folder, and bad settings or splits are
//! refused before any training.

use std::path::{Path, PathBuf};

use recur_cpu::Cpu;
use recur_train::{
    search_in_progress, search_of_run, AutotuneConfig, AutotuneReport, Choices, ClassifyRecipe,
    RunDir, SearchObserver, TrialRecord,
};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-autotune-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const WORDS: [[&str; 4]; 3] = [
    ["goal", "match", "team", "coach"],
    ["stock", "market", "profit", "bank"],
    ["chip", "software", "robot", "laptop"],
];

/// `rows` rows of 3 classes, each text two words of its class and one of another.
fn write_csv(path: &Path, rows: usize) {
    let mut s = String::new();
    for r in 0..rows {
        let c = r % 3;
        let other = WORDS[(c + 1 + r % 2) % 3][r % 4];
        s.push_str(&format!(
            "{},\"{} {} {other}\"\n",
            ["sport", "money", "tech"][c],
            WORDS[c][r % 4],
            WORDS[c][(r / 3) % 4]
        ));
    }
    std::fs::write(path, s).unwrap();
}

/// The strong recipe on `train` with small sizes, so that a trial takes a moment.
fn recipe(train: PathBuf) -> ClassifyRecipe {
    let mut r = ClassifyRecipe::new(train).strong().with_seed(3);
    r.training.embeddings = recur_train::EmbeddingInit::Random;
    r
}

#[derive(Default)]
struct Recorder {
    started: Vec<usize>,
    done: Vec<(TrialRecord, bool)>,
    /// Stop after this many trials.
    stop_after: Option<usize>,
    /// Or after this many epochs, of all trials together.
    stop_after_epochs: Option<usize>,
    epochs: usize,
}

impl SearchObserver for Recorder {
    fn trial_started(&mut self, index: usize, _choices: &Choices, _elapsed: f64) {
        self.started.push(index);
    }
    fn trial_done(&mut self, trial: &TrialRecord, best: bool) {
        self.done.push((trial.clone(), best));
    }
    fn epoch_done(&mut self, _epoch: &recur_train::EpochRecord<recur_train::ClassifyEpoch>) {
        self.epochs += 1;
    }
    fn stop_requested(&self) -> bool {
        self.stop_after.is_some_and(|n| self.done.len() >= n)
            || self.stop_after_epochs.is_some_and(|n| self.epochs >= n)
    }
}

fn trials(n: usize) -> AutotuneConfig {
    AutotuneConfig {
        budget_seconds: None,
        trials: Some(n),
    }
}

fn scores(r: &AutotuneReport) -> Vec<(Choices, Option<f64>, usize)> {
    r.trials
        .iter()
        .map(|t| (t.choices.clone(), t.score, t.best_epoch))
        .collect()
}

#[test]
fn a_search_of_n_trials_is_repeated_by_its_seed_and_resumes_to_the_same_run() {
    let dir = tmp("search");
    let train = dir.join("train.csv");
    write_csv(&train, 240);
    let r = recipe(train);
    let whole = dir.join("whole");
    let mut rec = Recorder::default();
    let report = r
        .autotune(&Cpu, &whole, trials(3), false, &mut rec)
        .unwrap();
    assert_eq!(rec.started, vec![0, 1, 2]);
    assert_eq!(report.trials.len(), 3);
    assert!(!report.stopped);
    // trial 0 is the strong recipe; the others are drawn, each judged by validation
    assert_eq!(report.trials[0].choices.cell, recur_tensor::CellKind::Gru);
    assert!(report
        .trials
        .iter()
        .all(|t| t.score.is_some_and(|s| (0.0..=1.0).contains(&s))));
    // the chosen trial is the first within one standard error of the best score (240
    // rows, a tenth of them for validation)
    let best = report.best.unwrap();
    let top = report
        .trials
        .iter()
        .filter_map(|t| t.score)
        .fold(0.0, f64::max);
    let se = (top * (1.0 - top) / 24.0).sqrt();
    let within = |t: &TrialRecord| t.score.is_some_and(|s| s >= top - se - 1e-12);
    assert_eq!(Some(best), report.trials.iter().position(within));
    // the run folder is the best trial's, with the search's record beside it
    assert!(!search_in_progress(&whole));
    assert!(!whole.join("autotune").exists());
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(whole.join("autotune.json")).unwrap()).unwrap();
    assert_eq!(record["best"], best);
    assert_eq!(record["trials"].as_array().unwrap().len(), 3);
    let config = RunDir::new(&whole).config().unwrap();
    let recur_train::RunConfig::Classify(c) = config else {
        panic!("not a classifier run")
    };
    assert_eq!(c.model.cell(), report.trials[best].choices.cell);
    RunDir::new(&whole).load_classifier(&Cpu).unwrap();

    // stopped after one trial, then resumed: the same trials and the same model
    let parts = dir.join("parts");
    let mut stop = Recorder {
        stop_after: Some(1),
        ..Recorder::default()
    };
    let first = r
        .autotune(&Cpu, &parts, trials(3), false, &mut stop)
        .unwrap();
    assert!(first.stopped);
    assert!(search_in_progress(&parts));
    let (base, config) = search_of_run(&parts).unwrap();
    let mut rest = Recorder::default();
    let resumed = base
        .autotune(&Cpu, &parts, config, true, &mut rest)
        .unwrap();
    assert_eq!(rest.started, vec![1, 2]);
    assert_eq!(scores(&resumed), scores(&report));
    assert_eq!(
        std::fs::read(parts.join("model.safetensors")).unwrap(),
        std::fs::read(whole.join("model.safetensors")).unwrap()
    );

    // stopped inside a trial (trial 0 trains 12 epochs on 216 rows): the trial continues
    // from its own checkpoint, and the search still ends as the uninterrupted one
    let inside = dir.join("inside");
    let mut stop = Recorder {
        stop_after_epochs: Some(14),
        ..Recorder::default()
    };
    assert!(
        r.autotune(&Cpu, &inside, trials(3), false, &mut stop)
            .unwrap()
            .stopped
    );
    assert_eq!(stop.started, vec![0, 1]);
    assert!(inside
        .join("autotune/trial-001/checkpoint/state.json")
        .is_file());
    let (base, config) = search_of_run(&inside).unwrap();
    let mut rest = Recorder::default();
    let resumed = base
        .autotune(&Cpu, &inside, config, true, &mut rest)
        .unwrap();
    assert_eq!(rest.started, vec![1, 2]);
    assert_eq!(scores(&resumed), scores(&report));
    assert_eq!(
        std::fs::read(inside.join("model.safetensors")).unwrap(),
        std::fs::read(whole.join("model.safetensors")).unwrap()
    );
}

#[test]
fn bad_settings_and_splits_are_refused_before_any_training() {
    let dir = tmp("refuse");
    let train = dir.join("train.csv");
    write_csv(&train, 60);
    let r = recipe(train.clone());
    let out = dir.join("out");
    for (budget, n) in [
        (Some(0.0), None),
        (Some(f64::NAN), None),
        (Some(-1.0), None),
    ] {
        let c = AutotuneConfig {
            budget_seconds: budget,
            trials: n,
        };
        let e = r
            .autotune(&Cpu, &out, c, false, &mut Recorder::default())
            .unwrap_err();
        assert!(e.to_string().contains("positive number of seconds"), "{e}");
    }
    let e = r
        .autotune(&Cpu, &out, trials(0), false, &mut Recorder::default())
        .unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
    // a validation file without one of the classes
    let valid = dir.join("valid.csv");
    std::fs::write(&valid, "sport,goal match\nmoney,stock bank\n").unwrap();
    let mut v = r.clone();
    v.training.files.valid = Some(valid);
    v.training.files.valid_fraction = None;
    let mut rec = Recorder::default();
    let e = v
        .autotune(&Cpu, &out, trials(2), false, &mut rec)
        .unwrap_err();
    assert!(e.to_string().contains("no example of classes tech"), "{e}");
    assert!(rec.started.is_empty());
    // too few rows to carve a validation part with every class
    let tiny = dir.join("tiny.csv");
    write_csv(&tiny, 5);
    let e = recipe(tiny)
        .autotune(&Cpu, &out, trials(2), false, &mut Recorder::default())
        .unwrap_err();
    assert!(e.to_string().contains("validation"), "{e}");
}

/// Says "stop" from its `n`-th ask on (the first ask comes after the data is read).
struct StopAtAsk {
    asks: std::cell::Cell<usize>,
    n: usize,
}

impl recur_train::Observer<recur_train::ClassifyRecords> for StopAtAsk {
    fn stop_requested(&self) -> bool {
        self.asks.set(self.asks.get() + 1);
        self.asks.get() >= self.n
    }
}

#[test]
fn a_stop_during_the_skip_gram_pass_ends_the_run_unsaved_before_training() {
    let dir = tmp("skipgram-stop");
    let train = dir.join("train.csv");
    write_csv(&train, 240);
    let mut r = recipe(train);
    r.training.embeddings = recur_train::EmbeddingInit::SkipGram { epochs: 50 };
    let out = dir.join("run");
    // the first ask (after reading) says go on; the skip-gram pass's next ask says stop
    let mut obs = StopAtAsk {
        asks: std::cell::Cell::new(0),
        n: 2,
    };
    let run = r.run(&Cpu, &out, false, &mut obs).unwrap();
    assert!(run.fit.interrupted());
    assert_eq!((run.fit.epochs, run.fit.samples), (0, 0));
    assert!(run.records.is_empty());
    assert!(!out.join("checkpoint").exists() && !out.join("config.json").exists());
    // asked once more than reading needs, and not again after the stop
    assert_eq!(obs.asks.get(), 2);
}
