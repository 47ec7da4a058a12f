//! Stacked recurrent layers as ONNX's own `LSTM`, `GRU` (`linear_before_reset = 1`, as
//! PyTorch) and `RNN` operators, one per layer with both directions in it: PyTorch's gate
//! blocks reordered to ONNX's (LSTM `ifgo` → `iofc`, GRU `rzn` → `zrh`), `b_ih` and `b_hh`
//! side by side in `B`, and `sequence_lens` for packed semantics (each row stops at its own
//! length; the reverse direction starts at each row's own last step).

use std::collections::HashMap;

use recur_layers::{ParamStore, RecurrentConfig};
use recur_tensor::{Backend, CellKind};

use crate::graph::{f32_tensor, int, ints, string, strings, Graph};
use crate::{OnnxError, Result};

/// A parameter's shape and f32 values.
pub type Param = (Vec<usize>, Vec<f32>);

/// A model's parameters by PyTorch name.
pub struct Params(pub HashMap<String, Param>);

impl Params {
    /// Every parameter of `store`, as f32.
    pub fn of<B: Backend>(store: &ParamStore<B>) -> Result<Params> {
        store
            .iter()
            .map(|(_, name, t)| Ok((name.to_string(), (t.shape().to_vec(), t.to_f32_vec()?))))
            .collect::<Result<_>>()
            .map(Params)
    }

    /// Parameter `name`.
    pub fn get(&self, name: &str) -> Result<&Param> {
        self.0
            .get(name)
            .ok_or_else(|| OnnxError::Model(format!("the model has no parameter {name}")))
    }
}

/// PyTorch's gate blocks in ONNX's order.
fn onnx_order(kind: CellKind) -> &'static [usize] {
    match kind {
        // i f g o → i o f c
        CellKind::Lstm => &[0, 3, 1, 2],
        // r z n → z r h
        CellKind::Gru => &[1, 0, 2],
        CellKind::RnnTanh | CellKind::RnnRelu => &[0],
        // never reached: `stack` refuses the scan cells first
        _ => &[],
    }
}

/// `w` (`G` blocks of `h` rows, `cols` columns) with its blocks in `order`.
fn reorder(w: &[f32], h: usize, cols: usize, order: &[usize]) -> Vec<f32> {
    let block = h * cols;
    order
        .iter()
        .flat_map(|&b| w[b * block..(b + 1) * block].iter().copied())
        .collect()
}

/// What a stack of layers gives: the last layer's outputs `[T, B, D·H]` and each layer's
/// final states `[D, B, H]`.
pub struct Stack {
    /// The last layer's outputs, time-major.
    pub y: String,
    /// Each layer's final hidden state.
    pub h_n: Vec<String>,
    /// Each layer's final cell state (LSTM).
    pub c_n: Vec<String>,
}

/// Initial states per layer (`[D, B, H]` each).
pub struct Initial<'a> {
    /// Hidden states.
    pub h: &'a [String],
    /// Cell states (LSTM).
    pub c: &'a [String],
}

