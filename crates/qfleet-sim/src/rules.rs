//! AWS's documented scaling rules, one function or constant each, so that a test can pin
//! every one of them. The model (`model.rs`) only calls these.
//!
//! Pages (read 2026-11-23):
//! - EC2 Auto Scaling, "Target tracking scaling policies for Amazon EC2 Auto Scaling":
//!   <https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html>
//! - Application Auto Scaling, "How target tracking scaling for Application Auto Scaling
//!   works" (the same engine; it spells out the proportional scale-out and the conservative
//!   scale-in): <https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html>
//! - "Set the default instance warmup for an Auto Scaling group":
//!   <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html>
//! - CloudWatch, "Alarm actions" (Auto Scaling actions repeat while the alarm stays in ALARM):
//!   <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html>
//! - SQS, "Available CloudWatch metrics for Amazon SQS" (one-minute, approximate):
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html>
//! - Lambda, "Configuring scaling behavior for SQS event source mappings":
//!   <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html>
//! - Lambda, provisioned mode: the same page ("enabling 3 times faster scaling"), and the AWS
//!   News Blog, "AWS Lambda enhances event processing with provisioned mode for SQS
//!   event-source mapping" (the figures: 10 invocations a poller, 1,000 more a minute,
//!   20,000 at most): <https://aws.amazon.com/blogs/aws/aws-lambda-enhances-sqs-processing-with-new-provisioned-mode-3x-faster-scaling-16x-higher-capacity>
//! - CloudFormation, `AWS::Lambda::EventSourceMapping ScalingConfig` (MaximumConcurrency 2
//!   to 1000): <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-eventsourcemapping-scalingconfig.html>

use crate::config::PollerSpec;

/// The period of every metric and alarm in the templates (`Period: 60`), and of SQS's
/// metrics, which it publishes once a minute.
pub const PERIOD: u64 = 60;

/// The longest visibility a message can have, seconds, counted from its receive: "The
/// maximum is 12 hours"; a longer ChangeMessageVisibility is rejected (ChangeMessageVisibility,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>).
/// A failed attempt's wait (`queue.retry`) stays within it.
pub const VISIBILITY_MAX: u64 = 43_200;

/// How long after the end of a minute its SQS datapoint can be read by an alarm. SQS
/// publishes its metrics once a minute and they are approximate; AWS documents no delay, so
/// the model assumes one period (a stated assumption, see docs/simulate.md).
pub const METRIC_DELAY: u64 = 60;

/// The period of the high-resolution backlog metric (`scaling.metric: high_resolution`):
/// qfleet's publisher puts a datapoint every 10 seconds at one-second storage resolution and
/// the policy reads it with `Period: 10`, "the lowest supported interval" ("Create a target
/// tracking policy using high-resolution metrics for faster response", EC2 Auto Scaling User
/// Guide, <https://docs.aws.amazon.com/autoscaling/ec2/userguide/policy-creating-high-resolution-metrics.html>).
pub const HIGH_RESOLUTION_PERIOD: u64 = 10;

/// How long after its period a high-resolution datapoint can be read by an alarm: the
/// publisher puts it at once; AWS documents no delay for custom metrics, so the model assumes
/// one period (10 s), as it assumes one for SQS's (docs/simulate.md), with a range up to three
/// periods ([`Unknowns::SLOWEST_HIGH_RESOLUTION_DELAY`]), as SQS's goes up to three.
pub const HIGH_RESOLUTION_DELAY: u64 = 10;

/// The period of the target tracking policy's metric and of its alarms' datapoints.
pub fn metric_period(high_resolution: bool) -> u64 {
    if high_resolution {
        HIGH_RESOLUTION_PERIOD
    } else {
        PERIOD
    }
}

/// The policy's metric: SQS's visible messages ÷ instances in service (no datapoint with none
/// in service: the expression divides by zero), or the publisher's (visible + in-flight) ÷
/// instances in service, which puts the backlog itself when none is in service
/// (crates/qfleet-runtime/python/qfleet_backlog_metric.py).
pub fn backlog_metric(
    visible: u64,
    in_flight: u64,
    in_service: u64,
    high_resolution: bool,
) -> Option<f64> {
    if high_resolution {
        Some((visible + in_flight) as f64 / in_service.max(1) as f64)
    } else {
        (in_service > 0).then(|| visible as f64 / in_service as f64)
    }
}

