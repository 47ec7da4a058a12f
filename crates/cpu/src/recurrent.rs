//! The fused recurrent ops of the CPU backend: the glue between the `Backend` methods
//! (`seq_forward` / `seq_backward`) and each cell's kernels in `kernels/{lstm,gru,rnn}.rs`
//! (the scan cells' glue is `scan.rs`) — slices out of the tensors, the step layout, and the
//! saved activations and gradients back into tensors in the order the cell declares.

use recur_tensor::{CellKind, CellSaved, Error, Result, SeqGrads, SeqInputs, SeqOutputs, SeqSaved};

use crate::elem::sl;
use crate::kernels::steps::{OutGrads, SeqBackward, Steps};
use crate::kernels::{gru, lstm, rnn};
use crate::{opt_slice, tensor, Cpu, CpuTensor, Elem};

/// The output gradients of a backward pass as slices of `T`: of the output, then of the
/// final states in the cell's order (`h_n`, then the LSTM's `c_n`).
pub(crate) fn out_grads<'a, T: Elem>(
    op: &'static str,
    output: Option<&'a CpuTensor>,
    state_n: &'a [Option<CpuTensor>],
) -> Result<OutGrads<'a, T>> {
    let state = |i: usize| state_n.get(i).and_then(Option::as_ref);
    Ok(OutGrads {
        output: opt_slice(op, output)?,
        h_n: opt_slice(op, state(0))?,
        c_n: opt_slice(op, state(1))?,
    })
}

/// A gated kernel's gradients as the op's: parameters in the cell's order, then states.
fn gated_grads<T: Elem>(
    op: &'static str,
    s: &SeqSaved<Cpu>,
    g: SeqBackward<T>,
) -> Result<SeqGrads<Cpu>> {
    let n: usize = s.batch_sizes.iter().sum();
    let b = s.state(0)?.shape()[0];
    let mut named = vec![("weight_hh", g.w_hh), ("bias_hh", g.b_hh)];
    named.extend(g.w_hr.map(|w| ("weight_hr", w)));
    let mut state0 = vec![tensor(vec![b, s.cell.out()], T::wrap(g.h0))?];
    if let Some(c0) = g.c0 {
        state0.push(tensor(vec![b, s.cell.hidden], T::wrap(c0))?);
    }
    Ok(SeqGrads {
        x_proj: tensor(vec![n, s.cell.gate_width()], T::wrap(g.x_proj))?,
        params: s
            .cell
            .in_param_order(op, named, |shape, v| tensor(shape, T::wrap(v)))?,
        state0,
    })
}

impl Cpu {
    pub(crate) fn lstm_seq_forward_impl(
        &self,
        x: &SeqInputs<'_, Self>,
    ) -> Result<SeqOutputs<Self>> {
        let op = "lstm_seq_forward";
        let (n, b, p) = x.dims();
        let h = x.cell.hidden;
        let steps = Steps::new(x.batch_sizes, x.reverse).concurrent(x.concurrent);
        dispatch!(x.x_proj.dtype(), T => {
            let input = lstm::LstmIn::<T> {
                hidden: h,
                out: p,
                x_proj: sl(op, x.x_proj.storage())?,
                w_hh: sl(op, x.required("weight_hh")?.storage())?,
                b_hh: opt_slice(op, x.param("bias_hh"))?,
                w_hr: opt_slice(op, x.param("weight_hr"))?,
                h0: sl(op, x.state(0)?.storage())?,
                c0: sl(op, x.state(1)?.storage())?,
            };
            let lstm::LstmFwd { gates, cells, hidden_pre, output, h_n, c_n } =
                lstm::forward(&input, &steps);
            let output = tensor(vec![n, p], T::wrap(output))?;
            let buffers = CellSaved::Lstm {
                gates: tensor(vec![n, 4 * h], T::wrap(gates))?,
                cells: tensor(vec![n, h], T::wrap(cells))?,
                hidden_pre: hidden_pre.map(|hp| tensor(vec![n, h], T::wrap(hp))).transpose()?,
            };
            Ok(SeqOutputs {
                state_n: vec![tensor(vec![b, p], T::wrap(h_n))?, tensor(vec![b, h], T::wrap(c_n))?],
                saved: SeqSaved::from_inputs(x, output.clone(), buffers)?,
                output,
            })
        })
    }

    pub(crate) fn lstm_seq_backward_impl(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_state_n: &[Option<CpuTensor>],
    ) -> Result<SeqGrads<Self>> {
        let op = "lstm_seq_backward";
        let CellSaved::Lstm {
            gates,
            cells,
            hidden_pre,
        } = &s.buffers
        else {
            return Err(Error::invalid(op, "saved buffers are not an LSTM's"));
        };
        let steps = Steps::new(&s.batch_sizes, s.reverse).concurrent(s.concurrent);
        dispatch!(gates.dtype(), T => {
            let saved = lstm::LstmSavedRef::<T> {
                hidden: s.cell.hidden,
                out: s.cell.out(),
                w_hh: sl(op, s.required("weight_hh")?.storage())?,
                w_hr: opt_slice(op, s.param("weight_hr"))?,
                h0: sl(op, s.state(0)?.storage())?,
                c0: sl(op, s.state(1)?.storage())?,
                gates: sl(op, gates.storage())?,
                cells: sl(op, cells.storage())?,
                hidden_pre: opt_slice(op, hidden_pre.as_ref())?,
                output: sl(op, s.output.storage())?,
            };
            let grads = lstm::backward(&saved, &out_grads(op, grad_output, grad_state_n)?, &steps);
            gated_grads(op, s, grads)
        })
    }

