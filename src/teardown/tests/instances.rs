//! The teardown of targets deployed through StackSets, against CloudFormation answered by
//! SDK-level mocks (`mocked_`): no emulator here deletes stack instances faithfully (moto
//! cannot create a qfleet data stack as an instance, see docs/local-aws.md). The mocks keep
//! one state of the stack sets' instances: DeleteStackInstances removes the instance and its
//! stack, which the target's DescribeStacks then no longer finds.

use super::{no_bucket, no_queue, reporter, template};
use crate::aws::Polling;
use crate::aws::StackInstance as Instance;
use crate::aws::{
    mock::Rules, mock::State, mock::instance_stacks, mock::list_instances_inoperable,
    mock::list_resources, mock::queue_attributes, mock::resource, mock::stack_sets, mock::state,
};
use crate::config::Environment;
use crate::placement::{StackNames, instances_of};
use crate::teardown::{Options, environment_at};
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::{
    delete_stack_instances::DeleteStackInstancesOutput, delete_stack_set::DeleteStackSetOutput,
    describe_stack_set_operation::DescribeStackSetOperationOutput,
    list_stack_set_operation_results::ListStackSetOperationResultsOutput,
};
use aws_sdk_cloudformation::types as cfn;
use aws_smithy_mocks::{Rule, mock};

const A: &str = "111122223333";
const B: &str = "444455556666";
const DATA_SET: &str = "qfleet-fleetsets-data";
const FLEET_SET: &str = "qfleet-fleetsets-fleet";
const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/fleetsets-eu1-jobs";
const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/fleetsets-eu1-dlq";

/// The canary target of `examples/stack-sets.yaml` (`fleetsets-eu1`, account A, eu-west-1),
/// its file made to ask for no termination protection: its instances' stacks, as the mocks
/// describe them, have none.
fn canary() -> Environment {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
    let mut env = crate::config::load(&p).unwrap().targets.remove(0);
    env.spec.termination_protection = Some(false);
    env
}

/// DeleteStackInstances: the instance goes (with its stack) unless `fails` names its set.
/// Each DeleteStackInstances: its stack set and RetainStacks.
type Calls = std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>;

fn delete_instances(st: &State, fails: Option<&'static str>) -> (Rule, Calls) {
    let st = st.clone();
    let calls = Calls::default();
    let log = calls.clone();
    let rule = mock!(Cfn::delete_stack_instances).then_compute_output(move |r| {
        let set = r.stack_set_name().unwrap_or_default().to_string();
        log.lock().unwrap().push((
            set.clone(),
            r.retain_stacks().expect("RetainStacks is required"),
        ));
        if fails != Some(set.as_str()) {
            st.lock().unwrap().retain(|(s, a, region, _)| {
                !(s == &set && r.accounts().contains(a) && r.regions().contains(region))
            });
        }
        let outcome = if fails == Some(set.as_str()) {
            "failed"
        } else {
            "ok"
        };
        DeleteStackInstancesOutput::builder()
            .operation_id(format!("{outcome}-{set}"))
            .build()
    });
    (rule, calls)
}

fn operations() -> Rule {
    mock!(Cfn::describe_stack_set_operation).then_compute_output(|r| {
        let failed = r.operation_id().unwrap_or_default().starts_with("failed");
        DescribeStackSetOperationOutput::builder()
            .stack_set_operation(
                cfn::StackSetOperation::builder()
                    .status(if failed {
                        cfn::StackSetOperationStatus::Failed
                    } else {
                        cfn::StackSetOperationStatus::Succeeded
                    })
                    .build(),
            )
            .build()
    })
}

fn results() -> Rule {
    mock!(Cfn::list_stack_set_operation_results).then_compute_output(|r| {
        let failed = r.operation_id().unwrap_or_default().starts_with("failed");
        ListStackSetOperationResultsOutput::builder()
            .summaries(
                cfn::StackSetOperationResultSummary::builder()
                    .account(A)
                    .region("eu-west-1")
                    .status(if failed {
                        cfn::StackSetOperationResultStatus::Failed
                    } else {
                        cfn::StackSetOperationResultStatus::Succeeded
                    })
                    .set_status_reason(failed.then(|| {
                        "ResourceLogicalId:WorkerGroup, ResourceType:AWS::AutoScaling::AutoScalingGroup, ResourceStatusReason:Access denied".to_string()
                    }))
                    .build(),
            )
            .build()
    })
}

