//! Signed calls through the SDK's own runtime for the services whose generated crate costs far
//! more to build than the calls qfleet makes of it (EC2, Auto Scaling, SNS, ECS, Lambda,
//! CloudWatch Logs and others: a few calls each): the runtime's HTTP client, retry strategy
//! (the budget every other call has), retry classifiers, timeouts, clock and request log, with
//! SigV4 signing of each attempt. The protocols on top are [`super::ec2`] (EC2's Query
//! protocol), [`super::query`] (AWS Query) and [`super::json_api`] (AWS JSON, REST-JSON).
//!
//! As AWS documents it:
//! - each request is signed with Signature Version 4 for the service's signing name in the
//!   client's region, the session token included when the credentials have one
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>);
//! - a service's regional endpoint is `PREFIX.REGION.DNS-SUFFIX` of the region's partition,
//!   `PREFIX-fips.…` for FIPS, `PREFIX.REGION.api.aws` dual-stack
//!   (<https://docs.aws.amazon.com/general/latest/gr/rande.html>);
//! - `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL` and a profile's `endpoint_url` override it
//!   (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>).

use super::error::{AwsError, EXPIRED_CREDENTIALS, Kind, MISSING_CREDENTIALS};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::sdk_config::SharedTimeSource;
use aws_types::service_config::ServiceConfigKey;
use std::fmt;

/// A service as the SDK configuration and SigV4 name it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Service {
    /// The SDK's service id (`AWS_ENDPOINT_URL_<ID>`, upper case, spaces as `_`).
    pub(super) id: &'static str,
    /// The signing name, also the endpoint's host prefix.
    pub(super) name: &'static str,
}

/// A client of one service in one region.
#[derive(Clone, Debug)]
pub(super) struct Signed {
    service: Service,
    region: String,
    pub(super) endpoint: String,
    pub(super) credentials: Option<SharedCredentialsProvider>,
    http_client: Option<SharedHttpClient>,
    retry: RetryConfig,
    timeouts: Option<TimeoutConfig>,
    /// The clock requests are signed with (the configuration's, else the system's).
    pub(super) time: Option<SharedTimeSource>,
    /// Whether a failure names the service's operation ([`Signed::naming_its_api`]).
    names_api: bool,
}

/// A request before the endpoint is applied: its method, path (with its query), body and
/// headers (a POST to `/` but for a REST-JSON service, whose operation is its method and path).
#[derive(Debug)]
pub(super) struct Request {
    pub(super) method: &'static str,
    pub(super) path: std::borrow::Cow<'static, str>,
    pub(super) body: String,
    pub(super) headers: Vec<(&'static str, String)>,
}

/// An error a service answered with: its code and message.
#[derive(Debug)]
pub(super) struct ApiError(pub ErrorMetadata);

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.code(), self.0.message()) {
            (Some(c), Some(m)) => write!(f, "{c}: {m}"),
            (Some(c), None) => f.write_str(c),
            (None, Some(m)) => f.write_str(m),
            (None, None) => f.write_str("the service answered with an error it did not name"),
        }
    }
}

impl std::error::Error for ApiError {}

impl ProvideErrorMetadata for ApiError {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

impl Signed {
    /// The client the SDK configuration describes: its credentials, HTTP client, retry and
    /// timeout settings, clock, and the service's endpoint as a generated client reads it.
    pub(super) fn from_config(service: Service, region: &str, conf: &SdkConfig) -> Signed {
        let regional = endpoint(
            service.name,
            region,
            conf.use_fips().unwrap_or(false),
            conf.use_dual_stack().unwrap_or(false),
        );
        Signed::from_config_at(service, region, &regional, conf)
    }

    /// [`Signed::from_config`] with `default` as the endpoint when the configuration names
    /// none (a service with one global endpoint, signed in `region`).
    pub(super) fn from_config_at(
        service: Service,
        region: &str,
        default: &str,
        conf: &SdkConfig,
    ) -> Signed {
        let configured = conf
            .service_config()
            .and_then(|c| {
                let key = ServiceConfigKey::builder()
                    .service_id(service.id)
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .ok()?;
                c.load_config(key)
            })
            .or_else(|| conf.endpoint_url().map(str::to_string));
        Signed {
            service,
            region: region.to_string(),
            endpoint: configured.unwrap_or_else(|| default.to_string()),
            credentials: conf.credentials_provider(),
            http_client: conf.http_client(),
            retry: conf
                .retry_config()
                .cloned()
                .unwrap_or_else(super::retry_config),
            timeouts: conf.timeout_config().cloned(),
            time: conf.time_source(),
            names_api: false,
        }
    }

    /// The Region requests are signed in.
    #[cfg(test)]
    pub(super) fn region(&self) -> &str {
        &self.region
    }

