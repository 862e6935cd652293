//! Every combination works or is refused (issue 57, item 6). For each kind of worker, each
//! feature alone and each pair of features is written as a stack file, once with ordinary
//! names and once with the longest input the file allows, and:
//! - `qfleet validate` refuses it, saying why: then the pair is one of [`REFUSED`], which
//!   docs/stack-file.md lists with why (`QFLEET_WRITE_DOCS=1` writes that table);
//! - or `qfleet render --out` writes its templates, and every distinct one passes cfn-lint (no
//!   finding at all), every Guard rule set and checkov (no failed check);
//! - and every name a worker or its role uses at run time (the queue URLs and ARNs, the bucket,
//!   the job table and the stack it is read from, its own stack, its group, hooks, log group and
//!   cluster) names what that mode deploys under that name, once CloudFormation has filled in
//!   the pseudo parameters, the stack names and the imports: a direct deploy's stacks are
//!   `qfleet-ENV-data`, `qfleet-ENV-fleet` and `qfleet-ENV--STAGE-fleet`, a StackSets
//!   instance's `StackSet-SET-UUID`, whose imports are the data stack set's exports;
//! - and every limit AWS sets on a value qfleet builds holds on what AWS receives in that
//!   mode, at the longest input: EC2's user data, Lambda's environment, IAM's policy size, the
//!   names, the tags on each resource, the template body.
//!
//! The dashboard (`dashboard`, on by default) is in every case, so every pair is checked with
//! it, at the longest input too.
//!
//! `validate`, `render` and `iam-policy` run in-process (`qfleet::engine`, the commands' own
//! code: the `engine` test holds it to what they print), the cases on every core, each case
//! checked in the thread that rendered it; then the linters (`linters`: many templates a
//! process, on every core, a template an unchanged linter passed before not linted again).
//!
//! Offline: no emulator. The tools come from `CFN_LINT`, `CFN_GUARD` and `CHECKOV` (set by
//! scripts/test), as in `lint`.

use crate::common::*;
use crate::linters;
use qfleet::engine;
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ec2,
    Lambda,
    Fargate,
    EcsManaged,
}

const KINDS: [Kind; 4] = [Kind::Ec2, Kind::Lambda, Kind::Fargate, Kind::EcsManaged];
const ALL: &[Kind] = &KINDS;
const INSTANCES_AND_TASKS: &[Kind] = &[Kind::Ec2, Kind::Fargate, Kind::EcsManaged];
/// The kinds whose instances carry GPUs: EC2's, and the ones ECS Managed Instances launches.
const GPUS: &[Kind] = &[Kind::Ec2, Kind::EcsManaged];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ec2 => "ec2",
            Kind::Lambda => "lambda",
            Kind::Fargate => "fargate",
            Kind::EcsManaged => "ecs_managed",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Kind::Ec2 => "EC2",
            Kind::Lambda => "Lambda",
            Kind::Fargate => "Fargate",
            Kind::EcsManaged => "ECS Managed Instances",
        }
    }
}

/// A feature of the stack file: its name here, the setting that turns it on (as the docs say
/// it), the kinds of worker it applies to, and the group of settings it is one choice of (a
/// pair of two choices of one setting is no pair).
struct Feature {
    name: &'static str,
    setting: &'static str,
    kinds: &'static [Kind],
    choice_of: Option<&'static str>,
}

const FEATURES: &[Feature] = &[
    Feature {
        name: "jobs",
        setting: "`jobs` with `queue.retry` and `limits`",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "stages",
        setting: "`stages`",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "alerts",
        setting: "`alerts` with `budget` (and `budget.hold`)",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "copies",
        setting: "`copies`",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "targets",
        setting: "`targets` (`rollout.mode: direct`)",
        kinds: ALL,
        choice_of: Some("rollout"),
    },
    Feature {
        name: "stack_sets",
        setting: "`rollout.mode: stack_sets` (self-managed)",
        kinds: ALL,
        choice_of: Some("rollout"),
    },
    Feature {
        name: "service_managed",
        setting: "`rollout.permission_model: service_managed`",
        kinds: ALL,
        choice_of: Some("rollout"),
    },
    Feature {
        name: "spot",
        setting: "`workers.spot`",
        kinds: INSTANCES_AND_TASKS,
        choice_of: None,
    },
    Feature {
        name: "warm_pool",
        setting: "`workers.warm_pool`",
        kinds: &[Kind::Ec2],
        choice_of: None,
    },
    Feature {
        name: "gpu",
        setting: "`workers.gpu`",
        kinds: GPUS,
        choice_of: None,
    },
    Feature {
        name: "high_resolution",
        setting: "`scaling.metric: high_resolution`",
        kinds: &[Kind::Ec2],
        choice_of: None,
    },
    Feature {
        name: "scale_from_zero",
        setting: "`scaling.scale_from_zero`",
        kinds: INSTANCES_AND_TASKS,
        choice_of: None,
    },
    Feature {
        name: "kms_key",
        setting: "`kms_key`",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "secrets",
        setting: "`workers.secrets`",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "image",
        setting: "`workers.image`",
        kinds: INSTANCES_AND_TASKS,
        choice_of: Some("image"),
    },
    Feature {
        name: "lambda_image",
        setting: "`workers.lambda.image`",
        kinds: &[Kind::Lambda],
        choice_of: Some("image"),
    },
    Feature {
        name: "build",
        setting: "`workers.image.build`",
        kinds: ALL,
        choice_of: Some("image"),
    },
    Feature {
        name: "sources",
        setting: "`sources` (messages and topics) with `queue.tenant` and `queue.priority`",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "fifo",
        setting: "`queue.fifo` (no uploads)",
        kinds: ALL,
        choice_of: None,
    },
    Feature {
        name: "egress",
        setting: "`workers.egress` and `workers.security_groups`",
        kinds: INSTANCES_AND_TASKS,
        choice_of: None,
    },
];

fn feature(name: &str) -> &'static Feature {
    FEATURES
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no feature {name}"))
}

const ROLLOUTS: &[&str] = &["targets", "stack_sets", "service_managed"];

/// A pair `validate` refuses, for the kinds it names: `a` with each of `b`. `why` is the docs
/// table's cell; `says`, words validate's message must hold. `shape`: refused only in that
/// shape of the pair (the test writes it besides the one that works).
struct Refused {
    kinds: &'static [Kind],
    a: &'static str,
    b: &'static [&'static str],
    shape: Option<Shape>,
    why: &'static str,
    says: &'static str,
}

/// A shape of a pair that the test writes besides the one that works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    /// The file's targets in two Regions.
    TwoRegions,
}

const REFUSED: &[Refused] = &[
    Refused {
        kinds: ALL,
        a: "copies",
        b: ROLLOUTS,
        shape: None,
        why: "a target is an environment of its own: list the copies as targets",
        says: "copies and targets do not go together",
    },
    Refused {
        kinds: &[Kind::Ec2],
        a: "spot",
        b: &["warm_pool"],
        shape: None,
        why: "AWS puts no warm pool on a group with Spot Instances",
        says: "a warm pool needs one instance type and no Spot",
    },
    Refused {
        kinds: &[Kind::Ec2],
        a: "warm_pool",
        b: &["image"],
        shape: None,
        why: "a container would read the queue while its instance waits in the pool",
        says: "a warm pool needs the reference worker",
    },
    Refused {
        kinds: &[Kind::Ec2],
        a: "warm_pool",
        b: &["build"],
        shape: None,
        why: "a container would read the queue while its instance waits in the pool",
        says: "a warm pool needs the reference worker",
    },
    Refused {
        kinds: ALL,
        a: "build",
        b: &["stack_sets", "service_managed"],
        shape: None,
        why: "qfleet pushes the image it builds to one account's repository",
        says: "stack_sets cannot deploy an image qfleet builds",
    },
    Refused {
        kinds: &[Kind::Lambda],
        a: "lambda_image",
        b: ROLLOUTS,
        shape: Some(Shape::TwoRegions),
        why: "targets outside the image's Region: they share the image, and Lambda pulls from its own Region only",
        says: "Lambda takes an image only from a repository in the function's Region",
    },
    Refused {
        kinds: ALL,
        a: "sources",
        b: ROLLOUTS,
        shape: Some(Shape::TwoRegions),
        why: "targets outside a topic's Region: a subscription and its dead-letter queue share the topic's Region",
        says: "a subscription's dead-letter queue must be in the topic's region",
    },
    Refused {
        kinds: INSTANCES_AND_TASKS,
        a: "stages",
        b: &["stack_sets", "service_managed"],
        shape: Some(Shape::TwoRegions),
        why: "targets in several Regions: a pipeline's targets share their stages' networks",
        says: "a pipeline's targets share their stages' networks",
    },
];

/// The refusal of `kind` with these features in this shape, if there is one.
fn refusal(kind: Kind, names: &[&str], shape: Option<Shape>) -> Option<&'static Refused> {
    REFUSED.iter().find(|r| {
        r.kinds.contains(&kind)
            && r.shape == shape
            && names.contains(&r.a)
            && r.b.iter().any(|b| names.contains(b))
    })
}

/// How long the names and prefixes of a stack file are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Size {
    Plain,
    /// The longest the stack file allows: an environment name of 24 characters (with copies
    /// or targets, the longest that leaves their names within 24), targets of 8, stages of 16,
    /// prefixes of 512, the longest Region names, an owner of 128 and as many tags as validate
    /// takes.
    Longest,
}

/// One stack file of the test: a kind, one or two features, a size and a shape.
#[derive(Clone, Debug)]
struct Case {
    kind: Kind,
    features: Vec<&'static str>,
    size: Size,
    shape: Option<Shape>,
}

impl Case {
    fn has(&self, name: &str) -> bool {
        self.features.contains(&name)
    }
    fn id(&self) -> String {
        let size = match self.size {
            Size::Plain => "",
            Size::Longest => "--longest",
        };
        let shape = match self.shape {
            None => "",
            Some(Shape::TwoRegions) => "--two-regions",
        };
        format!(
            "{}--{}{size}{shape}",
            self.kind.name(),
            self.features.join("+")
        )
    }
    fn label(&self) -> String {
        format!("{} {}", self.kind.label(), self.features.join(" + "))
    }
    fn rollout(&self) -> Option<&'static str> {
        ROLLOUTS.iter().copied().find(|r| self.has(r))
    }
    fn stack_sets(&self) -> bool {
        self.has("stack_sets") || self.has("service_managed")
    }
}

