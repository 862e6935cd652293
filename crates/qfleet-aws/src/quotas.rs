//! The account's EC2 vCPU quotas, as Service Quotas lists them, with their usage now; and the
//! vCPUs and GPUs of instance types, as EC2 describes them. `plan` and `deploy` compare them
//! with what a fleet needs at `workers.max` (the root crate's `deploy::quota`).
//!
//! As AWS documents it:
//! - Service Quotas speaks AWS JSON 1.1, target `ServiceQuotasV20190624`, signing name
//!   `servicequotas` (<https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/Welcome.html>);
//!   `ListServiceQuotas` of `ServiceCode: ec2` gives each quota's `QuotaName`, `QuotaCode`,
//!   `Value` and `UsageMetric`, paged by `NextToken`
//!   (<https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html>,
//!   <https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ServiceQuota.html>,
//!   <https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_MetricInfo.html>);
//! - its SDK service id is `Service Quotas`, so `AWS_ENDPOINT_URL_SERVICE_QUOTAS` overrides its
//!   endpoint ("Service-specific endpoints",
//!   <https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>);
//! - EC2's On-Demand quotas are named per group of families ("Running On-Demand G and VT
//!   instances"), and its Spot quotas likewise ("All G and VT Spot Instance Requests"), in
//!   vCPUs ("Amazon EC2 service quotas",
//!   <https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html>;
//!   <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html>); running
//!   instances count, pending, stopped and hibernated ones do not, and Capacity Reservations do
//!   even unused (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-on-demand-instances.html>);
//! - a quota's usage is its `UsageMetric` in the `AWS/Usage` namespace, which EC2 publishes
//!   every minute; a minute with no datapoint is not promised to mean zero, so a usage with no
//!   datapoint in the last quarter hour is said as not read
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Service-Quota-Integration.html>,
//!   <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html>).

use super::Result;
use super::ec2::Ec2;
use super::error::AwsError;
use super::json_api::JsonApi;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A market the group launches in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Market {
    OnDemand,
    Spot,
}

/// The families of each EC2 vCPU quota, by the quota's name (On-Demand, then Spot), as the
/// pages above list them. A family not here has no quota qfleet knows: the caller says so.
const QUOTAS: &[(&[&str], &str, Option<&str>)] = &[
    (
        &["a", "c", "d", "h", "i", "m", "r", "t", "z"],
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
        Some("All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
    ),
    (
        &["g", "vt"],
        "Running On-Demand G and VT instances",
        Some("All G and VT Spot Instance Requests"),
    ),
    (
        &["p"],
        "Running On-Demand P instances",
        // Spot P is split by generation: see `quota_name`.
        None,
    ),
    (
        &["inf"],
        "Running On-Demand Inf instances",
        Some("All Inf Spot Instance Requests"),
    ),
    (
        &["trn"],
        "Running On-Demand Trn instances",
        Some("All Trn Spot Instance Requests"),
    ),
    (
        &["dl"],
        "Running On-Demand DL instances",
        Some("All DL Spot Instance Requests"),
    ),
    (
        &["f"],
        "Running On-Demand F instances",
        Some("All F Spot Instance Requests"),
    ),
    (
        &["x"],
        "Running On-Demand X instances",
        Some("All X Spot Instance Requests"),
    ),
    // High Memory (`u-6tb1`, `u7i-12tb`) and HPC (`hpc7g`) have an On-Demand quota and no Spot
    // one on the pages above: Spot is unknown for them, never "no quota".
    (&["u"], "Running On-Demand High Memory instances", None),
    (&["hpc"], "Running On-Demand HPC instances", None),
];

/// The name of the quota `instance_type` counts against in `market`, as AWS writes it (the
/// caller matches it case-sensitively against the account's list); `None` for a family
/// qfleet does not know (never read as "no quota"). Spot P is split by generation (P5, and
/// P4/P3/P2, have quotas of their own; P6 has none on the pages above, so it is unknown).
pub fn quota_name(instance_type: &str, market: Market) -> Option<&'static str> {
    let family = instance_type.split('.').next()?;
    let letters: String = family
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    if letters == "p" && market == Market::Spot {
        let generation: String = family[1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        return match generation.as_str() {
            "2" | "3" | "4" => Some("All P4, P3 and P2 Spot Instance Requests"),
            "5" => Some("All P5 Spot Instance Requests"),
            _ => None,
        };
    }
    // Mac instances run on Dedicated Hosts only, whose quotas are per host type: not here.
    if letters.starts_with("mac") {
        return None;
    }
    // The longest group name the family's letters start with: `inf` before `i`, `trn` before
    // `t`, `dl` before `d`, `hpc` before `h` (`gr6` is G, `im4gn` Standard).
    let (_, on_demand, spot) = QUOTAS
        .iter()
        .flat_map(|q| q.0.iter().map(move |p| (*p, q)))
        .filter(|(p, _)| letters.starts_with(p))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, q)| *q)?;
    match market {
        Market::OnDemand => Some(on_demand),
        Market::Spot => spot,
    }
}

