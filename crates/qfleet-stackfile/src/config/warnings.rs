//! Advice on a valid stack file: settings that are allowed but deserve a second look
//! (`qfleet validate` prints them as warnings).

use crate::config::duration::Seconds;
use crate::config::schema::MAX_ROLLING_PAUSE;
use crate::config::schema::WorkerKind;
use crate::config::{Environment, Network};

/// What `workers.allow_privileged: true` lets through, one warning each: said by validate,
/// plan and deploy every time, since the opt-in is in force every time.
pub fn privileged(env: &Environment) -> Vec<String> {
    let w = &env.spec.workers;
    if !w.allow_privileged {
        return Vec::new();
    }
    crate::config::checks::privileged(w)
        .into_iter()
        .map(|(field, why)| {
            format!(
                "{field}: {why}, allowed by workers.allow_privileged: true: every worker (and anything that runs on it) holds that power"
            )
        })
        .collect()
}

/// `budget.hold`: a hold can last until the period ends, and SQS deletes a message older than
/// the queue's retention period ("MessageRetentionPeriod",
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html),
/// so jobs a held fleet does not reach in time are lost. Said where a longer retention would
/// cover more of the period: up to 13 days, as the dead-letter queue must keep messages
/// longer, 14 days at most.
fn hold_warning(env: &Environment) -> Option<String> {
    let b = env.spec.budget.as_ref().filter(|b| b.hold)?;
    let (period, days) = match b.period {
        crate::config::BudgetPeriod::Day => ("day", 1),
        crate::config::BudgetPeriod::Month => ("month", 13),
    };
    let enough = Seconds::days(days);
    let short: Vec<String> = env
        .stages()
        .iter()
        .filter(|s| s.spec.workers.kind != WorkerKind::Lambda)
        .filter(|s| s.spec.queue.message_retention.0 < enough.0)
        .map(|s| match s.pipeline_stage() {
            Some(st) => format!("stage {}'s {}", st.name, s.spec.queue.message_retention),
            None => format!("the queue's {}", s.spec.queue.message_retention),
        })
        .collect();
    (!short.is_empty()).then(|| {
        format!(
            "budget.hold: a hold lasts until the {period} ends, and SQS deletes a job older than queue.message_retention ({}): a held fleet that cannot keep up loses jobs. Set queue.message_retention: {days}d, and heed the oldest-message alarm",
            short.join(", ")
        )
    })
}

/// How long the first job after a quiet spell may wait for a fleet at zero: SQS's metrics of
/// a queue active again resume "up to 15 minutes" later, then a minute's datapoint and the
/// alarm's period (AWS documents no more).
const SLEEPING_QUEUE_SECONDS: u64 = 15 * 60 + 2 * 60;

/// What the key policy of `kms_key` must allow for the sources (`sources`), which qfleet
/// neither reads nor changes: SNS must use the key to deliver to an encrypted queue ("the
/// AWS KMS key policy must allow the Amazon SNS service principal" kms:GenerateDataKey* and
/// kms:Decrypt, Enabling server-side encryption for an Amazon SNS topic with an encrypted
/// Amazon SQS queue subscribed,
/// https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html),
/// and another account's producers need the key's grant besides their own IAM policy.
fn key_policy_warnings(env: &Environment) -> Vec<String> {
    let Some(key) = &env.spec.kms_key else {
        return Vec::new();
    };
    let stages = env.stages();
    let mut w = Vec::new();
    if stages.iter().any(|s| !s.spec.sources.topics.is_empty()) {
        w.push(format!(
            "kms_key with sources.topics: the key's policy must let the service sns.amazonaws.com use {key} (kms:GenerateDataKey*, kms:Decrypt), or SNS cannot deliver the topics' messages; qfleet does not change key policies"
        ));
    }
    let mut others: Vec<&str> = stages
        .iter()
        .filter_map(|s| s.spec.sources.messages.as_ref())
        .flat_map(|m| m.producers.iter().map(String::as_str))
        .collect();
    others.sort_unstable();
    others.dedup();
    if !others.is_empty() {
        w.push(format!(
            "kms_key with producers in other accounts: the key's policy must let {} use {key} (kms:GenerateDataKey, kms:Decrypt), and their own IAM policies must allow it too",
            others.join(", ")
        ));
    }
    w
}

