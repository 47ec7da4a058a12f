//! The fused recurrent ops of the CPU backend: the glue between the `Backend` methods
//! (`lstm_seq_forward`, …) and the kernels of `kernels/{lstm,gru,rnn}.rs` — slices out of
//! the tensors, the step layout, and the saved activations and gradients back into tensors.

use recur_tensor::{CellKind, CellSaved, Error, Result, SeqGrads, SeqInputs, SeqOutputs, SeqSaved};

use crate::elem::sl;
use crate::kernels::steps::{OutGrads, SeqBackward, Steps};
use crate::kernels::{gru, lstm, rnn};
use crate::{opt_slice, tensor, Cpu, CpuTensor, Elem};

/// The output gradients of a backward pass as slices of `T`.
pub(crate) fn out_grads<'a, T: Elem>(
    op: &'static str,
    output: Option<&'a CpuTensor>,
    h_n: Option<&'a CpuTensor>,
    c_n: Option<&'a CpuTensor>,
) -> Result<OutGrads<'a, T>> {
    Ok(OutGrads {
        output: opt_slice(op, output)?,
        h_n: opt_slice(op, h_n)?,
        c_n: opt_slice(op, c_n)?,
    })
}

impl Cpu {
    pub(crate) fn lstm_seq_forward_impl(
        &self,
        x: &SeqInputs<'_, Self>,
    ) -> Result<SeqOutputs<Self>> {
        let op = "lstm_seq_forward";
        let (n, b, p) = x.dims();
        let h = x.hidden;
        let c0 = x.c0.ok_or_else(|| Error::invalid(op, "c0 is required"))?;
        let steps = Steps::new(x.batch_sizes, x.reverse).concurrent(x.concurrent);
        dispatch!(x.x_proj.dtype(), T => {
            let input = lstm::LstmIn::<T> {
                hidden: h,
                out: p,
                x_proj: sl(op, x.x_proj.storage())?,
                w_hh: sl(op, x.w_hh.storage())?,
                b_hh: opt_slice(op, x.b_hh)?,
                w_hr: opt_slice(op, x.w_hr)?,
                h0: sl(op, x.h0.storage())?,
                c0: sl(op, c0.storage())?,
            };
            let lstm::LstmFwd { gates, cells, hidden_pre, output, h_n, c_n } =
                lstm::forward(&input, &steps);
            let output = tensor(vec![n, p], T::wrap(output))?;
            Ok(SeqOutputs {
                h_n: tensor(vec![b, p], T::wrap(h_n))?,
                c_n: Some(tensor(vec![b, h], T::wrap(c_n))?),
                saved: SeqSaved::from_inputs(x, tensor(vec![n, 4 * h], T::wrap(gates))?,
                    output.clone(), CellSaved::lstm(x, tensor(vec![n, h], T::wrap(cells))?,
                        hidden_pre.map(|hp| tensor(vec![n, h], T::wrap(hp))).transpose()?)?)?,
                output,
            })
        })
    }

    pub(crate) fn lstm_seq_backward_impl(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_h_n: Option<&CpuTensor>,
        grad_c_n: Option<&CpuTensor>,
    ) -> Result<SeqGrads<Self>> {
        let op = "lstm_seq_backward";
        let CellSaved::Lstm {
            c0,
            cells,
            projection,
        } = &s.cell
        else {
            return Err(Error::invalid(op, "saved state is not an LSTM's"));
        };
        let steps = Steps::new(&s.batch_sizes, s.reverse).concurrent(s.concurrent);
        let (n, b, h) = (steps.rows(), steps.batch(), s.hidden);
        let p = s.output.shape()[1];
        dispatch!(s.gates.dtype(), T => {
            let saved = lstm::LstmSavedRef::<T> {
                hidden: h,
                out: p,
                w_hh: sl(op, s.w_hh.storage())?,
                w_hr: opt_slice(op, projection.as_ref().map(|p| &p.w_hr))?,
                h0: sl(op, s.h0.storage())?,
                c0: sl(op, c0.storage())?,
                gates: sl(op, s.gates.storage())?,
                cells: sl(op, cells.storage())?,
                hidden_pre: opt_slice(op, projection.as_ref().map(|p| &p.hidden_pre))?,
                output: sl(op, s.output.storage())?,
            };
            let SeqBackward { x_proj: dx, w_hh: dw_hh, b_hh: db, w_hr: dw_hr, h0: dh0, c0: dc0 } =
                lstm::backward(&saved, &out_grads(op, grad_output, grad_h_n, grad_c_n)?, &steps);
            Ok(SeqGrads {
                x_proj: tensor(vec![n, 4 * h], T::wrap(dx))?,
                w_hh: tensor(vec![4 * h, p], T::wrap(dw_hh))?,
                b_hh: if s.has_bias { Some(tensor(vec![4 * h], T::wrap(db))?) } else { None },
                w_hr: dw_hr.map(|w| tensor(vec![p, h], T::wrap(w))).transpose()?,
                h0: tensor(vec![b, p], T::wrap(dh0))?,
                c0: dc0.map(|c| tensor(vec![b, h], T::wrap(c))).transpose()?,
            })
        })
    }

