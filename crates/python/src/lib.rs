//! `recur._recur`: the native half of the `recur` Python package. It exposes the library —
//! [`recur_train::ClassifyRecipe`] runs through the one training loop (`train`) and run
//! folders as `Run` (the library's `Predictor` or `Generator`) — not the command line's
//! flags. Every library error becomes a Python exception carrying recur's message
//! (`ValueError` for bad input, `OSError` for files, `RuntimeError` otherwise); no panic
//! crosses into Python (pyo3 turns one into `PanicException`). The GIL is released while
//! training and predicting.

mod options;
mod run;
mod train;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use recur_train::TrainError;

/// A library error as the Python exception a user expects, with recur's message.
pub(crate) fn py_err(e: impl Into<TrainError>) -> PyErr {
    let e = e.into();
    let message = e.to_string();
    match e {
        TrainError::Io { .. } | TrainError::Data(recur_data::DataError::Io { .. }) => {
            PyOSError::new_err(message)
        }
        TrainError::Invalid(_)
        | TrainError::Setting { .. }
        | TrainError::Data(_)
        | TrainError::RunFolder { .. } => PyValueError::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}

/// The module `recur._recur`.
#[pymodule]
fn _recur(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(run::load, m)?)?;
    m.add_function(wrap_pyfunction!(options::option_names, m)?)?;
    m.add_class::<run::Run>()?;
    Ok(())
}
