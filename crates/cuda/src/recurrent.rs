//! The fused recurrent ops on the GPU. Layers with H ≤ 64 (LSTMs without projection) run
//! every time step of a layer-direction in one persistent launch (`<cell>_persist_fwd/bwd`:
//! `W_hh` in registers, one block per batch row). Everything else runs per step: one cuBLAS
//! GEMM for the recurrent product and one fused cell kernel (`lstm_cell_fwd` …). Both honour packed
//! `batch_sizes` (each step touches a shrinking prefix of rows). Weight gradients are single
//! GEMMs over all packed rows after the time loop, as on the CPU.

use cudarc::driver::{CudaSlice, LaunchArgs, LaunchConfig, PushKernelArg};
use recur_tensor::{
    step_offsets, CellKind, DType, GemmSpec, MatLayout, Result, SeqGrads, SeqInputs, SeqOutputs,
    SeqSaved, Tensor,
};

use crate::device::{dev_err, grid};
use crate::{dispatch, sl, Cuda, CudaTensor, DevElem};

/// A null device pointer for optional kernel arguments.
const NULL: u64 = 0;

struct Steps {
    bs: Vec<usize>,
    off: Vec<usize>,
    reverse: bool,
}

impl Steps {
    fn new(bs: &[usize], reverse: bool) -> Steps {
        Steps {
            bs: bs.to_vec(),
            off: step_offsets(bs),
            reverse,
        }
    }
    fn order(&self) -> Vec<usize> {
        let n = self.bs.len();
        (0..n)
            .map(|i| if self.reverse { n - 1 - i } else { i })
            .collect()
    }
    /// `(first packed row, rows)` of the step the rows of step `t` start from.
    fn prev(&self, t: usize) -> Option<(usize, usize)> {
        if self.reverse {
            (t + 1 < self.bs.len()).then(|| (self.off[t + 1], self.bs[t + 1]))
        } else {
            (t > 0).then(|| (self.off[t - 1], self.bs[t - 1]))
        }
    }
    fn rows(&self) -> usize {
        self.off[self.bs.len()]
    }
}

fn rm(offset: usize, cols: usize) -> MatLayout {
    MatLayout::row_major(offset, cols)
}

/// `c[m,n] (beta) = a[m,k]·op(b)` with row-major a, c at element offsets.
#[allow(clippy::too_many_arguments)]
fn mm<T: DevElem>(
    cuda: &Cuda,
    m: usize,
    n: usize,
    k: usize,
    a: &CudaSlice<T>,
    la: MatLayout,
    b: &CudaSlice<T>,
    lb: MatLayout,
    beta: f64,
    c: &mut CudaSlice<T>,
    lc: MatLayout,
) -> Result<()>
where
    cudarc::cublas::CudaBlas: cudarc::cublas::Gemm<T>,
{
    cuda.gemm_t(
        &GemmSpec {
            m,
            n,
            k,
            alpha: 1.0,
            beta,
            a: la,
            b: lb,
            c: lc,
        },
        a,
        b,
        c,
    )
}

fn tensor(cuda: &Cuda, shape: Vec<usize>, s: crate::CudaStorage) -> Result<CudaTensor> {
    Tensor::from_storage(cuda, shape, s)
}

/// `y[..n] += x[..n]` on views.
fn add_rows<T: DevElem>(
    cuda: &Cuda,
    x: &cudarc::driver::CudaView<'_, T>,
    y: &mut cudarc::driver::CudaViewMut<'_, T>,
    n: usize,
) -> Result<()> {
    let f = cuda.kernel::<T>("axpy")?;
    let (one, nn) = (T::of(1.0), n as i64);
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(&one).arg(x).arg(y).arg(&nn);
    // SAFETY: both views hold at least n elements.
    unsafe { l.launch(grid(n)) }.map_err(dev_err)?;
    Ok(())
}

