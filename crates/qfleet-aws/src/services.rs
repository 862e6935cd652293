//! Fargate workers (`workers.kind: fargate`) as ECS describes them: the service's counts, its
//! deployments (the circuit breaker's rollout states), its capacity provider strategy and its
//! latest events. Read the same way by status and drift.

use super::Result;
use super::error::{AwsError, Kind};
use super::json_api::JsonApi;
use serde::{Deserialize, Serialize};

/// One deployment of the service (a task definition revision rolling out or done).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Deployment {
    /// PRIMARY (the newest), ACTIVE (being replaced) or INACTIVE.
    pub status: String,
    /// COMPLETED, FAILED or IN_PROGRESS (the circuit breaker's verdict).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub task_definition: Option<String>,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
}

/// One item of the service's capacity provider strategy.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Provider {
    pub name: String,
    pub base: i32,
    pub weight: i32,
}

/// The service (DescribeServices).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Service {
    pub name: String,
    pub cluster: String,
    /// ACTIVE, DRAINING (being deleted); an INACTIVE service is read as absent.
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub task_definition: Option<String>,
    pub deployments: Vec<Deployment>,
    pub capacity_provider_strategy: Vec<Provider>,
    /// `ENABLED` or `DISABLED` (`None`: the answer gave no network configuration).
    pub assign_public_ip: Option<String>,
    pub execute_command: bool,
    /// The latest events, newest first (at most five).
    pub events: Vec<String>,
    /// The value of the service's `qfleet:budget-hold` tag
    /// ([`crate::autoscaling::BUDGET_HOLD_TAG`]): the budget hold holds its scalable
    /// target's maximum. `None`: no hold.
    pub budget_hold: Option<String>,
}

