//! Least privilege proven for every resource the templates name (issue 72, item 5), offline:
//! no emulator models IAM's decisions, so each is made with the IAM policy evaluator (iam-rs)
//! on the policy `qfleet iam-policy` prints and on the resource policies the templates hold.
//!
//! For one deployment (its stacks' templates with CloudFormation's functions applied, see
//! `pairs`), this module works out each resource's ARN on its own, from AWS's rules rather than
//! qfleet's code:
//! - the name the template gives it, or the one CloudFormation generates: the stack's name,
//!   the logical id and a random part ("If you don't specify a name, AWS CloudFormation
//!   generates a unique physical ID", Name type,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html>),
//!   cut to the type's limit. AWS documents no rule for the cut, so every model of it is
//!   tried: the stack's name cut with the logical id whole (as in AWS's own example
//!   `StackSet-stack-set-drift-example-b7fde68e-e541-44c2-b33d-ef2-Queue-6FNDEY4AUEPV`,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-drift.html>),
//!   or the logical id cut with the stack's name whole, with a random part of 12 or 13;
//! - the ARN format of its resource type in the Service Authorization Reference (each
//!   service's page, cited below);
//!
//! and then checks:
//! 1. every action CloudFormation's handlers of the resource's type call (the registry
//!    schemas' `handlers` permissions, in `crates/qfleet-engine/src/iam/reference.json`, generated from them) is
//!    allowed on that ARN when the Service Authorization Reference scopes the action to that
//!    resource type, and on `"*"` when it scopes it to none;
//! 2. the same for what a resource's handlers act on besides it (a queue policy on its
//!    queues, a scaling policy on its group or target, a mapping on its function, a function
//!    on its package, any of them on the key it is encrypted with); an action AWS scopes to
//!    no resource type must be granted on `"*"` itself;
//! 3. `iam:PassRole` on every role a resource hands a service, with that service as
//!    `iam:PassedToService`, and `iam:CreateServiceLinkedRole` of the service-linked role a
//!    resource's first creation makes, with `iam:AWSServiceName`;
//! 4. every statement the docs hand a producer or a service is granted by the resource's own
//!    policy where AWS requires one, and denied by none: S3 publishing to the topic, SNS
//!    sending to the queue (and to a subscription's dead-letter queue) from exactly the listed
//!    topics, producers in other accounts
//!    (`sources.messages.producers`) sending and putting a large body, and this account's
//!    producers under the managed policy.
//!
//! Not checked here: a handler action scoped only to resource types no template declares
//! (`ec2:RunInstances` on the instance and volumes EC2 makes; qfleet grants EC2 actions on the
//! environment's Region and account, `crates/qfleet-engine/src/iam/tests.rs`), and a customer managed key's own
//! policy (the key is the user's; docs/sources.md says what it must allow).

use crate::common::*;
use crate::iam::{decide, policies};
use crate::pairs::partition;
use iam_rs::{Arn, Context, ContextValue, Decision, IAMPolicy, IAMRequest, Principal, PrincipalId};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One stack of a deployment: its name and its template with CloudFormation's functions
/// applied (a resource's reference is a token `<Id>` or `<Id.Attr>`).
pub(crate) struct Stack<'a> {
    pub(crate) name: &'a str,
    pub(crate) template: &'a Value,
}

/// One deployment: where it is and its stacks.
pub(crate) struct Deployed<'a> {
    pub(crate) label: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) stacks: Vec<Stack<'a>>,
}

/// The handlers' permissions of each resource type, and each action's resource types, as the
/// registry schemas and the Service Authorization Reference give them.
struct Facts {
    handlers: BTreeMap<String, BTreeSet<String>>,
    types: BTreeMap<String, Vec<String>>,
}

fn facts() -> &'static Facts {
    static FACTS: std::sync::OnceLock<Facts> = std::sync::OnceLock::new();
    FACTS.get_or_init(|| {
        let path = crate::common::root().join("crates/qfleet-engine/src/iam/reference.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let handlers = v["handlers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(t, h)| {
                let all = ["create", "read", "update", "delete"]
                    .iter()
                    .flat_map(|k| h[*k].as_array().unwrap())
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                (t.clone(), all)
            })
            .collect();
        let types = v["resource_types"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(a, t)| {
                let t = t.as_array().unwrap();
                (
                    a.clone(),
                    t.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                )
            })
            .collect();
        Facts { handlers, types }
    })
}

/// A name CloudFormation may generate for a resource `id` of stack `stack` whose type allows
/// `limit` characters: every model of the cut (see the module's comment).
fn generated(stack: &str, id: &str, limit: usize) -> Vec<String> {
    let mut out = BTreeSet::new();
    for random in [12, 13] {
        let r = "R".repeat(random);
        let whole = format!("{stack}-{id}-{r}");
        if whole.len() <= limit {
            out.insert(whole);
            continue;
        }
        let room = limit - random - 2;
        // The stack's name cut, the logical id whole (when it fits at all).
        if id.len() < room {
            out.insert(format!("{}-{id}-{r}", &stack[..room - id.len()]));
        }
        // The logical id cut, the stack's name whole (when it fits at all).
        if stack.len() < room {
            out.insert(format!("{stack}-{}-{r}", &id[..room - stack.len()]));
        }
        // Both cut, each to at least half the room: the stack's name keeps what the logical
        // id leaves it.
        let half = room / 2;
        if stack.len() > half && id.len() > half {
            out.insert(format!("{}-{}-{r}", &stack[..half], &id[..room - half]));
        }
    }
    out.into_iter().collect()
}

/// One resource as IAM sees it: its service, its resource type in the Service Authorization
/// Reference, and the ARNs it may have.
#[derive(Clone, Debug)]
struct Target {
    service: &'static str,
    kind: &'static str,
    arns: Vec<String>,
}

/// The ARNs of a deployment's resources, by stack and logical id, and the values a reference
/// to one stands for.
struct Names<'a> {
    d: &'a Deployed<'a>,
    /// (stack, id) → the resource's name (or id) and its ARNs.
    own: BTreeMap<(String, String), (Vec<String>, Option<Target>)>,
}

const RANDOM_ID: &str = "0123456789abcdef0";

