//! The rules for `workers.kind: lambda`: the function's limits, the event source mapping's
//! batch limits, the queue's visibility timeout against the function's timeout, and no EC2
//! setting where none applies.

use super::Checker;
use crate::config::Environment;
use crate::config::schema::{PollerSpec, ScalingMetric};

/// Settings that mean something only for EC2 workers.
const EC2_ONLY: &[&str] = &[
    "workers.ami",
    "workers.instance_type",
    "workers.instance_types",
    "workers.spot",
    "workers.warm_pool",
    "workers.gpu",
    "workers.min",
    "workers.max",
    "workers.user_data",
    "workers.image",
    "workers.health_check_grace_period",
    "workers.instance_warmup",
    "workers.root_volume_gib",
    "workers.log_retention_days",
    "workers.public_ip",
    "workers.dev_principals",
    "scaling",
];

/// Provisioned mode's bounds for an SQS event source mapping: "For Amazon SQS events source
/// mappings, default is 2, and minimum 2 required" (MinimumPollers, at most 200), and
/// MaximumPollers from 2 to 2000 ("AWS::Lambda::EventSourceMapping ProvisionedPollerConfig",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-eventsourcemapping-provisionedpollerconfig.html>;
/// the Lambda API reference now allows SQS up to 10,000, but CloudFormation's schema, which
/// cfn-lint checks the template against, stops at 2000).
const POLLERS_MIN: (u32, u32) = (2, 200);
const POLLERS_MAX: (u32, u32) = (2, 2_000);

