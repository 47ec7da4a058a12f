//! The parameter registry (PyTorch `state_dict` names, in registration order), the seeded
//! RNG and PyTorch's initialisers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rand::{Rng as _, SeedableRng};
use rand_distr::StandardNormal;
use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, DType, Tensor};

use crate::{LayerError, Result};

/// The random generator every initialisation and shuffle draws from (fixed algorithm:
/// ChaCha8, so a seed means the same numbers on every machine and version).
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator seeded with `seed`.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// The most parameters (elements) one model may have: 2^31, 8 GiB of f32. A config
/// asking for more is refused before anything is allocated.
pub const MAX_PARAMS: usize = 1 << 31;

/// The most stacked recurrent layers a model may have.
pub const MAX_LAYERS: usize = 256;

/// The elements of parameters of `shapes` (`None`: the count overflows).
pub fn param_count(shapes: &[(String, Vec<usize>)]) -> Option<usize> {
    shapes.iter().try_fold(0usize, |total, (_, shape)| {
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        total.checked_add(n)
    })
}

/// Refuses a model of `shapes` over [`MAX_PARAMS`], naming its largest parameter.
pub fn check_param_count(what: &str, shapes: &[(String, Vec<usize>)]) -> crate::Result<()> {
    let total = param_count(shapes);
    if total.is_some_and(|n| n <= MAX_PARAMS) {
        return Ok(());
    }
    let largest = shapes
        .iter()
        .max_by_key(|(_, s)| s.iter().fold(1u128, |a, &d| a.saturating_mul(d as u128)));
    Err(crate::LayerError::Config(format!(
        "the {what} would have {} parameters, over the limit of {MAX_PARAMS}{}",
        total.map_or("more than 2^64".to_string(), |n| n.to_string()),
        largest.map_or(String::new(), |(n, s)| format!(" (the largest: {n} {s:?})"))
    )))
}

/// A parameter of one [`ParamStore`] (and of its clones): handing it to another store is an
/// error naming the parameter, never another parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId {
    store: u32,
    index: usize,
}

impl ParamId {
    /// Position of the parameter in registration order (its key in [`recur_autograd::Grads`]).
    pub fn index(self) -> usize {
        self.index
    }
}

/// A store error as the error of layer `layer`.
fn in_layer(e: LayerError, layer: &str) -> LayerError {
    match e {
        LayerError::Param(detail) => LayerError::Store {
            layer: layer.to_string(),
            detail: format!("parameter {detail}"),
        },
        other => other,
    }
}

/// Ids of stores, so that a [`ParamId`] can tell which store made it.
static NEXT_STORE: AtomicU32 = AtomicU32::new(1);

/// Which rows of a `[R, C]` parameter an optimizer has left behind: row `r` has had every
/// update up to step `last[r]`, and is current when that is `now` (Adam's lazy "catch-up"
/// rows; see [`crate::AdamConfig::lazy_rows`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowClock {
    /// Last step applied to each row.
    pub last: Vec<u64>,
    /// The step every row is at once brought up to date.
    pub now: u64,
}

impl RowClock {
    /// The rows among `rows` that are behind `now`, each once, ascending.
    pub fn behind(&self, rows: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| self.last.get(r).is_some_and(|&l| l < self.now))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Named parameters in registration order, as a PyTorch `state_dict`.
///
/// The store knows which tapes read it (so an optimizer step while one is alive is refused:
/// it would copy every parameter) and which rows an optimizer has left behind (so reading
/// or saving them is refused instead of silently using stale values).
#[derive(Debug)]
pub struct ParamStore<B: Backend> {
    id: u32,
    backend: B,
    dtype: DType,
    names: Vec<String>,
    values: Vec<Tensor<B>>,
    clocks: Vec<Option<RowClock>>,
    /// Held by every tape that read a parameter: more than one holder = a live tape.
    lease: Arc<()>,
}

impl<B: Backend> Clone for ParamStore<B> {
    /// The same parameters (sharing storage until written); the clone's [`ParamId`]s are the
    /// original's, and tapes reading the original do not count as reading the clone.
    fn clone(&self) -> Self {
        ParamStore {
            id: self.id,
            backend: self.backend.clone(),
            dtype: self.dtype,
            names: self.names.clone(),
            values: self.values.clone(),
            clocks: self.clocks.clone(),
            lease: Arc::new(()),
        }
    }
}

impl<B: Backend> ParamStore<B> {
    /// An empty store whose parameters will have `dtype`.
    pub fn new(backend: &B, dtype: DType) -> Self {
        ParamStore {
            id: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            backend: backend.clone(),
            dtype,
            names: Vec::new(),
            values: Vec::new(),
            clocks: Vec::new(),
            lease: Arc::new(()),
        }
    }

    /// Checks that `id` is one of this store's parameters.
    fn check(&self, id: ParamId) -> Result<usize> {
        if id.store != self.id || id.index >= self.values.len() {
            return Err(LayerError::Param(format!(
                "#{} belongs to another ParamStore (store #{}, this is store #{}): run a layer \
                 with the store it was built with",
                id.index, id.store, self.id
            )));
        }
        Ok(id.index)
    }

