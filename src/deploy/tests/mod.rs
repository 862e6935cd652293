//! Stack states and failure paths that moto's server cannot produce (rollback states, resource
//! events, empty or failed change sets, termination protection, outputs after a change set),
//! the question flow, and the property values of AWS's documented DescribeChangeSet answer,
//! exercised against SDK-level mocks (aws-smithy-mocks). Every test name says `mocked`, or
//! `as_aws_documents` when the answer follows AWS's documentation rather than an emulator.

mod body;
mod details;
mod egress;
mod failed;
mod flow;
mod hold;
mod logged;
mod modes;
mod reach;
mod recovery;
mod rolled_back;
mod stacks;
mod takeover;
mod together;

use super::*;
use crate::aws::Clients;
use crate::aws::NetworkPlacement as Placement;
use crate::config;
use crate::config::Network;
use crate::output::{Format, Output};
use crate::render::{self, StackRole};
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{
    self as cfn_types, ChangeSetStatus, ResourceChange, ResourceStatus, StackStatus,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::error::ErrorMetadata;
use desired::DesiredStack;
use std::path::PathBuf;
use std::time::Duration;

const STACK_FILE: &str = "environment: mk\nregion: eu-west-1\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n";
const DATA: &str = "qfleet-mk-data";
const FLEET: &str = "qfleet-mk-fleet";

fn env(yaml: &str) -> Environment {
    config::parse(PathBuf::from("stacks/mk.yaml"), yaml.to_string())
        .unwrap()
        .into_only()
}

fn desired(env: &Environment, role: StackRole) -> DesiredStack {
    let rendered = render::render(env).unwrap();
    let s = rendered.iter().find(|s| s.role == role).unwrap();
    let network = (role == StackRole::Fleet).then(|| {
        let Network::Explicit(net) = &env.spec.workers.network else {
            unreachable!()
        };
        FleetNetwork::Place(Placement {
            vpc: net.vpc.clone(),
            subnets: net.subnets.clone(),
        })
    });
    DesiredStack::new(env, s, network.as_ref())
}

/// A DescribeStacks answer for a stack in `status` with the parameters and tags of `d`
/// (or a stale fingerprint when `current` is false).
fn stack(
    d: &DesiredStack,
    status: StackStatus,
    current: bool,
    protection: bool,
) -> DescribeStacksOutput {
    let mut b = cfn_types::Stack::builder()
        .stack_name(&d.name)
        .stack_id(format!(
            "arn:aws:cloudformation:eu-west-1:111122223333:stack/{}/1",
            d.name
        ))
        .stack_status(status)
        .enable_termination_protection(protection)
        .creation_time(aws_smithy_types::DateTime::from_secs(0));
    for (k, v) in &d.parameters {
        let value = match v {
            desired::Param::Value(v) if current || k != desired::FINGERPRINT_PARAMETER => v.clone(),
            _ => "stale".to_string(),
        };
        b = b.parameters(
            cfn_types::Parameter::builder()
                .parameter_key(k)
                .parameter_value(value)
                .build(),
        );
    }
    for (k, v) in &d.tags {
        b = b.tags(cfn_types::Tag::builder().key(k).value(v).build());
    }
    b = b.outputs(
        cfn_types::Output::builder()
            .output_key("QueueUrl")
            .output_value("https://sqs/q")
            .build(),
    );
    DescribeStacksOutput::builder().stacks(b.build()).build()
}

fn describe_sequence(name: &'static str, answers: Vec<DescribeStacksOutput>) -> Rule {
    let mut seq = mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence();
    let last = answers.len() - 1;
    for (i, a) in answers.into_iter().enumerate() {
        seq = seq.output(move || a.clone());
        if i == last {
            return seq.repeatedly().build();
        }
    }
    unreachable!()
}

fn missing(name: &'static str) -> Rule {
    mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .then_error(move || {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {name} does not exist"))
                    .build(),
            )
        })
}

fn missing_then(name: &'static str, then: Vec<DescribeStacksOutput>) -> Rule {
    let mut seq = mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence()
        .error(move || {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {name} does not exist"))
                    .build(),
            )
        });
    let last = then.len() - 1;
    for (i, a) in then.into_iter().enumerate() {
        seq = seq.output(move || a.clone());
        if i == last {
            return seq.repeatedly().build();
        }
    }
    unreachable!()
}

type Event = (
    &'static str,
    &'static str,
    ResourceStatus,
    Option<&'static str>,
);

