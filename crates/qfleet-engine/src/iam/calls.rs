//! Every AWS call qfleet itself makes, as the request log names it (`--debug`), and the IAM
//! actions AWS checks for it (Service Authorization Reference). An integration test runs
//! deploy, plan, outputs, status, drift and teardown with the request log on and fails on a
//! call missing here, then checks each call against the policy `qfleet iam-policy` prints.

/// One API operation qfleet sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The service's IAM prefix.
    pub(super) service: &'static str,
    /// The API operation, as the SDK names it.
    pub(super) operation: &'static str,
    /// The actions AWS authorizes for it.
    pub actions: &'static [&'static str],
}

const fn call(
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
) -> Call {
    Call {
        service,
        operation,
        actions,
    }
}

/// GetCallerIdentity needs no permission (AWS STS documentation), so it is not listed.
pub(super) const CALLS: &[Call] = &[
    // CloudFormation: the environment's two stacks.
    call(
        "cloudformation",
        "DescribeStacks",
        &["cloudformation:DescribeStacks"],
    ),
    // The stack names of the account and region: the environments a stack file made and no
    // longer makes are found by them (src/environments/).
    call(
        "cloudformation",
        "ListStacks",
        &["cloudformation:ListStacks"],
    ),
    call(
        "cloudformation",
        "ListStackResources",
        &["cloudformation:ListStackResources"],
    ),
    call(
        "cloudformation",
        "DescribeStackEvents",
        &["cloudformation:DescribeStackEvents"],
    ),
    // One operation's failures, and a change set's pre-deployment validation results.
    call(
        "cloudformation",
        "DescribeEvents",
        &["cloudformation:DescribeEvents"],
    ),
    call(
        "cloudformation",
        "GetTemplate",
        &["cloudformation:GetTemplate"],
    ),
    call(
        "cloudformation",
        "CreateChangeSet",
        &["cloudformation:CreateChangeSet"],
    ),
    call(
        "cloudformation",
        "DescribeChangeSet",
        &["cloudformation:DescribeChangeSet"],
    ),
    call(
        "cloudformation",
        "ExecuteChangeSet",
        &["cloudformation:ExecuteChangeSet"],
    ),
    call(
        "cloudformation",
        "DeleteChangeSet",
        &["cloudformation:DeleteChangeSet"],
    ),
    call(
        "cloudformation",
        "ListChangeSets",
        &["cloudformation:ListChangeSets"],
    ),
    call(
        "cloudformation",
        "DeleteStack",
        &["cloudformation:DeleteStack"],
    ),
    call(
        "cloudformation",
        "ContinueUpdateRollback",
        &["cloudformation:ContinueUpdateRollback"],
    ),
    call(
        "cloudformation",
        "UpdateTerminationProtection",
        &["cloudformation:UpdateTerminationProtection"],
    ),
    call(
        "cloudformation",
        "DetectStackDrift",
        &["cloudformation:DetectStackDrift"],
    ),
    call(
        "cloudformation",
        "DescribeStackDriftDetectionStatus",
        &["cloudformation:DescribeStackDriftDetectionStatus"],
    ),
    call(
        "cloudformation",
        "DescribeStackResourceDrifts",
        &["cloudformation:DescribeStackResourceDrifts"],
    ),
    // SQS: depth and attributes of the queue and its dead-letter queue.
    call("sqs", "GetQueueUrl", &["sqs:GetQueueUrl"]),
    call("sqs", "GetQueueAttributes", &["sqs:GetQueueAttributes"]),
    // `qfleet dlq`: peek (receive, then a zero visibility change), redrive through a
    // message-move task, purge. A move task also needs, on the dead-letter queue,
    // ReceiveMessage, DeleteMessage and GetQueueAttributes, and SendMessage on the job queue
    // (SQS's "Configure a dead-letter queue redrive" permissions).
    call("sqs", "ReceiveMessage", &["sqs:ReceiveMessage"]),
    call(
        "sqs",
        "ChangeMessageVisibilityBatch",
        &["sqs:ChangeMessageVisibility"],
    ),
    call(
        "sqs",
        "StartMessageMoveTask",
        &[
            "sqs:StartMessageMoveTask",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:SendMessage",
        ],
    ),
    call("sqs", "ListMessageMoveTasks", &["sqs:ListMessageMoveTasks"]),
    call(
        "sqs",
        "CancelMessageMoveTask",
        &["sqs:CancelMessageMoveTask"],
    ),
    call("sqs", "PurgeQueue", &["sqs:PurgeQueue"]),
    // `qfleet submit`: a job sent as a message to the job queue.
    // To a queue encrypted with the stack file's kms_key, the sender also needs the key
    // ("Key management", Amazon SQS Developer Guide:
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    call(
        "sqs",
        "SendMessage",
        &["sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"],
    ),
    // S3: the bucket's contents (teardown's evidence and purge) and its notification.
    call("s3", "HeadBucket", &["s3:ListBucket"]),
    // `deploy`: a bucket kept by an earlier teardown is imported only when its tags mark it as
    // the environment's.
    call("s3", "GetBucketTagging", &["s3:GetBucketTagging"]),
    // `qfleet send`: the test upload, and whether it reached the processed prefix (HeadObject
    // needs s3:GetObject; with s3:ListBucket a missing key is a 404, not a 403). `deploy`: a
    // worker function's package, looked up by its key in the code bucket and uploaded when
    // absent; teardown lists and deletes the packages.
    call("s3", "PutObject", &["s3:PutObject"]),
    call("s3", "HeadObject", &["s3:GetObject", "s3:ListBucket"]),
    call("s3", "ListObjectVersions", &["s3:ListBucketVersions"]),
    call(
        "s3",
        "DeleteObjects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
    ),
    call(
        "s3",
        "GetBucketNotificationConfiguration",
        &["s3:GetBucketNotification"],
    ),
    // SNS: the topic's subscription to the queue.
    call(
        "sns",
        "ListSubscriptionsByTopic",
        &["sns:ListSubscriptionsByTopic"],
    ),
    call(
        "sns",
        "GetSubscriptionAttributes",
        &["sns:GetSubscriptionAttributes"],
    ),
    // Auto Scaling: the fleet, its policies, hook and recent activities.
    call(
        "autoscaling",
        "DescribeAutoScalingGroups",
        &["autoscaling:DescribeAutoScalingGroups"],
    ),
    call(
        "autoscaling",
        "DescribePolicies",
        &["autoscaling:DescribePolicies"],
    ),
    call(
        "autoscaling",
        "DescribeLifecycleHooks",
        &["autoscaling:DescribeLifecycleHooks"],
    ),
    call(
        "autoscaling",
        "DescribeScalingActivities",
        &["autoscaling:DescribeScalingActivities"],
    ),
    // CloudWatch: alarms and the backlog metric.
    call(
        "monitoring",
        "DescribeAlarms",
        &["cloudwatch:DescribeAlarms"],
    ),
    // A fleet stack's update that failed: which of its rollback alarms fired, and when.
    call(
        "monitoring",
        "DescribeAlarmHistory",
        &["cloudwatch:DescribeAlarmHistory"],
    ),
    call("monitoring", "GetMetricData", &["cloudwatch:GetMetricData"]),
    // CloudWatch Logs: the workers' lines (`qfleet logs`), and what their group holds
    // (teardown).
    call("logs", "FilterLogEvents", &["logs:FilterLogEvents"]),
    call("logs", "DescribeLogGroups", &["logs:DescribeLogGroups"]),
    call("logs", "DescribeLogStreams", &["logs:DescribeLogStreams"]),
    // ECS: the Fargate workers' service (`workers.kind: fargate`), read by status and drift.
    call("ecs", "DescribeServices", &["ecs:DescribeServices"]),
    // Lambda: the worker function and its queue mapping (`workers.kind: lambda`).
    call("lambda", "GetFunction", &["lambda:GetFunction"]),
    call(
        "lambda",
        "GetEventSourceMapping",
        &["lambda:GetEventSourceMapping"],
    ),
    call(
        "lambda",
        "ListEventSourceMappings",
        &["lambda:ListEventSourceMappings"],
    ),
    // DynamoDB: the job table (`jobs:`): its settings (drift), whether it holds records
    // (teardown, a Scan of one item), the jobs (`qfleet jobs`, status, dlq list, send) and the
    // record of `send`'s own upload, deleted once followed.
    call("dynamodb", "DescribeTable", &["dynamodb:DescribeTable"]),
    call(
        "dynamodb",
        "DescribeTimeToLive",
        &["dynamodb:DescribeTimeToLive"],
    ),
    call(
        "dynamodb",
        "DescribeContinuousBackups",
        &["dynamodb:DescribeContinuousBackups"],
    ),
    call("dynamodb", "Scan", &["dynamodb:Scan"]),
    call("dynamodb", "Query", &["dynamodb:Query"]),
    call("dynamodb", "BatchGetItem", &["dynamodb:BatchGetItem"]),
    call("dynamodb", "GetItem", &["dynamodb:GetItem"]),
    call("dynamodb", "DeleteItem", &["dynamodb:DeleteItem"]),
    // `qfleet submit`: the job recorded `queued` before it is sent, and `failed` when it could
    // not be sent.
    call("dynamodb", "PutItem", &["dynamodb:PutItem"]),
    call("dynamodb", "UpdateItem", &["dynamodb:UpdateItem"]),
    // EC2: the default VPC's subnets (`network: default`).
    call("ec2", "DescribeVpcs", &["ec2:DescribeVpcs"]),
    call("ec2", "DescribeSubnets", &["ec2:DescribeSubnets"]),
    call(
        "ec2",
        "DescribeInstanceTypeOfferings",
        &["ec2:DescribeInstanceTypeOfferings"],
    ),
    // plan and deploy of EC2 workers: the vCPUs (and GPUs) of the file's instance types, and
    // the account's quotas for them with their usage (src/deploy/quota.rs).
    call(
        "ec2",
        "DescribeInstanceTypes",
        &["ec2:DescribeInstanceTypes"],
    ),
    call(
        "servicequotas",
        "ListServiceQuotas",
        &["servicequotas:ListServiceQuotas"],
    ),
    // The default value of a quota the account has no applied value for.
    call(
        "servicequotas",
        "ListAWSDefaultServiceQuotas",
        &["servicequotas:ListAWSDefaultServiceQuotas"],
    ),
    // EC2: the groups and prefix lists workers.security_groups and workers.egress name,
    // checked before any change.
    call(
        "ec2",
        "DescribeSecurityGroups",
        &["ec2:DescribeSecurityGroups"],
    ),
    call(
        "ec2",
        "DescribeManagedPrefixLists",
        &["ec2:DescribeManagedPrefixLists"],
    ),
    // EC2: whether a group an egress rule names in another VPC is across an active peering
    // connection, and, where none is, whether the two VPCs share a transit gateway (which
    // carries no reference in an outbound rule; src/deploy/network.rs).
    call(
        "ec2",
        "DescribeVpcPeeringConnections",
        &["ec2:DescribeVpcPeeringConnections"],
    ),
    call(
        "ec2",
        "DescribeTransitGatewayAttachments",
        &["ec2:DescribeTransitGatewayAttachments"],
    ),
    // EC2: whether the workers' subnets have a way out, and the VPC's endpoints where one
    // has none (src/deploy/reach.rs).
    call("ec2", "DescribeRouteTables", &["ec2:DescribeRouteTables"]),
    call("ec2", "DescribeVpcEndpoints", &["ec2:DescribeVpcEndpoints"]),
    // `endpoints: create`: the Availability Zones each interface endpoint's service is offered
    // in, and those of the workers' subnets (src/deploy/reach.rs).
    call(
        "ec2",
        "DescribeVpcEndpointServices",
        &["ec2:DescribeVpcEndpointServices"],
    ),
    // Teardown: the endpoints `workers.network.endpoints: create` made, deleted with their
    // group once nothing else is left in their VPC (src/teardown/endpoints.rs).
    call(
        "ec2",
        "DescribeNetworkInterfaces",
        &["ec2:DescribeNetworkInterfaces"],
    ),
    call("ec2", "DeleteVpcEndpoints", &["ec2:DeleteVpcEndpoints"]),
    call("ec2", "DeleteSecurityGroup", &["ec2:DeleteSecurityGroup"]),
    // `qfleet environments --all-regions`: the Regions enabled for the account; also which
    // Region is not, when one refuses the credentials.
    call("ec2", "DescribeRegions", &["ec2:DescribeRegions"]),
];

