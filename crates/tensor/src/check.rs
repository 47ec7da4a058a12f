//! The operand checks every backend runs at the top of its safe [`crate::Backend`] methods:
//! lengths, row widths and index ranges, all O(1) or one pass over an index list. The
//! `Tensor` front end has already checked shapes; these keep a direct trait call (or a
//! front-end bug) from reading or writing out of bounds on any device.

use crate::{Error, GemmSpec, Result};

/// `a` and `b` hold the same number of elements.
pub fn same_len(op: &'static str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::shape(
            op,
            format!("operands of {a} and {b} elements"),
        ));
    }
    Ok(())
}

/// `what` holds exactly `want` elements.
pub fn len_is(op: &'static str, what: &str, len: usize, want: usize) -> Result<()> {
    if len != want {
        return Err(Error::shape(
            op,
            format!("{what} holds {len} elements, expected {want}"),
        ));
    }
    Ok(())
}

/// A storage of `len` elements viewed as rows of `cols`: returns the row count.
pub fn rows(op: &'static str, len: usize, cols: usize) -> Result<usize> {
    if cols == 0 || !len.is_multiple_of(cols) {
        return Err(Error::shape(
            op,
            format!("{len} elements are not rows of {cols}"),
        ));
    }
    Ok(len / cols)
}

/// Every index is below `size`.
pub fn indices(op: &'static str, idx: &[usize], size: usize) -> Result<()> {
    match idx.iter().find(|&&i| i >= size) {
        Some(&index) => Err(Error::Index { op, index, size }),
        None => Ok(()),
    }
}

/// The three matrices of `spec` lie inside storages of `a`, `b` and `c` elements.
pub fn gemm(spec: &GemmSpec, a: usize, b: usize, c: usize) -> Result<()> {
    for (what, end, len) in [
        ("A", spec.a.end(spec.m, spec.k), a),
        ("B", spec.b.end(spec.k, spec.n), b),
        ("C", spec.c.end(spec.m, spec.n), c),
    ] {
        if end > len {
            return Err(Error::shape(
                "gemm",
                format!("{what} reaches element {end} of a storage of {len}"),
            ));
        }
    }
    Ok(())
}

/// The block `[outer, start..start+len, inner]` lies inside `[outer, dim, inner]`, itself
/// inside a storage of `storage` elements.
pub fn block(
    op: &'static str,
    storage: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    start: usize,
    len: usize,
) -> Result<()> {
    if start + len > dim || outer * dim * inner > storage {
        return Err(Error::shape(
            op,
            format!(
                "block {start}..{} of [{outer}, {dim}, {inner}] in a storage of {storage}",
                start + len
            ),
        ));
    }
    Ok(())
}

/// Row-wise losses: `log_probs` is `[labels.len(), cols]` and every label is below `cols`.
pub fn labelled_rows(op: &'static str, len: usize, cols: usize, labels: &[usize]) -> Result<()> {
    len_is(op, "log_probs", len, labels.len() * cols)?;
    indices(op, labels, cols)
}

/// A row update of a `[R, cols]` table: `rows` below `R`, `g` one row of `cols` per row.
pub fn row_update(
    op: &'static str,
    table: usize,
    cols: usize,
    rows: &[usize],
    g: usize,
) -> Result<usize> {
    let r = self::rows(op, table, cols)?;
    indices(op, rows, r)?;
    len_is(op, "the gradient rows", g, rows.len() * cols)?;
    Ok(r)
}
