//! AWS access, the only place that talks to AWS: SDK configuration from the standard chain
//! (environment, profiles and SSO, web identity, instance metadata), optional role assumption,
//! one client per service with the retry budget and the request log, and one module per kind of
//! thing qfleet reads or changes.

// No production function over the threshold in clippy.toml (150 lines).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives or AWS answers: production code neither
// unwraps nor expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// The crate's API is the list of exports below: an item no export reaches is `pub(crate)`.
#![warn(unreachable_pub)]

mod account;
mod autoscaling;
mod buckets;
mod budgets;
mod cfn;
mod chat;
mod credentials;
mod dead_letters;
mod ec2;
mod error;
mod functions;
mod https;
mod json_api;
mod locks;
mod logs;
#[cfg(any(test, feature = "test-util"))]
pub mod mock;
mod monitoring;
mod network;
mod poll;
mod query;
mod queues;
mod quotas;
mod registry;
mod request_target;
mod rollback;
mod services;
mod signed;
mod topics;
mod trace;

// The door into AWS: what the rest of qfleet may call and name. The modules above are private,
// so nothing else reaches in; an item not listed here is this crate's own.
// The account: who the caller is, and a role it assumes.
pub use account::{assume as assume_role, id as account_id};
// Auto Scaling: a fleet's group, its instances, activities and policies.
pub use autoscaling::{
    Activity as ScalingActivity, BUDGET_HOLD_TAG, Group as AutoScalingGroup,
    Instance as GroupInstance, ScalingPolicy, budget_hold, group as auto_scaling_group,
    is_outdated as launch_template_outdated, lifecycle_hooks, policies as scaling_policies,
    recent_activities as recent_scaling_activities,
};
// S3: buckets, objects and their versions, notifications.
pub use buckets::{
    Contents as BucketContents, Notification as BucketNotification, Version as ObjectVersion,
    contents as bucket_contents, delete_versions as delete_object_versions,
    exists as bucket_exists, notifications as bucket_notifications, object_exists, put_object,
    tags as bucket_tags, versions_of as object_versions,
};
// AWS Budgets: a budget's spend (`budget`).
pub use budgets::{BudgetSpend, describe_budget};
// CloudFormation: change sets, stacks, their events and drift, StackSets.
pub use cfn::changesets::details::{KNOWN_AFTER_APPLY, TRUNCATED};
pub use cfn::changesets::{
    Change as ResourceChange, ChangeSet, Import as ResourceToImport, Param as StackParameter,
    PropertyChange, Request as ChangeSetRequest, STATEFUL_TYPES, Triggers as RollbackTriggers,
    computed as computed_change_set, create as create_change_set, delete as delete_change_set,
    execute as execute_change_set, is_nothing_to_update, list as list_change_sets,
    new_name as new_change_set_name,
};
pub use cfn::drift_detection::{PropertyDrift, detect as detect_drift};
pub use cfn::operation_events::{Validation, failures_of, operation_of};
pub use cfn::stack_events::{
    ResourceEvent, events_since as stack_events_since, newest_event_id, root_cause,
};
pub use cfn::stack_sets::{
    Api as StackSetApi, CallAs, Desired as DesiredStackSet, Group as DeploymentGroup,
    Instance as StackInstance, InstanceResult as StackInstanceResult,
    MAX_POLLS as STACK_SET_MAX_POLLS, Operation as StackSetOperation,
    Preferences as OperationPreferences, RESULT_READS as STACK_SET_RESULT_READS, StackSet,
    create as create_stack_set, create_instances as create_stack_instances,
    delete as delete_stack_set, delete_instance as delete_stack_instance,
    describe as describe_stack_set, instance_in as stack_instance_in,
    instance_settled as stack_instance_settled, instances as stack_instances,
    instances_after_deleting as stack_instances_after_deleting,
    operation_token as stack_set_operation_token, region_settled as stack_set_region_settled,
    stack_name_of, update as update_stack_set, update_instances as update_stack_instances,
    wait as wait_for_stack_set_operation,
};
pub use cfn::stack_wait::{Finished as WaitFinished, until_settled, until_settled_spaced};
pub use cfn::stacks::{
    StackResource, StackState, continue_update_rollback, delete as delete_stack,
    describe as describe_stack, names as stack_names, resources as stack_resources,
    set_termination_protection, template as stack_template,
};
// Amazon Q Developer in chat applications: the authorised workspaces and teams.
pub use chat::{
    ConfiguredTeam, SlackWorkspace, api_region as chat_api_region, slack_workspaces,
    teams as chat_teams,
};
// SQS dead-letter queues: letters looked at, moved one by one or by a move task.
pub use dead_letters::{
    MoveTask, Peeked, cancel_move, latest_move, latest_move_started, look as look_at_letters,
    move_one as move_one_letter, peek as peek_letters, purge as purge_queue, start_move,
};
// EC2: the Regions enabled for the account.
pub use ec2::{Ec2, enabled_regions};
// What a call returns when it fails.
pub use error::{AwsError, Kind as ErrorKind, NotServed, Why};
// Lambda: a function and its event source mapping.
pub use functions::{
    Function, Mapping as EventSourceMapping, function as lambda_function,
    invoke as invoke_function, mapping as event_source_mapping, queue_mapping,
};
// The JSON APIs qfleet calls without an SDK crate (ECS, Logs, DynamoDB, ECR, ...).
pub use json_api::JsonApi;
// The lock bucket, and S3's conditional writes and dated reads (the lock protocol is the
// root's `lock`).
pub use locks::{
    BUCKET_TAG as LOCK_BUCKET_TAG, DatedObject, WriteIf, Written, bucket_name as lock_bucket_name,
    ensure_bucket as ensure_lock_bucket, put_object_if, read_dated,
};
// CloudWatch Logs: log groups and their events.
pub use logs::{
    Event as LogEvent, Holding as LogGroupHolding, events as log_events,
    holding as log_group_holding,
};
// CloudWatch: alarms and metrics.
pub use monitoring::{
    Alarm, Metrics, Percentiles, Sources as MetricSources,
    WINDOW_MINUTES as METRICS_WINDOW_MINUTES, alarms, alarms_named, metrics,
};
// EC2 networking: VPCs, subnets, endpoints, security groups, ways out.
pub use network::{
    Endpoint as VpcEndpoint, OfferedZones, Placement as NetworkPlacement, SubnetZone, WayOut,
    active_peerings, default_placement, delete_endpoints as delete_vpc_endpoints,
    delete_group as delete_security_group, delete_prefix_list,
    dns_attributes as vpc_dns_attributes, endpoint_service_zones,
    interfaces_in as network_interfaces_in, made_for as network_made_for, prefix_lists,
    security_groups, shared_transit_gateways, subnet_zones, subnets, vpc_cidrs, vpc_endpoints,
    vpc_exists, ways_out,
};
// Waiting on AWS: how often to ask again.
pub use poll::Polling;
pub use query::Query;
// SQS: queues, their depth, messages sent.
pub use queues::{
    BATCH_MAX as SEND_BATCH_MAX, Delivery, Depth as QueueDepth, EXTENDED_PAYLOAD_SIZE,
    Ordering as QueueOrdering, Outgoing as OutgoingMessage, Queue, queue_name,
    read as describe_queue, send as send_message, send_batch as send_message_batch,
    url_of as queue_url,
};
// Service Quotas and instance types: the EC2 vCPU quotas and their usage.
pub use quotas::{
    InstanceType, Market, Quota, Usage as QuotaUsage, ec2_default_quotas, ec2_quotas,
    instance_types as describe_instance_types, is as quota_is, quota_name, usage as quota_usage,
};
// ECR: repositories and images.
pub use registry::{
    Manifest as ImageManifest, ScanOnPush, blobs as image_blobs, copy_image, create_repository,
    delete_images, delete_repository, images as repository_images, login as registry_login,
    manifest as image_manifest, put_lifecycle_policy, repository as describe_repository,
    scan_on_push, set_repository_policy, tag_exists as image_tag_exists, tags as repository_tags,
};
// The rollback alarms of a deploy.
pub use rollback::{
    FiredAlarm, RollbackCause, StandingAlarm, fired_since as alarms_fired_since,
    prefix as rollback_alarm_prefix, standing as standing_alarms,
};
// ECS: a service and its deployments.
pub use services::{
    Deployment as ServiceDeployment, Provider as StrategyItem, Service as EcsService,
    service as ecs_service,
};
// SNS: a queue's subscription to a topic.
pub use topics::{Subscription, queue_subscription, subscription_attributes};