    pub(crate) fn gru_seq_forward_impl(&self, x: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        let op = "gru_seq_forward";
        let (n, b, _) = x.dims();
        let h = x.hidden;
        let steps = Steps::new(x.batch_sizes, x.reverse).concurrent(x.concurrent);
        dispatch!(x.x_proj.dtype(), T => {
            let input = gru::GruIn::<T> {
                hidden: h,
                x_proj: sl(op, x.x_proj.storage())?,
                w_hh: sl(op, x.w_hh.storage())?,
                b_hh: opt_slice(op, x.b_hh)?,
                h0: sl(op, x.h0.storage())?,
            };
            let gru::GruFwd { gates, gh_n, output, h_n } = gru::forward(&input, &steps);
            let output = tensor(vec![n, h], T::wrap(output))?;
            Ok(SeqOutputs {
                h_n: tensor(vec![b, h], T::wrap(h_n))?,
                c_n: None,
                saved: SeqSaved::from_inputs(x, tensor(vec![n, 3 * h], T::wrap(gates))?,
                    output.clone(), CellSaved::Gru { gh_n: tensor(vec![n, h], T::wrap(gh_n))? })?,
                output,
            })
        })
    }

    pub(crate) fn gru_seq_backward_impl(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_h_n: Option<&CpuTensor>,
    ) -> Result<SeqGrads<Self>> {
        let op = "gru_seq_backward";
        let steps = Steps::new(&s.batch_sizes, s.reverse).concurrent(s.concurrent);
        let (n, b, h) = (steps.rows(), steps.batch(), s.hidden);
        let CellSaved::Gru { gh_n } = &s.cell else {
            return Err(Error::invalid(op, "saved state is not a GRU's"));
        };
        dispatch!(s.gates.dtype(), T => {
            let saved = gru::GruSavedRef::<T> {
                hidden: h,
                w_hh: sl(op, s.w_hh.storage())?,
                h0: sl(op, s.h0.storage())?,
                gates: sl(op, s.gates.storage())?,
                gh_n: sl(op, gh_n.storage())?,
                output: sl(op, s.output.storage())?,
            };
            let grads = gru::backward(&saved, &out_grads(op, grad_output, grad_h_n, None)?, &steps);
            let SeqBackward { x_proj: dx, w_hh: dw_hh, b_hh: db, h0: dh0, .. } = grads;
            Ok(SeqGrads {
                x_proj: tensor(vec![n, 3 * h], T::wrap(dx))?,
                w_hh: tensor(vec![3 * h, h], T::wrap(dw_hh))?,
                b_hh: if s.has_bias { Some(tensor(vec![3 * h], T::wrap(db))?) } else { None },
                w_hr: None,
                h0: tensor(vec![b, h], T::wrap(dh0))?,
                c0: None,
            })
        })
    }

    pub(crate) fn rnn_seq_forward_impl(&self, x: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        let op = "rnn_seq_forward";
        let (n, b, _) = x.dims();
        let h = x.hidden;
        let relu = x.kind == CellKind::RnnRelu;
        let steps = Steps::new(x.batch_sizes, x.reverse).concurrent(x.concurrent);
        dispatch!(x.x_proj.dtype(), T => {
            let input = rnn::RnnIn::<T> {
                relu,
                hidden: h,
                x_proj: sl(op, x.x_proj.storage())?,
                w_hh: sl(op, x.w_hh.storage())?,
                b_hh: opt_slice(op, x.b_hh)?,
                h0: sl(op, x.h0.storage())?,
            };
            let rnn::RnnFwd { output, h_n } = rnn::forward(&input, &steps);
            let output = tensor(vec![n, h], T::wrap(output))?;
            Ok(SeqOutputs {
                h_n: tensor(vec![b, h], T::wrap(h_n))?,
                c_n: None,
                saved: SeqSaved::from_inputs(x, output.clone(), output.clone(), CellSaved::Rnn)?,
                output,
            })
        })
    }

    pub(crate) fn rnn_seq_backward_impl(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_h_n: Option<&CpuTensor>,
    ) -> Result<SeqGrads<Self>> {
        let op = "rnn_seq_backward";
        let steps = Steps::new(&s.batch_sizes, s.reverse).concurrent(s.concurrent);
        let (n, b, h) = (steps.rows(), steps.batch(), s.hidden);
        let relu = s.kind == CellKind::RnnRelu;
        dispatch!(s.output.dtype(), T => {
            let saved = rnn::RnnSavedRef::<T> {
                relu,
                hidden: h,
                w_hh: sl(op, s.w_hh.storage())?,
                h0: sl(op, s.h0.storage())?,
                output: sl(op, s.output.storage())?,
            };
            let grads = rnn::backward(&saved, &out_grads(op, grad_output, grad_h_n, None)?, &steps);
            let SeqBackward { x_proj: dx, w_hh: dw_hh, b_hh: db, h0: dh0, .. } = grads;
            Ok(SeqGrads {
                x_proj: tensor(vec![n, h], T::wrap(dx))?,
                w_hh: tensor(vec![h, h], T::wrap(dw_hh))?,
                b_hh: if s.has_bias { Some(tensor(vec![h], T::wrap(db))?) } else { None },
                w_hr: None,
                h0: tensor(vec![b, h], T::wrap(dh0))?,
                c0: None,
            })
        })
    }
}
