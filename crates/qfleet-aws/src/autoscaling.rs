//! The worker group as Auto Scaling describes it: size, instances, processes, recent activities,
//! scaling policies and lifecycle hooks. Read the same way by status and drift.

use super::Result;
use super::error::{AwsError, Kind};
use super::query::{Node, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Group {
    pub name: String,
    pub desired: i32,
    pub min: i32,
    pub max: i32,
    pub zones: Vec<String>,
    /// The launch template version the group launches (a number, `$Latest` or `$Default`).
    pub launch_template_version: Option<String>,
    pub instances: Vec<Instance>,
    pub suspended_processes: Vec<String>,
    /// The value of the group's `qfleet:budget-hold` tag (`N since TIME`): the budget hold
    /// (`budget.hold`) holds its maximum at N since TIME. `None`: no hold.
    pub budget_hold: Option<String>,
}

/// The tag the budget hold (`budget.hold`, qfleet_budget_hold.py) puts on a fleet it holds.
pub const BUDGET_HOLD_TAG: &str = "qfleet:budget-hold";

/// A hold as its tag's value says it (`N since 2026-11-30T10:00:00Z`): the maximum held, and
/// since when (UTC). `None`: a value not of that form.
pub fn budget_hold(value: &str) -> Option<(i64, &str)> {
    let (n, since) = value.split_once(" since ")?;
    let n = n.parse::<i64>().ok().filter(|n| *n >= 0)?;
    let ok = since.len() == 20
        && since.ends_with('Z')
        && since.as_bytes()[10] == b'T'
        && since[..10].split('-').count() == 3;
    ok.then_some((n, since))
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Instance {
    pub id: String,
    pub zone: String,
    /// InService, Pending, Terminating:Wait, …
    pub lifecycle: String,
    pub health: String,
    pub launch_template_version: Option<String>,
    pub protected_from_scale_in: bool,
    /// The instance's type (a group with several types launches any of them).
    pub instance_type: Option<String>,
}

impl Instance {
    fn in_service(&self) -> bool {
        self.lifecycle == "InService"
    }
}

impl Group {
    pub fn in_service(&self) -> usize {
        self.instances.iter().filter(|i| i.in_service()).count()
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Activity {
    pub start: String,
    pub status: String,
    pub description: String,
    cause: String,
    /// Why the activity failed, as Auto Scaling says it (`StatusMessage`), such as EC2's
    /// `InsufficientInstanceCapacity` or `VcpuLimitExceeded` error.
    pub status_message: String,
}

impl Activity {
    /// What a failed launch says of the account or of AWS, for a reader. EC2's error codes
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>) reach
    /// the activity as a code only from a group with a mixed instances policy ("Could not
    /// launch On-Demand Instances. InsufficientInstanceCapacity - …"); a group of one type
    /// gets EC2's message alone ("We currently do not have sufficient g6.xlarge capacity …",
    /// "You have requested more vCPU capacity than your current vCPU limit of 0 allows …").
    /// Spot over its quota is `MaxSpotInstanceCountExceeded`
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html>). Both
    /// forms are read; matched without regard to case.
    pub fn launch_failure(&self) -> Option<&'static str> {
        let text = format!("{} {}", self.status_message, self.description).to_lowercase();
        let has = |needle: &str| text.contains(needle);
        if has("insufficientinstancecapacity") || (has("do not have sufficient") && has("capacity"))
        {
            Some(
                "no capacity: EC2 had none of the instance type in that zone (InsufficientInstanceCapacity); the group keeps trying. List more instance types (workers.instance_types) or wait",
            )
        } else if has("vcpulimitexceeded") || has("than your current vcpu limit") {
            Some(
                "over quota: the account's vCPU quota for these instances is reached (VcpuLimitExceeded); ask AWS for more in Service Quotas, or lower workers.max",
            )
        } else if has("maxspotinstancecountexceeded") || has("max spot instance count exceeded") {
            Some(
                "over the Spot quota: the account's Spot vCPU quota for these instances is reached (MaxSpotInstanceCountExceeded); ask AWS for more in Service Quotas, or lower the Spot share",
            )
        } else if has("no spot capacity available") {
            Some(
                "no Spot capacity: EC2 had no Spot capacity of these types (InsufficientInstanceCapacity); the group keeps trying. List more instance types or lower the Spot share",
            )
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct ScalingPolicy {
    pub name: String,
    /// TargetTrackingScaling, StepScaling, SimpleScaling, PredictiveScaling.
    pub policy_type: String,
    /// The target of a target-tracking policy.
    pub target: Option<f64>,
}

impl ScalingPolicy {
    pub fn is_target_tracking(&self) -> bool {
        self.policy_type == "TargetTrackingScaling"
    }
}

/// A timestamp as the answer gives it (ISO 8601), printed as the SDK printed it before
/// (RFC 3339); a text that is none as it came.
fn timestamp(text: &str) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_str(text, Format::DateTime)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| text.to_string())
}

/// The group (`None`: Auto Scaling says there is no such group), from
/// DescribeAutoScalingGroups (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html>,
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AutoScalingGroup.html>).
pub async fn group(asg: &Query, name: &str) -> Result<Option<Group>> {
    let what = format!("describing group {name}");
    let out = asg
        .call(
            &what,
            "DescribeAutoScalingGroups",
            &[("AutoScalingGroupNames.member.1", name)],
        )
        .await?;
    let Some(g) = out
        .members("AutoScalingGroups")
        .find(|g| g.text("AutoScalingGroupName") == Some(name))
    else {
        return Ok(None);
    };
    let number = |k: &str| g.text(k).and_then(|v| v.parse::<i32>().ok());
    let (Some(desired), Some(min), Some(max)) = (
        number("DesiredCapacity"),
        number("MinSize"),
        number("MaxSize"),
    ) else {
        return Err(AwsError::with_kind(
            format!("{what}: the answer lacks the group's size"),
            Kind::Malformed,
        ));
    };
    let template_version = |n: &Node| {
        n.child("LaunchTemplate")
            .and_then(|lt| lt.text("Version"))
            .map(str::to_string)
    };
    let mut instances = Vec::new();
    for i in g.members("Instances") {
        let (Some(id), Some(lifecycle)) = (i.text("InstanceId"), i.text("LifecycleState")) else {
            return Err(AwsError::with_kind(
                format!("{what}: an instance without an id or lifecycle state"),
                Kind::Malformed,
            ));
        };
        instances.push(Instance {
            id: id.to_string(),
            zone: i.text("AvailabilityZone").unwrap_or_default().to_string(),
            lifecycle: lifecycle.to_string(),
            health: i.text("HealthStatus").unwrap_or_default().to_string(),
            launch_template_version: template_version(i),
            protected_from_scale_in: i.text("ProtectedFromScaleIn") == Some("true"),
            instance_type: i.text("InstanceType").map(str::to_string),
        });
    }
    Ok(Some(Group {
        name: name.to_string(),
        desired,
        min,
        max,
        zones: g
            .members("AvailabilityZones")
            .map(|z| z.text.clone())
            .collect(),
        launch_template_version: template_version(g),
        instances,
        suspended_processes: g
            .members("SuspendedProcesses")
            .filter_map(|p| p.text("ProcessName").map(str::to_string))
            .collect(),
        budget_hold: g
            .members("Tags")
            .find(|t| t.text("Key") == Some(BUDGET_HOLD_TAG))
            .map(|t| t.text("Value").unwrap_or_default().to_string()),
    }))
}

/// The group's five most recent scaling activities (DescribeScalingActivities,
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html>).
pub async fn recent_activities(asg: &Query, group: &str) -> Result<Vec<Activity>> {
    let out = asg
        .call(
            &format!("reading the scaling activities of {group}"),
            "DescribeScalingActivities",
            &[("AutoScalingGroupName", group), ("MaxRecords", "5")],
        )
        .await?;
    let text = |x: &Node, k: &str| x.text(k).unwrap_or_default().to_string();
    Ok(out
        .members("Activities")
        .map(|x| Activity {
            start: x.text("StartTime").map(timestamp).unwrap_or_default(),
            status: text(x, "StatusCode"),
            description: text(x, "Description"),
            cause: text(x, "Cause"),
            status_message: text(x, "StatusMessage"),
        })
        .collect())
}

