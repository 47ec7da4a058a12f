//! Reading `config.json` of any schema version this recur knows: version 1 strictly into
//! [`RunConfig`], unversioned folders of earlier recurs through the legacy reader (`run/legacy.rs`).

use std::path::Path;

use crate::run::config::RunConfig;
use crate::run::output::RUN_SCHEMA_VERSION;
use crate::{Result, TrainError};

impl RunConfig {
    /// Parses `config.json` text of file `path`: version 1 strictly (an unknown key is an
    /// error naming it), older folders through the legacy reader (`run/legacy.rs`); then checks it.
    pub fn parse(text: &str, path: &Path) -> Result<RunConfig> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| TrainError::run_folder(path, format!("not valid JSON: {e}")))?;
        let config = match value.get("version") {
            None => crate::run::legacy::read(value, path)?,
            Some(v) if v.as_u64() == Some(u64::from(RUN_SCHEMA_VERSION)) => {
                serde_json::from_value(value).map_err(|e| {
                    TrainError::run_folder(path, format!("not a valid run config: {e}"))
                })?
            }
            Some(v) => {
                return Err(TrainError::run_folder(
                    path,
                    format!(
                        "run-folder schema version {v}; this recur reads versions up to \
                         {RUN_SCHEMA_VERSION}"
                    ),
                ))
            }
        };
        config.check(path)?;
        Ok(config)
    }
}
