//! The parameter registry (PyTorch `state_dict` names, in registration order), the seeded
//! RNG and PyTorch's initialisers.

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

/// Index of a parameter in its [`ParamStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(pub usize);

/// Named parameters in registration order, as a PyTorch `state_dict`.
#[derive(Clone, Debug)]
pub struct ParamStore<B: Backend> {
    backend: B,
    dtype: DType,
    names: Vec<String>,
    values: Vec<Tensor<B>>,
}

impl<B: Backend> ParamStore<B> {
    /// An empty store whose parameters will have `dtype`.
    pub fn new(backend: &B, dtype: DType) -> Self {
        ParamStore {
            backend: backend.clone(),
            dtype,
            names: Vec::new(),
            values: Vec::new(),
        }
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
        Ok(ParamId(self.values.len() - 1))
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
    pub fn get(&self, id: ParamId) -> &Tensor<B> {
        &self.values[id.0]
    }

    /// Mutable value of a parameter (optimizers).
    pub fn get_mut(&mut self, id: ParamId) -> &mut Tensor<B> {
        &mut self.values[id.0]
    }

    /// Replaces a parameter's value; the shape and dtype must not change.
    pub fn set(&mut self, id: ParamId, value: Tensor<B>) -> Result<()> {
        let old = &self.values[id.0];
        if old.shape() != value.shape() || old.dtype() != value.dtype() {
            return Err(LayerError::Param(format!(
                "{}: expected {} {:?}, found {} {:?}",
                self.names[id.0],
                old.dtype(),
                old.shape(),
                value.dtype(),
                value.shape()
            )));
        }
        self.values[id.0] = value;
        Ok(())
    }

    /// The name of a parameter.
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id.0]
    }

    /// Looks a parameter up by name.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.names.iter().position(|n| n == name).map(ParamId)
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
        self.names
            .iter()
            .zip(&self.values)
            .enumerate()
            .map(|(i, (n, v))| (ParamId(i), n.as_str(), v))
    }

    /// The tape leaf of parameter `id`.
    pub fn var(&self, tape: &Tape<B>, id: ParamId) -> Var {
        tape.param(id.0, &self.values[id.0])
    }
}