pub(super) fn check(c: &mut Checker, env: &Environment) {
    check_job_policies(c, env);
    for key in EC2_ONLY {
        if c.src.sets(key) {
            // scaling.metric: high_resolution gets its own error, at its own line.
            if *key == "scaling" && env.spec.scaling.metric == ScalingMetric::HighResolution {
                let e = c.src.key_error(
                    "scaling.metric",
                    "high_resolution applies to EC2 workers only (workers.kind is lambda): a function's queue mapping scales with the queue; allowed here: no scaling setting (sqs, the default, is what it means for EC2)",
                );
                c.errors.push(e);
                continue;
            }
            let what = if *key == "scaling" {
                "applies to EC2 workers; a Lambda function scales with its queue, up to workers.lambda.max_concurrency".to_string()
            } else {
                // Fargate tasks take the settings Fargate does not refuse.
                let kinds = match super::fargate::NOT_FARGATE.iter().any(|(k, _)| k == key) {
                    true => "EC2 workers only",
                    false => "EC2 and Fargate workers only",
                };
                format!(
                    "`{}` applies to {kinds} (workers.kind is lambda)",
                    key.trim_start_matches("workers.")
                )
            };
            let e = c.src.key_error(key, what);
            c.errors.push(e);
        }
    }
    check_vpc(c, env);
    let l = &env.spec.workers.lambda;
    match &l.image {
        Some(i) => check_image(c, env, i.uri()),
        None => check_code(c, env),
    }
    c.range(
        "workers.lambda.memory_mb",
        l.memory_mb.into(),
        128,
        10_240,
        " MB",
    );
    // Lambda Managed Instances: "event source mapping invocations ... support a maximum
    // allowed value of 5,400 seconds" (AWS::Lambda::Function Timeout,
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html>).
    let max_timeout = match l.managed_instances {
        Some(_) => MANAGED_TIMEOUT_MAX,
        None => 900,
    };
    c.range("workers.lambda.timeout", l.timeout.0, 1, max_timeout, "s");
    if let Some(m) = &l.managed_instances {
        check_managed_instances(c, env, m);
    }
    c.range(
        "workers.lambda.batching_window",
        l.batching_window.0,
        0,
        300,
        "s",
    );
    // A FIFO queue's event source mapping: BatchSize "For FIFO queues, the maximum is 10";
    // MaximumBatchingWindowInSeconds: "Batching window is not supported for FIFO queues"
    // (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
    let fifo = env.spec.queue.fifo;
    if fifo {
        if l.batching_window.0 > 0 {
            c.fail(
                "workers.lambda.batching_window",
                "Lambda takes no batching window from a FIFO queue (queue.fifo: true): remove it",
            );
        } else if l.batch_size > 10 {
            c.fail(
                "workers.lambda.batch_size",
                format!(
                    "{} is more than Lambda takes from a FIFO queue (queue.fifo: true): at most 10",
                    l.batch_size
                ),
            );
        }
    }
    // SQS event source mappings: up to 10 per batch, up to 10,000 with a batching window.
    let max_batch = if l.batching_window.0 >= 1 { 10_000 } else { 10 };
    if (l.batch_size < 1 || l.batch_size > max_batch) && !(fifo && l.batch_size > 10) {
        c.fail(
            "workers.lambda.batch_size",
            if l.batch_size > 10 && l.batching_window.0 == 0 {
                format!(
                    "{} needs workers.lambda.batching_window of at least 1s (without one, at most 10)",
                    l.batch_size
                )
            } else {
                format!("{} is out of range (1 to {max_batch})", l.batch_size)
            },
        );
    }
    c.range(
        "workers.lambda.max_concurrency",
        l.max_concurrency.into(),
        2,
        1_000,
        "",
    );
    let cap = match l.provisioned_pollers {
        None => (
            l.max_concurrency,
            "workers.lambda.max_concurrency".to_string(),
        ),
        Some(p) => {
            check_pollers(c, p);
            (
                p.max_invocations(),
                format!(
                    "{} × workers.lambda.provisioned_pollers.maximum",
                    PollerSpec::INVOCATIONS_PER_POLLER
                ),
            )
        }
    };
    // The priority lane's mapping (queue.priority) starts invocations of its own beside them.
    let cap = match env.spec.queue.priority {
        Some(p) => {
            let lane = p.max_concurrency.unwrap_or(l.max_concurrency);
            (
                cap.0.saturating_add(lane),
                format!("{} + the priority lane's {lane}", cap.1),
            )
        }
        None => cap,
    };
    if let Some(r) = l.reserved_concurrency
        && r < cap.0
    {
        c.fail(
            "workers.lambda.reserved_concurrency",
            format!(
                "{r} is below {} ({}): the mappings would start invocations the function may not run, and throttled batches count as receives toward the dead-letter queue",
                cap.1, cap.0
            ),
        );
    }
    if !super::LOG_RETENTION_DAYS.contains(&l.log_retention_days) {
        c.fail(
            "workers.lambda.log_retention_days",
            format!(
                "{} is not a retention CloudWatch Logs offers",
                l.log_retention_days
            ),
        );
    }
    // AWS: set the queue's visibility timeout to at least six times the function's timeout.
    let visibility = env.spec.queue.visibility_timeout.0;
    if visibility < 6 * l.timeout.0 {
        c.fail(
            "queue.visibility_timeout",
            format!(
                "{visibility}s is less than 6 × workers.lambda.timeout ({}s): AWS asks for at least {}s so that a batch retried after throttling is not received twice",
                l.timeout.0,
                6 * l.timeout.0
            ),
        );
    }
}

/// Provisioned mode (`workers.lambda.provisioned_pollers`): the bounds in range and in order,
/// and not with `max_concurrency`: "You can control the scaling behavior of your Amazon SQS
/// event source mappings either through maximum concurrency settings or by enabling
/// provisioned mode. These are mutually exclusive options." (Lambda, "Configuring scaling
/// behavior for SQS event source mappings",
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html>).
fn check_pollers(c: &mut Checker, p: PollerSpec) {
    c.range(
        "workers.lambda.provisioned_pollers.minimum",
        p.minimum.into(),
        POLLERS_MIN.0.into(),
        POLLERS_MIN.1.into(),
        "",
    );
    c.range(
        "workers.lambda.provisioned_pollers.maximum",
        p.maximum.into(),
        POLLERS_MAX.0.into(),
        POLLERS_MAX.1.into(),
        "",
    );
    if p.minimum > p.maximum {
        c.fail(
            "workers.lambda.provisioned_pollers.minimum",
            format!(
                "{} is greater than provisioned_pollers.maximum ({})",
                p.minimum, p.maximum
            ),
        );
    }
    if c.src.sets("workers.lambda.max_concurrency") {
        let e = c.src.key_error(
            "workers.lambda.max_concurrency",
            "give either max_concurrency (standard mode) or provisioned_pollers (provisioned mode), not both: AWS makes them mutually exclusive; in provisioned mode provisioned_pollers.maximum caps the scaling",
        );
        c.errors.push(e);
    }
}

