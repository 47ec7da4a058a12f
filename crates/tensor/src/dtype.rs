//! Element types and host-side buffers used to move data in and out of a backend.

use std::fmt;

/// The element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float: training and inference.
    F32,
    /// 64-bit float: exact tests against PyTorch goldens and finite differences.
    F64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        })
    }
}

/// A host-side buffer of one element type, the unit of host ↔ device transfer.
#[derive(Clone, Debug, PartialEq)]
pub enum HostData {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
}

impl HostData {
    /// The element type of the buffer.
    pub fn dtype(&self) -> DType {
        match self {
            HostData::F32(_) => DType::F32,
            HostData::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            HostData::F32(v) => v.len(),
            HostData::F64(v) => v.len(),
        }
    }

    /// True when the buffer has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts `values` to `dtype` (f64 → f32 rounds to nearest).
    pub fn from_f64(values: &[f64], dtype: DType) -> HostData {
        match dtype {
            DType::F32 => HostData::F32(values.iter().map(|&x| x as f32).collect()),
            DType::F64 => HostData::F64(values.to_vec()),
        }
    }

    /// Converts `values` to `dtype`.
    pub fn from_f32(values: &[f32], dtype: DType) -> HostData {
        match dtype {
            DType::F32 => HostData::F32(values.to_vec()),
            DType::F64 => HostData::F64(values.iter().map(|&x| x as f64).collect()),
        }
    }

    /// The elements widened to f64.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            HostData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            HostData::F64(v) => v.clone(),
        }
    }

    /// The elements as f32 (f64 rounds to nearest).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            HostData::F32(v) => v.clone(),
            HostData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}