/// One EC2 quota as Service Quotas lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Quota {
    pub quota_name: String,
    pub quota_code: String,
    /// The quota's value (vCPUs for the instance quotas).
    pub value: Option<f64>,
    pub usage_metric: Option<UsageMetric>,
}

/// Where a quota's usage is published (`MetricInfo`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsageMetric {
    pub metric_namespace: Option<String>,
    pub metric_name: Option<String>,
    #[serde(default)]
    pub metric_dimensions: BTreeMap<String, String>,
    pub metric_statistic_recommendation: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QuotaPage {
    #[serde(default)]
    quotas: Vec<Quota>,
    next_token: Option<String>,
}

/// Other names a quota has gone by, or its code, for a name [`quota_name`] gives: AWS's pages
/// name the P Spot quotas both by generation and as one ("All P Spot Instance Requests",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html>), whose codes
/// are L-7212CCBC (P4, P3, P2) and L-C4BD4855 (P5). Looked at only when the name itself is not
/// among the account's quotas.
pub(crate) fn aliases(name: &str) -> &'static [&'static str] {
    match name {
        "All P4, P3 and P2 Spot Instance Requests" => {
            &["L-7212CCBC", "All P Spot Instance Requests"]
        }
        "All P5 Spot Instance Requests" => &["L-C4BD4855", "All P Spot Instance Requests"],
        _ => &[],
    }
}

/// Whether `q` is the quota `name` names (by its name, else by an alias or code).
pub fn is(q: &Quota, name: &str) -> bool {
    q.quota_name == name
        || aliases(name)
            .iter()
            .any(|a| q.quota_name == *a || q.quota_code == *a)
}

/// Every EC2 quota of the account in the client's Region that has an applied value (all
/// pages). "If the applied quota value is not available for a quota, the quota is not
/// retrieved" (ListServiceQuotas): [`ec2_default_quotas`] has those.
pub async fn ec2_quotas(sq: &JsonApi) -> Result<Vec<Quota>> {
    list(sq, "ListServiceQuotas", "listing the account's EC2 quotas").await
}

/// AWS's default value of every EC2 quota (ListAWSDefaultServiceQuotas,
/// <https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListAWSDefaultServiceQuotas.html>):
/// the value of a quota the account has no applied value for.
pub async fn ec2_default_quotas(sq: &JsonApi) -> Result<Vec<Quota>> {
    list(
        sq,
        "ListAWSDefaultServiceQuotas",
        "listing AWS's default EC2 quotas",
    )
    .await
}

async fn list(sq: &JsonApi, operation: &'static str, what: &str) -> Result<Vec<Quota>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = serde_json::json!({"ServiceCode": "ec2", "MaxResults": 100});
        if let Some(t) = &token {
            input["NextToken"] = serde_json::Value::String(t.clone());
        }
        let page: QuotaPage = sq.call(what, operation, &input).await?;
        out.extend(page.quotas);
        match page.next_token {
            Some(next) if !next.is_empty() && token.as_ref() != Some(&next) => token = Some(next),
            _ => return Ok(out),
        }
    }
}

/// A quota's usage: the highest value of its usage metric over the last 15 minutes, and the
/// latest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub highest: f64,
    pub latest: f64,
}