/// Settings of an image function (`workers.lambda.image`) that a zip package does not take.
const IMAGE_ONLY: &[&str] = &[
    "workers.lambda.command",
    "workers.lambda.entry_point",
    "workers.lambda.architecture",
];

/// Settings of a zip package that an image carries itself.
const CODE_ONLY: &[&str] = &[
    "workers.lambda.code",
    "workers.lambda.runtime",
    "workers.lambda.handler",
];

/// An error at each of `keys` the file sets: the other kind of function's settings. `why`
/// gets the key's name under `workers.lambda`.
fn refuse_keys(c: &mut Checker, keys: &[&str], why: impl Fn(&str) -> String) {
    for key in keys {
        if c.src.sets(key) {
            let e = c
                .src
                .key_error(key, why(key.trim_start_matches("workers.lambda.")));
            c.errors.push(e);
        }
    }
}

/// A function from a deployment package (`code`, `runtime`, `handler`).
fn check_code(c: &mut Checker, env: &Environment) {
    refuse_keys(c, IMAGE_ONLY, |key| {
        format!("`{key}` applies to a container image function only (workers.lambda.image)")
    });
    let l = &env.spec.workers.lambda;
    if let Some(why) = crate::config::runtimes::refusal(&l.runtime, std::time::SystemTime::now()) {
        c.fail("workers.lambda.runtime", why);
    }
    let handler_ok = l.handler.split_once('.').is_some_and(|(module, function)| {
        let ident = |s: &str| {
            !s.is_empty()
                && !s.starts_with(|ch: char| ch.is_ascii_digit())
                && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        };
        ident(module) && ident(function)
    });
    if !handler_ok {
        c.fail(
            "workers.lambda.handler",
            format!("`{}` is not module.function", l.handler),
        );
    }
}