impl<'a> Names<'a> {
    fn new(d: &'a Deployed<'a>) -> Names<'a> {
        let mut n = Names {
            d,
            own: BTreeMap::new(),
        };
        // Twice: a resource named after another (a schedule in its group, a service in its
        // cluster) is named once the other is.
        for _ in 0..2 {
            for s in &d.stacks {
                for (id, res) in resources(s.template) {
                    let (names, target) = n.identify(s.name, id, res);
                    n.own
                        .insert((s.name.to_string(), id.clone()), (names, target));
                }
            }
        }
        n
    }

    fn arn(&self, service: &str, regional: bool, account: bool, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            partition(self.d.region),
            if regional { self.d.region } else { "" },
            if account { self.d.account } else { "" },
        )
    }

    /// The name (or names, when CloudFormation generates it) and the IAM target of one
    /// resource. ARN formats: the Service Authorization Reference's "Resource types defined
    /// by" table of each service
    /// (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>),
    /// each service's page named below (`list_amazonsqs.html`); name limits from each
    /// service's API reference.
    fn identify(&self, stack: &str, id: &str, res: &Value) -> (Vec<String>, Option<Target>) {
        let p = &res["Properties"];
        let named = |prop: &str, limit: usize| -> Vec<String> {
            match p.get(prop) {
                Some(v) => vec![text(v)],
                None => generated(stack, id, limit),
            }
        };
        let target = |service, kind, names: Vec<String>, arn: &dyn Fn(&str) -> Vec<String>| {
            let arns = names.iter().flat_map(|n| arn(n)).collect();
            (
                names,
                Some(Target {
                    service,
                    kind,
                    arns,
                }),
            )
        };
        // The common shape: named by `prop` (or CloudFormation, within `limit`), its ARN
        // `arn:P:SERVICE:REGION:ACCOUNT:{prefix}NAME{suffix}`.
        let here = |prop, limit, service, kind, prefix: &str, suffix: &str| {
            target(service, kind, named(prop, limit), &|n| {
                vec![self.arn(service, true, true, &format!("{prefix}{n}{suffix}"))]
            })
        };
        let ty = res["Type"].as_str().unwrap_or_default();
        match ty {
            // list_amazonsqs.html: ${QueueName}; at most 80 characters (CreateQueue).
            "AWS::SQS::Queue" => here("QueueName", 80, "sqs", "queue", "", ""),
            // list_amazonsns.html: ${TopicName}.
            "AWS::SNS::Topic" => here("TopicName", 256, "sns", "topic", "", ""),
            // list_amazons3.html: arn:${Partition}:s3:::${BucketName}.
            "AWS::S3::Bucket" => target("s3", "bucket", named("BucketName", 63), &|b| {
                vec![self.arn("s3", false, false, b)]
            }),
            // list_amazoncloudwatchlogs.html: log-group:${LogGroupName}; most of its actions
            // are authorized on the group's `:*` form too.
            "AWS::Logs::LogGroup" => {
                target("logs", "log-group", named("LogGroupName", 512), &|g| {
                    [format!("log-group:{g}"), format!("log-group:{g}:*")]
                        .iter()
                        .map(|r| self.arn("logs", true, true, r))
                        .collect()
                })
            }
            // list_awsidentityandaccessmanagementiam.html: role/${RoleNameWithPath} (64),
            // instance-profile/${InstanceProfileNameWithPath} (128),
            // policy/${PolicyNameWithPath} (128).
            "AWS::IAM::Role" | "AWS::IAM::InstanceProfile" | "AWS::IAM::ManagedPolicy" => {
                let (prop, kind, limit) = match ty {
                    "AWS::IAM::Role" => ("RoleName", "role", 64),
                    "AWS::IAM::InstanceProfile" => ("InstanceProfileName", "instance-profile", 128),
                    _ => ("ManagedPolicyName", "policy", 128),
                };
                let path = p.get("Path").map_or("/".to_string(), text);
                target("iam", kind, named(prop, limit), &|n| {
                    vec![self.arn("iam", false, true, &format!("{kind}{path}{n}"))]
                })
            }
            // list_amazonec2autoscaling.html:
            // autoScalingGroup:${GroupId}:autoScalingGroupName/${GroupFriendlyName}.
            "AWS::AutoScaling::AutoScalingGroup" => target(
                "autoscaling",
                "autoScalingGroup",
                named("AutoScalingGroupName", 255),
                &|g| vec![self.group_arn(g)],
            ),
            // list_amazonec2.html: launch-template/${LaunchTemplateId},
            // security-group/${SecurityGroupId}, prefix-list/${PrefixListId},
            // vpc-endpoint/${VpcEndpointId}: ids EC2 makes.
            "AWS::EC2::LaunchTemplate" => self.ec2("launch-template", "lt-"),
            "AWS::EC2::SecurityGroup" => self.ec2("security-group", "sg-"),
            "AWS::EC2::PrefixList" => self.ec2("prefix-list", "pl-"),
            "AWS::EC2::VPCEndpoint" => self.ec2("vpc-endpoint", "vpce-"),
            // list_amazonelasticcontainerservice.html: cluster/${ClusterName},
            // task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber},
            // service/${ClusterName}/${ServiceName}.
            "AWS::ECS::Cluster" => here("ClusterName", 255, "ecs", "cluster", "cluster/", ""),
            "AWS::ECS::TaskDefinition" => here(
                "Family",
                255,
                "ecs",
                "task-definition",
                "task-definition/",
                ":1",
            ),
            "AWS::ECS::Service" => {
                let clusters = self.values(stack, &p["Cluster"]);
                target("ecs", "service", named("ServiceName", 255), &|svc| {
                    clusters
                        .iter()
                        .map(|c| {
                            let c = c.rsplit('/').next().unwrap();
                            self.arn("ecs", true, true, &format!("service/{c}/{svc}"))
                        })
                        .collect()
                })
            }
            // list_awsapplicationautoscaling.html: scalable-target/${ScalableTargetId}.
            "AWS::ApplicationAutoScaling::ScalableTarget" => {
                let arn = format!("scalable-target/{RANDOM_ID}");
                (
                    vec![],
                    Some(Target {
                        service: "application-autoscaling",
                        kind: "ScalableTarget",
                        arns: vec![self.arn("application-autoscaling", true, true, &arn)],
                    }),
                )
            }
            // list_amazoncloudwatch.html: alarm:${AlarmName} (255).
            "AWS::CloudWatch::Alarm" => here("AlarmName", 255, "cloudwatch", "alarm", "alarm:", ""),
            // list_amazondynamodb.html: table/${TableName} (255).
            "AWS::DynamoDB::Table" => here("TableName", 255, "dynamodb", "table", "table/", ""),
            // list_amazoneventbridge.html: rule/${RuleName} on the default event bus (64).
            "AWS::Events::Rule" => here(
                "Name",
                64,
                "events",
                "rule-on-default-event-bus",
                "rule/",
                "",
            ),
            // list_awslambda.html: function:${FunctionName} (64),
            // event-source-mapping:${UUID}.
            "AWS::Lambda::Function" => {
                here("FunctionName", 64, "lambda", "function", "function:", "")
            }
            // A version's and an alias's actions (PublishVersion, CreateAlias, UpdateAlias,
            // DeleteAlias, DeleteFunction of a version) are authorized on the `function` type,
            // function:${FunctionName}; the `function version` and `function alias` types
            // only for provisioned concurrency, which the templates do not configure.
            "AWS::Lambda::Version" | "AWS::Lambda::Alias" => target(
                "lambda",
                "function",
                self.values(stack, &p["FunctionName"]),
                &|f| vec![self.arn("lambda", true, true, &format!("function:{f}"))],
            ),
            // list_awscodedeploy.html: application:${ApplicationName},
            // deploymentgroup:${ApplicationName}/${DeploymentGroupName} (100 each).
            "AWS::CodeDeploy::Application" => here(
                "ApplicationName",
                100,
                "codedeploy",
                "application",
                "application:",
                "",
            ),
            "AWS::CodeDeploy::DeploymentGroup" => {
                let apps = self.values(stack, &p["ApplicationName"]);
                target(
                    "codedeploy",
                    "deploymentgroup",
                    named("DeploymentGroupName", 100),
                    &|g| {
                        apps.iter()
                            .map(|a| {
                                self.arn(
                                    "codedeploy",
                                    true,
                                    true,
                                    &format!("deploymentgroup:{a}/{g}"),
                                )
                            })
                            .collect()
                    },
                )
            }
            "AWS::Lambda::EventSourceMapping" => (
                vec![],
                Some(Target {
                    service: "lambda",
                    kind: "eventSourceMapping",
                    arns: vec![self.arn(
                        "lambda",
                        true,
                        true,
                        "event-source-mapping:0f0e0d0c-0000-4000-8000-000000000000",
                    )],
                }),
            ),
            // list_amazoneventbridgescheduler.html: schedule-group/${GroupName},
            // schedule/${GroupName}/${ScheduleName}.
            "AWS::Scheduler::ScheduleGroup" => here(
                "Name",
                64,
                "scheduler",
                "schedule-group",
                "schedule-group/",
                "",
            ),
            "AWS::Scheduler::Schedule" => {
                let groups = match p.get("GroupName") {
                    Some(g) => self.values(stack, g),
                    None => vec!["default".to_string()],
                };
                target("scheduler", "schedule", named("Name", 64), &|n| {
                    groups
                        .iter()
                        .map(|g| self.arn("scheduler", true, true, &format!("schedule/{g}/{n}")))
                        .collect()
                })
            }
            _ => (vec![], None),
        }
    }

    fn group_arn(&self, name: &str) -> String {
        self.arn(
            "autoscaling",
            true,
            true,
            &format!(
                "autoScalingGroup:0f0e0d0c-0000-4000-8000-000000000000:autoScalingGroupName/{name}"
            ),
        )
    }

    fn ec2(&self, kind: &'static str, prefix: &str) -> (Vec<String>, Option<Target>) {
        let id = format!("{prefix}{RANDOM_ID}");
        let arn = self.arn("ec2", true, true, &format!("{kind}/{id}"));
        (
            vec![id],
            Some(Target {
                service: "ec2",
                kind,
                arns: vec![arn],
            }),
        )
    }

    /// The resource a reference in stack `stack` stands for: `<Id>` or `<Id.Attr>` → that
    /// resource of the stack.
    fn token<'s>(&'s self, stack: &str, v: &str) -> Option<&'s (Vec<String>, Option<Target>)> {
        let inner = v.strip_prefix('<')?.strip_suffix('>')?;
        let id = inner.split('.').next().unwrap();
        self.own.get(&(stack.to_string(), id.to_string()))
    }

    /// The names a property holds, a reference replaced by the resource's name.
    fn values(&self, stack: &str, v: &Value) -> Vec<String> {
        let items: Vec<String> = match v {
            Value::Array(a) => a.iter().map(text).collect(),
            Value::Null => vec![],
            other => vec![text(other)],
        };
        items
            .into_iter()
            .flat_map(|item| match self.token(stack, &item) {
                Some((names, _)) => names.clone(),
                None => vec![item],
            })
            .collect()
    }

    /// The ARNs of the resources a property names (ARNs, names, queue URLs or references).
    fn arns_named(&self, stack: &str, v: &Value, service: &str) -> Vec<String> {
        let items: Vec<String> = match v {
            Value::Array(a) => a.iter().map(text).collect(),
            Value::Null => vec![],
            other => vec![text(other)],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some((_, Some(t))) = self.token(stack, &item) {
                out.extend(t.arns.iter().cloned());
            } else if item.starts_with("arn:") {
                out.push(item);
            } else if let Some(rest) = item.strip_prefix("https://sqs.") {
                out.push(self.arn("sqs", true, true, rest.rsplit('/').next().unwrap()));
            } else if service == "autoscaling" {
                out.push(self.group_arn(&item));
            } else if service == "lambda" {
                out.push(self.arn("lambda", true, true, &format!("function:{item}")));
            } else if service == "s3" {
                out.push(self.arn("s3", false, false, &item));
            } else if service == "iam" {
                out.push(self.arn("iam", false, true, &format!("role/{item}")));
            }
        }
        out
    }

    /// [`Names::arns_named`], one ARN each: where a resource policy names a resource, one of
    /// the names CloudFormation may generate stands for all.
    fn first_arn(&self, stack: &str, v: &Value, service: &str) -> Vec<String> {
        let items: Vec<Value> = match v {
            Value::Array(a) => a.clone(),
            Value::Null => vec![],
            other => vec![other.clone()],
        };
        items
            .iter()
            .filter_map(|i| self.arns_named(stack, i, service).into_iter().next())
            .collect()
    }

    /// The resources a resource's handlers act on besides itself: what it attaches to.
    fn attached(&self, stack: &str, res: &Value) -> Vec<(&'static str, &'static str, Vec<String>)> {
        let p = &res["Properties"];
        let mut out = Vec::new();
        let mut on = |service: &'static str, kind: &'static str, v: &Value| {
            let arns = self.arns_named(stack, v, service);
            if !arns.is_empty() {
                out.push((service, kind, arns));
            }
        };
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::SQS::QueuePolicy" => on("sqs", "queue", &p["Queues"]),
            "AWS::SNS::TopicPolicy" => on("sns", "topic", &p["Topics"]),
            "AWS::SNS::Subscription" => on("sns", "topic", &p["TopicArn"]),
            "AWS::S3::BucketPolicy" => on("s3", "bucket", &p["Bucket"]),
            "AWS::AutoScaling::LifecycleHook"
            | "AWS::AutoScaling::ScalingPolicy"
            | "AWS::AutoScaling::WarmPool" => on(
                "autoscaling",
                "autoScalingGroup",
                &p["AutoScalingGroupName"],
            ),
            "AWS::Lambda::EventSourceMapping" | "AWS::Lambda::Permission" => {
                on("lambda", "function", &p["FunctionName"])
            }
            "AWS::IAM::ManagedPolicy" => on("iam", "role", &p["Roles"]),
            "AWS::ApplicationAutoScaling::ScalingPolicy" => on(
                "application-autoscaling",
                "ScalableTarget",
                &p["ScalingTargetId"],
            ),
            // A deployment group reads its configuration (list_awscodedeploy.html:
            // deploymentconfig:${DeploymentConfigurationName}) and belongs to its application.
            "AWS::CodeDeploy::DeploymentGroup" => {
                on("codedeploy", "application", &p["ApplicationName"]);
                if let Some(c) = p.get("DeploymentConfigName") {
                    let arn = self.arn(
                        "codedeploy",
                        true,
                        true,
                        &format!("deploymentconfig:{}", text(c)),
                    );
                    on("codedeploy", "deploymentconfig", &Value::String(arn));
                }
            }
            // A function's package: Lambda reads it as the deployer (list_awslambda.html,
            // CreateFunction's dependent actions s3:GetObject, s3:GetObjectVersion).
            "AWS::Lambda::Function" => {
                if let (Some(bucket), Some(key)) =
                    (p["Code"].get("S3Bucket"), p["Code"].get("S3Key"))
                {
                    let object = format!("{}/{}", text(bucket), text(key));
                    on(
                        "s3",
                        "object",
                        &Value::String(self.arn("s3", false, false, &object)),
                    );
                }
            }
            _ => {}
        }
        // A customer managed key a resource is encrypted with (list_awskeymanagementservice.html:
        // key/${KeyId}): the handlers' KMS calls act on it.
        for k in ["KmsMasterKeyId", "KMSKeyArn", "KmsKeyArn", "KmsKeyId"] {
            if let Some(key) = p.get(k).map(text).filter(|k| k.starts_with("arn:")) {
                out.push(("kms", "key", vec![key]));
            }
        }
        if let Some(key) = p["SSESpecification"]
            .get("KMSMasterKeyId")
            .map(text)
            .filter(|k| k.starts_with("arn:"))
        {
            out.push(("kms", "key", vec![key]));
        }
        out
    }

    /// The service-linked role a resource's handlers create the first time one is made in an
    /// account, and its service: Auto Scaling's
    /// (<https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html>),
    /// ECS's (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html>),
    /// Application Auto Scaling's for an ECS service
    /// (<https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html>).
    /// A DynamoDB table makes one only with replicas (global tables), which qfleet's have not.
    fn service_linked(&self, ty: &str) -> Option<(String, &'static str)> {
        let (service, name) = match ty {
            "AWS::AutoScaling::AutoScalingGroup" => {
                ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling")
            }
            "AWS::ECS::Cluster" => ("ecs.amazonaws.com", "AWSServiceRoleForECS"),
            "AWS::ApplicationAutoScaling::ScalableTarget" => (
                "ecs.application-autoscaling.amazonaws.com",
                "AWSServiceRoleForApplicationAutoScaling_ECSService",
            ),
            _ => return None,
        };
        let role = self.arn(
            "iam",
            false,
            true,
            &format!("role/aws-service-role/{service}/{name}"),
        );
        Some((role, service))
    }

    /// The roles a resource hands a service, and that service: what `iam:PassRole` is
    /// checked for (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>).
    fn passed(&self, stack: &str, res: &Value) -> Vec<(String, &'static str)> {
        let p = &res["Properties"];
        let roles = |v: &Value| self.arns_named(stack, v, "iam");
        let mut out = Vec::new();
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::InstanceProfile" => {
                out.extend(
                    roles(&p["Roles"])
                        .into_iter()
                        .map(|r| (r, "ec2.amazonaws.com")),
                );
            }
            "AWS::Lambda::Function" => {
                out.extend(
                    roles(&p["Role"])
                        .into_iter()
                        .map(|r| (r, "lambda.amazonaws.com")),
                );
            }
            "AWS::ECS::TaskDefinition" => {
                for k in ["TaskRoleArn", "ExecutionRoleArn"] {
                    out.extend(
                        roles(&p[k])
                            .into_iter()
                            .map(|r| (r, "ecs-tasks.amazonaws.com")),
                    );
                }
            }
            // The role CodeDeploy shifts an alias as (a deployment group's service role).
            "AWS::CodeDeploy::DeploymentGroup" => out.extend(
                roles(&p["ServiceRoleArn"])
                    .into_iter()
                    .map(|r| (r, "codedeploy.amazonaws.com")),
            ),
            "AWS::Scheduler::Schedule" => {
                let role = &p["Target"]["RoleArn"];
                out.extend(
                    roles(role)
                        .into_iter()
                        .map(|r| (r, "scheduler.amazonaws.com")),
                );
            }
            "AWS::Events::Rule" => {
                for target in p["Targets"].as_array().into_iter().flatten() {
                    let role = &target["RoleArn"];
                    out.extend(roles(role).into_iter().map(|r| (r, "events.amazonaws.com")));
                }
            }
            _ => {}
        }
        out
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn resources(t: &Value) -> impl Iterator<Item = (&String, &Value)> {
    t["Resources"].as_object().into_iter().flatten()
}

