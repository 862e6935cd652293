//! Usage errors (exit 2): a bad flag or argument, an environment or file that cannot be
//! found, read or written. Each variant carries what went wrong as data; its message is the
//! one the user reads.

use super::InputError;
use std::path::PathBuf;

/// A bad command-line flag or argument, or a missing file.
#[derive(Debug, thiserror::Error)]
pub enum Usage {
    // The command line.
    /// The argument parser's own message (clap), on one line.
    #[error("{0}")]
    Arguments(String),
    /// A flag's value that is not what the flag takes (a flag that takes none: its value is
    /// empty, and not shown).
    #[error("{flag}{}: {why}", spaced(.value))]
    FlagValue {
        flag: &'static str,
        value: String,
        why: String,
    },
    /// Something only text output can do, asked for with JSON output: what and why.
    #[error("{0}")]
    TextOnly(&'static str),
    /// `dev` for a function: Lambda polls its queue and calls the handler.
    #[error(
        "{env}'s workers are a Lambda function: Lambda polls the queue and calls the handler, so there is no worker for qfleet dev to run here; `qfleet env {env}` prints the function's variables"
    )]
    DevFunction { env: String },
    /// `dev --as-workers` where the workers' role trusts no developer.
    #[error(
        "{env}: --as-workers needs the workers' role to trust you: add your role's or user's ARN to workers.dev_principals and deploy (an opt-in: they may then do all the workers may)"
    )]
    DevAsWorkersNotTrusted { env: String },
    /// A command that acts on one environment, given a name for several.
    #[error("{command} takes one environment; `{named}` names {count}")]
    OneEnvironment {
        command: &'static str,
        named: String,
        count: usize,
    },
    /// `outputs --shell` for several environments.
    #[error(
        "--shell takes one environment ({count} named: their KEY=value lines would overwrite each other)"
    )]
    ShellOneEnvironment { count: usize },
    /// `iam-policy` of targets (`targets`) in several accounts: a policy is one account's.
    #[error(
        "iam-policy prints one account's policy, and these targets are in {accounts}; pass --account ID for that account's targets, or name the targets of one account (their environments' names)"
    )]
    TargetAccounts { accounts: String },
    /// iam-policy for environments of several AWS partitions.
    #[error(
        "iam-policy prints one account's policy, and an account is in one partition: these environments are in the partitions {partitions}; name the environments of one"
    )]
    Partitions { partitions: String },
    /// `--region` or `--role-arn` for a target of a stack file, which names its own.
    #[error(
        "{flag} does not go with {env}, a target of {file}: the target names its own {what}; name the file's targets in a run without {flag}"
    )]
    TargetFlag {
        flag: &'static str,
        env: String,
        file: String,
        /// `region`, or `role`.
        what: &'static str,
    },
    /// The targets of a stack file in `rollout.mode: stack_sets` cannot share a template.
    /// No environment was left to act on (`what`: `act on`, `send to`).
    #[error("no environment to {what}")]
    NoEnvironment { what: &'static str },
    /// `deploy` without `--yes` and no terminal to ask on.
    #[error(
        "not deploying without confirmation: there is no terminal to ask on; pass --yes (nothing was read or changed)"
    )]
    DeployUnconfirmed,
    /// An environment's change sets, with no terminal to ask on and no `--yes`.
    #[error(
        "{env}: not executing the change sets without confirmation: no terminal to ask on; pass --yes"
    )]
    ChangeSetsUnconfirmed { env: String },
    /// `status --watch` with a single-document output.
    #[error("--watch prints a document per refresh: use --output ndjson (one document per line)")]
    WatchNeedsNdjson,
    /// `logs --filter ''` or `logs --job ''`.
    #[error("{flag} needs some text to look for")]
    EmptyFilter { flag: &'static str },
    /// `completions` for a shell it has none for.
    #[error("no completions for {shell}")]
    NoCompletions { shell: String },
    #[error("cannot write the completion script: {source}")]
    CompletionScript { source: std::io::Error },

    // Environments and their stack files.
    /// A stack file that could not be found or read (its words are the stack file's).
    #[error(transparent)]
    StackFile(crate::config::FileError),
    /// The same environment named twice on the command line.
    #[error("environment `{env}` is named twice")]
    NamedTwice { env: String },
    /// An environment name that several stack files declare.
    #[error(
        "`{name}` is declared by several stack files ({}); name the file instead",
        paths(.files)
    )]
    DeclaredTwice { name: String, files: Vec<PathBuf> },
    /// A name that is one stack file's and a target's or copy's of another (`orders-eu1.yaml`
    /// beside `orders.yaml` with target `eu1`): both would be the same stacks.
    #[error(
        "`{name}` is the stack file {} and also an environment of {} (a target or copy); both would be the same stacks: rename or remove one",
        .file.display(),
        .of.display()
    )]
    FileAndMember {
        name: String,
        file: PathBuf,
        of: PathBuf,
    },
    /// A name that more than one environment has (a live one and one its file no longer
    /// makes, after a split or a move): which one is meant is asked, never guessed.
    #[error(
        "`{name}` names more than one environment: {}; name one with its place (NAME@REGION, or NAME@ACCOUNT/REGION)",
        .candidates.join(", ")
    )]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    /// `--region` or `--role-arn` with an environment named with its place: the address says
    /// where it is, and a flag would send the command elsewhere.
    #[error(
        "{flag} does not go with NAME@REGION: the address says where the environment is; leave {flag} out"
    )]
    PlaceWithFlag { flag: String },
    /// An environment named with its place (`orders-us1@us-east-1`) that no stack file here
    /// makes or made there.
    #[error(
        "no environment `{name}` in {place} that a stack file in {} makes or made: {}",
        .stacks_dir.display(),
        .why
    )]
    NotAtPlace {
        name: String,
        place: String,
        stacks_dir: PathBuf,
        why: String,
    },
    /// A name whose base is a stack file of targets or copies, none of them this one.
    #[error(
        "no environment `{name}`: {} makes {}{}",
        .file.display(),
        names_of(.known),
        account_pick_hint(.name)
    )]
    NotInFile {
        name: String,
        file: PathBuf,
        known: Vec<String>,
    },
    /// A name that is one stack file's and that other files declare (`environment:`): both
    /// would make the same environments.
    #[error(
        "`{name}` is the stack file {} and is also declared (`environment:`) by {}; name the file instead",
        .file.display(),
        paths(.declared_by)
    )]
    FileAndDeclared {
        name: String,
        file: PathBuf,
        declared_by: Vec<PathBuf>,
    },
    #[error("`{pattern}` is not a valid pattern: {source}")]
    BadPattern {
        pattern: String,
        source: glob::PatternError,
    },
    /// A pattern that matches no environment.
    #[error("no environment in {} matches `{pattern}`", .stacks_dir.display())]
    NoMatch {
        pattern: String,
        stacks_dir: PathBuf,
    },
    /// `--stage` for a stack file (`file`) without stages.
    #[error("--stage {stage}: {file} declares no stages; leave --stage out")]
    NoStages { stage: String, file: String },
    /// `--stage` naming no stage of the stack file.
    #[error("--stage {stage}: {file} has no such stage; its stages are {}", .stages.join(", "))]
    UnknownStage {
        stage: String,
        file: String,
        stages: Vec<String>,
    },

    // simulate
    /// What the simulator refused a run for (`--load`, a missing setting, `--tune`).
    #[error(transparent)]
    Simulation(crate::sim::Error),
    #[error("--chart: cannot draw the chart: {why}")]
    ChartUndrawable { why: String },
    #[error("--chart {}: cannot write it: {source}", .path.display())]
    ChartUnwritable {
        path: PathBuf,
        source: std::io::Error,
    },

    // send
    #[error("cannot read {}: {source}", .path.display())]
    JobUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `submit --lines`: a line that is not a job SQS and the workers take.
    #[error("{}:{line}: {why}", .path.display())]
    JobLine {
        path: PathBuf,
        line: usize,
        why: String,
    },
    /// `send --until queue` where a look could send the job to the dead-letter queue.
    #[error(
        "--until queue looks into the job queue, and each look counts as a receive toward queue.max_receive_count ({max_receive_count}): a single look could send a job to the dead-letter queue. Use --until processed"
    )]
    UntilQueue { max_receive_count: i64 },
    /// `send` to an environment whose uploads feed no queue (`sources.uploads: false`).
    #[error(
        "{env} takes no uploads (sources.uploads: false), so an uploaded file would make no job: send a job with `qfleet submit {env} BODY`"
    )]
    NoUploads { env: String },
    /// An object key outside the bucket's upload prefix.
    #[error("{key} is not under the upload prefix {prefix}")]
    NotUnderPrefix { key: String, prefix: String },

    // jobs
    /// `jobs` (or a job lookup) for an environment without `jobs:`.
    #[error(
        "{env} has no job table: add `jobs: {{}}` to its stack file and deploy it (docs/jobs.md)"
    )]
    NoJobTable { env: String },
    /// `jobs --state` with a word that is not a state.
    #[error("--state {state}: a job's state is one of {allowed}")]
    JobState { state: String, allowed: String },

    // dlq
    /// `dlq show` of a pipeline: no stage's dead-letter queue holds the message.
    #[error(
        "{env}: no message {id} in any stage's dead-letter queue (`qfleet dlq {env} list` shows the ids)"
    )]
    NoMessageInAnyStage { env: String, id: String },
    /// `dlq show` of one queue (`who`: the environment, or its stage) without the message.
    #[error(
        "{who}: no message {id} in the dead-letter queue (`qfleet dlq {env} list` shows the ids)"
    )]
    NoMessage {
        who: String,
        env: String,
        id: String,
    },
    /// `jobs ID --cancel` of a job the table has no record of.
    #[error("{env}: no job with id or upload key {id} in the job table {table}: nothing to cancel")]
    NoJob {
        env: String,
        id: String,
        table: String,
    },
    /// `dlq redrive --job` of a job with no message in the dead-letter queue.
    #[error(
        "{who}: no message of job {job} in the dead-letter queue (`qfleet dlq {env} list` names each message's jobs; `qfleet jobs {env} {job_arg}` says where the job is)"
    )]
    NoDeadLetterOfJob {
        who: String,
        env: String,
        job: String,
        /// The job's id as the command's last argument, shell-quoted.
        job_arg: String,
    },
    /// `dlq redrive` or `purge` of a pipeline without `--stage`.
    #[error(
        "dlq {action}: {env} is a pipeline with a dead-letter queue per stage; name the one to {action} with --stage ({})",
        .stages.join(", ")
    )]
    StageNeeded {
        action: &'static str,
        env: String,
        stages: Vec<String>,
    },

    // teardown
    #[error(
        "{env}: --stage {stage} names no stage of the stack file, or comes without --only fleet"
    )]
    TeardownStage { env: String, stage: String },

    // render
    #[error("--out {}: cannot create it: {source}", .dir.display())]
    OutDirUncreatable {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("--out {}: cannot write {}: {source}", .dir.display(), .path.display())]
    OutFileUnwritable {
        dir: PathBuf,
        path: PathBuf,
        source: std::io::Error,
    },

    // validate
    /// Problems `cfn-lint`-like checks found in the rendered templates.
    #[error("the rendered templates of {env} have problems:\n  {}", .problems.join("\n  "))]
    TemplateProblems { env: String, problems: Vec<String> },

    // The offline engine (crates/qfleet-engine).
    /// What the engine refuses besides a stack file's problems: a StackSets file whose
    /// targets do not merge, a policy IAM would not take, its IAM reference unreadable.
    #[error(transparent)]
    Engine(qfleet_engine::Error),
    /// A feature's own usage error (placement's, …), in its words.
    #[error(transparent)]
    Of(super::Of),

    // import
    #[error("cannot read Copilot manifest {}: {source}", .path.display())]
    ManifestUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--env` naming no environment the manifest overrides (`known`: those it does).
    #[error(
        "--env {env}: {} has no `environments.{env}`; {}",
        .manifest.display(),
        manifest_environments(.known)
    )]
    NoManifestEnvironment {
        env: String,
        manifest: PathBuf,
        known: Vec<String>,
    },
    /// A service name that makes no environment name (at most `max_len` characters).
    #[error(
        "{}: the service name `{service}` makes no qfleet environment name (lowercase letters, digits and single hyphens, starting with a letter, at most {max_len} characters); give one with --environment-name",
        .manifest.display()
    )]
    ServiceName {
        manifest: PathBuf,
        service: String,
        max_len: usize,
    },
    /// The imported stack file's problems.
    #[error(
        "the stack file imported from {} does not validate, so it was not written:\n{}\n(fix the manifest, or give the value with a flag: --image, --environment-name, --region)",
        .manifest.display(),
        import_problems(.problems)
    )]
    ImportInvalid {
        manifest: PathBuf,
        problems: Vec<InputError>,
    },
    #[error(
        "--out {}: the file exists; qfleet import does not overwrite it (remove it or choose another name)",
        .path.display()
    )]
    ImportExists { path: PathBuf },
    /// `qfleet environments` with no region to list.
    #[error(
        "qfleet environments lists one region: give --region (or set AWS_REGION, or a region in the profile), or --all-regions for every Region enabled for the account"
    )]
    EnvironmentsRegion,
    /// `qfleet environments --all-regions` with `--region`.
    #[error(
        "--all-regions lists every Region enabled for the account; --region names one: give one of them"
    )]
    EnvironmentsRegions,
    /// An import whose environment name a stack file of the stacks directory already makes:
    /// the two files would deploy over each other's stacks.
    #[error(
        "`{name}` is already an environment of {}: the imported file would deploy over its stacks; give --environment-name {suggested} (or another name)",
        .file.display()
    )]
    ImportNameTaken {
        name: String,
        file: PathBuf,
        suggested: String,
    },
    #[error("cannot write {}: {source}", .path.display())]
    ImportUnwritable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Environments' names, each said, or the first two and the last of a long list (a file's
/// copies): `class-01, class-02, …, class-24 (24 environments)`.
fn names_of(names: &[String]) -> String {
    match names {
        [first, second, .., last] if names.len() > 6 => {
            format!(
                "{first}, {second}, …, {last} ({} environments)",
                names.len()
            )
        }
        _ => names.join(", "),
    }
}

fn paths(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn manifest_environments(known: &[String]) -> String {
    if known.is_empty() {
        "the manifest overrides no environment; leave --env out".to_string()
    } else {
        format!("its environments are {}", known.join(", "))
    }
}

fn import_problems(problems: &[InputError]) -> String {
    problems
        .iter()
        .map(|p| {
            format!(
                "  {} (line {} of the stack file): {}",
                p.field, p.line, p.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// For a name with `@`: how an account of a whole-unit target is named.
fn account_pick_hint(name: &str) -> &'static str {
    match name.contains('@') {
        true => {
            "; ENV-TARGET@ACCOUNT names one account (its 12 digits) of a target that stands for a whole AWS Organizations unit (rollout.auto_deployment), in status, outputs, drift, dlq, send, jobs, logs and teardown"
        }
        false => "",
    }
}

/// ` VALUE`, or nothing for a flag given without one.
fn spaced(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" {value}")
    }
}
