//! `recur train`'s flags as the library's recipes: [`classify_recipe`] and [`lm_recipe`]
//! map every flag to the typed setting it stands for (files, reading, the model, its
//! initialisation, the optimizer, batching and the loop); the library checks them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use recur_data::{locate, ReadSpec, VocabOrder};
use recur_layers::{AdamConfig, ClassifierConfig, LmConfig, SgdConfig};
use recur_tensor::CellKind;
use recur_train::{
    ClassesFrom, ClassifyConfig, ClassifyFiles, ClassifyRecipe, ClassifyTraining, Device,
    EmbeddingInit, LmFiles, LmRecipe, LmTraining, OptimizerConfig, ScheduleConfig, ScheduleKind,
    TextSpec, TrainConfig, VocabPlan,
};

use crate::args::{CommonArgs, TrainArgs};

/// `path` made absolute (against the current folder), so that a run resumes from anywhere.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The optimizer the flags ask for.
fn optimizer(c: &CommonArgs) -> Result<OptimizerConfig> {
    let wd = c
        .weight_decay
        .unwrap_or(if c.optimizer == "adamw" { 0.01 } else { 0.0 });
    if c.optimizer != "sgd" && c.momentum != 0.0 {
        bail!("--momentum is SGD's: give --optimizer sgd, or drop it");
    }
    Ok(match c.optimizer.as_str() {
        "sgd" => OptimizerConfig::Sgd(SgdConfig {
            lr: c.lr,
            momentum: c.momentum,
            weight_decay: wd,
            ..SgdConfig::default()
        }),
        name => OptimizerConfig::Adam(AdamConfig {
            lr: c.lr,
            weight_decay: wd,
            decoupled: name == "adamw",
            sparse_rows: c.sparse_embedding,
            lazy_rows: true,
            ..AdamConfig::default()
        }),
    })
}

/// `--device`.
fn device(c: &CommonArgs) -> Device {
    match c.device.as_str() {
        "cuda" => Device::Cuda,
        _ => Device::Cpu,
    }
}

/// The run folder: `--out`, or `runs/<name>-seed<seed>`.
pub fn out_dir(a: &TrainArgs, name: &str) -> PathBuf {
    a.common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{name}-seed{}", a.common.seed)))
}