const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
/// The name of the team's own topic `alerts.topic` names (in one of [`ACCOUNTS`]).
const TEAM_TOPIC: &str = "oncall";
/// The account a file without targets is deployed in.
const ONE_ACCOUNT: &str = "123456789012";

/// Where a case's environments are: each target's name, account and Region (one place for a
/// file without targets).
struct Place {
    target: Option<String>,
    account: &'static str,
    region: &'static str,
}

struct Names {
    env: String,
    targets: [&'static str; 2],
    stages: [&'static str; 3],
    regions: [&'static str; 2],
}

impl Case {
    fn names(&self) -> Names {
        match self.size {
            Size::Plain => Names {
                env: "pp".into(),
                targets: ["eu", "us"],
                stages: ["first", "second", "third"],
                regions: ["eu-west-1", "us-east-1"],
            },
            Size::Longest => {
                // An environment name of 24 characters at most: `ENV-01`, `ENV-TARGET` too.
                let len = if self.rollout().is_some() {
                    24 - 1 - 8
                } else if self.has("copies") {
                    24 - 3
                } else {
                    24
                };
                Names {
                    env: "abcdefghijklmnopqrstuvwx"[..len].to_string(),
                    targets: ["alphaone", "bravotwo"],
                    stages: ["firstabcdefghijk", "secondabcdefghij", "thirdabcdefghijk"],
                    regions: ["ap-southeast-7", "ap-northeast-3"],
                }
            }
        }
    }

    /// Each target in its own account; in two Regions unless the pair needs one (a function's
    /// image is of one Region; a pipeline's targets share their stages' networks through
    /// StackSets), or the shape asks for two.
    fn places(&self) -> Vec<Place> {
        let n = self.names();
        let one_region = self.shape.is_none()
            && (self.has("lambda_image")
                || self.has("sources")
                || (self.stack_sets() && self.has("stages") && self.kind != Kind::Lambda));
        match self.rollout() {
            None => vec![Place {
                target: None,
                account: ONE_ACCOUNT,
                region: n.regions[0],
            }],
            Some(_) => (0..2)
                .map(|i| Place {
                    target: Some(n.targets[i].to_string()),
                    account: ACCOUNTS[i],
                    region: if one_region {
                        n.regions[0]
                    } else {
                        n.regions[i]
                    },
                })
                .collect(),
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(x) if x.is_object() && v.is_object() => merge(x, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (a, b) => *a = b,
    }
}

fn kms_key(region: &str, account: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
}

fn network(region: &str, i: usize) -> Value {
    json!({
        "vpc": format!("vpc-0a1b2c3d4e5f6071{i}"),
        "subnets": {
            format!("{region}a"): format!("subnet-0a1b2c3d4e5f6{i}001"),
            format!("{region}b"): format!("subnet-0a1b2c3d4e5f6{i}002"),
        }
    })
}

/// The case's stack file: the kind's workers, each feature's settings deep-merged in.
fn stack_file(case: &Case, tags: usize) -> Value {
    let n = case.names();
    let places = case.places();
    let region = n.regions[0];
    let mut file = json!({"environment": n.env, "region": region, "lab": true});
    let mut unit = match case.kind {
        Kind::Ec2 => json!({"workers": {"min": 1, "max": 4}}),
        Kind::Lambda => json!({"workers": {"kind": "lambda"}}),
        Kind::Fargate => json!({"workers": {
            "kind": "fargate", "image": "public.ecr.aws/docker/library/python:3.12",
            "min": 1, "max": 4}}),
        Kind::EcsManaged => json!({"workers": {
            "kind": "ecs_managed", "image": "public.ecr.aws/docker/library/python:3.12",
            "min": 1, "max": 4}}),
    };
    let ecr = |path: &str| format!("{}.dkr.ecr.{region}.amazonaws.com/{path}", ACCOUNTS[0]);
    for f in &case.features {
        match *f {
            // Jobs a user follows, and failed attempts that back off (the record says when
            // the next comes): the two together, so that retries meet every other feature
            // without cases of their own.
            "jobs" => {
                merge(&mut file, json!({"jobs": {}}));
                merge(
                    &mut unit,
                    json!({"queue": {"retry": {"backoff": "10s", "max_delay": "5m", "jitter": "full"}}}),
                );
                // And a limit the workers share (instances and tasks; a function has its
                // max_concurrency), its name the longest at the longest input.
                if case.kind != Kind::Lambda {
                    let limit = match case.size {
                        Size::Plain => "db".to_string(),
                        Size::Longest => "d".repeat(32),
                    };
                    merge(&mut file, json!({"limits": {&limit: 20}}));
                    merge(&mut unit, json!({"workers": {"limits": [limit]}}));
                }
            }
            // Every destination at once: the most the data stack and the workers' role carry.
            // A topic is of one region (an alarm publishes in its own): none with targets,
            // which deploy to several.
            "alerts" => {
                let mut alerts = json!({
                    "email": ["oncall@example.com", "lead@example.com"],
                    "slack": {"workspace": "T0123ABCD", "channel": "C0123ABCD"},
                    "teams": {"tenant": "1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f",
                              "team": "0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f",
                              "channel": "19:b6ef35dc342d56ba5654e6fc6d25a071@thread.tacv2"}});
                if !["targets", "stack_sets", "service_managed"]
                    .iter()
                    .any(|f| case.has(f))
                {
                    alerts["topic"] = json!(format!(
                        "arn:{}:sns:{region}:{}:{TEAM_TOPIC}",
                        partition(region),
                        ACCOUNTS[0]
                    ));
                }
                merge(&mut file, json!({"alerts": alerts}));
                // And a budget with every notification AWS Budgets takes, to the alarm topic,
                // that holds the fleets at the cap: instances and tasks (a function is not
                // held: validate refuses a hold with nothing to hold).
                merge(
                    &mut file,
                    json!({"budget": {"amount": 500, "notify_at": [50, 80, 100, 120, 150],
                                      "hold": case.kind != Kind::Lambda}}),
                );
            }
            "copies" => merge(&mut file, json!({"copies": 3})),
            "spot" => {
                let spot = json!({"percent": 70, "on_demand_base": 1});
                match case.kind {
                    Kind::Ec2 => {
                        let types = match case.has("gpu") {
                            true => ["g5.xlarge", "g4dn.xlarge"],
                            false => ["t3.small", "t3a.small"],
                        };
                        merge(
                            &mut unit,
                            json!({"workers": {"instance_types": types, "spot": spot}}),
                        )
                    }
                    _ => merge(&mut unit, json!({"workers": {"spot": spot}})),
                }
            }
            "warm_pool" => merge(
                &mut unit,
                json!({"workers": {"warm_pool": {"min_size": 1}}}),
            ),
            // One NVIDIA GPU; with Spot, the spot arm lists GPU types instead.
            // On Managed Instances, ECS chooses the GPU type: the model names it.
            "gpu" if case.kind == Kind::EcsManaged => merge(
                &mut unit,
                json!({"workers": {"gpu": {"count": 1, "accelerator": "A10G"}}}),
            ),
            "gpu" if case.has("spot") => {
                merge(&mut unit, json!({"workers": {"gpu": {"count": 1}}}))
            }
            "gpu" => merge(
                &mut unit,
                json!({"workers": {"instance_type": "g5.xlarge", "gpu": {"count": 1}}}),
            ),
            "high_resolution" => {
                merge(&mut unit, json!({"scaling": {"metric": "high_resolution"}}))
            }
            "scale_from_zero" => merge(
                &mut unit,
                json!({"workers": {"min": 0}, "scaling": {"scale_from_zero": true}}),
            ),
            "kms_key" => merge(&mut file, json!({"kms_key": kms_key(region, ACCOUNTS[0])})),
            "secrets" => merge(
                &mut unit,
                json!({"workers": {"secrets": {
                    "API_KEY": "secretsmanager:app/api-key", "DB_PASSWORD": "ssm:/app/db-password"}}}),
            ),
            "image" => merge(&mut unit, json!({"workers": {"image": ecr("worker:1.4")}})),
            // The context the test writes beside the stack files (`src/Dockerfile`).
            "build" => {
                let build = json!({"build": {"context": "src", "args": {"VERSION": "1"}}});
                match case.kind {
                    Kind::Lambda => {
                        merge(&mut unit, json!({"workers": {"lambda": {"image": build}}}))
                    }
                    _ => merge(&mut unit, json!({"workers": {"image": build}})),
                }
            }
            "lambda_image" => merge(
                &mut unit,
                json!({"workers": {"lambda": {"image": ecr(&format!("worker@sha256:{}", "a".repeat(64)))}}}),
            ),
            "fifo" => merge(
                &mut unit,
                json!({"queue": {"fifo": true, "content_based_deduplication": true},
                       "sources": {"uploads": false, "messages": {}}}),
            ),
            "sources" => {
                // Producers of another account, and topics of the file's first Region; at the
                // longest, as many as validate takes, with the longest topic names. A FIFO
                // stage takes FIFO topics.
                let fifo = case.has("fifo");
                let suffix = if fifo { ".fifo" } else { "" };
                let (producers, count, name) = match case.size {
                    Size::Plain => (1, 2, "orders".to_string()),
                    Size::Longest => (20, 10, "t".repeat(250 - suffix.len())),
                };
                let producers: Vec<String> = (0..producers)
                    .map(|i| {
                        format!(
                            "arn:{}:iam::777788889999:role/producer-{i:02}",
                            partition(region)
                        )
                    })
                    .collect();
                let topics: Vec<Value> = (0..count)
                    .map(|i| json!({"arn": format!("arn:{}:sns:{region}:{}:{name}{i:02}{suffix}", partition(region), ACCOUNTS[1])}))
                    .collect();
                // Schedules: a cron in a time zone with a window, and a rate; at the longest, as
                // many as validate takes, with the longest names (each stage's its own).
                let schedules: Vec<Value> = (0..count)
                    .map(|i| match i % 2 {
                        0 => json!({"name": schedule_name(case.size, 0, i), "cron": "0 2 * * ? *",
                                    "timezone": "America/Argentina/ComodRivadavia", "window": "15m",
                                    "body": {"report": "daily"}}),
                        _ => json!({"name": schedule_name(case.size, 0, i), "rate": "15 minutes"}),
                    })
                    .collect();
                merge(
                    &mut unit,
                    json!({"sources": {"messages": {"producers": producers}, "topics": topics,
                                       "schedules": schedules}}),
                );
                // Fair shares: each stage reads its jobs' tenant from an attribute (the
                // longest name SQS takes at the longest).
                let attribute = match case.size {
                    Size::Plain => "customer".to_string(),
                    Size::Longest => "c".repeat(256),
                };
                merge(
                    &mut unit,
                    json!({"queue": {"tenant": {"attribute": attribute}}}),
                );
                // A priority lane where producers send (not on a FIFO stage, which validate
                // refuses): the most urgent jobs in a row, or a function's own concurrency,
                // the largest validate takes at the longest.
                if !fifo {
                    let priority = match (case.kind, case.size) {
                        (Kind::Lambda, Size::Plain) => json!({"max_concurrency": 3}),
                        (Kind::Lambda, Size::Longest) => json!({"max_concurrency": 1000}),
                        (_, Size::Plain) => json!({"weight": 4}),
                        (_, Size::Longest) => json!({"weight": 100}),
                    };
                    merge(&mut unit, json!({"queue": {"priority": priority}}));
                }
            }
            "egress" => {
                // A database's CIDR, a cache's group and a prefix list; at the longest, as many
                // rules and groups as validate takes.
                let (rules, groups) = match case.size {
                    Size::Plain => (3, 1),
                    Size::Longest => (59, 4),
                };
                // Targets in several accounts share no group or prefix list (an id names one
                // in one account and Region: validate refuses it): CIDRs only.
                let by_id = case.rollout().is_none();
                let groups = if by_id { groups } else { 0 };
                let rules: Vec<Value> = (0..rules)
                    .map(|i| match if by_id { i % 3 } else { 0 } {
                        0 => json!({"port": 5432 + i, "cidr": "10.20.0.0/16", "description": "Postgres"}),
                        1 => json!({"port": 6379 + i, "security_group": "sg-0123456789abcdef0"}),
                        _ => json!({"protocol": "udp", "port": format!("{}-{}", 8000 + i, 8100 + i), "prefix_list": "pl-0123abcd"}),
                    })
                    .collect();
                let groups: Vec<String> = (0..groups)
                    .map(|i| format!("sg-0fedcba987654321{i}"))
                    .collect();
                merge(
                    &mut unit,
                    json!({"workers": {"egress": rules, "security_groups": groups}}),
                )
            }
            "stages" | "targets" | "stack_sets" | "service_managed" => {}
            other => panic!("no settings for feature {other}"),
        }
    }
    if case.size == Size::Longest {
        merge(
            &mut file,
            json!({
                "owner": "o".repeat(128),
                "bucket": {
                    "upload_prefix": format!("{}/", "u".repeat(511)),
                    "processed_prefix": format!("{}/", "p".repeat(511)),
                }
            }),
        );
    }
    // A pipeline's targets through StackSets share their stages' networks.
    let shared_network = case.stack_sets() && case.kind != Kind::Lambda;
    if case.has("stages") {
        let stage = |i: usize| {
            let mut s = json!({"name": n.stages[i]});
            match i {
                1 => merge(&mut s, json!({"fed_by": "messages"})),
                // S3 cannot feed a FIFO queue: with `fifo`, every stage is fed by messages.
                2 => merge(
                    &mut s,
                    json!({"fed_by": if case.has("fifo") { "messages" } else { "objects" }}),
                ),
                _ => {}
            }
            if i > 0 && case.size == Size::Longest {
                let c = ["", "b", "c"][i];
                merge(&mut s, json!({"prefix": format!("{}/", c.repeat(511))}));
            }
            merge(&mut s, unit.clone());
            // `sources.uploads` is the first stage's.
            if i > 0
                && let Some(sources) = s["sources"].as_object_mut()
            {
                sources.remove("uploads");
            }
            // Schedule names are unique in the environment: each stage's are its own.
            if let Some(list) = s["sources"]["schedules"].as_array_mut() {
                for (j, schedule) in list.iter_mut().enumerate() {
                    schedule["name"] = json!(schedule_name(case.size, i, j));
                }
            }
            if shared_network {
                merge(&mut s, json!({"workers": {"network": network(region, 0)}}));
            }
            s
        };
        file["stages"] = json!([stage(0), stage(1), stage(2)]);
    } else {
        merge(&mut file, unit);
    }
    if let Some(rollout) = case.rollout() {
        merge(&mut file, json!({"deploy_role": "qfleet-deployer"}));
        if rollout != "targets" {
            let mut r = json!({"mode": "stack_sets", "administration_account": "999999999999"});
            if rollout == "service_managed" {
                merge(&mut r, json!({"permission_model": "service_managed"}));
            }
            file["rollout"] = r;
        }
        let targets: Vec<Value> = places
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut t = json!({
                    "name": p.target.clone().unwrap_or_default(),
                    "account": p.account,
                    "region": p.region,
                });
                if rollout == "service_managed" {
                    merge(
                        &mut t,
                        json!({"organizational_unit": format!("ou-ab12-34cd56e{i}")}),
                    );
                }
                if case.stack_sets() && case.kind != Kind::Lambda && !case.has("stages") {
                    merge(
                        &mut t,
                        json!({"workers": {"network": network(p.region, i)}}),
                    );
                }
                if case.has("kms_key") {
                    merge(&mut t, json!({"kms_key": kms_key(p.region, p.account)}));
                }
                t
            })
            .collect();
        file["targets"] = Value::Array(targets);
    }
    if tags > 0 {
        let t: Map<String, Value> = (0..tags)
            .map(|i| (format!("tag{i:02}"), json!("v")))
            .collect();
        file["tags"] = Value::Object(t);
    }
    file
}

/// Every case: each kind with each feature alone and each pair of its features (two choices
/// of one setting are no pair), at both sizes, and each refused shape of a pair.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for kind in KINDS {
        let fs: Vec<&Feature> = FEATURES
            .iter()
            .filter(|f| f.kinds.contains(&kind))
            .collect();
        let mut sets: Vec<Vec<&'static str>> = fs.iter().map(|f| vec![f.name]).collect();
        for (i, a) in fs.iter().enumerate() {
            for b in &fs[i + 1..] {
                if a.choice_of.is_some() && a.choice_of == b.choice_of {
                    continue;
                }
                sets.push(vec![a.name, b.name]);
            }
        }
        for features in sets {
            for size in [Size::Plain, Size::Longest] {
                out.push(Case {
                    kind,
                    features: features.clone(),
                    size,
                    shape: None,
                });
            }
            if let Some(r) = REFUSED.iter().find(|r| {
                r.shape.is_some()
                    && r.kinds.contains(&kind)
                    && features.contains(&r.a)
                    && r.b.iter().any(|b| features.contains(b))
            }) {
                out.push(Case {
                    kind,
                    features: features.clone(),
                    size: Size::Plain,
                    shape: r.shape,
                });
            }
        }
        // A feature of other kinds only: refused, saying which kinds it applies to.
        for f in FEATURES.iter().filter(|f| !f.kinds.contains(&kind)) {
            out.push(Case {
                kind,
                features: vec![f.name],
                size: Size::Plain,
                shape: None,
            });
        }
    }
    out
}

/// Whether a case names a feature its kind does not take.
fn inapplicable(c: &Case) -> bool {
    c.features
        .iter()
        .any(|f| !feature(f).kinds.contains(&c.kind))
}

/// What `validate` said of a stack file.
struct Verdict {
    ok: bool,
    message: String,
}

/// `qfleet validate FILE -o json`, in-process ([`engine::validate`]).
fn validate(path: &Path) -> Verdict {
    match engine::validate(&[path]) {
        Ok(doc) => Verdict {
            ok: doc["ok"] == true,
            message: String::new(),
        },
        Err(f) => Verdict {
            ok: false,
            message: f.message().to_string(),
        },
    }
}

/// The room for tags a stack file has (the tightest of its environments'): the most tags the
/// file may have and the tags qfleet adds, as validate says them of a file with too many.
fn tag_room(path: &Path) -> Option<(usize, Vec<String>)> {
    engine::tag_room(path)
        .ok()?
        .into_iter()
        .map(|(_, room)| (room.most, room.qfleet_adds))
        .min_by_key(|(most, _)| *most)
}

/// One case written, validated and, when valid, rendered.
struct Outcome {
    case: Case,
    verdict: Verdict,
    /// The tags qfleet adds, and the most the file may have (the longest case).
    tags: Option<(usize, Vec<String>)>,
    out: PathBuf,
}

fn run_case(dir: &Path, case: &Case) -> Outcome {
    let path = dir.join(format!("{}.yaml", case.id()));
    let write = |tags: usize| {
        let text = serde_yaml_ng::to_string(&stack_file(case, tags)).unwrap();
        std::fs::write(&path, text).unwrap();
    };
    let mut tags = None;
    write(0);
    if case.size == Size::Longest {
        // As many tags as validate takes: the engine says how many, and which tags qfleet adds.
        tags = tag_room(&path);
        write(tags.as_ref().map_or(0, |(most, _)| *most));
    }
    let verdict = validate(&path);
    let out = dir.join("out").join(case.id());
    if verdict.ok
        && let Err(f) = engine::render(&[&path], Some(&out))
    {
        panic!("{}: validate passed, render failed: {f}", case.label());
    }
    Outcome {
        case: case.clone(),
        verdict,
        tags,
        out,
    }
}

/// Every check of a rendered case's deployments: its policies ([`policy_problems`]), and each
/// deployment's names and limits ([`check_deployment`]).
fn case_problems(dir: &Path, o: &Outcome) -> Vec<String> {
    if !o.verdict.ok || inapplicable(&o.case) {
        return Vec::new();
    }
    let ds = deployments(o);
    let mut problems = policy_problems(dir, o, &ds);
    let tags = (o.case.size == Size::Longest)
        .then_some(o.tags.as_ref())
        .flatten();
    for d in &ds {
        problems.extend(check_deployment(d, tags));
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Templates as CloudFormation reads them, and as a mode deploys them.

/// A template (YAML with CloudFormation's short forms, or JSON) in its long form, as JSON.
pub(crate) fn long_form(text: &str) -> Value {
    fn conv(v: serde_yaml_ng::Value) -> Value {
        use serde_yaml_ng::Value as Y;
        match v {
            Y::Null => Value::Null,
            Y::Bool(b) => Value::Bool(b),
            Y::Number(n) => serde_json::to_value(&n).unwrap(),
            Y::String(s) => Value::String(s),
            Y::Sequence(items) => Value::Array(items.into_iter().map(conv).collect()),
            Y::Mapping(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().map(str::to_string).unwrap_or_else(|| {
                                serde_yaml_ng::to_string(&k).unwrap().trim().to_string()
                            }),
                            conv(v),
                        )
                    })
                    .collect(),
            ),
            Y::Tagged(t) => {
                let tag = t.tag.to_string();
                let name = tag.trim_start_matches('!').to_string();
                let value = conv(t.value);
                match name.as_str() {
                    "Ref" => json!({ "Ref": value }),
                    "GetAtt" => match value {
                        Value::String(s) => {
                            let (r, a) = s.split_once('.').unwrap();
                            json!({ "Fn::GetAtt": [r, a] })
                        }
                        other => json!({ "Fn::GetAtt": other }),
                    },
                    _ => json!({ format!("Fn::{name}"): value }),
                }
            }
        }
    }
    conv(serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}")))
}