/// A function from a container image (`workers.lambda.image`). AWS's rules (Lambda developer
/// guide, "Create a Lambda function using a container image",
/// https://docs.aws.amazon.com/lambda/latest/dg/images-create.html): the image is in an Amazon
/// ECR private repository in the same Region as the function (another account's repository
/// works with a repository policy that allows it); no ECR FIPS endpoint; an image carries its
/// own runtime and handler, so a function takes `Code.ImageUri` and `PackageType: Image`
/// without Runtime and Handler (AWS::Lambda::Function,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html).
fn check_image(c: &mut Checker, env: &Environment, uri: Option<&str>) {
    refuse_keys(c, CODE_ONLY, |key| {
        format!(
            "`{key}` does not go with workers.lambda.image: the image carries its own code, runtime and handler (override its CMD with workers.lambda.command)"
        )
    });
    const FIELD: &str = "workers.lambda.image";
    // An image qfleet builds goes to the environment's own repository, in its Region.
    let Some(uri) = uri else { return };
    if uri.contains(".dkr.ecr-fips.") {
        c.fail(
            FIELD,
            format!("`{uri}` names an ECR FIPS endpoint, which Lambda does not take images from: use ACCOUNT.dkr.ecr.REGION.amazonaws.com"),
        );
        return;
    }
    let image = match crate::config::image::parse(uri) {
        Ok(i) => i,
        Err(why) => return c.fail(FIELD, why),
    };
    let Some(ecr) = image.ecr else {
        return c.fail(
            FIELD,
            format!("`{uri}` is not in an Amazon ECR private repository: Lambda takes images only from ECR (copy a public image into a repository of your own, ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY)"),
        );
    };
    let region = &env.spec.region;
    if &ecr.region != region {
        // A target cannot name an image of its own (workers.lambda.image is the file's).
        let way = match env.target.is_some() {
            true => format!(
                "a file's targets share workers.lambda.image: give the targets in {region} a file of their own, naming the repository replicated there"
            ),
            false => format!("replicate the repository to {region}"),
        };
        return c.fail(
            FIELD,
            format!(
                "`{uri}` is in {}, the function in {region}: Lambda takes an image only from a repository in the function's Region ({way})",
                ecr.region
            ),
        );
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    if !ecr.registry.ends_with(&format!(".ecr.{region}.{suffix}")) {
        c.fail(
            FIELD,
            format!("`{uri}` does not end its registry with .ecr.{region}.{suffix}, the ECR endpoint of {region}"),
        );
    }
    let l = &env.spec.workers.lambda;
    for (field, list) in [
        ("workers.lambda.command", &l.command),
        ("workers.lambda.entry_point", &l.entry_point),
    ] {
        let Some(list) = list else { continue };
        // AWS::Lambda::Function ImageConfig: at most 1,500 strings, each once (uniqueItems).
        let mut seen = std::collections::BTreeSet::new();
        if list.is_empty() || list.len() > 1_500 {
            c.fail(field, format!("{} strings; give 1 to 1500", list.len()));
        } else if let Some(dup) = list.iter().find(|s| !seen.insert(s.as_str())) {
            c.fail(
                field,
                format!("`{dup}` is given twice; Lambda's ImageConfig takes each string once"),
            );
        } else if list.iter().any(|s| s.is_empty()) {
            c.fail(field, "an empty string; give each part of the command");
        }
    }
}

/// A function in a VPC (`workers.network` as a mapping): the subnets it runs in and its own
/// security group, with `workers.egress` and `workers.security_groups` as for the other kinds.
/// Lambda gives a function's network interfaces no public IP address, so the subnets must
/// reach the AWS APIs through a NAT gateway or VPC endpoints
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html>): the
/// default VPC's subnets route only to an internet gateway, and are refused.
fn check_vpc(c: &mut Checker, env: &Environment) {
    use crate::config::Network;
    let w = &env.spec.workers;
    match &w.network {
        Network::Explicit(_) => {
            super::workers::check_network(c, env);
            super::network::check(c, env);
        }
        Network::Default => {
            if c.src.sets("workers.network") {
                c.fail(
                    "workers.network",
                    "a function without a VPC is what `workers.network` left out means; `default` (the default VPC) is refused: Lambda gives a function no public IP, and the default VPC's subnets reach the AWS APIs only through an internet gateway. Give {vpc: vpc-…, subnets: {<az>: subnet-…}} of private subnets with a NAT gateway or VPC endpoints",
                );
            }
            for key in ["workers.egress", "workers.security_groups"] {
                if c.src.sets(key) {
                    let e = c.src.key_error(
                        key,
                        format!(
                            "`{}` applies to a function in a VPC: give workers.network as {{vpc: vpc-…, subnets: {{<az>: subnet-…}}}} (workers.kind is lambda)",
                            key.trim_start_matches("workers.")
                        ),
                    );
                    c.errors.push(e);
                }
            }
        }
    }
}

/// `queue.retry` and `workers.job_timeout` on a function: the handler's longest wait within
/// SQS's 12 hours from the receive; the job timeout refused, naming the function's own.
fn check_job_policies(c: &mut Checker, env: &Environment) {
    // The handler hides a failed message for its wait at most the function's timeout and
    // its batching window after Lambda received it: all within SQS's 12 hours from the
    // receive (ChangeMessageVisibility, "The maximum is 12 hours",
    // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>).
    let l = &env.spec.workers.lambda;
    if let Some(r) = &env.spec.queue.retry {
        let held = l.timeout.0.saturating_add(l.batching_window.0);
        if r.max_delay.0.saturating_add(held) > 43_200 {
            c.fail(
                "queue.retry.max_delay",
                format!(
                    "{} with the function's timeout and batching window ({held}s) is more than SQS's 12 hours from a receive: the handler's wait would be refused; at most {}s",
                    r.max_delay,
                    43_200u64.saturating_sub(held)
                ),
            );
        }
    }
    if c.src.sets("workers.job_timeout") {
        c.fail(
            "workers.job_timeout",
            "`workers.job_timeout` applies to EC2 and Fargate workers (workers.kind is lambda): a function's limit is workers.lambda.timeout, at which Lambda stops the invocation and its batch comes back after the visibility timeout",
        );
    }
}

