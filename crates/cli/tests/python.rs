//! The `recur` Python package's pytest suite (`crates/python/tests`), run against this
//! build's `recur` binary: it needs a Python with the package installed from this checkout
//! (`$RECUR_PYTHON`; `.ci/run` builds it into `target/py-venv` with maturin). Without one
//! the test skips, and with `REQUIRE_PYTHON=1` it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python with `recur` installed, if any.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("RECUR_PYTHON").map(PathBuf::from)?;
    let has = Command::new(&python)
        .args(["-c", "import recur, pytest, sklearn"])
        .status()
        .is_ok_and(|s| s.success());
    has.then_some(python)
}

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let Some(python) = python() else {
        if std::env::var("REQUIRE_PYTHON").is_ok_and(|v| v == "1") {
            panic!(
                "a Python with the recur package, pytest and scikit-learn is required \
                 (REQUIRE_PYTHON=1): set RECUR_PYTHON (.ci/run makes target/py-venv)"
            );
        }
        println!("SKIPPED the Python package's tests: set RECUR_PYTHON to a Python with it");
        return;
    };
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/tests");
    let out = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("RECUR_BIN", env!("CARGO_BIN_EXE_recur"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
}
