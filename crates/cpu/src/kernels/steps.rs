//! Step bookkeeping of the fused recurrent kernels: the shared step layout plus the CPU's
//! own choice of splitting a pass's rows over two threads, and the gradients they return.

use recur_tensor::StepLayout;

/// What backward through time gives for one layer and direction: the gradients of the
/// input projections `x_proj [N, G·H]`, the recurrent weight `w_hh [G·H, H_out]`, its bias
/// `[G·H]`, the projection `w_hr [P, H]` (LSTM with projection only), and the initial states
/// `h0 [B, H_out]` and `c0 [B, H]` (LSTM only).
pub struct SeqBackward<T> {
    /// `[N, G·H]`.
    pub x_proj: Vec<T>,
    /// `[G·H, H_out]`.
    pub w_hh: Vec<T>,
    /// `[G·H]`.
    pub b_hh: Vec<T>,
    /// `[P, H]` (LSTM with projection).
    pub w_hr: Option<Vec<T>>,
    /// `[B, H_out]`.
    pub h0: Vec<T>,
    /// `[B, H]` (LSTM).
    pub c0: Option<Vec<T>>,
}

/// The gradients a backward pass through time starts from, each absent when zero: of the
/// output `[N, H_out]`, of `h_n [B, H_out]` and (LSTM) of `c_n [B, H]`. Every cell's
/// `backward(saved, grads, steps)` takes them.
#[derive(Clone, Copy, Debug)]
pub struct OutGrads<'a, T> {
    /// `∂L/∂output`.
    pub output: Option<&'a [T]>,
    /// `∂L/∂h_n`.
    pub h_n: Option<&'a [T]>,
    /// `∂L/∂c_n` (LSTM).
    pub c_n: Option<&'a [T]>,
}

/// Passes with fewer multiply-adds than this keep all rows on one thread (the fork costs more).
pub const SPLIT_MIN: usize = 1 << 20;

/// The time steps of one (packed) sequence pass: the shared [`StepLayout`] (its fields and
/// methods are reached through `Deref`) and whether another pass runs beside this one.
pub struct Steps<'a> {
    layout: StepLayout<'a>,
    /// Another pass runs beside this one: keep it on one thread.
    concurrent: bool,
}

impl<'a> std::ops::Deref for Steps<'a> {
    type Target = StepLayout<'a>;

    fn deref(&self) -> &StepLayout<'a> {
        &self.layout
    }
}

impl<'a> Steps<'a> {
    /// Bookkeeping for `batch_sizes` in direction `reverse`.
    pub fn new(batch_sizes: &'a [usize], reverse: bool) -> Steps<'a> {
        Steps {
            layout: StepLayout::new(batch_sizes, reverse),
            concurrent: false,
        }
    }

    /// Marks the pass as running beside another one (the other direction of a bidirectional
    /// layer), which already keeps the second core busy: [`Steps::split_for`] then never splits.
    pub fn concurrent(mut self, concurrent: bool) -> Steps<'a> {
        self.concurrent = concurrent;
        self
    }

    /// Where to split the batch rows into two independent halves that do about the same
    /// work: the smallest `s` with `Σ_t min(bs_t, s) ≥ N / 2` (rows `0..s` and `s..B`).
    /// Rows of a recurrence never interact, so the halves can run on two threads.
    pub fn balanced_split(&self) -> usize {
        let half = self.rows().div_ceil(2);
        (1..=self.batch())
            .find(|&s| self.batch_sizes.iter().map(|&bs| bs.min(s)).sum::<usize>() >= half)
            .unwrap_or(0)
    }

    /// The first row of the second half when the batch rows run as two halves on two threads
    /// ([`Steps::balanced_split`]), or `B` (one part) on one thread, beside a concurrent pass,
    /// or when the pass does fewer than [`SPLIT_MIN`] multiply-adds (`work` per row and step).
    pub fn split_for(&self, work: usize) -> usize {
        if !self.concurrent && rayon::current_num_threads() > 1 && self.rows() * work >= SPLIT_MIN {
            self.balanced_split()
        } else {
            self.batch()
        }
    }

    /// The row blocks of a packed `[N, width]` buffer, per step `t`: rows `0..min(bs_t, s)`
    /// in the first list and rows `min(bs_t, s)..bs_t` in the second.
    #[allow(clippy::type_complexity)]
    pub fn split_rows<'b, T>(
        &self,
        buf: &'b mut [T],
        width: usize,
        s: usize,
    ) -> (Vec<&'b mut [T]>, Vec<&'b mut [T]>) {
        let (mut lo, mut hi) = (Vec::with_capacity(self.batch_sizes.len()), Vec::new());
        hi.reserve(self.batch_sizes.len());
        let mut rest = buf;
        for &bs in self.batch_sizes {
            let (block, tail) = std::mem::take(&mut rest).split_at_mut(bs * width);
            let (a, b) = block.split_at_mut(bs.min(s) * width);
            lo.push(a);
            hi.push(b);
            rest = tail;
        }
        (lo, hi)
    }

    /// `[N, width]` matrix whose row `offsets[t] + r` is the state row `r` of step `t`
    /// started from (taken from `states` `[N, width]` or `init` `[B, width]`).
    pub fn gather_prev<T: Copy + Default>(&self, init: &[T], states: &[T], width: usize) -> Vec<T> {
        let mut out = vec![T::default(); self.rows() * width];
        for t in 0..self.batch_sizes.len() {
            for r in 0..self.batch_sizes[t] {
                let dst = (self.offsets[t] + r) * width;
                let src = match self.prev_row(t, r) {
                    Some(p) => &states[p * width..(p + 1) * width],
                    None => &init[r * width..(r + 1) * width],
                };
                out[dst..dst + width].copy_from_slice(src);
            }
        }
        out
    }
}

/// Runs `f` on both halves of a batch: on two threads when `two`, else only on `lo` (which
/// then holds every row).
pub fn run_halves<P: Send>(two: bool, lo: P, hi: P, f: impl Fn(P) + Sync) {
    if two {
        rayon::join(|| f(lo), || f(hi));
    } else {
        f(lo);
    }
}

/// Column sums of a row-major `[rows, cols]` matrix.
pub fn col_sums<T: crate::Elem>(x: &[T], cols: usize) -> Vec<T> {
    let mut out = vec![T::zero(); cols];
    for row in x.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
    out
}
