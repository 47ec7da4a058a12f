//! Text classification: the [`Model`] trait, evaluation and scores, the task of the one
//! loop, its data, and the recipe of a whole run.

pub(crate) mod autotune;
pub(crate) mod bag_share;
pub(crate) mod data;
pub(crate) mod eval;
pub(crate) mod init;
pub(crate) mod members;
pub(crate) mod model;
pub(crate) mod preset;
pub(crate) mod recipe;
pub(crate) mod records;
pub(crate) mod scores;
pub(crate) mod sizing;
pub(crate) mod split;
pub(crate) mod step;
pub(crate) mod task;