/// `alerts`: `alarms.email` beside it, what the key policy of `kms_key` must allow, and a
/// fleet whose failure notices at their bound could outrun a chat channel.
fn alert_warnings(env: &Environment) -> Vec<String> {
    use crate::config::schema::{NOTICES_PER_HOUR, NOTICES_PER_MINUTE};
    let spec = &env.spec;
    let mut w = Vec::new();
    if let Some(email) = &spec.alarms.email {
        w.push(format!(
            "alarms.email: {email} is still subscribed to the alarm topic; write it under alerts.email instead, which takes a list and sits beside the other destinations (docs/alerts.md)"
        ));
    }
    let Some(alerts) = &spec.alerts else {
        return w;
    };
    // EventBridge publishes the rolled-back deploys: to a topic under a customer managed key
    // it needs the key's kms:GenerateDataKey* and kms:Decrypt ("Amazon SNS permissions",
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
    // AWS Budgets too, with a budget ("budgets-sns-policy",
    // https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html).
    if let Some(key) = &spec.kms_key {
        let (services, what) = if spec.budget.is_some() {
            (
                "cloudwatch.amazonaws.com, events.amazonaws.com and budgets.amazonaws.com",
                "the alarms, the rolled-back deploys and the budget's notices",
            )
        } else {
            (
                "cloudwatch.amazonaws.com and events.amazonaws.com",
                "the alarms and the rolled-back deploys",
            )
        };
        w.push(format!(
            "alerts with kms_key: the key's policy must let the services {services} use {key} (kms:GenerateDataKey*, kms:Decrypt), or {what} do not reach the alarm topic; qfleet does not change key policies"
        ));
    }
    // Each worker sends at most NOTICES_PER_MINUTE a minute, NOTICES_PER_HOUR an hour: a fleet
    // at workers.max failing every job sends that many times its workers (a function: its
    // concurrency). Slack takes about one message a second in a channel.
    let workers: i64 = env
        .stages()
        .iter()
        .map(|s| match s.spec.workers.kind {
            WorkerKind::Lambda => i64::from(s.spec.workers.lambda.max_concurrency),
            _ => s.spec.workers.max,
        })
        .sum();
    let per_minute = workers * i64::from(NOTICES_PER_MINUTE);
    if alerts.chat() && per_minute > 60 {
        w.push(format!(
            "alerts: with every worker failing every job, {workers} workers send up to {per_minute} failure notices in a minute and {} an hour (each at most {NOTICES_PER_MINUTE} a minute, {NOTICES_PER_HOUR} an hour), more than a chat channel reads; the alarms say it once, and `qfleet jobs {} --failed` lists them all (docs/alerts.md#how-many-notices)",
            workers * i64::from(NOTICES_PER_HOUR),
            env.name
        ));
    }
    w
}

/// An egress rule that opens more than one port to the whole internet: allowed, as the file
/// asks, and said on every run so that the team narrows it (to its database's CIDR or group).
fn egress_warnings(w: &crate::config::WorkersSpec) -> Vec<String> {
    use crate::config::EgressProtocol;
    w.egress
        .iter()
        .enumerate()
        .filter(|(_, r)| crate::config::egress_to_the_internet(r))
        .filter_map(|(i, r)| {
            let what = match (r.protocol, crate::config::egress_ports(r.port.as_deref())) {
                (EgressProtocol::All, _) => "every protocol and port".to_string(),
                (_, Some((a, b))) if a != b => format!("{} ports {a}-{b}", r.protocol.as_str()),
                _ => return None,
            };
            Some(format!(
                "workers.egress.{i}: the workers may reach {what} anywhere on the internet ({}); narrow it to what they call (a CIDR, a prefix list or the database's security group)",
                r.cidr.as_deref().unwrap_or_default()
            ))
        })
        .collect()
}

