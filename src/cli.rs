//! The command line: flags shared by every command and one subcommand per job.

use crate::commands::{self, Global};
use crate::error::{Error, Usage};
use crate::output::Output;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Deploy a queue-fed worker fleet on AWS with CloudFormation.
///
/// Exit codes: 0 success, 1 an AWS operation failed, 2 invalid input, 3 differences found
/// (drift, pending changes, a simulated latency goal missed), 4 refused to protect data, 5 a
/// tool qfleet runs failed (pip, npm; nothing changed on AWS), 130 interrupted (Ctrl-C; 143
/// SIGTERM, 129 SIGHUP). Answering no at a deploy's or teardown's question is 0: cancelled,
/// nothing changed.
#[derive(Debug, Parser)]
#[command(
    name = "qfleet",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("QFLEET_COMMIT"), ")"),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the CloudFormation templates of an environment (offline).
    Render(commands::render::RenderArgs),
    /// Check a stack file and its rendered templates (offline).
    Validate(commands::validate::ValidateArgs),
    /// Deploy environments through change sets: preview, confirm, execute, follow.
    Deploy(commands::deploy::DeployArgs),
    /// Show the change sets a deploy would execute, without executing them.
    Plan(commands::deploy::PlanArgs),
    /// Print the stacks' outputs (table, JSON, or KEY=value lines with --shell).
    Outputs(commands::outputs::OutputsArgs),
    /// Print a stage's worker environment as the fleet gets it (--shell for `eval`).
    Env(commands::env::EnvArgs),
    /// Run a worker here with a stage's settings (the reference worker, or -- COMMAND).
    Dev(commands::dev::DevArgs),
    /// Show stacks, fleet per zone, queues, backlog per instance and alarms.
    Status(commands::status::StatusArgs),
    /// Compare what runs with what was deployed (exit 3 on differences).
    Drift(commands::drift::DriftArgs),
    /// List every environment qfleet made in a region, with the stack file that makes it.
    Environments(commands::environments::EnvironmentsArgs),
    /// Delete environments: the fleet, then the data, refusing to lose data unasked.
    Teardown(commands::teardown::TeardownArgs),
    /// Print, as JSON, the least-privilege IAM policy a deploying role needs.
    IamPolicy(commands::iam_policy::IamPolicyArgs),
    /// The dead-letter queue: list (peeked), show, redrive to the job queue, purge (confirmed).
    Dlq(commands::dlq::DlqArgs),
    /// Uploads a test object and follows it to the queue and the processed prefix.
    Send(commands::send::SendArgs),
    /// Send one job as a message to the job queue (its id in job_id); --wait follows it to its end.
    Submit(commands::submit::SubmitArgs),
    /// Show one upload's jobs with their history, or the recent jobs (--failed, --since), from
    /// the job table (`jobs:` in the stack file).
    Jobs(commands::jobs::JobsArgs),
    /// Show the workers' log lines, each with its instance or invocation (--follow, --since, --filter).
    Logs(commands::logs::LogsArgs),
    /// Simulate the fleet's scaling under a load, offline (exit 3 when the latency goal is missed).
    Simulate(commands::simulate::SimulateArgs),
    /// Write a stack file from another tool's workload definition (a Copilot Worker Service
    /// manifest), with a report of what was carried over and what was not (offline).
    Import(commands::import::ImportArgs),
    /// Print a shell completion script; it completes commands, flags and environment names.
    Completions {
        /// Shell to generate completions for.
        shell: clap_complete::Shell,
    },
}

/// Parses the command line, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    // Run by a completion script (`COMPLETE=bash qfleet -- qfleet deploy la`): print the
    // candidates and exit.
    clap_complete::CompleteEnv::with_factory(completing_command)
        .bin("qfleet")
        .complete();
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, command_name(&m))));
    let (cli, command) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr.
            let _ = e.print();
            if e.use_stderr() {
                usage_error_document(&e);
            }
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_tracing(cli.global.debug);
    // SIGTERM and SIGHUP stop a run as Ctrl-C does, from here on.
    crate::error::listen_for_signals();
    let out = Output::new(cli.global.output, command);
    out.document_on_deadline();
    // Keep each error's headline on one line: CI logs are grepped for file:line:column.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let code = match run(cli, out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            e.exit_code()
        }
    };
    // What every environment shared (missing credentials), told once, last.
    out.finish();
    ExitCode::from(code.code())
}

/// A command line clap rejected, as the JSON document when JSON output was asked for (as far as
/// the words of the line say): stdout then holds one document whatever went wrong.
fn usage_error_document(e: &clap::Error) {
    use clap::ValueEnum;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut format = std::env::var("QFLEET_OUTPUT").ok();
    for (i, a) in args.iter().enumerate() {
        let value = match a.as_str() {
            "-o" | "--output" => args.get(i + 1).map(String::as_str),
            _ => a
                .strip_prefix("--output=")
                .or_else(|| a.strip_prefix("-o="))
                .or_else(|| a.strip_prefix("-o")),
        };
        if let Some(v) = value {
            format = Some(v.to_string());
        }
    }
    let Some(format) = format.and_then(|f| crate::output::Format::from_str(&f, true).ok()) else {
        return;
    };
    let cli = Cli::command();
    let command = args
        .iter()
        .find_map(|a| cli.find_subcommand(a).map(|c| leak(c.get_name())))
        .unwrap_or("qfleet");
    let out = Output::new(format, command);
    if !out.is_json() {
        return;
    }
    // The error's words up to its usage line, on one line.
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    // clap has said the error on stderr already.
    out.document_only(crate::output::envelope::failure(
        command,
        &Usage::Arguments(message.to_string()).into(),
    ));
}