// Test support: mocked clients and a fake signed-API server.
#[cfg(any(test, feature = "test-util"))]
pub use signed::fake;

/// What every call of this module returns: AWS access fails only with an [`AwsError`].
pub type Result<T, E = AwsError> = std::result::Result<T, E>;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How to reach AWS: `--profile`, `--region` and `--role-arn`. `AWS_ENDPOINT_URL` and the rest
/// of the standard environment work as in every SDK.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
}

/// The clients for one region.
#[derive(Clone, Debug)]
pub struct Clients {
    pub region: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub ec2: ec2::Ec2,
    /// Auto Scaling: the worker group's reads (the Query protocol: [`Query`]).
    pub autoscaling: query::Query,
    pub lambda: json_api::RestJson,
    pub ecs: json_api::JsonApi,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: json_api::JsonApi,
    /// DynamoDB: the job table's reads (`jobs:`).
    pub dynamodb: json_api::JsonApi,
    /// ECR: the worker images' repositories ([`describe_repository`]).
    pub ecr: json_api::JsonApi,
    /// Service Quotas: the account's EC2 vCPU quotas ([`ec2_quotas`]).
    pub servicequotas: json_api::JsonApi,
    /// Amazon Q Developer in chat applications: the authorised chat workspaces
    /// ([`slack_workspaces`]), in the API's Region nearest the environment's
    /// ([`chat_api_region`]).
    pub chatbot: json_api::RestJson,
    /// AWS Budgets: a budget's spend ([`describe_budget`]), at its partition's global
    /// endpoint; `None` in a partition whose endpoint qfleet does not know.
    pub budgets: Option<json_api::JsonApi>,
    pub sqs: aws_sdk_sqs::Client,
    /// SNS: the topic's subscriptions (the Query protocol: [`Query`]).
    pub sns: query::Query,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
}

