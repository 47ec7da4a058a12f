//! The fused recurrent kernels allocate nothing per time step: with a counting allocator,
//! a forward + backward pass over 30 steps and over 60 steps make the same number of
//! allocations (the per-call buffers only, up to a few of rayon's), for every cell kind,
//! padded and packed, on one thread and as two halves of the batch on two threads (the
//! scan cells' passes too).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use recur_cpu::Cpu;
use recur_tensor::{
    seq_backward, seq_forward, CellKind, CellSpec, DType, Recurrence, SeqInputs, Tensor,
};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn t(shape: &[usize]) -> Tensor<Cpu> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
        .collect();
    Tensor::from_f32(&Cpu, shape, &v, DType::F32).unwrap()
}

/// Allocations made by one forward + backward over `steps` steps.
fn allocations(kind: CellKind, steps: usize, packed: bool, reverse: bool, big: bool) -> usize {
    let scan = kind.recurrence() == Recurrence::Scan;
    // The big size runs its rows as two halves on two threads (a scan's steps are cheaper:
    // it needs wider rows to split).
    let (b, h) = match (big, scan) {
        (true, false) => (48, 96),
        (true, true) => (48, 1024),
        (false, _) => (4, 8),
    };
    let batch_sizes: Vec<usize> = (0..steps)
        .map(|s| {
            if packed {
                (b - s * b / steps).max(1)
            } else {
                b
            }
        })
        .collect();
    let n: usize = batch_sizes.iter().sum();
    let x = t(&[n, kind.gates() * h]);
    let gout = t(&[n, h]);
    let cell = CellSpec::new(kind, h, true);
    let params: Vec<_> = cell
        .recurrent_params()
        .iter()
        .map(|s| t(&s.shape))
        .collect();
    let state0: Vec<_> = kind.states().iter().map(|_| t(&[b, h])).collect();
    let inputs = SeqInputs {
        cell,
        x_proj: &x,
        params: &params,
        state0: &state0,
        batch_sizes: &batch_sizes,
        reverse,
        concurrent: false,
    };
    let work = if scan { 12 * h } else { kind.gates() * h * h };
    let split = recur_cpu::kernels::steps::Steps::new(&batch_sizes, reverse).split_for(work);
    assert_eq!(split < b, big, "the big size (only) must split");
    let before = ALLOCS.load(Ordering::SeqCst);
    let out = seq_forward(&Cpu, &inputs).unwrap();
    let grads = seq_backward(&Cpu, &out.saved, Some(&gout), &[]).unwrap();
    let after = ALLOCS.load(Ordering::SeqCst);
    drop((out, grads));
    after - before
}

#[test]
fn no_allocation_per_time_step() {
    // One-time set-up is not per step: rayon's workers (started in the background, so wait
    // for each of them to run) and CPU feature detection.
    rayon::broadcast(|_| ());
    allocations(CellKind::Lstm, 5, false, false, true);
    for kind in [
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::RnnTanh,
        CellKind::MinGru,
        CellKind::MinLstm,
    ] {
        for packed in [false, true] {
            for (reverse, big) in [(false, false), (true, false), (false, true), (true, true)] {
                let short = allocations(kind, 30, packed, reverse, big);
                let long = allocations(kind, 60, packed, reverse, big);
                // 30 more steps would add at least 30 allocations if any step allocated; a few
                // come and go with rayon's bookkeeping when work is stolen.
                assert!(
                    long <= short + 4,
                    "{kind:?} packed={packed} reverse={reverse} big={big}: \
                    {short} allocations for 30 steps, {long} for 60"
                );
            }
        }
    }
}
