//! What placement refuses, in its own words: a target's StackSets, its unit's accounts and
//! where its stacks are. [`crate::error`] gives each the exit code of its class (a [`Usage`]
//! exits 2, a [`Refusal`] 4) through [`crate::error::Of`]; no other module words these.

use std::path::PathBuf;

crate::error::classes!(usage: Usage, refused: Refusal);

/// A flag, a name or a file that placement cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
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
    /// `env` or `dev` for a target deployed through StackSets: its stacks' names are
    /// StackSets' own, which the workers' variables name.
    #[error(
        "{env} is deployed through StackSets, whose stacks are named by StackSets (StackSet-…): the workers' variables that name them are not known here, so {command} cannot give them as the fleet has them; read them from an instance's /etc/qfleet/worker.env or the task definition"
    )]
    WorkerEnvNotDirect { env: String, command: &'static str },
    /// A stack set whose permission model is not the one its stack file says.
    #[error(
        "stack set {set} has {has} permissions, and {file} says {wanted} (rollout.permission_model): a stack set keeps its permission model once it has instances; nothing was changed. Keep the model the stack set has, or tear the targets down before changing it"
    )]
    StackSetPermissionModel {
        set: String,
        has: String,
        file: String,
        wanted: String,
    },
    /// `iam-policy` for StackSets targets and other environments at once.
    #[error(
        "iam-policy for {stack_sets} (deployed through CloudFormation StackSets) and {other} at once: the account of a StackSets file's policy is the one that holds its stack sets, and the others' is the one they live in; print their policies one run each"
    )]
    StackSetsMixed { stack_sets: String, other: String },
    /// `iam-policy` for a service-managed file acted on as the management account and one
    /// acted on as a delegated administrator: an account is one or the other.
    #[error(
        "iam-policy for {holder} (rollout.call_as: self, the organization's management account) and {delegated} (rollout.call_as: delegated_admin) at once: the management account is not a delegated administrator, so one account's policy cannot serve both; print their policies one run each"
    )]
    CallAsMixed { holder: String, delegated: String },
    /// A StackSets deploy without `--yes`: there is no change set to ask about.
    #[error(
        "{file}: not deploying stack sets without --yes: StackSets has no change set to preview per instance; review `qfleet plan` (each target's stack sets and instances), then deploy with --yes (nothing was changed)"
    )]
    StackSetsUnconfirmed { file: String },
    /// `ENV@ACCOUNT` for an account of a unit-wide target where it has no stacks, or for an
    /// environment that is no unit-wide target.
    #[error(
        "`{name}`: {}",
        match .accounts {
            None => format!("`{}` is not a target that stands for a whole AWS Organizations unit (rollout.auto_deployment), so it has no accounts to pick with @ACCOUNT; name it without @", .base),
            Some(a) if a.is_empty() => format!("{} has no stacks in any account of its unit yet (no stack set instance in its region)", .base),
            Some(a) => format!("{} has no stacks in that account; the accounts of its unit where it has: {}", .base, a.join(", ")),
        }
    )]
    NoSuchAccount {
        name: String,
        base: String,
        accounts: Option<Vec<String>>,
    },
    /// `ENV@ACCOUNT` named to `deploy` or `plan`: a unit is deployed whole.
    #[error(
        "`{name}`: the accounts of a target that stands for a whole AWS Organizations unit are deployed together (StackSets deploys the unit, and an account that joins it): plan or deploy `{base}`"
    )]
    AccountDeployedAlone { name: String, base: String },
}

