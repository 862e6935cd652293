//! `qfleet import copilot`: a Copilot Worker Service manifest as a `workers.kind: fargate`
//! stack file. Reading the manifest (`manifest`) and mapping it (`mapping`) are apart; the
//! report is `crate::import::report`.

pub mod manifest;
pub mod mapping;

use super::Imported;
use crate::error::Result;
use std::path::Path;

/// What the command line adds to the manifest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// The Copilot environment whose `environments.<NAME>` overrides apply.
    pub env: Option<&'a str>,
    /// The image the tasks run, instead of the manifest's (required with `image.build`).
    pub image: Option<&'a str>,
    /// The qfleet environment name (default: the service's name).
    pub environment_name: Option<&'a str>,
    /// The region written (a manifest names none).
    pub region: Option<&'a str>,
}

/// Imports the manifest text read from `path`: the stack file, validated as `qfleet
/// validate` validates stack files, and its report. An input error names the manifest's
/// line; a stack file that does not validate is an error that says why.
pub fn import(path: &Path, text: &str, opts: &Options) -> Result<Imported> {
    let m = manifest::Manifest::read(path, text, opts.env)?;
    let (draft, report) = mapping::map(&m, opts)?;
    let name = mapping::environment_name(&report.service);
    super::checked(draft.render(), report, path, &name)
}
