//! `recur._recur.train`: a classifier run from a labelled file through the library's
//! recipe and the one training loop, with the GIL released. The observer prints each
//! epoch through Python's `print` (so it shows in a notebook cell). While it trains, Ctrl-C
//! (SIGINT) is caught by a handler of its own — Python's runs only on the main thread
//! between bytecodes, and the loop runs on worker threads — so the run stops after its
//! batch, saved and resumable, and Python then gets `KeyboardInterrupt`; Python's handler
//! is put back when training returns.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use recur_cpu::Cpu;
use recur_train::{
    ClassifyRecipe, ClassifyRecords, Ending, EpochRecord, Notice, Observer, Records, Report,
};

use crate::{options, py_err};

/// Ctrl-C was pressed during the current `train` call.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The SIGINT handler while training: only sets the flag (async-signal-safe).
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT handled by [`on_sigint`] for its lifetime; the handler before it is put back
/// when it is dropped (training ended, however it ended).
struct CatchInterrupt {
    previous: libc::sighandler_t,
}

impl CatchInterrupt {
    fn install() -> CatchInterrupt {
        INTERRUPTED.store(false, Ordering::SeqCst);
        let handler = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: `signal` swaps the process's SIGINT disposition; the handler only stores
        // to an atomic, which is async-signal-safe.
        let previous = unsafe { libc::signal(libc::SIGINT, handler) };
        CatchInterrupt { previous }
    }
}

impl Drop for CatchInterrupt {
    fn drop(&mut self) {
        if self.previous != libc::SIG_ERR {
            // SAFETY: puts back the disposition `install` replaced (Python's handler).
            unsafe { libc::signal(libc::SIGINT, self.previous) };
        }
    }
}

/// Prints through Python, tells a progress callback, and stops when Ctrl-C was pressed.
struct PyObserver {
    print_lines: bool,
    /// `callback(epoch, done, total)`: samples trained of the epoch's, every 100 ms or so.
    callback: Option<Py<PyAny>>,
    epoch: usize,
    done: usize,
    total: usize,
    told: Instant,
}

impl PyObserver {
    fn print(&self, line: String) {
        if self.print_lines {
            Python::attach(|py| {
                let _ = py
                    .import("builtins")
                    .and_then(|b| b.getattr("print"))
                    .and_then(|print| print.call1((line,)));
            });
        }
    }

    /// Calls the progress callback with where the epoch is (errors in it are ignored:
    /// progress never stops a run).
    fn tell(&mut self) {
        if let Some(callback) = &self.callback {
            self.told = Instant::now();
            Python::attach(|py| {
                let _ = callback.call1(py, (self.epoch + 1, self.done, self.total));
            });
        }
    }
}

impl Observer<ClassifyRecords> for PyObserver {
    fn epoch_started(&mut self, epoch: usize, samples: usize) {
        (self.epoch, self.done, self.total) = (epoch, 0, samples);
        self.tell();
    }

    fn batch_done(&mut self, samples: usize) {
        self.done += samples;
        if self.done >= self.total || self.told.elapsed() >= Duration::from_millis(100) {
            self.tell();
        }
    }

    fn report(&mut self, r: &Report<<ClassifyRecords as Records>::Report>) {
        self.print(ClassifyRecords::report_line(r));
    }

    fn epoch_done(&mut self, e: &EpochRecord<<ClassifyRecords as Records>::Epoch>) {
        self.print(ClassifyRecords::epoch_line(e));
    }

    fn notice(&mut self, n: &Notice) {
        self.print(n.to_string());
    }

    fn stop_requested(&self) -> bool {
        INTERRUPTED.load(Ordering::Relaxed)
    }
}

/// `progress=`: print the epoch lines (`True`) or not (`False`), or a callable
/// `(epoch, done, total)` told where each epoch is (the lines print too).
#[derive(FromPyObject)]
pub enum Progress {
    /// Print the lines or not.
    Lines(bool),
    /// A callable.
    Callback(Py<PyAny>),
}

/// Trains a classifier on the labelled file `train` into the run folder `out` and returns
/// a summary (`epochs`, `samples`, `seconds`, `ending`, the last epoch's scores). With
/// `resume`, continues the run in `out` from its checkpoint (every other argument but
/// `progress` must be left out: the run's `config.json` holds them).
#[pyfunction]
#[pyo3(signature = (train, out, *, valid=None, test=None, preset=None, seed=0, resume=false,
    progress=Progress::Lines(true), options=None))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    train: Option<PathBuf>,
    out: PathBuf,
    valid: Option<PathBuf>,
    test: Option<PathBuf>,
    preset: Option<&str>,
    seed: u64,
    resume: bool,
    progress: Progress,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyDict>> {
    let recipe = if resume {
        if train.is_some() || valid.is_some() || test.is_some() || preset.is_some() {
            return Err(PyValueError::new_err(
                "a resumed run keeps its files and settings: give only the run folder",
            ));
        }
        if options.is_some_and(|o| !o.is_empty()) {
            return Err(PyValueError::new_err(
                "a resumed run keeps its settings: drop the options",
            ));
        }
        ClassifyRecipe::of_run(&out).map_err(py_err)?
    } else {
        let Some(train) = train else {
            return Err(PyValueError::new_err("give the training data"));
        };
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        let mut recipe = ClassifyRecipe::new(absolute(train)).with_seed(seed);
        recipe.training.files.valid = valid.map(absolute);
        recipe.training.files.test = test.map(absolute);
        match preset {
            None => {}
            Some("strong") => recipe = recipe.strong(),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "unknown preset {other:?}: the presets are 'strong'"
                )))
            }
        }
        if let Some(options) = options {
            options::apply(&mut recipe, options)?;
        }
        recipe
    };
    let (print_lines, callback) = match progress {
        Progress::Lines(on) => (on, None),
        Progress::Callback(f) => (true, Some(f)),
    };
    let mut observer = PyObserver {
        print_lines,
        callback,
        epoch: 0,
        done: 0,
        total: 0,
        told: Instant::now(),
    };
    let run = {
        let _catch = CatchInterrupt::install();
        py.detach(|| recipe.run(&Cpu, &out, resume, &mut observer))
    }
    .map_err(py_err)?;
    if INTERRUPTED.swap(false, Ordering::SeqCst) {
        return Err(PyKeyboardInterrupt::new_err(format!(
            "training stopped; the run in {} is saved and resumes with resume=True",
            out.display()
        )));
    }
    let fit = &run.fit;
    let summary = PyDict::new(py);
    summary.set_item("out", out.display().to_string())?;
    summary.set_item("epochs", fit.epochs)?;
    summary.set_item("samples", fit.samples)?;
    summary.set_item("seconds", fit.train_seconds)?;
    let ending = match &fit.ending {
        Ending::Finished(f) => f.to_string(),
        Ending::Interrupted { .. } => "interrupted".to_string(),
    };
    summary.set_item("ending", ending)?;
    if let Some(last) = &fit.last {
        summary.set_item("train_loss", last.train_loss)?;
        summary.set_item("valid_loss", last.valid_loss)?;
        summary.set_item("valid_accuracy", last.task.valid_accuracy)?;
        summary.set_item("test_accuracy", last.task.test_accuracy)?;
    }
    Ok(summary.unbind())
}
