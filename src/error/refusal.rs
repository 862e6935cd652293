//! Refusals (exit 4): qfleet would not go on, because data would be lost or what it would act
//! on is not its own. Each variant carries what was at stake; its message says what was not
//! done and how to go ahead.

use std::path::PathBuf;

/// Why qfleet refused to go on.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Another run holds the environment's lock: it is changing the environment now.
    #[error(
        "{env} is being changed by another run: {by}, its lock last renewed {renewed}; nothing was changed. Run again when it ends (a run that crashed frees the lock {lease} minutes after its last renewal)"
    )]
    Locked {
        env: String,
        by: String,
        renewed: String,
        lease: u64,
    },
    /// The run's lock was taken over (or could not be confirmed) before its first change:
    /// another run may be changing the environment.
    #[error(
        "{env}: this run's lock could not be confirmed before its first change ({why}); nothing was changed. Another run may be changing {env}: check it with `qfleet status {env}`, then run again"
    )]
    LockLost { env: String, why: String },
    /// `jobs ID --cancel` of a job none of whose records waits in its queue.
    #[error(
        "{env}: job {id} is not waiting in its queue ({}): only a queued or retrying job can be cancelled; nothing was changed. A job a worker holds finishes or fails as it would",
        .states.join(", ")
    )]
    JobNotWaiting {
        env: String,
        id: String,
        states: Vec<String>,
    },
    /// `dev` on a protected environment, without `--on-protected`.
    #[error(
        "{env} is protected: a worker run by `qfleet dev` takes its real jobs from its queue; nothing was started. Give --on-protected to run it there anyway"
    )]
    DevOnProtected { env: String },
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
    // Whose the resources are, and which account.
    /// A stack with the environment's name but without qfleet's marks for it (`lacks`).
    #[error(
        "{env}: stack {stack} is not qfleet's for environment {env}: it lacks {}. qfleet changes only the stacks it created for this environment; nothing was changed. If this stack file should manage it, `qfleet plan {env} --adopt` previews taking it over and `qfleet deploy {env} --adopt` does it (its template becomes qfleet's: resources qfleet's template does not declare are deleted)",
        .lacks.join(" and ")
    )]
    StackNotOurs {
        env: String,
        stack: String,
        lacks: Vec<String>,
    },
    /// The credentials' account is not one the stack file (`file`) allows.
    #[error(
        "{env}: the credentials are for account {account}, and {} allows only {} (accounts); nothing was read or changed. Use credentials of an allowed account, or add this one to accounts",
        .file.display(),
        .allowed.join(", ")
    )]
    WrongAccount {
        env: String,
        account: String,
        file: PathBuf,
        allowed: Vec<String>,
    },

    // deploy
    /// The change sets lose data and `--allow-replacement` was not given.
    #[error(
        "{env}: the change sets remove or replace {} holding data; nothing was executed. Review them with `qfleet plan {env}` and pass --allow-replacement to go ahead",
        loss_list(.losses)
    )]
    DataLoss { env: String, losses: Vec<Loss> },
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
    /// A rollout in waves stopped at a target deployed in `wave`: `why` (an alarm in ALARM,
    /// alarms that could not be read, or not OK at the bake's end); `file` names the stack
    /// file for `--resume`.
    #[error(
        "after wave {wave} was deployed, {why}; the rollout stopped there and the later waves were not deployed. Once it is dealt with, `qfleet deploy {file}` goes on once the wave's alarms are OK, or `--resume` once its bake has run out, from the next wave"
    )]
    RolloutStopped {
        wave: u32,
        why: String,
        file: String,
    },
    /// A target of a later wave than the one the rollout stopped at (`by` says why).
    #[error("not deployed: the rollout stopped at wave {wave} ({by}); nothing was changed here")]
    NotDeployed { wave: u32, by: String },
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

    // dlq
    /// `dlq purge --confirm N` where the queue holds another count.
    #[error(
        "{env}: {queue} holds {held} messages, not {confirmed}: nothing was deleted; look again (`qfleet dlq {target} list`) and confirm the count it holds"
    )]
    PurgeCountMismatch {
        env: String,
        queue: String,
        held: u64,
        confirmed: u64,
        /// How the command names the queue's owner (`ENV` or `ENV --stage STAGE`).
        target: String,
    },
    /// `dlq purge` without `--confirm`.
    #[error(
        "{env}: purging {queue} deletes its {held} messages for good: nothing was deleted; run `qfleet dlq {target} purge --confirm {held}` to delete exactly those"
    )]
    PurgeUnconfirmed {
        env: String,
        queue: String,
        held: u64,
        target: String,
    },

    // teardown
    /// The teardown's reasons, each described.
    #[error(transparent)]
    Teardown(#[from] TeardownRefusal),
    /// A feature's own refusal (placement's, …), in its words.
    #[error(transparent)]
    Of(super::Of),
    /// A teardown without `--yes` and no terminal to ask on.
    #[error(
        "not deleting {} without confirmation: no terminal to ask on; pass --yes",
        .stacks.join(", ")
    )]
    TeardownUnconfirmed { stacks: Vec<String> },
    /// Objects written to the bucket while it was being emptied.
    #[error(
        "{env}: {} arrived in bucket {bucket} while it was being emptied; they and the data stack were kept. Run the teardown again",
        count_objects(*.objects)
    )]
    ObjectsArrived {
        env: String,
        bucket: String,
        objects: u64,
    },
}

/// A resource a change set removes or replaces, and its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub(crate) resource: String,
    pub(crate) stack: String,
}

/// A stage whose queues a deploy would remove while its fleet stack still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningStage {
    pub(crate) stage: String,
    pub(crate) fleet: String,
}

/// A teardown's refusal, every reason at once (the reasons themselves are the teardown's, in
/// its JSON `refusals`; here each as its description).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct TeardownRefusal {
    pub(crate) env: String,
    /// Each reason, described.
    pub(crate) reasons: Vec<String>,
    /// The flags that would allow the losses, each once.
    pub(crate) flags: Vec<&'static str>,
    /// A bucket or queue holds data.
    pub(crate) holds_data: bool,
    /// Something could not be checked.
    pub(crate) unchecked: bool,
    /// Refused when checked again after the fleet was deleted (the data stack stays).
    pub(crate) rechecked: bool,
    /// A fleet stack may be left (`--only fleet` would tear it down and keep the data).
    pub(crate) fleet_left: bool,
}

impl TeardownRefusal {
    fn message(&self) -> String {
        let mut msg = format!(
            "{}: nothing was deleted: {}.",
            self.env,
            self.reasons.join("; ")
        );
        if self.holds_data {
            msg.push_str(&format!(
                " To delete it anyway pass {}",
                self.flags.join(" and ")
            ));
            if self.fleet_left {
                msg.push_str(", or tear down only the workers with --only fleet");
            }
        } else if !self.flags.is_empty() {
            msg.push_str(&format!(" Pass {} to go ahead", self.flags.join(" and ")));
        }
        if self.unchecked {
            msg.push_str(" Nothing is deleted on a guess: run the teardown again when AWS answers");
        }
        if self.rechecked {
            msg.push_str(" (checked again after the fleet was deleted; the data stack stays)");
        }
        msg
    }
}

fn loss_list(losses: &[Loss]) -> String {
    losses
        .iter()
        .map(|l| format!("{} ({})", l.resource, l.stack))
        .collect::<Vec<_>>()
        .join(", ")
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

/// `3 objects`, `1 object`, `1,200 objects`.
fn count_objects(n: u64) -> String {
    format!(
        "{} {}",
        indicatif::HumanCount(n),
        if n == 1 { "object" } else { "objects" }
    )
}
