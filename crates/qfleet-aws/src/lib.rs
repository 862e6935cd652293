//! AWS access, the only place that talks to AWS: SDK configuration from the standard chain
//! (environment, profiles and SSO, web identity, instance metadata), optional role assumption,
//! one client per service with the retry budget and the request log, and one module per kind of
//! thing qfleet reads or changes.

// No production function over the threshold in clippy.toml (150 lines).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives or AWS answers: production code neither
// unwraps nor expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod account;
pub mod autoscaling;
pub mod buckets;
pub mod cfn;
pub mod chat;
pub mod credentials;
pub mod dead_letters;
pub mod ec2;
pub mod error;
pub mod functions;
pub mod https;
pub mod job_table;
pub mod json_api;
pub mod locks;
pub mod logs;
#[cfg(any(test, feature = "test-util"))]
pub mod mock;
pub mod monitoring;
pub mod network;
pub mod poll;
pub mod queues;
pub mod quotas;
pub mod registry;
pub mod request_target;
pub mod rollback;
pub mod services;
pub mod signed;
pub mod topics;
pub mod trace;

pub use error::AwsError;
pub use error::{NotServed, Why};

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
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub ecs: json_api::JsonApi,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: json_api::JsonApi,
    /// DynamoDB: the job table's reads (`jobs:`).
    pub dynamodb: json_api::JsonApi,
    /// ECR: the worker images' repositories ([`registry`]).
    pub ecr: json_api::JsonApi,
    /// Service Quotas: the account's EC2 vCPU quotas ([`quotas`]).
    pub servicequotas: json_api::JsonApi,
    /// Amazon Q Developer in chat applications: the authorised chat workspaces ([`chat`]),
    /// in the API's Region nearest the environment's ([`chat::api_region`]).
    pub chatbot: json_api::RestJson,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
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
            autoscaling: client!(aws_sdk_autoscaling, conf),
            lambda: client!(aws_sdk_lambda, conf),
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
            sqs: client!(aws_sdk_sqs, conf),
            sns: client!(aws_sdk_sns, conf),
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