/// The ECR calls qfleet makes on the repository of the images it builds (`qfleet/ENV`,
/// `src/deploy/image.rs`, `src/teardown/images.rs`), with the actions the Service
/// Authorization Reference lists for each (CreateRepository with tags also checks
/// ecr:TagResource). Granted on that repository only, outside [`CALLS`]: teardown's reads and
/// deletions to every environment (a file that stopped building still leaves one), the rest
/// only where the file builds an image (`crates/qfleet-engine/src/iam/mod.rs`).
pub(super) const IMAGE_CALLS: &[Call] = &[
    call("ecr", "DescribeRepositories", &["ecr:DescribeRepositories"]),
    call("ecr", "ListTagsForResource", &["ecr:ListTagsForResource"]),
    call("ecr", "ListImages", &["ecr:ListImages"]),
    call("ecr", "BatchDeleteImage", &["ecr:BatchDeleteImage"]),
    call("ecr", "DeleteRepository", &["ecr:DeleteRepository"]),
    call("ecr", "DescribeImages", &["ecr:DescribeImages"]),
    call(
        "ecr",
        "CreateRepository",
        &["ecr:CreateRepository", "ecr:TagResource"],
    ),
    call("ecr", "PutLifecyclePolicy", &["ecr:PutLifecyclePolicy"]),
    // A function's image: Lambda pulls it as the Lambda service, which the repository's
    // policy allows (docs/workers.md, "A container image").
    call("ecr", "SetRepositoryPolicy", &["ecr:SetRepositoryPolicy"]),
    call(
        "ecr",
        "GetAuthorizationToken",
        &["ecr:GetAuthorizationToken"],
    ),
    call(
        "ecr",
        "GetRegistryScanningConfiguration",
        &["ecr:GetRegistryScanningConfiguration"],
    ),
];