/// Target tracking's scale-out alarm (`TargetTracking-…-AlarmHigh`): the metric above the
/// target for 3 datapoints out of 3 one-minute periods. "Amazon EC2 Auto Scaling creates and
/// manages the CloudWatch alarms that invoke the scaling policy" (target tracking page), but
/// the user guides do not print the alarms' settings: 3 of 3 here and 15 of 15 below are what
/// the alarms it creates for a one-minute metric show in DescribeAlarms (an observation, not
/// a documented contract; docs/simulate.md says so). With a high-resolution metric the
/// alarms count the same numbers of 10-second datapoints (AWS documents no other figure; an
/// assumption, docs/simulate.md).
pub const HIGH_ALARM_DATAPOINTS: usize = 3;

/// Target tracking's scale-in alarm (`…-AlarmLow`): 15 datapoints out of 15 periods below
/// the lower threshold. "The policy … removes capacity only when utilization passes a
/// threshold that is far enough below the target value (usually more than 10% lower)"
/// (Application Auto Scaling's "How target tracking works").
pub const LOW_ALARM_DATAPOINTS: usize = 15;

/// The scale-in alarm's threshold as a share of the target: 10% below it.
pub const LOW_ALARM_RATIO: f64 = 0.9;

/// Whether the scale-out alarm is in ALARM: its last `n` datapoints (newest last; AWS's
/// [`HIGH_ALARM_DATAPOINTS`], an assumption with a range, [`Unknowns`]) all exist and are
/// above the target. A missing datapoint (no instance in service: the backlog per instance
/// divides by zero) breaches nothing.
pub fn high_alarm_of(datapoints: &[Option<f64>], target: f64, n: usize) -> bool {
    last_all(datapoints, n.max(1), |m| m > target)
}

/// Whether the scale-in alarm is in ALARM: its last [`LOW_ALARM_DATAPOINTS`] datapoints
/// all exist and are below `ratio` of the target (90 % in DescribeAlarms: [`LOW_ALARM_RATIO`];
/// an assumption with a range, [`Unknowns`]).
pub fn low_alarm(datapoints: &[Option<f64>], target: f64, ratio: f64) -> bool {
    last_all(datapoints, LOW_ALARM_DATAPOINTS, |m| m < target * ratio)
}

fn last_all(datapoints: &[Option<f64>], n: usize, breaching: impl Fn(f64) -> bool) -> bool {
    datapoints.len() >= n
        && datapoints[datapoints.len() - n..]
            .iter()
            .all(|d| d.is_some_and(&breaching))
}

/// The capacity target tracking asks for: proportional to the metric, "the policy … adds
/// capacity proportional to the metric value as fast as it can" (Application Auto Scaling's
/// "How target tracking works"): `ceil(capacity × metric ÷ target)`, the capacity whose
/// average the metric is. With the busy backlog per instance ((visible + in flight) ÷ in
/// service) that is `ceil((visible + in flight) ÷ target)`: enough instances for each to hold
/// the target.
pub fn capacity_for(capacity: u64, metric: f64, target: f64) -> u64 {
    if target <= 0.0 {
        return capacity;
    }
    // A hair below the exact product so that 125.000000001 (float noise) stays 125.
    ((capacity as f64 * metric / target) - 1e-9).ceil().max(0.0) as u64
}

/// The desired capacity after the scale-out alarm invoked the policy: never lower than it
/// is, since "during scale out, Amazon EC2 Auto Scaling considers instances that are warming
/// up as part of the current capacity of the group" (default instance warmup page): the
/// instances already launched for the same breach are not asked for twice. Within max.
pub fn scale_out(desired: u64, capacity: u64, metric: f64, target: f64, max: u64) -> u64 {
    desired.max(capacity_for(capacity, metric, target)).min(max)
}

/// The scale-from-zero step policy (templates/fleet.yaml.j2): its alarm fires on one
/// datapoint where messages are visible and the desired capacity is zero, and the step
/// adds one instance (`ChangeInCapacity`, `ScalingAdjustment: 1`).
pub fn scale_from_zero(desired: u64, visible: u64, max: u64) -> u64 {
    if desired == 0 && visible > 0 {
        1.min(max)
    } else {
        desired
    }
}

/// The concurrent batches a Lambda SQS event source mapping starts with once messages are
/// available: "Lambda starts processing five batches at a time with five concurrent
/// invocations of your function".
pub const LAMBDA_INITIAL: u64 = 5;

