//! Optimizers with PyTorch's exact update rules: [`Adam`] and [`Sgd`].

use recur_autograd::{Grads, RowGrad};
use recur_tensor::{AdamHyper, Backend, Tensor};

use crate::{ParamStore, Result};

/// Something that updates parameters from gradients.
pub trait Optimizer<B: Backend> {
    /// Applies one update to every parameter that has a gradient in `grads`.
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()>;

    /// Brings every parameter fully up to date (optimizers that defer work on untouched
    /// rows do it here). Call before evaluating, saving or reading parameters.
    fn sync(&mut self, _store: &mut ParamStore<B>) -> Result<()> {
        Ok(())
    }
}

/// `torch.optim.Adam` hyper-parameters (defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to `sqrt(v̂)`.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Row-sparse gradients (embeddings) use PyTorch's `SparseAdam` (lazy: untouched rows
    /// and their moments do not move, eps is added to `√v`). This changes the maths; the
    /// default (false) is exact dense Adam, computed by catch-up.
    pub sparse_rows: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            sparse_rows: false,
        }
    }
}

struct AdamState<B: Backend> {
    step: u64,
    m: Tensor<B>,
    v: Tensor<B>,
    /// For row-sparse gradients: the step each row was last brought up to.
    last: Option<Vec<u64>>,
}

impl<B: Backend> AdamState<B> {
    /// Replays the pending zero-gradient steps of every stale row up to `upto` (inclusive).
    fn sync_rows(&mut self, p: &mut Tensor<B>, config: &AdamConfig, upto: u64) -> Result<()> {
        let Some(last) = self.last.as_mut() else {
            return Ok(());
        };
        let stale: Vec<usize> = (0..last.len()).filter(|&r| last[r] < upto).collect();
        if stale.is_empty() || upto == 0 {
            return Ok(());
        }
        let cols = p.shape()[1];
        let zeros = Tensor::zeros(p.backend(), &[stale.len(), cols], p.dtype())?;
        p.adam_rows_catch_up(
            &zeros,
            &mut self.m,
            &mut self.v,
            &stale,
            last,
            &config.hyper(upto),
        )?;
        Ok(())
    }
}

impl AdamConfig {
    fn hyper(&self, step: u64) -> AdamHyper {
        AdamHyper {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            step,
        }
    }
}

/// Adam, PyTorch semantics: per parameter `t += 1`; `m = β1 m + (1−β1) g`;
/// `v = β2 v + (1−β2) g²`; `p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps)`. Parameters without
/// a gradient are skipped (their step count does not advance), as in PyTorch.
pub struct Adam<B: Backend> {
    /// Hyper-parameters.
    pub config: AdamConfig,
    state: Vec<Option<AdamState<B>>>,
}

impl<B: Backend> Adam<B> {
    /// A fresh optimizer.
    pub fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            state: Vec::new(),
        }
    }
}

impl<B: Backend> Optimizer<B> for Adam<B> {
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()> {
        if self.state.len() < store.len() {
            self.state.resize_with(store.len(), || None);
        }
        let config = self.config;
        for i in 0..store.len() {
            let dense = grads.take_param(i);
            let rows = grads.take_rows(i);
            if dense.is_none() && rows.is_none() {
                continue;
            }
            let p = store.get_mut(crate::ParamId(i));
            let st = match &mut self.state[i] {
                Some(st) => st,
                slot => slot.insert(AdamState {
                    step: 0,
                    m: p.zeros_like()?,
                    v: p.zeros_like()?,
                    last: None,
                }),
            };
            st.step += 1;
            match (dense, rows) {
                (None, Some(rg)) if p.rank() == 2 && config.sparse_rows => {
                    p.sparse_adam_rows(
                        &rg.values,
                        &mut st.m,
                        &mut st.v,
                        &rg.rows,
                        &config.hyper(st.step),
                    )?;
                }
                (None, Some(rg)) if p.rank() == 2 => {
                    // Exact "catch-up" Adam: only the touched rows move now; every other row
                    // replays its zero-gradient steps when next touched or at sync().
                    let last = st.last.get_or_insert_with(|| vec![0; p.shape()[0]]);
                    p.adam_rows_catch_up(
                        &rg.values,
                        &mut st.m,
                        &mut st.v,
                        &rg.rows,
                        last,
                        &config.hyper(st.step),
                    )?;
                }
                (dense, rows) => {
                    let g = dense_of(dense, rows)?;
                    st.sync_rows(p, &config, st.step - 1)?;
                    st.last = None;
                    p.adam_step(&g, &mut st.m, &mut st.v, &config.hyper(st.step))?;
                }
            }
        }
        Ok(())
    }

    fn sync(&mut self, store: &mut ParamStore<B>) -> Result<()> {
        let config = self.config;
        for (i, st) in self.state.iter_mut().enumerate() {
            if let Some(st) = st {
                let step = st.step;
                st.sync_rows(store.get_mut(crate::ParamId(i)), &config, step)?;
            }
        }
        Ok(())
    }
}

/// A dense gradient from a dense part, a row-sparse part, or both.
fn dense_of<B: Backend>(dense: Option<Tensor<B>>, rows: Option<RowGrad<B>>) -> Result<Tensor<B>> {
    Ok(match (dense, rows) {
        (Some(mut d), Some(r)) => {
            d.axpy(1.0, &r.to_dense()?)?;
            d
        }
        (Some(d), None) => d,
        (None, Some(r)) => r.to_dense()?,
        (None, None) => return Err(crate::LayerError::Param("has no gradient to apply".into())),
    })
}

/// `torch.optim.SGD` hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 = plain SGD).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

/// SGD with optional momentum, PyTorch semantics (the first step seeds the buffer with the
/// gradient).
pub struct Sgd<B: Backend> {
    /// Hyper-parameters.
    pub config: SgdConfig,
    bufs: Vec<Option<Tensor<B>>>,
}

impl<B: Backend> Sgd<B> {
    /// A fresh optimizer.
    pub fn new(config: SgdConfig) -> Self {
        Sgd {
            config,
            bufs: Vec::new(),
        }
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()> {
        if self.bufs.len() < store.len() {
            self.bufs.resize_with(store.len(), || None);
        }
        let c = self.config;
        for i in 0..store.len() {
            let (dense, rows) = (grads.take_param(i), grads.take_rows(i));
            if dense.is_none() && rows.is_none() {
                continue;
            }
            let g = dense_of(dense, rows)?;
            let p = store.get_mut(crate::ParamId(i));
            if c.momentum == 0.0 {
                p.sgd_step(
                    &g,
                    None,
                    c.lr,
                    0.0,
                    c.dampening,
                    c.weight_decay,
                    c.nesterov,
                    true,
                )?;
                continue;
            }
            let first = self.bufs[i].is_none();
            let buf = match &mut self.bufs[i] {
                Some(b) => b,
                slot => slot.insert(p.zeros_like()?),
            };
            p.sgd_step(
                &g,
                Some(buf),
                c.lr,
                c.momentum,
                c.dampening,
                c.weight_decay,
                c.nesterov,
                first,
            )?;
        }
        Ok(())
    }
}