/// Rows of the state each packed row started from: `[N, width]`.
fn gather_prev<T: DevElem>(
    cuda: &Cuda,
    steps: &Steps,
    init: &CudaSlice<T>,
    states: &CudaSlice<T>,
    width: usize,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(steps.rows() * width)?;
    let f = cuda.kernel::<T>("gather_prev")?;
    for t in 0..steps.bs.len() {
        let (po, pr) = steps
            .prev(t)
            .map_or((-1i64, 0i64), |(o, r)| (o as i64, r as i64));
        let a = [
            steps.off[t] as i64,
            steps.bs[t] as i64,
            po,
            pr,
            width as i64,
        ];
        let mut l = cuda.stream().launch_builder(&f);
        l.arg(init)
            .arg(states)
            .arg(&mut out)
            .arg(&a[0])
            .arg(&a[1])
            .arg(&a[2])
            .arg(&a[3])
            .arg(&a[4]);
        // SAFETY: every index stays inside the [N, width] / [B, width] buffers.
        unsafe { l.launch(grid(steps.bs[t] * width)) }.map_err(dev_err)?;
    }
    Ok(out)
}

fn col_sums<T: DevElem>(
    cuda: &Cuda,
    x: &CudaSlice<T>,
    rows: usize,
    cols: usize,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(cols)?;
    let f = cuda.kernel::<T>("sum_axis")?;
    let a = [1i64, rows as i64, cols as i64];
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(x).arg(&mut out).arg(&a[0]).arg(&a[1]).arg(&a[2]);
    // SAFETY: x holds rows·cols elements.
    unsafe { l.launch(grid(cols)) }.map_err(dev_err)?;
    Ok(out)
}

/// Largest hidden size of the persistent kernels (one block of G·H threads per row, with
/// each thread's slice of `W_hh` in registers).
const PERSISTENT_MAX_H: usize = 64;

/// The register width (`<cell>_persist_*_{32,64}`) of the persistent kernel for this layer,
/// or `None` when it runs step by step (LSTM projections, hidden sizes above 64).
fn persistent_width(projected: bool, h: usize) -> Option<usize> {
    (!projected && (1..=PERSISTENT_MAX_H).contains(&h)).then_some(if h <= 32 { 32 } else { 64 })
}

/// One block per batch row, one thread per gate row (`threads` = G·H).
fn persistent_config(b: usize, threads: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (b as u32, 1, 1),
        block_dim: (threads as u32, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Pushes an optional buffer (slice or view) as a kernel argument, a null pointer when absent.
fn arg_or_null<'a, A>(l: &mut LaunchArgs<'a>, v: Option<&'a A>)
where
    LaunchArgs<'a>: PushKernelArg<&'a A>,
{
    match v {
        Some(v) => PushKernelArg::<&A>::arg(l, v),
        None => PushKernelArg::<&u64>::arg(l, &NULL),
    };
}

/// A saved buffer the backward pass needs, or an error naming it.
fn saved<'a, T: DevElem>(t: Option<&'a CudaTensor>, what: &str) -> Result<&'a CudaSlice<T>> {
    sl::<T>("seq_backward", t.ok_or_else(|| dev_err(what))?.storage())
}

/// `batch_sizes` and the packed row offsets on the device, for the persistent kernels.
fn step_tables(cuda: &Cuda, steps: &Steps) -> Result<(CudaSlice<i64>, CudaSlice<i64>)> {
    let bs: Vec<i64> = steps.bs.iter().map(|&v| v as i64).collect();
    let off: Vec<i64> = steps.off.iter().map(|&v| v as i64).collect();
    let st = cuda.stream();
    Ok((
        st.memcpy_stod(&bs).map_err(dev_err)?,
        st.memcpy_stod(&off).map_err(dev_err)?,
    ))
}

/// Forward of any cell kind.
pub fn forward(cuda: &Cuda, x: &SeqInputs<'_, Cuda>) -> Result<SeqOutputs<Cuda>> {
    let (n, b, p) = x.validate()?;
    dispatch!(x.x_proj.dtype(), T => forward_t::<T>(cuda, x, n, b, p))
}

