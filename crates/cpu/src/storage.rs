//! Host storage (`CpuStorage`, one `Vec` per dtype); dropped buffers go back to the
//! recycler in `pool.rs`.

use recur_tensor::DType;

use crate::pool;

/// Contiguous host storage of one element type.
#[derive(Clone, Debug, PartialEq)]
pub enum CpuStorage {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
}

impl CpuStorage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F64(v) => v.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for CpuStorage {
    /// Large buffers go back to the recycler (`pool.rs`) for the next step's tensors.
    fn drop(&mut self) {
        match self {
            CpuStorage::F32(v) => pool::F32.give_back(std::mem::take(v)),
            CpuStorage::F64(v) => pool::F64.give_back(std::mem::take(v)),
        }
    }
}
