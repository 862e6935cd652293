//! AWS JSON 1.1 (and 1.0) calls as [`super::signed`] calls, for the services whose generated
//! crate is large for the calls qfleet makes: ECS (DescribeServices), CloudWatch Logs
//! (FilterLogEvents, DescribeLogGroups, DescribeLogStreams), DynamoDB (the job table's reads)
//! and ECR (the worker images: [`super::registry`]).
//!
//! The protocol, as AWS documents it
//! (<https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonParameters.html>,
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html>):
//! a POST to `/` of the input as a JSON object, `Content-Type: application/x-amz-json-1.1`,
//! `X-Amz-Target: <service target>.<Operation>`; the output is a JSON object; an error is a
//! JSON object whose `__type` (or the `X-Amzn-ErrorType` header) names it, possibly qualified by
//! a namespace (`…#Code`) or followed by `:…`, and whose `message` (or `Message`) says why.

use super::error::AwsError;
use super::signed::{ApiError, Request, Service, Signed, body_text};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_types::error::ErrorMetadata;
use serde::de::DeserializeOwned;
use std::fmt;

/// A service that speaks AWS JSON: its names, its target prefix and its protocol's version
/// (`1.1`; DynamoDB's is `1.0`, the same but for the content type:
/// <https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html>).
#[derive(Debug, Clone, Copy)]
pub(super) struct Api {
    service: Service,
    target: &'static str,
    content_type: &'static str,
}

const JSON_1_1: &str = "application/x-amz-json-1.1";

pub(super) const ECS: Api = Api {
    service: Service {
        id: "ECS",
        name: "ecs",
    },
    target: "AmazonEC2ContainerServiceV20141113",
    content_type: JSON_1_1,
};

pub(super) const LOGS: Api = Api {
    service: Service {
        id: "CloudWatch Logs",
        name: "logs",
    },
    target: "Logs_20140328",
    content_type: JSON_1_1,
};

/// DynamoDB (the job table: the root's `jobs::table`), AWS JSON 1.0
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html>).
pub(super) const DYNAMODB: Api = Api {
    service: Service {
        id: "DynamoDB",
        name: "dynamodb",
    },
    target: "DynamoDB_20120810",
    content_type: "application/x-amz-json-1.0",
};

/// Amazon ECR (the worker images' repositories: `super::registry`), AWS JSON 1.1
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/CommonParameters.html>).
pub(super) const ECR: Api = Api {
    service: Service {
        id: "ECR",
        name: "ecr",
    },
    target: "AmazonEC2ContainerRegistry_V20150921",
    content_type: JSON_1_1,
};

/// Service Quotas (the account's EC2 vCPU quotas: `super::quotas`), AWS JSON 1.1
/// (<https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/Welcome.html>).
pub(super) const SERVICE_QUOTAS: Api = Api {
    service: Service {
        id: "Service Quotas",
        name: "servicequotas",
    },
    target: "ServiceQuotasV20190624",
    content_type: JSON_1_1,
};

/// AWS Budgets (a budget's spend: `super::budgets`), AWS JSON 1.1
/// (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudget.html>),
/// one global endpoint per partition ([`JsonApi::global`]).
pub(super) const BUDGETS: Api = Api {
    service: Service {
        id: "Budgets",
        name: "budgets",
    },
    target: "AWSBudgetServiceGateway",
    content_type: JSON_1_1,
};

/// Amazon Q Developer in chat applications (formerly AWS Chatbot): REST-JSON, each operation
/// a POST to its own path with a JSON body (DescribeSlackWorkspaces: `POST
/// /describe-slack-workspaces`, https://docs.aws.amazon.com/chatbot/latest/APIReference/API_DescribeSlackWorkspaces.html),
/// its errors read as AWS JSON's are (`X-Amzn-ErrorType`, `message`).
pub(super) const CHATBOT: Service = Service {
    id: "chatbot",
    name: "chatbot",
};

/// Lambda, REST-JSON: the worker function's three reads (`super::functions`), as GETs
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html>).
pub(super) const LAMBDA: Service = Service {
    id: "Lambda",
    name: "lambda",
};

/// A client of a REST-JSON service in one region ([`CHATBOT`], [`LAMBDA`]).
#[derive(Clone, Debug)]
pub struct RestJson {
    /// Shared: a client is cloned into many futures, and a signed client is large.
    pub(super) signed: std::sync::Arc<Signed>,
}