/// A quota's usage now, with the statistic Service Quotas recommends (`Maximum` if it names
/// none), a datapoint a minute over the last 15 minutes. No datapoint is an error: the usage
/// was not read.
pub async fn usage(cw: &aws_sdk_cloudwatch::Client, m: &UsageMetric) -> Result<Usage> {
    let (Some(ns), Some(name)) = (&m.metric_namespace, &m.metric_name) else {
        return Err(AwsError::new("the quota names no usage metric"));
    };
    let dims: Vec<Dimension> = m
        .metric_dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    let stat = m
        .metric_statistic_recommendation
        .clone()
        .unwrap_or_else(|| "Maximum".into());
    let metric = Metric::builder()
        .namespace(ns)
        .metric_name(name)
        .set_dimensions(Some(dims))
        .build();
    let query = MetricDataQuery::builder()
        .id("usage")
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(60)
                .stat(stat)
                .build(),
        )
        .build();
    let now = std::time::SystemTime::now();
    let from = now - std::time::Duration::from_secs(15 * 60);
    let what = format!("reading the usage of {ns} {name}");
    let out = cw
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(aws_smithy_types::DateTime::from(from))
        .end_time(aws_smithy_types::DateTime::from(now))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what, e))?;
    let mut points: Vec<(i64, f64)> = out
        .metric_data_results()
        .iter()
        .flat_map(|r| {
            r.timestamps()
                .iter()
                .map(|t| t.secs())
                .zip(r.values().iter().copied())
        })
        .collect();
    points.sort_by_key(|(t, _)| *t);
    let latest = points.last().map(|(_, v)| *v);
    let highest = points.iter().map(|(_, v)| *v).reduce(f64::max);
    match (highest, latest) {
        (Some(highest), Some(latest)) => Ok(Usage { highest, latest }),
        _ => Err(AwsError::new(format!(
            "{what}: no datapoint in the last 15 minutes"
        ))),
    }
}

/// An instance type as EC2 describes it: its default vCPUs and its GPUs.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub vcpus: u32,
    /// GPUs of every kind the type has (0: none).
    pub gpus: u32,
    /// The GPUs' manufacturer and model, such as "NVIDIA L4".
    pub gpu: Option<String>,
}

/// The types `names` as EC2 describes them in the client's Region; a type EC2 does not
/// return is left out (the caller says so). No names, no call: DescribeInstanceTypes without
/// `InstanceType.N` describes every type of the Region.
///
/// EC2 refuses the whole call with `InvalidInstanceType` when one of the names is not a type it
/// knows ("The following supplied instance types do not exist: [...]", as moto's server
/// answers too; <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypes.html>,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>): the names
/// are then asked one by one, so that one misspelt type leaves the others described.
pub async fn instance_types(ec2: &Ec2, names: &[String]) -> Result<Vec<InstanceType>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    match describe_types(ec2, names).await {
        Err(e) if e.code() == Some(INVALID_TYPE) && names.len() == 1 => Ok(Vec::new()),
        Err(e) if e.code() == Some(INVALID_TYPE) => {
            let mut out = Vec::new();
            for name in names {
                match describe_types(ec2, std::slice::from_ref(name)).await {
                    Ok(t) => out.extend(t),
                    Err(e) if e.code() == Some(INVALID_TYPE) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        other => other,
    }
}

/// EC2's error code for a type name it does not know.
const INVALID_TYPE: &str = "InvalidInstanceType";

async fn describe_types(ec2: &Ec2, names: &[String]) -> Result<Vec<InstanceType>> {
    let params: Vec<(String, &str)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("InstanceType.{}", i + 1), n.as_str()))
        .collect();
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let items = ec2
        .describe(
            "describing the instance types",
            "DescribeInstanceTypes",
            "instanceTypeSet",
            &params,
            &[],
        )
        .await?;
    Ok(items.iter().filter_map(read_type).collect())
}

fn read_type(i: &BTreeMap<String, String>) -> Option<InstanceType> {
    let name = i.get("instanceType")?.clone();
    let vcpus = i.get("vCpuInfo.defaultVCpus")?.parse().ok()?;
    let mut gpus: u32 = 0;
    let mut gpu = None;
    for n in 1.. {
        let Some(count) = i.get(&format!("gpuInfo.gpus.{n}.count")) else {
            break;
        };
        gpus = count
            .parse::<u32>()
            .map_or(gpus, |c| gpus.saturating_add(c));
        let field = |f: &str| {
            i.get(&format!("gpuInfo.gpus.{n}.{f}"))
                .cloned()
                .unwrap_or_default()
        };
        gpu.get_or_insert_with(|| {
            format!("{} {}", field("manufacturer"), field("name"))
                .trim()
                .to_string()
        });
    }
    Some(InstanceType {
        name,
        vcpus,
        gpus,
        gpu,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod read_tests;