    pub(crate) fn gru_seq_forward_impl(&self, x: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        let op = "gru_seq_forward";
        let (n, b, _) = x.dims();
        let h = x.cell.hidden;
        let steps = Steps::new(x.batch_sizes, x.reverse).concurrent(x.concurrent);
        dispatch!(x.x_proj.dtype(), T => {
            let input = gru::GruIn::<T> {
                hidden: h,
                x_proj: sl(op, x.x_proj.storage())?,
                w_hh: sl(op, x.required("weight_hh")?.storage())?,
                b_hh: opt_slice(op, x.param("bias_hh"))?,
                h0: sl(op, x.state(0)?.storage())?,
            };
            let gru::GruFwd { gates, gh_n, output, h_n } = gru::forward(&input, &steps);
            let output = tensor(vec![n, h], T::wrap(output))?;
            let buffers = CellSaved::Gru {
                gates: tensor(vec![n, 3 * h], T::wrap(gates))?,
                gh_n: tensor(vec![n, h], T::wrap(gh_n))?,
            };
            Ok(SeqOutputs {
                state_n: vec![tensor(vec![b, h], T::wrap(h_n))?],
                saved: SeqSaved::from_inputs(x, output.clone(), buffers)?,
                output,
            })
        })
    }

    pub(crate) fn gru_seq_backward_impl(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_state_n: &[Option<CpuTensor>],
    ) -> Result<SeqGrads<Self>> {
        let op = "gru_seq_backward";
        let steps = Steps::new(&s.batch_sizes, s.reverse).concurrent(s.concurrent);
        let CellSaved::Gru { gates, gh_n } = &s.buffers else {
            return Err(Error::invalid(op, "saved buffers are not a GRU's"));
        };
        dispatch!(gates.dtype(), T => {
            let saved = gru::GruSavedRef::<T> {
                hidden: s.cell.hidden,
                w_hh: sl(op, s.required("weight_hh")?.storage())?,
                h0: sl(op, s.state(0)?.storage())?,
                gates: sl(op, gates.storage())?,
                gh_n: sl(op, gh_n.storage())?,
                output: sl(op, s.output.storage())?,
            };
            let grads = gru::backward(&saved, &out_grads(op, grad_output, grad_state_n)?, &steps);
            gated_grads(op, s, grads)
        })
    }

    pub(crate) fn rnn_seq_forward_impl(&self, x: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        let op = "rnn_seq_forward";
        let (n, b, _) = x.dims();
        let h = x.cell.hidden;
        let relu = x.cell.kind == CellKind::RnnRelu;
        let steps = Steps::new(x.batch_sizes, x.reverse).concurrent(x.concurrent);
        dispatch!(x.x_proj.dtype(), T => {
            let input = rnn::RnnIn::<T> {
                relu,
                hidden: h,
                x_proj: sl(op, x.x_proj.storage())?,
                w_hh: sl(op, x.required("weight_hh")?.storage())?,
                b_hh: opt_slice(op, x.param("bias_hh"))?,
                h0: sl(op, x.state(0)?.storage())?,
            };
            let rnn::RnnFwd { output, h_n } = rnn::forward(&input, &steps);
            let output = tensor(vec![n, h], T::wrap(output))?;
            Ok(SeqOutputs {
                state_n: vec![tensor(vec![b, h], T::wrap(h_n))?],
                saved: SeqSaved::from_inputs(x, output.clone(), CellSaved::Rnn)?,
                output,
            })
        })
    }

    pub(crate) fn rnn_seq_backward_impl(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_state_n: &[Option<CpuTensor>],
    ) -> Result<SeqGrads<Self>> {
        let op = "rnn_seq_backward";
        let steps = Steps::new(&s.batch_sizes, s.reverse).concurrent(s.concurrent);
        let relu = s.cell.kind == CellKind::RnnRelu;
        dispatch!(s.output.dtype(), T => {
            let saved = rnn::RnnSavedRef::<T> {
                relu,
                hidden: s.cell.hidden,
                w_hh: sl(op, s.required("weight_hh")?.storage())?,
                h0: sl(op, s.state(0)?.storage())?,
                output: sl(op, s.output.storage())?,
            };
            let grads = rnn::backward(&saved, &out_grads(op, grad_output, grad_state_n)?, &steps);
            gated_grads(op, s, grads)
        })
    }
}
