//! Optimizers with PyTorch's exact update rules: [`Adam`] and [`Sgd`].

use recur_autograd::Grads;
use recur_tensor::{AdamHyper, Backend, Tensor};

use crate::{ParamStore, Result};

/// Something that updates parameters from gradients.
pub trait Optimizer<B: Backend> {
    /// Applies one update to every parameter that has a gradient in `grads`.
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()>;
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
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

struct AdamState<B: Backend> {
    step: u64,
    m: Tensor<B>,
    v: Tensor<B>,
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
        for i in 0..store.len() {
            let Some(g) = grads.take_param(i) else {
                continue;
            };
            let id = crate::ParamId(i);
            let p = store.get_mut(id);
            let st = match &mut self.state[i] {
                Some(st) => st,
                slot => slot.insert(AdamState {
                    step: 0,
                    m: p.zeros_like()?,
                    v: p.zeros_like()?,
                }),
            };
            st.step += 1;
            let c = &self.config;
            let hyper = AdamHyper {
                lr: c.lr,
                beta1: c.beta1,
                beta2: c.beta2,
                eps: c.eps,
                weight_decay: c.weight_decay,
                step: st.step,
            };
            p.adam_step(&g, &mut st.m, &mut st.v, &hyper)?;
        }
        Ok(())
    }
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
            let Some(g) = grads.take_param(i) else {
                continue;
            };
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