    /// A client that sends every request to `http_client` (tests: a connection that answers
    /// as the service would), with fixed credentials and retries a millisecond apart.
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn with_http_client(
        service: Service,
        region: &str,
        http_client: SharedHttpClient,
    ) -> Signed {
        Signed {
            service,
            region: region.to_string(),
            endpoint: endpoint(service.name, region, false, false),
            credentials: Some(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))),
            http_client: Some(http_client),
            retry: RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1)),
            timeouts: None,
            time: None,
            names_api: false,
        }
    }

    /// Sends `request` as `operation`, each attempt signed, retried within the budget; an
    /// error begins with `what` (the call described for the user) and, for a client
    /// [`Signed::naming_its_api`], names the service's operation.
    pub(super) async fn invoke<O>(
        &self,
        what: &str,
        operation: &'static str,
        request: Request,
        deserialize: impl Fn(&HttpResponse) -> Result<O, OrchestratorError<ApiError>>
        + Send
        + Sync
        + 'static,
    ) -> Result<O, AwsError>
    where
        O: fmt::Debug + Send + Sync + 'static,
    {
        let credentials = self.credentials(what).await?;
        let mut b = Operation::builder()
            .service_name(self.service.name)
            .operation_name(operation)
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .no_auth()
            .standard_retry(&self.retry)
            .retry_classifier(HttpStatusCodeClassifier::default())
            .retry_classifier(TransientErrorClassifier::<ApiError>::new())
            .retry_classifier(AwsErrorCodeClassifier::<ApiError>::new())
            .retry_classifier(super::error::NeverRetryNotServed)
            .with_connection_poisoning()
            .interceptor(Sign {
                credentials,
                region: self.region.clone(),
                name: self.service.name,
            })
            .interceptor(super::trace::Requests);
        if let Some(c) = &self.http_client {
            b = b.http_client(c.clone());
        }
        if let Some(t) = &self.timeouts {
            b = b.timeout_config(t.clone());
        }
        if let Some(t) = &self.time {
            b = b.time_source(t.clone());
        }
        let op = b
            .serializer(|r: Request| {
                let mut req = HttpRequest::new(SdkBody::from(r.body));
                req.set_method(r.method)?;
                req.set_uri(r.path.into_owned())?;
                for (k, v) in r.headers {
                    req.headers_mut().insert(k, v);
                }
                Ok(req)
            })
            .deserializer(deserialize)
            .build();
        op.invoke(request).await.map_err(|e| match self.names_api {
            true => AwsError::from_sdk_as(
                what,
                e,
                Some(super::error::NotServed {
                    service: self.service.id.to_string(),
                    operation: operation.to_string(),
                }),
            ),
            false => AwsError::from_sdk(what, e),
        })
    }

    /// This client, its failures naming the service's operation (`Auto Scaling
    /// DescribePolicies`): an endpoint that does not serve it, or failed on its side, is then
    /// said in the words of an SDK call's.
    pub(super) fn naming_its_api(mut self) -> Signed {
        self.names_api = true;
        self
    }

    /// The bytes `first..=last` of a presigned URL (ECR's download URL of a layer, which S3
    /// serves): a GET with `Range: bytes=FIRST-LAST` (RFC 9110, "Range Requests"; S3 answers 206
    /// with exactly those bytes, <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>),
    /// unsigned (the URL carries its signature), through this client's HTTP client, retries and
    /// timeouts. An answer of another length, or another status, is an error: the caller holds
    /// at most one range in memory.
    pub(super) async fn get_range(
        &self,
        what: &str,
        url: &str,
        first: u64,
        last: u64,
    ) -> Result<Vec<u8>, AwsError> {
        let Some((endpoint, path)) = split_url(url) else {
            return Err(AwsError::with_kind(
                format!(
                    "{what}: the download URL `{}` is not an http(s) URL",
                    url.split('?').next().unwrap_or(url)
                ),
                Kind::Malformed,
            ));
        };
        let want = last - first + 1;
        let mut b = Operation::builder()
            .service_name(self.service.name)
            .operation_name("GetLayerBytes")
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .no_auth()
            .standard_retry(&self.retry)
            .retry_classifier(HttpStatusCodeClassifier::default())
            .retry_classifier(TransientErrorClassifier::<ApiError>::new())
            .with_connection_poisoning();
        if let Some(c) = &self.http_client {
            b = b.http_client(c.clone());
        }
        if let Some(t) = &self.timeouts {
            b = b.timeout_config(t.clone());
        }
        let op = b
            .serializer(move |(path, range): (String, String)| {
                let mut req = HttpRequest::new(SdkBody::empty());
                req.set_method("GET")?;
                req.set_uri(path)?;
                req.headers_mut().insert("range", range);
                Ok(req)
            })
            .deserializer(move |resp: &HttpResponse| {
                let status = resp.status().as_u16();
                let bytes = resp.body().bytes().ok_or_else(|| {
                    OrchestratorError::response("the answer's body was not read".into())
                })?;
                match status {
                    200 | 206 if bytes.len() as u64 == want => Ok(LayerBytes(bytes.to_vec())),
                    200 | 206 => Err(OrchestratorError::response(
                        format!("{} bytes came where {want} were asked for", bytes.len()).into(),
                    )),
                    _ => Err(OrchestratorError::operation(ApiError(
                        ErrorMetadata::builder()
                            .code(format!("HTTP {status}"))
                            .message(
                                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                                    .into_owned(),
                            )
                            .build(),
                    ))),
                }
            })
            .build();
        tracing::debug!(target: "qfleet::aws", "{what}: bytes {first}-{last}");
        let path = match path.starts_with('?') {
            true => format!("/{path}"),
            false => path.to_string(),
        };
        op.invoke((path, format!("bytes={first}-{last}")))
            .await
            .map(|b| b.0)
            .map_err(|e| AwsError::from_sdk(what, e))
    }

    /// The credentials to sign with, or the error every other call meets without them.
    async fn credentials(&self, what: &str) -> Result<Credentials, AwsError> {
        let Some(provider) = &self.credentials else {
            return Err(AwsError::with_kind(
                MISSING_CREDENTIALS.message(what, ""),
                Kind::Credentials,
            ));
        };
        provider.provide_credentials().await.map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            let words = if text.to_lowercase().contains("expired") {
                EXPIRED_CREDENTIALS
            } else {
                MISSING_CREDENTIALS
            };
            AwsError::with_kind(words.message(what, ""), Kind::Credentials)
        })
    }
}

