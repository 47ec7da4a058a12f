//! The step layout of one packed recurrent pass, shared by every backend: which rows each
//! time step holds in the packed `[N, ·]` buffers, the order the steps run in, and where
//! each row's previous state lives.

/// Offset of each step's first row in packed layout (`offsets[t] = Σ_{s<t} batch_sizes[s]`),
/// with a final entry `N`.
pub fn step_offsets(batch_sizes: &[usize]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(batch_sizes.len() + 1);
    let mut acc = 0;
    offsets.push(0);
    for &b in batch_sizes {
        acc += b;
        offsets.push(acc);
    }
    offsets
}

/// The time steps of one (packed) pass: step `t` holds packed rows
/// `offsets[t]..offsets[t] + batch_sizes[t]` (row `r` of the step is batch row `r`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLayout<'a> {
    /// Rows alive at each step (non-increasing; the first is the batch size `B`).
    pub batch_sizes: &'a [usize],
    /// `offsets[t]` = first packed row of step `t`; `offsets[T]` = `N`.
    pub offsets: Vec<usize>,
    /// Whether the pass runs from the last step down.
    pub reverse: bool,
}

impl<'a> StepLayout<'a> {
    /// The layout of `batch_sizes` run forward (`reverse = false`) or backward.
    pub fn new(batch_sizes: &'a [usize], reverse: bool) -> StepLayout<'a> {
        StepLayout {
            batch_sizes,
            offsets: step_offsets(batch_sizes),
            reverse,
        }
    }

    /// Number of steps `T`.
    pub fn len(&self) -> usize {
        self.batch_sizes.len()
    }

    /// True when there is no step.
    pub fn is_empty(&self) -> bool {
        self.batch_sizes.is_empty()
    }

    /// Total packed rows `N`.
    pub fn rows(&self) -> usize {
        self.offsets[self.batch_sizes.len()]
    }

    /// Batch size `B` (rows at the first step; 0 without steps).
    pub fn batch(&self) -> usize {
        self.batch_sizes.first().copied().unwrap_or(0)
    }

    /// The steps in processing order (`T-1, …, 0` when reversed).
    pub fn order(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        let n = self.batch_sizes.len();
        let reverse = self.reverse;
        (0..n).map(move |i| if reverse { n - 1 - i } else { i })
    }

    /// The step run just before step `t` as `(first packed row, rows)`, or `None` when `t`
    /// runs first. Its rows `0..rows` hold the states rows of step `t` start from; rows of
    /// step `t` beyond them (reverse passes only) start from the initial state.
    pub fn prev_step(&self, t: usize) -> Option<(usize, usize)> {
        let s = if self.reverse {
            (t + 1 < self.batch_sizes.len()).then_some(t + 1)?
        } else {
            t.checked_sub(1)?
        };
        Some((self.offsets[s], self.batch_sizes[s]))
    }

    /// Packed row holding the state that row `r` of step `t` starts from, or `None` when
    /// it starts from the initial state (row `r` of `h0`).
    #[inline]
    pub fn prev_row(&self, t: usize, r: usize) -> Option<usize> {
        if self.reverse {
            (t + 1 < self.batch_sizes.len() && r < self.batch_sizes[t + 1])
                .then(|| self.offsets[t + 1] + r)
        } else {
            (t > 0).then(|| self.offsets[t - 1] + r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_reverse_layouts_name_each_rows_previous_state() {
        let bs = [3, 2, 2, 1];
        let fwd = StepLayout::new(&bs, false);
        assert_eq!(fwd.offsets, vec![0, 3, 5, 7, 8]);
        assert_eq!((fwd.rows(), fwd.batch(), fwd.len()), (8, 3, 4));
        assert_eq!(fwd.order().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(fwd.prev_step(0), None);
        assert_eq!(fwd.prev_step(2), Some((3, 2)));
        assert_eq!(fwd.prev_row(2, 1), Some(4));
        let rev = StepLayout::new(&bs, true);
        assert_eq!(rev.order().collect::<Vec<_>>(), vec![3, 2, 1, 0]);
        assert_eq!(rev.prev_step(3), None);
        assert_eq!(rev.prev_step(0), Some((3, 2)));
        // row 2 of step 0 is past the rows of step 1: it starts from h0
        assert_eq!(rev.prev_row(0, 2), None);
        assert_eq!(rev.prev_row(0, 1), Some(4));
        let empty = StepLayout::new(&[], false);
        assert!(empty.is_empty());
        assert_eq!((empty.rows(), empty.batch()), (0, 0));
    }
}
