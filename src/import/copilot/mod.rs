//! `qfleet import copilot`: a Copilot Worker Service manifest as a `workers.kind: fargate`
//! stack file. Reading the manifest (`manifest`) and mapping it (`mapping`) are apart; the
//! report is `crate::import::report`.

pub mod addons;
pub mod environment;
pub mod manifest;
pub mod mapping;

use super::{Failure, Imported};
use std::path::Path;

/// What the command line adds to the manifest.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options<'a> {
    /// The Copilot environment: its `environments.<NAME>` overrides apply, and it is what
    /// `${COPILOT_ENVIRONMENT_NAME}` resolves to.
    pub(crate) env: Option<&'a str>,
    /// The Copilot application: what `${COPILOT_APPLICATION_NAME}` resolves to.
    pub(crate) app: Option<&'a str>,
    /// The image the tasks run, instead of the manifest's (required with `image.build`).
    pub(crate) image: Option<&'a str>,
    /// The qfleet environment name (default: the service's name, and the Copilot
    /// environment's after it when `env` is given).
    pub(crate) environment_name: Option<&'a str>,
    /// The region written (a manifest names none).
    pub(crate) region: Option<&'a str>,
    /// The VPC of the subnets the tasks run in (`--vpc`).
    pub(crate) vpc: Option<&'a str>,
    /// Availability zone and subnet id of each subnet the tasks run in (`--subnet`).
    pub(crate) subnets: &'a [(String, String)],
    /// Each subscribed topic's ARN (`--topic NAME=ARN` or `--topic SERVICE/NAME=ARN`): the
    /// topic becomes a topic source of the stack file.
    pub(crate) topics: &'a [(String, String)],
    /// Looks `${NAME}` up in the shell's environment; `None`: none is defined.
    pub(crate) shell: Option<fn(&str) -> Option<String>>,
    /// The Copilot environment's own manifest, found beside the service's (read by
    /// [`import`]).
    pub(crate) env_manifest: Option<&'a environment::EnvManifest>,
    /// The directory the stack file is written to (`--out`'s; `None`: the current one): the
    /// paths of `workers.image.build` are written relative to it.
    pub(crate) out_dir: Option<&'a Path>,
}

/// Imports the manifest text read from `path`: the stack file, validated as `qfleet
/// validate` validates stack files, and its report. An input error names the manifest's
/// line; a stack file that does not validate is an error that says why. A refusal carries
/// the report when the manifest could be read (what would have been carried, and why not).
pub(crate) fn import(path: &Path, text: &str, opts: &Options) -> Result<Imported, Failure> {
    let vars = manifest::Variables {
        app: opts.app,
        env: opts.env,
        shell: opts.shell,
    };
    let m = manifest::Manifest::read(path, text, &vars)?;
    let beside = match opts.env {
        Some(env) => environment::beside(path, env)?,
        None => None,
    };
    let opts = &Options {
        env_manifest: beside.as_ref(),
        ..*opts
    };
    let (mut draft, mut report, problems) = mapping::map(&m, opts)?;
    report.not_carried.extend(addons::report(path));
    let name = mapping::environment_name(&report.service);
    let policies = addons::policies(
        path,
        &addons::Names {
            app: opts.app,
            env: opts.env,
            service: &m.name,
            environment: &name,
        },
    );
    if !policies.statements.is_empty() {
        draft.set(
            "workers.statements",
            crate::import::stack_file::Node::Scalar(
                serde_json::Value::from(policies.statements).to_string(),
            ),
            Some("the Copilot addons' policies (see the report)".into()),
        );
    }
    report.carried.extend(policies.carried);
    report.not_carried.extend(policies.not_carried);
    if !problems.is_empty() {
        return Err(Failure {
            error: crate::error::Error::Input(problems),
            report: Some(Box::new(report)),
        });
    }
    let written = opts
        .out_dir
        .unwrap_or(Path::new(""))
        .join(format!("{name}.yaml"));
    super::checked(draft.render(), report, path, &written)
}