/// Copies with a dashboard each: CloudWatch's free tier covers three dashboards an account,
/// each beyond them costs $3 a month (Amazon CloudWatch pricing,
/// https://aws.amazon.com/cloudwatch/pricing/).
fn dashboard_warning(env: &Environment) -> Option<String> {
    let copies = env.spec.copies.unwrap_or(0);
    (env.dashboard() && copies > 3).then(|| {
        format!(
            "copies: {copies} environments with a dashboard each: CloudWatch charges $3 a month for each dashboard beyond an account's first three; set dashboard: false if the lab does not need them"
        )
    })
}

/// A build context above [`CONTEXT_WARNING_BYTES`]: every command that loads the file reads
/// it all to know the image's tag, and the engine is sent all of it.
fn context_warnings(env: &Environment) -> Vec<String> {
    use crate::package::image::CONTEXT_WARNING_BYTES;
    env.stages()
        .into_iter()
        .filter_map(|s| s.image_build.as_ref().map(|b| (s, b)))
        .filter(|(_, b)| b.bytes > CONTEXT_WARNING_BYTES)
        .map(|(s, b)| {
            let field = match s.spec.workers.kind {
                WorkerKind::Lambda => "workers.lambda.image.build",
                _ => "workers.image.build",
            };
            let stage = s
                .stage
                .as_ref()
                .map(|st| format!(" (stage {})", st.name))
                .unwrap_or_default();
            format!(
                "{field}{stage}: the build context {} holds {} MiB in {} files, more than {} MiB: every command that loads this file reads all of it to know the image's tag, and the engine is sent all of it; leave what the image does not need out with a .dockerignore",
                b.context.display(),
                b.bytes / (1024 * 1024),
                b.files,
                CONTEXT_WARNING_BYTES / (1024 * 1024)
            )
        })
        .collect()
}

