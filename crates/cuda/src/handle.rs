//! [`Cuda`]: the backend's handle (one GPU, one stream) and what every launch uses — the
//! dtype `dispatch!` and the grid-stride `launch!` macros.

use std::sync::Arc;

use cudarc::driver::CudaSlice;
use recur_tensor::{Result, Tensor};

use crate::device::{dev_err, Device};
use crate::storage::DevElem;

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            recur_tensor::DType::F32 => {
                type $T = f32;
                $body
            }
            recur_tensor::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// Launches kernel `$name` (for element type `$T`) on `$cuda` over `$n` elements with `args`.
/// SAFETY of every use: the `Backend` method leading to it first checked each buffer against
/// `$n` and the shapes (`recur_tensor::check`), so the kernel's grid-stride loop stays in
/// bounds.
macro_rules! launch {
    ($cuda:expr, $T:ty, $name:expr, $n:expr, [$($arg:expr),* $(,)?]) => {{
        use cudarc::driver::PushKernelArg as _;
        let f = $cuda.kernel::<$T>($name)?;
        let mut l = $cuda.stream().launch_builder(&f);
        $( l.arg($arg); )*
        // SAFETY: see the macro's doc comment.
        unsafe { l.launch($crate::device::grid($n)) }.map(|_| ()).map_err($crate::device::dev_err)
    }};
}
pub(crate) use launch;

/// The CUDA backend (one GPU, one stream).
#[derive(Clone)]
pub struct Cuda {
    pub(crate) dev: Arc<Device>,
}

impl std::fmt::Debug for Cuda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cuda({:?})", self.dev)
    }
}

/// A tensor on the GPU.
pub type CudaTensor = Tensor<Cuda>;

impl Cuda {
    /// Opens GPU `ordinal`; a machine without a usable GPU gets an error saying so.
    pub fn new(ordinal: usize) -> Result<Cuda> {
        Ok(Cuda {
            dev: Arc::new(Device::open(ordinal)?),
        })
    }

    /// Waits for all queued work.
    pub fn synchronize(&self) -> Result<()> {
        self.dev.stream.synchronize().map_err(dev_err)
    }

    /// `[n]` zeros of `T` on the device.
    pub(crate) fn zeros<T: DevElem>(&self, n: usize) -> Result<CudaSlice<T>> {
        self.dev.stream.alloc_zeros::<T>(n).map_err(dev_err)
    }

    /// Indices as `i64` on the device (one zero when empty: CUDA has no empty buffers).
    pub(crate) fn upload_idx(&self, idx: &[usize]) -> Result<CudaSlice<i64>> {
        let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        if v.is_empty() {
            return self.dev.stream.alloc_zeros::<i64>(1).map_err(dev_err);
        }
        self.dev.stream.memcpy_stod(&v).map_err(dev_err)
    }

    /// Kernel `<name>_<f32|f64>` of `recur.cu`.
    pub(crate) fn kernel<T: DevElem>(&self, name: &str) -> Result<cudarc::driver::CudaFunction> {
        self.dev.function(&format!("{name}_{}", T::SUFFIX))
    }

    /// The stream every op runs on.
    pub(crate) fn stream(&self) -> &Arc<cudarc::driver::CudaStream> {
        &self.dev.stream
    }
}