/// `--debug` logs qfleet's own debug lines (one per AWS request) on stderr; `RUST_LOG` chooses
/// any other filter (e.g. `RUST_LOG=qfleet=debug,aws_smithy_runtime=trace`).
fn init_tracing(debug: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::new(f),
        _ if debug => EnvFilter::new("qfleet=debug"),
        _ => return,
    };
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}

/// Runs a parsed command; returns the exit code of a successful run (0, or 3 for differences).
pub fn run(cli: Cli, out: Output) -> Result<crate::error::Exit, Error> {
    let g = &cli.global;
    match cli.command {
        Command::Render(args) => commands::render::run(args, g, out),
        Command::Validate(args) => commands::validate::run(args, g, out),
        Command::Deploy(args) => commands::deploy::deploy(args, g, out),
        Command::Plan(args) => commands::deploy::plan(args, g, out),
        Command::Outputs(args) => commands::outputs::run(args, g, out),
        Command::Env(args) => commands::env::run(args, g, out),
        Command::Dev(args) => commands::dev::run(args, g, out),
        Command::Status(args) => commands::status::run(args, g, out),
        Command::Drift(args) => commands::drift::run(args, g, out),
        Command::Environments(args) => commands::environments::run(args, g, out),
        Command::Teardown(args) => commands::teardown::run(args, g, out),
        Command::IamPolicy(args) => commands::iam_policy::run(args, g, out),
        Command::Dlq(args) => commands::dlq::run(args, g, out),
        Command::Send(args) => commands::send::run(args, g, out),
        Command::Submit(args) => commands::submit::run(args, g, out),
        Command::Jobs(args) => commands::jobs::run(args, g, out),
        Command::Logs(args) => commands::logs::run(args, g, out),
        Command::Simulate(args) => commands::simulate::run(args, g, out),
        Command::Import(args) => commands::import::run(args, g, out),
        Command::Completions { shell } => commands::completions::run(shell),
    }
}

/// The command line as completion sees it: every ENV argument completes to the environment
/// names of the stacks directory (and a path to a stack file once it holds a `/`).
pub fn completing_command() -> clap::Command {
    use clap_complete::ArgValueCompleter;
    Cli::command().mut_subcommands(|sub| {
        sub.mut_args(|arg| {
            if arg.is_positional() && matches!(arg.get_id().as_str(), "env" | "envs") {
                arg.add(ArgValueCompleter::new(commands::completions::complete_env))
            } else {
                arg
            }
        })
    })
}

/// The subcommand's name as the command line spells it (clap's, from [`Command`]'s variants:
/// the one place command names are written), which JSON output's `command` says.
fn command_name(matches: &clap::ArgMatches) -> &'static str {
    leak(matches.subcommand_name().unwrap_or("qfleet"))
}

/// A name kept for the whole run (one per process, a few bytes).
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The lists in `schemas/output/common.json` that the code defines are the code's: the
    /// commands (clap's subcommands), the exit codes ([`crate::error::Exit`]) and the events
    /// (checked with the features' events in `commands::schemas`). `QFLEET_WRITE_SCHEMA=1`
    /// writes them.
    #[test]
    fn common_json_lists_the_commands_and_exit_codes_of_the_code() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/output/common.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut common: Value = serde_json::from_str(&text).unwrap();
        let cli = Cli::command();
        let commands: Vec<&str> = cli
            .get_subcommands()
            .map(|c| c.get_name())
            .filter(|n| *n != "help")
            .collect();
        let exit = serde_json::to_value(schemars::schema_for!(crate::error::Exit)).unwrap();
        let defs = &mut common["$defs"];
        let listed_commands = defs["envelope"]["properties"]["command"]["enum"].clone();
        let listed_codes = defs["exit_code"]["enum"].clone();
        defs["envelope"]["properties"]["command"]["enum"] = serde_json::json!(commands);
        defs["exit_code"]["enum"] = exit["enum"].clone();
        if std::env::var_os("QFLEET_WRITE_SCHEMA").is_some() {
            std::fs::write(&path, serde_json::to_string_pretty(&common).unwrap() + "\n").unwrap();
            return;
        }
        assert_eq!(
            listed_commands,
            serde_json::json!(commands),
            "common.json's commands are not clap's (QFLEET_WRITE_SCHEMA=1 writes them)"
        );
        assert_eq!(
            listed_codes, exit["enum"],
            "common.json's exit codes are not Exit's (QFLEET_WRITE_SCHEMA=1 writes them)"
        );
    }
}

/// The commands qfleet prints, read back as a person pastes them: each `` `qfleet …` `` span
/// of a text, split into words as a POSIX shell splits them, and parsed by this command line.
#[cfg(test)]
pub(crate) mod printed {
    use clap::Parser;

    /// Every `` `qfleet …` `` span of `text`, its words as a shell splits them (`None`: the
    /// shell could not split it, an unclosed quote), `qfleet` first.
    pub(crate) fn commands(text: &str) -> Vec<(String, Option<Vec<String>>)> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|span| span.starts_with("qfleet "))
            .map(|span| (span.to_string(), shlex::split(span)))
            .collect()
    }

    /// The command line `words` (`qfleet` first) as the CLI parses it.
    pub(crate) fn parse(words: &[String]) -> Result<super::Cli, clap::Error> {
        super::Cli::try_parse_from(words)
    }

    /// Every command printed in `text`, parsed; a panic names the first that does not split
    /// or parse. Their parsed lines, in order.
    pub(crate) fn parse_all(text: &str) -> Vec<super::Cli> {
        commands(text)
            .into_iter()
            .map(|(span, words)| {
                let Some(words) = words else {
                    panic!("`{span}` does not split as a shell splits it, in: {text}");
                };
                parse(&words).unwrap_or_else(|e| panic!("`{span}` does not parse: {e}\nin: {text}"))
            })
            .collect()
    }
}