/// An ARN that only `"*"` matches: what AWS authorizes an action scoped to no resource type on.
fn any_resource(service: &str) -> String {
    format!("arn:aws:{service}:xx-nowhere-1:000000000000:qfleet-any-resource")
}

fn pass_role(policies: &ByAction, role: &str, service: &str) -> Decision {
    let mut ctx = Context::new();
    ctx.insert(
        "iam:PassedToService".into(),
        ContextValue::String(service.into()),
    );
    decide(policies.of("iam:PassRole"), "iam:PassRole", role, ctx)
}

/// A set of identity policies, each statement a policy of its own, found by the actions it
/// names: IAM's decision on an action depends only on the statements whose `Action` matches
/// it, and evaluating those alone (each with that action alone) keeps thousands of decisions
/// quick. A statement with a wildcard or `NotAction` could match any action: it goes whole
/// with every one.
struct ByAction {
    by_action: BTreeMap<String, Vec<IAMPolicy>>,
    none: Vec<IAMPolicy>,
    /// The actions an `Allow` statement without conditions grants on `"*"`.
    star: BTreeSet<String>,
}

impl ByAction {
    fn new(docs: &[Value]) -> ByAction {
        let mut by_action: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut any = Vec::new();
        let mut star = BTreeSet::new();
        for doc in docs {
            for st in doc["Statement"].as_array().into_iter().flatten() {
                let actions = strings(&st["Action"]);
                if st["Effect"] == "Allow"
                    && strings(&st["Resource"]) == ["*"]
                    && st.get("Condition").is_none()
                {
                    star.extend(actions.iter().map(|a| a.to_ascii_lowercase()));
                }
                if actions.is_empty() || actions.iter().any(|a| a.contains(['*', '?'])) {
                    any.push(st.clone());
                    continue;
                }
                // For one action, a statement that lists it is that statement with this action
                // alone: IAM matches a request's action against the list, so the others in it
                // decide nothing (and parsing and scanning them for every action was most of
                // this check's time).
                for a in actions {
                    let mut one = st.clone();
                    one["Action"] = Value::String(a.clone());
                    by_action
                        .entry(a.to_ascii_lowercase())
                        .or_default()
                        .push(one);
                }
            }
        }
        let policy = |sts: Vec<Value>| {
            policies(&[serde_json::json!({"Version": "2012-10-17", "Statement": sts})])
        };
        let with_any = |mut sts: Vec<Value>| {
            sts.extend(any.iter().cloned());
            policy(sts)
        };
        ByAction {
            by_action: by_action
                .into_iter()
                .map(|(a, sts)| (a, with_any(sts)))
                .collect(),
            none: if any.is_empty() {
                vec![]
            } else {
                policy(any.clone())
            },
            star,
        }
    }