fn caller_in(account: &'static str) -> Rule {
    mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account(account)
            .build()
    })
}

fn opts() -> Options {
    Options {
        yes: true,
        polling: Polling::immediate(),
        ..Default::default()
    }
}

/// One teardown of the canary against mocked stack sets.
struct Scenario {
    /// The stack sets' instances, changed by DeleteStackInstances.
    st: State,
    /// The environment the stack sets are marked as.
    marked_as: &'static str,
    /// The stack set whose DeleteStackInstances fails.
    fails: Option<&'static str>,
    /// The stack set whose instances (with their stacks) are INOPERABLE.
    inoperable: Option<&'static str>,
    /// The region whose instances' stacks the target's DescribeStacks finds.
    stacks_in: &'static str,
    opts: Options,
}

/// What a scenario did.
struct Done {
    o: crate::teardown::TeardownOutcome,
    /// Each DeleteStackInstances: its stack set and RetainStacks.
    instances_deleted: Vec<(String, bool)>,
    sets_deleted: usize,
}

impl Scenario {
    fn of(instances: &[(&str, &str, &str, Option<&str>)]) -> Scenario {
        Scenario {
            st: state(instances),
            marked_as: "fleetsets",
            fails: None,
            inoperable: None,
            stacks_in: "eu-west-1",
            opts: opts(),
        }
    }

    /// Runs the teardown with the admin's and the target's mocked clients; `delete_set`
    /// answers DeleteStackSet.
    fn run(&self, delete_set: &Rule) -> Done {
        let ((del, calls), sets, list, ops, res) = (
            delete_instances(&self.st, self.fails),
            stack_sets(self.marked_as),
            list_instances_inoperable(&self.st, self.inoperable),
            operations(),
            results(),
        );
        let admin = Rules {
            cfn: vec![&sets, &list, &del, &ops, &res, delete_set],
            ..Default::default()
        }
        .clients();
        // The data instance's stack lists its two queues, both empty; its bucket is gone.
        let live = cfn::ResourceStatus::CreateComplete;
        let (stacks, t, resources, b, q, empty, sts) = (
            instance_stacks(&self.st, A, self.stacks_in, "fleetsets"),
            template(),
            list_resources(vec![(
                "StackSet-qfleet-fleetsets-data-aaa",
                vec![
                    resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
                    resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
                ],
            )]),
            no_bucket(),
            no_queue(),
            mock!(aws_sdk_sqs::Client::get_queue_attributes)
                .then_output(|| queue_attributes(0, 0, 0, &[])),
            caller_in(A),
        );
        let clients = Rules {
            cfn: vec![&stacks, &t, &resources],
            s3: vec![&b],
            sqs: vec![&q, &empty],
            sts: vec![&sts],
            ..Default::default()
        }
        .clients();
        let env = canary();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let locate = async {
            instances_of(admin, &env)
                .await
                .map(|t| StackNames { stack_set: Some(t) })
        };
        let o = rt.block_on(environment_at(
            &clients,
            &env,
            locate,
            &self.opts,
            &reporter(),
        ));
        let instances_deleted = calls.lock().unwrap().clone();
        Done {
            o,
            instances_deleted,
            sets_deleted: delete_set.num_calls(),
        }
    }
}

fn any_set_deleted() -> Rule {
    mock!(Cfn::delete_stack_set).then_output(|| DeleteStackSetOutput::builder().build())
}

