//! The worker function (`workers.kind: lambda`) as Lambda describes it: its configuration and
//! reserved concurrency, and the event source mapping that feeds it from the queue. Read the
//! same way by status and drift.

use super::Result;
use super::error::{AwsError, Kind};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::types::FunctionResponseType;
use serde::Serialize;

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
            .any(|t| t == FunctionResponseType::ReportBatchItemFailures.as_str())
    }

    #[cfg(test)]
    fn is_enabled(&self) -> bool {
        self.state == "Enabled"
    }
}

/// A [`Mapping`] from GetEventSourceMapping's answer or one ListEventSourceMappings entry (two
/// SDK types with the same accessors).
macro_rules! to_mapping {
    ($what:expr, $m:expr) => {{
        let m = $m;
        match (m.uuid(), m.state()) {
            (Some(uuid), Some(state)) => Ok(Mapping {
                uuid: uuid.to_string(),
                event_source_arn: m.event_source_arn().map(str::to_string),
                function_arn: m.function_arn().map(str::to_string),
                state: state.to_string(),
                state_transition_reason: m.state_transition_reason().map(str::to_string),
                batch_size: m.batch_size(),
                batching_window_seconds: m.maximum_batching_window_in_seconds(),
                function_response_types: m
                    .function_response_types()
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect(),
                maximum_concurrency: m.scaling_config().and_then(|s| s.maximum_concurrency()),
                pollers: m
                    .provisioned_poller_config()
                    .map(|p| (p.minimum_pollers(), p.maximum_pollers())),
                last_processing_result: m.last_processing_result().map(str::to_string),
            }),
            _ => Err(AwsError::with_kind(
                format!("{}: a mapping without its UUID or state", $what),
                Kind::Malformed,
            )),
        }
    }};
}

/// The function named `name` (`None`: Lambda says there is no such function).
pub async fn function(lambda: &Client, name: &str) -> Result<Option<Function>> {
    let what = format!("reading function {name}");
    let out = match lambda.get_function().function_name(name).send().await {
        Ok(o) => o,
        Err(e) => {
            return AwsError::from_sdk_or_missing(&what, e, |e| {
                e.is_resource_not_found_exception()
            })
            .into_absent();
        }
    };
    let malformed = |lacks: &str| -> AwsError {
        AwsError::with_kind(format!("{what}: the answer lacks {lacks}"), Kind::Malformed)
    };
    let c = out
        .configuration()
        .ok_or_else(|| malformed("the configuration"))?;
    let memory_mb = c.memory_size().ok_or_else(|| malformed("MemorySize"))?;
    let timeout_seconds = c.timeout().ok_or_else(|| malformed("Timeout"))?;
    Ok(Some(Function {
        name: c.function_name().unwrap_or(name).to_string(),
        arn: c.function_arn().map(str::to_string),
        state: c.state().map(|s| s.as_str().to_string()),
        state_reason: c.state_reason().map(str::to_string),
        last_update_status: c.last_update_status().map(|s| s.as_str().to_string()),
        last_update_status_reason: c.last_update_status_reason().map(str::to_string),
        runtime: c.runtime().map(|r| r.as_str().to_string()),
        image: out
            .code()
            .and_then(|code| code.resolved_image_uri().or(code.image_uri()))
            .map(str::to_string),
        image_uri: out
            .code()
            .and_then(|code| code.image_uri())
            .map(str::to_string),
        memory_mb,
        timeout_seconds,
        reserved_concurrency: out
            .concurrency()
            .and_then(|x| x.reserved_concurrent_executions()),
    }))
}

/// The mapping with this UUID (`None`: Lambda says there is no such mapping).
pub async fn mapping(lambda: &Client, uuid: &str) -> Result<Option<Mapping>> {
    let what = format!("reading event source mapping {uuid}");
    match lambda.get_event_source_mapping().uuid(uuid).send().await {
        Ok(o) => to_mapping!(&what, o).map(Some),
        Err(e) => AwsError::from_sdk_or_missing(&what, e, |e| e.is_resource_not_found_exception())
            .into_absent(),
    }
}

