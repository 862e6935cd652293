//! `qfleet import copilot PATH`: a Copilot Worker Service manifest as a stack file, offline.

use super::Global;
use crate::config::FileError as Missing;
use crate::environments::errors::Usage as Named;
use crate::error::{Result, Usage};
use crate::import::errors::Usage as Import;
use crate::import::{self, Options};
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
    /// The Copilot environment imported: its `environments.NAME` overrides apply, and
    /// `${COPILOT_ENVIRONMENT_NAME}` is NAME; the qfleet environment is then named
    /// SERVICE-NAME.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The Copilot application: `${COPILOT_APPLICATION_NAME}` in the manifest is NAME
    /// (required when the manifest uses it).
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// The image the tasks run (REGISTRY/REPOSITORY:TAG), already pushed, instead of the
    /// manifest's image.location or image.build.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// The qfleet environment name (default: the service's name, followed by --env's).
    #[arg(long, value_name = "NAME")]
    pub environment_name: Option<String>,
    /// The VPC the tasks run in (with --subnet): needed for placement: private or subnets,
    /// else the default VPC.
    #[arg(long, value_name = "VPC_ID", requires = "subnet")]
    pub vpc: Option<String>,
    /// A subnet the tasks run in, with its availability zone (repeat for each zone, at
    /// least two; with --vpc).
    #[arg(long, value_name = "ZONE=SUBNET_ID", requires = "vpc", value_parser = zone_subnet)]
    pub subnet: Vec<(String, String)>,
    /// A subscribed topic's ARN (repeat for each): NAME, or SERVICE/NAME when two services
    /// publish topics of one name. The topic becomes a topic source (sources.topics); without
    /// it, the topic is reported as not carried.
    #[arg(long, value_name = "NAME=ARN", value_parser = topic_arn)]
    pub topic: Vec<(String, String)>,
    /// Write the stack file here (refused if the file exists) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--subnet ZONE=SUBNET_ID`.
fn zone_subnet(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((zone, subnet)) if !zone.trim().is_empty() && !subnet.trim().is_empty() => {
            Ok((zone.trim().to_string(), subnet.trim().to_string()))
        }
        _ => Err(format!(
            "`{s}` is not ZONE=SUBNET_ID (such as eu-west-1a=subnet-0123456789abcdef0)"
        )),
    }
}

/// `--topic NAME=ARN`.
fn topic_arn(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, arn)) if !name.trim().is_empty() && arn.trim().starts_with("arn:") => {
            Ok((name.trim().to_string(), arn.trim().to_string()))
        }
        _ => Err(format!(
            "`{s}` is not NAME=ARN (such as orders=arn:aws:sns:eu-west-1:111122223333:app-prod-api-orders)"
        )),
    }
}

/// A shell variable, for `${NAME}` in a manifest.
fn shell_variable(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The region written: --region, else the AWS region setting (a manifest names none).
fn written_region(g: &Global) -> Option<String> {
    g.region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
}

pub(crate) fn run(args: ImportArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let ImportFrom::Copilot(args) = args.from;
    let text = import::read_manifest(&args.path)?;
    let region = written_region(g);
    // The Copilot application: --app, else the workspace's (copilot/.workspace).
    let app = args.app.clone().or_else(|| workspace_app(&args.path));
    let imported = import::from_copilot(
        &args.path,
        &text,
        &Options {
            env: args.env.as_deref(),
            app: app.as_deref(),
            image: args.image.as_deref(),
            environment_name: args.environment_name.as_deref(),
            region: region.as_deref(),
            vpc: args.vpc.as_deref(),
            subnets: &args.subnet,
            topics: &args.topic,
            shell: Some(shell_variable),
            env_manifest: None,
            out_dir: args
                .out
                .as_deref()
                .map(|o| o.parent().unwrap_or(std::path::Path::new(""))),
        },
    );
    let imported = match imported {
        Ok(i) => i,
        Err(failure) => {
            // The report of what the import would have carried, then why it did not.
            if let Some(report) = &failure.report {
                crate::output::stderr_write(&report.text());
            }
            return Err(failure.error);
        }
    };
    taken(&imported.environment, app.as_deref(), &g.stacks_dir)?;
    out.print(&import::write(imported, args.out.as_deref())?)
}

/// The application a Copilot workspace names (`copilot/.workspace`, beside the service's
/// folder: `application: NAME`), when there is one.
fn workspace_app(manifest: &std::path::Path) -> Option<String> {
    let workspace = manifest.parent()?.parent()?.join(".workspace");
    let text = std::fs::read_to_string(workspace).ok()?;
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).ok()?;
    doc.get("application")?.as_str().map(str::to_string)
}

/// Refuses an environment name a stack file of the stacks directory already makes (by its
/// file name, the name it declares, a copy or a target): the two would deploy over each
/// other's stacks. A directory that does not exist makes none.
fn taken(name: &str, app: Option<&str>, stacks_dir: &std::path::Path) -> Result<()> {
    if !stacks_dir.is_dir() {
        return Ok(());
    }
    use crate::error::Error;
    let found = crate::environments::load_from(
        &[name.to_string()],
        stacks_dir,
        &crate::config::StackFiles::default(),
    );
    let file = match found {
        Ok(envs) => match envs.first() {
            Some(of) => of.source.path.clone(),
            None => return Ok(()),
        },
        Err(Error::Usage(Usage::StackFile(
            Missing::UnknownEnvironment { .. } | Missing::NoStackFile { .. },
        ))) => return Ok(()),
        Err(e) => match Named::file_naming(&e) {
            Some(Some(file)) => file,
            Some(None) => return Ok(()),
            // Whether a file makes it could not be read: said, never taken for "none".
            None => return Err(e),
        },
    };
    let suggested = match app {
        Some(app) if !name.starts_with(&format!("{app}-")) => format!("{app}-{name}"),
        _ => format!("{name}-2"),
    };
    Err(Import::ImportNameTaken {
        name: name.to_string(),
        file,
        suggested,
    }
    .into())
}