    /// Whether a statement allows `action` on `"*"` itself, without conditions.
    fn on_any_resource(&self, action: &str) -> bool {
        self.star.contains(&action.to_ascii_lowercase())
    }

    fn of(&self, action: &str) -> &[IAMPolicy] {
        self.by_action
            .get(&action.to_ascii_lowercase())
            .map_or(&self.none, Vec::as_slice)
    }
}

/// [`ByAction`] decides each action as the whole policy does: an action listed with others
/// (allowed, or denied on one resource), one granted by a wildcard, one no statement names.
#[test]
fn the_statements_of_one_action_decide_it_as_the_whole_policy_does() {
    let q = "arn:aws:sqs:eu-west-1:123456789012:q";
    let docs = [serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:CreateQueue", "SQS:TagQueue", "sqs:DeleteQueue"], "Resource": format!("{q}-*")},
        {"Effect": "Deny", "Action": ["sqs:SetQueueAttributes", "sqs:TagQueue"], "Resource": format!("{q}-secret")},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
    ]})];
    let by = ByAction::new(&docs);
    let whole = policies(&docs);
    let mut decisions = BTreeSet::new();
    for (action, arn) in [
        ("sqs:CreateQueue", format!("{q}-1")),
        ("sqs:tagqueue", format!("{q}-1")),
        ("sqs:TagQueue", format!("{q}-secret")),
        ("sqs:DeleteQueue", format!("{q}-secret")),
        (
            "sqs:DeleteQueue",
            "arn:aws:sqs:eu-west-1:123456789012:other".to_string(),
        ),
        ("sqs:SetQueueAttributes", format!("{q}-secret")),
        ("sqs:SetQueueAttributes", format!("{q}-1")),
        ("s3:GetObject", "arn:aws:s3:::b/k".to_string()),
        ("sqs:PurgeQueue", format!("{q}-1")),
    ] {
        let one = match by.of(action) {
            [] => Decision::NotApplicable,
            some => decide(some, action, &arn, Context::new()),
        };
        let all = decide(&whole, action, &arn, Context::new());
        assert_eq!(one, all, "{action} on {arn}");
        decisions.insert(format!("{all:?}"));
    }
    // Not vacuous: the cases reach each decision.
    assert_eq!(decisions.len(), 3, "{decisions:?}");
}

