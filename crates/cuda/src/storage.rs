//! Device storage (`CudaStorage`, one `CudaSlice` per dtype), the element types the kernels
//! are instantiated for, and typed borrows of a storage that name the op on a dtype mismatch.

use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};
use recur_tensor::{DType, Error, HostData, Result};

/// Device storage of one element type.
#[derive(Clone)]
pub enum CudaStorage {
    /// f32 elements.
    F32(CudaSlice<f32>),
    /// f64 elements.
    F64(CudaSlice<f64>),
}

impl std::fmt::Debug for CudaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CudaStorage::F32(s) => write!(f, "CudaStorage::F32({})", s.len()),
            CudaStorage::F64(s) => write!(f, "CudaStorage::F64({})", s.len()),
        }
    }
}

impl CudaStorage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            CudaStorage::F32(_) => DType::F32,
            CudaStorage::F64(_) => DType::F64,
        }
    }
}

/// A float the CUDA kernels are instantiated for.
pub trait DevElem:
    DeviceRepr + ValidAsZeroBits + Copy + Default + Send + Sync + std::fmt::Debug + 'static
{
    /// Kernel name suffix (`f32`, `f64`).
    const SUFFIX: &'static str;
    /// The dtype tag.
    const DTYPE: DType;
    /// From f64.
    fn of(x: f64) -> Self;
    /// Borrows a storage of this type.
    fn get(s: &CudaStorage) -> Option<&CudaSlice<Self>>;
    /// Mutably borrows a storage of this type.
    fn get_mut(s: &mut CudaStorage) -> Option<&mut CudaSlice<Self>>;
    /// Wraps a slice.
    fn wrap(s: CudaSlice<Self>) -> CudaStorage;
    /// Host data of this type.
    fn host(v: Vec<Self>) -> HostData;
}

impl DevElem for f32 {
    const SUFFIX: &'static str = "f32";
    const DTYPE: DType = DType::F32;
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn get(s: &CudaStorage) -> Option<&CudaSlice<f32>> {
        match s {
            CudaStorage::F32(v) => Some(v),
            CudaStorage::F64(_) => None,
        }
    }
    fn get_mut(s: &mut CudaStorage) -> Option<&mut CudaSlice<f32>> {
        match s {
            CudaStorage::F32(v) => Some(v),
            CudaStorage::F64(_) => None,
        }
    }
    fn wrap(s: CudaSlice<f32>) -> CudaStorage {
        CudaStorage::F32(s)
    }
    fn host(v: Vec<f32>) -> HostData {
        HostData::F32(v)
    }
}

impl DevElem for f64 {
    const SUFFIX: &'static str = "f64";
    const DTYPE: DType = DType::F64;
    fn of(x: f64) -> f64 {
        x
    }
    fn get(s: &CudaStorage) -> Option<&CudaSlice<f64>> {
        match s {
            CudaStorage::F64(v) => Some(v),
            CudaStorage::F32(_) => None,
        }
    }
    fn get_mut(s: &mut CudaStorage) -> Option<&mut CudaSlice<f64>> {
        match s {
            CudaStorage::F64(v) => Some(v),
            CudaStorage::F32(_) => None,
        }
    }
    fn wrap(s: CudaSlice<f64>) -> CudaStorage {
        CudaStorage::F64(s)
    }
    fn host(v: Vec<f64>) -> HostData {
        HostData::F64(v)
    }
}

/// Borrows `s` as a slice of `T`, or a dtype error naming `op`.
pub(crate) fn sl<'a, T: DevElem>(op: &'static str, s: &'a CudaStorage) -> Result<&'a CudaSlice<T>> {
    T::get(s).ok_or(Error::DType {
        op,
        expected: T::DTYPE,
        found: s.dtype(),
    })
}

/// Mutably borrows `s` as a slice of `T`, or a dtype error naming `op`.
pub(crate) fn sl_mut<'a, T: DevElem>(
    op: &'static str,
    s: &'a mut CudaStorage,
) -> Result<&'a mut CudaSlice<T>> {
    let found = s.dtype();
    T::get_mut(s).ok_or(Error::DType {
        op,
        expected: T::DTYPE,
        found,
    })
}

/// A device element as f64 (for host-side sums).
pub(crate) fn to_f64<T: DevElem>(v: T) -> f64 {
    match T::host(vec![v]) {
        HostData::F32(x) => x[0] as f64,
        HostData::F64(x) => x[0],
    }
}