macro_rules! client {
    ($sdk:ident, $conf:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($conf)
                .interceptor(trace::Requests)
                .retry_classifier(error::NeverRetryNotServed)
                .build(),
        )
    };
}

impl Clients {
    fn from_config(region: &str, conf: &SdkConfig) -> Clients {
        Clients {
            region: region.to_string(),
            cfn: client!(aws_sdk_cloudformation, conf),
            ec2: ec2::Ec2::from_config(region, conf),
            autoscaling: query::Query::from_config(query::AUTO_SCALING, region, conf),
            lambda: json_api::RestJson::from_config(json_api::LAMBDA, region, conf),
            ecs: json_api::JsonApi::from_config(json_api::ECS, region, conf),
            // Alarms and metrics only inform `status`, which shows a section it could not read
            // as not available: a failing CloudWatch gets 3 attempts, not a minute and a half.
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(conf)
                    .retry_config(retry_config().with_max_attempts(3))
                    .interceptor(trace::Requests)
                    .retry_classifier(error::NeverRetryNotServed)
                    .build(),
            ),
            logs: json_api::JsonApi::from_config(json_api::LOGS, region, conf),
            dynamodb: json_api::JsonApi::from_config(json_api::DYNAMODB, region, conf),
            ecr: json_api::JsonApi::from_config(json_api::ECR, region, conf),
            servicequotas: json_api::JsonApi::from_config(json_api::SERVICE_QUOTAS, region, conf),
            chatbot: json_api::RestJson::from_config(
                json_api::CHATBOT,
                chat::api_region(region).unwrap_or(region),
                conf,
            ),
            budgets: json_api::JsonApi::global(json_api::BUDGETS, region, conf),
            sqs: client!(aws_sdk_sqs, conf),
            sns: query::Query::from_config(query::SNS, region, conf),
            s3: client!(aws_sdk_s3, conf),
            sts: client!(aws_sdk_sts, conf),
        }
    }
}