fn forward_t<T: DevElem>(
    cuda: &Cuda,
    x: &SeqInputs<'_, Cuda>,
    n: usize,
    b: usize,
    p: usize,
) -> Result<SeqOutputs<Cuda>>
where
    cudarc::cublas::CudaBlas: cudarc::cublas::Gemm<T>,
{
    let op = "seq_forward";
    let st = cuda.stream();
    let (h, kind) = (x.hidden, x.kind);
    let g = kind.gates() * h;
    let steps = Steps::new(x.batch_sizes, x.reverse);
    let w_hh = sl::<T>(op, x.w_hh.storage())?;
    let b_hh = x.b_hh.map(|t| sl::<T>(op, t.storage())).transpose()?;
    let mut gates = st
        .clone_dtod(sl::<T>(op, x.x_proj.storage())?)
        .map_err(dev_err)?;
    let mut h_state = st
        .clone_dtod(sl::<T>(op, x.h0.storage())?)
        .map_err(dev_err)?;
    let mut output = cuda.zeros::<T>(n * p)?;
    let (mut cells, mut hidden_pre, mut gh_n, mut c_state) = (None, None, None, None);
    let mut gh = cuda.zeros::<T>(if kind == CellKind::Gru { b * g } else { 1 })?;
    if kind == CellKind::Lstm {
        let c0 = x.c0.ok_or_else(|| dev_err("lstm needs c0"))?;
        c_state = Some(st.clone_dtod(sl::<T>(op, c0.storage())?).map_err(dev_err)?);
        cells = Some(cuda.zeros::<T>(n * h)?);
        if x.w_hr.is_some() {
            hidden_pre = Some(cuda.zeros::<T>(n * h)?);
        }
    }
    if kind == CellKind::Gru {
        gh_n = Some(cuda.zeros::<T>(n * h)?);
    }
    if let Some(kmax) = persistent_width(x.w_hr.is_some(), h) {
        let (d_bs, d_off) = step_tables(cuda, &steps)?;
        let f = cuda.kernel::<T>(&format!("{}_persist_fwd_{kmax}", kind.name()))?;
        let (nsteps, hi, rev) = (steps.bs.len() as i64, h as i64, i32::from(steps.reverse));
        let relu = i32::from(kind == CellKind::RnnRelu);
        if kind.gates() == 1 {
            // the RNN kernel turns x_proj rows into states in place
            st.memcpy_dtod(sl::<T>(op, x.x_proj.storage())?, &mut output)
                .map_err(dev_err)?;
        }
        let mut l = st.launch_builder(&f);
        match kind {
            CellKind::Lstm => {
                let cs = c_state.as_mut().ok_or_else(|| dev_err("c state"))?;
                let cl = cells.as_mut().ok_or_else(|| dev_err("cells"))?;
                l.arg(&mut gates).arg(w_hh);
                arg_or_null(&mut l, b_hh);
                l.arg(&mut h_state).arg(cs).arg(cl).arg(&mut output)
            }
            CellKind::Gru => {
                let ghn = gh_n.as_mut().ok_or_else(|| dev_err("gh_n"))?;
                l.arg(&mut gates).arg(w_hh);
                arg_or_null(&mut l, b_hh);
                l.arg(ghn).arg(&mut h_state).arg(&mut output)
            }
            CellKind::RnnTanh | CellKind::RnnRelu => {
                l.arg(&mut output).arg(w_hh);
                arg_or_null(&mut l, b_hh);
                l.arg(&mut h_state)
            }
        };
        l.arg(&d_bs).arg(&d_off).arg(&nsteps).arg(&hi).arg(&rev);
        if kind.gates() == 1 {
            l.arg(&relu);
        }
        // SAFETY: one block per batch row and G·H threads (H <= kmax); every index stays in
        // the [N, G·H], [N, H] and [B, H] buffers given by the step tables.
        unsafe { l.launch(persistent_config(b, kind.gates() * h)) }.map_err(dev_err)?;
    } else {
        for t in steps.order() {
            let (off, bs) = (steps.off[t], steps.bs[t]);
            let (bsi, hi) = (bs as i64, h as i64);
            match kind {
                CellKind::Lstm => {
                    mm(
                        cuda,
                        bs,
                        g,
                        p,
                        &h_state,
                        rm(0, p),
                        w_hh,
                        rm(0, p).t(),
                        1.0,
                        &mut gates,
                        rm(off * g, g),
                    )?;
                    let f = cuda.kernel::<T>("lstm_cell_fwd")?;
                    let mut gv = gates.slice_mut(off * g..);
                    let (cs, cl) = (
                        c_state.as_mut().ok_or_else(|| dev_err("c state"))?,
                        cells.as_mut().ok_or_else(|| dev_err("cells"))?,
                    );
                    let mut clv = cl.slice_mut(off * h..);
                    let mut hpv = match hidden_pre.as_mut() {
                        Some(hp) => hp.slice_mut(off * h..),
                        None => output.slice_mut(off * p..),
                    };
                    let mut l = st.launch_builder(&f);
                    l.arg(&mut gv);
                    arg_or_null(&mut l, b_hh);
                    l.arg(cs).arg(&mut clv).arg(&mut hpv).arg(&bsi).arg(&hi);
                    // SAFETY: rows off..off+bs of every buffer exist.
                    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
                    if let (Some(w_hr), Some(hp)) = (x.w_hr, hidden_pre.as_ref()) {
                        mm(
                            cuda,
                            bs,
                            p,
                            h,
                            hp,
                            rm(off * h, h),
                            sl::<T>(op, w_hr.storage())?,
                            rm(0, h).t(),
                            0.0,
                            &mut output,
                            rm(off * p, p),
                        )?;
                    }
                }
                CellKind::Gru => {
                    mm(
                        cuda,
                        bs,
                        g,
                        h,
                        &h_state,
                        rm(0, h),
                        w_hh,
                        rm(0, h).t(),
                        0.0,
                        &mut gh,
                        rm(0, g),
                    )?;
                    let f = cuda.kernel::<T>("gru_cell_fwd")?;
                    let mut gv = gates.slice_mut(off * g..);
                    let mut ghnv = gh_n
                        .as_mut()
                        .ok_or_else(|| dev_err("gh_n"))?
                        .slice_mut(off * h..);
                    let mut ov = output.slice_mut(off * h..);
                    let mut l = st.launch_builder(&f);
                    l.arg(&mut gv).arg(&gh);
                    arg_or_null(&mut l, b_hh);
                    l.arg(&mut ghnv)
                        .arg(&mut h_state)
                        .arg(&mut ov)
                        .arg(&bsi)
                        .arg(&hi);
                    // SAFETY: rows off..off+bs exist; gh and h_state hold B rows.
                    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
                }
                CellKind::RnnTanh | CellKind::RnnRelu => {
                    // output rows start as x_proj rows
                    let src = sl::<T>(op, x.x_proj.storage())?.slice(off * h..(off + bs) * h);
                    st.memcpy_dtod(&src, &mut output.slice_mut(off * h..(off + bs) * h))
                        .map_err(dev_err)?;
                    mm(
                        cuda,
                        bs,
                        h,
                        h,
                        &h_state,
                        rm(0, h),
                        w_hh,
                        rm(0, h).t(),
                        1.0,
                        &mut output,
                        rm(off * h, h),
                    )?;
                    let f = cuda.kernel::<T>("rnn_cell_fwd")?;
                    let relu = i32::from(kind == CellKind::RnnRelu);
                    let mut ov = output.slice_mut(off * h..);
                    let mut l = st.launch_builder(&f);
                    l.arg(&mut ov);
                    arg_or_null(&mut l, b_hh);
                    l.arg(&bsi).arg(&hi).arg(&relu);
                    // SAFETY: rows off..off+bs exist.
                    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
                }
            }
            if kind != CellKind::Gru {
                let src = output.slice(off * p..(off + bs) * p);
                st.memcpy_dtod(&src, &mut h_state.slice_mut(0..bs * p))
                    .map_err(dev_err)?;
            }
        }
    }
    let output = tensor(cuda, vec![n, p], T::wrap(output))?;
    let gates_t = if kind.gates() == 1 {
        output.clone()
    } else {
        tensor(cuda, vec![n, g], T::wrap(gates))?
    };
    Ok(SeqOutputs {
        h_n: tensor(cuda, vec![b, p], T::wrap(h_state))?,
        c_n: c_state
            .map(|c| tensor(cuda, vec![b, h], T::wrap(c)))
            .transpose()?,
        saved: SeqSaved {
            kind,
            hidden: h,
            batch_sizes: x.batch_sizes.to_vec(),
            reverse: x.reverse,
            concurrent: x.concurrent,
            w_hh: x.w_hh.clone(),
            has_bias: x.b_hh.is_some(),
            w_hr: x.w_hr.cloned(),
            h0: x.h0.clone(),
            c0: x.c0.cloned(),
            gates: gates_t,
            cells: cells
                .map(|c| tensor(cuda, vec![n, h], T::wrap(c)))
                .transpose()?,
            hidden_pre: hidden_pre
                .map(|c| tensor(cuda, vec![n, h], T::wrap(c)))
                .transpose()?,
            gh_n: gh_n
                .map(|c| tensor(cuda, vec![n, h], T::wrap(c)))
                .transpose()?,
            output: output.clone(),
        },
        output,
    })
}