/// Settings that are allowed but deserve a second look.
pub fn warnings(env: &Environment) -> Vec<String> {
    let spec = &env.spec;
    let mut w = Vec::new();
    w.extend(crate::config::targets::rollout_warning(env));
    w.extend(crate::config::targets::account_warnings(env));
    if crate::config::regions::partition(&spec.region).is_none() {
        w.push(format!(
            "region: `{}` is not in qfleet's table of AWS Regions (accepted because of region_unlisted: true); check the name, since AWS refuses a Region that does not exist only when a command runs",
            spec.region
        ));
    }
    w.extend(key_policy_warnings(env));
    w.extend(context_warnings(env));
    w.extend(dashboard_warning(env));
    w.extend(alert_warnings(env));
    w.extend(hold_warning(env));
    w.extend(schedule_warnings(env, jiff::Timestamp::now()));
    // A function has no network of qfleet's: it reaches the regional endpoints.
    let ec2 = spec.workers.kind == WorkerKind::Ec2;
    // Instances and tasks run in the subnets qfleet places them in; a function does not.
    let placed = spec.workers.kind != WorkerKind::Lambda;
    if placed && spec.workers.public_ip {
        w.push("workers.public_ip: true gives every worker a public IP address (no inbound port is open); prefer private subnets with a NAT gateway or VPC endpoints".to_string());
    } else if placed && spec.workers.network == Network::Default {
        w.push("workers.network: default without workers.public_ip: the default VPC's subnets have no NAT gateway, so workers reach SQS and S3 only if the VPC has endpoints for them".to_string());
    }
    if placed {
        w.extend(egress_warnings(&spec.workers));
    }
    // A goal the derived target cannot hold for the workers it is derived for, even at its
    // lowest (0.1 busy): the goal is too close to the processing time.
    if let (Some(goal), Some(per_message), None) = (
        spec.scaling.max_latency_seconds,
        spec.scaling.seconds_per_message,
        spec.scaling.target_backlog_per_instance,
    ) && spec.workers.kind != WorkerKind::Lambda
        && goal > 0.0
        && per_message > 0.0
    {
        use crate::config::headroom;
        let c = headroom::reference_workers(
            goal,
            per_message,
            spec.workers.max.max(1) as u64,
            spec.scaling.expected_peak,
        );
        if !headroom::holds(c, headroom::LOWEST, goal, per_message) {
            w.push(format!(
                "scaling.max_latency_seconds: {goal} s leaves too little room over {per_message} s a message for 99 % of the messages to meet it even with the workers 90 % idle (the target stays at {}); a message's own processing, up to {:.0} s at a spread of 20 %, takes most of the goal: check with `qfleet simulate {} --load steady:{}/m` (or your own load), or allow a longer goal",
                headroom::LOWEST,
                per_message * (1.0 + headroom::SPREAD),
                env.name,
                // What the fleet at its largest handles at the goal's pace: a load it should hold.
                ((spec.workers.max.max(1) as f64) * 60.0 / per_message).floor().max(1.0)
            ));
        }
    }
    // A step that removes `percent` raises the busy backlog per worker by 1 ÷ (1 − percent):
    // from just below `below` × the target it would cross the target, and target tracking
    // would scale straight back out. The scale-in alarm holds such a step back (it adds the
    // target to its datapoint where the workers left would hold the target or more), so it
    // does not flap, but it then waits for a backlog under (1 − percent) × the target, and
    // `below` above that says nothing.
    let si = &spec.scaling.scale_in;
    if spec.workers.kind != WorkerKind::Lambda
        && si.policy == crate::config::schema::ScaleInPolicy::Step
        && si.percent < 100
        && si.below / (1.0 - f64::from(si.percent) / 100.0) >= 1.0
    {
        w.push(format!(
            "scaling.scale_in: removing {} % from a busy backlog just under {} × the target would raise it above the target, so the scale-in waits until the backlog is under {:.2} × the target instead; lower percent or below (below ÷ (1 − percent) under 1)",
            si.percent,
            si.below,
            1.0 - f64::from(si.percent) / 100.0
        ));
    }
    // A fleet that idles at zero makes no call on its queue, and after six hours without one
    // SQS "stops delivering metrics" until the queue is active again, which takes "up to 15
    // minutes" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html):
    // the first job after a quiet night may wait that long before a worker starts. The
    // high-resolution publisher calls the queue every few seconds, which keeps it active.
    if let Some(goal) = spec.scaling.max_latency_seconds
        && spec.workers.kind != WorkerKind::Lambda
        && spec.workers.min == 0
        && spec.scaling.metric != crate::config::schema::ScalingMetric::HighResolution
        && goal < SLEEPING_QUEUE_SECONDS as f64
    {
        // The publisher is EC2's only (validation refuses it for Fargate).
        let or_publisher = match spec.workers.kind {
            WorkerKind::Ec2 => {
                ", or set scaling.metric: high_resolution (its publisher keeps the queue active)"
            }
            _ => "",
        };
        w.push(format!(
            "workers.min: 0 with scaling.max_latency_seconds {goal}: after six hours without a call on the queue (a fleet at zero makes none), SQS stops publishing its metrics and resumes them up to 15 minutes after the next message, so the first job after a quiet spell may wait that long before a worker starts (qfleet simulate does not model this); keep workers.min at 1{or_publisher}, if that job must meet the goal too"
        ));
    }
    if spec.queue.max_receive_count == 1 {
        w.push("queue.max_receive_count: 1 sends a message to the dead-letter queue after a single failed attempt, including transient failures; 3 to 5 is usual".to_string());
    }
    if !env.retain_bucket() && !spec.lab {
        w.push("bucket.retain: false outside a lab: deleting the data stack deletes the bucket (qfleet still refuses while it holds objects)".to_string());
    }
    if let Some(note) = env.parked_note() {
        w.push(note);
    }
    if !spec.workers.dev_principals.is_empty() {
        w.push(format!(
            "workers.dev_principals: {} may assume the workers' role, and so do all the workers may (take and delete jobs, read the declared secrets) from anywhere; keep it to the people who debug the worker, and out of production files",
            spec.workers.dev_principals.join(", ")
        ));
    }
    let lambda = spec.workers.kind == WorkerKind::Lambda;
    let image_setting = spec.workers.lambda.image.as_ref().filter(|_| lambda);
    // An image qfleet builds is tagged by its inputs' digest: a new image is a new tag.
    let image = image_setting.and_then(|i| i.uri());
    // Lambda resolves a tag to a digest when the function is created or its code updated, and
    // does not follow the tag when it moves (UpdateFunctionCode, "Lambda resolves the image tag
    // to an image digest. In Amazon ECR, if you update the image tag to a new image, Lambda does
    // not automatically update the function";
    // https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html); CloudFormation
    // sees no change in a template whose ImageUri is the same text.
    if let Some(uri) = image
        && !uri.contains("@sha256:")
    {
        w.push(format!(
            "workers.lambda.image `{uri}` names a tag: Lambda runs the digest the tag pointed to when the function was created or last changed, and a deploy after pushing the same tag again changes nothing; name the image by digest (REPOSITORY@sha256:…) so that each new image is a change qfleet deploys"
        ));
    }
    if image_setting.is_none()
        && lambda
        && let Some(warning) = crate::config::runtimes::warning(
            &spec.workers.lambda.runtime,
            std::time::SystemTime::now(),
        )
    {
        w.push(warning);
    }
    if ec2 && spec.workers.signal_timeout() > MAX_ROLLING_PAUSE {
        w.push(format!(
            "workers.instance_warmup: {} is longer than an hour: a first deploy waits that long for the workers to report in, but a rolling update gives each replacement at most one hour (CloudFormation's longest PauseTime), after which the update fails and rolls back",
            spec.workers.instance_warmup
        ));
    }
    // Each instance type in each zone is a Spot capacity pool of its own; AWS's Spot best
    // practices ask for flexibility across types so that one pool running dry does not stop
    // the fleet (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-best-practices.html).
    let spot = &spec.workers.spot;
    if ec2 && spot.percent > 0 && spec.workers.instance_types.is_none() {
        w.push(format!(
            "workers.spot with the one instance type {}: each type in each zone is a separate Spot capacity pool, and AWS recommends being flexible across several; list 2 or more in workers.instance_types",
            spec.workers.instance_type
        ));
    }
    if ec2 && spot.percent == 0 && spot.on_demand_base > 0 {
        w.push(format!(
            "workers.spot.on_demand_base: {} with spot.percent 0: every instance is On-Demand anyway; set spot.percent to run the rest on Spot",
            spot.on_demand_base
        ));
    }
    if matches!(
        spec.workers.kind,
        WorkerKind::Fargate | WorkerKind::EcsManaged
    ) {
        w.extend(fargate(env));
    }
    if spec.kms_key.is_none() && !spec.lab {
        w.push("no kms_key: the bucket uses SSE-S3, the queues SSE-SQS and the topics are not encrypted with a customer managed key".to_string());
    }
    w.extend(privileged(env));
    w
}

