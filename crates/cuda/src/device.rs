//! Opening the GPU (without crashing where there is none), compiling `kernels/recur.cu` with
//! NVRTC at first use, and launching kernels by name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream, LaunchConfig};
use recur_tensor::{Error, Result};

/// The kernel source, embedded so the binary needs no file at run time.
pub const KERNELS: &str = include_str!("../kernels/recur.cu");

/// A device error as a tensor error.
pub fn dev_err(e: impl std::fmt::Display) -> Error {
    Error::Device {
        backend: "cuda",
        detail: e.to_string(),
    }
}

/// Everything one GPU needs: context, stream, cuBLAS handle, compiled kernels.
pub struct Device {
    /// The CUDA context.
    pub ctx: Arc<CudaContext>,
    /// The stream every op runs on (in order).
    pub stream: Arc<CudaStream>,
    /// cuBLAS bound to `stream`.
    pub blas: CudaBlas,
    module: Arc<CudaModule>,
    functions: Mutex<HashMap<String, CudaFunction>>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cuda:{}", self.ctx.ordinal())
    }
}

/// Runs `f`, turning a panic (cudarc panics when the CUDA library cannot be loaded) into an
/// error, without printing the panic.
fn guarded<T>(what: &str, f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let msg = msg
            .split(" - searched")
            .next()
            .unwrap_or_default()
            .to_string();
        dev_err(format!(
            "{what}: no usable CUDA installation ({msg}); the CUDA backend needs an \
            NVIDIA GPU with driver 580+ (CUDA 13.0)"
        ))
    })
}

impl Device {
    /// Opens GPU `ordinal` and compiles the kernels (NVRTC, `compute_80` PTX that the driver
    /// JIT-compiles for the device).
    pub fn open(ordinal: usize) -> Result<Device> {
        let ctx = guarded("opening the GPU", move || CudaContext::new(ordinal))?
            .map_err(|e| dev_err(format!("opening GPU {ordinal}: {e}")))?;
        let stream = ctx.default_stream();
        let blas = guarded("loading cuBLAS", {
            let s = stream.clone();
            move || CudaBlas::new(s)
        })?
        .map_err(dev_err)?;
        check_nvrtc_not_newer_than_driver()?;
        let ptx = compile_kernels()?;
        let module = ctx.load_module(ptx).map_err(dev_err)?;
        Ok(Device {
            ctx,
            stream,
            blas,
            module,
            functions: Mutex::new(HashMap::new()),
        })
    }

    /// The kernel `name` (cached).
    pub fn function(&self, name: &str) -> Result<CudaFunction> {
        let mut cache = self
            .functions
            .lock()
            .map_err(|_| dev_err("kernel cache poisoned"))?;
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        let f = self
            .module
            .load_function(name)
            .map_err(|e| dev_err(format!("kernel {name}: {e}")))?;
        cache.insert(name.to_string(), f.clone());
        Ok(f)
    }
}

/// Compiles [`KERNELS`] with NVRTC to `compute_80` PTX (needs NVRTC, not a GPU).
pub fn compile_kernels() -> Result<cudarc::nvrtc::Ptx> {
    let opts = cudarc::nvrtc::CompileOptions {
        arch: Some("compute_80"),
        ..Default::default()
    };
    guarded("loading NVRTC", || {
        cudarc::nvrtc::compile_ptx_with_opts(KERNELS, opts)
    })?
    .map_err(|e| dev_err(format!("compiling kernels/recur.cu: {e}")))
}

/// NVRTC emits PTX of its own CUDA version, and a driver cannot JIT PTX newer than itself
/// (CUDA 13.2's NVRTC on a 13.0 driver fails at module load). Says so, with the fix, before
/// compiling.
fn check_nvrtc_not_newer_than_driver() -> Result<()> {
    let mut driver = 0i32;
    // SAFETY: writes one int; the driver library is loaded (a context exists).
    let ok = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut driver) };
    if ok != cudarc::driver::sys::CUresult::CUDA_SUCCESS {
        return Err(dev_err(format!(
            "asking the driver for its CUDA version: {ok:?}"
        )));
    }
    let (major, minor) = guarded("loading NVRTC", || {
        let (mut major, mut minor) = (0i32, 0i32);
        // SAFETY: writes two ints.
        unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        (major, minor)
    })?;
    let (dmaj, dmin) = (driver / 1000, driver % 1000 / 10);
    if (major, minor) > (dmaj, dmin) {
        return Err(dev_err(format!(
            "the NVRTC found (CUDA {major}.{minor}) is newer than the driver (CUDA {dmaj}.{dmin}), \
             which cannot load its PTX; put the libnvrtc of a CUDA toolkit no newer than \
             {dmaj}.{dmin} first on LD_LIBRARY_PATH (for example /usr/local/cuda/lib64)"
        )));
    }
    Ok(())
}

/// A grid-stride launch over `n` elements.
pub fn grid(n: usize) -> LaunchConfig {
    let threads = 256u32;
    let blocks = n.div_ceil(threads as usize).clamp(1, 65_535) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    }
}