fn events(name: &'static str, list: Vec<Event>) -> Rule {
    events_after(name, 0, list)
}

/// Stack events: the first `before` of `list` (oldest first) exist before the operation, the
/// rest appear after the first DescribeStackEvents call.
fn events_after(name: &'static str, before: usize, list: Vec<Event>) -> Rule {
    let page = move |n: usize, list: &[Event]| {
        // Newest first, as CloudFormation returns them.
        let mut out = DescribeStackEventsOutput::builder();
        for (i, (id, ty, status, reason)) in list.iter().enumerate().take(n).rev() {
            let mut e = cfn_types::StackEvent::builder()
                .event_id(format!("e{i}"))
                .stack_name(name)
                .stack_id("id")
                .logical_resource_id(*id)
                .resource_type(*ty)
                .resource_status(status.clone())
                .operation_id(format!("op-{name}"))
                .timestamp(aws_smithy_types::DateTime::from_secs(i as i64));
            if let Some(r) = reason {
                e = e.resource_status_reason(*r);
            }
            out = out.stack_events(e.build());
        }
        out.build()
    };
    let (first, all) = (list.clone(), list);
    let n = all.len();
    mock!(Cfn::describe_stack_events)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence()
        .output(move || page(before.max(1).min(n), &first))
        .output(move || page(n, &all))
        .repeatedly()
        .build()
}

fn change_set(
    status: ChangeSetStatus,
    reason: Option<&'static str>,
    changes: Vec<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>,
) -> Rule {
    mock!(Cfn::describe_change_set).then_output(move || {
        let mut b = DescribeChangeSetOutput::builder().status(status.clone());
        if let Some(r) = reason {
            b = b.status_reason(r);
        }
        for (action, id, ty, replacement) in &changes {
            let mut rc = ResourceChange::builder()
                .action(cfn_types::ChangeAction::from(*action))
                .logical_resource_id(*id)
                .resource_type(*ty);
            if let Some(r) = replacement {
                rc = rc.replacement(cfn_types::Replacement::from(*r));
            }
            b = b.changes(
                cfn_types::Change::builder()
                    .resource_change(rc.build())
                    .build(),
            );
        }
        b.build()
    })
}

fn create_cs() -> Rule {
    mock!(Cfn::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("cs-1")
            .stack_id("id")
            .build()
    })
}
fn execute() -> Rule {
    mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
}
fn delete_cs() -> Rule {
    mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build())
}
fn protection() -> Rule {
    mock!(Cfn::update_termination_protection)
        .then_output(|| UpdateTerminationProtectionOutput::builder().build())
}

/// The account (STS) and S3's answer that no bucket was kept by an earlier teardown, as every
/// first create of a data stack asks.
fn no_kept_bucket() -> (&'static Rule, &'static Rule) {
    let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account("111122223333")
            .build()
    });
    let s3 = mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
            aws_sdk_s3::types::error::NotFound::builder().build(),
        )
    });
    (Box::leak(Box::new(sts)), Box::leak(Box::new(s3)))
}

/// DescribeEvents with nothing to report: no validation findings, no per-operation failures
/// (a test that needs some lists its own rule first).
fn no_operation_events() -> &'static Rule {
    Box::leak(Box::new(mock!(Cfn::describe_events).then_output(|| {
        aws_sdk_cloudformation::operation::describe_events::DescribeEventsOutput::builder().build()
    })))
}

/// An account without rollback alarms yet (DescribeAlarms answers none).
fn no_rollback_alarms() -> &'static Rule {
    Box::leak(Box::new(
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
            aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().build()
        }),
    ))
}

fn clients(rules: &[&Rule]) -> Clients {
    let (sts, s3) = no_kept_bucket();
    let mut cfn = rules.to_vec();
    cfn.push(no_operation_events());
    crate::aws::mock::Rules {
        cfn,
        cloudwatch: vec![no_rollback_alarms()],
        sts: vec![sts],
        s3: vec![s3],
        ec2: Some(the_network_of_stack_file()),
        ..Default::default()
    }
    .clients()
}

