//! `qfleet simulate`: the simulator's runs and tunings (the crate `qfleet-sim`, which holds
//! the model) for the environments of a command line, printed.
//!
//! - `runs.rs`: the command's result, every environment's run or tuning (their text and
//!   charts are the crate's), its JSON, exit code and chart files.

pub(crate) mod errors;
mod runs;

pub(crate) use crate::sim::across::{Kind, parse_kinds};
pub(crate) use crate::sim::compare::{TypeSpec, parse_types};
pub(crate) use crate::sim::{Assumptions, parse_load, peak_warning, use_prices};
use crate::sim::{Pipeline, Report, chart, run_result, run_text, tune};
#[cfg(test)]
pub(crate) use runs::schema;
pub(crate) use runs::{simulate_all, tune_all};

#[cfg(test)]
mod tests;
