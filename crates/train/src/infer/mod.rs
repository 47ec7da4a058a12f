//! The one inference path of each task: a classifier's [`predictor::Predictor`] and a
//! language model's [`generator::Generator`].

pub(crate) mod generator;
pub(crate) mod predictor;
