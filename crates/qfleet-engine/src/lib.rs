//! qfleet's offline engine: an environment of a stack file in; its CloudFormation templates
//! (and a StackSets file's stack set templates) out, with no AWS access. The `qfleet` crate's
//! commands deploy, preview and check what it renders.
//!
//! - [`render`]: the templates of an environment ([`render::render`]), each stack's role and
//!   file; a StackSets file's merged templates ([`render::stack_sets_of`]); the resource
//!   names and logical ids every other command reads by ([`render::ResourceNames`],
//!   [`render::ids`]); the fleet's VPC endpoints ([`render::reach`]); the workers' variables as
//!   the fleet gets them ([`render::worker_variables`]); the template checks
//!   ([`render::check`]);
//! - [`iam`]: the least-privilege deploying policies of environments in one account
//!   ([`iam::policies`]), what `qfleet iam-policy` prints, and the calls each command makes
//!   ([`iam::calls`]);
//! - [`validate`]: the offline half of `qfleet validate`: the templates rendered and checked
//!   ([`validate::check`]), the advice on an environment's settings ([`validate::warnings`]),
//!   and the size of the template each stack is deployed with ([`validate::deployed_sizes`]);
//! - [`Error`]: what the engine refuses, which the root maps to exit codes.
//!
//! Nothing here reads the network, AWS or the clock: the same stack file renders the same
//! templates on any machine, and the tests call the engine on many threads at once.

// No production function over the threshold in clippy.toml (150 lines).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives: production code neither unwraps nor
// expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod iam;
pub mod render;
pub mod validate;

pub use error::{Error, Result};

use qfleet_sim as sim;
/// The floors under the engine, by the names the root crate gives them.
use qfleet_stackfile::{config, kinds, package};