/// The longest timeout of a function on Lambda Managed Instances invoked by an event source
/// mapping (AWS::Lambda::Function Timeout,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html>).
pub const MANAGED_TIMEOUT_MAX: u64 = 5_400;

/// `CapacityProviderScalingConfig.MaxVCpuCount`: 2 to 15,000 (AWS::Lambda::CapacityProvider
/// CapacityProviderScalingConfig,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-capacityprovider-capacityproviderscalingconfig.html>).
pub const MAX_VCPUS: (u32, u32) = (2, 15_000);

/// `PerExecutionEnvironmentMaxConcurrency`: 1 to 1,600
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_LambdaManagedInstancesCapacityProviderConfig.html>).
pub const PER_ENVIRONMENT: (u32, u32) = (1, 1_600);

/// `ExecutionEnvironmentMemoryGiBPerVCpu`: the API takes 2.0 to 8.0
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_LambdaManagedInstancesCapacityProviderConfig.html>);
/// qfleet takes the ratios AWS's guidance names, 2, 4 and 8 to 1 ("Best practices for Lambda
/// Managed Instances", <https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html>),
/// so that the function's memory is a whole number of GiB per vCPU.
pub const MEMORY_PER_VCPU: [u32; 3] = [2, 4, 8];

/// "The minimum supported function size is 2GB and 1 vCPU" ("Best practices for Lambda
/// Managed Instances", <https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html>).
pub const MANAGED_MEMORY_MIN_MB: u32 = 2_048;

/// `InstanceRequirements.AllowedInstanceTypes`: up to 400 names of up to 30 characters of
/// `[a-zA-Z0-9.*-]` (AWS::Lambda::CapacityProvider InstanceRequirements,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-capacityprovider-instancerequirements.html>).
const INSTANCE_TYPES_MAX: usize = 400;
const INSTANCE_TYPE_LEN_MAX: usize = 30;

/// The oldest of each runtime family that runs on Lambda Managed Instances: "Java 21 and
/// later", "Python 3.13 and later", "Node.js 22 and later", ".NET 8 and later" ("Lambda
/// Managed Instances runtimes", <https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html>);
/// qfleet's zip functions are Python or Node.js.
const MANAGED_RUNTIMES: [(&str, &str, u32, u32); 2] = [
    ("python3.", "python3.13", 3, 13),
    ("nodejs", "nodejs22.x", 22, 0),
];