/// The retry budget of every call. CloudFormation's API limits are account-wide, so many
/// concurrent environments meet throttling as weather: up to 10 attempts with exponential
/// backoff and full jitter from 0.2 s to 20 s (a call gives up after about a minute and a half
/// of throttling). Transient 5xx answers and dropped connections are retried the same way.
fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20))
}

/// What every call in `region` says when its opt-in status explains the rejected token:
/// `status` is EC2's `OptInStatus` for it as read from `other` (or why it could not be read).
/// `None` when the Region is enabled (the token's rejection is then the credentials').
fn region_refusal(
    region: &str,
    other: &str,
    account: &str,
    status: Result<Option<String>>,
) -> Option<String> {
    match status {
        Ok(Some(s)) if s == "not-opted-in" => Some(format!(
            "Region {region} is not enabled in account {account} (its opt-in status is not-opted-in), so AWS rejects every token there while {other} accepts them. Enable it (AWS console: Account, AWS Regions; or `aws account enable-region --region-name {region}`), or deploy this target elsewhere"
        )),
        Ok(Some(_)) => None,
        Ok(None) => Some(format!(
            "Region {region} is probably not enabled in account {account}: AWS rejects every token there while {other} accepts them, and EC2 does not list {region} among the account's Regions. Enable it (AWS console: Account, AWS Regions), or deploy this target elsewhere"
        )),
        Err(e) => Some(format!(
            "Region {region} is probably not enabled in account {account}: AWS rejects every token there while {other} accepts them; its opt-in status could not be read ({e}). Enable it (AWS console: Account, AWS Regions), or deploy this target elsewhere"
        )),
    }
}

/// A region and the role assumed there (`None`: the credentials qfleet runs with).
type ClientsKey = (String, Option<String>);

/// Hands out clients per region and role, loading the SDK configuration once for each.
#[derive(Clone)]
pub struct Aws {
    settings: Settings,
    cache: Arc<Mutex<HashMap<ClientsKey, Clients>>>,
}

impl Aws {
    pub fn new(settings: Settings) -> Aws {
        Aws {
            settings,
            cache: Arc::default(),
        }
    }

    /// The region an environment is deployed to: `--region` overrides the stack file.
    pub fn region_for(&self, stack_file_region: &str) -> String {
        self.settings
            .region
            .clone()
            .unwrap_or_else(|| stack_file_region.to_string())
    }

    /// The Region the environment of this run sets, as the SDK reads it: `AWS_REGION` (or
    /// `AWS_DEFAULT_REGION`), then the profile's `region` (`--profile`, `AWS_PROFILE`, else the
    /// default profile). `None` when nothing sets one. Not the instance metadata's: asking it
    /// off EC2 waits for a timeout.
    pub async fn configured_region(&self) -> Option<String> {
        use aws_config::meta::region::ProvideRegion;
        let env = aws_config::environment::region::EnvironmentVariableRegionProvider::new();
        if let Some(r) = env.region().await {
            return Some(r.to_string());
        }
        let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = &self.settings.profile {
            profile = profile.profile_name(p);
        }
        profile.build().region().await.map(|r| r.to_string())
    }

    /// The clients for `region` with the credentials qfleet runs with (`--role-arn`'s when set).
    pub async fn clients(&self, region: &str) -> Clients {
        self.clients_as(region, None).await
    }

    /// The clients for `region` acting as `role` (an ARN assumed with the credentials qfleet
    /// runs with), or as [`Aws::clients`] without one.
    pub async fn clients_as(&self, region: &str, role: Option<&str>) -> Clients {
        let key = (region.to_string(), role.map(str::to_string));
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(&key) {
            return c.clone();
        }
        let conf = self.load(region, role).await;
        let clients = Clients::from_config(region, &conf);
        cache.insert(key, clients.clone());
        clients
    }

