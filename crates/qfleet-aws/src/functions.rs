//! The worker function (`workers.kind: lambda`) as Lambda describes it: its configuration and
//! reserved concurrency, and the event source mapping that feeds it from the queue. Read the
//! same way by status and drift.
//!
//! Three GETs of Lambda's REST-JSON API through the crate's signed client, not the SDK crate
//! (a cold build's largest remaining crate but S3): GetFunction
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html>),
//! GetEventSourceMapping
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_GetEventSourceMapping.html>) and
//! ListEventSourceMappings, paged by `Marker` and `NextMarker`
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_ListEventSourceMappings.html>). A
//! missing function or mapping is `ResourceNotFoundException` (HTTP 404), named in the
//! `X-Amzn-ErrorType` header ("Common Errors" and each page's Errors).

use super::Result;
use super::error::{AwsError, Kind};
use super::json_api::RestJson;
use serde::{Deserialize, Serialize};

/// Lambda's API version, the first segment of every path.
const VERSION: &str = "2015-03-31";

/// The function's configuration (GetFunction).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Function {
    pub name: String,
    pub arn: Option<String>,
    /// Pending, Active, Inactive, Failed (`None`: the answer did not say).
    pub state: Option<String>,
    pub state_reason: Option<String>,
    /// InProgress, Successful, Failed.
    pub last_update_status: Option<String>,
    pub last_update_status_reason: Option<String>,
    /// `None` for a function from a container image, which carries its own runtime.
    pub runtime: Option<String>,
    /// A container image function's image as Lambda resolved it (the digest a tag pointed to
    /// when the function was created or its code last changed), else the URI it was given.
    pub image: Option<String>,
    /// The image URI the function was given (Code.ImageUri), tag or digest as written.
    pub image_uri: Option<String>,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// ReservedConcurrentExecutions (`None`: nothing reserved, the function draws on the
    /// account's unreserved pool).
    pub reserved_concurrency: Option<i32>,
    /// The capacity provider a function on Lambda Managed Instances runs on
    /// (CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn,
    /// <https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html>); `None`:
    /// Lambda's default compute.
    pub capacity_provider: Option<String>,
}

/// The event source mapping from the queue to the function.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Mapping {
    pub uuid: String,
    pub event_source_arn: Option<String>,
    pub function_arn: Option<String>,
    /// Creating, Enabling, Enabled, Disabling, Disabled, Updating, Deleting.
    pub state: String,
    pub state_transition_reason: Option<String>,
    pub batch_size: Option<i32>,
    pub batching_window_seconds: Option<i32>,
    /// `ReportBatchItemFailures` when the function reports partial batch failures.
    pub function_response_types: Vec<String>,
    /// ScalingConfig.MaximumConcurrency (`None`: no cap but the function's own).
    pub maximum_concurrency: Option<i32>,
    /// ProvisionedPollerConfig's MinimumPollers and MaximumPollers (`None`: standard mode).
    pub pollers: Option<(Option<i32>, Option<i32>)>,
    pub last_processing_result: Option<String>,
}

impl Mapping {
    pub fn reports_batch_item_failures(&self) -> bool {
        self.function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures")
    }

    #[cfg(test)]
    fn is_enabled(&self) -> bool {
        self.state == "Enabled"
    }
}