/// "If messages are still available, Lambda increases the number of processes that are
/// reading batches by up to 300 more instances per minute."
pub const LAMBDA_STEP_PER_MINUTE: u64 = 300;

/// "The maximum number of batches that an event source mapping can process simultaneously
/// is 1,000."
pub const LAMBDA_MAX: u64 = 1_000;

/// The mapping's concurrency after one more minute: up by 300 while messages wait, back to
/// five when traffic is low ("When traffic is low, Lambda scales back the processing to five
/// concurrent batches"; the further optimisation to two "is not available when you enable
/// the maximum concurrency setting", which qfleet always sets), never above the mapping's
/// maximum concurrency nor 1,000.
pub fn lambda_next_minute(current: u64, messages_waiting: bool, max_concurrency: u64) -> u64 {
    let cap = max_concurrency.min(LAMBDA_MAX);
    if messages_waiting {
        if current == 0 {
            LAMBDA_INITIAL.min(cap)
        } else {
            (current + LAMBDA_STEP_PER_MINUTE).min(cap)
        }
    } else {
        current.min(LAMBDA_INITIAL.min(cap))
    }
}

/// Provisioned mode: "These event pollers can auto scale up to 1000 concurrent executions
/// per minute" (AWS News Blog, provisioned mode for SQS).
pub const PROVISIONED_STEP_PER_MINUTE: u64 = 1_000;

/// Provisioned mode: "up to 20,000 concurrency" (the same post).
pub const PROVISIONED_MAX: u64 = 20_000;

/// The concurrent invocations provisioned mode runs at least and at most: the minimum
/// pollers are dedicated and "remain ready to handle expected traffic patterns" (Lambda,
/// "Configuring scaling behavior for SQS event source mappings"), each up to
/// [`PollerSpec::INVOCATIONS_PER_POLLER`] invocations, so they run their invocations from the
/// first message on; the maximum pollers cap the mapping, within 20,000.
pub fn provisioned_bounds(pollers: PollerSpec) -> (u64, u64) {
    let per = u64::from(PollerSpec::INVOCATIONS_PER_POLLER);
    let cap = (u64::from(pollers.maximum) * per).min(PROVISIONED_MAX);
    ((u64::from(pollers.minimum) * per).min(cap), cap)
}

/// The concurrency of a provisioned-mode mapping after one more minute: up by 1,000 while
/// messages wait, from at least what the minimum pollers run, within what the maximum
/// pollers run; back to the minimum pollers' when the queue is empty.
pub fn provisioned_next_minute(current: u64, messages_waiting: bool, pollers: PollerSpec) -> u64 {
    let (floor, cap) = provisioned_bounds(pollers);
    if messages_waiting {
        (current.max(floor) + PROVISIONED_STEP_PER_MINUTE).min(cap)
    } else {
        floor
    }
}

/// A warm pool's size: "If a value for MaxGroupPreparedCapacity is not specified, Amazon EC2
/// Auto Scaling launches and maintains the difference between the group's maximum capacity
/// and its desired capacity" (PutWarmPool,
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html>), and at
/// least `MinSize`.
pub fn warm_pool_size(min_size: u64, max: u64, desired: u64) -> u64 {
    max.saturating_sub(desired).max(min_size)
}

/// From leaving a stopped warm pool to the worker reading the queue: the instance starts and
/// boots, its bootstrap already done ("Warm pools for Amazon EC2 Auto Scaling" describes the
/// saving, not a figure; 30 s is the model's assumption, docs/simulate.md), never longer
/// than a full launch.
pub const WARM_START_STOPPED: u64 = 30;

/// From leaving a running warm pool: qfleet-launch-hook notices the target state InService
/// within its five-second poll and completes the launching hook.
pub const WARM_START_RUNNING: u64 = 5;

// --- Fargate: Application Auto Scaling on an ECS service ---------------------------------
//
// Pages (read 2026-11-23):
// - Application Auto Scaling API Reference, `TargetTrackingScalingPolicyConfiguration`
//   (ScaleOutCooldown, ScaleInCooldown):
//   <https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html>
// - The same, `StepScalingPolicyConfiguration` (Cooldown, with the worked example of a step
//   of 2 then 3): <https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html>
// - "How target tracking scaling for Application Auto Scaling works" (cooldowns, scale-in
//   "more gradually", insufficient data): <https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html>
// - Amazon ECS, "Amazon ECS CloudWatch metrics" (no metric for a service with no running
//   task): <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html>

