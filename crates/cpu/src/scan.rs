//! The scan cells' passes on the CPU (minGRU, minLSTM): the glue between the `Backend`
//! methods and `kernels/scan.rs` — slices out of the tensors, the step layout, and the
//! results back into tensors. A scan cell has no recurrent parameter and one state, `h`.

use recur_tensor::{CellKind, CellSaved, Error, Result, SeqGrads, SeqInputs, SeqOutputs, SeqSaved};

use crate::elem::sl;
use crate::kernels::scan::{self, ScanBwd, ScanCell, ScanFwd, ScanIn, ScanSavedRef};
use crate::kernels::steps::Steps;
use crate::recurrent::out_grads;
use crate::{tensor, CpuTensor, Elem};

fn cell_of(op: &'static str, kind: CellKind) -> Result<ScanCell> {
    match kind {
        CellKind::MinGru => Ok(ScanCell::MinGru),
        CellKind::MinLstm => Ok(ScanCell::MinLstm),
        other => Err(Error::invalid(op, format!("{other:?} is not a scan cell"))),
    }
}

/// [`recur_tensor::Backend::seq_forward`] of a scan cell on the CPU.
pub(crate) fn forward(x: &SeqInputs<'_, crate::Cpu>) -> Result<SeqOutputs<crate::Cpu>> {
    let op = "scan_forward";
    let (n, b, h) = x.dims();
    let cell = cell_of(op, x.cell.kind)?;
    let steps = Steps::new(x.batch_sizes, x.reverse);
    dispatch!(x.x_proj.dtype(), T => {
        let input = ScanIn::<T> {
            cell,
            hidden: h,
            x_proj: sl(op, x.x_proj.storage())?,
            h0: sl(op, x.state(0)?.storage())?,
        };
        let ScanFwd { output, h_n } = scan::forward(&input, &steps);
        let output = tensor(vec![n, h], T::wrap(output))?;
        let buffers = CellSaved::Scan { x_proj: x.x_proj.clone() };
        Ok(SeqOutputs {
            state_n: vec![tensor(vec![b, h], T::wrap(h_n))?],
            saved: SeqSaved::from_inputs(x, output.clone(), buffers)?,
            output,
        })
    })
}

/// [`recur_tensor::Backend::seq_backward`] of a scan cell on the CPU.
pub(crate) fn backward(
    s: &SeqSaved<crate::Cpu>,
    grad_output: Option<&CpuTensor>,
    grad_state_n: &[Option<CpuTensor>],
) -> Result<SeqGrads<crate::Cpu>> {
    let op = "scan_backward";
    let cell = cell_of(op, s.cell.kind)?;
    let CellSaved::Scan { x_proj } = &s.buffers else {
        return Err(Error::invalid(op, "saved buffers are not a scan cell's"));
    };
    let steps = Steps::new(&s.batch_sizes, s.reverse);
    let (n, b, h) = (steps.rows(), steps.batch(), s.cell.hidden);
    dispatch!(x_proj.dtype(), T => {
        let saved = ScanSavedRef::<T> {
            cell,
            hidden: h,
            x_proj: sl(op, x_proj.storage())?,
            h0: sl(op, s.state(0)?.storage())?,
            output: sl(op, s.output.storage())?,
        };
        let grads = out_grads(op, grad_output, grad_state_n)?;
        let ScanBwd { x_proj: dx, h0: dh0 } = scan::backward(&saved, &grads, &steps);
        Ok(SeqGrads {
            x_proj: tensor(vec![n, s.cell.gate_width()], T::wrap(dx))?,
            params: Vec::new(),
            state0: vec![tensor(vec![b, h], T::wrap(dh0))?],
        })
    })
}