/// Whether `runtime` runs on Lambda Managed Instances.
pub fn managed_runtime(runtime: &str) -> bool {
    MANAGED_RUNTIMES.iter().any(|(prefix, _, major, minor)| {
        let Some(rest) = runtime.strip_prefix(prefix) else {
            return false;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<u32>() else {
            return false;
        };
        match *prefix {
            "python3." => n >= *minor,
            _ => n >= *major,
        }
    })
}

/// `workers.lambda.managed_instances`: the capacity provider's and the function's limits, the
/// VPC it needs, and the settings that do not go with it.
fn check_managed_instances(
    c: &mut Checker,
    env: &Environment,
    m: &crate::config::schema::ManagedInstancesSpec,
) {
    const FIELD: &str = "workers.lambda.managed_instances";
    let w = &env.spec.workers;
    let l = &w.lambda;
    // A capacity provider launches its instances in subnets of a VPC with security groups
    // (VpcConfig is required: AWS::Lambda::CapacityProvider,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-capacityprovider.html).
    // Its SubnetIds (at most 16) are workers.network's, one per zone of the Region; its
    // SecurityGroupIds (at most 5) qfleet's own and workers.security_groups, held to 4
    // already (CapacityProviderVpcConfig,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-capacityprovider-capacityprovidervpcconfig.html).
    if w.network == crate::config::Network::Default {
        c.fail(
            FIELD,
            "Lambda Managed Instances run in your VPC: the capacity provider needs subnets and security groups. Give workers.network as {vpc: vpc-…, subnets: {<az>: subnet-…}} of private subnets with a NAT gateway or VPC endpoints (see examples/lambda-managed.yaml)",
        );
    }
    if let Some(types) = &m.instance_types {
        let field = "workers.lambda.managed_instances.instance_types";
        if types.is_empty() || types.len() > INSTANCE_TYPES_MAX {
            c.fail(
                field,
                format!(
                    "{} instance types; give 1 to {INSTANCE_TYPES_MAX}, or leave the key out and Lambda chooses",
                    types.len()
                ),
            );
        } else if let Some(bad) = types.iter().find(|t| {
            t.is_empty()
                || t.len() > INSTANCE_TYPE_LEN_MAX
                || !t
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '*' | '-'))
        }) {
            c.fail(
                field,
                format!(
                    "`{bad}` is not an instance type: up to {INSTANCE_TYPE_LEN_MAX} letters, digits, `.`, `-` and `*`, such as m7g.large or c7g.*"
                ),
            );
        }
    }
    if let Some(v) = m.max_vcpus {
        c.range(
            "workers.lambda.managed_instances.max_vcpus",
            v.into(),
            MAX_VCPUS.0.into(),
            MAX_VCPUS.1.into(),
            "",
        );
    }
    if let Some(v) = m.per_environment {
        c.range(
            "workers.lambda.managed_instances.per_environment",
            v.into(),
            PER_ENVIRONMENT.0.into(),
            PER_ENVIRONMENT.1.into(),
            "",
        );
    }
    let ratio = m.memory_per_vcpu.unwrap_or(MEMORY_PER_VCPU[0]);
    if let Some(v) = m.memory_per_vcpu
        && !MEMORY_PER_VCPU.contains(&v)
    {
        c.fail(
            "workers.lambda.managed_instances.memory_per_vcpu",
            format!("{v} is not a ratio Lambda Managed Instances offer: 2, 4 or 8 (GiB per vCPU)"),
        );
    } else {
        // At least one vCPU, and a whole number of them.
        let least = MANAGED_MEMORY_MIN_MB.max(ratio * 1_024);
        if l.memory_mb < least || !l.memory_mb.is_multiple_of(ratio * 1_024) {
            c.fail(
                "workers.lambda.memory_mb",
                format!(
                    "{} MB does not fit Lambda Managed Instances at {ratio} GiB per vCPU: give a multiple of {} MB, at least {least} MB (a function there has at least 2 GB and 1 vCPU)",
                    l.memory_mb,
                    ratio * 1_024
                ),
            );
        }
    }
    if l.image.is_none() && !managed_runtime(&l.runtime) {
        c.fail(
            "workers.lambda.runtime",
            format!(
                "`{}` does not run on Lambda Managed Instances: give {} or later, or {} or later",
                l.runtime, MANAGED_RUNTIMES[0].1, MANAGED_RUNTIMES[1].1
            ),
        );
    }
    // Managed instances run published versions: unqualified, Lambda invokes $LATEST.PUBLISHED
    // ("$LATEST.PUBLISHED version in Lambda Managed Instances",
    // https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-version-publishing.html).
    // qfleet's mapping invokes the alias of the version it publishes; `direct` has neither.
    if l.deployment == crate::config::LambdaDeployment::Direct {
        c.fail(
            "workers.lambda.deployment",
            "`direct` does not go with workers.lambda.managed_instances: a function on managed instances runs published versions only, and `direct` invokes the unpublished code; use canary or linear, which publish each version and shift the mapping's alias to it",
        );
    }
    // On managed instances a function's concurrency is its execution environments times
    // per_environment; qfleet caps it with the mapping's max_concurrency instead.
    if c.src.sets("workers.lambda.reserved_concurrency") {
        let e = c.src.key_error(
            "workers.lambda.reserved_concurrency",
            "qfleet does not combine reserved concurrency with workers.lambda.managed_instances: there the capacity provider's max_vcpus and managed_instances.per_environment bound the function, and workers.lambda.max_concurrency caps what the queue starts",
        );
        c.errors.push(e);
    }
}