/// Whether a cooldown that began at `since` (`None`: none yet) still runs at `now`.
pub fn in_cooldown(since: Option<u64>, cooldown: u64, now: u64) -> bool {
    since.is_some_and(|at| now < at + cooldown)
}

/// The desired count after target tracking's scale-out alarm invoked the policy asking for
/// `want` tasks, or `None` when nothing changes. "While the cooldown period is in effect, the
/// capacity that has been added by the previous scale out event that initiated the cooldown
/// is calculated as part of the desired capacity for the next scale out": during the
/// scale-out cooldown a second scale-out happens only when it asks for more than the desired
/// count already holds (a larger scale-out). The policy's ask is a count, not a step
/// (`capacity_for`: the backlog ÷ the target), and a scale-out never lowers the count, so
/// after the cooldown the rule is the same: the cooldown never lets the policy ask twice for
/// the tasks still starting. Within max.
pub fn app_scale_out(desired: u64, want: u64, max: u64) -> Option<u64> {
    let want = want.min(max);
    (want > desired).then_some(want)
}

/// The desired count after target tracking's scale-in alarm invoked the policy, or `None`:
/// "scale-in activities are blocked until the cooldown period has expired" (ScaleInCooldown,
/// counted from the last scale-in; a scale-out during it "scales out … immediately" and ends
/// it). Never below min, never a scale-in that adds.
pub fn app_scale_in(
    desired: u64,
    want: u64,
    min: u64,
    last_scale_in: Option<u64>,
    cooldown: u64,
    now: u64,
) -> Option<u64> {
    if in_cooldown(last_scale_in, cooldown, now) {
        return None;
    }
    let to = want.max(min);
    (to < desired).then_some(to)
}

/// The start-from-zero alarm (templates/fargate.yaml.j2): `visible > 0 AND inflight == 0`
/// in 2 of 2 one-minute periods (`EvaluationPeriods: 2`, `DatapointsToAlarm: 2`); a
/// period with no datapoint breaches nothing (`TreatMissingData: notBreaching`). Each entry
/// is a minute's (visible, in flight), newest last.
pub const START_ALARM_DATAPOINTS: usize = 2;

pub fn start_alarm(minutes: &[(u64, u64)]) -> bool {
    minutes.len() >= START_ALARM_DATAPOINTS
        && minutes[minutes.len() - START_ALARM_DATAPOINTS..]
            .iter()
            .all(|&(visible, in_flight)| visible > 0 && in_flight == 0)
}

/// The start-from-zero step policy (`ChangeInCapacity`, `ScalingAdjustment: 1`, `Cooldown`),
/// invoked again every minute while its alarm stays in ALARM ("Alarm actions": Auto Scaling
/// actions repeat). During its cooldown the task it added counts towards the next step: "If
/// the alarm triggers again during the cooldown period but at a more aggressive step
/// adjustment of 3, the previous increase of 2 is considered part of the current capacity.
/// Therefore, only 1 is added" (StepScalingPolicyConfiguration), so a repeated step of 1
/// adds nothing until the cooldown ends. Returns the desired count and whether the step
/// scaled (which starts a new cooldown). Within max.
pub fn start_step(
    desired: u64,
    max: u64,
    last_step: Option<u64>,
    cooldown: u64,
    now: u64,
) -> (u64, bool) {
    const STEP: u64 = 1;
    let counted = if in_cooldown(last_step, cooldown, now) {
        STEP
    } else {
        0
    };
    let add = STEP - counted;
    if add == 0 || desired >= max {
        return (desired, false);
    }
    ((desired + add).min(max), true)
}

/// From a task's placement to its worker reading the queue (image pull, container start),
/// when `--launch-time` is not given: an assumption to measure (docs/simulate.md), shorter
/// than an instance's boot and user data.
pub const FARGATE_TASK_START: u64 = 60;

/// From an instance's launch to its worker reading the queue, when `--launch-time` is not
/// given.
pub const EC2_LAUNCH: u64 = 90;