/// The group's scaling policies, all pages (DescribePolicies,
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribePolicies.html>).
pub async fn policies(asg: &Query, group: &str) -> Result<Vec<ScalingPolicy>> {
    let what = format!("reading the scaling policies of {group}");
    let pages = asg
        .pages(
            &what,
            "DescribePolicies",
            &[("AutoScalingGroupName", group)],
        )
        .await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.members("ScalingPolicies"))
        .map(|p| ScalingPolicy {
            name: p.text("PolicyName").unwrap_or_default().to_string(),
            policy_type: p.text("PolicyType").unwrap_or_default().to_string(),
            target: p
                .child("TargetTrackingConfiguration")
                .and_then(|t| t.text("TargetValue"))
                .and_then(|v| v.parse().ok()),
        })
        .collect())
}

/// The names of the group's lifecycle hooks (DescribeLifecycleHooks,
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeLifecycleHooks.html>).
pub async fn lifecycle_hooks(asg: &Query, group: &str) -> Result<Vec<String>> {
    let out = asg
        .call(
            &format!("reading the lifecycle hooks of {group}"),
            "DescribeLifecycleHooks",
            &[("AutoScalingGroupName", group)],
        )
        .await?;
    Ok(out
        .members("LifecycleHooks")
        .filter_map(|h| h.text("LifecycleHookName").map(str::to_string))
        .collect())
}