/// Every call CloudFormation's handlers make for a deployment's resources that `handlers`
/// (the printed policy of whoever CloudFormation acts as) does not allow.
pub(crate) fn handler_calls_denied(d: &Deployed, handlers: &[Value]) -> Vec<String> {
    let facts = facts();
    let policies = ByAction::new(handlers);
    let names = Names::new(d);
    let mut out = BTreeSet::new();
    let denied = std::cell::RefCell::new(BTreeSet::new());
    let checked = std::cell::RefCell::new(BTreeSet::new());
    let check = |action: &str, arn: &str, what: &str| {
        if !checked
            .borrow_mut()
            .insert((action.to_string(), arn.to_string()))
        {
            return;
        }
        let decision = match policies.of(action) {
            [] => Decision::NotApplicable,
            some => decide(some, action, arn, Context::new()),
        };
        if decision != Decision::Allow {
            denied.borrow_mut().insert(format!(
                "{}: {what}: {action} on {arn}: {decision:?}",
                d.label
            ));
        }
    };
    for s in &d.stacks {
        for (id, res) in resources(s.template) {
            let ty = res["Type"].as_str().unwrap_or_default();
            let Some(actions) = facts.handlers.get(ty).filter(|a| !a.is_empty()) else {
                out.insert(format!(
                    "{}: {ty} has no handler permissions in the reference: nothing of it could be checked",
                    d.label
                ));
                continue;
            };
            let mut targets: Vec<(&str, &str, Vec<String>)> = names.attached(s.name, res);
            if let Some((_, Some(t))) = names.own.get(&(s.name.to_string(), id.clone())) {
                targets.push((t.service, t.kind, t.arns.clone()));
            }
            let what = format!("{} {id} ({ty})", s.name);
            for action in actions {
                if action == "iam:PassRole" || action == "iam:CreateServiceLinkedRole" {
                    continue; // Below, with the service; and the services' own roles.
                }
                let (prefix, _) = action.split_once(':').unwrap();
                // A name the Service Authorization Reference does not list is no IAM action
                // (an API's name, `s3:DeleteBucketCors`, whose action is
                // `s3:PutBucketCORS`): IAM never checks it, and qfleet grants none.
                let Some(kinds) = facts.types.get(&action.to_ascii_lowercase()) else {
                    continue;
                };
                if kinds.is_empty() {
                    // Only `"*"` authorizes it: a statement that names resources (even
                    // `arn:*`) does not.
                    if !policies.on_any_resource(action) {
                        denied.borrow_mut().insert(format!(
                            "{}: {what}: {action} supports no resource type, and no statement grants it on \"*\"",
                            d.label
                        ));
                    }
                    check(action, &any_resource(prefix), &what);
                    continue;
                }
                for (service, kind, arns) in &targets {
                    if *service == prefix && kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
                        for arn in arns {
                            check(action, arn, &what);
                        }
                    }
                }
            }
            if actions.contains("iam:CreateServiceLinkedRole")
                && let Some((role, service)) = names.service_linked(ty)
            {
                let mut ctx = Context::new();
                ctx.insert(
                    "iam:AWSServiceName".into(),
                    ContextValue::String(service.into()),
                );
                let made = decide(
                    policies.of("iam:CreateServiceLinkedRole"),
                    "iam:CreateServiceLinkedRole",
                    &role,
                    ctx,
                );
                if made != Decision::Allow {
                    out.insert(format!(
                        "{}: {what}: iam:CreateServiceLinkedRole of {role} for {service}: {made:?}",
                        d.label
                    ));
                }
            }
            if actions.contains("iam:PassRole") {
                for (role, service) in names.passed(s.name, res) {
                    let d2 = pass_role(&policies, &role, service);
                    if d2 != Decision::Allow {
                        out.insert(format!(
                            "{}: {what}: iam:PassRole of {role} to {service}: {d2:?}",
                            d.label
                        ));
                    }
                }
            }
        }
    }
    out.extend(denied.into_inner());
    out.into_iter().collect()
}

