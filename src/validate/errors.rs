//! The errors of `qfleet validate`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// Problems `cfn-lint`-like checks found in the rendered templates.
    #[error("the rendered templates of {env} have problems:\n  {}", .problems.join("\n  "))]
    TemplateProblems { env: String, problems: Vec<String> },
}