/// From an accelerated instance's launch (G, P, Inf, Trn, DL, VT: [`is_accelerated`]) to
/// its worker reading the queue, when `--launch-time` is not given: an assumption to measure
/// (docs/simulate.md, "Launch time"), built from what AWS publishes loosely, as a range:
/// - boot and user data: [`EC2_LAUNCH`], 90 s, with the NVIDIA driver of a GPU AMI loading
///   in it (the driver is in the AMI; its initialisation is seconds);
/// - the container image: AWS's Machine Learning Blog, "Reducing container cold start times
///   using SOCI index on DLAMI and DLC" (2026-06-03,
///   https://aws.amazon.com/blogs/machine-learning/reducing-container-cold-start-times-using-soci-index-on-dlami-and-dlc/):
///   "Standard Docker image pulls of 15–20 GB can take 4–6 minutes per instance"; Amazon EKS
///   Best Practices, "AI/ML: Application Scaling and Performance"
///   (https://docs.aws.amazon.com/eks/latest/best-practices/aiml-performance.html): a PyTorch
///   CUDA runtime image is 3.03 GB, its devel image 6.66 GB: a minute or two at that rate;
/// - the model loaded into GPU memory: tens of seconds for a model of a few GB (the same
///   page: model artifacts pulled at start "increase startup times").
///
/// Hence [`GPU_LAUNCH_RANGE`]: about 150 s (a 3 GB image, a small model) to 480 s (a 15–20 GB
/// image, then the model); the default, 300 s, is boot (90 s), a multi-GB image (about
/// 150 s) and a model load (about 60 s).
pub const GPU_LAUNCH: u64 = 300;

/// The range [`GPU_LAUNCH`] is chosen from, seconds: said in the output beside it.
pub const GPU_LAUNCH_RANGE: (u64, u64) = (150, 480);

/// Whether `instance_type` is an accelerated type whose launch is [`GPU_LAUNCH`]: the families
/// whose letters before the generation are `g` or `gr` (GPU), `p` (GPU), `inf` (Inferentia),
/// `trn` (Trainium), `dl` (Gaudi) or `vt` (video transcoding), per EC2's instance type
/// naming conventions
/// (https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html); an
/// UltraServer's `u-` prefix is read past (`u-p6e-gb200x72`).
pub fn is_accelerated(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    let family = family.strip_prefix("u-").unwrap_or(family);
    let letters: String = family
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    matches!(
        letters.as_str(),
        "g" | "gr" | "p" | "inf" | "trn" | "dl" | "vt"
    )
}

// --- Scale-in, and what AWS leaves unsaid -------------------------------------------------
//
// Pages (read 2026-11-24):
// - EC2 Auto Scaling, "Target tracking scaling policies" and Application Auto Scaling, "How
//   target tracking scaling for Application Auto Scaling works": target tracking "scales out
//   proportionally to the metric as fast as it can, but scales in more gradually"; neither
//   says how gradually.
// - EC2 Auto Scaling API Reference, `TargetTrackingConfiguration` (`DisableScaleIn`: "the
//   target tracking scaling policy won't remove capacity from the Auto Scaling group"), and
//   Application Auto Scaling's `TargetTrackingScalingPolicyConfiguration` (the same field).
// - EC2 Auto Scaling, "Step and simple scaling policies": a simple scaling policy "must wait
//   for the scaling activity or health check replacement to complete and the cooldown period
//   to expire before responding to additional alarms"; `PercentChangeInCapacity` rounding
//   and `MinAdjustmentMagnitude`:
//   <https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html>
// - Application Auto Scaling, `StepScalingPolicyConfiguration` (`Cooldown`: "scale-in
//   activities are blocked until the cooldown period has expired"; `MinAdjustmentMagnitude`).

/// How target tracking's own scale-in removes capacity: each time its low alarm invokes the
/// policy (every minute while the alarm stays in ALARM, "Alarm actions"), the desired
/// capacity moves `share` of the way from where it is towards the proportional capacity,
/// at least one, never below it. The one mechanism AWS states for the policy that "scales in
/// more gradually" is its threshold: it "slows down scaling by removing capacity only when
/// utilization passes a threshold that is far enough below the target value" ("How target
/// tracking scaling for Application Auto Scaling works"); how much one action removes is not
/// said. So `share` is an assumption with a range (docs/simulate.md) whose upper end, 1.0,
/// the whole surplus at once, is assumed, not documented: the proportional step the
/// scale-out takes, and what the fleets measured before the busy backlog did (dropped to
/// `min` in one action).
pub fn tracking_scale_in(desired: u64, want: u64, min: u64, share: f64) -> Option<u64> {
    let floor = want.max(min);
    if floor >= desired {
        return None;
    }
    let surplus = desired - floor;
    let step = ((surplus as f64 * share).ceil() as u64).clamp(1, surplus);
    Some(desired - step)
}

