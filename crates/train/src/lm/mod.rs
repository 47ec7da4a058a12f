//! Language modelling: the task of the one loop, sampling, and the recipe of a whole run.

pub(crate) mod generate;
pub(crate) mod recipe;
pub(crate) mod task;
