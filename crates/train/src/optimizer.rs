//! Which optimizer a run uses ([`OptimizerConfig`], kept in `config.json`), checked and
//! built for a backend.

use recur_layers::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use recur_tensor::Backend;
use serde::{Deserialize, Serialize};

use crate::{Result, TrainError};

/// An optimizer and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// `torch.optim.Adam`, or `AdamW` with `decoupled`.
    Adam(AdamConfig),
    /// `torch.optim.SGD`.
    Sgd(SgdConfig),
}

impl OptimizerConfig {
    /// The starting learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Adam(c) => c.lr,
            OptimizerConfig::Sgd(c) => c.lr,
        }
    }

    /// Refuses hyper-parameters that cannot work, naming them (`optimizer.lr`, …).
    pub fn validate(&self) -> Result<()> {
        let positive = |name, x: f64| {
            if x > 0.0 && x.is_finite() {
                Ok(())
            } else {
                Err(TrainError::setting(
                    name,
                    format!("must be positive and finite, found {x}"),
                ))
            }
        };
        let usable = |name, x: f64| {
            if x >= 0.0 && x.is_finite() {
                Ok(())
            } else {
                Err(TrainError::setting(
                    name,
                    format!("must be finite and not negative, found {x}"),
                ))
            }
        };
        match self {
            OptimizerConfig::Adam(c) => {
                positive("optimizer.lr", c.lr)?;
                usable("optimizer.weight_decay", c.weight_decay)?;
                positive("optimizer.eps", c.eps)?;
                for (name, b) in [("optimizer.beta1", c.beta1), ("optimizer.beta2", c.beta2)] {
                    if !(0.0..1.0).contains(&b) {
                        return Err(TrainError::setting(
                            name,
                            format!("must be in [0, 1), found {b}"),
                        ));
                    }
                }
            }
            OptimizerConfig::Sgd(c) => {
                positive("optimizer.lr", c.lr)?;
                usable("optimizer.weight_decay", c.weight_decay)?;
                usable("optimizer.momentum", c.momentum)?;
                usable("optimizer.dampening", c.dampening)?;
                if c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0) {
                    return Err(TrainError::setting(
                        "optimizer.nesterov",
                        "needs a positive momentum and zero dampening",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The optimizer, checked first.
    pub fn build<B: Backend>(&self) -> Result<Box<dyn Optimizer<B> + Send>> {
        self.validate()?;
        Ok(match *self {
            OptimizerConfig::Adam(c) => Box::new(Adam::new(c)),
            OptimizerConfig::Sgd(c) => Box::new(Sgd::new(c)),
        })
    }
}
