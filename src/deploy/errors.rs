//! The errors of a deploy, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2
//! and a `Refusal` 4.

crate::error::classes!(usage: Usage, refused: Refusal);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
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
}

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// An image repository with the environment's name (`qfleet/ENV`) but without qfleet's
    /// marks for it: qfleet pushes only to a repository it created for the environment.
    #[error(
        "{env}: ECR repository {repository} is not qfleet's for environment {env}: it lacks {}. qfleet pushes only to the repository it created for this environment; nothing was changed. Rename the environment, or delete or retag that repository",
        .lacks.join(" and ")
    )]
    RepositoryNotOurs {
        env: String,
        repository: String,
        lacks: Vec<String>,
    },
    /// `….image.build.promote_from`: the other environment's repository does not hold the
    /// image of this build's inputs, so there is no tested image to run.
    #[error(
        "{env}: {stage} runs {from}'s image (workers.image.build.promote_from), but {why}; nothing was changed. Deploy {from} with the same build inputs first (qfleet deploy {from}), then {env} again"
    )]
    PromotionUnready {
        env: String,
        stage: String,
        from: String,
        why: String,
    },
    /// `….image.build.promote_from`: this environment's repository holds the tag as an image
    /// of its own, and tags never move in qfleet's repositories.
    #[error(
        "{env}: {image} is an image of {env}'s own, not {from}'s ({theirs}); nothing was changed. A tag never moves in qfleet's repositories: change a build input (a build argument, say), deploy {from}, then {env}"
    )]
    PromotedTagTaken {
        env: String,
        from: String,
        /// `REPOSITORY:TAG (DIGEST)`: this environment's image.
        image: String,
        theirs: String,
    },
    /// A change set computed after the question (of `stack`) loses data (`resources`) the
    /// preview did not show.
    #[error(
        "{stack}: the change set computed after the question would remove or replace {}, which the preview did not show; it was deleted, not executed. Run `qfleet deploy {env}` again to review it",
        .resources.join(", ")
    )]
    UnpreviewedLoss {
        stack: String,
        env: String,
        resources: Vec<String>,
    },
    /// A deploy that would remove the queues of stages whose fleets still run; `file`: the
    /// stack file to tear them down by.
    #[error("{}", running_stages(.env, .file, .running))]
    RunningStages {
        env: String,
        file: String,
        running: Vec<RunningStage>,
    },
    /// The account's EC2 vCPU quotas cannot hold the fleet at `workers.max`
    /// ([`crate::deploy`]'s quota check), without `--over-quota`.
    #[error(
        "{env}: the account's EC2 quota in {region} cannot launch the fleet: {}; nothing was changed. Ask AWS for more (Service Quotas console, EC2; or `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code CODE --desired-value VCPUS`), lower workers.max, or give --over-quota to deploy anyway",
        .why.join("; ")
    )]
    OverQuota {
        env: String,
        region: String,
        why: Vec<String>,
    },
    /// `alerts.slack` or `alerts.teams` names a workspace or team the account has not
    /// authorised in the console of Amazon Q Developer in chat applications ([`crate::deploy`]).
    #[error(
        "{env}: {}; nothing was changed",
        .why.join("; ")
    )]
    ChatNotAuthorised { env: String, why: Vec<String> },
    /// A bucket of the environment's name outside any stack, without qfleet's marks.
    #[error(
        "{env}: bucket {bucket} exists outside any stack and is not qfleet's for this environment: it lacks {}. qfleet imports only a bucket an earlier teardown of this environment kept; nothing was changed. If this stack file should take it over, `qfleet deploy {env} --adopt` imports it after the preview",
        .lacks.join(" and ")
    )]
    BucketNotOurs {
        env: String,
        bucket: String,
        lacks: Vec<String>,
    },
}

fn running_stages(env: &str, file: &str, running: &[RunningStage]) -> String {
    let list =
        |f: &dyn Fn(&RunningStage) -> String| running.iter().map(f).collect::<Vec<_>>().join(", ");
    format!(
        "{env}: this deploy would remove the queues of {} while {} still run{}: nothing was executed. To remove a stage, put it back in the stack file, tear its fleet down ({}), then deploy without it; the deploy removes its queues, which needs --allow-replacement as any loss of data does",
        list(&|r| format!("stage {}", r.stage)),
        list(&|r| r.fleet.clone()),
        if running.len() == 1 { "s" } else { "" },
        list(&|r| format!("`qfleet teardown {file} --only fleet --stage {}`", r.stage)),
    )
}

/// A stage whose queues a deploy would remove while its fleet stack still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunningStage {
    pub(crate) stage: String,
    pub(crate) fleet: String,
}
