//! A small, dated table of on-demand prices: enough to put a figure on a simulated run, not a
//! bill. A type or region the table does not hold has no price (`None`), never zero.

/// Where the figures come from and when they were taken.
pub(super) const SOURCE: &str = "AWS public on-demand list prices (EC2: Linux, shared tenancy, https://aws.amazon.com/ec2/pricing/on-demand/; Lambda: x86, first tier, https://aws.amazon.com/lambda/pricing/), as of 2024-12";

/// Where the Fargate figures come from and when they were taken.
pub(super) const FARGATE_SOURCE: &str = "AWS Fargate on-demand list prices (Linux/x86 and Linux/ARM, per vCPU-hour and GB-hour, https://aws.amazon.com/fargate/pricing/), us-east-1 only, as of 2026-11";

/// USD per instance-hour, by region and instance type.
const EC2: &[(&str, &str, f64)] = &[
    ("us-east-1", "t3.nano", 0.0052),
    ("us-east-1", "t3.micro", 0.0104),
    ("us-east-1", "t3.small", 0.0208),
    ("us-east-1", "t3.medium", 0.0416),
    ("us-east-1", "t3.large", 0.0832),
    ("us-east-1", "t4g.micro", 0.0084),
    ("us-east-1", "t4g.small", 0.0168),
    ("us-east-1", "m5.large", 0.096),
    ("us-east-1", "c5.large", 0.085),
    ("us-east-1", "m6i.large", 0.096),
    ("us-east-1", "c6i.large", 0.085),
    ("us-east-1", "m6g.large", 0.077),
    ("us-east-1", "c6g.large", 0.068),
    ("us-east-1", "m7g.large", 0.0816),
    ("us-east-1", "c7g.large", 0.0725),
    ("us-east-1", "m7i.large", 0.1008),
    ("us-east-1", "c7i.large", 0.08925),
    ("us-east-1", "c7i.xlarge", 0.1785),
    ("eu-west-1", "t3.nano", 0.0057),
    ("eu-west-1", "t3.micro", 0.0114),
    ("eu-west-1", "t3.small", 0.0228),
    ("eu-west-1", "t3.medium", 0.0456),
    ("eu-west-1", "t3.large", 0.0912),
    ("eu-west-1", "t4g.micro", 0.0092),
    ("eu-west-1", "t4g.small", 0.0184),
    ("eu-west-1", "m5.large", 0.107),
    ("eu-west-1", "c5.large", 0.096),
    ("eu-west-1", "m6i.large", 0.107),
    ("eu-west-1", "c6i.large", 0.096),
    ("eu-west-1", "m6g.large", 0.086),
    ("eu-west-1", "c6g.large", 0.077),
    ("eu-central-1", "t3.micro", 0.012),
    ("eu-central-1", "t3.small", 0.024),
    ("eu-central-1", "t3.medium", 0.048),
    ("eu-central-1", "t3.large", 0.096),
    ("eu-central-1", "m5.large", 0.115),
    ("eu-central-1", "c5.large", 0.097),
    ("eu-central-1", "m6i.large", 0.115),
    ("eu-central-1", "c6i.large", 0.097),
];

/// Lambda (x86): USD per GB-second and per million requests, the same in the regions above.
const LAMBDA_REGIONS: &[&str] = &["us-east-1", "eu-west-1", "eu-central-1"];
pub(super) const LAMBDA_GB_SECOND: f64 = 0.000_016_666_7;
pub(super) const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;

/// USD per hour of one instance of `instance_type` in `region`, if the table holds it.
pub(super) fn instance_hour(region: &str, instance_type: &str) -> Option<f64> {
    EC2.iter()
        .find(|(r, t, _)| *r == region && *t == instance_type)
        .map(|(_, _, p)| *p)
}

/// USD for `gb_seconds` of Lambda compute and `requests` invocations in `region`, if the
/// table holds the region.
pub(super) fn lambda(region: &str, gb_seconds: f64, requests: u64) -> Option<f64> {
    LAMBDA_REGIONS.contains(&region).then(|| {
        gb_seconds * LAMBDA_GB_SECOND + requests as f64 / 1e6 * LAMBDA_PER_MILLION_REQUESTS
    })
}

/// Fargate (Linux, on demand): USD per vCPU-hour and per GB-hour of task memory, by region and
/// CPU architecture (x86, ARM). us-east-1 only: the table records no figure it is not sure
/// of, and another region has no price (`None`). Fargate Spot runs "at up to a 70% discount"
/// off these (the pricing page); its price moves with spare capacity, so the table records
/// none and a run with a Spot share is priced all on demand, saying so.
const FARGATE: &[(&str, bool, f64, f64)] = &[
    ("us-east-1", false, 0.040_48, 0.004_445),
    ("us-east-1", true, 0.032_38, 0.003_56),
];

/// USD per hour of one Fargate task of `cpu` units (1,024 a vCPU) and `memory_mib` MiB in
/// `region`, x86 or ARM, if the table holds the region: cpu ÷ 1024 × the vCPU price +
/// memory ÷ 1024 × the GB price.
pub(super) fn fargate_task_hour(region: &str, arm: bool, cpu: u32, memory_mib: u32) -> Option<f64> {
    FARGATE
        .iter()
        .find(|(r, a, _, _)| *r == region && *a == arm)
        .map(|(_, _, vcpu, gb)| {
            f64::from(cpu) / 1_024.0 * vcpu + f64::from(memory_mib) / 1_024.0 * gb
        })
}
