//! Test support: clients whose every call is answered by aws-smithy-mocks rules, and builders
//! for the answers AWS documents (DescribeStacks, ListStackResources, GetQueueAttributes).
// Test support, built only for tests (`test-util`): a broken fixture panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::Clients;
use super::json_api::{self, JsonApi};
use super::signed::fake::Fake;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types as cfn;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::ErrorMetadata;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The tag that names a stack's environment, as the stack file sets it (qfleet's
/// `config::ENVIRONMENT_TAG`; a test of the root crate keeps the two equal).
pub const ENVIRONMENT_TAG: &str = "qfleet:environment";

/// Rules per service; a call no rule matches fails the operation.
#[derive(Default)]
pub struct Rules<'a> {
    pub cfn: Vec<&'a Rule>,
    /// EC2 has no SDK client (see [`super::ec2`]): its answers come from a fake connection.
    pub ec2: Option<super::signed::fake::Fake>,
    /// Auto Scaling and SNS have no SDK client (see [`super::query`]): fake connections. Auto
    /// Scaling's answers a DescribeAutoScalingGroups with no group when the test gives none.
    pub autoscaling: Option<super::signed::fake::Fake>,
    /// Lambda's three reads have no SDK client (see [`super::functions`]): a fake connection.
    pub lambda: Option<super::signed::fake::Fake>,
    /// ECS and CloudWatch Logs have no SDK client (see [`super::json_api`]): fake connections.
    pub ecs: Option<super::signed::fake::Fake>,
    pub cloudwatch: Vec<&'a Rule>,
    pub logs: Option<super::signed::fake::Fake>,
    /// DynamoDB (the job table) likewise.
    pub dynamodb: Option<super::signed::fake::Fake>,
    /// ECR (the worker images) likewise.
    pub ecr: Option<super::signed::fake::Fake>,
    /// Service Quotas (the EC2 vCPU quotas) likewise.
    pub servicequotas: Option<super::signed::fake::Fake>,
    /// Amazon Q Developer in chat applications (the authorised workspaces) likewise.
    pub chatbot: Option<super::signed::fake::Fake>,
    /// AWS Budgets (a budget's spend) likewise.
    pub budgets: Option<super::signed::fake::Fake>,
    pub sqs: Vec<&'a Rule>,
    pub sns: Option<super::signed::fake::Fake>,
    pub s3: Vec<&'a Rule>,
    pub sts: Vec<&'a Rule>,
}

impl Rules<'_> {
    pub fn clients(&self) -> Clients {
        Clients {
            region: "eu-west-1".into(),
            cfn: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &self.cfn),
            ec2: super::ec2::Ec2::with_http_client("eu-west-1", fake(&self.ec2)),
            // No group when the test gives no answer: the quota check before a deploy looks
            // for the fleet's own group.
            autoscaling: super::query::Query::with_http_client(
                super::query::AUTO_SCALING,
                "eu-west-1",
                self.autoscaling.clone().unwrap_or_else(no_group).client(),
            ),
            lambda: json_api::RestJson::with_http_client(json_api::LAMBDA, fake(&self.lambda)),
            ecs: JsonApi::with_http_client(json_api::ECS, fake(&self.ecs)),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &self.cloudwatch),
            logs: JsonApi::with_http_client(json_api::LOGS, fake(&self.logs)),
            dynamodb: JsonApi::with_http_client(json_api::DYNAMODB, fake(&self.dynamodb)),
            ecr: JsonApi::with_http_client(json_api::ECR, fake(&self.ecr)),
            servicequotas: JsonApi::with_http_client(
                json_api::SERVICE_QUOTAS,
                fake(&self.servicequotas),
            ),
            chatbot: json_api::RestJson::with_http_client(json_api::CHATBOT, fake(&self.chatbot)),
            budgets: Some(JsonApi::with_http_client(
                json_api::BUDGETS,
                fake(&self.budgets),
            )),
            sqs: mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &self.sqs),
            sns: super::query::Query::with_http_client(
                super::query::SNS,
                "eu-west-1",
                fake(&self.sns),
            ),
            // The lock bucket's rules first: a test's own S3 rules answer every other bucket.
            s3: mock_client!(
                aws_sdk_s3,
                RuleMode::MatchAny,
                &[free_locks(), self.s3.clone()].concat(),
                |c| c.force_path_style(true)
            ),
            // The caller's account last: a test's own answer comes first.
            sts: mock_client!(
                aws_sdk_sts,
                RuleMode::MatchAny,
                &[self.sts.clone(), vec![any_caller()]].concat()
            ),
        }
    }
}

/// The connection of a service without an SDK client: the test's, else one that answers every
/// request with an error.
fn fake(f: &Option<Fake>) -> SharedHttpClient {
    f.clone()
        .unwrap_or_else(|| Fake::new(|_| (400, "no answer in this test".into())))
        .client()
}

