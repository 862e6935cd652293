//! Fargate workers (`workers.kind: fargate`) as ECS describes them: the service's counts, its
//! deployments (the circuit breaker's rollout states), its capacity provider strategy and its
//! latest events. Read the same way by status and drift.

use super::Result;
use super::error::{AwsError, Kind};
use aws_sdk_ecs::Client;
use serde::Serialize;

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
}

impl Service {
    /// Whether a deployment is rolling out, or failed and was rolled back.
    pub fn rollout(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
}

/// The service `service` of cluster `cluster` (`None`: ECS says there is no such cluster, no
/// such service — DescribeServices' failure reason `MISSING` — or the service was deleted and
/// is `INACTIVE`). Anything else that keeps the answer from saying so is an error, never
/// absent.
pub async fn service(ecs: &Client, cluster: &str, service: &str) -> Result<Option<Service>> {
    let what = format!("reading ECS service {service} of cluster {cluster}");
    let out = match ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            return AwsError::from_sdk_or_missing(&what, e, |e| e.is_cluster_not_found_exception())
                .into_absent();
        }
    };
    if let Some(s) = out.services().first() {
        let status = s.status().unwrap_or_default().to_string();
        if status == "INACTIVE" {
            return Ok(None);
        }
        return Ok(Some(to_service(s, cluster, service, status)));
    }
    match out.failures().first() {
        Some(f) if f.reason() == Some("MISSING") => Ok(None),
        Some(f) => Err(AwsError::new(format!(
            "{what}: {}{}",
            f.reason().unwrap_or("a failure without a reason"),
            f.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        ))),
        None => Err(AwsError::with_kind(
            format!("{what}: the answer names neither the service nor a failure"),
            Kind::Malformed,
        )),
    }
}

fn to_service(
    s: &aws_sdk_ecs::types::Service,
    cluster: &str,
    name: &str,
    status: String,
) -> Service {
    Service {
        name: s.service_name().unwrap_or(name).to_string(),
        cluster: cluster.to_string(),
        status,
        desired: s.desired_count(),
        running: s.running_count(),
        pending: s.pending_count(),
        task_definition: s.task_definition().map(str::to_string),
        deployments: s
            .deployments()
            .iter()
            .map(|d| Deployment {
                status: d.status().unwrap_or_default().to_string(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                task_definition: d.task_definition().map(str::to_string),
                desired: d.desired_count(),
                running: d.running_count(),
                pending: d.pending_count(),
                failed_tasks: d.failed_tasks(),
            })
            .collect(),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|p| Provider {
                name: p.capacity_provider().to_string(),
                base: p.base(),
                weight: p.weight(),
            })
            .collect(),
        assign_public_ip: s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .and_then(|a| a.assign_public_ip())
            .map(|a| a.as_str().to_string()),
        execute_command: s.enable_execute_command(),
        events: s
            .events()
            .iter()
            .take(5)
            .filter_map(|e| e.message().map(str::to_string))
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
    use crate::aws::mock::Rules;
    use aws_sdk_ecs::operation::describe_services::{
        DescribeServicesError, DescribeServicesOutput,
    };
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, Deployment as D,
        DeploymentRolloutState, Failure, NetworkConfiguration, Service as S, ServiceEvent,
        error::ClusterNotFoundException,
    };
    use aws_smithy_mocks::{Rule, mock};

    fn ecs(rules: &[&Rule]) -> Client {
        Rules {
            ecs: rules.to_vec(),
            ..Default::default()
        }
        .clients()
        .ecs
    }

    fn answer(s: S) -> Rule {
        mock!(Client::describe_services)
            .match_requests(|r| {
                r.cluster() == Some("qfleet-f") && r.services() == ["qfleet-f-workers"]
            })
            .then_output(move || {
                DescribeServicesOutput::builder()
                    .services(s.clone())
                    .build()
            })
    }

    #[tokio::test]
    async fn mocked_a_service_is_read_with_its_counts_rollout_strategy_and_events() {
        let s = S::builder()
            .service_name("qfleet-f-workers")
            .status("ACTIVE")
            .desired_count(3)
            .running_count(2)
            .pending_count(1)
            .deployments(
                D::builder()
                    .status("PRIMARY")
                    .rollout_state(DeploymentRolloutState::Failed)
                    .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
                    .failed_tasks(3)
                    .build(),
            )
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE")
                    .base(1)
                    .weight(3)
                    .build()
                    .unwrap(),
            )
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("subnet-1")
                            .assign_public_ip(AssignPublicIp::Disabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .events(
                ServiceEvent::builder()
                    .message("(service qfleet-f-workers) has reached a steady state.")
                    .build(),
            )
            .build();
        let got = service(&ecs(&[&answer(s)]), "qfleet-f", "qfleet-f-workers")
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
    }

    #[tokio::test]
    async fn mocked_a_missing_service_a_deleted_one_and_a_missing_cluster_are_absent() {
        let missing = mock!(Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .failures(
                    Failure::builder()
                        .arn("arn:aws:ecs:eu-west-1:111122223333:service/qfleet-f/qfleet-f-workers")
                        .reason("MISSING")
                        .build(),
                )
                .build()
        });
        assert_eq!(
            service(&ecs(&[&missing]), "qfleet-f", "qfleet-f-workers")
                .await
                .unwrap(),
            None
        );
        let inactive = answer(
            S::builder()
                .service_name("qfleet-f-workers")
                .status("INACTIVE")
                .build(),
        );
        assert_eq!(
            service(&ecs(&[&inactive]), "qfleet-f", "qfleet-f-workers")
                .await
                .unwrap(),
            None
        );
        let no_cluster = mock!(Client::describe_services).then_error(|| {
            DescribeServicesError::ClusterNotFoundException(
                ClusterNotFoundException::builder()
                    .message("Cluster not found.")
                    .build(),
            )
        });
        assert_eq!(
            service(&ecs(&[&no_cluster]), "qfleet-f", "qfleet-f-workers")
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn mocked_another_failure_or_an_empty_answer_is_an_error_never_absent() {
        let denied = mock!(Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .failures(Failure::builder().reason("ACCESS_DENIED").build())
                .build()
        });
        let e = service(&ecs(&[&denied]), "qfleet-f", "qfleet-f-workers")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ACCESS_DENIED"), "{e}");
        let empty = mock!(Client::describe_services)
            .then_output(|| DescribeServicesOutput::builder().build());
        let e = service(&ecs(&[&empty]), "qfleet-f", "qfleet-f-workers")
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Malformed);
    }
}
