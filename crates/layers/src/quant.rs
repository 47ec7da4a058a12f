//! Symmetric int8 quantization per row ([`Int8Rows`]): each row of a matrix is stored as
//! bytes `q` with one f32 scale, `w ≈ q · scale`, `scale = max|row| / 127`. Used for the
//! weights of an int8 run folder and for a predictor's input table.

/// A `[rows, cols]` matrix as int8 rows and their scales.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Rows {
    /// The values, row-major `[rows, cols]`.
    pub q: Vec<i8>,
    /// One scale per row `[rows]`.
    pub scale: Vec<f32>,
    /// Columns per row.
    pub cols: usize,
}

impl Int8Rows {
    /// Quantizes `values` (`[rows, cols]` row-major; `cols > 0`) row by row: each row's
    /// largest magnitude maps to ±127, values round to the nearest step. A row of zeros has
    /// scale 0.
    pub fn quantize(values: &[f32], cols: usize) -> Int8Rows {
        let cols = cols.max(1);
        let mut q = Vec::with_capacity(values.len());
        let mut scale = Vec::with_capacity(values.len() / cols);
        for row in values.chunks(cols) {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let s = max / 127.0;
            let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
            q.extend(
                row.iter()
                    .map(|v| (v * inv).round().clamp(-127.0, 127.0) as i8),
            );
            scale.push(s);
        }
        Int8Rows { q, scale, cols }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.scale.len()
    }

    /// Every value, `q · scale`, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.q.len());
        for (row, &s) in self.q.chunks(self.cols).zip(&self.scale) {
            out.extend(row.iter().map(|&v| f32::from(v) * s));
        }
        out
    }

    /// Appends the rows `idx` (each below [`Int8Rows::rows`]) to `out`, dequantized.
    pub fn gather_into(&self, idx: &[usize], out: &mut Vec<f32>) {
        const LANES: usize = 16;
        let c = self.cols;
        out.reserve(idx.len() * c);
        for &i in idx {
            let s = self.scale[i];
            let row = &self.q[i * c..(i + 1) * c];
            // fixed-width blocks: the conversion and product vectorize
            let mut blocks = row.chunks_exact(LANES);
            for q in &mut blocks {
                let mut v = [0.0f32; LANES];
                for k in 0..LANES {
                    v[k] = f32::from(q[k]) * s;
                }
                out.extend_from_slice(&v);
            }
            out.extend(blocks.remainder().iter().map(|&v| f32::from(v) * s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_within_half_a_step() {
        let w = [0.5f32, -1.0, 0.25, 0.0, 0.0, 0.0, 3.0, 2.9, -0.01];
        let q = Int8Rows::quantize(&w, 3);
        assert_eq!(q.rows(), 3);
        assert_eq!(q.scale[1], 0.0);
        let back = q.dequantize();
        for (r, (a, b)) in w.chunks(3).zip(back.chunks(3)).enumerate() {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= q.scale[r] / 2.0 + 1e-7, "{x} vs {y}");
            }
        }
        // the largest magnitude is exact
        assert_eq!(back[1], -1.0);
        let mut g = Vec::new();
        q.gather_into(&[2, 0], &mut g);
        assert_eq!(&g[..3], &back[6..9]);
        assert_eq!(&g[3..], &back[..3]);
    }
}