/// What deserves a second look in Fargate workers' settings.
/// The warnings of an ECS service's tasks, on Fargate or on ECS Managed Instances.
fn fargate(env: &Environment) -> Vec<String> {
    let spec = &env.spec;
    let f = &spec.workers.fargate;
    let managed = spec.workers.kind == WorkerKind::EcsManaged;
    let (kind, where_, stop_timeout) = match managed {
        true => (
            "ecs_managed",
            "ECS Managed Instances",
            spec.workers.ecs_managed.stop_timeout,
        ),
        false => ("fargate", "Fargate", f.stop_timeout),
    };
    let mut w = Vec::new();
    // A deployment while the service wants no task starts none: the circuit breaker only
    // judges tasks it starts (NOTES 1.1, "Health gate with min: 0").
    if spec.workers.min == 0 {
        w.push(format!("workers.min: 0 on {where_}: a deploy made while the service runs no task starts none, so the circuit breaker cannot roll back a broken image until work arrives; `qfleet status` then shows the failed rollout. Deploy with work waiting, or keep min at 1 while you change the image"));
    }
    let by_name: Vec<&str> = spec
        .workers
        .secrets
        .iter()
        .filter(|(_, v)| v.starts_with("secretsmanager:"))
        .map(|(k, _)| k.as_str())
        .collect();
    if !by_name.is_empty() {
        w.push(format!(
            "workers.secrets {} name a Secrets Manager secret without its ARN: ECS is given its partial ARN (no six-character suffix), which Secrets Manager resolves while one secret has that name; ECS documents the full ARN, so give it (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)",
            by_name.join(", ")
        ));
    }
    // "Linux tasks with the ARM64 architecture don't support the Fargate Spot capacity
    // provider" (Amazon ECS Developer Guide, Fargate capacity providers); the API's newer text
    // allows it from platform 1.4.0. Said, not refused: the first deploy tells.
    if !managed
        && f.platform == crate::config::schema::Platform::LinuxArm64
        && spec.workers.spot.percent > 0
    {
        w.push("workers.spot with workers.fargate.platform linux/arm64: AWS's ECS guide says Fargate Spot runs X86_64 tasks only, while its API reference allows ARM64 on platform 1.4.0 or later; if Spot tasks do not start, use linux/x86_64 or no Spot".to_string());
    }
    if let Some(per_message) = spec.scaling.seconds_per_message
        && per_message > stop_timeout.0 as f64
    {
        w.push(format!(
            "scaling.seconds_per_message: {per_message} is longer than workers.{kind}.stop_timeout ({stop_timeout}): a task stopped by a scale-in or a deployment cannot finish its job, which is released and done again by another task; use ECS task scale-in protection from the worker for long jobs",
        ));
    }
    w
}