/// An instance is outdated when its launch template version is a number lower than the
/// group's (`$Latest`/`$Default` on either side cannot be compared and count as current).
pub fn is_outdated(instance: Option<&str>, group: Option<&str>) -> bool {
    match (
        instance.and_then(|v| v.parse::<u64>().ok()),
        group.and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some(i), Some(g)) => i < g,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::Activity;

    fn failed(message: &str) -> Activity {
        Activity {
            start: "2026-11-28T08:00:00Z".into(),
            status: "Failed".into(),
            description: "Launching a new EC2 instance.  Status Reason: see below".into(),
            cause: String::new(),
            status_message: message.into(),
        }
    }

    /// The texts as Auto Scaling writes them: a group of one type gets EC2's message alone, a
    /// mixed instances group the code before it.
    #[test]
    fn a_launch_that_failed_for_capacity_or_quota_says_which() {
        for (message, said) in [
            (
                "We currently do not have sufficient g6.xlarge capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity. Launching EC2 instance failed.",
                "no capacity",
            ),
            (
                "Could not launch On-Demand Instances. InsufficientInstanceCapacity - We currently do not have sufficient g6.xlarge capacity in the Availability Zone you requested (us-east-1a). Launching EC2 instance failed.",
                "no capacity",
            ),
            (
                "You have requested more vCPU capacity than your current vCPU limit of 0 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit. Launching EC2 instance failed.",
                "over quota",
            ),
            (
                "Could not launch On-Demand Instances. VcpuLimitExceeded - You have requested more vCPU capacity than your current vCPU limit of 0 allows. Launching EC2 instance failed.",
                "over quota",
            ),
            (
                "Could not launch Spot Instances. MaxSpotInstanceCountExceeded - Max spot instance count exceeded. Launching EC2 instance failed.",
                "over the Spot quota",
            ),
            (
                "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.",
                "no capacity",
            ),
        ] {
            let why = failed(message).launch_failure().unwrap_or_default();
            assert!(why.starts_with(said), "{message}: {why}");
        }
        assert_eq!(
            failed("Launching EC2 instance failed.").launch_failure(),
            None
        );
    }
}

#[cfg(test)]
mod hold_tests {
    use super::budget_hold;

    #[test]
    fn a_hold_tag_reads_as_its_maximum_and_time() {
        assert_eq!(
            budget_hold("3 since 2026-11-30T10:00:00Z"),
            Some((3, "2026-11-30T10:00:00Z"))
        );
        for bad in [
            "",
            "3",
            "x since 2026-11-30T10:00:00Z",
            "-1 since 2026-11-30T10:00:00Z",
            "3 since yesterday",
        ] {
            assert_eq!(budget_hold(bad), None, "{bad}");
        }
    }
}
