//! The error type of layers, models and optimizers.

/// Result alias for layers.
pub type Result<T> = std::result::Result<T, LayerError>;

/// What can go wrong when building or running a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A configuration PyTorch would refuse too.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An input or state of the wrong shape.
    #[error("{layer}: {detail}")]
    Shape {
        /// The layer.
        layer: String,
        /// Expected and found.
        detail: String,
    },
    /// A layer run with a parameter store that does not hold its parameters, or reading
    /// rows an optimizer left behind.
    #[error("{layer}: {detail}")]
    Store {
        /// The layer.
        layer: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// A parameter lookup by name failed or clashed.
    #[error("parameter {0}")]
    Param(String),
    /// From the tensor ops.
    #[error(transparent)]
    Tensor(#[from] recur_tensor::Error),
    /// From packing.
    #[error(transparent)]
    Pack(#[from] recur_packed::PackError),
}