/// The recurrent layers of `cfg` (parameters `prefix.*` of `p`) over time-major `x`
/// `[T, B, I]`; `seq_lens` (int32 `[B]`) for packed semantics.
pub fn stack(
    g: &mut Graph,
    p: &Params,
    prefix: &str,
    cfg: &RecurrentConfig,
    x: &str,
    seq_lens: Option<&str>,
    initial: Option<Initial<'_>>,
) -> Result<Stack> {
    if cfg.proj_size > 0 {
        return Err(OnnxError::Unsupported {
            option: "model.proj_size",
            why: "ONNX's LSTM has no projection of the hidden state".into(),
        });
    }
    if !cfg.has_recurrent_weight() {
        return Err(OnnxError::Unsupported {
            option: "model.cell",
            why: format!(
                "ONNX has no {} operator (its recurrent operators are LSTM, GRU and RNN)",
                cfg.kind.name()
            ),
        });
    }
    let (h, d) = (cfg.hidden_size, cfg.directions());
    let gates = cfg.kind.gates();
    let order = onnx_order(cfg.kind);
    let mut input = x.to_string();
    let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
    for layer in 0..cfg.num_layers {
        let (mut w, mut r, mut b) = (Vec::new(), Vec::new(), Vec::new());
        let mut in_size = 0;
        for dir in 0..d {
            let sfx = format!("l{layer}{}", if dir == 1 { "_reverse" } else { "" });
            let (wi_shape, wi) = p.get(&format!("{prefix}.weight_ih_{sfx}"))?;
            let (_, wh) = p.get(&format!("{prefix}.weight_hh_{sfx}"))?;
            in_size = wi_shape[1];
            w.extend(reorder(wi, h, in_size, order));
            r.extend(reorder(wh, h, h, order));
            let bias = |n: &str| -> Result<Vec<f32>> {
                Ok(match p.0.get(&format!("{prefix}.{n}_{sfx}")) {
                    Some((_, v)) => reorder(v, h, 1, order),
                    None => vec![0.0; gates * h],
                })
            };
            b.extend(bias("bias_ih")?);
            b.extend(bias("bias_hh")?);
        }
        let name = |n: &str| format!("{prefix}_l{layer}_{n}");
        let wn = g.init(f32_tensor(&name("W"), &[d, gates * h, in_size], &w));
        let rn = g.init(f32_tensor(&name("R"), &[d, gates * h, h], &r));
        let bn = g.init(f32_tensor(&name("B"), &[d, 2 * gates * h], &b));
        let mut attrs = vec![
            int("hidden_size", h as i64),
            string(
                "direction",
                if d == 2 { "bidirectional" } else { "forward" },
            ),
        ];
        let op = match cfg.kind {
            CellKind::Lstm => "LSTM",
            CellKind::Gru => {
                attrs.push(int("linear_before_reset", 1));
                "GRU"
            }
            CellKind::RnnTanh => {
                attrs.push(strings("activations", &["Tanh"; 2][..d]));
                "RNN"
            }
            CellKind::RnnRelu => {
                attrs.push(strings("activations", &["Relu"; 2][..d]));
                "RNN"
            }
            _ => {
                return Err(OnnxError::Model(format!(
                    "{:?} has no ONNX operator",
                    cfg.kind
                )))
            }
        };
        let (h0, c0) = match &initial {
            Some(i) => (
                i.h[layer].as_str(),
                i.c.get(layer).map_or("", String::as_str),
            ),
            None => ("", ""),
        };
        let lstm = cfg.kind == CellKind::Lstm;
        let mut inputs = vec![input.as_str(), &wn, &rn, &bn, seq_lens.unwrap_or(""), h0];
        if lstm {
            inputs.push(c0);
        }
        let outs = g.node_n(op, &inputs, if lstm { 3 } else { 2 }, attrs);
        // Y [T, D, B, H] → [T, B, D, H] → [T, B, D·H]
        let t = g.node("Transpose", &[&outs[0]], vec![ints("perm", &[0, 2, 1, 3])]);
        let shape = g.i64s(&name("shape"), &[0, 0, -1]);
        input = g.node("Reshape", &[&t, &shape], vec![]);
        h_n.push(outs[1].clone());
        if lstm {
            c_n.push(outs[2].clone());
        }
    }
    Ok(Stack { y: input, h_n, c_n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_blocks_follow_onnx() {
        // blocks of 1 row, 2 columns: i=1, f=2, g=3, o=4 → i o f c
        let w = [1., 1., 2., 2., 3., 3., 4., 4.];
        assert_eq!(
            reorder(&w, 1, 2, onnx_order(CellKind::Lstm)),
            [1., 1., 4., 4., 2., 2., 3., 3.]
        );
        // r=1, z=2, n=3 → z r h
        assert_eq!(
            reorder(&[1., 2., 3.], 1, 1, onnx_order(CellKind::Gru)),
            [2., 1., 3.]
        );
    }
}
