//! Cross-entropy with mean reduction, as `nn.CrossEntropyLoss()`.

use recur_tensor::{Backend, Result, Tensor};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// `mean_r −log_softmax(logits)[r, labels[r]]` for `logits [R, K]` → shape `[]`.
    pub fn cross_entropy(&self, logits: Var, labels: &[usize]) -> Result<Var> {
        let vl = self.value(logits)?;
        if !self.grad_enabled() || !self.requires_grad(logits)? {
            let loss = vl.log_softmax()?.nll_mean(labels)?;
            let out = Tensor::from_f64(vl.backend(), &[], &[loss], vl.dtype())?;
            return self.record1(out, &[logits], |_| Ok(vec![None]));
        }
        // d loss / d logits = g · (softmax − onehot) / R: computed with the loss, in the same
        // pass, so the log-probabilities are never kept
        let (loss, grad) = vl.cross_entropy_with_grad(labels, 1.0 / labels.len() as f64)?;
        let out = Tensor::from_f64(vl.backend(), &[], &[loss], vl.dtype())?;
        self.record1(out, &[logits], move |g| {
            let g = g.scalar()?;
            Ok(vec![Some(if g == 1.0 { grad } else { grad.scale(g)? })])
        })
    }
}