    /// The run's first look at the credentials qfleet runs with (before `--role-arn`'s or a
    /// target's role is assumed), so that a run without them says so once, before it shows
    /// anything: their source, or why none gave any.
    pub async fn check_credentials(&self, region: &str) -> Result<()> {
        use aws_credential_types::provider::ProvideCredentials;
        let chain = credentials::chain(self.settings.profile.as_deref(), region, https::client());
        match chain.provide_credentials().await {
            Ok(_) => Ok(()),
            Err(e) => Err(AwsError::from_credentials("", &e)),
        }
    }

    /// Each Region of the run (with the role used there) whose calls AWS refuses as if the
    /// credentials were invalid, while another Region of the run accepts them, is checked
    /// against its opt-in status: a Region not enabled in the account rejects every token
    /// (<https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html>). Its
    /// clients are then refused before sending, each call saying so. Costs one GetCallerIdentity
    /// per Region and role, and only in a run of several Regions.
    pub async fn check_regions(&self, places: &[(String, Option<String>)]) {
        let mut places: Vec<(String, Option<String>)> = places.to_vec();
        places.sort();
        places.dedup();
        let regions: std::collections::BTreeSet<&str> =
            places.iter().map(|(r, _)| r.as_str()).collect();
        if regions.len() < 2 {
            return;
        }
        let answers = futures::future::join_all(places.iter().map(|(region, role)| async move {
            let clients = self.clients_as(region, role.as_deref()).await;
            account::id(&clients.sts).await
        }))
        .await;
        let reached: Vec<(&(String, Option<String>), &String)> = places
            .iter()
            .zip(&answers)
            .filter_map(|(p, a)| a.as_ref().ok().map(|acct| (p, acct)))
            .collect();
        for ((region, role), answer) in places.iter().zip(&answers) {
            let Err(e) = answer else { continue };
            if !error::is_rejected_token(e) {
                continue;
            }
            // Another Region reached with the same credentials (the same role), else any.
            let Some(((other, _), account)) = reached
                .iter()
                .find(|((r, ro), _)| r != region && ro == role)
                .or_else(|| reached.iter().find(|((r, _), _)| r != region))
            else {
                continue;
            };
            let from = self.clients_as(other, role.as_deref()).await;
            let status = ec2::region_opt_in(&from.ec2, region).await;
            let Some(message) = region_refusal(region, other, account, status) else {
                continue;
            };
            let conf = aws_config::SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region.clone()))
                .http_client(https::client())
                .retry_config(retry_config())
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(
                        credentials::Refused(message),
                    ),
                )
                .build();
            let key = (region.clone(), role.clone());
            self.cache
                .lock()
                .await
                .insert(key, Clients::from_config(region, &conf));
        }
    }

    /// Test support: an `Aws` that hands out these clients (mocked) for these regions and
    /// roles, as if each had been loaded already.
    #[cfg(any(test, feature = "test-util"))]
    pub fn with_clients(entries: impl IntoIterator<Item = (ClientsKey, Clients)>) -> Aws {
        Aws {
            settings: Settings::default(),
            cache: Arc::new(Mutex::new(entries.into_iter().collect())),
        }
    }

    async fn load(&self, region: &str, role: Option<&str>) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https::client())
            .region(Region::new(region.to_string()))
            .retry_config(retry_config())
            // The standard chain, each source's failure naming the source.
            .credentials_provider(credentials::chain(
                self.settings.profile.as_deref(),
                region,
                https::client(),
            ));
        if let Some(p) = &self.settings.profile {
            loader = loader.profile_name(p);
        }
        let base = loader.load().await;
        match role.or(self.settings.role_arn.as_deref()) {
            None => base,
            Some(arn) => {
                let provider = aws_config::sts::AssumeRoleProvider::builder(arn)
                    .session_name("qfleet")
                    .configure(&base)
                    .build()
                    .await;
                base.into_builder()
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                    )
                    .build()
            }
        }
    }
}