#[test]
fn mocked_a_stack_set_target_goes_instance_by_instance_fleet_first_and_an_empty_stack_set_with_it()
{
    let s = Scenario::of(&[
        (
            DATA_SET,
            A,
            "eu-west-1",
            Some("StackSet-qfleet-fleetsets-data-aaa"),
        ),
        (
            DATA_SET,
            B,
            "eu-west-1",
            Some("StackSet-qfleet-fleetsets-data-bbb"),
        ),
        (
            FLEET_SET,
            A,
            "eu-west-1",
            Some("StackSet-qfleet-fleetsets-fleet-ccc"),
        ),
    ]);
    // Only the fleet's stack set may go: the data's keeps the other account's instance.
    let delete_set = mock!(Cfn::delete_stack_set)
        .match_requests(|r| r.stack_set_name() == Some(FLEET_SET))
        .then_output(|| DeleteStackSetOutput::builder().build());
    let d = s.run(&delete_set);
    assert!(d.o.ok, "{:?}", d.o);
    assert_eq!(
        d.o.deleted,
        [
            "StackSet-qfleet-fleetsets-fleet-ccc",
            "StackSet-qfleet-fleetsets-data-aaa",
            "stack set qfleet-fleetsets-fleet",
        ],
        "the fleet's instance, then the data's; the fleet's stack set had no instance left"
    );
    assert_eq!(
        d.o.instance_stacks,
        [
            "StackSet-qfleet-fleetsets-data-aaa",
            "StackSet-qfleet-fleetsets-fleet-ccc"
        ],
        "the stacks its events name"
    );
    assert_eq!(
        d.instances_deleted,
        [
            (FLEET_SET.to_string(), false),
            (DATA_SET.to_string(), false)
        ],
        "one DeleteStackInstances per stack, each deleting its stack, once checked"
    );
    assert_eq!(d.sets_deleted, 1);
    let left = s.st.lock().unwrap().clone();
    assert_eq!(
        left,
        [(
            DATA_SET.to_string(),
            B.to_string(),
            "eu-west-1".to_string(),
            Some("StackSet-qfleet-fleetsets-data-bbb".to_string())
        )],
        "the other target's instance is untouched"
    );
}

#[test]
fn mocked_a_stack_set_without_the_files_marks_is_refused_and_nothing_is_deleted() {
    let s = Scenario {
        marked_as: "someone-else",
        ..Scenario::of(&[(
            DATA_SET,
            A,
            "eu-west-1",
            Some("StackSet-qfleet-fleetsets-data-aaa"),
        )])
    };
    let d = s.run(&any_set_deleted());
    assert_eq!(d.o.exit_code, 4, "{:?}", d.o);
    let err = d.o.error.unwrap().message;
    assert!(
        err.contains("stack set qfleet-fleetsets-data is not qfleet's for this stack file"),
        "{err}"
    );
    assert!(err.contains("qfleet:environment=fleetsets"), "{err}");
    assert_eq!((d.instances_deleted.len(), d.sets_deleted), (0, 0));
}

#[test]
fn mocked_an_instance_stackset_fails_to_delete_stops_the_teardown_with_its_reason_and_the_data_stays()
 {
    let s = Scenario {
        fails: Some(FLEET_SET),
        ..Scenario::of(&[
            (
                DATA_SET,
                A,
                "eu-west-1",
                Some("StackSet-qfleet-fleetsets-data-aaa"),
            ),
            (
                FLEET_SET,
                A,
                "eu-west-1",
                Some("StackSet-qfleet-fleetsets-fleet-ccc"),
            ),
        ])
    };
    let d = s.run(&any_set_deleted());
    assert_eq!(d.o.exit_code, 1, "{:?}", d.o);
    assert!(d.o.deleted.is_empty(), "{:?}", d.o.deleted);
    let err = d.o.error.unwrap().message;
    assert!(
        err.contains("stack set qfleet-fleetsets-fleet's instance in 111122223333 eu-west-1 was not deleted: the operation FAILED, here FAILED: ResourceLogicalId:WorkerGroup"),
        "{err}"
    );
    assert_eq!(
        (d.instances_deleted.len(), d.sets_deleted),
        (1, 0),
        "the data's instance is not deleted"
    );

    // An INOPERABLE instance that fails again: the error gives AWS's remedy, not "again".
    let s = Scenario {
        inoperable: Some(FLEET_SET),
        ..s
    };
    let d = s.run(&any_set_deleted());
    let err = d.o.error.unwrap().message;
    assert!(
        err.contains("It is INOPERABLE")
            && err.contains("DeleteStackInstances with RetainStacks true")
            && !err.contains("run teardown again"),
        "{err}"
    );
}

