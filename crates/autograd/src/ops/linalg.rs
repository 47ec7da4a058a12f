//! Matrix products: `matmul` with transposes and `linear` with bias broadcast.

use recur_tensor::{Backend, Result};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// `op(a)[m,k] · op(b)[k,n]` for 2-D variables.
    pub fn matmul(&self, a: Var, b: Var, trans_a: bool, trans_b: bool) -> Result<Var> {
        let (va, vb) = (self.value(a)?, self.value(b)?);
        let out = va.matmul(&vb, trans_a, trans_b)?;
        self.record1(out, &[a, b], move |g| {
            // C = A·B:  dA = dC·Bᵀ,  dB = Aᵀ·dC   (transposed operands swap roles)
            let ga = if trans_a {
                vb.matmul(g, trans_b, true)?
            } else {
                g.matmul(&vb, false, !trans_b)?
            };
            let gb = if trans_b {
                g.matmul(&va, true, trans_a)?
            } else {
                va.matmul(g, !trans_a, false)?
            };
            Ok(vec![Some(ga), Some(gb)])
        })
    }

    /// `x · wᵀ + b` for `x [.., I]`, `w [O, I]`, `b [O]` → `[.., O]` (PyTorch `nn.Linear`).
    pub fn linear(&self, x: Var, w: Var, b: Option<Var>) -> Result<Var> {
        let (vx, vw) = (self.value(x)?, self.value(w)?);
        let shape = vx.shape().to_vec();
        let in_dim = *shape.last().unwrap_or(&1);
        let rows = vx.numel() / in_dim.max(1);
        let x2 = vx.reshape(&[rows, in_dim])?;
        let vb = b.map(|b| self.value(b)).transpose()?;
        let y = x2.linear(&vw, vb.as_ref())?;
        let mut out_shape = shape.clone();
        if let Some(last) = out_shape.last_mut() {
            *last = vw.shape()[0];
        }
        let y = y.reshape(&out_shape)?;
        let mut parents = vec![x, w];
        parents.extend(b);
        let has_bias = b.is_some();
        self.record1(y, &parents, move |g| {
            // y = x·wᵀ + b:  dx = dy·w,  dw = dyᵀ·x,  db = Σ_rows dy
            let g2 = g.reshape(&[rows, vw.shape()[0]])?;
            let gx = g2.matmul(&vw, false, false)?.reshape(&shape)?;
            let gw = g2.matmul(&x2, true, false)?;
            let mut grads = vec![Some(gx), Some(gw)];
            if has_bias {
                grads.push(Some(g2.sum_axis(0)?));
            }
            Ok(grads)
        })
    }
}