/// The calls of an image promoted from another environment (`….image.build.promote_from`,
/// `src/deploy/image.rs`, [`crate::aws::registry::copy_image`]), with the action of each
/// (Service Authorization Reference, Amazon ECR): the manifest and layers read from that
/// environment's repository, the missing layers and the manifest written into this one's.
/// Those writes are the engine's push actions ([`PUSH_ACTIONS`]), granted on this
/// environment's repository; the reads are [`PROMOTE_SOURCE`], granted on the other's.
pub(super) const PROMOTE_CALLS: &[Call] = &[
    call("ecr", "BatchGetImage", &["ecr:BatchGetImage"]),
    call(
        "ecr",
        "BatchCheckLayerAvailability",
        &["ecr:BatchCheckLayerAvailability"],
    ),
    call(
        "ecr",
        "GetDownloadUrlForLayer",
        &["ecr:GetDownloadUrlForLayer"],
    ),
    call("ecr", "InitiateLayerUpload", &["ecr:InitiateLayerUpload"]),
    call("ecr", "UploadLayerPart", &["ecr:UploadLayerPart"]),
    call("ecr", "CompleteLayerUpload", &["ecr:CompleteLayerUpload"]),
    call("ecr", "PutImage", &["ecr:PutImage"]),
];

/// What a promotion reads of the other environment's repository (`qfleet/FROM`): that it is
/// there with qfleet's mark for FROM, the image's manifest and its layers.
pub(super) const PROMOTE_SOURCE: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:ListTagsForResource",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