/// EC2 as AWS answers for [`STACK_FILE`]'s network: its VPC, and its two subnets in their
/// zones (DescribeVpcs and DescribeSubnets, which plan and deploy read before any change).
pub(super) fn the_network_of_stack_file() -> crate::aws::fake::Fake {
    const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";
    let vpcs = format!(
        "<DescribeVpcsResponse {NS}><requestId>r</requestId><vpcSet><item><vpcId>vpc-0123456789abcdef0</vpcId></item></vpcSet></DescribeVpcsResponse>"
    );
    let subnet = |id: &str, az: &str| {
        format!(
            "<item><subnetId>{id}</subnetId><vpcId>vpc-0123456789abcdef0</vpcId><availabilityZone>{az}</availabilityZone></item>"
        )
    };
    let subnets = format!(
        "<DescribeSubnetsResponse {NS}><requestId>r</requestId><subnetSet>{}{}</subnetSet></DescribeSubnetsResponse>",
        subnet("subnet-0123456789abcdef0", "eu-west-1a"),
        subnet("subnet-0123456789abcdef1", "eu-west-1b")
    );
    // Both subnets go out through the main route table's NAT gateway.
    let tables = format!(
        "<DescribeRouteTablesResponse {NS}><requestId>r</requestId><routeTableSet><item><routeTableId>rtb-main</routeTableId><routeSet><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-0123456789abcdef0</natGatewayId><state>active</state></item></routeSet><associationSet><item><routeTableAssociationId>rtbassoc-1</routeTableAssociationId><main>true</main></item></associationSet></item></routeTableSet></DescribeRouteTablesResponse>"
    );
    crate::aws::fake::Fake::by_action(&[
        ("DescribeVpcs", &vpcs),
        ("DescribeSubnets", &subnets),
        ("DescribeRouteTables", &tables),
    ])
}

fn opts(yes: bool) -> Options {
    Options {
        yes,
        polling: Polling {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
        },
        queue_name_cooldown: Duration::from_millis(1),
        ..Default::default()
    }
}

async fn deploy(clients: &Clients, env: &Environment, mode: Mode, opts: &Options) -> EnvOutcome {
    let reporter = Reporter::new(Output {
        format: Format::Text,
        interactive: false,
        command: "test",
    });
    environment(clients, env, mode, opts, &reporter, &InFlight::default()).await
}

fn action(o: &EnvOutcome, stack: &str) -> Action {
    o.stacks
        .iter()
        .find(|s| s.stack == stack)
        .unwrap_or_else(|| panic!("{stack} not in {o:?}"))
        .action
}

/// A lab environment whose data stack is out of date and whose fleet matches, with the
/// change-set calls answered: `change_set` says what CloudFormation computed.
struct StaleData {
    env: Environment,
    rules: [Rule; 6],
}

impl StaleData {
    fn new(change_set: Rule) -> StaleData {
        let env = env(&format!("{STACK_FILE}lab: true\n"));
        let (d, f) = (
            desired(&env, StackRole::Data),
            desired(&env, StackRole::Fleet),
        );
        let rules = [
            describe_sequence(
                DATA,
                vec![stack(&d, StackStatus::UpdateComplete, false, false)],
            ),
            describe_sequence(
                FLEET,
                vec![stack(&f, StackStatus::CreateComplete, true, false)],
            ),
            create_cs(),
            change_set,
            delete_cs(),
            execute(),
        ];
        StaleData { env, rules }
    }

    async fn run(&self, mode: Mode, opts: &Options) -> EnvOutcome {
        let c = clients(&self.rules.iter().collect::<Vec<_>>());
        deploy(&c, &self.env, mode, opts).await
    }

    fn deleted(&self) -> usize {
        self.rules[4].num_calls()
    }

    fn executed(&self) -> usize {
        self.rules[5].num_calls()
    }
}

/// Plans `e` with its data stack as desired and its fleet out of date (a change set that
/// modifies the launch template), EC2 answering as `ec2` does: the checks a change needs
/// (the workers' way out, their network's references) run, as they do not for an environment
/// deployed as desired.
async fn plan_with_the_fleet_changing(e: &Environment, ec2: crate::aws::fake::Fake) -> EnvOutcome {
    let (d, f) = (desired(e, StackRole::Data), desired(e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::UpdateComplete, true, false)],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::UpdateComplete, false, false)],
    );
    let (cc, cs, dcs) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Modify", "LaunchTemplate", "AWS::EC2::LaunchTemplate", None)],
        ),
        delete_cs(),
    );
    let (sts, s3) = no_kept_bucket();
    let c = crate::aws::mock::Rules {
        cfn: vec![&rd, &rf, &cc, &cs, &dcs, no_operation_events()],
        cloudwatch: vec![no_rollback_alarms()],
        sts: vec![sts],
        s3: vec![s3],
        ec2: Some(ec2),
        ..Default::default()
    }
    .clients();
    deploy(&c, e, Mode::Plan, &opts(true)).await
}