/// One stack as a mode deploys it: its name and its template.
pub(crate) struct Stack {
    pub(crate) name: String,
    pub(crate) file: PathBuf,
    pub(crate) template: Value,
}

/// One environment as a mode deploys it: where, and its stacks (the data stack first).
pub(crate) struct Deployment {
    pub(crate) label: String,
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) stacks: Vec<Stack>,
}

/// A schedule's name in a case: stage `stage`'s `i`th, at most 64 characters.
fn schedule_name(size: Size, stage: usize, i: usize) -> String {
    match size {
        Size::Plain => format!("s{stage}-{i}"),
        Size::Longest => format!("{}-{stage}-{i:02}", "n".repeat(64 - 6)),
    }
}

pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn url_suffix(region: &str) -> &'static str {
    match partition(region) {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    }
}

/// The stack a direct deploy names for a rendered file: `data.yaml` is `qfleet-ENV-data`,
/// `fleet.yaml` `qfleet-ENV-fleet`, `fleet-STAGE.yaml` `qfleet-ENV--STAGE-fleet`
/// (docs/stack-file.md, "Names and stacks").
pub(crate) fn direct_stack_name(env: &str, file: &str) -> String {
    match file.strip_suffix(".yaml").unwrap() {
        "data" => format!("qfleet-{env}-data"),
        "fleet" => format!("qfleet-{env}-fleet"),
        f => format!("qfleet-{env}--{}-fleet", f.strip_prefix("fleet-").unwrap()),
    }
}