/// The S3 calls of one run at a time (the root's `src/lock/protocol.rs`) on qfleet's lock
/// bucket of the account and Region, beside HeadBucket, GetBucketTagging and PutObject of
/// [`CALLS`]: its creation (once per account and Region), then each environment's lock object,
/// read and written with conditions (GetObject, PutObject with If-None-Match or If-Match).
/// Granted on that bucket and the environment's own object only (`crates/qfleet-engine/src/iam/mod.rs`).
/// plan and deploy with alerts' chat channels: the workspace or team authorised once in the
/// console of Amazon Q Developer in chat applications (src/deploy/chat.rs); granted only to an
/// environment with `alerts.slack` or `alerts.teams`. Neither action has a resource type.
pub(super) const CHAT_CALLS: &[Call] = &[
    call(
        "chatbot",
        "DescribeSlackWorkspaces",
        &["chatbot:DescribeSlackWorkspaces"],
    ),
    call(
        "chatbot",
        "ListMicrosoftTeamsConfiguredTeams",
        &["chatbot:ListMicrosoftTeamsConfiguredTeams"],
    ),
];

/// status with `budget`: the budget's spend as AWS Budgets calculated it (the root's
/// `src/status/mod.rs`); granted only to an environment with a budget, on that budget alone.
pub(super) const BUDGET_CALLS: &[Call] =
    &[call("budgets", "DescribeBudget", &["budgets:ViewBudget"])];

