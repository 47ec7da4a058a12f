//! Finding the data files: `--data DIR` or `$RECUR_DATA_DIR`, `train.csv` (or the
//! `train_sample.csv` stand-in) and `test.csv`.

use std::path::{Path, PathBuf};

use crate::{DataError, Result};

/// The files a training run reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFiles {
    /// The training CSV.
    pub train: PathBuf,
    /// The test CSV.
    pub test: PathBuf,
    /// Said to the user when a stand-in was chosen.
    pub note: Option<String>,
}

/// Resolves the data folder (`dir`, else `$RECUR_DATA_DIR`, else `datasets/ag_news`) and the
/// train/test files in it; explicit `train` / `test` paths win. Uses `train_sample.csv` when
/// `train.csv` is absent, and says so in `note`.
pub fn locate(dir: Option<&Path>, train: Option<&Path>, test: Option<&Path>) -> Result<DataFiles> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::var_os("RECUR_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("datasets/ag_news")),
    };
    let mut note = None;
    let train = match train {
        Some(t) => t.to_path_buf(),
        None => {
            let full = dir.join("train.csv");
            let sample = dir.join("train_sample.csv");
            if full.is_file() {
                full
            } else if sample.is_file() {
                note = Some(format!(
                    "{} is absent: training on {} instead",
                    full.display(),
                    sample.display()
                ));
                sample
            } else {
                return Err(DataError::NotFound(format!(
                    "no train.csv (nor train_sample.csv) in {}: download AG News there (`cargo \
                        xtask download`), or name the folder that holds it",
                    dir.display()
                )));
            }
        }
    };
    let test = test
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("test.csv"));
    if !test.is_file() {
        return Err(DataError::NotFound(format!(
            "test file {} not found",
            test.display()
        )));
    }
    Ok(DataFiles { train, test, note })
}
