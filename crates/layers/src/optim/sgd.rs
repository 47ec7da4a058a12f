//! `torch.optim.SGD`: momentum, dampening, Nesterov and weight decay with PyTorch's update.

use recur_autograd::Grads;
use recur_tensor::{Backend, SgdHyper, Tensor};

use super::optimizer::{
    dense_of, entries_of, ids_of, no_leftovers, refuse_live_tape, take_tensor, Optimizer,
    StateValue,
};
use crate::{ParamStore, Result};

/// `torch.optim.SGD` hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Learning rate 0.001, no momentum, dampening or weight decay (PyTorch's defaults but
    /// for the learning rate, which `torch.optim.SGD` requires).
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

    /// `torch.optim.SGD(params, lr=lr)`: plain SGD.
    pub fn with_lr(lr: f64) -> Self {
        Sgd::new(SgdConfig {
            lr,
            ..SgdConfig::default()
        })
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()> {
        if self.bufs.len() < store.len() {
            self.bufs.resize_with(store.len(), || None);
        }
        refuse_live_tape(store)?;
        let c = self.config;
        for id in ids_of(store) {
            let i = id.index();
            let (dense, rows) = (grads.take_param(i), grads.take_rows(i));
            if dense.is_none() && rows.is_none() {
                continue;
            }
            let g = dense_of(dense, rows)?;
            let p = store.get_mut(id)?;
            let mut hyper = SgdHyper {
                lr: c.lr,
                momentum: c.momentum,
                dampening: c.dampening,
                weight_decay: c.weight_decay,
                nesterov: c.nesterov,
                first: true,
            };
            if c.momentum == 0.0 {
                p.sgd_step(&g, None, &hyper)?;
                continue;
            }
            hyper.first = self.bufs[i].is_none();
            let buf = match &mut self.bufs[i] {
                Some(b) => b,
                slot => slot.insert(p.zeros_like()?),
            };
            p.sgd_step(&g, Some(buf), &hyper)?;
        }
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, _store: &mut ParamStore<B>, lr: f64) -> Result<()> {
        self.config.lr = lr;
        Ok(())
    }

    fn export_state(&self, store: &ParamStore<B>) -> Vec<(String, StateValue<B>)> {
        store
            .iter()
            .filter_map(|(id, name, _)| {
                let b = self.bufs.get(id.index())?.as_ref()?;
                Some((
                    format!("{name}.momentum_buffer"),
                    StateValue::Tensor(b.clone()),
                ))
            })
            .collect()
    }

    fn import_state(
        &mut self,
        store: &mut ParamStore<B>,
        mut state: Vec<(String, StateValue<B>)>,
    ) -> Result<()> {
        let mut fresh = Vec::with_capacity(store.len());
        for (_, name, value) in store.iter() {
            let mut mine = entries_of(&mut state, name);
            if mine.is_empty() {
                fresh.push(None);
                continue;
            }
            fresh.push(Some(take_tensor(
                &mut mine,
                name,
                "momentum_buffer",
                value,
            )?));
            no_leftovers(&mine)?;
        }
        no_leftovers(&state)?;
        self.bufs = fresh;
        Ok(())
    }
}
