//! AWS access: SDK configuration from the standard chain (environment, profiles and SSO, web
//! identity, instance metadata), optional role assumption, one client per service, and SDK
//! errors turned into one readable line.

#[cfg(test)]
pub mod mock;
pub mod network;
pub mod queues;
pub mod resources;
pub mod stacks;

use crate::error::Error;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::collections::HashMap;
use std::sync::Arc;
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
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    pub fn from_config(region: &str, conf: &SdkConfig) -> Clients {
        Clients {
            region: region.to_string(),
            cfn: aws_sdk_cloudformation::Client::new(conf),
            ec2: aws_sdk_ec2::Client::new(conf),
            autoscaling: aws_sdk_autoscaling::Client::new(conf),
            cloudwatch: aws_sdk_cloudwatch::Client::new(conf),
            sqs: aws_sdk_sqs::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            s3: aws_sdk_s3::Client::new(conf),
        }
    }
}

/// Hands out clients per region, loading the SDK configuration once per region.
#[derive(Clone)]
pub struct Aws {
    settings: Settings,
    cache: Arc<Mutex<HashMap<String, Clients>>>,
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

    pub async fn clients(&self, region: &str) -> Clients {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(region) {
            return c.clone();
        }
        let conf = self.load(region).await;
        let clients = Clients::from_config(region, &conf);
        cache.insert(region.to_string(), clients.clone());
        clients
    }

    async fn load(&self, region: &str) -> SdkConfig {
        // Throttling is handled here, once for every call: adaptive retries back off and rate
        // limit the client when AWS says "slow down", which matters with many environments.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(aws_config::retry::RetryConfig::adaptive());
        if let Some(p) = &self.settings.profile {
            loader = loader.profile_name(p);
        }
        let base = loader.load().await;
        match &self.settings.role_arn {
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

/// Turns an SDK error into one line that says what happened and, for the common cases
/// (no credentials, expired credentials, no connection), what to do.
pub fn sdk_error<E, R>(what: &str, err: SdkError<E, R>) -> Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::Aws(describe(what, &err))
}

/// The message of [`sdk_error`], for callers that keep the SDK error.
pub fn describe<E, R>(what: &str, err: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error_code(err).unwrap_or_default();
    let mut full = DisplayErrorContext(err).to_string();
    // DisplayErrorContext ends with the Debug form of the whole error (raw response and all);
    // the chain of messages before it says what happened.
    for marker in [
        " (ServiceError(",
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
    ] {
        if let Some(i) = full.find(marker) {
            full.truncate(i);
        }
    }
    let lower = full.to_lowercase();
    if lower.contains("no providers in chain provided credentials")
        || lower.contains("failed to load credentials")
        || lower.contains("error occurred while loading credentials")
        || lower.contains("the credential provider was not enabled")
    {
        return format!(
            "{what}: no AWS credentials found. Set AWS_PROFILE (or pass --profile), run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        );
    }
    if matches!(
        code.as_str(),
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired"
    ) || lower.contains("token has expired")
        || lower.contains("session has expired")
    {
        return format!(
            "{what}: your AWS credentials have expired. Refresh them (e.g. `aws sso login`) and run the command again"
        );
    }
    if matches!(
        code.as_str(),
        "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
    ) {
        return format!(
            "{what}: AWS rejected the credentials ({code}). Check AWS_PROFILE / --profile and the access keys"
        );
    }
    if code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation"
    {
        return format!(
            "{what}: access denied: {}",
            error_message(err).unwrap_or_else(|| code.clone())
        );
    }
    if let SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) = err {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS".into());
        return format!("{what}: cannot reach {endpoint}: {full}");
    }
    match (code.is_empty(), error_message(err)) {
        (false, Some(msg)) => format!("{what}: {code}: {msg}"),
        (false, None) => format!("{what}: {code}"),
        (true, _) => format!("{what}: {full}"),
    }
}

/// The service's error code (`ValidationError`, `Throttling`, …), when the service sent one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    match err {
        SdkError::ServiceError(e) => e.err().code().map(str::to_string),
        _ => None,
    }
}

/// The service's error message, when it sent one.
pub fn error_message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    match err {
        SdkError::ServiceError(e) => e.err().message().map(str::to_string),
        _ => None,
    }
}