pub(crate) fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    // The data stack first, then the fleets in their stages' order.
    files.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        (n != "data.yaml", n != "fleet.yaml", n)
    });
    files
}

/// The environments a rendered case deploys, as its mode deploys them.
fn deployments(o: &Outcome) -> Vec<Deployment> {
    let case = &o.case;
    let places = case.places();
    let env = case.names().env;
    if case.stack_sets() {
        // StackSets names each instance's stack `StackSet-SET-UUID` and gives it the stack set's
        // one template, which reads its values from the mappings by the instance's Region and
        // account (`render::merged`).
        let sets = o.out.join("stack-sets");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&sets)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort_by_key(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            (!n.ends_with("-data.json"), n)
        });
        return places
            .iter()
            .enumerate()
            .map(|(i, p)| Deployment {
                label: format!("{} (StackSets) {} {}", case.label(), p.account, p.region),
                region: p.region.to_string(),
                account: p.account.to_string(),
                stacks: files
                    .iter()
                    .enumerate()
                    .map(|(j, f)| {
                        let set = f.file_stem().unwrap().to_string_lossy().into_owned();
                        Stack {
                            name: format!(
                                "StackSet-{set}-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c{i}{j}"
                            ),
                            file: f.clone(),
                            template: long_form(&std::fs::read_to_string(f).unwrap()),
                        }
                    })
                    .collect(),
            })
            .collect();
    }
    let mut envs: Vec<(String, &Place)> = Vec::new();
    match (case.has("copies"), places.first()) {
        (true, Some(p)) => {
            for i in 1..=3 {
                envs.push((format!("{env}-{i:02}"), p));
            }
        }
        _ => {
            for p in &places {
                let name = match &p.target {
                    Some(t) => format!("{env}-{t}"),
                    None => env.clone(),
                };
                envs.push((name, p));
            }
        }
    }
    envs.iter()
        .map(|(name, p)| {
            let dir = if envs.len() == 1 {
                o.out.clone()
            } else {
                o.out.join(name)
            };
            Deployment {
                label: format!("{} {name} {} {}", case.label(), p.account, p.region),
                region: p.region.to_string(),
                account: p.account.to_string(),
                stacks: yaml_files(&dir)
                    .into_iter()
                    .map(|f| Stack {
                        name: direct_stack_name(name, &f.file_name().unwrap().to_string_lossy()),
                        template: long_form(&std::fs::read_to_string(&f).unwrap()),
                        file: f,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The templates CloudFormation receives for a rendered case: a StackSets file's stack sets'
/// templates, a direct deploy's every environment's (one copy stands for all).
fn deployed_files(o: &Outcome) -> Vec<PathBuf> {
    if o.case.stack_sets() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(o.out.join("stack-sets"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        return files;
    }
    let d = deployments(o);
    d.iter()
        .take(if o.case.has("copies") { 1 } else { d.len() })
        .flat_map(|d| d.stacks.iter().map(|s| s.file.clone()))
        .collect()
}

/// CloudFormation's functions applied as it does for one stack of a deployment: pseudo
/// parameters, parameters' defaults, `Fn::Sub`, the mappings, the imports. A reference to a
/// resource stays a token `<Id>` or `<Id.Attr>`; what cannot be resolved is a problem.
struct Resolver<'a> {
    region: &'a str,
    account: &'a str,
    stack: &'a str,
    template: &'a Value,
    exports: &'a BTreeMap<String, String>,
    problems: RefCell<Vec<String>>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Resolver<'_> {
    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Region" => self.region.into(),
            "AWS::AccountId" => self.account.into(),
            "AWS::Partition" => partition(self.region).into(),
            "AWS::URLSuffix" => url_suffix(self.region).into(),
            "AWS::StackName" => self.stack.into(),
            // A property left out.
            "AWS::NoValue" => NO_VALUE.into(),
            // The stack's ARN; its last part is an id CloudFormation makes.
            "AWS::StackId" => format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/<id>",
                partition(self.region),
                self.region,
                self.account,
                self.stack
            ),
            _ => match self
                .template
                .pointer(&format!("/Parameters/{name}/Default"))
            {
                Some(d) => text(d),
                None => {
                    // A parameter without a default (a direct deploy's network) is set by the
                    // deploy; a resource's reference stays a token.
                    let known = ["Parameters", "Resources"]
                        .iter()
                        .any(|s| self.template.pointer(&format!("/{s}/{name}")).is_some());
                    if !known && !name.contains('.') {
                        self.problem(format!("references {name}, which the template lacks"));
                    }
                    format!("<{name}>")
                }
            },
        }
    }

    fn problem(&self, p: String) {
        self.problems
            .borrow_mut()
            .push(format!("{}: {p}", self.stack));
    }

    fn sub(&self, template: &str, vars: &Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let Some(end) = after.find('}') else {
                out.push_str("${");
                rest = after;
                continue;
            };
            let name = &after[..end];
            match vars.get(name) {
                Some(v) => out.push_str(&text(&self.resolve(v))),
                None => out.push_str(&self.reference(name)),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn resolve(&self, v: &Value) -> Value {
        let Value::Object(o) = v else {
            return match v {
                Value::Array(a) => Value::Array(
                    a.iter()
                        .map(|x| self.resolve(x))
                        .filter(|x| x != NO_VALUE)
                        .collect(),
                ),
                other => other.clone(),
            };
        };
        if o.len() == 1 {
            let (k, arg) = o.iter().next().unwrap();
            match k.as_str() {
                "Ref" => return Value::String(self.reference(&text(arg))),
                "Fn::GetAtt" => {
                    let parts: Vec<String> = arg
                        .as_array()
                        .map(|a| a.iter().map(text).collect())
                        .unwrap_or_default();
                    if self
                        .template
                        .pointer(&format!("/Resources/{}", parts[0]))
                        .is_none()
                    {
                        self.problem(format!("GetAtt of {}, which the template lacks", parts[0]));
                    }
                    return Value::String(format!("<{}>", parts.join(".")));
                }
                "Fn::Sub" => {
                    return Value::String(match arg {
                        Value::String(s) => self.sub(s, &Map::new()),
                        Value::Array(a) => self.sub(
                            a[0].as_str().unwrap(),
                            a[1].as_object().unwrap_or(&Map::new()),
                        ),
                        other => panic!("Fn::Sub of {other}"),
                    });
                }
                "Fn::ImportValue" => {
                    let name = text(&self.resolve(arg));
                    return Value::String(match self.exports.get(&name) {
                        Some(v) => v.clone(),
                        None => {
                            self.problem(format!(
                                "imports {name}, which no stack of its deployment exports"
                            ));
                            format!("<import {name}>")
                        }
                    });
                }
                "Fn::FindInMap" => {
                    let a: Vec<String> = arg
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| text(&self.resolve(x)))
                        .collect();
                    return match self
                        .template
                        .pointer(&format!("/Mappings/{}/{}/{}", a[0], a[1], a[2]))
                    {
                        Some(found) => found.clone(),
                        None => {
                            self.problem(format!(
                                "finds nothing in mapping {} for {} {}",
                                a[0], a[1], a[2]
                            ));
                            Value::Null
                        }
                    };
                }
                "Fn::Join" => {
                    let a = arg.as_array().unwrap();
                    let items = self.resolve(&a[1]);
                    let parts: Vec<String> = items
                        .as_array()
                        .map(|i| i.iter().map(text).collect())
                        .unwrap_or_default();
                    return Value::String(parts.join(&text(&a[0])));
                }
                "Fn::Split" => {
                    let a = arg.as_array().unwrap();
                    let s = text(&self.resolve(&a[1]));
                    return Value::Array(s.split(&text(&a[0])).map(|x| json!(x)).collect());
                }
                "Fn::Select" => {
                    let a = arg.as_array().unwrap();
                    let list = self.resolve(&a[1]);
                    let i: usize = text(&self.resolve(&a[0])).parse().unwrap();
                    return list.get(i).cloned().unwrap_or(Value::Null);
                }
                "Fn::Base64" => return self.resolve(arg),
                // A condition decided from what the resolver knows (pseudo parameters,
                // defaults) picks its branch; one that depends on a value the deploy sets
                // stays as written.
                "Fn::If" => {
                    let a = arg.as_array().unwrap();
                    match self.condition(&text(&a[0])) {
                        Some(true) => return self.resolve(&a[1]),
                        Some(false) => return self.resolve(&a[2]),
                        None => {}
                    }
                }
                "Fn::GetAZs" => {
                    return json!([format!("{}a", self.region), format!("{}b", self.region)]);
                }
                _ => {}
            }
        }
        // `AWS::NoValue` leaves the property out ("Pseudo parameters reference",
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html).
        Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), self.resolve(v)))
                .filter(|(_, v)| v != NO_VALUE)
                .collect(),
        )
    }

    /// The value of the template's condition `name`, when every value it compares is known
    /// (no `<token>` of a resource or of a parameter the deploy sets).
    fn condition(&self, name: &str) -> Option<bool> {
        let Some(c) = self.template.pointer(&format!("/Conditions/{name}")) else {
            self.problem(format!("uses condition {name}, which the template lacks"));
            return None;
        };
        self.decide(c)
    }

    fn decide(&self, c: &Value) -> Option<bool> {
        let (k, arg) = c.as_object()?.iter().next()?;
        let args = || arg.as_array().into_iter().flatten();
        match k.as_str() {
            "Condition" => self.condition(&text(arg)),
            "Fn::Not" => self.decide(args().next()?).map(|b| !b),
            "Fn::And" => args()
                .map(|c| self.decide(c))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.iter().all(|b| *b)),
            "Fn::Or" => args()
                .map(|c| self.decide(c))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.iter().any(|b| *b)),
            "Fn::Equals" => {
                let v: Vec<String> = args().map(|x| text(&self.resolve(x))).collect();
                (v.len() == 2 && !v.iter().any(|s| s.contains('<'))).then(|| v[0] == v[1])
            }
            _ => None,
        }
    }
}

