//! The StackSets deploy against CloudFormation answered by SDK-level mocks (`mocked_`): no
//! emulator runs it faithfully (moto answers every operation SUCCEEDED at once and names an
//! instance's stack `StackSet:NAME`, which no generated resource name accepts).

use super::*;
use crate::aws::DeploymentGroup as Group;
use crate::aws::mock::Rules;
use crate::config::LoadedFile;
use crate::placement::{groups, preferences, protect};
use crate::render::{FINGERPRINT_PARAMETER, fingerprint};
use aws_sdk_cloudformation::operation::describe_stack_set::{
    DescribeStackSetError, DescribeStackSetOutput,
};
use aws_sdk_cloudformation::operation::{
    create_stack_instances::CreateStackInstancesOutput, create_stack_set::CreateStackSetOutput,
    describe_stack_set_operation::DescribeStackSetOperationOutput,
    list_stack_instances::ListStackInstancesOutput,
    list_stack_set_operation_results::ListStackSetOperationResultsOutput,
    update_stack_instances::UpdateStackInstancesOutput, update_stack_set::UpdateStackSetOutput,
};
use aws_sdk_cloudformation::types::{
    AutoDeployment, PermissionModels, StackInstanceStatus, StackInstanceSummary,
    StackSet as SdkStackSet, StackSetOperation, StackSetOperationResultStatus,
    StackSetOperationResultSummary, StackSetOperationStatus, Tag,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::error::ErrorMetadata;
use std::sync::Mutex;

const A: &str = "111122223333";
const B: &str = "444455556666";

fn file() -> LoadedFile {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
    crate::config::load(&p).unwrap()
}

fn opts() -> Options {
    Options {
        yes: true,
        polling: crate::aws::Polling::immediate(),
        ..Options::default()
    }
}

fn no_stack_set() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_error(|| {
        DescribeStackSetError::generic(
            ErrorMetadata::builder()
                .code("StackSetNotFoundException")
                .message("StackSet not found")
                .build(),
        )
    })
}

fn created() -> Rule {
    mock!(aws_sdk_cloudformation::Client::create_stack_set)
        .then_output(|| CreateStackSetOutput::builder().stack_set_id("id").build())
}

/// CreateStackInstances answering with an operation named by its accounts (`op-A-B`).
fn create_instances() -> Rule {
    mock!(aws_sdk_cloudformation::Client::create_stack_instances).then_compute_output(|r| {
        CreateStackInstancesOutput::builder()
            .operation_id(format!("op-{}", r.accounts().join("-")))
            .build()
    })
}

/// Every operation ends `status` (with `reason`).
fn operation(status: StackSetOperationStatus, reason: Option<&'static str>) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_set_operation).then_output(move || {
        DescribeStackSetOperationOutput::builder()
            .stack_set_operation(
                StackSetOperation::builder()
                    .status(status.clone())
                    .set_status_reason(reason.map(str::to_string))
                    .build(),
            )
            .build()
    })
}

/// Each operation's results: (account, region, status, reason) for the accounts it names.
fn results(
    all: Vec<(
        &'static str,
        &'static str,
        StackSetOperationResultStatus,
        Option<&'static str>,
    )>,
) -> Rule {
    mock!(aws_sdk_cloudformation::Client::list_stack_set_operation_results).then_compute_output(
        move |r| {
            let op = r.operation_id().unwrap_or_default().to_string();
            ListStackSetOperationResultsOutput::builder()
                .set_summaries(Some(
                    all.iter()
                        .filter(|(a, _, _, _)| op.contains(a))
                        .map(|(a, region, s, why)| {
                            StackSetOperationResultSummary::builder()
                                .account(*a)
                                .region(*region)
                                .status(s.clone())
                                .set_status_reason(why.map(str::to_string))
                                .build()
                        })
                        .collect(),
                ))
                .build()
        },
    )
}

/// Every operation SUCCEEDED, with the canary's account and region (A, eu-west-1) in its
/// results.
fn canary_succeeded() -> (Rule, Rule) {
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res = results(vec![(
        A,
        "eu-west-1",
        StackSetOperationResultStatus::Succeeded,
        None,
    )]);
    (op, res)
}

/// UpdateStackSet for the requests `wanted` takes: the operation `op-ACCOUNTS`.
fn stack_set_updated(
    wanted: impl Fn(&aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetInput) -> bool
    + Send
    + Sync
    + 'static,
) -> Rule {
    mock!(aws_sdk_cloudformation::Client::update_stack_set)
        .match_requests(wanted)
        .then_compute_output(|r| {
            UpdateStackSetOutput::builder()
                .operation_id(format!("op-{}", r.accounts().join("-")))
                .build()
        })
}

/// Every operation SUCCEEDED, with each of the example's targets in its results.
fn every_target_succeeded() -> (Rule, Rule) {
    let ok = StackSetOperationResultStatus::Succeeded;
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res = results(vec![
        (A, "eu-west-1", ok.clone(), None),
        (A, "us-east-1", ok.clone(), None),
        (B, "eu-west-1", ok, None),
    ]);
    (op, res)
}

fn plan_and_deploy(
    rules: &[&Rule],
    envs: &[Environment],
    mode: Mode,
    opts: &Options,
) -> (Vec<EnvOutcome>, Vec<String>) {
    wave_of_file(&file(), rules, envs, mode, opts)
}

/// UpdateStackInstances for the instances of `accounts` in `regions`, without parameter
/// overrides (the parameters as they are): the operation `op-ACCOUNTS`.
fn instances_updated(accounts: &'static [&'static str], regions: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_cloudformation::Client::update_stack_instances)
        .match_requests(move |r| {
            r.accounts() == accounts && r.regions() == regions && r.parameter_overrides().is_empty()
        })
        .then_compute_output(|r| {
            UpdateStackInstancesOutput::builder()
                .operation_id(format!("op-{}", r.accounts().join("-")))
                .build()
        })
}

/// After a wave's calls, each deployed instance read back in its account and region
/// (ListStackInstances filtered to them): listed with `status`.
fn read_back(status: &'static str) -> Rule {
    mock!(aws_sdk_cloudformation::Client::list_stack_instances)
        .match_requests(|r| r.stack_instance_account().is_some())
        .then_compute_output(move |r| {
            let (a, region) = (
                r.stack_instance_account().unwrap_or_default(),
                r.stack_instance_region().unwrap_or_default(),
            );
            ListStackInstancesOutput::builder()
                .summaries(
                    StackInstanceSummary::builder()
                        .account(a)
                        .region(region)
                        .status(StackInstanceStatus::from(status))
                        .stack_id(format!(
                            "arn:aws:cloudformation:{region}:{a}:stack/StackSet-x-1/guid"
                        ))
                        .build(),
                )
                .build()
        })
}

/// A wave of `file`'s targets `envs`, the stack sets' calls answered by `rules` (and each
/// deployed instance read back CURRENT, unless `rules` answer that first): the outcomes and
/// the notes.
fn wave_of_file(
    file: &LoadedFile,
    rules: &[&Rule],
    envs: &[Environment],
    mode: Mode,
    opts: &Options,
) -> (Vec<EnvOutcome>, Vec<String>) {
    let current = read_back("CURRENT");
    let clients = Rules {
        cfn: rules.iter().copied().chain([&current]).collect(),
        ..Default::default()
    }
    .clients();
    let notes = Mutex::new(Vec::new());
    let note = |n: String| notes.lock().unwrap().push(n);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let loaded = &file.targets[0].target.as_ref().unwrap().file;
    let out = rt.block_on(wave(&clients, loaded, envs, mode, opts, &note));
    (out, notes.into_inner().unwrap())
}