impl Service {
    /// Whether a deployment is rolling out, or failed and was rolled back.
    pub fn rollout(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
}

/// DescribeServices' answer: the services found and a failure per one not found
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html>).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Described {
    services: Vec<Found>,
    failures: Vec<Failure>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Failure {
    reason: Option<String>,
    detail: Option<String>,
}

/// A service as DescribeServices gives it (the fields qfleet reads).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Found {
    service_name: Option<String>,
    status: Option<String>,
    desired_count: i32,
    running_count: i32,
    pending_count: i32,
    task_definition: Option<String>,
    deployments: Vec<FoundDeployment>,
    capacity_provider_strategy: Vec<FoundProvider>,
    network_configuration: Option<NetworkConfiguration>,
    enable_execute_command: bool,
    events: Vec<ServiceEvent>,
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Tag {
    key: String,
    value: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FoundDeployment {
    status: Option<String>,
    rollout_state: Option<String>,
    rollout_state_reason: Option<String>,
    task_definition: Option<String>,
    desired_count: i32,
    running_count: i32,
    pending_count: i32,
    failed_tasks: i32,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FoundProvider {
    capacity_provider: String,
    base: i32,
    weight: i32,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct NetworkConfiguration {
    awsvpc_configuration: Option<AwsVpcConfiguration>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AwsVpcConfiguration {
    assign_public_ip: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ServiceEvent {
    message: Option<String>,
}

/// The service `service` of cluster `cluster` (`None`: ECS says there is no such cluster, no
/// such service — DescribeServices' failure reason `MISSING` — or the service was deleted and
/// is `INACTIVE`). Anything else that keeps the answer from saying so is an error, never
/// absent.
pub async fn service(ecs: &JsonApi, cluster: &str, service: &str) -> Result<Option<Service>> {
    let what = format!("reading ECS service {service} of cluster {cluster}");
    // With its tags: the budget hold's is one.
    let input =
        serde_json::json!({ "cluster": cluster, "services": [service], "include": ["TAGS"] });
    let out: Described = match ecs.call(&what, "DescribeServices", &input).await {
        Ok(o) => o,
        Err(e) if e.code.as_deref() == Some("ClusterNotFoundException") => return Ok(None),
        Err(e) => return e.into_absent(),
    };
    if let Some(s) = out.services.into_iter().next() {
        let status = s.status.clone().unwrap_or_default();
        if status == "INACTIVE" {
            return Ok(None);
        }
        return Ok(Some(to_service(s, cluster, service, status)));
    }
    match out.failures.first() {
        Some(f) if f.reason.as_deref() == Some("MISSING") => Ok(None),
        Some(f) => Err(AwsError::new(format!(
            "{what}: {}{}",
            f.reason.as_deref().unwrap_or("a failure without a reason"),
            f.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ))),
        None => Err(AwsError::with_kind(
            format!("{what}: the answer names neither the service nor a failure"),
            Kind::Malformed,
        )),
    }
}

fn to_service(s: Found, cluster: &str, name: &str, status: String) -> Service {
    Service {
        name: s.service_name.unwrap_or_else(|| name.to_string()),
        cluster: cluster.to_string(),
        status,
        desired: s.desired_count,
        running: s.running_count,
        pending: s.pending_count,
        task_definition: s.task_definition,
        deployments: s
            .deployments
            .into_iter()
            .map(|d| Deployment {
                status: d.status.unwrap_or_default(),
                rollout_state: d.rollout_state,
                rollout_state_reason: d.rollout_state_reason,
                task_definition: d.task_definition,
                desired: d.desired_count,
                running: d.running_count,
                pending: d.pending_count,
                failed_tasks: d.failed_tasks,
            })
            .collect(),
        capacity_provider_strategy: s
            .capacity_provider_strategy
            .into_iter()
            .map(|p| Provider {
                name: p.capacity_provider,
                base: p.base,
                weight: p.weight,
            })
            .collect(),
        assign_public_ip: s
            .network_configuration
            .and_then(|n| n.awsvpc_configuration)
            .and_then(|a| a.assign_public_ip),
        execute_command: s.enable_execute_command,
        budget_hold: s
            .tags
            .iter()
            .find(|t| t.key == crate::autoscaling::BUDGET_HOLD_TAG)
            .map(|t| t.value.clone()),
        events: s
            .events
            .into_iter()
            .take(5)
            .filter_map(|e| e.message)
            .collect(),
    }
}

/// Against SDK-level mocks that answer as AWS documents (ECS API reference, DescribeServices:
/// a missing service is a `failures` entry with reason `MISSING`, a missing cluster
/// `ClusterNotFoundException`; a deleted service stays `INACTIVE` for a while). moto keeps
/// ECS services as records only and LocalStack's community edition has no ECS; test names
/// say `mocked`.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_api::ECS;
    use crate::signed::fake::{Fake, json_error};
    use serde_json::json;

    fn ecs(fake: &Fake) -> JsonApi {
        JsonApi::with_http_client(ECS, fake.client())
    }

    /// DescribeServices answering `doc` for the cluster and service asked about, and a
    /// failure `MISSING` for any other.
    fn answer(doc: serde_json::Value) -> Fake {
        Fake::new(move |r| {
            let asked = r.json();
            if r.target() == Some("DescribeServices")
                && asked["cluster"] == "qfleet-f"
                && asked["services"] == json!(["qfleet-f-workers"])
            {
                (200, doc.to_string())
            } else {
                (
                    200,
                    json!({"services": [], "failures": [{"reason": "MISSING"}]}).to_string(),
                )
            }
        })
    }

    #[tokio::test]
    async fn mocked_a_service_is_read_with_its_counts_rollout_strategy_and_events() {
        let fake = answer(json!({"services": [{
            "serviceName": "qfleet-f-workers",
            "status": "ACTIVE",
            "desiredCount": 3, "runningCount": 2, "pendingCount": 1,
            "deployments": [{
                "id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": "FAILED",
                "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
                "failedTasks": 3, "createdAt": 1.7e9
            }],
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 1, "weight": 3}],
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}},
            "enableExecuteCommand": false,
            "events": [{"id": "e1", "createdAt": 1.7e9, "message": "(service qfleet-f-workers) has reached a steady state."}]
        }], "failures": []}));
        let got = service(&ecs(&fake), "qfleet-f", "qfleet-f-workers")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.desired, got.running, got.pending), (3, 2, 1));
        let r = got.rollout().unwrap();
        assert_eq!(r.rollout_state.as_deref(), Some("FAILED"));
        assert_eq!(r.failed_tasks, 3);
        assert_eq!(
            got.capacity_provider_strategy,
            [Provider {
                name: "FARGATE".into(),
                base: 1,
                weight: 3
            }]
        );
        assert_eq!(got.assign_public_ip.as_deref(), Some("DISABLED"));
        assert_eq!(got.events.len(), 1);
        let seen = &fake.requests()[0];
        assert_eq!(
            seen.headers["x-amz-target"],
            "AmazonEC2ContainerServiceV20141113.DescribeServices"
        );
        assert_eq!(seen.headers["content-type"], "application/x-amz-json-1.1");
        assert!(
            seen.headers["authorization"].contains("/eu-west-1/ecs/aws4_request"),
            "{:?}",
            seen.headers
        );
        assert_eq!(seen.uri, "https://ecs.eu-west-1.amazonaws.com/");
    }

    #[tokio::test]
    async fn mocked_a_missing_service_a_deleted_one_and_a_missing_cluster_are_absent() {
        let missing = answer(json!({"services": [], "failures": [{
            "arn": "arn:aws:ecs:eu-west-1:111122223333:service/qfleet-f/qfleet-f-workers",
            "reason": "MISSING"
        }]}));
        assert_eq!(
            service(&ecs(&missing), "qfleet-f", "qfleet-f-workers")
                .await
                .unwrap(),
            None
        );
        let inactive = answer(
            json!({"services": [{"serviceName": "qfleet-f-workers", "status": "INACTIVE"}]}),
        );
        assert_eq!(
            service(&ecs(&inactive), "qfleet-f", "qfleet-f-workers")
                .await
                .unwrap(),
            None
        );
        let no_cluster = Fake::new(|_| {
            (
                400,
                json_error("ClusterNotFoundException", "Cluster not found."),
            )
        });
        assert_eq!(
            service(&ecs(&no_cluster), "qfleet-f", "qfleet-f-workers")
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn mocked_another_failure_or_an_empty_answer_is_an_error_never_absent() {
        let denied = answer(json!({"services": [], "failures": [{"reason": "ACCESS_DENIED"}]}));
        let e = service(&ecs(&denied), "qfleet-f", "qfleet-f-workers")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ACCESS_DENIED"), "{e}");
        let empty = answer(json!({}));
        let e = service(&ecs(&empty), "qfleet-f", "qfleet-f-workers")
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Malformed);
        let throttled = Fake::new(|_| (400, json_error("ThrottlingException", "Rate exceeded")));
        let e = service(&ecs(&throttled), "qfleet-f", "qfleet-f-workers")
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Throttled, "{e}");
        assert_eq!(throttled.requests().len(), 3, "retried within the budget");
    }
}
