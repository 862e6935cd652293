//! `qfleet import copilot PATH`: a Copilot Worker Service manifest as a stack file, offline.

use super::Global;
use crate::error::{Error, Result};
use crate::import::copilot::{self, Options};
use crate::import::written;
use crate::output::Output;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub from: ImportFrom,
}

#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// A Copilot Worker Service manifest (copilot/SERVICE/manifest.yml): writes the
    /// equivalent `workers.kind: fargate` stack file (stdout, or --out), and reports on
    /// stderr what was carried over, defaulted, changed in meaning and not carried.
    Copilot(CopilotArgs),
}

#[derive(Debug, Args)]
pub struct CopilotArgs {
    /// The manifest (copilot/SERVICE/manifest.yml).
    pub path: PathBuf,
    /// Apply the manifest's `environments.NAME` overrides.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The image the tasks run (REGISTRY/REPOSITORY:TAG), instead of image.location; needed
    /// when the manifest builds its image (image.build).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// The qfleet environment name (default: the service's name).
    #[arg(long, value_name = "NAME")]
    pub environment_name: Option<String>,
    /// Write the stack file here (refused if the file exists) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: ImportArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let ImportFrom::Copilot(args) = args.from;
    let text = std::fs::read_to_string(&args.path).map_err(|e| {
        Error::usage(format!(
            "cannot read Copilot manifest {}: {e}",
            args.path.display()
        ))
    })?;
    // The region written: --region, else the AWS region setting (a manifest names none).
    let region = g
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    let imported = copilot::import(
        &args.path,
        &text,
        &Options {
            env: args.env.as_deref(),
            image: args.image.as_deref(),
            environment_name: args.environment_name.as_deref(),
            region: region.as_deref(),
        },
    )?;
    out.print(&written::write(imported, args.out.as_deref())?)
}
