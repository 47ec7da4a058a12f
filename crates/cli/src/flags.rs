//! Library errors in the command line's terms: a setting the library names by its field
//! (`optimizer.lr`) is reported by the flag that sets it (`--lr`), and what needs
//! validation data says which flags give it.

use recur_data::DataError;
use recur_train::TrainError;

/// The flag that sets library setting `name` (as `recur train` and `recur generate` take
/// it), if one does.
pub fn flag_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "epochs" => "--epochs",
        "limit" => "--limit",
        "report_every" => "--report-every",
        "save_every" => "--save-every",
        "patience" => "--patience",
        "clip_grad_norm" => "--clip-grad-norm",
        "schedule.factor" => "--plateau-factor",
        "freeze_epochs" | "train.freeze_epochs" => "--freeze-epochs",
        "batch_size" | "streams" => "--batch-size",
        "eval_batch_size" | "eval_streams" => "--eval-batch-size",
        "bptt" => "--bptt",
        "valid_fraction" => "--valid-fraction",
        "files.member_folds" => "--member-folds",
        "optimizer.lr" => "--lr",
        "optimizer.weight_decay" => "--weight-decay",
        "optimizer.momentum" => "--momentum",
        "model.dropout" => "--dropout",
        "model.embed_dropout" => "--embed-dropout",
        "model.fc_dropout" => "--fc-dropout",
        "model.embed_dim" => "--embed",
        "model.hidden_dim" => "--hidden",
        "model.num_layers" => "--layers",
        "model.proj_size" => "--proj-size",
        "model.cell" => "--cell",
        "model.ngram_buckets" => "--ngram-buckets",
        "model.char_buckets" => "--char-buckets",
        "model.members" => "--members",
        "model.bidirectional" => "--bidirectional",
        "model.freeze_embedding" => "--freeze-embeddings",
        "model.tied" => "--tied",
        "embeddings.epochs" => "--pretrain-epochs",
        "text.tokenizer" => "--tokenizer",
        "text.max_tokens" => "--max-tokens",
        "vocab.max_size" => "--max-vocab",
        "vocab.pad_to" => "--vocab-pad",
        "batching.adversarial" => "--adversarial",
        "autotune.budget_seconds" => "--autotune",
        "autotune.trials" => "--autotune-trials",
        "temperature" => "--temperature",
        "top_k" => "--top-k",
        _ => return None,
    })
}

/// `e` with the library's setting names replaced by the flags that set them.
pub fn explain(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<TrainError>() {
        Some(TrainError::Setting { name, problem }) => match flag_of(name) {
            Some(flag) => anyhow::anyhow!("{flag} {problem}"),
            None => e,
        },
        Some(TrainError::NeedsValidation { what }) => {
            anyhow::anyhow!("{what} needs validation data: give --valid FILE or --valid-fraction F")
        }
        Some(TrainError::Data(DataError::VectorWidth {
            path,
            found,
            expected,
        })) => anyhow::anyhow!(
            "{}: the vectors have {found} dimensions but --embed is {expected}; pass --embed \
             {found}",
            path.display()
        ),
        _ => e,
    }
}
