//! A language model as an ONNX graph that runs any number of steps from a given state:
//! `ids [batch, time]`, `h [layers, batch, H]` (and `c` for an LSTM) in; `logits [batch,
//! time, V]` and the state after the last step out — so generation (one step at a time,
//! the state fed back) runs in any ONNX runtime.

use recur_tensor::{Backend, CellKind};
use recur_train::Generator;

use crate::graph::{f32_tensor, i64_tensor, int, ints, Dim, Graph};
use crate::proto::data_type;
use crate::recurrent::{stack, Initial, Params};
use crate::sidecar::{Io, Sidecar};
use crate::{Exported, Result};

/// The graph of the language model `gen`, and its sidecar.
pub fn export<B: Backend>(gen: &Generator<B>) -> Result<Exported> {
    let cfg = &gen.config().model;
    let params = Params::of(gen.store())?;
    let lstm = cfg.cell == CellKind::Lstm;
    let (l, h, v) = (cfg.num_layers, cfg.hidden_dim, cfg.vocab_size);
    let mut g = Graph::default();
    g.input(
        "ids",
        data_type::INT64,
        &[Dim::Named("batch"), Dim::Named("time")],
        "token ids",
    );
    let state = [Dim::Fixed(l), Dim::Named("batch"), Dim::Fixed(h)];
    g.input(
        "h",
        data_type::FLOAT,
        &state,
        "hidden state of every layer (zeros to start)",
    );
    if lstm {
        g.input(
            "c",
            data_type::FLOAT,
            &state,
            "cell state of every layer (zeros to start)",
        );
    }
    let (es, e) = params.get("encoder.weight")?;
    let table = g.init(f32_tensor("encoder.weight", es, e));
    let emb = g.node("Gather", &[&table, "ids"], vec![]);
    let x = g.node("Transpose", &[&emb], vec![ints("perm", &[1, 0, 2])]);
    // each layer's initial state [1, B, H]
    let per_layer = |g: &mut Graph, name: &str| -> Vec<String> {
        (0..l)
            .map(|i| {
                let idx = g.init(i64_tensor(&format!("{name}_layer{i}"), &[1], &[i as i64]));
                g.node("Gather", &[name, &idx], vec![int("axis", 0)])
            })
            .collect()
    };
    let h0 = per_layer(&mut g, "h");
    let c0 = if lstm {
        per_layer(&mut g, "c")
    } else {
        Vec::new()
    };
    let s = stack(
        &mut g,
        &params,
        "rnn",
        &cfg.recurrent(),
        &x,
        None,
        Some(Initial { h: &h0, c: &c0 }),
    )?;
    let (ws, w) = match params.0.get("decoder.weight") {
        Some(d) => (&d.0, &d.1),
        None => (es, e),
    };
    let (bs, b) = params.get("decoder.bias")?;
    let dw = g.init(f32_tensor(
        "decoder.weight_t",
        &[ws[1], ws[0]],
        &transpose(w, ws[0], ws[1]),
    ));
    let db = g.init(f32_tensor("decoder.bias", bs, b));
    let out = g.node("Transpose", &[&s.y], vec![ints("perm", &[1, 0, 2])]);
    let scores = g.node("MatMul", &[&out, &dw], vec![]);
    g.node("Add", &[&scores, &db], vec![]);
    g.rename_last("logits");
    let hs: Vec<&str> = s.h_n.iter().map(String::as_str).collect();
    g.node("Concat", &hs, vec![int("axis", 0)]);
    g.rename_last("h_n");
    if lstm {
        let cs: Vec<&str> = s.c_n.iter().map(String::as_str).collect();
        g.node("Concat", &cs, vec![int("axis", 0)]);
        g.rename_last("c_n");
    }
    g.output(
        "logits",
        data_type::FLOAT,
        &[Dim::Named("batch"), Dim::Named("time"), Dim::Fixed(v)],
        "scores of the next token after each step",
    );
    g.output(
        "h_n",
        data_type::FLOAT,
        &state,
        "hidden state after the last step",
    );
    if lstm {
        g.output(
            "c_n",
            data_type::FLOAT,
            &state,
            "cell state after the last step",
        );
    }
    let io = |name: &str, dtype: &'static str, shape: &[String], doc: &str| Io {
        name: name.into(),
        dtype,
        shape: shape.to_vec(),
        doc: doc.into(),
    };
    let st: Vec<String> = vec![l.to_string(), "batch".into(), h.to_string()];
    let mut inputs = vec![
        io(
            "ids",
            "int64",
            &["batch".into(), "time".into()],
            "token ids",
        ),
        io("h", "float32", &st, "hidden state (zeros to start)"),
    ];
    let mut outputs = vec![
        io(
            "logits",
            "float32",
            &["batch".into(), "time".into(), v.to_string()],
            "next-token scores",
        ),
        io("h_n", "float32", &st, "hidden state after the last step"),
    ];
    if lstm {
        inputs.push(io("c", "float32", &st, "cell state (zeros to start)"));
        outputs.push(io("c_n", "float32", &st, "cell state after the last step"));
    }
    let (tokenizer, vocab, unk_id, max_tokens) = Sidecar::text(gen.encoder());
    let sidecar = Sidecar {
        format: "recur-onnx",
        version: 1,
        task: "lm",
        opset: crate::graph::OPSET,
        inputs,
        outputs,
        tokenizer,
        vocab,
        unk_id,
        pad_id: gen.eos(),
        max_tokens,
        classes: None,
        batching: "every row runs all `time` steps; to generate, start from zero states and \
                   <eos> (pad_id), feed one token a step with the state returned"
            .into(),
    };
    let model = g.into_model(
        "recur_language_model",
        "a recur language model",
        sidecar.metadata(),
    );
    Ok(Exported { model, sidecar })
}

/// `w [rows, cols]` transposed.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = w[r * cols + c];
        }
    }
    out
}