/// The answer's body as text; one that is not UTF-8 is not the service's document.
pub(super) fn body_text(resp: &HttpResponse) -> Result<&str, OrchestratorError<ApiError>> {
    // The runtime reads the whole body before a deserializer runs; a body still streaming is
    // an answer not read, never an empty one.
    let bytes = resp
        .body()
        .bytes()
        .ok_or_else(|| OrchestratorError::response("the answer's body was not read".into()))?;
    std::str::from_utf8(bytes).map_err(|e| OrchestratorError::response(Box::new(e)))
}

/// Bytes a GET answered (without them in its debug form).
struct LayerBytes(Vec<u8>);

impl fmt::Debug for LayerBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerBytes({} bytes)", self.0.len())
    }
}

/// `https://host[:port]` and the path with its query, of an http(s) URL.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    if host_end == 0 {
        return None;
    }
    let at = url.len() - rest.len() + host_end;
    let path = &url[at..];
    Some((&url[..at], if path.is_empty() { "/" } else { path }))
}

/// Whether `region` is of the commercial partition (`aws`): not China, GovCloud, an isolated
/// partition or the European Sovereign Cloud.
pub(super) fn is_commercial(region: &str) -> bool {
    !["cn-", "us-gov-", "us-iso", "eu-iso", "eusc-"]
        .iter()
        .any(|p| region.starts_with(p))
}

/// A service's regional endpoint: `PREFIX.REGION.DNS-SUFFIX` of the region's partition.
fn endpoint(prefix: &str, region: &str, fips: bool, dual_stack: bool) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else if region.starts_with("eusc-") {
        "amazonaws.eu"
    } else {
        "amazonaws.com"
    };
    let host = if fips {
        format!("{prefix}-fips")
    } else {
        prefix.to_string()
    };
    if dual_stack && suffix == "amazonaws.com" {
        format!("https://{host}.{region}.api.aws")
    } else {
        format!("https://{host}.{region}.{suffix}")
    }
}

/// Signs each attempt as it leaves (after the endpoint is applied, with the runtime's clock):
/// SigV4 for the service's signing name in the client's region.
#[derive(Debug)]
struct Sign {
    credentials: Credentials,
    region: String,
    name: &'static str,
}

impl Intercept for Sign {
    fn name(&self) -> &'static str {
        "qfleet::aws::signed::Sign"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let time = rc
            .time_source()
            .map(|t| t.now())
            .unwrap_or_else(std::time::SystemTime::now);
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.name)
            .time(time)
            .settings(SigningSettings::default())
            .build()?
            .into();
        let req = ctx.request_mut();
        let body = req
            .body()
            .bytes()
            .ok_or("a streaming body cannot be signed")?;
        let signable = SignableRequest::new(
            req.method(),
            req.uri(),
            req.headers().iter(),
            SignableBody::Bytes(body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let (headers, _) = instructions.into_parts();
        for h in headers {
            req.headers_mut().insert(h.name(), h.value().to_string());
        }
        Ok(())
    }
}

#[cfg(any(test, feature = "test-util"))]
pub mod fake;
#[cfg(test)]
mod tests;
