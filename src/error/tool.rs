//! A tool qfleet runs (pip, npm, a container engine) that failed for a cause outside the stack
//! file: no network, no package index, the tool itself missing, a Dockerfile that does not
//! build (exit 5). The stack file is right; running again
//! where the tool works can succeed, so a pipeline may retry it, which it should never do for
//! invalid input (exit 2). qfleet runs its tools before anything changes on AWS, so such a
//! failure changed nothing there.

/// A tool's failure: what it was doing (`for`), its command line, and its own last words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {tool} failed ({why}); nothing was changed on AWS. {next}")]
pub struct ToolFailure {
    /// What qfleet was doing: `lab: building the function's package (workers.lambda.code)`.
    pub(crate) what: String,
    /// The tool: `pip`, `npm`.
    pub(crate) tool: String,
    /// Its own words, or why it could not be started.
    pub(crate) why: String,
    /// What to do: run again where the tool works, or fix what it names.
    pub(crate) next: String,
}