    /// The id of the parameter at `index` (registration order).
    pub fn id_at(&self, index: usize) -> Option<ParamId> {
        (index < self.values.len()).then_some(ParamId {
            store: self.id,
            index,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Element type of the parameters.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Registers `value` under `name` (names are unique).
    pub fn add(&mut self, name: &str, value: Tensor<B>) -> Result<ParamId> {
        if self.names.iter().any(|n| n == name) {
            return Err(LayerError::Param(format!("{name} registered twice")));
        }
        self.names.push(name.to_string());
        self.values.push(value);
        self.clocks.push(None);
        Ok(ParamId {
            store: self.id,
            index: self.values.len() - 1,
        })
    }

    /// Registers a parameter of `shape` from f64 values.
    pub fn add_f64(&mut self, name: &str, shape: &[usize], values: &[f64]) -> Result<ParamId> {
        let t = Tensor::from_f64(&self.backend, shape, values, self.dtype)?;
        self.add(name, t)
    }

    /// Registers a parameter drawn from `U(-bound, bound)`.
    pub fn add_uniform(
        &mut self,
        name: &str,
        shape: &[usize],
        bound: f64,
        rng: &mut Rng,
    ) -> Result<ParamId> {
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n)
            .map(|_| (rng.gen::<f64>() * 2.0 - 1.0) * bound)
            .collect();
        self.add_f64(name, shape, &values)
    }

    /// Registers a parameter drawn from `N(0, 1) + shift`.
    pub fn add_normal(
        &mut self,
        name: &str,
        shape: &[usize],
        shift: f64,
        rng: &mut Rng,
    ) -> Result<ParamId> {
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n)
            .map(|_| rng.sample::<f64, _>(StandardNormal) + shift)
            .collect();
        self.add_f64(name, shape, &values)
    }

    /// The value of a parameter.
    pub fn get(&self, id: ParamId) -> Result<&Tensor<B>> {
        let i = self.check(id)?;
        Ok(&self.values[i])
    }

    /// Mutable value of a parameter (optimizers).
    pub fn get_mut(&mut self, id: ParamId) -> Result<&mut Tensor<B>> {
        let i = self.check(id)?;
        Ok(&mut self.values[i])
    }

    /// A parameter's value and its row clock, both mutable (optimizers with lazy rows).
    pub fn get_with_clock_mut(
        &mut self,
        id: ParamId,
    ) -> Result<(&mut Tensor<B>, &mut Option<RowClock>)> {
        let i = self.check(id)?;
        Ok((&mut self.values[i], &mut self.clocks[i]))
    }

    /// Which rows of a parameter an optimizer has left behind (`None`: all are current).
    pub fn clock(&self, id: ParamId) -> Result<Option<&RowClock>> {
        let i = self.check(id)?;
        Ok(self.clocks[i].as_ref())
    }

    /// Names of the parameters that have rows an optimizer has not brought up to date.
    pub fn behind(&self) -> Vec<&str> {
        self.names
            .iter()
            .zip(&self.clocks)
            .filter(|(_, c)| {
                c.as_ref()
                    .is_some_and(|c| c.last.iter().any(|&l| l < c.now))
            })
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// True while a [`Tape`] that read a parameter of this store is alive.
    pub fn read_by_live_tape(&self) -> bool {
        Arc::strong_count(&self.lease) > 1
    }

    /// Replaces a parameter's value; the shape and dtype must not change. The new value
    /// counts as up to date (any rows an optimizer had left behind are forgotten).
    pub fn set(&mut self, id: ParamId, value: Tensor<B>) -> Result<()> {
        let i = self.check(id)?;
        let old = &self.values[i];
        if old.shape() != value.shape() || old.dtype() != value.dtype() {
            return Err(LayerError::Param(format!(
                "{}: expected {} {:?}, found {} {:?}",
                self.names[i],
                old.dtype(),
                old.shape(),
                value.dtype(),
                value.shape()
            )));
        }
        self.values[i] = value;
        self.clocks[i] = None;
        Ok(())
    }

    /// The name of a parameter.
    pub fn name(&self, id: ParamId) -> Result<&str> {
        let i = self.check(id)?;
        Ok(&self.names[i])
    }

    /// Looks a parameter up by name.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        let index = self.names.iter().position(|n| n == name)?;
        self.id_at(index)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no parameter is registered.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `(id, name, value)` in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &str, &Tensor<B>)> {
        let store = self.id;
        self.names
            .iter()
            .zip(&self.values)
            .enumerate()
            .map(move |(index, (n, v))| (ParamId { store, index }, n.as_str(), v))
    }

    /// The tape leaf of parameter `id`; the tape holds this store's lease until dropped.
    pub fn var(&self, tape: &Tape<B>, id: ParamId) -> Result<Var> {
        let i = self.check(id)?;
        tape.hold(&self.lease);
        Ok(tape.param(i, &self.values[i]))
    }

    /// [`ParamStore::var`] for layer `layer`, whose name the error carries.
    pub(crate) fn var_of(&self, tape: &Tape<B>, id: ParamId, layer: &str) -> Result<Var> {
        self.var(tape, id).map_err(|e| in_layer(e, layer))
    }

    /// [`ParamStore::get`] for layer `layer`, whose name the error carries.
    pub(crate) fn get_of(&self, id: ParamId, layer: &str) -> Result<&Tensor<B>> {
        self.get(id).map_err(|e| in_layer(e, layer))
    }
}
