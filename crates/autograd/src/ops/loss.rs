//! Cross-entropy with mean reduction, as `nn.CrossEntropyLoss()`.

use recur_tensor::{Backend, Result, Tensor};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// `mean_r −log_softmax(logits)[r, labels[r]]` for `logits [R, K]` → shape `[]`.
    pub fn cross_entropy(&self, logits: Var, labels: &[usize]) -> Result<Var> {
        let vl = self.value(logits)?;
        let log_probs = vl.log_softmax()?;
        let loss = log_probs.nll_mean(labels)?;
        let out = Tensor::from_f64(vl.backend(), &[], &[loss], vl.dtype())?;
        let labels = labels.to_vec();
        // d loss / d logits = g · (softmax − onehot) / R
        self.record1(out, &[logits], move |g| {
            let scale = g.scalar()? / labels.len() as f64;
            Ok(vec![Some(
                log_probs.cross_entropy_backward(&labels, scale)?,
            )])
        })
    }
}