/// deploy when the change set removes the budget hold's function (`budget.hold` turned off;
/// the root's `src/deploy/hold.rs`): the function gives the held fleets back first. Granted
/// to every environment on that function alone: the file that turns the hold off no longer
/// says it had one.
pub(super) const HOLD_CALLS: &[Call] = &[call("lambda", "Invoke", &["lambda:InvokeFunction"])];

pub(super) const LOCK_CALLS: &[Call] = &[
    call("s3", "CreateBucket", &["s3:CreateBucket"]),
    call(
        "s3",
        "PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
    ),
    call(
        "s3",
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
    ),
    call("s3", "PutBucketTagging", &["s3:PutBucketTagging"]),
    call("s3", "GetObject", &["s3:GetObject"]),
];

/// The calls of [`IMAGE_CALLS`] teardown makes, granted to every environment.
pub(super) const IMAGE_TEARDOWN: &[&str] = &[
    "DescribeRepositories",
    "ListTagsForResource",
    "ListImages",
    "BatchDeleteImage",
    "DeleteRepository",
];

/// What the container engine's push checks on the repository, beside the login
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html>): not in the
/// request log, which sees qfleet's own calls only.
pub(super) const PUSH_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// The entry for a call the request log names (`cloudformation.DescribeStacks`); services are
/// matched without regard to case or spaces (`Auto Scaling`, `CloudWatch`).
pub fn find(service: &str, operation: &str) -> Option<&'static Call> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let service = match norm(service).as_str() {
        "cloudwatch" => "monitoring".to_string(),
        "cloudwatchlogs" => "logs".to_string(),
        other => other.to_string(),
    };
    CALLS
        .iter()
        .chain(STACK_SETS_CALLS)
        .chain(IMAGE_CALLS)
        .chain(PROMOTE_CALLS)
        .chain(LOCK_CALLS)
        .chain(CHAT_CALLS)
        .chain(BUDGET_CALLS)
        .find(|c| c.service == service && c.operation == operation)
}

/// qfleet's own calls that change a stack, which it does not make on a StackSets target's
/// stacks: StackSets deploys them (UpdateStackSet, CreateStackInstances) and deletes them
/// (DeleteStackInstances), and a stack deleted on its own would leave its instance behind.
pub(super) const NOT_ON_STACK_SET_INSTANCES: &[&str] = &[
    "CreateChangeSet",
    "ExecuteChangeSet",
    "DeleteChangeSet",
    "DeleteStack",
    "ContinueUpdateRollback",
];

/// The StackSets calls qfleet makes for a file with `rollout.mode: stack_sets`, in the account
/// and region that hold its stack sets, with the actions AWS authorizes for each ("Actions,
/// resources, and condition keys for AWS CloudFormation", its API operations table:
/// CreateStackSet also checks cloudformation:TagResource and iam:PassRole,
/// UpdateStackSet cloudformation:TagResource and UntagResource,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html>).
/// iam:PassRole is granted on its own, on the administration role only.
pub(super) const STACK_SETS_CALLS: &[Call] = &[
    call(
        "cloudformation",
        "DescribeStackSet",
        &["cloudformation:DescribeStackSet"],
    ),
    call(
        "cloudformation",
        "CreateStackSet",
        &[
            "cloudformation:CreateStackSet",
            "cloudformation:TagResource",
        ],
    ),
    call(
        "cloudformation",
        "UpdateStackSet",
        &[
            "cloudformation:UpdateStackSet",
            "cloudformation:TagResource",
            "cloudformation:UntagResource",
        ],
    ),
    call(
        "cloudformation",
        "ListStackInstances",
        &["cloudformation:ListStackInstances"],
    ),
    call(
        "cloudformation",
        "CreateStackInstances",
        &["cloudformation:CreateStackInstances"],
    ),
    call(
        "cloudformation",
        "UpdateStackInstances",
        &["cloudformation:UpdateStackInstances"],
    ),
    call(
        "cloudformation",
        "DeleteStackInstances",
        &["cloudformation:DeleteStackInstances"],
    ),
    call(
        "cloudformation",
        "DeleteStackSet",
        &["cloudformation:DeleteStackSet"],
    ),
    call(
        "cloudformation",
        "DescribeStackSetOperation",
        &["cloudformation:DescribeStackSetOperation"],
    ),
    call(
        "cloudformation",
        "ListStackSetOperationResults",
        &["cloudformation:ListStackSetOperationResults"],
    ),
];