#[test]
fn mocked_instances_without_a_stack_there_and_then_their_empty_stack_sets_are_deleted() {
    // A first deploy whose fleet instance could not create its stack, and a data instance
    // whose stack was deleted by hand (the target's DescribeStacks does not find it): nothing
    // to read or lose.
    let s = Scenario {
        stacks_in: "us-east-1",
        ..Scenario::of(&[
            (
                DATA_SET,
                A,
                "eu-west-1",
                Some("StackSet-qfleet-fleetsets-data-gone"),
            ),
            (FLEET_SET, A, "eu-west-1", None),
        ])
    };
    let d = s.run(&any_set_deleted());
    assert!(d.o.ok, "{:?}", d.o);
    assert_eq!(
        d.o.deleted,
        [
            "stack set qfleet-fleetsets-fleet",
            "stack set qfleet-fleetsets-data"
        ]
    );
    assert_eq!((d.instances_deleted.len(), d.sets_deleted), (2, 2));
    assert!(
        d.instances_deleted.iter().all(|(_, keep)| *keep),
        "RetainStacks: a stack that exists after all is kept, never deleted unchecked"
    );
    assert!(s.st.lock().unwrap().is_empty());
}

#[test]
fn mocked_what_is_left_of_a_target_is_deleted_only_when_confirmed() {
    let s = Scenario {
        opts: Options {
            yes: false,
            can_prompt: false,
            ..opts()
        },
        ..Scenario::of(&[(FLEET_SET, A, "eu-west-1", None)])
    };
    let d = s.run(&any_set_deleted());
    assert_eq!(d.o.exit_code, 4, "{:?}", d.o);
    let err = d.o.error.unwrap().message;
    assert!(
        err.contains("stack set qfleet-fleetsets-fleet's instance in 111122223333 eu-west-1 (no stack there), stack set qfleet-fleetsets-fleet (no instance left)")
            && err.contains("pass --yes"),
        "{err}"
    );
    assert_eq!((d.instances_deleted.len(), d.sets_deleted), (0, 0));
}

#[test]
fn a_stack_set_target_names_its_own_stacks_only_through_its_instances() {
    let env = canary();
    let instance = |stack: Option<&str>| Instance {
        organizational_unit: Some("ou-ab12-34cd56ef".into()),
        account: A.into(),
        region: "eu-west-1".into(),
        status: "CURRENT".into(),
        detailed: None,
        reason: None,
        stack_id: stack.map(|s| format!("arn:aws:cloudformation:eu-west-1:{A}:stack/{s}/guid")),
    };
    let target = crate::placement::StackSetTarget {
        admin: Rules::default().clients(),
        file: "fleetsets".into(),
        owner: None,
        account: A.into(),
        organizational_unit: Some("ou-ab12-99zz88yy".into()),
        call_as: Default::default(),
        region: "eu-west-1".into(),
        instances: [
            (
                env.data_stack_name(),
                (
                    DATA_SET.to_string(),
                    Some(instance(Some("StackSet-x-data-1"))),
                ),
            ),
            (env.fleet_stack_name(), (FLEET_SET.to_string(), None)),
        ]
        .into(),
    };
    // Service-managed: an instance is deleted by naming its account in the unit it was
    // created in (ListStackInstances says which), else in the file's.
    assert_eq!(target.unit_for(DATA_SET), Some("ou-ab12-34cd56ef"));
    assert_eq!(target.unit_for(FLEET_SET), Some("ou-ab12-99zz88yy"));
    let names = StackNames {
        stack_set: Some(target),
    };
    assert_eq!(
        names.name("qfleet-fleetsets-eu1-data").as_deref(),
        Some("StackSet-x-data-1")
    );
    assert_eq!(
        names.name("qfleet-fleetsets-eu1-fleet"),
        None,
        "no instance: no stack, never the stack of the target's own name"
    );
    assert_eq!(names.marked_as(&env), "fleetsets");
    assert_eq!(
        StackNames::own().name("qfleet-x-data").as_deref(),
        Some("qfleet-x-data")
    );
    assert_eq!(StackNames::own().marked_as(&env), "fleetsets-eu1");
}