impl RestJson {
    pub(super) fn from_config(service: Service, region: &str, conf: &SdkConfig) -> RestJson {
        RestJson {
            signed: std::sync::Arc::new(Signed::from_config(service, region, conf)),
        }
    }

    /// A client whose requests `http_client` answers (tests).
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn with_http_client(
        service: Service,
        http_client: aws_smithy_runtime_api::client::http::SharedHttpClient,
    ) -> RestJson {
        RestJson {
            signed: std::sync::Arc::new(Signed::with_http_client(
                service,
                "us-east-2",
                http_client,
            )),
        }
    }

    /// Reads `path` (with its query, each value percent-encoded by the caller) as `operation`:
    /// a GET without a body; an error begins with `what`.
    pub(super) async fn get<O>(
        &self,
        what: &str,
        operation: &'static str,
        path: String,
    ) -> Result<O, AwsError>
    where
        O: DeserializeOwned + fmt::Debug + Send + Sync + 'static,
    {
        let request = Request {
            method: "GET",
            path: path.into(),
            body: String::new(),
            headers: Vec::new(),
        };
        self.send(what, operation, request).await
    }

    /// Sends `request` as `operation`, its answer read as AWS JSON.
    async fn send<O>(
        &self,
        what: &str,
        operation: &'static str,
        request: Request,
    ) -> Result<O, AwsError>
    where
        O: DeserializeOwned + fmt::Debug + Send + Sync + 'static,
    {
        self.signed
            .invoke(what, operation, request, read::<O>)
            .await
    }

    /// Calls `operation` at `path` with `input`; an error begins with `what`.
    pub(super) async fn call<O>(
        &self,
        what: &str,
        operation: &'static str,
        path: impl Into<std::borrow::Cow<'static, str>>,
        input: &serde_json::Value,
    ) -> Result<O, AwsError>
    where
        O: DeserializeOwned + fmt::Debug + Send + Sync + 'static,
    {
        let request = Request {
            method: "POST",
            path: path.into(),
            body: input.to_string(),
            headers: vec![("content-type", "application/json".into())],
        };
        self.send(what, operation, request).await
    }
}

/// A client of one such service in one region.
#[derive(Clone, Debug)]
pub struct JsonApi {
    /// Shared: a client is cloned into many futures, and a signed client is large.
    pub(super) signed: std::sync::Arc<Signed>,
    target: &'static str,
    content_type: &'static str,
}

impl JsonApi {
    pub(super) fn from_config(api: Api, region: &str, conf: &SdkConfig) -> JsonApi {
        JsonApi {
            signed: std::sync::Arc::new(Signed::from_config(api.service, region, conf)),
            target: api.target,
            content_type: api.content_type,
        }
    }

    /// A client of a service with one global endpoint per partition, signed in that
    /// endpoint's Region (an endpoint the configuration gives still wins): AWS Budgets'
    /// `budgets.amazonaws.com` (us-east-1) and `budgets.amazonaws.com.cn` (cn-northwest-1)
    /// ("AWS Billing and Cost Management endpoints and quotas",
    /// <https://docs.aws.amazon.com/general/latest/gr/billing.html>). `None` in a partition
    /// with no endpoint qfleet knows.
    /// FIPS: none qfleet knows (`None`); dual-stack: `budgets.us-east-1.api.aws`.
    pub(super) fn global(api: Api, region: &str, conf: &SdkConfig) -> Option<JsonApi> {
        if conf.use_fips().unwrap_or(false) {
            return None;
        }
        let (home, url) = if region.starts_with("cn-") {
            ("cn-northwest-1", "https://budgets.amazonaws.com.cn")
        } else if !crate::signed::is_commercial(region) {
            return None;
        } else if conf.use_dual_stack().unwrap_or(false) {
            ("us-east-1", "https://budgets.us-east-1.api.aws")
        } else {
            ("us-east-1", "https://budgets.amazonaws.com")
        };
        Some(JsonApi {
            signed: std::sync::Arc::new(Signed::from_config_at(api.service, home, url, conf)),
            target: api.target,
            content_type: api.content_type,
        })
    }

    /// A client whose requests `http_client` answers (tests).
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn with_http_client(
        api: Api,
        http_client: aws_smithy_runtime_api::client::http::SharedHttpClient,
    ) -> JsonApi {
        JsonApi {
            signed: std::sync::Arc::new(Signed::with_http_client(
                api.service,
                "eu-west-1",
                http_client,
            )),
            target: api.target,
            content_type: api.content_type,
        }
    }