/// A `PercentChangeInCapacity` adjustment of `-percent` applied to `desired`, as EC2 Auto
/// Scaling and Application Auto Scaling round it: "Values between 0 and -1 are rounded to -1
/// … Values less than -1 are rounded up. For example, -6.67 is rounded to -6" (EC2 Auto
/// Scaling, "Step and simple scaling policies"; the same rules in "How step scaling for
/// Application Auto Scaling works"), then raised to `MinAdjustmentMagnitude` (1 in qfleet's
/// templates); never below `min`. `None` when nothing would change.
pub fn percent_scale_in(desired: u64, percent: u64, min: u64) -> Option<u64> {
    if desired <= min {
        return None;
    }
    let exact = desired as f64 * percent as f64 / 100.0;
    let remove = if exact >= 1.0 {
        exact.floor() as u64
    } else {
        1
    };
    let remove = remove.max(MIN_ADJUSTMENT_MAGNITUDE);
    Some(desired.saturating_sub(remove).max(min))
}

/// `MinAdjustmentMagnitude` of qfleet's scale-in policy: a step always removes at least one.
pub const MIN_ADJUSTMENT_MAGNITUDE: u64 = 1;

/// qfleet's scale-in alarm: in ALARM when its last `datapoints` one-minute datapoints all
/// exist and are below `below` × the target (`EvaluationPeriods` = `DatapointsToAlarm` =
/// `datapoints`, `TreatMissingData: notBreaching`: no datapoint, no scale-in).
pub fn scale_in_alarm(datapoints: &[Option<f64>], target: f64, below: f64, n: usize) -> bool {
    last_all(datapoints, n.max(1), |m| m < target * below)
}

/// What qfleet's scale-in alarm reads each minute (templates/fleet.yaml.j2 and fargate.yaml.j2,
/// `ScaleInAlarm`): the busy backlog per worker ([`busy_backlog_metric`]), plus one whole
/// `target` where removing one step's workers would leave the rest at the target or over it,
/// since target tracking would then launch them straight back (at two to four workers one
/// worker is a quarter to a half of the fleet). So the alarm, whose threshold is below the
/// target, breaches only where the step keeps the fleet under the target. The step removes
/// `FLOOR(n × percent ÷ 100)` workers, at least one, and leaves no fewer than `min`, as
/// [`percent_scale_in`] rounds and bounds it.
/// CloudWatch's metric math, as the alarm computes it ("Using math expressions with
/// CloudWatch metrics", <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>):
/// "if the value of a data point causes a function to attempt to divide by zero, the data
/// point is dropped", and "missing values in a time series are treated as 0": with none in
/// service there is no datapoint (no scale-in), and with none left after the step (one
/// worker, `min` 0) nothing is added. The template also drops a minute whose SQS count has not
/// arrived while the group's has (it would read as an empty queue); the model's datapoints
/// carry both counts at once.
pub fn scale_in_datapoint(
    visible: u64,
    in_flight: u64,
    in_service: u64,
    percent: u64,
    min: u64,
    target: f64,
) -> Option<f64> {
    let busy = busy_backlog_metric(visible, in_flight, in_service)?;
    let removes = (in_service * percent / 100).max(MIN_ADJUSTMENT_MAGNITUDE);
    let left = in_service.saturating_sub(removes).max(min);
    let crosses = left > 0 && (visible + in_flight) as f64 / left as f64 >= target;
    Some(if crosses { busy + target } else { busy })
}

/// The backlog per worker that counts the busy: (visible + in flight) ÷ workers in service,
/// from SQS's one-minute `ApproximateNumberOfMessagesVisible` and
/// `ApproximateNumberOfMessagesNotVisible` (in flight: received, not yet deleted) and the
/// group's (or service's) count; no datapoint with none in service (the expression divides
/// by zero). A fleet that keeps up holds its messages in flight, so it does not look idle.
pub fn busy_backlog_metric(visible: u64, in_flight: u64, in_service: u64) -> Option<f64> {
    (in_service > 0).then(|| (visible + in_flight) as f64 / in_service as f64)
}

