//! What every optimizer shares: the [`Optimizer`] trait, the [`StateValue`]s of its saved
//! state, and the checks and conversions [`super::Adam`] and [`super::Sgd`] use.

use recur_autograd::{Grads, RowGrad};
use recur_tensor::{Backend, Tensor};

use crate::{LayerError, ParamId, ParamStore, Result};

/// One entry of an optimizer's saved state.
#[derive(Clone, Debug)]
pub enum StateValue<B: Backend> {
    /// A tensor (moments, momentum buffers), shaped as its parameter.
    Tensor(Tensor<B>),
    /// Step counters (a step count, or per-row last-update steps).
    Counters(Vec<u64>),
}

/// Something that updates parameters from gradients.
pub trait Optimizer<B: Backend> {
    /// Applies one update to every parameter that has a gradient in `grads`.
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()>;

    /// Brings every parameter fully up to date (optimizers that defer work on untouched
    /// rows do it here). Call before evaluating, saving or reading parameters.
    fn sync(&mut self, _store: &mut ParamStore<B>) -> Result<()> {
        Ok(())
    }

    /// [`Optimizer::sync`] in pieces, asking `stop` between them: `Ok(false)` when it
    /// stopped early (what was brought up to date stays so; a later sync finishes the rest
    /// exactly), `Ok(true)` when every parameter is current.
    fn sync_until(&mut self, store: &mut ParamStore<B>, _stop: &dyn Fn() -> bool) -> Result<bool> {
        self.sync(store).map(|()| true)
    }

    /// Brings rows `rows` of every parameter with deferred rows up to date: call it with a
    /// batch's token ids before its forward pass when the optimizer defers rows
    /// ([`crate::AdamConfig::lazy_rows`]); an embedding refuses to read rows left behind.
    fn prepare_rows(&mut self, _store: &mut ParamStore<B>, _rows: &[usize]) -> Result<()> {
        Ok(())
    }

    /// The learning rate of the next step.
    fn lr(&self) -> f64;

    /// Sets the learning rate of the next steps (schedules call this before each step).
    /// Deferred work is brought up to date first, so that it is done at the rate in force
    /// when it was due.
    fn set_lr(&mut self, store: &mut ParamStore<B>, lr: f64) -> Result<()>;

    /// The state a later run needs to continue bit-identically, keyed
    /// `{parameter name}.{entry}`.
    fn export_state(&self, store: &ParamStore<B>) -> Vec<(String, StateValue<B>)>;

    /// Replaces the state with one [`Optimizer::export_state`] wrote for a store with the
    /// same parameters; a missing, unknown or mis-shaped entry is an error naming it.
    fn import_state(
        &mut self,
        store: &mut ParamStore<B>,
        state: Vec<(String, StateValue<B>)>,
    ) -> Result<()>;
}

/// Refuses an update while a tape that read `store` is alive: the tape shares the
/// parameters' storage, so updating them would silently copy every one.
pub(super) fn refuse_live_tape<B: Backend>(store: &ParamStore<B>) -> Result<()> {
    if store.read_by_live_tape() {
        return Err(LayerError::Param(
            "cannot be updated while a Tape that read them is alive (it shares their storage, \
             so the step would copy every parameter): drop the tape after backward, before \
             the optimizer step"
                .into(),
        ));
    }
    Ok(())
}

/// The ids of `store`'s parameters in registration order.
pub(super) fn ids_of<B: Backend>(store: &ParamStore<B>) -> Vec<ParamId> {
    store.iter().map(|(id, _, _)| id).collect()
}

/// Takes the entries of `state` that belong to `name` (`{name}.{key}` → `key`).
pub(super) fn entries_of<B: Backend>(
    state: &mut Vec<(String, StateValue<B>)>,
    name: &str,
) -> Vec<(String, StateValue<B>)> {
    let prefix = format!("{name}.");
    let mut mine = Vec::new();
    let mut i = 0;
    while i < state.len() {
        if let Some(key) = state[i].0.strip_prefix(&prefix) {
            let key = key.to_string();
            mine.push((key, state.remove(i).1));
        } else {
            i += 1;
        }
    }
    mine
}

pub(super) fn state_err(detail: String) -> LayerError {
    LayerError::Param(format!("optimizer state: {detail}"))
}

/// The tensor entry `key` of parameter `name`, shaped as `like`.
pub(super) fn take_tensor<B: Backend>(
    entries: &mut Vec<(String, StateValue<B>)>,
    name: &str,
    key: &str,
    like: &Tensor<B>,
) -> Result<Tensor<B>> {
    let at = entries
        .iter()
        .position(|(k, _)| k == key)
        .ok_or_else(|| state_err(format!("{name}.{key} is missing")))?;
    match entries.remove(at).1 {
        StateValue::Tensor(t) if t.shape() == like.shape() && t.dtype() == like.dtype() => Ok(t),
        StateValue::Tensor(t) => Err(state_err(format!(
            "{name}.{key} is {} {:?}, the parameter is {} {:?}",
            t.dtype(),
            t.shape(),
            like.dtype(),
            like.shape()
        ))),
        StateValue::Counters(_) => Err(state_err(format!("{name}.{key} should be a tensor"))),
    }
}

/// The counter entry `key` of parameter `name`, if present.
pub(super) fn take_counters<B: Backend>(
    entries: &mut Vec<(String, StateValue<B>)>,
    name: &str,
    key: &str,
) -> Result<Option<Vec<u64>>> {
    let Some(at) = entries.iter().position(|(k, _)| k == key) else {
        return Ok(None);
    };
    match entries.remove(at).1 {
        StateValue::Counters(c) => Ok(Some(c)),
        StateValue::Tensor(_) => Err(state_err(format!("{name}.{key} should be counters"))),
    }
}

/// Refuses entries left over after an import (names that are not parameters, or keys that
/// are not the optimizer's).
pub(super) fn no_leftovers<B: Backend>(state: &[(String, StateValue<B>)]) -> Result<()> {
    match state.first() {
        None => Ok(()),
        Some((k, _)) => Err(state_err(format!(
            "unexpected entry {k} ({} in all)",
            state.len()
        ))),
    }
}

/// A dense gradient from a dense part, a row-sparse part, or both.
pub(super) fn dense_of<B: Backend>(
    dense: Option<Tensor<B>>,
    rows: Option<RowGrad<B>>,
) -> Result<Tensor<B>> {
    Ok(match (dense, rows) {
        (Some(mut d), Some(r)) => {
            d.axpy(1.0, &r.to_dense()?)?;
            d
        }
        (Some(d), None) => d,
        (None, Some(r)) => r.to_dense()?,
        (None, None) => return Err(LayerError::Param("has no gradient to apply".into())),
    })
}
