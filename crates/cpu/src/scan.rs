//! The scan cells' passes on the CPU (minGRU, minLSTM): the glue between the `Backend`
//! methods and `kernels/scan.rs` — slices out of the tensors, the step layout, and the
//! results back into tensors.

use recur_tensor::{CellKind, Result, ScanGrads, ScanInputs, ScanOutputs, ScanSaved};

use crate::elem::sl;
use crate::kernels::scan::{self, ScanBwd, ScanCell, ScanFwd, ScanIn, ScanSavedRef};
use crate::kernels::steps::Steps;
use crate::recurrent::out_grads;
use crate::{tensor, CpuTensor, Elem};

fn cell_of(op: &'static str, kind: CellKind) -> Result<ScanCell> {
    match kind {
        CellKind::MinGru => Ok(ScanCell::MinGru),
        CellKind::MinLstm => Ok(ScanCell::MinLstm),
        other => Err(other.wrong_family(op)),
    }
}

/// [`recur_tensor::Backend::scan_forward`] on the CPU.
pub(crate) fn forward(x: &ScanInputs<'_, crate::Cpu>) -> Result<ScanOutputs<crate::Cpu>> {
    let op = "scan_forward";
    let (n, b) = x.dims();
    let cell = cell_of(op, x.kind)?;
    let h = x.hidden;
    let steps = Steps::new(x.batch_sizes, x.reverse);
    dispatch!(x.x_proj.dtype(), T => {
        let input = ScanIn::<T> {
            cell,
            hidden: h,
            x_proj: sl(op, x.x_proj.storage())?,
            h0: sl(op, x.h0.storage())?,
        };
        let ScanFwd { output, h_n } = scan::forward(&input, &steps);
        let output = tensor(vec![n, h], T::wrap(output))?;
        Ok(ScanOutputs {
            h_n: tensor(vec![b, h], T::wrap(h_n))?,
            saved: ScanSaved::from_inputs(x, output.clone()),
            output,
        })
    })
}

/// [`recur_tensor::Backend::scan_backward`] on the CPU.
pub(crate) fn backward(
    s: &ScanSaved<crate::Cpu>,
    grad_output: Option<&CpuTensor>,
    grad_h_n: Option<&CpuTensor>,
) -> Result<ScanGrads<crate::Cpu>> {
    let op = "scan_backward";
    let cell = cell_of(op, s.kind)?;
    let steps = Steps::new(&s.batch_sizes, s.reverse);
    let (n, b, h) = (steps.rows(), steps.batch(), s.hidden);
    dispatch!(s.x_proj.dtype(), T => {
        let saved = ScanSavedRef::<T> {
            cell,
            hidden: h,
            x_proj: sl(op, s.x_proj.storage())?,
            h0: sl(op, s.h0.storage())?,
            output: sl(op, s.output.storage())?,
        };
        let grads = out_grads(op, grad_output, grad_h_n, None)?;
        let ScanBwd { x_proj: dx, h0: dh0 } = scan::backward(&saved, &grads, &steps);
        Ok(ScanGrads {
            x_proj: tensor(vec![n, cell.gates() * h], T::wrap(dx))?,
            h0: tensor(vec![b, h], T::wrap(dh0))?,
        })
    })
}