/// GetFunction's answer, as much of it as qfleet reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetFunction {
    configuration: Option<Configuration>,
    code: Option<Code>,
    concurrency: Option<Concurrency>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Configuration {
    function_name: Option<String>,
    function_arn: Option<String>,
    state: Option<String>,
    state_reason: Option<String>,
    last_update_status: Option<String>,
    last_update_status_reason: Option<String>,
    runtime: Option<String>,
    memory_size: Option<i32>,
    timeout: Option<i32>,
    capacity_provider_config: Option<CapacityProviderConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CapacityProviderConfig {
    lambda_managed_instances_capacity_provider_config: Option<ManagedInstancesConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedInstancesConfig {
    capacity_provider_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Code {
    image_uri: Option<String>,
    resolved_image_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Concurrency {
    reserved_concurrent_executions: Option<i32>,
}

/// A mapping as GetEventSourceMapping answers it and ListEventSourceMappings lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MappingDoc {
    #[serde(rename = "UUID")]
    uuid: Option<String>,
    event_source_arn: Option<String>,
    function_arn: Option<String>,
    state: Option<String>,
    state_transition_reason: Option<String>,
    batch_size: Option<i32>,
    maximum_batching_window_in_seconds: Option<i32>,
    #[serde(default)]
    function_response_types: Vec<String>,
    scaling_config: Option<ScalingConfig>,
    provisioned_poller_config: Option<PollerConfig>,
    last_processing_result: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScalingConfig {
    maximum_concurrency: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PollerConfig {
    minimum_pollers: Option<i32>,
    maximum_pollers: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MappingList {
    #[serde(default)]
    event_source_mappings: Vec<MappingDoc>,
    next_marker: Option<String>,
}

impl MappingDoc {
    /// The [`Mapping`]; one without its UUID or state is an answer that cannot be read.
    fn mapping(self, what: &str) -> Result<Mapping> {
        let (Some(uuid), Some(state)) = (self.uuid, self.state) else {
            return Err(AwsError::with_kind(
                format!("{what}: a mapping without its UUID or state"),
                Kind::Malformed,
            ));
        };
        Ok(Mapping {
            uuid,
            event_source_arn: self.event_source_arn,
            function_arn: self.function_arn,
            state,
            state_transition_reason: self.state_transition_reason,
            batch_size: self.batch_size,
            batching_window_seconds: self.maximum_batching_window_in_seconds,
            function_response_types: self.function_response_types,
            maximum_concurrency: self.scaling_config.and_then(|s| s.maximum_concurrency),
            pollers: self
                .provisioned_poller_config
                .map(|p| (p.minimum_pollers, p.maximum_pollers)),
            last_processing_result: self.last_processing_result,
        })
    }
}

/// `value` percent-encoded for a path segment or a query value.
fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A call's answer, or `None` when Lambda says there is no such resource.
fn absent_if_not_found<T>(answer: Result<T>) -> Result<Option<T>> {
    match answer {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The function named `name` (`None`: Lambda says there is no such function).
pub async fn function(lambda: &RestJson, name: &str) -> Result<Option<Function>> {
    let what = format!("reading function {name}");
    let path = format!("/{VERSION}/functions/{}", encoded(name));
    let Some(out) =
        absent_if_not_found(lambda.get::<GetFunction>(&what, "GetFunction", path).await)?
    else {
        return Ok(None);
    };
    let malformed = |lacks: &str| -> AwsError {
        AwsError::with_kind(format!("{what}: the answer lacks {lacks}"), Kind::Malformed)
    };
    let c = out
        .configuration
        .ok_or_else(|| malformed("the configuration"))?;
    let memory_mb = c.memory_size.ok_or_else(|| malformed("MemorySize"))?;
    let timeout_seconds = c.timeout.ok_or_else(|| malformed("Timeout"))?;
    Ok(Some(Function {
        name: c.function_name.unwrap_or_else(|| name.to_string()),
        arn: c.function_arn,
        state: c.state,
        state_reason: c.state_reason,
        last_update_status: c.last_update_status,
        last_update_status_reason: c.last_update_status_reason,
        runtime: c.runtime,
        image: out
            .code
            .as_ref()
            .and_then(|code| code.resolved_image_uri.clone().or(code.image_uri.clone())),
        image_uri: out.code.and_then(|code| code.image_uri),
        memory_mb,
        timeout_seconds,
        reserved_concurrency: out
            .concurrency
            .and_then(|x| x.reserved_concurrent_executions),
        capacity_provider: c
            .capacity_provider_config
            .and_then(|p| p.lambda_managed_instances_capacity_provider_config)
            .and_then(|m| m.capacity_provider_arn),
    }))
}

/// The mapping with this UUID (`None`: Lambda says there is no such mapping).
pub async fn mapping(lambda: &RestJson, uuid: &str) -> Result<Option<Mapping>> {
    let what = format!("reading event source mapping {uuid}");
    let path = format!("/{VERSION}/event-source-mappings/{}", encoded(uuid));
    match absent_if_not_found(
        lambda
            .get::<MappingDoc>(&what, "GetEventSourceMapping", path)
            .await,
    )? {
        Some(doc) => doc.mapping(&what).map(Some),
        None => Ok(None),
    }
}

/// The mapping from the queue named `queue` to the function (all pages of
/// ListEventSourceMappings for the function; `None`: no mapping from that queue, or Lambda says
/// there is no such function). Lambda refuses a second mapping of the same queue and function,
/// so the first one found is the one.
pub async fn queue_mapping(
    lambda: &RestJson,
    function: &str,
    queue: &str,
) -> Result<Option<Mapping>> {
    let what = format!("listing the event source mappings of function {function}");
    let mut marker: Option<String> = None;
    loop {
        let mut path = format!(
            "/{VERSION}/event-source-mappings/?FunctionName={}",
            encoded(function)
        );
        if let Some(m) = &marker {
            path.push_str(&format!("&Marker={}", encoded(m)));
        }
        let Some(page) = absent_if_not_found(
            lambda
                .get::<MappingList>(&what, "ListEventSourceMappings", path)
                .await,
        )?
        else {
            return Ok(None);
        };
        for m in page.event_source_mappings {
            let from_queue = m
                .event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.rsplit(':').next() == Some(queue));
            if from_queue {
                return m.mapping(&what).map(Some);
            }
        }
        match page.next_marker.filter(|m| !m.is_empty()) {
            None => return Ok(None),
            // A page that hands back the marker it was asked with would be asked for ever.
            Some(m) if marker.as_deref() == Some(m.as_str()) => {
                return Err(AwsError::with_kind(
                    format!("{what}: a page gave back the marker it was asked with"),
                    Kind::Malformed,
                ));
            }
            Some(m) => marker = Some(m),
        }
    }
}

/// Test fixtures: a function and a mapping as the answers of the pages above give them.
#[cfg(any(test, feature = "test-util"))]
impl Function {
    /// An active function, its last update successful, nothing reserved.
    pub fn for_tests(name: &str, memory_mb: i32, timeout_seconds: i32) -> Function {
        Function {
            name: name.into(),
            arn: Some(format!(
                "arn:aws:lambda:eu-west-1:111122223333:function:{name}"
            )),
            state: Some("Active".into()),
            state_reason: None,
            last_update_status: Some("Successful".into()),
            last_update_status_reason: None,
            runtime: Some("python3.12".into()),
            image: None,
            image_uri: None,
            memory_mb,
            timeout_seconds,
            reserved_concurrency: None,
            capacity_provider: None,
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Mapping {
    /// An enabled mapping from `queue` reporting batch item failures.
    pub fn for_tests(
        queue: &str,
        batch_size: i32,
        window_seconds: i32,
        maximum_concurrency: i32,
    ) -> Mapping {
        Mapping {
            uuid: "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE".into(),
            event_source_arn: Some(format!("arn:aws:sqs:eu-west-1:111122223333:{queue}")),
            function_arn: None,
            state: "Enabled".into(),
            state_transition_reason: Some("USER_INITIATED".into()),
            batch_size: Some(batch_size),
            batching_window_seconds: Some(window_seconds),
            function_response_types: vec!["ReportBatchItemFailures".into()],
            maximum_concurrency: Some(maximum_concurrency),
            pollers: None,
            last_processing_result: Some("No records processed".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::Rules;
    use crate::signed::fake::{Fake, Reply, Seen};
    use serde_json::{Value, json};

    const FN: &str = "qfleet-fn-worker";
    const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:111122223333:qfleet-fn-jobs";

    /// Lambda behind a fake connection that answers each request with `answer`.
    fn lambda(answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (RestJson, Fake) {
        let fake = Fake::with_headers(answer);
        let client = Rules {
            lambda: Some(fake.clone()),
            ..Default::default()
        }
        .clients()
        .lambda;
        (client, fake)
    }

    fn ok(doc: Value) -> Reply {
        (200, Vec::new(), doc.to_string())
    }

    /// An error as Lambda answers it: its type in `X-Amzn-ErrorType`, a JSON body with `Type`
    /// and `message` (the API reference's "Errors" of each action).
    fn lambda_error(status: u16, code: &str, message: &str) -> Reply {
        (
            status,
            vec![("x-amzn-errortype", code.to_string())],
            json!({"Type": "User", "message": message}).to_string(),
        )
    }

    fn not_found() -> Reply {
        lambda_error(
            404,
            "ResourceNotFoundException",
            &format!("Function not found: arn:aws:lambda:eu-west-1:111122223333:function:{FN}"),
        )
    }

    fn mapping_entry(uuid: &str, queue_arn: &str) -> Value {
        json!({
            "UUID": uuid, "EventSourceArn": queue_arn, "State": "Enabled", "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 2,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
        })
    }

    #[tokio::test]
    async fn mocked_a_function_is_read_with_its_state_settings_and_reserved_concurrency() {
        let (c, fake) = lambda(|r| match r.uri.as_str() {
            u if u.ends_with(&format!("/2015-03-31/functions/{FN}")) => ok(json!({
                "Configuration": {
                    "FunctionName": FN, "Runtime": "python3.12", "MemorySize": 256,
                    "Timeout": 20, "State": "Active", "LastUpdateStatus": "Failed",
                    "LastUpdateStatusReason": "The role is not authorized",
                },
                "Concurrency": {"ReservedConcurrentExecutions": 3},
            })),
            _ => not_found(),
        });
        let f = function(&c, FN).await.unwrap().unwrap();
        assert_eq!((f.memory_mb, f.timeout_seconds), (256, 20));
        assert_eq!(f.reserved_concurrency, Some(3));
        assert_eq!(f.state.as_deref(), Some("Active"));
        assert_eq!(f.last_update_status.as_deref(), Some("Failed"));
        assert_eq!(f.runtime.as_deref(), Some("python3.12"));
        // A GET, signed for Lambda, without a body.
        let seen = &fake.requests()[0];
        assert!(
            seen.headers["authorization"].contains("/lambda/aws4_request"),
            "{seen:?}"
        );
        assert!(seen.json().is_null(), "{seen:?}");
    }

    #[tokio::test]
    async fn mocked_an_image_function_shows_the_digest_lambda_resolved() {
        let (c, _) = lambda(|_| {
            ok(json!({
                "Configuration": {"FunctionName": FN, "MemorySize": 1024, "Timeout": 30},
                "Code": {
                    "RepositoryType": "ECR",
                    "ImageUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/w:v1",
                    "ResolvedImageUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:ab",
                },
            }))
        });
        let f = function(&c, FN).await.unwrap().unwrap();
        assert_eq!(
            f.image.as_deref(),
            Some("111122223333.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:ab")
        );
        assert_eq!(
            f.image_uri.as_deref(),
            Some("111122223333.dkr.ecr.eu-west-1.amazonaws.com/w:v1")
        );
        assert_eq!(f.runtime, None);
    }

    #[tokio::test]
    async fn mocked_a_function_without_concurrency_has_nothing_reserved_as_aws_documents() {
        // GetFunction leaves out Concurrency when no concurrency is reserved.
        let (c, _) = lambda(|_| {
            ok(json!({"Configuration": {"FunctionName": FN, "MemorySize": 128, "Timeout": 3}}))
        });
        let f = function(&c, FN).await.unwrap().unwrap();
        assert_eq!(f.reserved_concurrency, None);
        assert_eq!(f.capacity_provider, None);
    }

    #[tokio::test]
    async fn mocked_a_function_on_managed_instances_names_its_capacity_provider() {
        let arn =
            "arn:aws:lambda:eu-west-1:111122223333:capacity-provider:qfleet-t-capacity-0a1b2c3d";
        let (c, _) = lambda(move |_| {
            ok(json!({"Configuration": {
                "FunctionName": FN, "MemorySize": 4096, "Timeout": 60,
                "CapacityProviderConfig": {"LambdaManagedInstancesCapacityProviderConfig": {
                    "CapacityProviderArn": arn,
                    "ExecutionEnvironmentMemoryGiBPerVCpu": 2.0,
                    "PerExecutionEnvironmentMaxConcurrency": 16,
                }},
            }}))
        });
        let f = function(&c, FN).await.unwrap().unwrap();
        assert_eq!(f.capacity_provider.as_deref(), Some(arn));
    }

    #[tokio::test]
    async fn mocked_resource_not_found_makes_the_function_and_mapping_absent_as_aws_documents() {
        let (c, _) = lambda(|r| {
            if r.uri.contains("/event-source-mappings/") {
                lambda_error(
                    404,
                    "ResourceNotFoundException",
                    "The resource you requested does not exist.",
                )
            } else {
                not_found()
            }
        });
        assert_eq!(function(&c, FN).await.unwrap(), None);
        assert_eq!(mapping(&c, "a1b2").await.unwrap(), None);
        assert_eq!(queue_mapping(&c, FN, "qfleet-fn-jobs").await.unwrap(), None);
    }

    #[tokio::test]
    async fn mocked_access_denied_is_an_error_that_says_what_could_not_be_read_never_absent() {
        let (c, _) = lambda(|_| {
            lambda_error(
                403,
                "AccessDeniedException",
                "User: arn:aws:sts::111122223333:assumed-role/ci is not authorized to perform: lambda:GetFunction",
            )
        });
        let e = function(&c, FN).await.unwrap_err();
        assert_eq!(e.kind, Kind::AccessDenied);
        assert!(
            e.message
                .starts_with(&format!("reading function {FN}: access denied")),
            "{}",
            e.message
        );
        let e = queue_mapping(&c, FN, "qfleet-fn-jobs").await.unwrap_err();
        assert!(
            e.to_string().contains("listing the event source mappings"),
            "{e}"
        );
        assert_eq!(e.kind, Kind::AccessDenied);
    }

    #[tokio::test]
    async fn mocked_a_function_answer_without_its_memory_is_malformed_not_a_default() {
        let (c, _) = lambda(|_| ok(json!({"Configuration": {"FunctionName": FN, "Timeout": 3}})));
        let e = function(&c, FN).await.unwrap_err();
        assert!(e.to_string().contains("lacks MemorySize"), "{e}");
    }

    #[tokio::test]
    async fn mocked_a_mapping_is_read_by_its_uuid() {
        let (c, fake) = lambda(|r| {
            if r.uri.ends_with("/2015-03-31/event-source-mappings/a1b2") {
                ok(json!({
                    "UUID": "a1b2", "EventSourceArn": QUEUE_ARN, "State": "Disabled",
                    "StateTransitionReason": "USER_INITIATED", "BatchSize": 10,
                    "MaximumBatchingWindowInSeconds": 2,
                    "ScalingConfig": {"MaximumConcurrency": 5},
                    "ProvisionedPollerConfig": {"MinimumPollers": 2, "MaximumPollers": 20},
                    "LastProcessingResult": "OK",
                }))
            } else {
                not_found()
            }
        });
        let m = mapping(&c, "a1b2").await.unwrap().unwrap();
        assert_eq!(
            (m.batch_size, m.batching_window_seconds),
            (Some(10), Some(2))
        );
        assert_eq!(m.maximum_concurrency, Some(5));
        assert_eq!(m.pollers, Some((Some(2), Some(20))));
        assert!(!m.is_enabled());
        assert!(!m.reports_batch_item_failures(), "no response types: off");
        assert_eq!(fake.requests().len(), 1);
    }

    #[tokio::test]
    async fn mocked_a_mapping_without_its_state_is_malformed_not_a_default() {
        let (c, _) = lambda(|_| ok(json!({"UUID": "a1b2", "EventSourceArn": QUEUE_ARN})));
        let e = mapping(&c, "a1b2").await.unwrap_err();
        assert!(e.to_string().contains("without its UUID or state"), "{e}");
    }

    #[tokio::test]
    async fn mocked_the_queues_mapping_is_looked_for_on_every_page_and_absent_when_none_is_from_it()
    {
        let (c, fake) = lambda(|r| {
            assert!(
                r.uri.contains(&format!(
                    "/2015-03-31/event-source-mappings/?FunctionName={FN}"
                )),
                "{}",
                r.uri
            );
            if r.uri.contains("Marker=page%202") {
                ok(json!({"EventSourceMappings": [mapping_entry("a1b2", QUEUE_ARN)]}))
            } else {
                ok(json!({
                    "EventSourceMappings": [mapping_entry(
                        "other",
                        "arn:aws:sqs:eu-west-1:111122223333:another-queue",
                    )],
                    "NextMarker": "page 2",
                }))
            }
        });
        let m = queue_mapping(&c, FN, "qfleet-fn-jobs")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.uuid, "a1b2");
        assert!(m.is_enabled() && m.reports_batch_item_failures());
        assert_eq!(fake.requests().len(), 2);
        // No mapping from this queue on any page: absent.
        let none = queue_mapping(&c, FN, "qfleet-fn-dlq").await;
        assert_eq!(none.unwrap(), None);
    }

    #[tokio::test]
    async fn mocked_a_page_that_gives_back_its_own_marker_is_an_error_not_the_end() {
        let (c, _) = lambda(|_| ok(json!({"EventSourceMappings": [], "NextMarker": "same"})));
        let e = queue_mapping(&c, FN, "qfleet-fn-jobs").await.unwrap_err();
        assert!(e.to_string().contains("gave back the marker"), "{e}");
    }
}

/// A function's answer to a synchronous invocation (Invoke, RequestResponse,
/// <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>): the JSON it returned, or
/// the error it raised (Lambda answers 200 with `errorMessage` and `errorType` then, and says
/// so in `X-Amz-Function-Error`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Invoked {
    Raised {
        #[serde(rename = "errorMessage")]
        message: String,
        #[serde(rename = "errorType", default)]
        kind: Option<String>,
    },
    Returned(serde_json::Value),
}

/// Invokes the function `name` with `payload` and waits for its answer (`None`: Lambda says
/// there is no such function). An error the function raised is an error here.
pub async fn invoke(
    lambda: &RestJson,
    name: &str,
    payload: &serde_json::Value,
) -> Result<Option<serde_json::Value>> {
    let what = format!("invoking function {name}");
    let path = format!("/{VERSION}/functions/{}/invocations", encoded(name));
    let answer = lambda.call::<Invoked>(&what, "Invoke", path, payload).await;
    match absent_if_not_found(answer)? {
        None => Ok(None),
        Some(Invoked::Returned(v)) => Ok(Some(v)),
        Some(Invoked::Raised { message, kind }) => Err(AwsError::new(format!(
            "{what}: it failed: {}{message}",
            kind.map(|k| format!("{k}: ")).unwrap_or_default()
        ))),
    }
}