/// One stack as DescribeStacks returns it, with the environment's tag qfleet puts on its
/// stacks (`qfleet-ENV-data`, `qfleet-ENV-fleet`, `qfleet-ENV--STAGE-fleet`: ENV).
pub fn stack(name: &str, status: cfn::StackStatus, protected: bool) -> cfn::Stack {
    let env = name
        .strip_prefix("qfleet-")
        .and_then(|n| n.strip_suffix("-data").or_else(|| n.strip_suffix("-fleet")))
        .map(|n| n.split("--").next().unwrap_or(n))
        .unwrap_or(name);
    cfn::Stack::builder()
        .tags(cfn::Tag::builder().key(ENVIRONMENT_TAG).value(env).build())
        .stack_name(name)
        .stack_id(format!(
            "arn:aws:cloudformation:eu-west-1:111122223333:stack/{name}/1"
        ))
        .stack_status(status)
        .enable_termination_protection(protected)
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

/// CloudFormation's answer for a stack that does not exist (a ValidationError, as documented).
pub fn no_such_stack(name: &str) -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message(format!("Stack with id {name} does not exist"))
            .build(),
    )
}

/// DescribeStacks for several stacks: each name answers with its stack, or "does not exist".
pub fn describe_stacks(stacks: Vec<(&'static str, Option<(cfn::StackStatus, bool)>)>) -> Rule {
    let map: HashMap<&'static str, Option<(cfn::StackStatus, bool)>> = stacks.into_iter().collect();
    mock!(aws_sdk_cloudformation::Client::describe_stacks).then_compute_response(move |r| {
        let name = r.stack_name().unwrap_or_default();
        match map.get(name).cloned().flatten() {
            Some((status, protected)) => aws_smithy_mocks::MockResponse::Output(
                DescribeStacksOutput::builder()
                    .stacks(stack(name, status, protected))
                    .build(),
            ),
            None => aws_smithy_mocks::MockResponse::Error(no_such_stack(name)),
        }
    })
}

/// One resource summary as ListStackResources returns it.
pub fn resource(
    logical: &str,
    physical: &str,
    ty: &str,
    status: cfn::ResourceStatus,
) -> cfn::StackResourceSummary {
    cfn::StackResourceSummary::builder()
        .logical_resource_id(logical)
        .physical_resource_id(physical)
        .resource_type(ty)
        .resource_status(status)
        .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

/// ListStackResources per stack name (a stack not in the map has no resources).
pub fn list_resources(stacks: Vec<(&'static str, Vec<cfn::StackResourceSummary>)>) -> Rule {
    let map: HashMap<&'static str, Vec<cfn::StackResourceSummary>> = stacks.into_iter().collect();
    mock!(aws_sdk_cloudformation::Client::list_stack_resources).then_compute_output(move |r| {
        let list = map
            .get(r.stack_name().unwrap_or_default())
            .cloned()
            .unwrap_or_default();
        ListStackResourcesOutput::builder()
            .set_stack_resource_summaries(Some(list))
            .build()
    })
}

/// GetQueueAttributes with the three depth numbers (and any `extra` attributes).
pub fn queue_attributes(
    visible: u64,
    in_flight: u64,
    delayed: u64,
    extra: &[(QueueAttributeName, &str)],
) -> GetQueueAttributesOutput {
    let mut b = GetQueueAttributesOutput::builder()
        .attributes(
            QueueAttributeName::ApproximateNumberOfMessages,
            visible.to_string(),
        )
        .attributes(
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            in_flight.to_string(),
        )
        .attributes(
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            delayed.to_string(),
        );
    for (k, v) in extra {
        b = b.attributes(k.clone(), v.to_string());
    }
    b.build()
}

/// Stack sets' instances: (stack set, account, region, the instance's stack name).
pub type State = Arc<Mutex<Vec<(String, String, String, Option<String>)>>>;

pub fn state(of: &[(&str, &str, &str, Option<&str>)]) -> State {
    Arc::new(Mutex::new(
        of.iter()
            .map(|(s, a, r, n)| {
                (
                    s.to_string(),
                    a.to_string(),
                    r.to_string(),
                    n.map(str::to_string),
                )
            })
            .collect(),
    ))
}

/// The stack sets, marked as the file's (`qfleet:environment` = `env`).
pub fn stack_sets(env: &'static str) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_compute_output(move |r| {
        aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetOutput::builder()
            .stack_set(
                cfn::StackSet::builder()
                    .stack_set_name(r.stack_set_name().unwrap_or_default())
                    .status(cfn::StackSetStatus::Active)
                    .tags(cfn::Tag::builder().key(ENVIRONMENT_TAG).value(env).build())
                    .build(),
            )
            .build()
    })
}

pub fn list_instances(st: &State) -> Rule {
    listed_instances(st, None, None)
}

/// [`list_instances`], the instances of stack set `inoperable` (with their stacks) INOPERABLE.
pub fn list_instances_inoperable(st: &State, inoperable: Option<&'static str>) -> Rule {
    listed_instances(st, inoperable, None)
}

/// [`list_instances`], each instance named in the AWS Organizations unit `unit`.
pub fn list_instances_in_unit(st: &State, unit: &'static str) -> Rule {
    listed_instances(st, None, Some(unit))
}

fn listed_instances(
    st: &State,
    inoperable: Option<&'static str>,
    unit: Option<&'static str>,
) -> Rule {
    let st = st.clone();
    mock!(aws_sdk_cloudformation::Client::list_stack_instances).then_compute_output(move |r| {
        let set = r.stack_set_name().unwrap_or_default();
        aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput::builder()
            .set_summaries(Some(
                st.lock()
                    .unwrap()
                    .iter()
                    .filter(|(s, ..)| s == set)
                    .map(|(_, a, region, stack)| {
                        cfn::StackInstanceSummary::builder()
                            .account(a)
                            .region(region)
                            .status(if stack.is_some() && inoperable != Some(set) {
                                cfn::StackInstanceStatus::Current
                            } else {
                                cfn::StackInstanceStatus::Inoperable
                            })
                            .set_stack_id(stack.as_ref().map(|n| {
                                format!("arn:aws:cloudformation:{region}:{a}:stack/{n}/guid")
                            }))
                            .set_organizational_unit_id(unit.map(str::to_string))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    })
}

/// DescribeStacks in the account and region of the instances: an instance's stack while the
/// state has it, marked as the file's (`qfleet:environment` = `marked_as`, the stack set's
/// tags); any other name does not exist.
pub fn instance_stacks(
    st: &State,
    account: &'static str,
    region: &'static str,
    marked_as: &'static str,
) -> Rule {
    let st = st.clone();
    mock!(aws_sdk_cloudformation::Client::describe_stacks).then_compute_response(move |r| {
        let name = r.stack_name().unwrap_or_default();
        let live = st
            .lock()
            .unwrap()
            .iter()
            .any(|(_, a, at, n)| a == account && at == region && n.as_deref() == Some(name));
        if !live {
            return aws_smithy_mocks::MockResponse::Error(no_such_stack(name));
        }
        aws_smithy_mocks::MockResponse::Output(
            DescribeStacksOutput::builder()
                .stacks(
                    cfn::Stack::builder()
                        .stack_name(name)
                        .stack_id(format!(
                            "arn:aws:cloudformation:{region}:{account}:stack/{name}/guid"
                        ))
                        .stack_status(cfn::StackStatus::CreateComplete)
                        .enable_termination_protection(false)
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .tags(
                            cfn::Tag::builder()
                                .key(ENVIRONMENT_TAG)
                                .value(marked_as)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
    })
}

/// Auto Scaling with no groups: DescribeAutoScalingGroups answers an empty list; any other
/// action an error.
pub fn no_group() -> Fake {
    Fake::by_action(&[(
        "DescribeAutoScalingGroups",
        &query_answer("DescribeAutoScalingGroups", "<AutoScalingGroups/>"),
    )])
}

/// A Query service's answer to `action` whose result holds `result` (XML).
pub fn query_answer(action: &str, result: &str) -> String {
    format!(
        "<{action}Response xmlns=\"https://example.com/doc/\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// STS's GetCallerIdentity for account 111122223333 (the mocked stacks' account).
fn any_caller() -> &'static Rule {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account("111122223333")
            .build()
    });
    Box::leak(Box::new(rule))
}

/// S3 as it answers a run that takes and releases environments' locks (the root's
/// `lock::protocol`, through [`crate::put_object_if`] and [`crate::read_dated`]):
/// the lock bucket exists with qfleet's tag, and every conditional write of a lock object
/// succeeds (no other run holds one). Only requests to a lock bucket match, so a test's own
/// S3 rules answer the rest.
pub fn free_locks() -> Vec<&'static Rule> {
    use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput;
    use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    fn lock(bucket: Option<&str>) -> bool {
        bucket.is_some_and(|b| b.starts_with("qfleet-locks-"))
    }
    let head = mock!(aws_sdk_s3::Client::head_bucket)
        .match_requests(|r| lock(r.bucket()))
        .then_output(|| HeadBucketOutput::builder().build());
    let tags = mock!(aws_sdk_s3::Client::get_bucket_tagging)
        .match_requests(|r| lock(r.bucket()))
        .then_output(|| {
            let tag = aws_sdk_s3::types::Tag::builder()
                .key(super::locks::BUCKET_TAG.0)
                .value(super::locks::BUCKET_TAG.1)
                .build()
                .expect("a tag with its key and value");
            GetBucketTaggingOutput::builder()
                .tag_set(tag)
                .build()
                .expect("a tag set")
        });
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| lock(r.bucket()))
        .then_output(|| PutObjectOutput::builder().e_tag("\"0a0b\"").build());
    [head, tags, put]
        .into_iter()
        .map(|r| &*Box::leak(Box::new(r)))
        .collect()
}