/// What AWS documents no number for, each a named assumption with the range the model is
/// run across (docs/simulate.md, "Assumptions"). A run is judged met only when it is met at
/// every end of every range.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Unknowns {
    /// Seconds after a one-minute period ends before its SQS datapoint can be read by an
    /// alarm. SQS publishes once a minute, "approximate"; no delay is documented.
    pub metric_delay: u64,
    /// The share of the surplus one target tracking scale-in action removes (no figure is
    /// documented; "more gradually" is said of its alarm).
    pub tracking_share: f64,
    /// Target tracking's scale-in alarm threshold as a share of the target ("usually more
    /// than 10% lower"); DescribeAlarms shows 90 % for an ECS service, about 70 % for an
    /// EC2 group's CPU policy.
    pub low_ratio: f64,
    /// Datapoints above the target that put target tracking's scale-out alarm in ALARM:
    /// DescribeAlarms shows 3 of 3; DynamoDB's guide, the one AWS page with a figure, says
    /// "two consecutive minutes" and that the number "could change in the future"
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html>).
    pub high_datapoints: usize,
    /// Seconds after a 10-second period ends before qfleet's high-resolution datapoint can
    /// be read by an alarm (`scaling.metric: high_resolution` only). No delay is documented
    /// for a custom metric put with one-second storage resolution.
    pub high_resolution_delay: u64,
}

impl Unknowns {
    /// The values the model uses unless told otherwise: the observed alarm (90 %), the
    /// shortest delays, half the surplus a step.
    pub const NOMINAL: Unknowns = Unknowns {
        metric_delay: METRIC_DELAY,
        tracking_share: 0.5,
        low_ratio: LOW_ALARM_RATIO,
        high_datapoints: HIGH_ALARM_DATAPOINTS,
        high_resolution_delay: HIGH_RESOLUTION_DELAY,
    };
    /// The longest SQS metric delay modelled: three periods.
    pub const SLOWEST_DELAY: u64 = 180;
    /// The longest high-resolution metric delay modelled: three 10-second periods.
    pub const SLOWEST_HIGH_RESOLUTION_DELAY: u64 = 30;
    /// The range of `tracking_share`: a tenth of the surplus a minute (slow to give back
    /// capacity: costly, never late) to all of it at once (quick to give it back: the side
    /// where a burst after a lull finds too few workers).
    pub const SHARES: [f64; 2] = [0.1, 1.0];
    /// The range of `low_ratio`: 70 % to 90 %.
    pub const LOW_RATIOS: [f64; 2] = [0.7, 0.9];
    /// The range of `high_datapoints`: 2 to 3.
    pub const HIGH_DATAPOINTS: [usize; 2] = [2, 3];

    /// The runs that cover the range: the nominal values, then each assumption moved alone
    /// to each of its ends, named. Only the assumptions that apply: `tracking` says whether
    /// target tracking's own scale-in is on, `high_resolution` whether the policy reads
    /// qfleet's high-resolution metric.
    pub fn range(tracking: bool, high_resolution: bool) -> Vec<(&'static str, Unknowns)> {
        let n = Self::NOMINAL;
        let mut out = vec![
            ("nominal", n),
            (
                "SQS metric delay 180 s",
                Unknowns {
                    metric_delay: Self::SLOWEST_DELAY,
                    ..n
                },
            ),
            (
                "target tracking scales out on 2 datapoints",
                Unknowns {
                    high_datapoints: Self::HIGH_DATAPOINTS[0],
                    ..n
                },
            ),
        ];
        if high_resolution {
            out.push((
                "high-resolution metric delay 30 s",
                Unknowns {
                    high_resolution_delay: Self::SLOWEST_HIGH_RESOLUTION_DELAY,
                    ..n
                },
            ));
        }
        if tracking {
            out.push((
                "target tracking scale-in removes a tenth of the surplus a minute",
                Unknowns {
                    tracking_share: Self::SHARES[0],
                    ..n
                },
            ));
            out.push((
                "target tracking scale-in removes the whole surplus at once",
                Unknowns {
                    tracking_share: Self::SHARES[1],
                    ..n
                },
            ));
            out.push((
                "target tracking's scale-in alarm at 70 % of the target",
                Unknowns {
                    low_ratio: Self::LOW_RATIOS[0],
                    ..n
                },
            ));
        }
        out
    }
}