    /// The bytes `first..=last` of a presigned URL this service gave (see
    /// [`Signed::get_range`]).
    pub(super) async fn get_range(
        &self,
        what: &str,
        url: &str,
        first: u64,
        last: u64,
    ) -> Result<Vec<u8>, AwsError> {
        self.signed.get_range(what, url, first, last).await
    }

    /// Calls `operation` with `input`; an error begins with `what`. Signed, retried and
    /// logged as every call of this crate. The door for a feature whose requests are its own
    /// meaning: the job table's conditional writes and reads (the root's `jobs::table`), whose
    /// conditions are the job protocol's, not AWS access's.
    pub async fn call<O>(
        &self,
        what: &str,
        operation: &'static str,
        input: &serde_json::Value,
    ) -> Result<O, AwsError>
    where
        O: DeserializeOwned + fmt::Debug + Send + Sync + 'static,
    {
        let request = Request {
            method: "POST",
            path: "/".into(),
            body: input.to_string(),
            headers: vec![
                ("content-type", self.content_type.into()),
                ("x-amz-target", format!("{}.{operation}", self.target)),
            ],
        };
        self.signed
            .invoke(what, operation, request, read::<O>)
            .await
    }
}

/// A success is the output document; any other status an error document.
fn read<O: DeserializeOwned>(resp: &HttpResponse) -> Result<O, OrchestratorError<ApiError>> {
    let text = body_text(resp)?;
    if resp.status().is_success() {
        // Every output is a JSON object, `{}` at least: an empty body is not read as an empty
        // output (no log group, no events), it is an answer that did not arrive.
        serde_json::from_str(text).map_err(|e| OrchestratorError::response(Box::new(e)))
    } else {
        Err(OrchestratorError::operation(ApiError(error(
            text,
            resp.headers().get("x-amzn-errortype"),
        ))))
    }
}

/// The error's code and message; an answer that is not an error document reads as an error
/// without a code (a 5xx is retried on its status alone).
fn error(text: &str, header: Option<&str>) -> ErrorMetadata {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let code = header
        .or_else(|| doc["__type"].as_str())
        .or_else(|| doc["code"].as_str())
        .map(|c| {
            let c = c.split(':').next().unwrap_or(c);
            c.rsplit('#').next().unwrap_or(c).trim().to_string()
        })
        .filter(|c| !c.is_empty());
    let message = doc["message"]
        .as_str()
        .or_else(|| doc["Message"].as_str())
        .map(str::to_string);
    let mut b = ErrorMetadata::builder();
    if let Some(c) = code {
        b = b.code(c);
    }
    if let Some(m) = message {
        b = b.message(m);
    }
    b.build()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod global_tests {
    use super::*;

    /// AWS Budgets' endpoint and signing Region in each partition ("AWS Billing and Cost
    /// Management endpoints and quotas", https://docs.aws.amazon.com/general/latest/gr/billing.html).
    #[test]
    fn budgets_is_reached_at_its_partition_s_global_endpoint() {
        let conf = SdkConfig::builder().build();
        let at = |region: &str| {
            JsonApi::global(BUDGETS, region, &conf)
                .map(|a| (a.signed.endpoint.clone(), a.signed.region().to_string()))
        };
        let aws = Some((
            "https://budgets.amazonaws.com".to_string(),
            "us-east-1".to_string(),
        ));
        assert_eq!(at("eu-west-1"), aws);
        assert_eq!(at("ap-southeast-2"), aws);
        assert_eq!(
            at("cn-north-1"),
            Some((
                "https://budgets.amazonaws.com.cn".to_string(),
                "cn-northwest-1".to_string()
            ))
        );
        for elsewhere in [
            "us-gov-west-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
        ] {
            assert_eq!(at(elsewhere), None, "{elsewhere}");
        }
        let fips = SdkConfig::builder().use_fips(true).build();
        assert!(JsonApi::global(BUDGETS, "us-east-1", &fips).is_none());
        let dual = SdkConfig::builder().use_dual_stack(true).build();
        assert_eq!(
            JsonApi::global(BUDGETS, "eu-west-1", &dual).map(|a| a.signed.endpoint.clone()),
            Some("https://budgets.us-east-1.api.aws".to_string())
        );
        // An endpoint the configuration names still wins, signed in the partition's Region.
        let local = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:5000")
            .build();
        let api = JsonApi::global(BUDGETS, "eu-west-1", &local).unwrap();
        assert_eq!(api.signed.endpoint, "http://127.0.0.1:5000");
        assert_eq!(api.signed.region(), "us-east-1");
    }
}
