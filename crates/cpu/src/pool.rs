//! Reuse of the largest freed buffers. A language model's logits, log-probabilities and
//! their gradient are tens of MB each, allocated and freed at every step; glibc serves blocks
//! above 32 MiB (its largest mmap threshold, see `alloc.rs`) with a fresh `mmap`, so each
//! step faulted in (and the kernel zeroed) tens of thousands of pages — more time than the
//! maths that fills them. Storages above 32 MiB are handed back here when dropped and reused
//! for the next request of a similar size (refilled with the requested value, or as it was
//! for an output its kernel writes in full); at most 256 MiB wait here, the oldest leave
//! first. Smaller buffers stay with the allocator, which keeps and reuses them itself: pooling
//! them too (this pool once took 8 MiB and up) held freed activations of every batch's
//! length apart from `malloc`, and a packed BiLSTM's peak memory tripled.

use std::sync::Mutex;

/// Buffers at least this large (bytes) are recycled.
const MIN_BYTES: usize = (32 << 20) + 1;
/// At most this many bytes wait for reuse.
const MAX_BYTES: usize = 256 << 20;

/// Freed buffers of one element type, oldest first.
pub struct Recycler<T> {
    free: Mutex<Vec<Vec<T>>>,
}

impl<T: Copy> Recycler<T> {
    /// An empty recycler.
    pub const fn new() -> Self {
        Recycler {
            free: Mutex::new(Vec::new()),
        }
    }

    fn large(capacity: usize) -> bool {
        capacity * std::mem::size_of::<T>() >= MIN_BYTES
    }

    /// A buffer of `len` elements, all `value`.
    pub fn filled(&self, len: usize, value: T) -> Vec<T> {
        match self.take(len) {
            Some(mut v) => {
                v.clear();
                v.resize(len, value);
                v
            }
            None => vec![value; len],
        }
    }

    /// A buffer of `len` elements for an output its kernel writes in full: a recycled one
    /// keeps its old (initialised, possibly non-finite) values, so nothing is written twice;
    /// otherwise a fresh one holds `fresh`.
    pub fn overwritten(&self, len: usize, fresh: T) -> Vec<T> {
        match self.take(len) {
            Some(mut v) => {
                if v.len() >= len {
                    v.truncate(len);
                } else {
                    v.resize(len, fresh);
                }
                v
            }
            None => vec![fresh; len],
        }
    }

    /// An empty buffer with room for `len` elements, for an output its kernel appends in
    /// full (a recycled one when large); nothing is written to it first.
    pub fn empty(&self, len: usize) -> Vec<T> {
        match self.take(len) {
            Some(mut v) => {
                v.clear();
                v
            }
            None => Vec::with_capacity(len),
        }
    }

    /// The smallest waiting buffer that holds `len` elements without wasting more than a
    /// quarter of it (only for large requests).
    fn take(&self, len: usize) -> Option<Vec<T>> {
        if !Self::large(len) {
            return None;
        }
        let mut free = self.free.lock().ok()?;
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len && v.capacity() <= len + len / 4)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i)?;
        Some(free.remove(best))
    }

    /// Takes `v` back for reuse when it is large (else frees it).
    pub fn give_back(&self, v: Vec<T>) {
        if !Self::large(v.capacity()) {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            free.push(v);
            let size = |v: &Vec<T>| v.capacity() * std::mem::size_of::<T>();
            let mut total: usize = free.iter().map(size).sum();
            while total > MAX_BYTES && !free.is_empty() {
                total -= size(&free.remove(0));
            }
        }
    }
}

/// Recycled f32 buffers.
pub static F32: Recycler<f32> = Recycler::new();
/// Recycled f64 buffers.
pub static F64: Recycler<f64> = Recycler::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_buffer_comes_back_refilled_and_small_ones_are_not_kept() {
        let r = Recycler::<f32>::new();
        let n = (MIN_BYTES / 4) + 10;
        let mut v = r.filled(n, 0.0);
        v.iter_mut().for_each(|x| *x = 7.0);
        let ptr = v.as_ptr();
        r.give_back(v);
        let again = r.filled(n - 5, 1.5);
        assert_eq!(again.as_ptr(), ptr, "the freed buffer is reused");
        assert!(again.len() == n - 5 && again.iter().all(|&x| x == 1.5));
        r.give_back(vec![0.0; 16]);
        assert!(r.free.lock().unwrap().is_empty());
        // a much smaller request does not take a large buffer
        r.give_back(again);
        let smaller = r.filled(n / 2, 0.0);
        assert_ne!(smaller.as_ptr(), ptr);
    }

    #[test]
    fn an_overwritten_buffer_is_reused_as_it_was() {
        let r = Recycler::<f32>::new();
        let n = (MIN_BYTES / 4) + 10;
        let fresh = r.overwritten(n, 0.0);
        assert!(fresh.len() == n && fresh.iter().all(|&x| x == 0.0));
        let mut v = fresh;
        v.iter_mut().for_each(|x| *x = 7.0);
        let ptr = v.as_ptr();
        r.give_back(v);
        let again = r.overwritten(n - 5, 0.0);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.len() == n - 5 && again.iter().all(|&x| x == 7.0));
        r.give_back(again);
        let longer = r.overwritten(n, 0.0);
        assert_eq!(longer.len(), n);
        assert!(longer[..n - 5].iter().all(|&x| x == 7.0) && longer[n - 5..] == [0.0; 5]);
    }
}