const NO_VALUE: &str = "<NoValue>";

/// A deployment's stacks with CloudFormation's functions applied: the data stack first, whose
/// exports the fleets import.
pub(crate) struct Resolved {
    pub(crate) stacks: Vec<(String, Value)>,
    pub(crate) problems: Vec<String>,
}

pub(crate) fn resolve(d: &Deployment) -> Resolved {
    let mut exports = BTreeMap::new();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for s in &d.stacks {
        let r = Resolver {
            region: &d.region,
            account: &d.account,
            stack: &s.name,
            template: &s.template,
            exports: &exports,
            problems: RefCell::new(Vec::new()),
        };
        let resolved = r.resolve(&s.template);
        problems.extend(r.problems.into_inner());
        for (_, output) in resolved["Outputs"].as_object().into_iter().flatten() {
            if let Some(name) = output.pointer("/Export/Name") {
                exports.insert(text(name), text(&output["Value"]));
            }
        }
        out.push((s.name.clone(), resolved));
    }
    Resolved {
        stacks: out,
        problems,
    }
}

/// What a deployment makes, under the names AWS will have it by.
#[derive(Default)]
struct Made {
    queues: BTreeSet<String>,
    buckets: BTreeSet<String>,
    log_groups: BTreeSet<String>,
    groups: BTreeSet<String>,
    hooks: BTreeSet<String>,
    clusters: BTreeSet<String>,
    functions: BTreeSet<String>,
    topics: BTreeSet<String>,
    /// Tables by name; one CloudFormation names is `STACK-LOGICALID-` and 12 characters of its
    /// own ("If you don't specify a name, CloudFormation generates a unique ID and uses that
    /// ID for the table name", AWS::DynamoDB::Table,
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html).
    tables: BTreeSet<String>,
    /// Each stack's logical ids, by stack name.
    stacks: BTreeMap<String, BTreeSet<String>>,
}

fn resources(t: &Value) -> impl Iterator<Item = (&String, &Value)> {
    t["Resources"].as_object().into_iter().flatten()
}

fn made(r: &Resolved) -> Made {
    let mut m = Made::default();
    for (stack, t) in &r.stacks {
        let mut ids = BTreeSet::new();
        for (id, res) in resources(t) {
            ids.insert(id.clone());
            let p = &res["Properties"];
            let prop = |k: &str| p.get(k).map(text);
            let into = |set: &mut BTreeSet<String>, k: &str| {
                if let Some(v) = prop(k) {
                    set.insert(v);
                }
            };
            match res["Type"].as_str().unwrap_or_default() {
                "AWS::SQS::Queue" => into(&mut m.queues, "QueueName"),
                "AWS::S3::Bucket" => into(&mut m.buckets, "BucketName"),
                "AWS::Logs::LogGroup" => into(&mut m.log_groups, "LogGroupName"),
                "AWS::AutoScaling::AutoScalingGroup" => into(&mut m.groups, "AutoScalingGroupName"),
                "AWS::AutoScaling::LifecycleHook" => into(&mut m.hooks, "LifecycleHookName"),
                "AWS::ECS::Cluster" => into(&mut m.clusters, "ClusterName"),
                "AWS::Lambda::Function" => into(&mut m.functions, "FunctionName"),
                "AWS::SNS::Topic" => into(&mut m.topics, "TopicName"),
                "AWS::DynamoDB::Table" => {
                    m.tables.insert(
                        prop("TableName").unwrap_or_else(|| format!("{stack}-{id}-1A2B3C4D5E6F")),
                    );
                }
                _ => {}
            }
        }
        m.stacks.insert(stack.clone(), ids);
    }
    m
}

/// `*` in `pattern` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = match name.strip_prefix(parts[0]) {
        Some(r) => r,
        None => return false,
    };
    for (i, part) in parts[1..].iter().enumerate() {
        let last = i == parts.len() - 2;
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The checks of one deployment: the names its workers and roles use, and AWS's limits.
struct Checker<'a> {
    d: &'a Deployment,
    made: Made,
    problems: Vec<String>,
}