/// The classifier run `recur train` asks for (`note`: told what the data folder holds).
pub fn classify_recipe(a: &TrainArgs, note: &mut dyn FnMut(String)) -> Result<ClassifyRecipe> {
    let (c, k) = (&a.common, &a.classify);
    // `--train FILE` is your own data; otherwise the AG News folder (`--data`,
    // $RECUR_DATA_DIR or datasets/ag_news) with its class names and the lesson's vocabulary
    let ag_news = c.train.is_none();
    let (train, test) = match &c.train {
        Some(t) => {
            let test = match (&k.test, &k.data) {
                (Some(t), _) => Some(t.clone()),
                (None, Some(dir)) => Some(dir.join("test.csv")),
                (None, None) => None,
            };
            (t.clone(), test)
        }
        None => {
            let files = locate(k.data.as_deref(), None, k.test.as_deref())?;
            if let Some(n) = files.note {
                note(n);
            }
            (files.train, Some(files.test))
        }
    };
    let test = test.filter(|_| !k.no_eval);
    if let Some(t) = &test {
        if !t.is_file() {
            bail!("test file {} not found", t.display());
        }
    }
    let classes = match (&k.class_names, ag_news) {
        (Some(names), _) => ClassesFrom::Names {
            names: names.0.clone(),
        },
        (None, true) => ClassesFrom::AgNews,
        (None, false) => ClassesFrom::Labels,
    };
    let mut model = ClassifierConfig::lesson(k.model, 0);
    model.embed_dim = c.embed;
    model.hidden_dim = c.hidden;
    model.num_layers = c.layers;
    model.bidirectional = k.bidirectional;
    model.dropout = c.dropout;
    model.proj_size = k.proj_size;
    model.cell_override = c.cell;
    model.packed_override = k.packed;
    model.pooling_override = k.pooling;
    model.embed_dropout = k.embed_dropout;
    model.fc_dropout = k.fc_dropout;
    model.ngram_buckets = k.ngram_buckets;
    model.char_buckets = k.char_buckets;
    model.members = k.members;
    model.freeze_embedding = k.freeze_embeddings;
    if k.lr_schedule != ScheduleKind::Plateau
        && (k.plateau_factor != 0.5 || k.plateau_patience != 3)
    {
        bail!(
            "--plateau-factor and --plateau-patience shape --lr-schedule plateau: give it, or \
             drop them"
        );
    }
    if k.pretrain_epochs.is_some() && !k.pretrain_embeddings {
        bail!(
            "--pretrain-epochs sets the passes of the skip-gram vectors: give \
             --pretrain-embeddings (or --preset strong) with it"
        );
    }
    let embeddings = match (&k.embeddings, k.pretrain_embeddings) {
        (Some(path), _) => EmbeddingInit::Vectors {
            path: absolute(path),
            oov: k.oov_init,
        },
        (None, true) => EmbeddingInit::SkipGram {
            epochs: k.pretrain_epochs.unwrap_or(10),
        },
        (None, false) => EmbeddingInit::Random,
    };
    let mut recipe = ClassifyRecipe {
        model,
        text: TextSpec {
            tokenizer: a.data_args.tokenizer.unwrap_or_default(),
            vocab_order: k.vocab_order.unwrap_or(if ag_news {
                VocabOrder::Frequency
            } else {
                VocabOrder::PadUnk
            }),
            max_tokens: (k.max_tokens > 0).then_some(k.max_tokens),
        },
        read: a.data_args.spec_over(&ReadSpec::default()),
        training: ClassifyTraining {
            files: ClassifyFiles {
                train: absolute(&train),
                valid: c.valid.as_deref().map(absolute),
                valid_fraction: k.valid_fraction,
                member_folds: k.member_folds.unwrap_or(false),
                test: test.as_deref().map(absolute),
                classes,
                skip_bad_rows: a.data_args.skip_bad_rows,
            },
            vocab: VocabPlan {
                min_freq: c.min_freq,
                max_size: c.max_vocab,
                pad_to: k.vocab_pad,
            },
            embeddings,
            optimizer: optimizer(c)?,
            batching: ClassifyConfig {
                batch_size: c.batch_size,
                eval_batch_size: c.eval_batch_size.unwrap_or(c.batch_size),
                seed: c.seed,
                metric: k.metric,
                adversarial: k.adversarial,
            },
            train: TrainConfig {
                epochs: c.epochs,
                limit: c.limit,
                report_every: c.report_every,
                clip_grad_norm: c.clip_grad_norm,
                schedule: ScheduleConfig {
                    kind: k.lr_schedule,
                    warmup_steps: k.warmup_steps,
                    factor: k.plateau_factor,
                    patience: k.plateau_patience,
                    ..ScheduleConfig::default()
                },
                patience: k.patience,
                save_every: c.save_every,
                frozen: Vec::new(),
                freeze_epochs: k.freeze_epochs,
            },
            seed: c.seed,
            device: device(c),
            size_rule: k.size_rule,
        },
    };
    if let Some(run) = &k.init_encoder {
        if k.pretrain_embeddings || k.embeddings.is_some() {
            bail!(
                "--init-encoder starts the embedding from the language model: drop --embeddings \
                 / --pretrain-embeddings"
            );
        }
        if k.vocab_order.is_some() {
            bail!("--init-encoder takes the language model's vocabulary: drop --vocab-order");
        }
        recipe.start_from_encoder(&absolute(run), a.data_args.tokenizer)?;
    }
    Ok(recipe)
}

/// The language-model run `recur train --task lm` asks for.
pub fn lm_recipe(a: &TrainArgs) -> Result<LmRecipe> {
    let c = &a.common;
    let Some(train) = &c.train else {
        bail!(
            "--task lm needs --train FILE: a text file (one document per line) or a labelled \
            file whose texts are read"
        );
    };
    let has_valid = c.valid.is_some();
    // the example divides the rate by 4 when validation stalls
    let schedule = ScheduleConfig {
        kind: if has_valid {
            ScheduleKind::Plateau
        } else {
            ScheduleKind::Constant
        },
        warmup_steps: 0,
        factor: 0.25,
        patience: 0,
        threshold: 0.0,
    };
    Ok(LmRecipe {
        model: LmConfig {
            vocab_size: 0,
            embed_dim: c.embed,
            hidden_dim: c.hidden,
            num_layers: c.layers,
            cell: c.cell.unwrap_or(CellKind::Lstm),
            dropout: c.dropout,
            tied: a.lm.tied,
        },
        text: TextSpec {
            tokenizer: a.data_args.tokenizer.unwrap_or_default(),
            vocab_order: VocabOrder::Lm,
            max_tokens: None,
        },
        read: a.data_args.spec_over(&ReadSpec::default()),
        training: LmTraining {
            files: LmFiles {
                train: absolute(train),
                valid: c.valid.as_deref().map(absolute),
                skip_bad_rows: a.data_args.skip_bad_rows,
            },
            vocab: VocabPlan {
                min_freq: c.min_freq,
                max_size: c.max_vocab,
                pad_to: None,
            },
            optimizer: optimizer(c)?,
            streams: c.batch_size,
            eval_streams: c.eval_batch_size.unwrap_or(10),
            bptt: a.lm.bptt,
            train: TrainConfig {
                epochs: c.epochs,
                limit: c.limit,
                report_every: c.report_every,
                clip_grad_norm: c.clip_grad_norm,
                schedule,
                patience: None,
                save_every: c.save_every,
                frozen: Vec::new(),
                freeze_epochs: 0,
            },
            seed: c.seed,
            device: device(c),
        },
    })
}
