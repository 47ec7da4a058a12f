//! Broadcasting as NumPy and PyTorch do it: shapes aligned at their last axes, each pair of
//! sizes equal or one of them 1 (missing leading axes count as 1). [`Tape::broadcast_to`]
//! repeats an operand along those axes; its gradient sums back over them, so the elementwise
//! ops (`add`, `sub`, `mul`, `div`) broadcast with gradients reduced to each operand's shape.

use recur_tensor::{Backend, Error, Result};

use crate::{Tape, Var};

/// The shape `a` and `b` broadcast to, or an error naming `op` and both shapes.
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i < n - s.len() {
            1
        } else {
            s[i - (n - s.len())]
        }
    };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(Error::shape(
                op,
                format!(
                    "shapes {a:?} and {b:?} do not broadcast: axis {i} of the result is {x} in \
                     one and {y} in the other (sizes must be equal, or one of them 1)"
                ),
            )),
        })
        .collect()
}

/// Refuses `from` unless it broadcasts to exactly `to` (each axis equal or 1, `to` not
/// widened), naming `op`.
pub(crate) fn check_broadcasts_to(op: &'static str, from: &[usize], to: &[usize]) -> Result<()> {
    if broadcast_shape(op, from, to)? != to {
        return Err(Error::shape(
            op,
            format!("{from:?} cannot be broadcast to {to:?}"),
        ));
    }
    Ok(())
}

impl<B: Backend> Tape<B> {
    /// `a` repeated to `shape` (NumPy/PyTorch broadcasting: `a`'s axes align with the last
    /// ones of `shape`; each is equal or 1). The gradient sums back over the repeats.
    pub fn broadcast_to(&self, a: Var, shape: &[usize]) -> Result<Var> {
        let from = self.shape(a)?;
        if from == shape {
            return Ok(a);
        }
        check_broadcasts_to("broadcast_to", &from, shape)?;
        // the missing leading axes as size 1
        let mut cur = vec![1; shape.len() - from.len()];
        cur.extend_from_slice(&from);
        let mut x = if cur == from {
            a
        } else {
            self.reshape(a, &cur)?
        };
        for (axis, &n) in shape.iter().enumerate() {
            if cur[axis] == n {
                continue;
            }
            // drop the size-1 axis, then repeat along a new one in its place
            let mut without = cur.clone();
            without.remove(axis);
            let squeezed = self.reshape(x, &without)?;
            x = self.expand_axis(squeezed, axis, n)?;
            cur[axis] = n;
        }
        Ok(x)
    }

    /// `a` with a new axis `axis` of size `n`, its values repeated along it; the gradient
    /// is the sum over that axis.
    pub fn expand_axis(&self, a: Var, axis: usize, n: usize) -> Result<Var> {
        let out = self.value(a)?.broadcast_axis(axis, n)?;
        self.record1(out, &[a], move |g| Ok(vec![Some(g.sum_axis(axis)?)]))
    }

    /// `(a, b)` broadcast to their common shape (unchanged when equal).
    pub(crate) fn broadcast_pair(&self, op: &'static str, a: Var, b: Var) -> Result<(Var, Var)> {
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        if sa == sb {
            return Ok((a, b));
        }
        let shape = broadcast_shape(op, &sa, &sb)?;
        Ok((self.broadcast_to(a, &shape)?, self.broadcast_to(b, &shape)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_as_numpy() {
        assert_eq!(
            broadcast_shape("t", &[2, 3, 4], &[3, 1]).unwrap(),
            [2, 3, 4]
        );
        assert_eq!(
            broadcast_shape("t", &[4, 1, 5], &[1, 3, 1]).unwrap(),
            [4, 3, 5]
        );
        assert_eq!(broadcast_shape("t", &[], &[2]).unwrap(), [2]);
        let e = broadcast_shape("add", &[2, 3], &[4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[2, 3]") && e.contains("[4]"), "{e}");
    }
}