impl Checker<'_> {
    fn fail(&mut self, stack: &str, what: String) {
        self.problems
            .push(format!("{}: {stack}: {what}", self.d.label));
    }

    fn queue_url(&mut self, stack: &str, var: &str, url: &str) -> Option<String> {
        let want = format!(
            "https://sqs.{}.{}/{}/",
            self.d.region,
            url_suffix(&self.d.region),
            self.d.account
        );
        match url.strip_prefix(&want) {
            Some(name) if self.made.queues.contains(name) => Some(name.to_string()),
            _ => {
                self.fail(
                    stack,
                    format!("{var}={url} names no queue this deployment makes"),
                );
                None
            }
        }
    }

    /// A name an environment variable holds, checked by what the variable is.
    fn variable(&mut self, stack: &str, var: &str, value: &str) -> Option<String> {
        if value.contains("<import ") {
            self.fail(stack, format!("{var} is not resolved: {value}"));
            return None;
        }
        let ok = match var {
            v if v.ends_with("_QUEUE_URL") => return self.queue_url(stack, var, value),
            "QFLEET_QUEUE_NAME" => {
                return match self.made.queues.contains(value) {
                    true => Some(value.to_string()),
                    false => {
                        self.fail(stack, format!("{var}={value} names no queue"));
                        None
                    }
                };
            }
            "QFLEET_BUCKET" => self.made.buckets.contains(value),
            "QFLEET_ASG_NAME" => self.made.groups.contains(value),
            "QFLEET_LIFECYCLE_HOOK" | "QFLEET_LAUNCH_HOOK" => self.made.hooks.contains(value),
            "QFLEET_SIGNAL_STACK" => value == stack,
            "QFLEET_SIGNAL_RESOURCE" => self.made.stacks[stack].contains(value),
            "QFLEET_JOBS_STACK" => self
                .made
                .stacks
                .get(value)
                .is_some_and(|ids| ids.contains("JobTable")),
            "AWS_REGION" | "AWS_DEFAULT_REGION" => value == self.d.region,
            "QFLEET_ALERTS_TOPIC" => value
                .rsplit_once(':')
                .is_some_and(|(_, t)| self.made.topics.contains(t)),
            "QFLEET_ALERTS_TEAM_TOPIC" => value.ends_with(&format!(":{TEAM_TOPIC}")),
            _ => true,
        };
        if !ok {
            self.fail(
                stack,
                format!("{var}={value} names nothing this deployment makes under that name"),
            );
        }
        None
    }

    /// A resource a role is granted, checked by its service.
    fn grant(&mut self, stack: &str, actions: &[String], arn: &str) -> Option<String> {
        if arn == "*" {
            return None;
        }
        if let Some(id) = arn.strip_prefix('<') {
            let id = id.trim_end_matches('>').split('.').next().unwrap();
            if !self.made.stacks[stack].contains(id) {
                self.fail(stack, format!("grants {arn}, a resource the stack lacks"));
            }
            return None;
        }
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" {
            self.fail(stack, format!("grants {arn}, which is not an ARN"));
            return None;
        }
        let (p, service, region, account, rest) =
            (parts[1], parts[2], parts[3], parts[4], parts[5]);
        // The user's own resources (secrets, parameters, keys, images) are theirs to name.
        if matches!(service, "secretsmanager" | "ssm" | "kms" | "ecr") {
            return None;
        }
        // So is the team's topic `alerts.topic` names (of any account: `grants` below checks
        // that it is granted nothing but sns:Publish).
        if service == "sns" && rest == TEAM_TOPIC {
            if actions.iter().any(|a| a != "sns:Publish") {
                self.fail(
                    stack,
                    format!("grants {actions:?} on the team's topic {arn}"),
                );
            }
            return None;
        }
        // ECS Managed Instances' infrastructure role launches from the Region's images, which
        // belong to no account (AWS's managed policy names them so too).
        let managed = self.made.stacks[stack].contains("CapacityProviderOnDemand");
        if managed
            && service == "ec2"
            && rest == "image/*"
            && account.is_empty()
            && p == partition(&self.d.region)
            && region == self.d.region
        {
            return None;
        }
        // And, with a Spot share, may make EC2 Spot's service-linked role of its account.
        if managed
            && service == "iam"
            && rest == "role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"
            && region.is_empty()
            && account == self.d.account
            && actions.iter().all(|a| a == "iam:CreateServiceLinkedRole")
        {
            return None;
        }
        let local = service != "s3";
        if p != partition(&self.d.region)
            || (local && (region != self.d.region || account != self.d.account))
        {
            self.fail(
                stack,
                format!("grants {arn}, outside its partition, Region or account"),
            );
            return None;
        }
        let found = match service {
            "sqs" => {
                let ok = self.made.queues.contains(rest);
                if ok && actions.iter().any(|a| a == "sqs:ReceiveMessage") {
                    return Some(rest.to_string());
                }
                ok
            }
            "dynamodb" => rest
                .strip_prefix("table/")
                .is_some_and(|t| self.made.tables.iter().any(|n| glob(t, n))),
            "cloudformation" => rest
                .strip_prefix("stack/")
                .and_then(|s| s.strip_suffix("/*"))
                .is_some_and(|s| self.made.stacks.contains_key(s)),
            "s3" => {
                let bucket = rest.split('/').next().unwrap_or_default();
                self.made.buckets.contains(bucket)
            }
            "logs" => rest
                .strip_prefix("log-group:")
                .map(|g| g.strip_suffix(":*").unwrap_or(g))
                .is_some_and(|g| self.made.log_groups.contains(g)),
            "autoscaling" => rest
                .split_once(":autoScalingGroupName/")
                .is_some_and(|(_, g)| self.made.groups.contains(g)),
            "ecs" => {
                let cluster = rest
                    .strip_prefix("task/")
                    .or_else(|| rest.strip_prefix("container-instance/"))
                    .and_then(|s| s.strip_suffix("/*"))
                    .or_else(|| rest.strip_prefix("cluster/"));
                cluster.is_some_and(|c| self.made.clusters.contains(c))
            }
            // What ECS launches for a Managed Instances capacity provider: launched and tagged
            // by ECS, not made by the stack, in the stack's own account and Region (checked
            // above), and only for a stack that makes the provider.
            "ec2" if managed => matches!(
                rest,
                "launch-template/*"
                    | "fleet/*"
                    | "instance/*"
                    | "network-interface/*"
                    | "volume/*"
                    | "subnet/*"
                    | "security-group/*"
            ),
            "lambda" => rest
                .strip_prefix("function:")
                .is_some_and(|f| self.made.functions.contains(f)),
            "sns" => self.made.topics.contains(rest),
            // A stack's rollback alarms, unnamed: CloudFormation names each
            // `<stack>-<logical id>-<random>`, so `<stack>-Rollback*` is that stack's alone.
            "cloudwatch" => rest.strip_prefix("alarm:").is_some_and(|a| {
                a.strip_suffix('*')
                    .and_then(|p| p.strip_suffix("-Rollback"))
                    .is_some_and(|s| s == stack)
            }),
            _ => {
                self.fail(
                    stack,
                    format!("grants {arn}: a service this test does not know"),
                );
                return None;
            }
        };
        if !found {
            self.fail(
                stack,
                format!("grants {arn}, which names nothing this deployment makes under that name"),
            );
        }
        None
    }
}