/// The context of a request a service principal makes on behalf of a resource.
fn service_context(source_arn: &str, source_account: &str) -> Context {
    let mut ctx = Context::new();
    ctx.insert(
        "aws:SourceArn".into(),
        ContextValue::String(source_arn.into()),
    );
    ctx.insert(
        "aws:SourceAccount".into(),
        ContextValue::String(source_account.into()),
    );
    ctx.insert("aws:SecureTransport".into(), ContextValue::Boolean(true));
    ctx
}

fn resource_decision(
    policy: &IAMPolicy,
    principal: Principal,
    action: &str,
    arn: &str,
    ctx: Context,
) -> Decision {
    let request = IAMRequest::new_with_context(
        principal,
        action,
        Arn::parse(arn).unwrap_or_else(|e| panic!("{arn}: {e:?}")),
        ctx,
    );
    iam_rs::evaluate_policies(std::slice::from_ref(policy), &request)
        .unwrap_or_else(|e| panic!("{action}: {e:?}"))
}

/// Every statement a producer or a service is handed that a resource policy of the deployment
/// does not grant where AWS requires it, or denies.
pub(crate) fn resource_policies_refuse(d: &Deployed, producers: &[String]) -> Vec<String> {
    let names = Names::new(d);
    let mut out = Vec::new();
    // The resource policies of the deployment: what they are on, and the document with each
    // reference replaced by the resource's ARN.
    let mut on: Vec<(String, IAMPolicy)> = Vec::new();
    for s in &d.stacks {
        for (id, res) in resources(s.template) {
            let (key, service) = match res["Type"].as_str().unwrap_or_default() {
                "AWS::SQS::QueuePolicy" => ("Queues", "sqs"),
                "AWS::SNS::TopicPolicy" => ("Topics", "sns"),
                "AWS::S3::BucketPolicy" => ("Bucket", "s3"),
                _ => continue,
            };
            let p = &res["Properties"];
            let doc = concrete(&names, s.name, &p["PolicyDocument"]);
            let policy = IAMPolicy::from_json(&doc.to_string())
                .unwrap_or_else(|e| panic!("{}: {id}: {e}: {doc}", d.label));
            for arn in names.first_arn(s.name, &p[key], service) {
                on.push((arn, policy.clone()));
            }
        }
    }
    let decide_on =
        |arn: &str, principal: &Principal, action: &str, resource: &str, ctx: &Context| {
            on.iter()
                .filter(|(a, _)| a == arn)
                .map(|(_, p)| {
                    resource_decision(p, principal.clone(), action, resource, ctx.clone())
                })
                .collect::<Vec<Decision>>()
        };
    let service = |s: &str| Principal::Service(PrincipalId::String(s.to_string()));
    // S3 publishes the bucket's events to its topic; SNS sends the topic's messages to the
    // queue. Both need the receiving resource's policy to allow the service for that source
    // ("Granting permissions to publish event notification messages to a destination",
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html;
    // "Sending Amazon SNS messages to an Amazon SQS queue",
    // https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html).
    for s in &d.stacks {
        for (id, res) in resources(s.template) {
            let p = &res["Properties"];
            match res["Type"].as_str().unwrap_or_default() {
                "AWS::S3::Bucket" => {
                    let bucket = &names.own[&(s.name.to_string(), id.clone())];
                    let bucket_arn = &bucket.1.as_ref().unwrap().arns[0];
                    for c in p["NotificationConfiguration"]["TopicConfigurations"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        for topic in names.first_arn(s.name, &c["Topic"], "sns") {
                            let ctx = service_context(bucket_arn, d.account);
                            let found = decide_on(
                                &topic,
                                &service("s3.amazonaws.com"),
                                "sns:Publish",
                                &topic,
                                &ctx,
                            );
                            if !found.contains(&Decision::Allow) || found.contains(&Decision::Deny)
                            {
                                out.push(format!(
                                    "{}: S3 may not publish {id}'s events to {topic}: {found:?}",
                                    d.label
                                ));
                            }
                        }
                    }
                }
                "AWS::SNS::Subscription" if text(&p["Protocol"]) == "sqs" => {
                    let topics = names.first_arn(s.name, &p["TopicArn"], "sns");
                    for queue in names.first_arn(s.name, &p["Endpoint"], "sqs") {
                        for topic in &topics {
                            let account = topic.split(':').nth(4).unwrap_or_default();
                            let ctx = service_context(topic, account);
                            let found = decide_on(
                                &queue,
                                &service("sns.amazonaws.com"),
                                "sqs:SendMessage",
                                &queue,
                                &ctx,
                            );
                            if !found.contains(&Decision::Allow) || found.contains(&Decision::Deny)
                            {
                                out.push(format!("{}: SNS may not send {topic}'s messages to {queue} ({id}): {found:?}", d.label));
                            }
                            // What SNS cannot deliver goes to the subscription's dead-letter
                            // queue, whose policy must let SNS send for the topic too (Amazon
                            // SNS dead-letter queues,
                            // https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html).
                            for dlq in names.first_arn(
                                s.name,
                                &p["RedrivePolicy"]["deadLetterTargetArn"],
                                "sqs",
                            ) {
                                let found = decide_on(
                                    &dlq,
                                    &service("sns.amazonaws.com"),
                                    "sqs:SendMessage",
                                    &dlq,
                                    &ctx,
                                );
                                if !found.contains(&Decision::Allow)
                                    || found.contains(&Decision::Deny)
                                {
                                    out.push(format!("{}: SNS may not move {topic}'s undeliverable messages to {dlq} ({id}): {found:?}", d.label));
                                }
                            }
                            // Another topic must not reach the queue through this grant.
                            let other = format!("{}-other", topic);
                            let ctx = service_context(&other, account);
                            let found = decide_on(
                                &queue,
                                &service("sns.amazonaws.com"),
                                "sqs:SendMessage",
                                &queue,
                                &ctx,
                            );
                            if found.contains(&Decision::Allow) {
                                out.push(format!("{}: SNS may send {other}'s messages to {queue}: the queue policy is not scoped to its topics", d.label));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // The producers: this account's attach the managed policy the outputs name, and no
    // resource policy may deny what it allows; another account's (`producers`) get "the same
    // statements as the managed policy" (docs/sources.md) but for the key, and across
    // accounts the resource's own policy must allow each ("Cross-account policy evaluation
    // logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
    let here = Principal::Aws(PrincipalId::String(format!(
        "arn:{}:iam::{}:role/producer",
        partition(d.region),
        d.account
    )));
    for s in &d.stacks {
        for (id, res) in resources(s.template) {
            if res["Type"] != "AWS::IAM::ManagedPolicy" || !id.ends_with("ProducerPolicy") {
                continue;
            }
            let doc = concrete(&names, s.name, &res["Properties"]["PolicyDocument"]);
            for st in doc["Statement"].as_array().into_iter().flatten() {
                let actions = strings(&st["Action"]);
                if actions.iter().any(|a| a.starts_with("kms:")) {
                    continue;
                }
                for action in &actions {
                    for resource in strings(&st["Resource"]) {
                        let resource = resource.replace('*', "jobs/some-body");
                        let Some(holder) = holder_of(&resource) else {
                            out.push(format!("{}: {id} grants {action} on {resource}, which this test cannot place", d.label));
                            continue;
                        };
                        let ctx = Context::new().with_boolean("aws:SecureTransport", true);
                        let found = decide_on(&holder, &here, action, &resource, &ctx);
                        if found.contains(&Decision::Deny) {
                            out.push(format!("{}: a producer of this account with {id} is denied {action} on {resource} by its resource policy", d.label));
                        }
                        for p in producers {
                            // An account as a principal is its root: the account, which
                            // delegates to its own principals through their IAM policies.
                            let principal = match p.parse::<u64>() {
                                Ok(_) => format!("arn:{}:iam::{p}:root", partition(d.region)),
                                Err(_) => p.clone(),
                            };
                            let principal = Principal::Aws(PrincipalId::String(principal));
                            let found = decide_on(&holder, &principal, action, &resource, &ctx);
                            if !found.contains(&Decision::Allow) || found.contains(&Decision::Deny)
                            {
                                out.push(format!("{}: producer {p} of another account, given {id}'s statements, may not {action} on {resource}: the resource's policy {}", d.label, if found.is_empty() { "is missing".to_string() } else { format!("says {found:?}") }));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// The resource whose policy governs `arn`: the bucket of an object, else itself.
fn holder_of(arn: &str) -> Option<String> {
    match arn
        .strip_prefix("arn:aws:s3:::")
        .or_else(|| arn.strip_prefix("arn:aws-cn:s3:::"))
        .or_else(|| arn.strip_prefix("arn:aws-us-gov:s3:::"))
    {
        Some(rest) => Some(arn[..arn.len() - rest.len()].to_string() + rest.split('/').next()?),
        None => arn.starts_with("arn:").then(|| arn.to_string()),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        Value::Null => vec![],
        other => vec![text(other)],
    }
}

/// A policy document with each reference (`<Id>`, `<Id.Arn>`, inside a string too) replaced
/// by the resource's ARN (or its name where the reference stands for one).
fn concrete(names: &Names, stack: &str, v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(replace_tokens(names, stack, s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| concrete(names, stack, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), concrete(names, stack, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn replace_tokens(names: &Names, stack: &str, s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('>') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let token = &rest[i..i + end + 1];
        let value = names.token(stack, token).and_then(|(n, t)| {
            let attr = token.trim_matches(['<', '>']).split_once('.').map(|x| x.1);
            match (attr, t) {
                (Some("Arn") | Some("TopicArn"), Some(t)) => t.arns.first().cloned(),
                (Some("QueueName"), _) | (Some("Name"), _) => n.first().cloned(),
                (None, Some(t)) if t.service == "sns" => t.arns.first().cloned(),
                (None, Some(t)) if t.service == "sqs" => n.first().map(|q| {
                    format!(
                        "https://sqs.{}.amazonaws.com/{}/{q}",
                        names.d.region, names.d.account
                    )
                }),
                (None, _) => n.first().cloned(),
                _ => t.as_ref().and_then(|t| t.arns.first().cloned()),
            }
        });
        out.push_str(value.as_deref().unwrap_or(token));
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whose policy CloudFormation's handlers act with in a deployment.
#[derive(Clone, Copy)]
pub(crate) enum Handlers<'a> {
    /// A direct deploy: the caller's policy of its account, or its service role's.
    Direct,
    /// Self-managed StackSets: the execution role of the target's account, from the policy
    /// printed for `admin`, the account that holds the stack sets.
    StackSets { admin: &'a str },
    /// Service-managed StackSets: AWS's own role in the member account runs them, which no
    /// printed policy is.
    AwsOwn,
}

/// Every least-privilege problem of one deployment, its stacks resolved (`r`): the resource
/// policies ([`resource_policies_refuse`]) and, with the printed policies by account
/// (`printed`), the handlers' calls ([`handler_calls_denied`]).
pub(crate) fn problems(
    d: &crate::pairs::Deployment,
    r: &crate::pairs::Resolved,
    printed: &BTreeMap<String, Value>,
    handlers: Handlers,
    producers: &[String],
) -> Vec<String> {
    let deployed = Deployed {
        label: &d.label,
        region: &d.region,
        account: &d.account,
        stacks: r
            .stacks
            .iter()
            .map(|(name, template)| Stack { name, template })
            .collect(),
    };
    let mut out = resource_policies_refuse(&deployed, producers);
    let docs = match handlers {
        Handlers::AwsOwn => return out,
        Handlers::StackSets { admin } => printed[admin]["service_roles"]
            .as_object()
            .and_then(|roles| {
                roles
                    .iter()
                    .find(|(arn, _)| arn.contains(&format!("::{}:role/", d.account)))
            })
            .map(|(_, docs)| docs),
        Handlers::Direct => {
            let p = &printed[&d.account];
            let role = p["service_roles"]
                .as_object()
                .and_then(|r| r.values().next());
            Some(role.unwrap_or(&p["caller"]))
        }
    };
    match docs {
        Some(Value::Array(docs)) => out.extend(handler_calls_denied(&deployed, docs)),
        _ => out.push(format!("{}: no policy printed for its handlers", d.label)),
    }
    out
}

/// The policies `qfleet iam-policy FILE --account A -o json` prints, by account (in-process:
/// [`qfleet::engine::iam_policy`]).
pub(crate) fn printed(
    file: &std::path::Path,
    accounts: &BTreeSet<String>,
) -> BTreeMap<String, Value> {
    accounts
        .iter()
        .map(|a| {
            let doc = qfleet::engine::iam_policy(&[file], a)
                .unwrap_or_else(|f| panic!("{}: iam-policy: {f}", file.display()));
            (a.clone(), doc)
        })
        .collect()
}

/// The stand-in account of a file that names none.
const ACCOUNT: &str = "123456789012";

/// Every example and shipped stack file: each handler call on each of its resources is allowed
/// by the printed policy of whoever CloudFormation acts as, and each statement the docs hand a
/// producer or a service is granted by the resource's own policy where AWS requires one.
/// The pairs of features get the same checks at plain and longest input (`pairs`).
#[test]
fn every_examples_resources_are_reachable_within_the_printed_policy_and_their_own_policies() {
    use crate::pairs::{Deployment, Stack as Rendered, direct_stack_name, long_form, resolve};
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<std::path::PathBuf> = ["examples", "stacks"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let yaml: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let out = dir.path().join(&stem);
        let rendered = qfleet::engine::render(&[file], Some(&out))
            .unwrap_or_else(|f| panic!("{stem}: render: {f}"))
            .document;
        let rollout = &yaml["rollout"];
        let stack_sets = rollout["mode"] == "stack_sets";
        let service_managed = rollout.get("auto_deployment").is_some()
            || rollout["permission_model"] == "service_managed";
        // Each target's account and Region, by its environment's name.
        let env_name = yaml["environment"]
            .as_str()
            .map_or(stem.clone(), str::to_string);
        let region = yaml["region"].as_str().unwrap_or("us-east-1").to_string();
        let mut places: BTreeMap<String, (String, String)> = BTreeMap::new();
        for t in yaml["targets"].as_array().into_iter().flatten() {
            let name = format!("{env_name}-{}", text(&t["name"]));
            let account = t["account"].as_str().unwrap_or(ACCOUNT).to_string();
            let r = t["region"].as_str().map_or(region.clone(), str::to_string);
            places.insert(name, (account, r));
        }
        let accounts: BTreeSet<String> = if stack_sets {
            BTreeSet::from([text(&rollout["administration_account"])])
        } else if places.is_empty() {
            BTreeSet::from([ACCOUNT.to_string()])
        } else {
            places.values().map(|(a, _)| a.clone()).collect()
        };
        let policies = printed(file, &accounts);
        let producers = crate::pairs::producers_of(&yaml);
        for env in rendered["environments"].as_array().unwrap() {
            let name = text(&env["environment"]);
            let (account, region) = places
                .get(&name)
                .cloned()
                .unwrap_or((ACCOUNT.to_string(), region.clone()));
            let stacks = env["stacks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let path = std::path::PathBuf::from(text(&s["file"]));
                    match s["stack_set"].as_str() {
                        // StackSets names an instance's stack `StackSet-SET-UUID` and gives it
                        // the stack set's template.
                        Some(set) => {
                            let f = out.join("stack-sets").join(format!("{set}.json"));
                            Rendered {
                                name: format!(
                                    "StackSet-{set}-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d"
                                ),
                                template: long_form(&std::fs::read_to_string(&f).unwrap()),
                                file: f,
                            }
                        }
                        None => Rendered {
                            name: direct_stack_name(
                                &name,
                                &path.file_name().unwrap().to_string_lossy(),
                            ),
                            template: long_form(&std::fs::read_to_string(&path).unwrap()),
                            file: path,
                        },
                    }
                })
                .collect();
            let d = Deployment {
                label: format!("{stem}: {name} {account} {region}"),
                region,
                account: account.clone(),
                stacks,
            };
            let r = resolve(&d);
            problems.extend(r.problems.iter().map(|p| format!("{}: {p}", d.label)));
            let handlers = match (stack_sets, service_managed) {
                (false, _) => Handlers::Direct,
                (true, false) => Handlers::StackSets {
                    admin: accounts.first().unwrap(),
                },
                (true, true) => Handlers::AwsOwn,
            };
            problems.extend(self::problems(&d, &r, &policies, handlers, &producers));
            if !matches!(handlers, Handlers::AwsOwn) {
                checked += 1;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked > 30, "{checked} deployments checked");
}

/// The policy of the docs' `file` whose code block holds `marker`: the JSON object around it
/// (a statement shown alone becomes a policy of one statement).
fn docs_json(file: &str, marker: &str) -> Value {
    let text = std::fs::read_to_string(root().join("docs").join(file)).unwrap();
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("docs/{file} lacks {marker}"));
    // The outermost object of the code block the marker is in.
    let fence = text[..at].rfind("```").unwrap();
    let start = fence + text[fence..].find('{').unwrap();
    let (mut depth, mut end) = (0, start);
    for (i, ch) in text[start..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            end = start + i + 1;
            break;
        }
    }
    let v: Value = serde_json::from_str(&text[start..end]).unwrap();
    match v.get("Effect") {
        Some(_) => serde_json::json!({"Version": "2012-10-17", "Statement": [v]}),
        None => v,
    }
}

/// What a resource policy decides; a statement without `Resource` (a role's trust policy, a
/// repository's policy) is on the resource that holds it.
fn allows(policy: &Value, principal: &str, action: &str, resource: &str) -> Decision {
    let mut policy = policy.clone();
    for st in policy["Statement"].as_array_mut().unwrap() {
        if st.get("Resource").is_none() {
            st["Resource"] = Value::String(resource.into());
        }
    }
    let policy = IAMPolicy::from_json(&policy.to_string()).unwrap();
    let principal = if principal.ends_with(".amazonaws.com") {
        Principal::Service(PrincipalId::String(principal.into()))
    } else {
        Principal::Aws(PrincipalId::String(principal.into()))
    };
    resource_decision(&policy, principal, action, resource, Context::new())
}

/// The statements the docs hand another account's owner grant exactly what qfleet's deploy
/// asks there: the topic's owner lets this account subscribe (docs/sources.md, "Topics"), and
/// a target account's role trusts the deploying role (docs/targets.md), each and no more.
#[test]
fn the_statements_the_docs_hand_another_account_grant_what_the_deploy_needs() {
    let topic = "arn:aws:sns:eu-west-1:444455556666:orders";
    let subscribe = docs_json("sources.md", "\"sns:Subscribe\"");
    assert_eq!(
        allows(
            &subscribe,
            "arn:aws:iam::111122223333:root",
            "sns:Subscribe",
            topic
        ),
        Decision::Allow
    );
    assert_ne!(
        allows(
            &subscribe,
            "arn:aws:iam::777788889999:root",
            "sns:Subscribe",
            topic
        ),
        Decision::Allow,
        "another account may subscribe"
    );
    assert_ne!(
        allows(
            &subscribe,
            "arn:aws:iam::111122223333:root",
            "sns:Publish",
            topic
        ),
        Decision::Allow,
        "the statement grants more than subscribing"
    );
    let trust = docs_json("targets.md", "\"sts:AssumeRole\"");
    let role = "arn:aws:iam::111122223333:role/qfleet-deployer";
    let ci = "arn:aws:iam::999988887777:role/ci-deployer";
    assert_eq!(allows(&trust, ci, "sts:AssumeRole", role), Decision::Allow);
    assert_ne!(
        allows(
            &trust,
            "arn:aws:iam::999988887777:role/other",
            "sts:AssumeRole",
            role
        ),
        Decision::Allow,
        "the trust policy names the whole account"
    );
}
