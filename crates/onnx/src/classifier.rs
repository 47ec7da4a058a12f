//! A classifier as an ONNX graph: `ids [batch, time]` and `lengths [batch]` in,
//! `probabilities [batch, K]` and `logits [batch, K]` out, computing what recur computes —
//! the embedding (`Gather`), the recurrent stack (ONNX's `LSTM`/`GRU`/`RNN`, with
//! `sequence_lens` when the model is packed), the pooling (the last layer's final states;
//! or mean, max or attention over each row's own steps when packed, over all `time` steps
//! when padded), the output layer (`Gemm`) — each recurrent member's, their logits
//! averaged —, the TF-IDF bag mixed in where the model has one
//! (`bag.rs`) and a `Softmax`.

use recur_layers::{member_prefix, ClassifierConfig, Pooling};
use recur_tensor::Backend;
use recur_train::Predictor;

use crate::bag::{bag_logits, mix};
use crate::graph::{f32_tensor, i64_tensor, int, ints, tensor, Dim, Graph};
use crate::proto::data_type;
use crate::recurrent::{stack, Params};
use crate::sidecar::{Io, Sidecar};
use crate::{Exported, Result};

/// The graph of the classifier `p`, and its sidecar.
pub fn export<B: Backend>(p: &Predictor<B>) -> Result<Exported> {
    let cfg = &p.config().model;
    let params = Params::of(p.store())?;
    let packed = cfg.packed();
    let mut g = Graph::default();
    let io = |name: &str, dtype: &'static str, shape: &[&str], doc: &str| Io {
        name: name.into(),
        dtype,
        shape: shape.iter().map(|s| s.to_string()).collect(),
        doc: doc.into(),
    };
    let k = cfg.num_class;
    g.input(
        "ids",
        data_type::INT64,
        &[Dim::Named("batch"), Dim::Named("time")],
        "token ids, each row right-padded with pad_id to the batch's longest",
    );
    g.input(
        "lengths",
        data_type::INT64,
        &[Dim::Named("batch")],
        "tokens of each row before its padding (1 or more)",
    );
    let seq_lens = packed.then(|| {
        g.node(
            "Cast",
            &["lengths"],
            vec![int("to", data_type::INT32 as i64)],
        )
    });
    // a row's own steps: [B, T] booleans, true before its length (packed pooling only)
    let own_steps = |g: &mut Graph| -> String {
        let shape = g.node("Shape", &["ids"], vec![]);
        let one = g.init(i64_tensor("one_index", &[], &[1]));
        let t = g.node("Gather", &[&shape, &one], vec![int("axis", 0)]);
        let zero = g.init(i64_tensor("zero", &[], &[0]));
        let step = g.init(i64_tensor("step", &[], &[1]));
        let range = g.node("Range", &[&zero, &t, &step], vec![]);
        let axes_0 = g.i64s("axes_0", &[0]);
        let row = g.node("Unsqueeze", &[&range, &axes_0], vec![]);
        let axes_1 = g.i64s("axes_1", &[1]);
        let lens = g.node("Unsqueeze", &["lengths", &axes_1], vec![]);
        g.node("Less", &[&row, &lens], vec![])
    };
    let pooling = cfg.pooling();
    let mask = (packed && pooling != Pooling::Last).then(|| own_steps(&mut g));
    // each member's logits, averaged
    let members = (0..cfg.members)
        .map(|i| {
            let prefix = member_prefix(i);
            member_logits(
                &mut g,
                &params,
                cfg,
                &prefix,
                seq_lens.as_deref(),
                mask.clone(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let recurrent = average(&mut g, &members);
    if let Some(bag) = &p.model().bag {
        let bag = bag_logits(&mut g, bag, p.store())?;
        mix(&mut g, &params, &recurrent, &bag)?;
    }
    g.rename_last("logits");
    g.node("Softmax", &["logits"], vec![int("axis", 1)]);
    g.rename_last("probabilities");
    g.output(
        "probabilities",
        data_type::FLOAT,
        &[Dim::Named("batch"), Dim::Fixed(k)],
        "class probabilities",
    );
    g.output(
        "logits",
        data_type::FLOAT,
        &[Dim::Named("batch"), Dim::Fixed(k)],
        "class scores before the softmax",
    );
    let (tokenizer, vocab, unk_id, max_tokens) = Sidecar::text(p.encoder());
    let batching = if packed {
        "packed: each row is read to its own length, so a row's result never depends on the \
         other rows of its batch or on its padding"
    } else {
        "padded (the lesson's model): every row runs over all `time` steps, padding included, \
         so a row's result depends on its batch's longest row, as in recur's evaluation; a row \
         alone (time = its length) is what recur predict computes"
    };
    let sidecar = Sidecar {
        format: "recur-onnx",
        version: 1,
        task: "classify",
        opset: crate::graph::OPSET,
        inputs: vec![
            io(
                "ids",
                "int64",
                &["batch", "time"],
                "token ids, right-padded with pad_id",
            ),
            io(
                "lengths",
                "int64",
                &["batch"],
                "tokens of each row before its padding",
            ),
        ],
        outputs: vec![
            io(
                "probabilities",
                "float32",
                &["batch", &k.to_string()],
                "class probabilities",
            ),
            io(
                "logits",
                "float32",
                &["batch", &k.to_string()],
                "class scores",
            ),
        ],
        tokenizer,
        vocab,
        unk_id,
        pad_id: 0,
        max_tokens,
        classes: Some(p.class_names().to_vec()),
        batching: batching.into(),
    };
    let doc = "a recur text classifier";
    let model = g.into_model("recur_classifier", doc, sidecar.metadata());
    Ok(Exported { model, sidecar })
}

/// The logits `[B, K]` of the recurrent member whose parameters are named under `prefix`:
/// embedding, recurrent stack, pooling (`mask`: each row's own steps, `[B, T]`, packed
/// pooling other than the last state only) and output layer.
fn member_logits(
    g: &mut Graph,
    params: &Params,
    cfg: &ClassifierConfig,
    prefix: &str,
    seq_lens: Option<&str>,
    mask: Option<String>,
) -> Result<String> {
    let pooling = cfg.pooling();
    // embedding [B, T, E] → time-major [T, B, E]
    let (es, e) = params.get(&format!("{prefix}embedding.weight"))?;
    let table = g.init(f32_tensor(&format!("{prefix}embedding.weight"), es, e));
    let emb = g.node("Gather", &[&table, "ids"], vec![]);
    let x = g.node("Transpose", &[&emb], vec![ints("perm", &[1, 0, 2])]);
    let r = cfg.recurrent();
    let s = stack(g, params, &format!("{prefix}rnn"), &r, &x, seq_lens, None)?;
    let features = match pooling {
        Pooling::Last => {
            let last = s.h_n.last().cloned().unwrap_or_default();
            let t = g.node("Transpose", &[&last], vec![ints("perm", &[1, 0, 2])]);
            let shape = g.i64s("features_shape", &[0, -1]);
            g.node("Reshape", &[&t, &shape], vec![])
        }
        pooling => {
            // the outputs batch-first [B, T, W]
            let out = g.node("Transpose", &[&s.y], vec![ints("perm", &[1, 0, 2])]);
            match (pooling, mask) {
                (Pooling::Mean, Some(m)) => {
                    let mf = g.node("Cast", &[&m], vec![int("to", data_type::FLOAT as i64)]);
                    let axes_2 = g.i64s("axes_2", &[2]);
                    let mf = g.node("Unsqueeze", &[&mf, &axes_2], vec![]);
                    let kept = g.node("Mul", &[&out, &mf], vec![]);
                    let axes_1 = g.i64s("axes_1", &[1]);
                    let sum = g.node("ReduceSum", &[&kept, &axes_1], vec![int("keepdims", 0)]);
                    let axes_1 = g.i64s("axes_1", &[1]);
                    let lens = g.node("Unsqueeze", &["lengths", &axes_1], vec![]);
                    let lens = g.node("Cast", &[&lens], vec![int("to", data_type::FLOAT as i64)]);
                    g.node("Div", &[&sum, &lens], vec![])
                }
                (Pooling::Mean, None) => g.node(
                    "ReduceMean",
                    &[&out],
                    vec![ints("axes", &[1]), int("keepdims", 0)],
                ),
                (Pooling::Max, m) => {
                    let input = if let Some(m) = m {
                        let axes_2 = g.i64s("axes_2", &[2]);
                        let m = g.node("Unsqueeze", &[&m, &axes_2], vec![]);
                        let neg = g.node(
                            "Constant",
                            &[],
                            vec![tensor("value", f32_tensor("", &[], &[f32::NEG_INFINITY]))],
                        );
                        g.node("Where", &[&m, &out, &neg], vec![])
                    } else {
                        out.clone()
                    };
                    g.node(
                        "ReduceMax",
                        &[&input],
                        vec![ints("axes", &[1]), int("keepdims", 0)],
                    )
                }
                (_, m) => {
                    // attention: α = softmax_t(out · wᵀ) over the row's steps, Σ α out
                    let (shape, w) = params.get(&format!("{prefix}attn.weight"))?;
                    let name = format!("{prefix}attn.weight_t");
                    let wt = g.init(f32_tensor(&name, &[shape[1], 1], w));
                    let scores = g.node("MatMul", &[&out, &wt], vec![]);
                    let axes_2 = g.i64s("axes_2", &[2]);
                    let mut scores = g.node("Squeeze", &[&scores, &axes_2], vec![]);
                    if let Some(m) = m {
                        let neg = g.node(
                            "Constant",
                            &[],
                            vec![tensor("value", f32_tensor("", &[], &[f32::NEG_INFINITY]))],
                        );
                        scores = g.node("Where", &[&m, &scores, &neg], vec![]);
                    }
                    let alpha = g.node("Softmax", &[&scores], vec![int("axis", 1)]);
                    let axes_2 = g.i64s("axes_2", &[2]);
                    let alpha = g.node("Unsqueeze", &[&alpha, &axes_2], vec![]);
                    let weighted = g.node("Mul", &[&out, &alpha], vec![]);
                    let axes_1 = g.i64s("axes_1", &[1]);
                    g.node("ReduceSum", &[&weighted, &axes_1], vec![int("keepdims", 0)])
                }
            }
        }
    };
    let (ws, w) = params.get(&format!("{prefix}fc.weight"))?;
    let (bs, b) = params.get(&format!("{prefix}fc.bias"))?;
    let fw = g.init(f32_tensor(&format!("{prefix}fc.weight"), ws, w));
    let fb = g.init(f32_tensor(&format!("{prefix}fc.bias"), bs, b));
    Ok(g.node("Gemm", &[&features, &fw, &fb], vec![int("transB", 1)]))
}

/// The mean of the members' logits (one member: its own).
fn average(g: &mut Graph, members: &[String]) -> String {
    let Some((first, rest)) = members.split_first() else {
        return String::new();
    };
    if rest.is_empty() {
        return first.clone();
    }
    let sum = rest
        .iter()
        .fold(first.clone(), |acc, m| g.node("Add", &[&acc, m], vec![]));
    let n = g.init(f32_tensor("members.count", &[], &[members.len() as f32]));
    g.node("Div", &[&sum, &n], vec![])
}