/// The statements of every policy a template's roles get.
fn statements(t: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (id, r) in resources(t) {
        let docs: Vec<&Value> = match r["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" => {
                vec![&r["Properties"]["PolicyDocument"]]
            }
            "AWS::IAM::Role" => r["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["PolicyDocument"])
                .collect(),
            _ => continue,
        };
        for d in docs {
            for s in d["Statement"].as_array().into_iter().flatten() {
                out.push((id.clone(), s.clone()));
            }
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![text(other)],
    }
}

/// The `NAME=value` lines of the worker's env file an instance's user data writes.
fn env_file(user_data: &str) -> Vec<(String, String)> {
    let Some((_, rest)) = user_data.split_once("cat > /etc/qfleet/worker.env <<'QFLEET_ENV'\n")
    else {
        return Vec::new();
    };
    let body = rest.split("\nQFLEET_ENV\n").next().unwrap_or_default();
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The stacks and logical ids a bootstrap reads with DescribeStackResource.
fn described(user_data: &str) -> Vec<(String, String)> {
    user_data
        .split("describe_stack_resource(StackName=\"")
        .skip(1)
        .filter_map(|s| {
            let (stack, rest) = s.split_once('"')?;
            let (_, rest) = rest.split_once("LogicalResourceId=\"")?;
            let (id, _) = rest.split_once('"')?;
            Some((stack.to_string(), id.to_string()))
        })
        .collect()
}

/// AWS's limits on the names qfleet gives: the resource type, the property and the most
/// characters, with the page that says so.
const NAME_LIMITS: &[(&str, &str, usize, &str)] = &[
    (
        "AWS::SQS::Queue",
        "QueueName",
        80,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
    ),
    (
        "AWS::S3::Bucket",
        "BucketName",
        63,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    ),
    (
        "AWS::Lambda::Function",
        "FunctionName",
        64,
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
    ),
    (
        "AWS::Events::Rule",
        "Name",
        64,
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
    ),
    (
        "AWS::Logs::LogGroup",
        "LogGroupName",
        512,
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
    (
        "AWS::AutoScaling::AutoScalingGroup",
        "AutoScalingGroupName",
        255,
        "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html",
    ),
    (
        "AWS::AutoScaling::LifecycleHook",
        "LifecycleHookName",
        255,
        "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html",
    ),
    (
        "AWS::ECS::Cluster",
        "ClusterName",
        255,
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html",
    ),
    (
        "AWS::ECS::Service",
        "ServiceName",
        255,
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
    ),
    (
        "AWS::ECS::TaskDefinition",
        "Family",
        255,
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
    ),
    (
        "AWS::DynamoDB::Table",
        "TableName",
        255,
        "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html",
    ),
];

/// "A stack name … can't be longer than 128 characters" (CreateStack,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
const STACK_NAME_LIMIT: usize = 128;
/// "User data is limited to 16 KB, in raw form, before it is base64-encoded" (Amazon EC2 User
/// Guide, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html).
const USER_DATA_LIMIT: usize = 16 * 1024;
/// "Function environment variables: 4 KB, for all environment variables associated with the
/// function, in aggregate" (Lambda quotas,
/// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), measured as the
/// JSON object of the variables (Lambda's refusal quotes that "String measured").
const LAMBDA_ENVIRONMENT_LIMIT: usize = 4 * 1024;
/// "Managed policy size: 6,144 characters", white space not counted (IAM and AWS STS quotas,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
const MANAGED_POLICY_LIMIT: usize = 6_144;
/// CloudFormation takes a template body of 51,200 bytes (CloudFormation quotas,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
const TEMPLATE_BODY_LIMIT: usize = 51_200;
/// "Maximum number of tags per resource: 50", the `aws:` ones not counted (Tagging your AWS
/// resources, https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
const TAGS_PER_RESOURCE: usize = 50;

/// The tag keys a resource carries of its own (its `Tags`, a launch template's instances'),
/// beside the stack's.
fn tag_keys(res: &Value) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let p = &res["Properties"];
    for t in p["Tags"].as_array().into_iter().flatten() {
        keys.insert(text(&t["Key"]));
    }
    for spec in p["LaunchTemplateData"]["TagSpecifications"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for t in spec["Tags"].as_array().into_iter().flatten() {
            keys.insert(text(&t["Key"]));
        }
    }
    keys
}

/// Every check of one deployment; the problems found.
fn check_deployment(d: &Deployment, tags: Option<&(usize, Vec<String>)>) -> Vec<String> {
    let r = resolve(d);
    let mut c = Checker {
        d,
        made: made(&r),
        problems: r
            .problems
            .iter()
            .map(|p| format!("{}: {p}", d.label))
            .collect(),
    };
    // The queue each fleet consumes, and the queues fleets feed.
    let mut consumed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut fed = Vec::new();
    for (stack, t) in &r.stacks {
        if stack.len() > STACK_NAME_LIMIT {
            c.fail(stack, format!("a stack name of {} characters", stack.len()));
        }
        let mut queues = BTreeSet::new();
        let mut vars: Vec<(String, String)> = Vec::new();
        for (id, res) in resources(t) {
            let p = &res["Properties"];
            let ty = res["Type"].as_str().unwrap_or_default();
            for (limit_ty, prop, most, _) in NAME_LIMITS {
                if ty == *limit_ty
                    && let Some(v) = p.get(*prop).map(text)
                    && v.len() > *most
                {
                    c.fail(
                        stack,
                        format!("{id}'s {prop} is {} characters, over {most}", v.len()),
                    );
                }
            }
            if ty == "AWS::DynamoDB::Table" && p.get("TableName").is_none() {
                let generated = format!("{stack}-{id}-1A2B3C4D5E6F").len();
                if generated > 255 {
                    c.fail(
                        stack,
                        format!("{id}'s generated name is {generated} characters"),
                    );
                }
            }
            if let Some((most, marks)) = tags {
                let own: BTreeSet<String> = tag_keys(res)
                    .into_iter()
                    .filter(|k| !marks.contains(k))
                    .collect();
                if !own.is_empty() || res["Properties"].get("Tags").is_some() {
                    // A directly deployed target's record of its file's targets is on its data
                    // stack only (docs/targets.md); validate names the Name tag as its own.
                    let data = t["Metadata"]["qfleet"]["role"] == "data";
                    let marks = marks
                        .iter()
                        .filter(|m| !m.starts_with("Name "))
                        .filter(|m| data || !m.starts_with("qfleet:targets:"))
                        .count();
                    let n = most + marks + own.len();
                    if n > TAGS_PER_RESOURCE {
                        c.fail(stack, format!("{id} would carry {n} tags ({most} of the file's, {marks} marks, {own:?} its own)"));
                    }
                }
            }
            match ty {
                "AWS::EC2::LaunchTemplate" => {
                    let ud = text(&p["LaunchTemplateData"]["UserData"]);
                    if ud.len() > USER_DATA_LIMIT {
                        c.fail(
                            stack,
                            format!("user data of {} bytes as EC2 receives it", ud.len()),
                        );
                    }
                    vars.extend(env_file(&ud));
                    for (s, logical) in described(&ud) {
                        if !c
                            .made
                            .stacks
                            .get(&s)
                            .is_some_and(|ids| ids.contains(&logical))
                        {
                            c.fail(stack, format!("the bootstrap reads {logical} of stack {s}, which this deployment does not make"));
                        }
                    }
                }
                "AWS::Lambda::Function" => {
                    let vs = p["Environment"]["Variables"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
                    let size = Value::Object(vs.clone()).to_string().len();
                    if size > LAMBDA_ENVIRONMENT_LIMIT {
                        c.fail(
                            stack,
                            format!("{id}'s environment is {size} bytes as Lambda measures it"),
                        );
                    }
                    // The worker function's and the backlog publisher's: both read the queue.
                    vars.extend(vs.iter().map(|(k, v)| (k.clone(), text(v))));
                }
                "AWS::ECS::TaskDefinition" => {
                    for def in p["ContainerDefinitions"].as_array().into_iter().flatten() {
                        for e in def["Environment"].as_array().into_iter().flatten() {
                            vars.push((text(&e["Name"]), text(&e["Value"])));
                        }
                    }
                }
                "AWS::Lambda::EventSourceMapping" => {
                    let arn = text(&p["EventSourceArn"]);
                    match arn
                        .rsplit(':')
                        .next()
                        .filter(|q| c.made.queues.contains(*q))
                    {
                        Some(q) => {
                            queues.insert(q.to_string());
                        }
                        None => c.fail(
                            stack,
                            format!("the mapping reads {arn}, no queue of this deployment"),
                        ),
                    }
                }
                "AWS::IAM::ManagedPolicy" => {
                    let size = p["PolicyDocument"]
                        .to_string()
                        .chars()
                        .filter(|ch| !ch.is_whitespace())
                        .count();
                    if size > MANAGED_POLICY_LIMIT {
                        c.fail(stack, format!("{id} is {size} characters"));
                    }
                }
                _ => {}
            }
            // The queue a scaling metric or alarm watches.
            dimensions(p, &mut |name, value| {
                if name == "QueueName" && !value.starts_with('<') && !c.made.queues.contains(value)
                {
                    c.problems.push(format!(
                        "{}: {stack}: {id} watches queue {value}, which no stack makes",
                        d.label
                    ));
                }
            });
        }
        if t["Metadata"]["qfleet"]["role"] == "data" {
            continue;
        }
        for (k, v) in &vars {
            if let Some(q) = c.variable(stack, k, v) {
                if k == "QFLEET_QUEUE_URL"
                    || k == "QFLEET_QUEUE_NAME"
                    || k == "QFLEET_PRIORITY_QUEUE_URL"
                {
                    queues.insert(q);
                } else if k == "QFLEET_NEXT_QUEUE_URL" || k == "QFLEET_NEXT_PRIORITY_QUEUE_URL" {
                    fed.push((stack.clone(), q));
                }
            }
        }
        for (_, s) in statements(t) {
            let actions = strings(&s["Action"]);
            for arn in strings(&s["Resource"]) {
                if let Some(q) = c.grant(stack, &actions, &arn) {
                    queues.insert(q);
                }
            }
        }
        if !t["Resources"].as_object().is_some_and(|r| r.is_empty()) {
            // The job queue, and beside it at most its own priority lane (`queue.priority`).
            let (lanes, jobs): (BTreeSet<String>, BTreeSet<String>) = queues
                .iter()
                .cloned()
                .partition(|q| q.ends_with("-priority"));
            let own_lane = |lane: &String| {
                jobs.iter()
                    .any(|q| q.strip_suffix("-jobs") == lane.strip_suffix("-priority"))
            };
            if jobs.len() != 1 || lanes.len() > 1 || !lanes.iter().all(own_lane) {
                c.fail(
                    stack,
                    format!("its workers consume {queues:?}: one queue (and its priority lane), named alike everywhere"),
                );
            }
            consumed.insert(stack.clone(), queues);
        }
    }
    for (stack, q) in fed {
        if !consumed
            .iter()
            .any(|(s, qs)| *s != stack && qs.contains(&q))
        {
            c.fail(
                &stack,
                format!("feeds queue {q}, which no other stage's workers consume"),
            );
        }
    }
    c.problems
}

/// Issue 72, item 5: every handler call on every resource of the case's deployments is
/// allowed to whoever CloudFormation acts as there, and every statement handed to a producer
/// or a service is granted where AWS requires a resource policy
/// ([`crate::least_privilege::problems`]). The policies are printed per account a direct
/// deploy's environments are in; for StackSets, for the account that holds the stack sets.
fn policy_problems(dir: &Path, o: &Outcome, ds: &[Deployment]) -> Vec<String> {
    use crate::least_privilege::{self as lp, Handlers};
    const ADMIN: &str = "999999999999";
    let path = dir.join(format!("{}.yaml", o.case.id()));
    let (accounts, handlers) = match (o.case.stack_sets(), o.case.has("service_managed")) {
        (false, _) => (
            o.case
                .places()
                .iter()
                .map(|p| p.account.to_string())
                .collect(),
            Handlers::Direct,
        ),
        (true, managed) => (
            BTreeSet::from([ADMIN.to_string()]),
            match managed {
                true => Handlers::AwsOwn,
                false => Handlers::StackSets { admin: ADMIN },
            },
        ),
    };
    let printed = lp::printed(&path, &accounts);
    let file: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let producers = producers_of(&file);
    ds.iter()
        .flat_map(|d| lp::problems(d, &resolve(d), &printed, handlers, &producers))
        .collect()
}

/// Every producer of another account a stack file lists (`sources.messages.producers`, in any
/// stage).
pub(crate) fn producers_of(file: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match file {
        Value::Object(o) => {
            if let Some(p) = o.get("producers").and_then(Value::as_array) {
                out.extend(p.iter().map(text));
            }
            o.values().for_each(|v| out.extend(producers_of(v)));
        }
        Value::Array(a) => a.iter().for_each(|v| out.extend(producers_of(v))),
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}

/// Every `{Name, Value}` dimension in `v`.
fn dimensions(v: &Value, f: &mut dyn FnMut(&str, &str)) {
    match v {
        Value::Object(o) => {
            if let (Some(n), Some(val)) = (o.get("Name"), o.get("Value"))
                && o.len() == 2
            {
                f(&text(n), &text(val));
            }
            o.values().for_each(|x| dimensions(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| dimensions(x, f)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The linters, once over every distinct template.

/// The Regions cfn-lint checks the pairs' templates against (E3628, instance types offered):
/// the plain cases' two, named so that the check does not depend on the machine's AWS_REGION.
/// The longest cases' Regions (ap-southeast-7, ap-northeast-3) offer no GPU type cfn-lint
/// knows; their templates differ from the plain ones only in names and lengths.
const LINT_REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

/// Each linted template's text with what differs between a file's targets only by name made
/// the same: each target's environment name (`ENV-TARGET`; the targets' names are of one
/// length and kind of characters) by one placeholder of its length, and each run of exactly
/// 12 hex digits with a letter and a digit in it (the worker version: a hash of the
/// definition, which holds the names) by 12 `#`. Templates whose texts are then the same
/// differ only in names of the same length and characters, which no linter's verdict reads:
/// one of them is linted for all.
fn normalised(case: &Case, text: &str) -> String {
    let n = case.names();
    let mut text = text.to_string();
    let names: Vec<String> = case
        .places()
        .iter()
        .filter_map(|p| p.target.as_ref())
        .map(|t| format!("{}-{t}", n.env))
        .collect();
    let shape = |s: &str| -> Vec<u8> {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' => b'a',
                b'0'..=b'9' => b'0',
                other => other,
            })
            .collect()
    };
    if names.windows(2).all(|w| shape(&w[0]) == shape(&w[1])) {
        for name in &names {
            let placeholder = format!("{}-{}", n.env, "#".repeat(name.len() - n.env.len() - 1));
            text = text.replace(name.as_str(), &placeholder);
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        let bounded = |at: usize| at >= bytes.len() || !bytes[at].is_ascii_alphanumeric();
        let run_bytes = &bytes[i..i + run];
        if run == 12
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bounded(i + run)
            && run_bytes.iter().any(u8::is_ascii_digit)
            && run_bytes.iter().any(u8::is_ascii_alphabetic)
        {
            out.extend_from_slice(b"############");
        } else {
            out.extend_from_slice(&bytes[i..i + run.max(1)]);
        }
        i += run.max(1);
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn targets_templates_that_differ_only_in_names_and_version_are_linted_once() {
    let case = cases()
        .into_iter()
        .find(|c| c.id() == "ec2--targets--longest")
        .unwrap();
    let n = case.names();
    let (a, b) = (
        format!("{}-{}", n.env, n.targets[0]),
        format!("{}-{}", n.env, n.targets[1]),
    );
    let one = format!(
        "Name: qfleet-{a}-jobs\nV: \"QFLEET_VERSION=93fca1e55ae9\"\nAccount: 111122223333\n"
    );
    let two = one.replace(&a, &b).replace("93fca1e55ae9", "812796742fd8");
    assert_eq!(normalised(&case, &one), normalised(&case, &two));
    // Anything else is linted on its own: another Region, account, or a longer name.
    for other in [
        two.replace("Name:", "Name: eu-west-1"),
        two.replace("111122223333", "444455556666"),
        two.replace(&b, &format!("{b}x")),
        two.replace("812796742fd8", "812796742fd"),
    ] {
        assert_ne!(
            normalised(&case, &one),
            normalised(&case, &other),
            "{other}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The docs' table of refused pairs.

fn refused_table() -> String {
    let mut t = String::from("| workers | features | why validate refuses them |\n|---|---|---|\n");
    for r in REFUSED {
        let kinds = if r.kinds == ALL {
            "all".to_string()
        } else {
            r.kinds
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let b = if r.b == ROLLOUTS {
            "`targets` (either mode)".to_string()
        } else if r.b == ["stack_sets", "service_managed"] {
            "`rollout.mode: stack_sets`".to_string()
        } else {
            r.b.iter()
                .map(|b| feature(b).setting)
                .collect::<Vec<_>>()
                .join(" or ")
        };
        t.push_str(&format!(
            "| {kinds} | {} with {b} | {} |\n",
            feature(r.a).setting,
            r.why
        ));
    }
    t
}

#[test]
fn the_docs_list_every_refused_pair_with_why() {
    let path = root().join("docs/stack-file.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (start, end) = (
        "<!-- refused pairs: begin (generated by tests/integration/pairs.rs; QFLEET_WRITE_DOCS=1 rewrites it) -->\n",
        "<!-- refused pairs: end -->",
    );
    let a = text.find(start).expect("the refused pairs' markers") + start.len();
    let b = text.find(end).expect("the refused pairs' end marker");
    let table = refused_table();
    if std::env::var_os("QFLEET_WRITE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &text[..a], &text[b..])).unwrap();
        return;
    }
    assert_eq!(
        &text[a..b],
        table,
        "docs/stack-file.md's refused pairs differ from the test's: QFLEET_WRITE_DOCS=1 cargo test --test integration pairs"
    );
}

#[test]
fn the_names_check_finds_a_worker_that_names_what_its_mode_does_not_make() {
    // A StackSets fleet that reads the data stack under the name a direct deploy gives it:
    // the defect this test was written to find (fixed: the fleet imports the data stack's name).
    let data = json!({"Metadata": {"qfleet": {"role": "data"}}, "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "qfleet-o-jobs"}},
        "JobTable": {"Type": "AWS::DynamoDB::Table", "Properties": {}}}});
    let fleet = |stack: &str| {
        json!({"Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
                "QFLEET_JOBS_STACK": stack,
                "QFLEET_QUEUE_URL": {"Fn::Sub": "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/qfleet-o-jobs"}}}}},
            "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [
                {"Action": "sqs:ReceiveMessage", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:qfleet-o-jobs"}},
                {"Action": "dynamodb:GetItem", "Resource": {"Fn::Sub": format!("arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{stack}-JobTable-*")}}]}}}}})
    };
    let deployment = |fleet_template: Value| Deployment {
        label: "o".into(),
        region: "eu-west-1".into(),
        account: ONE_ACCOUNT.into(),
        stacks: vec![
            Stack {
                name: "StackSet-qfleet-o-data-1".into(),
                file: PathBuf::new(),
                template: data.clone(),
            },
            Stack {
                name: "StackSet-qfleet-o-fleet-1".into(),
                file: PathBuf::new(),
                template: fleet_template,
            },
        ],
    };
    let wrong = check_deployment(&deployment(fleet("qfleet-o-data")), None);
    assert!(
        wrong
            .iter()
            .any(|p| p.contains("QFLEET_JOBS_STACK=qfleet-o-data"))
            && wrong
                .iter()
                .any(|p| p.contains("table/qfleet-o-data-JobTable-*")),
        "{wrong:?}"
    );
    let right = check_deployment(&deployment(fleet("StackSet-qfleet-o-data-1")), None);
    assert!(right.is_empty(), "{right:?}");
}

#[test]
fn every_pair_of_features_works_or_is_refused_with_why() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // The build context of the cases with `build`.
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/Dockerfile"), "FROM scratch\n").unwrap();
    let all = cases();
    // Each case written, validated, rendered and its deployments checked (names, limits,
    // policies: issue 72, item 5) in-process, on every core; the cases are taken in turn.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Outcome, Vec<String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(c) = all.get(i) else { break mine };
                        let o = run_case(dir.path(), c);
                        let problems = case_problems(dir.path(), &o);
                        mine.push((i, o, problems));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    done.sort_by_key(|(i, ..)| *i);
    let mut problems = Vec::new();
    let outcomes: Vec<Outcome> = done
        .into_iter()
        .map(|(_, o, p)| {
            problems.extend(p);
            o
        })
        .collect();
    let checked_at = started.elapsed();

    let mut refused = BTreeSet::new();
    let mut pairs = 0;
    let mut other_kinds = 0;
    for o in &outcomes {
        let c = &o.case;
        if c.features.len() == 2 && c.size == Size::Plain && c.shape.is_none() {
            pairs += 1;
        }
        if inapplicable(c) {
            other_kinds += 1;
            if o.verdict.ok || !o.verdict.message.contains("applies to") {
                problems.push(format!(
                    "{}: the feature is for {} only; validate said: {}",
                    c.label(),
                    feature(c.features[0])
                        .kinds
                        .iter()
                        .map(|k| k.label())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    if o.verdict.ok {
                        "ok"
                    } else {
                        &o.verdict.message
                    }
                ));
            }
            continue;
        }
        let expected = refusal(c.kind, &c.features, c.shape);
        match (&o.verdict, expected, c.size) {
            (v, Some(r), Size::Plain) if !v.ok => {
                if !v.message.contains(r.says) {
                    problems.push(format!(
                        "{}: refused, but not saying `{}`: {}",
                        c.label(),
                        r.says,
                        v.message
                    ));
                }
                refused.insert(c.id());
            }
            (v, Some(_), _) if v.ok => problems.push(format!(
                "{} ({:?}, {:?}): validate takes it; REFUSED says it refuses it",
                c.label(),
                c.size,
                c.shape
            )),
            (_, Some(_), _) => {}
            (v, None, Size::Plain) if !v.ok => problems.push(format!(
                "{}: refused, and not listed in REFUSED (so not in docs/stack-file.md): {}",
                c.label(),
                v.message
            )),
            // At the longest input validate may refuse a limit it measures; it must say which.
            (v, None, Size::Longest) if !v.ok => {
                eprintln!("{} at the longest input: refused: {}", c.label(), v.message);
            }
            _ => {}
        }
        if o.verdict.ok && c.size == Size::Longest && o.tags.is_none() {
            problems.push(format!(
                "{}: validate takes it, and the engine gave no room for tags",
                c.label()
            ));
        }
    }
    // Every refusal listed is met by a case.
    for r in REFUSED {
        for k in r.kinds {
            for b in r.b {
                let shape = r.shape.map_or(String::new(), |_| "--two-regions".into());
                let ids = [
                    format!("{}--{}+{b}{shape}", k.name(), r.a),
                    format!("{}--{b}+{}{shape}", k.name(), r.a),
                ];
                if !ids.iter().any(|id| refused.contains(id)) {
                    problems.push(format!(
                        "REFUSED lists {} {} with {b} ({shape}), which no case met refused",
                        k.label(),
                        r.a
                    ));
                }
            }
        }
    }

    // The linters, once over every distinct template CloudFormation would receive: the same
    // up to the names of a file's targets ([`normalised`]) is linted once.
    let mut by_text: BTreeMap<String, (PathBuf, Vec<String>)> = BTreeMap::new();
    let mut total = 0;
    let mut exact = BTreeSet::new();
    // Each pair's templates at the longest input (cfn-lint checks names' lengths too), or at
    // ordinary names where validate refuses the longest.
    let longest_ok: BTreeSet<String> = outcomes
        .iter()
        .filter(|o| o.case.size == Size::Longest && o.verdict.ok)
        .map(|o| {
            Case {
                size: Size::Plain,
                ..o.case.clone()
            }
            .id()
        })
        .collect();
    let linted = outcomes.iter().filter(|o| {
        o.verdict.ok && (o.case.size == Size::Longest || !longest_ok.contains(&o.case.id()))
    });
    for o in linted {
        for f in deployed_files(o) {
            total += 1;
            let bytes = std::fs::read(&f).unwrap();
            // What the request carries: the YAML, or its compact JSON where the YAML is over.
            let sent = qfleet_engine::render::request_body(&String::from_utf8_lossy(&bytes)).len();
            if sent > TEMPLATE_BODY_LIMIT {
                problems.push(format!(
                    "{}: {} is {sent} bytes as sent",
                    o.case.label(),
                    f.display(),
                ));
            }
            exact.insert(linters::sha256(&bytes));
            let key =
                linters::sha256(normalised(&o.case, &String::from_utf8_lossy(&bytes)).as_bytes());
            let stem = f.file_name().unwrap().to_string_lossy().into_owned();
            let entry = by_text.entry(key.clone()).or_insert_with(|| {
                (
                    dir.path()
                        .join("lint")
                        .join(format!("{}-{stem}", &key[..16])),
                    Vec::new(),
                )
            });
            if entry.1.is_empty() {
                std::fs::create_dir_all(entry.0.parent().unwrap()).unwrap();
                std::fs::write(&entry.0, &bytes).unwrap();
            }
            entry.1.push(o.case.label());
        }
    }
    let files: Vec<PathBuf> = by_text.values().map(|(p, _)| p.clone()).collect();
    let linting = std::time::Instant::now();
    let findings = linters::lint(&files, &LINT_REGIONS);
    let linted_in = linting.elapsed();
    let which = |finding: &str| -> String {
        by_text
            .values()
            .filter(|(p, _)| finding.contains(&*p.file_name().unwrap().to_string_lossy()))
            .map(|(p, cases)| format!("  {} is rendered by {}", p.display(), cases.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for f in &findings {
        problems.push(format!("{f}\n{}", which(f)));
    }

    let plain = outcomes
        .iter()
        .filter(|o| o.case.size == Size::Plain)
        .count();
    eprintln!(
        "pairs: {} cases ({plain} at ordinary size, {pairs} of them pairs), {} refused as listed, {other_kinds} features of other kinds refused; validated, rendered and checked on {threads} threads in {:.0?}; {total} templates, {} distinct, {} up to the targets' names, linted in {:.0?}; all in {:.0?}",
        outcomes.len(),
        refused.len(),
        checked_at,
        exact.len(),
        files.len(),
        linted_in,
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(pairs > 100, "{pairs} pairs");
    assert!(files.len() > 100, "{} templates", files.len());
}
