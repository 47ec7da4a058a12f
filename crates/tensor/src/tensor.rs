//! What a [`Tensor`] (a shape plus contiguous row-major storage owned by a backend; defined
//! with the `Backend` trait in `backend.rs`) does besides its ops: making, reading and
//! sharing storage.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::backend::Tensor;
use crate::{Backend, DType, Error, HostData, Result};

impl<B: Backend> fmt::Debug for Tensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tensor({}, {:?}, {})",
            self.dtype(),
            self.shape,
            self.backend.name()
        )
    }
}

impl<B: Backend> Tensor<B> {
    /// Wraps backend storage; fails when its length is not the product of `shape`.
    pub fn from_storage(backend: &B, shape: Vec<usize>, storage: B::Storage) -> Result<Self> {
        let numel: usize = shape.iter().product();
        let len = backend.len_of(&storage);
        if numel != len {
            return Err(Error::shape(
                "from_storage",
                format!("shape {shape:?} needs {numel} elements, storage has {len}"),
            ));
        }
        Ok(Tensor {
            backend: backend.clone(),
            shape,
            storage: Arc::new(storage),
        })
    }

    /// Uploads host data with the given shape.
    pub fn from_host(backend: &B, shape: &[usize], data: HostData) -> Result<Self> {
        let numel: usize = shape.iter().product();
        if numel != data.len() {
            return Err(Error::shape(
                "from_host",
                format!(
                    "shape {shape:?} needs {numel} elements, data has {}",
                    data.len()
                ),
            ));
        }
        let storage = backend.upload(data)?;
        Self::from_storage(backend, shape.to_vec(), storage)
    }

    /// A tensor of `dtype` from f64 values (rounded for f32).
    pub fn from_f64(backend: &B, shape: &[usize], values: &[f64], dtype: DType) -> Result<Self> {
        Self::from_host(backend, shape, HostData::from_f64(values, dtype))
    }

    /// A tensor of `dtype` from f32 values.
    pub fn from_f32(backend: &B, shape: &[usize], values: &[f32], dtype: DType) -> Result<Self> {
        Self::from_host(backend, shape, HostData::from_f32(values, dtype))
    }

    /// A tensor with every element equal to `value`.
    pub fn full(backend: &B, shape: &[usize], dtype: DType, value: f64) -> Result<Self> {
        let numel = shape.iter().product();
        let storage = backend.full(dtype, numel, value)?;
        Self::from_storage(backend, shape.to_vec(), storage)
    }

    /// A tensor whose values are unspecified, for an op that overwrites all of it before
    /// anyone reads it (see [`Backend::output`]); never handed to a caller unwritten.
    pub(crate) fn output(backend: &B, shape: &[usize], dtype: DType) -> Result<Self> {
        let storage = backend.output(dtype, shape.iter().product())?;
        Self::from_storage(backend, shape.to_vec(), storage)
    }

    /// A tensor of zeros.
    pub fn zeros(backend: &B, shape: &[usize], dtype: DType) -> Result<Self> {
        Self::full(backend, shape, dtype, 0.0)
    }

    /// A zero tensor with the shape, dtype and backend of `self`.
    pub fn zeros_like(&self) -> Result<Self> {
        Self::zeros(&self.backend, &self.shape, self.dtype())
    }

    /// Uploads an `ndarray` array (f64) as a tensor of `dtype`.
    pub fn from_array(backend: &B, array: &ArrayD<f64>, dtype: DType) -> Result<Self> {
        let values: Vec<f64> = array.iter().copied().collect();
        Self::from_f64(backend, array.shape(), &values, dtype)
    }

    /// Downloads the tensor as an `ndarray` array of f64.
    pub fn to_array(&self) -> Result<ArrayD<f64>> {
        let values = self.to_f64_vec()?;
        ArrayD::from_shape_vec(IxDyn(&self.shape), values)
            .map_err(|e| Error::shape("to_array", e.to_string()))
    }

    /// Copies the elements to the host.
    pub fn to_host(&self) -> Result<HostData> {
        self.backend.download(&self.storage)
    }

    /// Copies the elements to the host as f64.
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        Ok(self.to_host()?.to_f64())
    }

    /// Copies the elements to the host as f32.
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        Ok(self.to_host()?.to_f32())
    }

    /// The single element of a one-element tensor.
    pub fn scalar(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "scalar",
                format!("expected one element, found shape {:?}", self.shape),
            ));
        }
        Ok(self.to_f64_vec()?[0])
    }

    /// The backend owning the storage.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.backend.dtype_of(&self.storage)
    }

    /// The backend storage.
    pub fn storage(&self) -> &B::Storage {
        &self.storage
    }

    /// Mutable storage; copies it first if another tensor shares it.
    pub fn storage_mut(&mut self) -> &mut B::Storage {
        Arc::make_mut(&mut self.storage)
    }

    /// The same elements with another shape of equal element count (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        let numel: usize = shape.iter().product();
        if numel != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!("cannot reshape {:?} into {shape:?}", self.shape),
            ));
        }
        Ok(Tensor {
            backend: self.backend.clone(),
            shape: shape.to_vec(),
            storage: self.storage.clone(),
        })
    }

    /// A new tensor of this backend and shape holding `storage`.
    pub(crate) fn with_storage(&self, shape: Vec<usize>, storage: B::Storage) -> Self {
        Tensor {
            backend: self.backend.clone(),
            shape,
            storage: Arc::new(storage),
        }
    }
}