/// Why placement would not go on: a stack set that is not the file's, or one whose change
/// could lose data or reach accounts the file does not name (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
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
    /// A stack set with the file's stack set name but without the file's marks (`lacks`):
    /// neither it nor its instances are the file's.
    #[error(
        "{env}: stack set {set} is not qfleet's for this stack file: it lacks {}. qfleet changes only the stack sets it created for the file, and their instances; nothing was changed. Rename the environment, or remove that stack set",
        .lacks.join(" and ")
    )]
    StackSetNotOurs {
        env: String,
        set: String,
        lacks: Vec<String>,
    },
    /// A service-managed stack set with automatic deployment on: StackSets deploys it to
    /// accounts the stack file does not name, and deletes it from accounts leaving a unit.
    #[error(
        "stack set {set} has automatic deployment on (or its description does not say it is off): StackSets deploys it to every account added to its units and deletes its instances (and their data) from an account that leaves one, accounts {file} does not name; nothing was changed. Turn automatic deployment off (aws cloudformation update-stack-set --stack-set-name {set} --use-previous-template --parameters ParameterKey=TemplateFingerprint,UsePreviousValue=true --capabilities CAPABILITY_IAM --auto-deployment Enabled=false, adding ParameterKey=ImageId,UsePreviousValue=true when its template has that parameter, and --call-as DELEGATED_ADMIN from a delegated administrator: this updates every instance with what it has) or rename the environment"
    )]
    StackSetAutoDeployment { set: String, file: String },
    /// A stack set of a file whose targets each stand for a whole unit without automatic
    /// deployment on, or without RetainStacksOnAccountRemoval.
    #[error(
        "stack set {set} does not have automatic deployment on with RetainStacksOnAccountRemoval, and for a fleet's stack set DependsOn naming the data stack set (or its description does not say so), and {file}'s targets each stand for a whole AWS Organizations unit (rollout.auto_deployment): without them, an account that joins a unit would not get the environment (or its fleet would start before its queue), or one that leaves would lose its stacks and their data; nothing was changed. Turn it on (aws cloudformation update-stack-set --stack-set-name {set} --use-previous-template --parameters ParameterKey=TemplateFingerprint,UsePreviousValue=true --capabilities CAPABILITY_IAM --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=true (for a fleet's stack set also DependsOn=[the data stack set's ARN]), adding ParameterKey=ImageId,UsePreviousValue=true when its template has that parameter, and --call-as DELEGATED_ADMIN from a delegated administrator: this updates every instance with what it has), then deploy again"
    )]
    StackSetAutoDeploymentOff { set: String, file: String },
    /// The credentials' account is not the one the StackSets file (`file`) acts on its stack
    /// sets from (`expected`, `rollout.administration_account` or its administration role's).
    #[error(
        "{env}: the credentials are for account {account}, and {} acts on its stack sets from account {expected} (rollout.administration_account, or the account of rollout.administration_role); nothing was read or changed. Use credentials of account {expected}",
        .file.display()
    )]
    WrongAdministrationAccount {
        env: String,
        account: String,
        file: PathBuf,
        expected: String,
    },
    /// A StackSets template change whose preview could not be made, without
    /// `--allow-replacement`: whether it loses data is unknown.
    #[error(
        "{env}: stack set {set}'s template change could not be previewed ({why}), so whether it removes or replaces a resource holding data is unknown; nothing was changed here. Pass --allow-replacement to go ahead"
    )]
    PreviewUnread {
        env: String,
        set: String,
        why: String,
    },
    /// A stack set's template changes for a wave that has no instance of it yet while other
    /// waves have: StackSets updates a template only through instances it names.
    #[error(
        "stack set {set}'s template changes, and this wave has no instance of it that an update can reach (none yet, or only INOPERABLE ones) while other waves have: StackSets gives a stack set a new template only through the instances an update names, and would create this wave's with the old one. Deploy a wave that has an instance first (its targets' environments), then this one; nothing was changed"
    )]
    StackSetWave { set: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Exit};

    /// Placement words its errors; their class keeps the exit code and the JSON kind they had
    /// in the shared enums: a usage error exits 2 as `usage`, a refusal 4 as `refused`, each
    /// with its own message whole.
    #[test]
    fn placements_errors_keep_their_exit_codes_and_kinds() {
        let usage: Error = Usage::StackSetsUnconfirmed {
            file: "stacks/orders.yaml".into(),
        }
        .into();
        assert_eq!(usage.exit_code(), Exit::Input);
        assert!(matches!(usage, Error::Usage(_)));
        let report = usage.report();
        assert_eq!(report.kind, "usage");
        assert!(
            report
                .message
                .starts_with("stacks/orders.yaml: not deploying stack sets without --yes"),
            "{}",
            report.message
        );
        let refusal: Error = Refusal::StackSetWave {
            set: "qfleet-o-data".into(),
        }
        .into();
        assert_eq!(refusal.exit_code(), Exit::Refused);
        assert!(matches!(refusal, Error::Refused(_)));
        assert_eq!(refusal.report().kind, "refused");
        assert!(
            refusal
                .to_string()
                .starts_with("stack set qfleet-o-data's template changes"),
            "{refusal}"
        );
    }
}