/// The mapping from the queue named `queue` to the function (all pages of
/// ListEventSourceMappings for the function; `None`: no mapping from that queue, or Lambda says
/// there is no such function). Lambda refuses a second mapping of the same queue and function,
/// so the first one found is the one.
pub async fn queue_mapping(
    lambda: &Client,
    function: &str,
    queue: &str,
) -> Result<Option<Mapping>> {
    let what = format!("listing the event source mappings of function {function}");
    let mut pages = lambda
        .list_event_source_mappings()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                return AwsError::from_sdk_or_missing(&what, e, |e| {
                    e.is_resource_not_found_exception()
                })
                .into_absent();
            }
        };
        for m in page.event_source_mappings() {
            let from_queue = m
                .event_source_arn()
                .is_some_and(|arn| arn.rsplit(':').next() == Some(queue));
            if from_queue {
                return to_mapping!(&what, m).map(Some);
            }
        }
    }
    Ok(None)
}

/// Against SDK-level mocks that answer as AWS documents (Lambda API reference: GetFunction,
/// GetEventSourceMapping, ListEventSourceMappings and their errors). Test names say `mocked`.
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
    use aws_sdk_lambda::operation::get_event_source_mapping::{
        GetEventSourceMappingError, GetEventSourceMappingOutput,
    };
    use aws_sdk_lambda::operation::get_function::{GetFunctionError, GetFunctionOutput};
    use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
    use aws_sdk_lambda::types::{
        Concurrency, EventSourceMappingConfiguration, FunctionConfiguration, LastUpdateStatus,
        Runtime, ScalingConfig, State, error::ResourceNotFoundException,
    };
    use aws_smithy_mocks::{Rule, mock};
    use aws_smithy_types::error::ErrorMetadata;

    const FN: &str = "qfleet-fn-worker";
    const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:111122223333:qfleet-fn-jobs";

    fn lambda(rules: &[&Rule]) -> Client {
        Rules {
            lambda: rules.to_vec(),
            ..Default::default()
        }
        .clients()
        .lambda
    }

    fn not_found() -> ResourceNotFoundException {
        ResourceNotFoundException::builder()
            .r#type("User")
            .message(format!(
                "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:{FN}"
            ))
            .build()
    }

    fn mapping_entry(uuid: &str, queue_arn: &str) -> EventSourceMappingConfiguration {
        EventSourceMappingConfiguration::builder()
            .uuid(uuid)
            .event_source_arn(queue_arn)
            .state("Enabled")
            .batch_size(10)
            .maximum_batching_window_in_seconds(2)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .scaling_config(ScalingConfig::builder().maximum_concurrency(5).build())
            .build()
    }

    #[tokio::test]
    async fn mocked_a_function_is_read_with_its_state_settings_and_reserved_concurrency() {
        let get = mock!(Client::get_function)
            .match_requests(|r| r.function_name() == Some(FN))
            .then_output(|| {
                GetFunctionOutput::builder()
                    .configuration(
                        FunctionConfiguration::builder()
                            .function_name(FN)
                            .runtime(Runtime::Python312)
                            .memory_size(256)
                            .timeout(20)
                            .state(State::Active)
                            .last_update_status(LastUpdateStatus::Failed)
                            .last_update_status_reason("The role is not authorized")
                            .build(),
                    )
                    .concurrency(
                        Concurrency::builder()
                            .reserved_concurrent_executions(3)
                            .build(),
                    )
                    .build()
            });
        let f = function(&lambda(&[&get]), FN).await.unwrap().unwrap();
        assert_eq!((f.memory_mb, f.timeout_seconds), (256, 20));
        assert_eq!(f.reserved_concurrency, Some(3));
        assert_eq!(f.state.as_deref(), Some("Active"));
        assert_eq!(f.last_update_status.as_deref(), Some("Failed"));
        assert_eq!(f.runtime.as_deref(), Some("python3.12"));
    }

    #[tokio::test]
    async fn mocked_a_function_without_concurrency_has_nothing_reserved_as_aws_documents() {
        // GetFunction leaves out Concurrency when no concurrency is reserved.
        let get = mock!(Client::get_function).then_output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name(FN)
                        .memory_size(128)
                        .timeout(3)
                        .build(),
                )
                .build()
        });
        let f = function(&lambda(&[&get]), FN).await.unwrap().unwrap();
        assert_eq!(f.reserved_concurrency, None);
    }

    #[tokio::test]
    async fn mocked_resource_not_found_makes_the_function_and_mapping_absent_as_aws_documents() {
        let get = mock!(Client::get_function)
            .then_error(|| GetFunctionError::ResourceNotFoundException(not_found()));
        let esm = mock!(Client::get_event_source_mapping).then_error(|| {
            GetEventSourceMappingError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .r#type("User")
                    .message("The resource you requested does not exist.")
                    .build(),
            )
        });
        let c = lambda(&[&get, &esm]);
        assert_eq!(function(&c, FN).await.unwrap(), None);
        assert_eq!(mapping(&c, "a1b2").await.unwrap(), None);
    }

    #[tokio::test]
    async fn mocked_access_denied_is_an_error_that_says_what_could_not_be_read_never_absent() {
        let get = mock!(Client::get_function).then_error(|| {
            GetFunctionError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("User: arn:aws:sts::111122223333:assumed-role/ci is not authorized to perform: lambda:GetFunction")
                    .build(),
            )
        });
        let list = mock!(Client::list_event_source_mappings).then_error(|| {
            aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsError::generic(
                ErrorMetadata::builder().code("AccessDeniedException").message("denied").build(),
            )
        });
        let c = lambda(&[&get, &list]);
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
    }

    #[tokio::test]
    async fn mocked_a_function_answer_without_its_memory_is_malformed_not_a_default() {
        let get = mock!(Client::get_function).then_output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name(FN)
                        .timeout(3)
                        .build(),
                )
                .build()
        });
        let e = function(&lambda(&[&get]), FN).await.unwrap_err();
        assert!(e.to_string().contains("lacks MemorySize"), "{e}");
    }

    #[tokio::test]
    async fn mocked_a_mapping_is_read_by_its_uuid() {
        let esm = mock!(Client::get_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("a1b2"))
            .then_output(|| {
                GetEventSourceMappingOutput::builder()
                    .uuid("a1b2")
                    .event_source_arn(QUEUE_ARN)
                    .state("Disabled")
                    .state_transition_reason("USER_INITIATED")
                    .batch_size(10)
                    .maximum_batching_window_in_seconds(2)
                    .scaling_config(ScalingConfig::builder().maximum_concurrency(5).build())
                    .last_processing_result("OK")
                    .build()
            });
        let m = mapping(&lambda(&[&esm]), "a1b2").await.unwrap().unwrap();
        assert_eq!(
            (m.batch_size, m.batching_window_seconds),
            (Some(10), Some(2))
        );
        assert_eq!(m.maximum_concurrency, Some(5));
        assert!(!m.is_enabled());
        assert!(!m.reports_batch_item_failures(), "no response types: off");
    }

    #[tokio::test]
    async fn mocked_the_queues_mapping_is_looked_for_on_every_page_and_absent_when_none_is_from_it()
    {
        let list = mock!(Client::list_event_source_mappings)
            .match_requests(|r| r.function_name() == Some(FN))
            .then_compute_output(|r| {
                let out = ListEventSourceMappingsOutput::builder();
                match r.marker() {
                    None => out
                        .event_source_mappings(mapping_entry(
                            "other",
                            "arn:aws:sqs:eu-west-1:111122223333:another-queue",
                        ))
                        .next_marker("page-2")
                        .build(),
                    Some(_) => out
                        .event_source_mappings(mapping_entry("a1b2", QUEUE_ARN))
                        .build(),
                }
            });
        let m = queue_mapping(&lambda(&[&list]), FN, "qfleet-fn-jobs")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.uuid, "a1b2");
        assert!(m.is_enabled() && m.reports_batch_item_failures());
        assert_eq!(list.num_calls(), 2);
        // No mapping from this queue on any page: absent.
        let none = queue_mapping(&lambda(&[&list]), FN, "qfleet-fn-dlq").await;
        assert_eq!(none.unwrap(), None);
    }
}