fn message(o: &EnvOutcome) -> String {
    o.error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

#[test]
fn accounts_share_a_call_only_with_the_same_regions() {
    let g = groups([
        (A, "eu-west-1", None),
        (A, "us-east-1", None),
        (B, "eu-west-1", None),
        ("999999999999", "us-east-1", None),
        ("888888888888", "eu-west-1", None),
    ]);
    assert_eq!(
        g,
        [
            Group {
                accounts: vec![A.into()],
                regions: vec!["eu-west-1".into(), "us-east-1".into()],
                ..Group::default()
            },
            Group {
                accounts: vec![B.into(), "888888888888".into()],
                regions: vec!["eu-west-1".into()],
                ..Group::default()
            },
            Group {
                accounts: vec!["999999999999".into()],
                regions: vec!["us-east-1".into()],
                ..Group::default()
            },
        ]
    );
    // Service-managed: each group with its accounts' units, each once.
    let (u1, u2) = ("ou-ab12-34cd56ef", "ou-ab12-99zz88yy");
    let g = groups([
        (A, "eu-west-1", Some(u1)),
        (B, "eu-west-1", Some(u2)),
        ("888888888888", "eu-west-1", Some(u1)),
        ("999999999999", "us-east-1", Some(u2)),
    ]);
    assert_eq!(
        g,
        [
            Group {
                accounts: vec![A.into(), B.into(), "888888888888".into()],
                regions: vec!["eu-west-1".into()],
                organizational_units: vec![u1.into(), u2.into()],
                whole_units: false,
            },
            Group {
                accounts: vec!["999999999999".into()],
                regions: vec!["us-east-1".into()],
                organizational_units: vec![u2.into()],
                whole_units: false,
            },
        ]
    );
}

#[test]
fn mocked_a_first_deploy_creates_each_stack_set_then_its_instances_in_order() {
    let f = file();
    let (none, create, instances) = (no_stack_set(), created(), create_instances());
    let (op, res) = every_target_succeeded();
    let (out, notes) = plan_and_deploy(
        &[&none, &create, &instances, &op, &res],
        &f.targets,
        Mode::Deploy,
        &opts(),
    );
    assert!(out.iter().all(|o| o.ok), "{out:?}");
    assert_eq!(create.num_calls(), 2, "a stack set per stack");
    // Per stack set: account A's two regions in one call, B's one in another.
    assert_eq!(instances.num_calls(), 4);
    for o in &out {
        let sets: Vec<(&str, Action)> = o
            .stacks
            .iter()
            .map(|s| (s.stack.as_str(), s.action))
            .collect();
        assert_eq!(
            sets,
            [
                ("qfleet-fleetsets-data", Action::Created),
                ("qfleet-fleetsets-fleet", Action::Created)
            ]
        );
    }
    assert_eq!(notes[0], "creating stack set qfleet-fleetsets-data");
    assert!(
        notes[1].contains("creating instances in 111122223333 × eu-west-1, us-east-1"),
        "{notes:?}"
    );
}

#[test]
fn mocked_a_failed_instance_fails_its_target_with_aws_reason_and_gets_no_fleet() {
    let f = file();
    let (none, create, instances) = (no_stack_set(), created(), create_instances());
    let op = operation(
        StackSetOperationStatus::Failed,
        Some("failure tolerance exceeded"),
    );
    let res = results(vec![
        (
            A,
            "eu-west-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        ),
        (
            A,
            "us-east-1",
            StackSetOperationResultStatus::Failed,
            Some("ResourceLogicalId:Queue, ResourceStatusReason:Access denied"),
        ),
        (
            B,
            "eu-west-1",
            StackSetOperationResultStatus::Cancelled,
            Some("Cancelled since failure tolerance has exceeded"),
        ),
    ]);
    let (out, _) = plan_and_deploy(
        &[&none, &create, &instances, &op, &res],
        &f.targets,
        Mode::Deploy,
        &opts(),
    );
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(out[0].stacks.len(), 2);
    let us = &out[1];
    assert!(!us.ok);
    assert_eq!(us.exit_code, Exit::Aws);
    assert!(message(us).contains("FAILED in 111122223333 us-east-1: ResourceLogicalId:Queue, ResourceStatusReason:Access denied"), "{}", message(us));
    assert_eq!(us.stacks.len(), 1, "no fleet after a failed data stack set");
    let eu2 = &out[2];
    assert!(!eu2.ok);
    assert!(
        message(eu2).contains("not reached: the operation FAILED (failure tolerance exceeded)"),
        "{}",
        message(eu2)
    );
}

#[test]
fn mocked_a_stopped_operation_leaves_the_targets_it_did_not_reach_failed() {
    let f = file();
    let (none, create, instances) = (no_stack_set(), created(), create_instances());
    let op = operation(StackSetOperationStatus::Stopped, None);
    let res = results(vec![
        (
            A,
            "eu-west-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        ),
        (
            A,
            "us-east-1",
            StackSetOperationResultStatus::Cancelled,
            None,
        ),
    ]);
    let (out, _) = plan_and_deploy(
        &[&none, &create, &instances, &op, &res],
        &f.targets[..2],
        Mode::Deploy,
        &opts(),
    );
    assert!(out[0].ok);
    assert!(
        message(&out[1]).contains(
            "not reached: the operation STOPPED before it came to 111122223333 in us-east-1"
        ),
        "{}",
        message(&out[1])
    );
}

#[test]
fn mocked_an_operation_without_a_result_for_a_target_is_not_success() {
    let f = file();
    let (none, create, instances) = (no_stack_set(), created(), create_instances());
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res = results(vec![]);
    let (out, _) = plan_and_deploy(
        &[&none, &create, &instances, &op, &res],
        &f.targets[..1],
        Mode::Deploy,
        &opts(),
    );
    assert!(!out[0].ok);
    assert!(
        message(&out[0]).contains("not known to be deployed"),
        "{}",
        message(&out[0])
    );
}

/// A template of no resources: every preview against it adds, and loses nothing.
const NO_RESOURCES: &str = r#"{"Resources":{}}"#;

/// The stack set as DescribeStackSet answers: these tags, the template of this fingerprint
/// (its body [`NO_RESOURCES`]).
fn existing(tags: Vec<(&'static str, &'static str)>, fingerprint: &'static str) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_output(move || {
        DescribeStackSetOutput::builder()
            .stack_set(
                SdkStackSet::builder()
                    .stack_set_name("x")
                    .template_body(NO_RESOURCES)
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                            .collect(),
                    ))
                    .parameters(
                        aws_sdk_cloudformation::types::Parameter::builder()
                            .parameter_key(FINGERPRINT_PARAMETER)
                            .parameter_value(fingerprint)
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

/// The stack set's instances as listed before the wave's calls (a read back after them is
/// [`read_back`]'s).
fn listed(instances: Vec<(&'static str, &'static str, &'static str)>) -> Rule {
    listed_with(
        instances
            .into_iter()
            .map(|(a, r, s)| (a, r, s, None))
            .collect(),
    )
}

/// ListStackInstances (unfiltered) listing (account, region, status, unit).
fn listed_with(
    instances: Vec<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>,
) -> Rule {
    mock!(aws_sdk_cloudformation::Client::list_stack_instances)
        .match_requests(|r| r.stack_instance_account().is_none())
        .then_output(move || {
            ListStackInstancesOutput::builder()
                .set_summaries(Some(
                    instances
                        .iter()
                        .map(|(a, r, s, u)| {
                            StackInstanceSummary::builder()
                                .account(*a)
                                .region(*r)
                                .status(StackInstanceStatus::from(*s))
                                .set_organizational_unit_id(u.map(str::to_string))
                                .stack_id(format!(
                                    "arn:aws:cloudformation:{r}:{a}:stack/StackSet-x-1/guid"
                                ))
                                .build()
                        })
                        .collect(),
                ))
                .build()
        })
}

#[test]
fn mocked_a_stack_set_without_the_files_marks_is_refused_untouched() {
    let f = file();
    let theirs = existing(vec![("qfleet:environment", "other")], "old");
    let (create, instances) = (created(), create_instances());
    let (out, _) = plan_and_deploy(
        &[&theirs, &create, &instances],
        &f.targets,
        Mode::Deploy,
        &opts(),
    );
    for o in &out {
        assert!(!o.ok);
        assert_eq!(o.exit_code, Exit::Refused);
        assert!(
            message(o).contains("qfleet:environment=fleetsets (it has qfleet:environment=other)"),
            "{}",
            message(o)
        );
    }
    assert_eq!(create.num_calls() + instances.num_calls(), 0);
}

#[test]
fn mocked_a_new_template_updates_only_the_waves_instances_and_a_wave_without_one_is_refused() {
    let f = file();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    let list = listed(vec![
        (A, "eu-west-1", "CURRENT"),
        (A, "us-east-1", "CURRENT"),
        (B, "eu-west-1", "CURRENT"),
    ]);
    let update = stack_set_updated(|r| {
        r.template_body().is_some() && r.accounts() == [A] && r.regions() == ["eu-west-1"]
    });
    let (op, res) = canary_succeeded();
    let canary = &f.targets[..1];
    let (out, _) = plan_and_deploy(
        &[&ours, &list, &update, &op, &res],
        canary,
        Mode::Deploy,
        &opts(),
    );
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(
        update.num_calls(),
        2,
        "one update per stack set, naming the canary only"
    );
    assert_eq!(out[0].stacks[0].action, Action::Updated);

    // A wave with no instance yet, while others have: refused before any call that changes.
    let others = listed(vec![(B, "eu-west-1", "CURRENT")]);
    let (create, instances) = (created(), create_instances());
    let (out, _) = plan_and_deploy(
        &[&ours, &others, &create, &instances],
        canary,
        Mode::Deploy,
        &opts(),
    );
    assert_eq!(out[0].exit_code, Exit::Refused);
    assert!(
        message(&out[0]).contains("this wave has no instance of it that an update can reach"),
        "{}",
        message(&out[0])
    );
    assert_eq!(create.num_calls() + instances.num_calls(), 0);
}

/// A wave whose instances need two UpdateStackSet calls (accounts in different regions):
/// only the first names the new template, since each call that names one marks every
/// instance OUTDATED first, the first call's too; the second uses the template the stack set
/// holds then.
#[test]
fn mocked_only_the_first_update_of_a_wave_names_the_new_template() {
    let f = file();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    let list = listed(vec![
        (A, "eu-west-1", "CURRENT"),
        (A, "us-east-1", "CURRENT"),
        (B, "eu-west-1", "CURRENT"),
    ]);
    let with_template = stack_set_updated(|r| r.template_body().is_some() && r.accounts() == [A]);
    let previous = instances_updated(&[B], &["eu-west-1"]);
    let (op, res) = every_target_succeeded();
    let (out, _) = plan_and_deploy(
        &[&ours, &list, &with_template, &previous, &op, &res],
        &f.targets,
        Mode::Deploy,
        &opts(),
    );
    assert!(out.iter().all(|o| o.ok), "{out:?}");
    // Per stack set: one call with the template (A's regions), one without (B's).
    assert_eq!(with_template.num_calls(), 2);
    assert_eq!(previous.num_calls(), 2);
}

/// An UpdateStackSet that AWS refuses leaves the stack set with its previous template, which
/// CreateStackInstances would give a new instance: the wave's new instances are not created,
/// and their targets fail saying why.
#[test]
fn mocked_no_instance_is_created_with_the_previous_template_when_the_update_is_refused() {
    let f = file();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    // The canary has an instance in eu-west-1, none in us-east-1 (its us1 target).
    let list = listed(vec![(A, "eu-west-1", "CURRENT")]);
    let refused = mock!(aws_sdk_cloudformation::Client::update_stack_set).then_error(|| {
        aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetError::generic(
            ErrorMetadata::builder()
                .code("OperationInProgressException")
                .message("Another Operation on StackSet is in progress")
                .build(),
        )
    });
    let (create, instances) = (created(), create_instances());
    let wave = &f.targets[..2];
    let (out, _) = plan_and_deploy(
        &[&ours, &list, &refused, &create, &instances],
        wave,
        Mode::Deploy,
        &opts(),
    );
    assert_eq!(instances.num_calls(), 0, "nothing created");
    assert!(!out[0].ok && !out[1].ok, "{out:?}");
    assert!(
        message(&out[0]).contains("Another Operation on StackSet is in progress"),
        "{}",
        message(&out[0])
    );
    assert!(
        message(&out[1]).contains("not created: the stack set's new template was not taken"),
        "{}",
        message(&out[1])
    );
}

#[test]
fn mocked_plan_says_what_each_instance_gets_and_changes_nothing() {
    let f = file();
    let sets = crate::render::stack_sets_of(&f).unwrap();
    let fp: &'static str = Box::leak(fingerprint(&sets[0].template).into_boxed_str());
    let ours = existing(vec![("qfleet:environment", "fleetsets")], fp);
    let list = listed(vec![
        (A, "eu-west-1", "CURRENT"),
        (A, "us-east-1", "OUTDATED"),
    ]);
    let (create, instances) = (created(), create_instances());
    let (out, _) = plan_and_deploy(
        &[&ours, &list, &create, &instances],
        &f.targets,
        Mode::Plan,
        &Options::default(),
    );
    let data: Vec<Action> = out.iter().map(|o| o.stacks[0].action).collect();
    assert_eq!(
        data,
        [
            Action::NoChanges,
            Action::ChangesPending,
            Action::WouldCreate
        ]
    );
    assert!(out[1].stacks[0].notes[0].contains("not up to date"));
    assert_eq!(create.num_calls() + instances.num_calls(), 0);
}

#[test]
fn mocked_deploy_without_yes_changes_nothing() {
    let f = file();
    let (none, create) = (no_stack_set(), created());
    let (out, _) = plan_and_deploy(
        &[&none, &create],
        &f.targets,
        Mode::Deploy,
        &Options::default(),
    );
    assert!(out.iter().all(|o| o.exit_code == Exit::Input));
    assert!(message(&out[0]).contains("--yes"));
    assert_eq!(none.num_calls() + create.num_calls(), 0);
}

#[test]
fn mocked_a_result_that_does_not_say_where_it_is_fails_the_target() {
    let f = file();
    let (none, create, instances) = (no_stack_set(), created(), create_instances());
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res =
        mock!(aws_sdk_cloudformation::Client::list_stack_set_operation_results).then_output(|| {
            ListStackSetOperationResultsOutput::builder()
                .summaries(
                    StackSetOperationResultSummary::builder()
                        .region("eu-west-1")
                        .status(StackSetOperationResultStatus::Succeeded)
                        .build(),
                )
                .build()
        });
    let (out, _) = plan_and_deploy(
        &[&none, &create, &instances, &op, &res],
        &f.targets[..1],
        Mode::Deploy,
        &opts(),
    );
    assert!(!out[0].ok);
    assert!(
        message(&out[0]).contains("a result without its account or region"),
        "{}",
        message(&out[0])
    );
}

/// What every operation is sent: the file's rollout preferences, its regions in the targets'
/// order and only those the call names (CloudFormation refuses a region order naming others).
#[test]
fn operations_carry_the_files_preferences_for_the_regions_they_name() {
    let f = file();
    let p = preferences(&f.base, &f.targets);
    let both = p.sdk(&["us-east-1".into(), "eu-west-1".into()]);
    assert_eq!(both.region_order(), ["eu-west-1", "us-east-1"]);
    assert_eq!(
        (both.max_concurrent_count(), both.failure_tolerance_count()),
        (Some(2), Some(1))
    );
    assert_eq!(
        both.region_concurrency_type(),
        Some(&aws_sdk_cloudformation::types::RegionConcurrencyType::Sequential)
    );
    let one = p.sdk(&["us-east-1".into()]);
    assert_eq!(one.region_order(), ["us-east-1"]);
}

/// An instance left OUTDATED (its wave was stopped) under a template that has not changed
/// since: brought to the stack set's template by UpdateStackInstances, naming that instance
/// only and changing nothing of the stack set (so no other instance is marked OUTDATED); the
/// stack set whose template changed gets it, for the wave's instance only.
#[test]
fn mocked_an_outdated_instance_is_brought_up_to_date_without_changing_the_stack_set() {
    let f = file();
    let sets = crate::render::stack_sets_of(&f).unwrap();
    assert_eq!(sets[0].stack_name, "qfleet-fleetsets-data");
    let fp: &'static str = Box::leak(fingerprint(&sets[0].template).into_boxed_str());
    let ours = existing(vec![("qfleet:environment", "fleetsets")], fp);
    let list = listed(vec![
        (A, "eu-west-1", "OUTDATED"),
        (A, "us-east-1", "OUTDATED"),
    ]);
    let canary_only =
        |r: &aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetInput| {
            r.accounts() == [A] && r.regions() == ["eu-west-1"]
        };
    // Not UpdateStackSet, which would mark every other instance OUTDATED.
    let refresh = instances_updated(&[A], &["eu-west-1"]);
    let new_template = stack_set_updated(move |r| canary_only(r) && r.template_body().is_some());
    let (create, instances) = (created(), create_instances());
    let (op, res) = canary_succeeded();
    let (out, notes) = plan_and_deploy(
        &[
            &ours,
            &list,
            &refresh,
            &new_template,
            &create,
            &instances,
            &op,
            &res,
        ],
        &f.targets[..1],
        Mode::Deploy,
        &opts(),
    );
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(
        refresh.num_calls(),
        1,
        "the data stack set: UpdateStackInstances"
    );
    assert_eq!(
        new_template.num_calls(),
        1,
        "the fleet stack set, new template"
    );
    assert_eq!(create.num_calls() + instances.num_calls(), 0);
    let actions: Vec<Action> = out[0].stacks.iter().map(|s| s.action).collect();
    assert_eq!(actions, [Action::Updated, Action::Updated]);
    assert!(
        notes.iter().any(|n| n
            == "stack set qfleet-fleetsets-data: bringing instances up to date in 111122223333 × eu-west-1"),
        "{notes:?}"
    );
}

/// An INOPERABLE instance (a deletion failed and left its stack unstable) is left out of
/// every call, as StackSets leaves it out of updates, and its target fails with AWS's
/// remedy; the other target of the wave is deployed. `plan` says so too.
#[test]
fn mocked_an_inoperable_instance_is_named_in_no_call_and_fails_its_target() {
    let f = file();
    let sets = crate::render::stack_sets_of(&f).unwrap();
    let fp: &'static str = Box::leak(fingerprint(&sets[0].template).into_boxed_str());
    let ours = existing(vec![("qfleet:environment", "fleetsets")], fp);
    let list = listed(vec![
        (A, "eu-west-1", "INOPERABLE"),
        (B, "eu-west-1", "OUTDATED"),
    ]);
    // The data stack set's template is as rendered: B's OUTDATED instance is brought up to
    // date; the fleet's changed: B's instance gets the new template.
    let update = stack_set_updated(|r| r.accounts() == [B] && r.regions() == ["eu-west-1"]);
    let refresh = instances_updated(&[B], &["eu-west-1"]);
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res = results(vec![(
        B,
        "eu-west-1",
        StackSetOperationResultStatus::Succeeded,
        None,
    )]);
    let (create, instances) = (created(), create_instances());
    let wave = [f.targets[0].clone(), f.targets[2].clone()];
    let rules: [&Rule; 7] = [&ours, &list, &update, &refresh, &create, &instances, &op];
    let (planned, _) = plan_and_deploy(&rules, &wave, Mode::Plan, &opts());
    assert!(!planned[0].ok && planned[1].ok, "{planned:?}");
    assert_eq!(
        update.num_calls() + refresh.num_calls(),
        0,
        "plan changes nothing"
    );
    let mut all: Vec<&Rule> = rules.to_vec();
    all.push(&res);
    let (out, _) = plan_and_deploy(&all, &wave, Mode::Deploy, &opts());
    assert!(out[1].ok, "{:?}", out[1]);
    assert!(!out[0].ok);
    assert_eq!(out[0].exit_code, Exit::Aws);
    let why = message(&out[0]);
    assert!(
        why.starts_with(&format!(
            "stack set qfleet-fleetsets-data's instance in {A} eu-west-1: INOPERABLE"
        )) && why.contains("DeleteStackInstances with RetainStacks true"),
        "{why}"
    );
    // Both stack sets updated B's instance alone (the mocks answer no other request).
    assert_eq!((refresh.num_calls(), update.num_calls()), (1, 1));
    assert_eq!(create.num_calls() + instances.num_calls(), 0);
    assert_eq!(out[0].stacks[0].status.as_deref(), Some("FAILED"));
}

/// An operation's SUCCEEDED is for its call: a target passes only once its instance is read
/// back CURRENT. One still OUTDATED after it (another call marked it, or the update did not
/// give it the template) fails its target, saying so.
#[test]
fn mocked_a_target_passes_only_once_its_instance_is_read_back_current() {
    let f = file();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    let list = listed(vec![(A, "eu-west-1", "CURRENT")]);
    let update = mock!(aws_sdk_cloudformation::Client::update_stack_set).then_compute_output(|r| {
        UpdateStackSetOutput::builder()
            .operation_id(format!("op-{}", r.accounts().join("-")))
            .build()
    });
    let (op, res) = canary_succeeded();
    let outdated = read_back("OUTDATED");
    let (out, _) = plan_and_deploy(
        &[&outdated, &ours, &list, &update, &op, &res],
        &f.targets[..1],
        Mode::Deploy,
        &opts(),
    );
    assert!(!out[0].ok);
    assert_eq!(out[0].exit_code, Exit::Aws);
    assert!(
        message(&out[0]).contains(
            "the operation SUCCEEDED here, and the instance is OUTDATED after it: it does not have the stack set's template"
        ),
        "{}",
        message(&out[0])
    );
    // Read again before judging (ListStackInstances may lag): 1 + RESULT_READS times.
    assert_eq!(
        outdated.num_calls(),
        1 + crate::aws::STACK_SET_RESULT_READS as usize
    );
}

/// The file's stack set as DescribeStackSet answers, holding the template `old` (with no
/// fingerprint: every template is new to it).
fn holding(old: &serde_json::Value) -> Rule {
    let old: &'static str = Box::leak(old.to_string().into_boxed_str());
    mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_output(move || {
        DescribeStackSetOutput::builder()
            .stack_set(
                SdkStackSet::builder()
                    .stack_set_name("x")
                    .tags(
                        Tag::builder()
                            .key("qfleet:environment")
                            .value("fleetsets")
                            .build(),
                    )
                    .template_body(old)
                    .build(),
            )
            .build()
    })
}

/// StackSets makes no change set per instance: `plan` compares the stack set's template now
/// and the new one as each instance reads them, so that a value only one target has (here
/// its key, from the template's mappings) is told for that target alone.
#[test]
fn mocked_plan_previews_each_instances_changes_from_the_two_templates() {
    let f = file();
    let sets = crate::render::stack_sets_of(&f).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&sets[0].template).unwrap();
    old["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = serde_json::json!(60);
    let key = old["Resources"]["Queue"]["Properties"]["KmsMasterKeyId"]["Fn::FindInMap"][0]
        .as_str()
        .unwrap()
        .to_string();
    old["Mappings"][&key]["eu-west-1"][A] =
        serde_json::json!("arn:aws:kms:eu-west-1:111122223333:key/old");
    let described = holding(&old);
    let list = listed(vec![
        (A, "eu-west-1", "CURRENT"),
        (B, "eu-west-1", "CURRENT"),
    ]);
    let wave = [f.targets[0].clone(), f.targets[2].clone()];
    let (out, notes) = plan_and_deploy(&[&described, &list], &wave, Mode::Plan, &opts());
    // Each resource changed, and the queue's properties.
    let changed = |o: &EnvOutcome| -> (Vec<String>, Vec<String>) {
        let c = &o.stacks[0].changes;
        (
            c.iter().map(|c| c.logical_id.clone()).collect(),
            c.iter()
                .filter(|c| c.logical_id == "Queue")
                .flat_map(|c| c.details.iter().flatten())
                .map(|d| d.label())
                .collect(),
        )
    };
    let (resources, queue) = changed(&out[0]);
    assert_eq!(queue, ["KmsMasterKeyId", "VisibilityTimeout"]);
    // The key is every encrypted resource's: each of them changes for this target.
    assert!(
        resources.len() > 1 && resources.contains(&"Topic".to_string()),
        "{resources:?}"
    );
    assert_eq!(
        changed(&out[1]),
        (
            vec!["Queue".to_string()],
            vec!["VisibilityTimeout".to_string()]
        )
    );
    assert!(
        notes.iter().any(|n| n.starts_with(&format!(
            "stack set qfleet-fleetsets-data, {B} eu-west-1: update (1 change)"
        )) && n.contains("VisibilityTimeout: 60 → 120")),
        "{notes:?}"
    );

    // The queue's change is both targets': each gets its own preview, since A's has more.
    let previews_of = |notes: &[String]| -> Vec<String> {
        notes
            .iter()
            .filter(|n| n.starts_with("stack set qfleet-fleetsets-data, "))
            .filter(|n| n.contains(": update ("))
            .map(|n| n.lines().next().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(previews_of(&notes).len(), 2, "{notes:?}");
    // Targets whose changes are the same are previewed once, naming each instance.
    let mut same = serde_json::from_str::<serde_json::Value>(&sets[0].template).unwrap();
    same["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = serde_json::json!(60);
    let (out, notes) = plan_and_deploy(&[&holding(&same), &list], &wave, Mode::Plan, &opts());
    assert_eq!(
        previews_of(&notes),
        [format!(
            "stack set qfleet-fleetsets-data, 2 instances ({A} eu-west-1, {B} eu-west-1): update (1 change)"
        )],
        "{notes:?}"
    );
    assert!(out.iter().all(|o| o.stacks[0].changes.len() == 1));

    // An instance behind its stack set: the preview says it may not be all.
    let behind = listed(vec![(A, "eu-west-1", "OUTDATED")]);
    let (_, notes) = plan_and_deploy(&[&described, &behind], &wave[..1], Mode::Plan, &opts());
    assert!(
        notes.iter().any(|n| n.contains(&format!(
            "{A} eu-west-1: the instance is OUTDATED, so it may also lack changes"
        ))),
        "{notes:?}"
    );

    // A template that cannot be read is said so, never "no change"; deploy refuses the
    // target (exit 4, no call names it) unless --allow-replacement says to go ahead.
    let unread = holding(&serde_json::json!(["not a template"]));
    let (out, notes) = plan_and_deploy(&[&unread, &list], &wave[..1], Mode::Plan, &opts());
    assert!(out[0].stacks[0].changes.is_empty());
    assert_eq!(out[0].stacks[0].action, Action::ChangesPending);
    assert!(
        notes.iter().any(|n| n.contains(
            "the change could not be previewed (the deployed template has no Resources mapping)"
        )),
        "{notes:?}"
    );
    let update = stack_set_updated(|r| r.accounts() == [A]);
    let (out, _) = plan_and_deploy(
        &[&unread, &list, &update],
        &wave[..1],
        Mode::Deploy,
        &opts(),
    );
    assert_eq!(out[0].exit_code, Exit::Refused, "{:?}", out[0]);
    assert!(
        message(&out[0])
            .contains("whether it removes or replaces a resource holding data is unknown"),
        "{}",
        message(&out[0])
    );
    assert_eq!(update.num_calls(), 0);
}

/// The example file, its stack sets holding a template with a queue (`OldQueue`) the new one
/// drops, and the canary's instance listed CURRENT.
fn a_queue_the_new_template_drops() -> (LoadedFile, Rule, Rule) {
    let f = file();
    let sets = crate::render::stack_sets_of(&f).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&sets[0].template).unwrap();
    old["Resources"]["OldQueue"] = serde_json::json!({"Type": "AWS::SQS::Queue"});
    (f, holding(&old), listed(vec![(A, "eu-west-1", "CURRENT")]))
}

/// A template change that removes a resource holding data (here a queue the new template
/// drops) is warned of in `plan`, and `deploy` refuses that target (exit 4, no call names
/// it) unless --allow-replacement is given, as in the direct mode.
#[test]
fn mocked_a_change_that_loses_data_needs_allow_replacement() {
    let (f, described, list) = a_queue_the_new_template_drops();
    let update = stack_set_updated(|r| r.accounts() == [A]);
    let (op, res) = canary_succeeded();
    let canary = &f.targets[..1];
    let rules: [&Rule; 5] = [&described, &list, &update, &op, &res];
    let (planned, notes) = plan_and_deploy(&rules, canary, Mode::Plan, &opts());
    assert!(planned[0].ok);
    assert!(
        notes.iter().any(|n| n.starts_with(&format!(
            "WARNING: stack set qfleet-fleetsets-data, {A} eu-west-1: removes OldQueue (AWS::SQS::Queue), losing the data it holds"
        ))),
        "{notes:?}"
    );
    // Two instances losing the same data: one warning, naming both.
    let both = listed(vec![
        (A, "eu-west-1", "CURRENT"),
        (B, "eu-west-1", "CURRENT"),
    ]);
    let wave = [f.targets[0].clone(), f.targets[2].clone()];
    let (_, notes) = plan_and_deploy(&[&described, &both], &wave, Mode::Plan, &opts());
    let warned: Vec<&String> = notes
        .iter()
        .filter(|n| n.starts_with("WARNING: stack set qfleet-fleetsets-data, "))
        .collect();
    assert_eq!(warned.len(), 1, "{notes:?}");
    assert!(
        warned[0].starts_with(&format!(
            "WARNING: stack set qfleet-fleetsets-data, 2 instances ({A} eu-west-1, {B} eu-west-1): removes OldQueue"
        )),
        "{notes:?}"
    );
    let (out, _) = plan_and_deploy(&rules, canary, Mode::Deploy, &opts());
    assert_eq!(out[0].exit_code, Exit::Refused, "{:?}", out[0]);
    assert!(
        message(&out[0]).contains("pass --allow-replacement"),
        "{}",
        message(&out[0])
    );
    assert_eq!(update.num_calls(), 0, "no call names the refused target");
    let allowed = Options {
        allow_replacement: true,
        ..opts()
    };
    let (out, _) = plan_and_deploy(&rules, canary, Mode::Deploy, &allowed);
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(update.num_calls(), 2, "both stack sets");
}

/// A wave whose only instance to update is refused for data loss, beside one to create: no
/// update carries the new template, so the new instance is not created (it would get the
/// previous one), and it says that its neighbour's refusal is why, not a failed update.
#[test]
fn mocked_a_new_instance_beside_a_refused_one_is_not_created_and_says_why() {
    let (f, described, list) = a_queue_the_new_template_drops();
    let update = stack_set_updated(|_| true);
    let instances = create_instances();
    let wave = [f.targets[0].clone(), f.targets[2].clone()];
    let (out, _) = plan_and_deploy(
        &[&described, &list, &update, &instances],
        &wave,
        Mode::Deploy,
        &opts(),
    );
    assert_eq!(out[0].exit_code, Exit::Refused, "{:?}", out[0]);
    assert!(!out[1].ok);
    assert!(
        message(&out[1]).contains(
            "the wave's instances that would carry the stack set's new template were refused"
        ),
        "{}",
        message(&out[1])
    );
    assert_eq!(update.num_calls(), 0);
    assert_eq!(instances.num_calls(), 0);
}

/// A stack set that exists without any instance (all deleted, or its first wave's creation
/// never ran) gets a new template by UpdateStackSet naming no account (every instance: none
/// here), then the wave's instances are created with it.
#[test]
fn mocked_a_new_template_for_a_stack_set_without_instances_updates_it_then_creates_the_waves() {
    let f = file();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    let none = listed(vec![]);
    let update_all = mock!(aws_sdk_cloudformation::Client::update_stack_set)
        .match_requests(|r| {
            r.accounts().is_empty() && r.regions().is_empty() && r.template_body().is_some()
        })
        .then_output(|| {
            UpdateStackSetOutput::builder()
                .operation_id("op-none")
                .build()
        });
    let (create, instances) = (created(), create_instances());
    let (op, res) = canary_succeeded();
    let (out, notes) = plan_and_deploy(
        &[&ours, &none, &update_all, &create, &instances, &op, &res],
        &f.targets[..1],
        Mode::Deploy,
        &opts(),
    );
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(update_all.num_calls(), 2, "each stack set's template");
    assert_eq!(create.num_calls(), 0, "the stack sets exist");
    assert_eq!(instances.num_calls(), 2, "the canary's instance of each");
    let actions: Vec<Action> = out[0].stacks.iter().map(|s| s.action).collect();
    assert_eq!(actions, [Action::Created, Action::Created]);
    let data: Vec<&String> = notes
        .iter()
        .filter(|n| n.contains("qfleet-fleetsets-data"))
        .collect();
    assert_eq!(
        data,
        [
            "stack set qfleet-fleetsets-data: updating its template",
            "stack set qfleet-fleetsets-data: creating instances in 111122223333 × eu-west-1"
        ]
    );
}

/// Each set's instance for account A in eu-west-1, with a stack of its own.
fn instances_by_set() -> Rule {
    mock!(aws_sdk_cloudformation::Client::list_stack_instances).then_compute_output(|r| {
        let set = r.stack_set_name().unwrap_or_default().to_string();
        ListStackInstancesOutput::builder()
            .summaries(
                StackInstanceSummary::builder()
                    .account(A)
                    .region("eu-west-1")
                    .status(StackInstanceStatus::Current)
                    .stack_id(format!(
                        "arn:aws:cloudformation:eu-west-1:{A}:stack/StackSet-{set}-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d/guid"
                    ))
                    .build(),
            )
            .build()
    })
}

/// DescribeStacks: every stack as asked, complete, with this termination protection (`None`:
/// the answer does not say).
fn stacks_protected(on: Option<bool>) -> Rule {
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::{Stack, StackStatus};
    mock!(aws_sdk_cloudformation::Client::describe_stacks).then_compute_output(move |r| {
        let id = r.stack_name().unwrap_or_default().to_string();
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_id(&id)
                    .stack_name(crate::aws::stack_name_of(&id))
                    .stack_status(StackStatus::UpdateComplete)
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .set_enable_termination_protection(on)
                    .build(),
            )
            .build()
    })
}

/// UpdateTerminationProtection turning it on, on a stack named by its id in account A.
fn protection_on() -> Rule {
    mock!(aws_sdk_cloudformation::Client::update_termination_protection)
        .match_requests(|r| {
            r.enable_termination_protection() == Some(true)
                && r.stack_name()
                    .is_some_and(|n| n.starts_with(&format!("arn:aws:cloudformation:eu-west-1:{A}:stack/StackSet-qfleet-fleetsets-")))
        })
        .then_output(|| {
            aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput::builder().build()
        })
}

/// `protect` for the canary, the stack sets answered by `sets`, the caller in `account`,
/// the stacks' protection `on`: what changed, or the error, and how many were set.
fn protect_canary(
    sets: &Rule,
    account: &'static str,
    on: Option<bool>,
) -> (Result<Vec<(String, String)>>, usize, usize) {
    let f = file();
    let list = instances_by_set();
    let admin = Rules {
        cfn: vec![sets, &list],
        ..Default::default()
    }
    .clients();
    let (stacks, set, me) = (stacks_protected(on), protection_on(), caller(account));
    let target = Rules {
        cfn: vec![&stacks, &set],
        sts: vec![&me],
        ..Default::default()
    }
    .clients();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(protect(admin, &target, &f.targets[0]));
    (result, set.num_calls(), list.num_calls())
}

/// StackSets creates stacks without termination protection: a target's instance stacks get
/// the file's (on outside labs) in the target's account, by stack id, where it differs or is
/// not known; the instances are found through the file's marked stack sets, after the
/// target's account guard.
#[test]
fn mocked_a_targets_instance_stacks_get_the_files_termination_protection() {
    assert!(
        file().targets[0].termination_protection(),
        "the example is no lab"
    );
    let ours = || existing(vec![("qfleet:environment", "fleetsets")], "fp");
    for on in [Some(false), None] {
        let (result, calls, _) = protect_canary(&ours(), A, on);
        assert_eq!(calls, 2, "each stack set's instance ({on:?})");
        assert_eq!(
            result.unwrap(),
            [
                (
                    "qfleet-fleetsets-data".to_string(),
                    "StackSet-qfleet-fleetsets-data-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d: termination protection turned on".to_string()
                ),
                (
                    "qfleet-fleetsets-fleet".to_string(),
                    "StackSet-qfleet-fleetsets-fleet-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d: termination protection turned on".to_string()
                ),
            ]
        );
    }
    // Already on: nothing to change.
    let (result, calls, _) = protect_canary(&ours(), A, Some(true));
    assert_eq!((result.unwrap().len(), calls), (0, 0));
    // A stack set without the file's marks: refused, nothing changed in the target.
    let theirs = existing(vec![("qfleet:environment", "other")], "fp");
    let (result, calls, _) = protect_canary(&theirs, A, Some(false));
    let err = result.unwrap_err();
    assert!(
        err.to_string()
            .contains("qfleet:environment=fleetsets (it has qfleet:environment=other)"),
        "{err}"
    );
    assert_eq!(calls, 0);
    // Credentials of an account the target is not in: refused before anything is read.
    let (result, calls, listed) = protect_canary(&ours(), "777777777777", Some(false));
    let err = result.unwrap_err();
    assert!(err.to_string().contains("777777777777"), "{err}");
    assert_eq!(err.exit_code(), Exit::Refused);
    assert_eq!((calls, listed), (0, 0));
}

/// After the wave: a deployed target whose protection could not be set fails with why; one
/// that failed already keeps its own error, with a line that its stacks may be unprotected;
/// what changed is noted on its stack sets' outcomes.
#[test]
fn a_protection_that_could_not_be_set_fails_a_deployed_target_and_never_hides_a_failure() {
    let stack = |set: &str| StackOutcome {
        stack: set.to_string(),
        role: crate::render::StackRole::Data,
        action: Action::Created,
        status: None,
        duration_ms: 0,
        changes: Vec::new(),
        notes: Vec::new(),
        outputs: Default::default(),
        worker_version: None,
    };
    let outcome = |ok: bool| EnvOutcome {
        environment: "fleetsets-eu1".into(),
        region: "eu-west-1".into(),
        ok,
        cancelled: false,
        stacks: vec![stack("qfleet-fleetsets-data")],
        error: (!ok).then(|| Error::aws("FAILED: the fleet's instance").report()),
        exit_code: if ok { Exit::Ok } else { Exit::Aws },
        duration_ms: 0,
    };
    let mut deployed = outcome(true);
    let lines = protected(
        &mut deployed,
        Ok(vec![(
            "qfleet-fleetsets-data".into(),
            "S: termination protection turned on".into(),
        )]),
    );
    assert_eq!(
        lines,
        ["fleetsets-eu1: S: termination protection turned on"]
    );
    assert_eq!(
        deployed.stacks[0].notes,
        ["S: termination protection turned on"]
    );
    assert!(deployed.ok);

    let mut deployed = outcome(true);
    let lines = protected(&mut deployed, Err(Error::aws("AccessDenied")));
    assert!(lines.is_empty());
    assert!(!deployed.ok);
    assert_eq!(deployed.exit_code, Exit::Aws);
    assert!(deployed.error.unwrap().message.contains("AccessDenied"));

    let mut failed = outcome(false);
    let lines = protected(&mut failed, Err(Error::aws("AccessDenied")));
    assert_eq!(
        lines,
        ["fleetsets-eu1: its instance stacks may be without termination protection: AccessDenied"]
    );
    assert!(
        failed
            .error
            .unwrap()
            .message
            .contains("the fleet's instance")
    );
}

/// GetCallerIdentity answering `account`.
fn caller(account: &'static str) -> Rule {
    mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account(account)
            .arn(format!("arn:aws:iam::{account}:user/ci"))
            .build()
    })
}

/// The account examples/stack-sets.yaml keeps its stack sets in.
const ADMIN: &str = "999999999999";

/// A deploy session's wiring of the account guards and termination protection around a
/// StackSets wave, with the stack sets' clients (eu-west-1, credentials in `admin`) and each
/// target's own answered by mocks: the canary's credentials are in `account`; its stack sets
/// exist with the file's marks and an instance for it. The outcomes, UpdateStackSet's calls,
/// UpdateTerminationProtection's and DescribeStackSet's.
fn session_deploys_the_canary(
    admin: &'static str,
    account: &'static str,
) -> (Vec<EnvOutcome>, usize, usize, usize) {
    let f = file();
    assert_eq!(
        crate::config::administration_account(&f.base).as_deref(),
        Some(ADMIN)
    );
    let canary = f.targets[..1].to_vec();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    let list = instances_by_set();
    let update = mock!(aws_sdk_cloudformation::Client::update_stack_set).then_compute_output(|r| {
        UpdateStackSetOutput::builder()
            .operation_id(format!("op-{}", r.accounts().join("-")))
            .build()
    });
    let (op, res) = canary_succeeded();
    let holder = caller(admin);
    let admin = Rules {
        cfn: vec![&ours, &list, &update, &op, &res],
        sts: vec![&holder],
        ..Default::default()
    }
    .clients();
    let (stacks, set, me) = (
        stacks_protected(Some(false)),
        protection_on(),
        caller(account),
    );
    let target = Rules {
        cfn: vec![&stacks, &set],
        sts: vec![&me],
        ..Default::default()
    }
    .clients();
    let key = |e: &Environment| {
        let role = e.target.as_ref().and_then(|t| t.role_arn.clone());
        assert!(
            role.is_some(),
            "the example assumes deploy_role in the target"
        );
        (e.spec.region.clone(), role)
    };
    let aws = crate::aws::Aws::with_clients([
        ((f.base.spec.region.clone(), None), admin),
        (key(&canary[0]), target),
    ]);
    let session = crate::session::Session::with_aws(canary.clone(), aws, 4);
    let out = crate::output::Output {
        format: crate::output::Format::Text,
        interactive: false,
        command: "test",
    };
    let done = crate::deploy::many::some(
        &session,
        &canary,
        Mode::Deploy,
        &opts(),
        out,
        &crate::deploy::event::Reporter::new(out),
        &crate::deploy::InFlight::default(),
    )
    .expect("not interrupted");
    (done, update.num_calls(), set.num_calls(), ours.num_calls())
}

/// `deploy --yes` of a StackSets target: its account guard runs in its own account before
/// the wave, and its instance stacks are protected after it, by the session itself (not only
/// by `protect` called alone).
#[test]
fn mocked_a_deploy_session_guards_the_targets_account_first_and_protects_what_the_wave_deployed() {
    let (done, updates, protections, _) = session_deploys_the_canary(ADMIN, A);
    assert!(done[0].ok, "{:?}", done[0]);
    assert_eq!(updates, 2, "the wave updated both stack sets' instance");
    assert_eq!(protections, 2, "both instance stacks protected");
    for s in &done[0].stacks {
        let protected: Vec<&String> = s
            .notes
            .iter()
            .filter(|n| n.ends_with("termination protection turned on"))
            .collect();
        assert_eq!(protected.len(), 1, "{}: {:?}", s.stack, s.notes);
    }
    assert_eq!(done[0].stacks.len(), 2);

    // Credentials of another account where the canary is to be protected: refused before the
    // wave, so no stack set changes and nothing is protected.
    let (done, updates, protections, _) = session_deploys_the_canary(ADMIN, "777777777777");
    assert!(!done[0].ok);
    assert_eq!(done[0].exit_code, Exit::Refused, "{:?}", done[0]);
    assert!(
        message(&done[0]).contains("777777777777"),
        "{}",
        message(&done[0])
    );
    assert_eq!((updates, protections), (0, 0));
}

/// Credentials of another account than the one the file keeps its stack sets in
/// (`rollout.administration_account`): every target of the file is refused before a stack
/// set is read, since there the file's stack sets would be "none".
#[test]
fn mocked_a_deploy_session_refuses_credentials_of_another_account_than_the_stack_sets_one() {
    let (done, updates, protections, reads) = session_deploys_the_canary(A, A);
    assert!(!done[0].ok);
    assert_eq!(done[0].exit_code, Exit::Refused, "{:?}", done[0]);
    let m = message(&done[0]);
    assert!(
        m.contains(&format!(
            "the credentials are for account {A}, and {} acts on its stack sets from account {ADMIN}",
            file().base.source.path.display()
        )),
        "{m}"
    );
    assert_eq!((updates, protections, reads), (0, 0, 0));
}

fn wave_of(file: &LoadedFile, rules: &[&Rule], envs: &[Environment]) -> Vec<EnvOutcome> {
    wave_of_file(file, rules, envs, Mode::Deploy, &opts()).0
}

/// A service-managed file's first deploy of its canary: each stack set created
/// SERVICE_MANAGED, and its instance created by naming the canary's account within its unit
/// (SDK-level mocks: no emulator here runs StackSets with AWS Organizations).
#[test]
fn mocked_a_service_managed_wave_creates_its_instances_by_account_within_the_unit() {
    use aws_sdk_cloudformation::types::PermissionModels;
    let f = crate::config::stack_sets_service_managed();
    let canary = &f.targets[..1];
    assert_eq!(
        canary[0]
            .target
            .as_ref()
            .unwrap()
            .organizational_unit
            .as_deref(),
        Some("ou-ab12-34cd56ef")
    );
    let none = no_stack_set();
    let create = mock!(aws_sdk_cloudformation::Client::create_stack_set)
        .match_requests(|r| r.permission_model() == Some(&PermissionModels::ServiceManaged))
        .then_output(|| CreateStackSetOutput::builder().stack_set_id("id").build());
    let instances = mock!(aws_sdk_cloudformation::Client::create_stack_instances)
        .match_requests(|r| r.accounts().is_empty() && within_unit(r.deployment_targets()))
        .then_output(|| {
            CreateStackInstancesOutput::builder()
                .operation_id(format!("op-{A}"))
                .build()
        });
    let (op, res) = canary_succeeded();
    let out = wave_of(&f, &[&none, &create, &instances, &op, &res], canary);
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!((create.num_calls(), instances.num_calls()), (2, 2));
}

/// Whether a call names the canary's account within its unit (service-managed permissions):
/// DeploymentTargets with the account, the unit and the INTERSECTION filter.
fn within_unit(t: Option<&aws_sdk_cloudformation::types::DeploymentTargets>) -> bool {
    use aws_sdk_cloudformation::types::AccountFilterType;
    t.is_some_and(|t| {
        t.accounts() == [A]
            && t.organizational_unit_ids() == ["ou-ab12-34cd56ef"]
            && t.account_filter_type() == Some(&AccountFilterType::Intersection)
    })
}

/// With service-managed permissions an OUTDATED instance is brought up to date by
/// UpdateStackInstances naming its account within its unit (DeploymentTargets, INTERSECTION),
/// never by Accounts, which AWS refuses for service-managed stack sets.
#[test]
fn mocked_a_service_managed_instance_is_brought_up_to_date_within_its_unit() {
    let f = crate::config::stack_sets_service_managed();
    let canary = &f.targets[..1];
    let sets = crate::render::stack_sets_of(&f).unwrap();
    let fp: &'static str = Box::leak(fingerprint(&sets[0].template).into_boxed_str());
    let described = marked_at(PermissionModels::ServiceManaged, Some(false), Some(fp));
    let list = listed(vec![(A, "eu-west-1", "OUTDATED")]);
    let within = mock!(aws_sdk_cloudformation::Client::update_stack_instances)
        .match_requests(|r| {
            r.accounts().is_empty()
                && r.regions() == ["eu-west-1"]
                && within_unit(r.deployment_targets())
        })
        .then_output(|| {
            UpdateStackInstancesOutput::builder()
                .operation_id(format!("op-{A}"))
                .build()
        });
    let update = mock!(aws_sdk_cloudformation::Client::update_stack_set).then_output(|| {
        UpdateStackSetOutput::builder()
            .operation_id(format!("op-{A}"))
            .build()
    });
    let (op, res) = canary_succeeded();
    let out = wave_of(
        &f,
        &[&described, &list, &within, &update, &op, &res],
        canary,
    );
    assert!(out[0].ok, "{:?}", out[0]);
    // The data stack set's instance brought up to date within its unit; the fleet's template
    // (another fingerprint) by UpdateStackSet.
    assert_eq!((within.num_calls(), update.num_calls()), (1, 1));
}

/// A wave whose only instance is INOPERABLE and whose other target is new, while another
/// wave's instance is up to date: no update can carry the new template to this wave, so it
/// is refused before anything changes. With no instance an update reaches anywhere, the
/// template is set on the stack set alone, and the new instance is created with it.
#[test]
fn mocked_an_inoperable_instance_carries_no_template_to_its_wave() {
    let f = file();
    let ours = existing(vec![("qfleet:environment", "fleetsets")], "old");
    let wave = &f.targets[..2];
    let (create, instances) = (created(), create_instances());
    let elsewhere = listed(vec![
        (A, "eu-west-1", "INOPERABLE"),
        (B, "eu-west-1", "CURRENT"),
    ]);
    let (out, _) = plan_and_deploy(
        &[&ours, &elsewhere, &create, &instances],
        wave,
        Mode::Deploy,
        &opts(),
    );
    assert!(out.iter().all(|o| o.exit_code == Exit::Refused), "{out:?}");
    assert!(
        message(&out[1]).contains("none yet, or only INOPERABLE ones"),
        "{}",
        message(&out[1])
    );
    assert_eq!(instances.num_calls(), 0);

    let only = listed(vec![(A, "eu-west-1", "INOPERABLE")]);
    let update_all = mock!(aws_sdk_cloudformation::Client::update_stack_set)
        .match_requests(|r| r.accounts().is_empty() && r.regions().is_empty())
        .then_output(|| {
            UpdateStackSetOutput::builder()
                .operation_id("op-all")
                .build()
        });
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res = results(vec![(
        A,
        "us-east-1",
        StackSetOperationResultStatus::Succeeded,
        None,
    )]);
    let (out, _) = plan_and_deploy(
        &[&ours, &only, &update_all, &create, &instances, &op, &res],
        wave,
        Mode::Deploy,
        &opts(),
    );
    assert!(!out[0].ok && out[1].ok, "{out:?}");
    assert_eq!(update_all.num_calls(), 2, "once per stack set");
    assert_eq!(instances.num_calls(), 2, "us1's instance in each stack set");
}

/// The file's stack set as DescribeStackSet answers: with the file's marks, this permission
/// model and this automatic deployment.
fn marked(model: PermissionModels, auto: Option<bool>) -> Rule {
    marked_at(model, auto, None)
}

/// [`marked`], with the template of this fingerprint when given (else none: every template
/// is new to it).
fn marked_at(model: PermissionModels, auto: Option<bool>, fp: Option<&'static str>) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_output(move || {
        DescribeStackSetOutput::builder()
            .stack_set(
                SdkStackSet::builder()
                    .stack_set_name("x")
                    .tags(
                        Tag::builder()
                            .key("qfleet:environment")
                            .value("fleetsets")
                            .build(),
                    )
                    .permission_model(model.clone())
                    .set_auto_deployment(
                        auto.map(|on| AutoDeployment::builder().enabled(on).build()),
                    )
                    .template_body(NO_RESOURCES)
                    .set_parameters(fp.map(|fp| {
                        vec![
                            aws_sdk_cloudformation::types::Parameter::builder()
                                .parameter_key(FINGERPRINT_PARAMETER)
                                .parameter_value(fp)
                                .build(),
                        ]
                    }))
                    .build(),
            )
            .build()
    })
}

/// The service-managed example's canary deployed against the stack sets `described`, each
/// with an instance there: its outcome, and how many calls would have changed anything.
fn service_managed_canary_against(described: &Rule) -> (EnvOutcome, usize) {
    let f = crate::config::stack_sets_service_managed();
    let list = listed(vec![(A, "eu-west-1", "CURRENT")]);
    let update = mock!(aws_sdk_cloudformation::Client::update_stack_set)
        .then_output(|| UpdateStackSetOutput::builder().operation_id("u").build());
    let (create, instances) = (created(), create_instances());
    let out = wave_of(
        &f,
        &[described, &list, &update, &create, &instances],
        &f.targets[..1],
    );
    let changes = update.num_calls() + create.num_calls() + instances.num_calls();
    (out.into_iter().next().unwrap(), changes)
}

/// A stack set whose permission model is not the file's (AWS keeps a stack set's model once
/// it has instances), or whose automatic deployment someone turned on (StackSets would act on
/// accounts the file never names: deploy to each added to a unit, delete from each leaving
/// one): refused before anything changes.
#[test]
fn mocked_a_stack_set_of_another_model_or_with_automatic_deployment_is_refused_untouched() {
    let (o, changes) = service_managed_canary_against(&marked(PermissionModels::SelfManaged, None));
    assert_eq!(o.exit_code, Exit::Input, "{o:?}");
    assert!(
        message(&o).contains("has SELF_MANAGED permissions")
            && message(&o).contains("says SERVICE_MANAGED"),
        "{}",
        message(&o)
    );
    assert_eq!(changes, 0);
    // On, or not said to be off (fail closed).
    for auto in [Some(true), None] {
        let (o, changes) =
            service_managed_canary_against(&marked(PermissionModels::ServiceManaged, auto));
        assert_eq!(o.exit_code, Exit::Refused, "{auto:?}: {o:?}");
        assert!(
            message(&o).contains("has automatic deployment on"),
            "{}",
            message(&o)
        );
        assert_eq!(changes, 0);
    }
    // Off, as qfleet creates them: deployed, the instance named in the unit it was created in
    // (ListStackInstances says `ou-ab12-0ldun1t0`; the file now says `ou-ab12-34cd56ef`).
    let (op, res) = canary_succeeded();
    let f = crate::config::stack_sets_service_managed();
    let off = marked(PermissionModels::ServiceManaged, Some(false));
    let list = mock!(aws_sdk_cloudformation::Client::list_stack_instances).then_output(|| {
        ListStackInstancesOutput::builder()
            .summaries(
                StackInstanceSummary::builder()
                    .account(A)
                    .region("eu-west-1")
                    .status(StackInstanceStatus::Current)
                    .organizational_unit_id("ou-ab12-0ldun1t0")
                    .build(),
            )
            .build()
    });
    let update = mock!(aws_sdk_cloudformation::Client::update_stack_set)
        .match_requests(|r| {
            r.deployment_targets()
                .is_some_and(|t| t.organizational_unit_ids() == ["ou-ab12-0ldun1t0"])
        })
        .then_compute_output(|r| {
            UpdateStackSetOutput::builder()
                .operation_id(format!(
                    "op-{}",
                    r.deployment_targets()
                        .map(|t| t.accounts().join("-"))
                        .unwrap_or_default()
                ))
                .build()
        });
    let out = wave_of(&f, &[&off, &list, &update, &op, &res], &f.targets[..1]);
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(update.num_calls(), 2);
}

/// `examples/org-units.yaml`: targets that each stand for a whole AWS Organizations unit.
fn org_units() -> LoadedFile {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/org-units.yaml");
    crate::config::load(&p).unwrap()
}

fn set_not_found() -> DescribeStackSetError {
    DescribeStackSetError::generic(
        ErrorMetadata::builder()
            .code("StackSetNotFoundException")
            .message("StackSet not found")
            .build(),
    )
}

const DATA_SET_ARN: &str =
    "arn:aws:cloudformation:eu-west-1:999999999999:stackset/qfleet-orgunits-data:1234";

/// A whole unit's first deploy (SDK-level mocks: no emulator here runs StackSets with AWS
/// Organizations): each stack set created with automatic deployment on and
/// RetainStacksOnAccountRemoval, the fleet's waiting for the data's (DependsOn, its ARN);
/// the instances created by naming the unit alone (no account, no filter), every account's
/// result the target's, and the accounts said in its outcome.
#[test]
fn mocked_a_whole_unit_is_created_with_automatic_deployment_by_naming_the_unit_alone() {
    let f = org_units();
    let canary = &f.targets[..1];
    let data_described = mock!(aws_sdk_cloudformation::Client::describe_stack_set)
        .match_requests(|r| r.stack_set_name() == Some("qfleet-orgunits-data"))
        .sequence()
        .error(set_not_found)
        .output(|| {
            DescribeStackSetOutput::builder()
                .stack_set(
                    SdkStackSet::builder()
                        .stack_set_name("qfleet-orgunits-data")
                        .stack_set_arn(DATA_SET_ARN)
                        .build(),
                )
                .build()
        })
        .build();
    let none = no_stack_set();
    let auto = |r: &aws_sdk_cloudformation::operation::create_stack_set::CreateStackSetInput,
                deps: &[&str]| {
        r.auto_deployment().is_some_and(|a| {
            a.enabled() == Some(true)
                && a.retain_stacks_on_account_removal() == Some(true)
                && a.depends_on() == deps
        })
    };
    let create_data = mock!(aws_sdk_cloudformation::Client::create_stack_set)
        .match_requests(move |r| r.stack_set_name() == Some("qfleet-orgunits-data") && auto(r, &[]))
        .then_output(|| CreateStackSetOutput::builder().stack_set_id("d").build());
    let create_fleet = mock!(aws_sdk_cloudformation::Client::create_stack_set)
        .match_requests(move |r| {
            r.stack_set_name() == Some("qfleet-orgunits-fleet") && auto(r, &[DATA_SET_ARN])
        })
        .then_output(|| CreateStackSetOutput::builder().stack_set_id("f").build());
    let instances = mock!(aws_sdk_cloudformation::Client::create_stack_instances)
        .match_requests(|r| {
            r.accounts().is_empty()
                && r.regions() == ["eu-west-1"]
                && r.deployment_targets().is_some_and(|t| {
                    t.organizational_unit_ids() == ["ou-ab12-34cd56ef"]
                        && t.accounts().is_empty()
                        && t.account_filter_type()
                            == Some(&aws_sdk_cloudformation::types::AccountFilterType::None)
                })
        })
        .then_output(|| {
            CreateStackInstancesOutput::builder()
                .operation_id(format!("op-{A}-{B}"))
                .build()
        });
    let ok = StackSetOperationResultStatus::Succeeded;
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let res = results(vec![
        (A, "eu-west-1", ok.clone(), None),
        (B, "eu-west-1", ok, None),
    ]);
    let list = listed_in_units(vec![
        (A, "eu-west-1", "CURRENT", EU_UNIT),
        (B, "eu-west-1", "CURRENT", EU_UNIT),
        ("777777777777", "us-east-1", "CURRENT", "ou-ab12-99zz88yy"),
        // Another unit's instance in the region: no target's of this file, left alone.
        ("888888888888", "eu-west-1", "OUTDATED", "ou-ab12-0ther0u1"),
    ]);
    let out = wave_of(
        &f,
        &[
            &data_described,
            &none,
            &create_data,
            &create_fleet,
            &instances,
            &op,
            &res,
            &list,
        ],
        canary,
    );
    assert!(out[0].ok, "{:?}", out[0]);
    assert_eq!(
        (
            create_data.num_calls(),
            create_fleet.num_calls(),
            instances.num_calls()
        ),
        (1, 1, 2)
    );
    let notes: Vec<&String> = out[0].stacks.iter().flat_map(|s| &s.notes).collect();
    assert!(
        notes.iter().any(|n| n.as_str()
            == format!("instances in 2 accounts of ou-ab12-34cd56ef in eu-west-1: {A}, {B}")),
        "{notes:?}"
    );
}

/// A whole unit passes only when every account of it in its region succeeded: one account's
/// failure fails the target, naming the account and AWS's reason.
#[test]
fn mocked_a_whole_unit_fails_when_one_of_its_accounts_fails() {
    let f = org_units();
    let data_described = mock!(aws_sdk_cloudformation::Client::describe_stack_set)
        .match_requests(|r| r.stack_set_name() == Some("qfleet-orgunits-data"))
        .sequence()
        .error(set_not_found)
        .build();
    let (none, create) = (no_stack_set(), created());
    let instances =
        mock!(aws_sdk_cloudformation::Client::create_stack_instances).then_output(|| {
            CreateStackInstancesOutput::builder()
                .operation_id(format!("op-{A}-{B}"))
                .build()
        });
    let op = operation(
        StackSetOperationStatus::Failed,
        Some("failure tolerance exceeded"),
    );
    let res = results(vec![
        (
            A,
            "eu-west-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        ),
        (
            B,
            "eu-west-1",
            StackSetOperationResultStatus::Failed,
            Some("Role qfleet-reader is not authorized"),
        ),
    ]);
    let out = wave_of(
        &f,
        &[&data_described, &none, &create, &instances, &op, &res],
        &f.targets[..1],
    );
    assert!(!out[0].ok);
    let m = message(&out[0]);
    assert!(
        m.contains(
            "the operation FAILED (failure tolerance exceeded): 1 of 2 accounts did not succeed"
        ) && m.contains(&format!(
            "{B} FAILED (Role qfleet-reader is not authorized)"
        )),
        "{m}"
    );
    // No fleet for a target whose data stack set failed.
    assert_eq!(out[0].stacks.len(), 1, "{:?}", out[0].stacks);
}

/// A stack set of a whole-unit file whose automatic deployment is off, or on without
/// RetainStacksOnAccountRemoval (an account leaving its unit would lose its data), or whose
/// description does not say: refused before anything changes.
#[test]
fn mocked_a_whole_units_stack_set_without_automatic_deployment_and_retention_is_refused() {
    let f = org_units();
    for (enabled, retain) in [(Some(false), None), (Some(true), Some(false)), (None, None)] {
        let described =
            mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_output(move || {
                DescribeStackSetOutput::builder()
                    .stack_set(
                        SdkStackSet::builder()
                            .stack_set_name("x")
                            .tags(
                                Tag::builder()
                                    .key("qfleet:environment")
                                    .value("orgunits")
                                    .build(),
                            )
                            .permission_model(PermissionModels::ServiceManaged)
                            .set_auto_deployment(enabled.map(|on| {
                                AutoDeployment::builder()
                                    .enabled(on)
                                    .set_retain_stacks_on_account_removal(retain)
                                    .build()
                            }))
                            .build(),
                    )
                    .build()
            });
        let update = mock!(aws_sdk_cloudformation::Client::update_stack_set)
            .then_output(|| UpdateStackSetOutput::builder().operation_id("u").build());
        let (create, instances) = (created(), create_instances());
        let out = wave_of(
            &f,
            &[&described, &update, &create, &instances],
            &f.targets[..1],
        );
        assert_eq!(out[0].exit_code, Exit::Refused, "{enabled:?} {retain:?}");
        assert!(
            message(&out[0]).contains("RetainStacksOnAccountRemoval=true"),
            "{}",
            message(&out[0])
        );
        assert_eq!(
            update.num_calls() + create.num_calls() + instances.num_calls(),
            0
        );
    }
}

const EU_UNIT: &str = "ou-ab12-34cd56ef";

/// ListStackInstances (unfiltered) listing (account, region, status, unit).
fn listed_in_units(
    instances: Vec<(&'static str, &'static str, &'static str, &'static str)>,
) -> Rule {
    listed_with(
        instances
            .into_iter()
            .map(|(a, r, s, u)| (a, r, s, Some(u)))
            .collect(),
    )
}

/// `plan` of a whole-unit file that has no stack set yet: each stack set and the unit's
/// instances would be created, and nothing is read that only a deploy makes (the data stack
/// set's ARN, for the fleet's automatic deployment).
#[test]
fn mocked_plan_of_a_new_whole_unit_file_says_what_it_would_create() {
    let f = org_units();
    let (none, create, instances) = (no_stack_set(), created(), create_instances());
    let (out, _) = wave_of_file(
        &f,
        &[&none, &create, &instances],
        &f.targets,
        Mode::Plan,
        &opts(),
    );
    for o in &out {
        assert!(o.ok, "{o:?}");
        assert_eq!(o.stacks.len(), 2);
        assert!(o.stacks.iter().all(|s| s.action == Action::WouldCreate));
    }
    assert!(out[0].stacks[0].notes[0].contains("every account of ou-ab12-34cd56ef in eu-west-1"));
    assert_eq!(create.num_calls() + instances.num_calls(), 0);
}

/// A whole unit is deployed only on evidence from every account: an operation that did not
/// succeed (its failure tolerance let failures through, or it stopped) fails it even when the
/// results listed so far succeeded, and so do results and instances that name different
/// accounts (eventually consistent results: an account listed without one may have failed).
#[test]
fn mocked_a_whole_unit_needs_the_operation_and_every_account_to_agree() {
    let f = org_units();
    let run = |status: StackSetOperationStatus, results_of: Vec<&'static str>| {
        let data_described = mock!(aws_sdk_cloudformation::Client::describe_stack_set)
            .match_requests(|r| r.stack_set_name() == Some("qfleet-orgunits-data"))
            .sequence()
            .error(set_not_found)
            .output(|| {
                DescribeStackSetOutput::builder()
                    .stack_set(SdkStackSet::builder().stack_set_arn(DATA_SET_ARN).build())
                    .build()
            })
            .build();
        let (none, create) = (no_stack_set(), created());
        let instances =
            mock!(aws_sdk_cloudformation::Client::create_stack_instances).then_output(|| {
                CreateStackInstancesOutput::builder()
                    .operation_id(format!("op-{A}-{B}"))
                    .build()
            });
        let op = operation(status, None);
        let res = results(
            results_of
                .into_iter()
                .map(|a| {
                    (
                        a,
                        "eu-west-1",
                        StackSetOperationResultStatus::Succeeded,
                        None,
                    )
                })
                .collect(),
        );
        let list = listed_in_units(vec![
            (A, "eu-west-1", "CURRENT", EU_UNIT),
            (B, "eu-west-1", "CURRENT", EU_UNIT),
        ]);
        let out = wave_of(
            &f,
            &[
                &data_described,
                &none,
                &create,
                &instances,
                &op,
                &res,
                &list,
            ],
            &f.targets[..1],
        );
        (out[0].ok, message(&out[0]))
    };
    let (ok, m) = run(StackSetOperationStatus::Succeeded, vec![A, B]);
    assert!(ok, "{m}");
    let (ok, m) = run(StackSetOperationStatus::Failed, vec![A, B]);
    assert!(!ok && m.contains("the operation FAILED"), "{m}");
    let (ok, m) = run(StackSetOperationStatus::Succeeded, vec![A]);
    assert!(
        !ok && m.contains(&format!("listed without a result: {B}")),
        "{m}"
    );
}

/// A whole unit's fleet stack set whose automatic deployment does not wait for the data's
/// (DependsOn): in an account that joins the unit its fleet could start before its queue.
/// Refused before anything changes.
#[test]
fn mocked_a_whole_units_fleet_stack_set_without_its_dependency_is_refused() {
    let f = org_units();
    let list = listed_in_units(vec![(A, "eu-west-1", "CURRENT", EU_UNIT)]);
    for (depends, refused) in [(None, true), (Some(DATA_SET_ARN), false)] {
        let d = described_unit_set(depends);
        let update = mock!(aws_sdk_cloudformation::Client::update_stack_set).then_output(|| {
            UpdateStackSetOutput::builder()
                .operation_id(format!("op-{A}"))
                .build()
        });
        let op = operation(StackSetOperationStatus::Succeeded, None);
        let res = results(vec![(
            A,
            "eu-west-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        )]);
        let out = wave_of(&f, &[&d, &list, &update, &op, &res], &f.targets[..1]);
        let m = message(&out[0]);
        assert_eq!(
            m.contains("DependsOn"),
            refused,
            "{depends:?}: {m} {:?}",
            out[0].stacks
        );
        if refused {
            assert_eq!(out[0].exit_code, Exit::Refused);
            // The data stack set is deployed (its wave's update), the fleet's refused.
            assert_eq!(update.num_calls(), 1);
        } else {
            assert!(out[0].ok, "{m}");
        }
    }
}

/// DescribeStackSet of a whole-unit file's stack sets as qfleet creates them (automatic
/// deployment and retention on, marked as the file's), `depends` their DependsOn.
fn described_unit_set(depends: Option<&'static str>) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_compute_output(move |r| {
        let name = r.stack_set_name().unwrap_or_default().to_string();
        DescribeStackSetOutput::builder()
            .stack_set(
                SdkStackSet::builder()
                    .stack_set_name(&name)
                    .stack_set_arn(format!(
                        "arn:aws:cloudformation:eu-west-1:999999999999:stackset/{name}:1"
                    ))
                    .tags(
                        Tag::builder()
                            .key("qfleet:environment")
                            .value("orgunits")
                            .build(),
                    )
                    .permission_model(PermissionModels::ServiceManaged)
                    .auto_deployment(
                        AutoDeployment::builder()
                            .enabled(true)
                            .retain_stacks_on_account_removal(true)
                            .set_depends_on(depends.map(|d| vec![d.to_string()]))
                            .build(),
                    )
                    .template_body(NO_RESOURCES)
                    .build(),
            )
            .build()
    })
}

/// A whole unit's update: its accounts are known from its instances, so the operation's
/// results are read again until each has one (eventually consistent), rather than failing
/// the target on the first listing that lacks one.
#[test]
fn mocked_a_whole_units_update_waits_for_a_result_from_each_account_it_has() {
    let f = org_units();
    let d = described_unit_set(Some(DATA_SET_ARN));
    let list = listed_in_units(vec![
        (A, "eu-west-1", "CURRENT", EU_UNIT),
        (B, "eu-west-1", "CURRENT", EU_UNIT),
    ]);
    let update = mock!(aws_sdk_cloudformation::Client::update_stack_set).then_output(|| {
        UpdateStackSetOutput::builder()
            .operation_id("op-unit")
            .build()
    });
    let op = operation(StackSetOperationStatus::Succeeded, None);
    let result = |a: &'static str| {
        StackSetOperationResultSummary::builder()
            .account(a)
            .region("eu-west-1")
            .status(StackSetOperationResultStatus::Succeeded)
            .build()
    };
    let lagging = mock!(aws_sdk_cloudformation::Client::list_stack_set_operation_results)
        .sequence()
        .output(move || {
            ListStackSetOperationResultsOutput::builder()
                .summaries(result(A))
                .build()
        })
        .output(move || {
            ListStackSetOperationResultsOutput::builder()
                .summaries(result(A))
                .summaries(result(B))
                .build()
        })
        .repeatedly()
        .build();
    let out = wave_of(&f, &[&d, &list, &update, &op, &lagging], &f.targets[..1]);
    assert!(out[0].ok, "{}", message(&out[0]));
    assert_eq!(update.num_calls(), 2);
    assert!(lagging.num_calls() >= 3, "{}", lagging.num_calls());
}

/// `plan` of a whole unit that has instances names them, with their status; one INOPERABLE
/// account fails the target, named.
#[test]
fn mocked_plan_names_a_whole_units_instances_and_an_inoperable_account() {
    let f = org_units();
    let d = described_unit_set(Some(DATA_SET_ARN));
    let list = listed_in_units(vec![
        (A, "eu-west-1", "CURRENT", EU_UNIT),
        (B, "eu-west-1", "INOPERABLE", EU_UNIT),
    ]);
    let (out, _) = wave_of_file(&f, &[&d, &list], &f.targets[..1], Mode::Plan, &opts());
    let notes = &out[0].stacks[0].notes;
    assert!(
        notes.iter().any(|n| n
            == &format!("its instances now, in 2 accounts of {EU_UNIT} in eu-west-1: {A} (CURRENT), {B} (INOPERABLE)")),
        "{notes:?}"
    );
    let m = message(&out[0]);
    assert!(
        m.contains(&format!("the instance in {B} is INOPERABLE")),
        "{m}"
    );
}