/// A cron schedule that has no run left (its years are past): Scheduler takes it, and it never
/// sends a job.
fn schedule_warnings(env: &Environment, now: jiff::Timestamp) -> Vec<String> {
    env.spec
        .sources
        .schedules
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let cron = crate::config::cron::Cron::parse(s.cron.as_deref()?).ok()?;
            // A zone not known is refused on its own; a past year is past in any zone.
            let zone = crate::config::cron::zone(s.timezone.as_deref())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            cron.next_after(now, &zone).is_none().then(|| {
                format!(
                    "sources.schedules.{i}.cron: `{}` has no run left: schedule {} never sends a job",
                    s.cron.as_deref().unwrap_or_default(),
                    s.name
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(yaml: &str) -> Environment {
        crate::config::parse("stacks/t.yaml".into(), yaml.to_string())
            .unwrap()
            .into_only()
    }

    #[test]
    fn fargate_warns_of_a_health_gate_at_zero_a_secret_by_name_and_jobs_longer_than_the_stop() {
        let base = "region: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n";
        let quiet = warnings(&env(base));
        assert!(
            !quiet
                .iter()
                .any(|w| w.contains("Fargate") || w.contains("stop_timeout")),
            "{quiet:?}"
        );
        let loud = warnings(&env(&format!(
            "{base}  min: 0\n  secrets: {{KEY: secretsmanager:app/key}}\nscaling: {{scale_from_zero: true, seconds_per_message: 45, max_latency_seconds: 450}}\n"
        )));
        let has = |s: &str| loud.iter().any(|w| w.contains(s));
        assert!(has("circuit breaker cannot roll back"), "{loud:?}");
        assert!(
            has("workers.secrets KEY name a Secrets Manager secret"),
            "{loud:?}"
        );
        assert!(
            has("longer than workers.fargate.stop_timeout (30s)"),
            "{loud:?}"
        );
    }
}