/// Backward through time of any cell kind.
pub fn backward(
    cuda: &Cuda,
    s: &SeqSaved<Cuda>,
    go: Option<&CudaTensor>,
    gh: Option<&CudaTensor>,
    gc: Option<&CudaTensor>,
) -> Result<SeqGrads<Cuda>> {
    let dtype: DType = s.output.dtype();
    dispatch!(dtype, T => backward_t::<T>(cuda, s, go, gh, gc))
}

fn backward_t<T: DevElem>(
    cuda: &Cuda,
    s: &SeqSaved<Cuda>,
    go: Option<&CudaTensor>,
    gh: Option<&CudaTensor>,
    gc: Option<&CudaTensor>,
) -> Result<SeqGrads<Cuda>>
where
    cudarc::cublas::CudaBlas: cudarc::cublas::Gemm<T>,
{
    let op = "seq_backward";
    let st = cuda.stream();
    let steps = Steps::new(&s.batch_sizes, s.reverse);
    let (n, b, h, kind) = (steps.rows(), steps.bs[0], s.hidden, s.kind);
    let p = s.output.shape()[1];
    let g = kind.gates() * h;
    let w_hh = sl::<T>(op, s.w_hh.storage())?;
    let h0 = sl::<T>(op, s.h0.storage())?;
    let output = sl::<T>(op, s.output.storage())?;
    let gates = sl::<T>(op, s.gates.storage())?;
    let go = go.map(|t| sl::<T>(op, t.storage())).transpose()?;
    let mut dh = match gh {
        Some(t) => st.clone_dtod(sl::<T>(op, t.storage())?).map_err(dev_err)?,
        None => cuda.zeros::<T>(b * p)?,
    };
    let mut dgates = cuda.zeros::<T>(n * g)?;
    // GRU: gradient of the recurrent pre-activations (differs from dx in the n block)
    let mut dgh = cuda.zeros::<T>(if kind == CellKind::Gru { n * g } else { 1 })?;
    let mut dc = None;
    let (mut dh_all, mut dhp) = (None, None);
    if kind == CellKind::Lstm {
        dc = Some(match gc {
            Some(t) => st.clone_dtod(sl::<T>(op, t.storage())?).map_err(dev_err)?,
            None => cuda.zeros::<T>(b * h)?,
        });
        if s.w_hr.is_some() {
            dh_all = Some(cuda.zeros::<T>(n * p)?);
            dhp = Some(cuda.zeros::<T>(b * h)?);
        }
    }
    if let Some(kmax) = persistent_width(s.w_hr.is_some(), h) {
        let (d_bs, d_off) = step_tables(cuda, &steps)?;
        let f = cuda.kernel::<T>(&format!("{}_persist_bwd_{kmax}", kind.name()))?;
        let (nsteps, hi, rev) = (steps.bs.len() as i64, h as i64, i32::from(steps.reverse));
        let relu = i32::from(kind == CellKind::RnnRelu);
        let mut l = st.launch_builder(&f);
        match kind {
            CellKind::Lstm => l
                .arg(gates)
                .arg(saved::<T>(s.cells.as_ref(), "cells")?)
                .arg(w_hh)
                .arg(saved::<T>(s.c0.as_ref(), "c0")?),
            CellKind::Gru => l
                .arg(gates)
                .arg(saved::<T>(s.gh_n.as_ref(), "gh_n")?)
                .arg(w_hh)
                .arg(h0)
                .arg(output),
            CellKind::RnnTanh | CellKind::RnnRelu => l.arg(output).arg(w_hh),
        };
        arg_or_null(&mut l, go);
        l.arg(&mut dh);
        match kind {
            CellKind::Lstm => {
                let dcm = dc.as_mut().ok_or_else(|| dev_err("dc"))?;
                l.arg(dcm).arg(&mut dgates)
            }
            CellKind::Gru => l.arg(&mut dgates).arg(&mut dgh),
            CellKind::RnnTanh | CellKind::RnnRelu => l.arg(&mut dgates),
        };
        l.arg(&d_bs).arg(&d_off).arg(&nsteps).arg(&hi).arg(&rev);
        if kind.gates() == 1 {
            l.arg(&relu);
        }
        // SAFETY: as in the forward launch; previous rows are read only where they are
        // alive at the neighbouring step.
        unsafe { l.launch(persistent_config(b, kind.gates() * h)) }.map_err(dev_err)?;
    } else {
        for t in steps.order().into_iter().rev() {
            let (off, bs) = (steps.off[t], steps.bs[t]);
            let (bsi, hi) = (bs as i64, h as i64);
            let (prev_off, prev_rows) = steps
                .prev(t)
                .map_or((None, 0i64), |(o, r)| (Some(o), r as i64));
            match kind {
                CellKind::Lstm => {
                    if let Some(go) = go {
                        add_rows(
                            cuda,
                            &go.slice(off * p..(off + bs) * p),
                            &mut dh.slice_mut(0..bs * p),
                            bs * p,
                        )?;
                    }
                    if let (Some(w_hr), Some(all), Some(dhp)) =
                        (s.w_hr.as_ref(), dh_all.as_mut(), dhp.as_mut())
                    {
                        st.memcpy_dtod(
                            &dh.slice(0..bs * p),
                            &mut all.slice_mut(off * p..(off + bs) * p),
                        )
                        .map_err(dev_err)?;
                        mm(
                            cuda,
                            bs,
                            h,
                            p,
                            &dh,
                            rm(0, p),
                            sl::<T>(op, w_hr.storage())?,
                            rm(0, h),
                            0.0,
                            dhp,
                            rm(0, h),
                        )?;
                    }
                    let cells = sl::<T>(
                        op,
                        s.cells.as_ref().ok_or_else(|| dev_err("cells"))?.storage(),
                    )?;
                    let c0 = sl::<T>(op, s.c0.as_ref().ok_or_else(|| dev_err("c0"))?.storage())?;
                    let f = cuda.kernel::<T>("lstm_cell_bwd")?;
                    let gv = gates.slice(off * g..);
                    let cv = cells.slice(off * h..);
                    let pv = prev_off.map(|o| cells.slice(o * h..));
                    let mut dgv = dgates.slice_mut(off * g..);
                    let dcm = dc.as_mut().ok_or_else(|| dev_err("dc"))?;
                    let mut l = st.launch_builder(&f);
                    l.arg(&gv).arg(&cv);
                    arg_or_null(&mut l, pv.as_ref());
                    l.arg(&prev_rows).arg(c0);
                    match dhp.as_ref() {
                        Some(d) => l.arg(d),
                        None => l.arg(&dh),
                    };
                    l.arg(dcm).arg(&mut dgv).arg(&bsi).arg(&hi);
                    // SAFETY: all row ranges exist; prev rows are read only below prev_rows.
                    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
                    mm(
                        cuda,
                        bs,
                        p,
                        g,
                        &dgates,
                        rm(off * g, g),
                        w_hh,
                        rm(0, p),
                        0.0,
                        &mut dh,
                        rm(0, p),
                    )?;
                }
                CellKind::Gru => {
                    if let Some(go) = go {
                        add_rows(
                            cuda,
                            &go.slice(off * h..(off + bs) * h),
                            &mut dh.slice_mut(0..bs * h),
                            bs * h,
                        )?;
                    }
                    let ghn = sl::<T>(
                        op,
                        s.gh_n.as_ref().ok_or_else(|| dev_err("gh_n"))?.storage(),
                    )?;
                    let f = cuda.kernel::<T>("gru_cell_bwd")?;
                    let gv = gates.slice(off * g..);
                    let ghv = ghn.slice(off * h..);
                    let pv = prev_off.map(|o| output.slice(o * h..));
                    let mut dxv = dgates.slice_mut(off * g..);
                    let mut dghv = dgh.slice_mut(off * g..);
                    let mut l = st.launch_builder(&f);
                    l.arg(&gv).arg(&ghv);
                    arg_or_null(&mut l, pv.as_ref());
                    l.arg(&prev_rows)
                        .arg(h0)
                        .arg(&mut dh)
                        .arg(&mut dxv)
                        .arg(&mut dghv)
                        .arg(&bsi)
                        .arg(&hi);
                    // SAFETY: as above.
                    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
                    mm(
                        cuda,
                        bs,
                        h,
                        g,
                        &dgh,
                        rm(off * g, g),
                        w_hh,
                        rm(0, h),
                        1.0,
                        &mut dh,
                        rm(0, h),
                    )?;
                }
                CellKind::RnnTanh | CellKind::RnnRelu => {
                    let f = cuda.kernel::<T>("rnn_cell_bwd")?;
                    let relu = i32::from(kind == CellKind::RnnRelu);
                    let yv = output.slice(off * h..);
                    let gov = go.map(|g| g.slice(off * h..));
                    let mut dv = dgates.slice_mut(off * h..);
                    let mut l = st.launch_builder(&f);
                    l.arg(&yv).arg(&dh);
                    arg_or_null(&mut l, gov.as_ref());
                    l.arg(&mut dv).arg(&bsi).arg(&hi).arg(&relu);
                    // SAFETY: rows off..off+bs exist.
                    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
                    mm(
                        cuda,
                        bs,
                        h,
                        h,
                        &dgates,
                        rm(off * h, h),
                        w_hh,
                        rm(0, h),
                        0.0,
                        &mut dh,
                        rm(0, h),
                    )?;
                }
            }
        }
    }
    let h_prev = gather_prev(cuda, &steps, h0, output, p)?;
    let rec = if kind == CellKind::Gru { &dgh } else { &dgates };
    let mut dw_hh = cuda.zeros::<T>(g * p)?;
    mm(
        cuda,
        g,
        p,
        n,
        rec,
        rm(0, g).t(),
        &h_prev,
        rm(0, p),
        0.0,
        &mut dw_hh,
        rm(0, p),
    )?;
    let db = if s.has_bias {
        Some(tensor(cuda, vec![g], T::wrap(col_sums(cuda, rec, n, g)?))?)
    } else {
        None
    };
    let dw_hr = match (dh_all, s.hidden_pre.as_ref()) {
        (Some(all), Some(hp)) => {
            let mut dw = cuda.zeros::<T>(p * h)?;
            mm(
                cuda,
                p,
                h,
                n,
                &all,
                rm(0, p).t(),
                sl::<T>(op, hp.storage())?,
                rm(0, h),
                0.0,
                &mut dw,
                rm(0, h),
            )?;
            Some(tensor(cuda, vec![p, h], T::wrap(dw))?)
        }
        _ => None,
    };
    Ok(SeqGrads {
        x_proj: tensor(cuda, vec![n, g], T::wrap(dgates))?,
        w_hh: tensor(cuda, vec![g, p], T::wrap(dw_hh))?,
        b_hh: db,
        w_hr: dw_hr,
        h0: tensor(cuda, vec![b, p], T::wrap(dh))?,
        c0: dc
            .map(|c| tensor(cuda, vec![b, h], T::wrap(c)))
            .transpose()?,
    })
}
