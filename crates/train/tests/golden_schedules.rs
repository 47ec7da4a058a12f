//! The learning-rate schedules against PyTorch's schedulers (`tests/golden/train/
//! schedules.json`, made by `tests/golden/train/make.py`): 100 steps of linear and cosine
//! decay with and without warmup, and `ReduceLROnPlateau` over 30 epochs in both modes.

use recur_testkit::cases;
use recur_train::{Schedule, ScheduleConfig, ScheduleKind};

fn close(what: &str, got: f64, want: f64) {
    let tol = 1e-12 + 1e-9 * want.abs();
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, PyTorch {want}"
    );
}

#[test]
fn schedules_match_pytorch() {
    let (_, json) = cases("train")
        .into_iter()
        .find(|(name, _)| name == "schedules")
        .expect("tests/golden/train/schedules.json");
    let base = json["base_lr"].as_f64().unwrap();
    let total = json["total_steps"].as_u64().unwrap() as usize;
    let traces = json["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 6);
    for tr in traces {
        let kind: ScheduleKind = tr["schedule"].as_str().unwrap().parse().unwrap();
        let warmup = tr["warmup"].as_u64().unwrap() as usize;
        let s = Schedule::new(
            ScheduleConfig {
                kind,
                warmup_steps: warmup,
                ..ScheduleConfig::default()
            },
            base,
            total,
        );
        for (step, want) in tr["lr"].as_array().unwrap().iter().enumerate() {
            let what = format!(
                "{} warmup {warmup} ({}) step {step}",
                kind.name(),
                tr["source"]
            );
            close(&what, s.lr(step), want.as_f64().unwrap());
        }
    }
    for p in json["plateau"].as_array().unwrap() {
        let higher = p["mode"] == "max";
        let mut s = Schedule::new(
            ScheduleConfig {
                kind: ScheduleKind::Plateau,
                factor: p["factor"].as_f64().unwrap(),
                patience: p["patience"].as_u64().unwrap() as usize,
                threshold: p["threshold"].as_f64().unwrap(),
                ..ScheduleConfig::default()
            },
            base,
            1000,
        );
        let metrics = p["metrics"].as_array().unwrap();
        for (epoch, (m, want)) in metrics
            .iter()
            .zip(p["lr_after_epoch"].as_array().unwrap())
            .enumerate()
        {
            s.on_epoch(m.as_f64().unwrap(), higher);
            close(
                &format!("plateau {} epoch {epoch}", p["mode"]),
                s.lr(5),
                want.as_f64().unwrap(),
            );
        }
    }
}

#[test]
fn warmup_scales_the_plateau_rate() {
    let mut s = Schedule::new(
        ScheduleConfig {
            kind: ScheduleKind::Plateau,
            warmup_steps: 4,
            patience: 0,
            ..ScheduleConfig::default()
        },
        0.1,
        100,
    );
    assert_eq!(s.lr(0), 0.0);
    close("warmup", s.lr(2), 0.05);
    s.on_epoch(0.5, true);
    s.on_epoch(0.4, true);
    close("reduced", s.lr(10), 0.05);
    close("reduced in warmup", s.lr(2), 0.025);
}
