//! Reading instance types, quotas and usage as AWS answers them, errors included.

use super::*;
use crate::error::Kind;
use crate::signed::fake::{Fake, error};

/// DescribeInstanceTypes' answer for `names`, each from the trimmed items below; a name not
/// among them makes the whole call fail as EC2 (and moto's server) answer it.
fn ec2_as_aws() -> Fake {
    Fake::new(|r| {
        let asked: Vec<&str> = (1..)
            .map_while(|i| r.param(&format!("InstanceType.{i}")))
            .collect();
        let mut items = String::new();
        let mut missing = Vec::new();
        for name in &asked {
            match item(name) {
                Some(x) => items.push_str(&x),
                None => missing.push(*name),
            }
        }
        if !missing.is_empty() {
            let message = format!(
                "The following supplied instance types do not exist: [{}]",
                missing.join(", ")
            );
            return (400, error("InvalidInstanceType", &message));
        }
        (
            200,
            format!(
                r#"<DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><instanceTypeSet>{items}</instanceTypeSet></DescribeInstanceTypesResponse>"#
            ),
        )
    })
}

/// The item EC2 gives for `name`, nested as the API reference shows (`InstanceTypeInfo`,
/// `GpuInfo`, `GpuDeviceInfo`), trimmed.
fn item(name: &str) -> Option<String> {
    let gpu = |n: &str, count: &str| {
        format!(
            "<item><name>{n}</name><manufacturer>NVIDIA</manufacturer><count>{count}</count><memoryInfo><sizeInMiB>81920</sizeInMiB></memoryInfo></item>"
        )
    };
    let (vcpus, gpus) = match name {
        "g6.xlarge" => ("4", Some(gpu("L4", "1"))),
        "p5.48xlarge" => ("192", Some(gpu("H100", "8"))),
        // Two kinds of GPU in one type: their counts add up, the first names them.
        "x.two" => ("8", Some(gpu("A", "1") + &gpu("B", "2"))),
        // A count that is not a number counts as none (and nothing panics).
        "x.odd" => ("8", Some(gpu("A", "lots"))),
        // Inferentia: accelerators, no GPUs (`neuronInfo`, not `gpuInfo`).
        "inf2.xlarge" => ("4", None),
        _ => return None,
    };
    let neuron = if name.starts_with("inf") {
        "<neuronInfo><neuronDevices><item><count>1</count><name>Inferentia2</name></item></neuronDevices></neuronInfo>"
    } else {
        ""
    };
    let gpus = gpus
        .map(|g| {
            format!(
                "<gpuInfo><gpus>{g}</gpus><totalGpuMemoryInMiB>1</totalGpuMemoryInMiB></gpuInfo>"
            )
        })
        .unwrap_or_default();
    Some(format!(
        "<item><instanceType>{name}</instanceType><vCpuInfo><defaultVCpus>{vcpus}</defaultVCpus><validThreadsPerCore><item>1</item><item>2</item></validThreadsPerCore></vCpuInfo>{neuron}{gpus}</item>"
    ))
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn nested_gpu_lists_are_read_and_a_type_without_gpus_has_none_mocked() {
    let fake = ec2_as_aws();
    let ec2 = Ec2::with_http_client("us-east-1", fake.client());
    let types = instance_types(
        &ec2,
        &names(&["p5.48xlarge", "x.two", "x.odd", "inf2.xlarge"]),
    )
    .await
    .unwrap();
    let read: Vec<(&str, u32, u32, Option<&str>)> = types
        .iter()
        .map(|t| (t.name.as_str(), t.vcpus, t.gpus, t.gpu.as_deref()))
        .collect();
    assert_eq!(
        read,
        vec![
            ("p5.48xlarge", 192, 8, Some("NVIDIA H100")),
            ("x.two", 8, 3, Some("NVIDIA A")),
            ("x.odd", 8, 0, Some("NVIDIA A")),
            ("inf2.xlarge", 4, 0, None),
        ]
    );
    assert_eq!(fake.requests().len(), 1, "one call for the four");
}

#[tokio::test]
async fn a_type_ec2_does_not_know_is_left_out_and_the_others_are_described_mocked() {
    let fake = ec2_as_aws();
    let ec2 = Ec2::with_http_client("us-east-1", fake.client());
    let types = instance_types(&ec2, &names(&["g6.xlarge", "g9.huge", "inf2.xlarge"]))
        .await
        .unwrap();
    let read: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(read, vec!["g6.xlarge", "inf2.xlarge"]);
    // The call of all three, refused, then one call per name.
    let asked: Vec<Vec<String>> = fake
        .requests()
        .iter()
        .map(|r| {
            (1..)
                .map_while(|i| r.param(&format!("InstanceType.{i}")).map(str::to_string))
                .collect()
        })
        .collect();
    assert_eq!(
        asked,
        vec![
            names(&["g6.xlarge", "g9.huge", "inf2.xlarge"]),
            names(&["g6.xlarge"]),
            names(&["g9.huge"]),
            names(&["inf2.xlarge"]),
        ]
    );

    // Only an unknown name: nothing described, not an error.
    let fake = ec2_as_aws();
    let ec2 = Ec2::with_http_client("us-east-1", fake.client());
    assert_eq!(
        instance_types(&ec2, &names(&["g9.huge"])).await.unwrap(),
        vec![]
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn no_names_is_no_call_rather_than_every_type_of_the_region_mocked() {
    let fake = ec2_as_aws();
    let ec2 = Ec2::with_http_client("us-east-1", fake.client());
    assert_eq!(instance_types(&ec2, &[]).await.unwrap(), vec![]);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_refused_describe_is_an_error_naming_the_call_not_an_empty_answer_mocked() {
    let fake = Fake::new(|_| {
        (
            403,
            error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ec2:DescribeInstanceTypes",
            ),
        )
    });
    let ec2 = Ec2::with_http_client("us-east-1", fake.client());
    let e = instance_types(&ec2, &names(&["g6.xlarge", "g9.huge"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::AccessDenied, "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("describing the instance types")
            && text.contains("ec2:DescribeInstanceTypes"),
        "{text}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "an access denied is not asked again"
    );
}

#[tokio::test]
async fn a_quota_the_list_does_not_hold_is_not_found_and_a_repeated_token_ends_the_pages_mocked() {
    let fake = Fake::new(|r| {
        // A NextToken that names itself would page forever: the list stops there.
        let page = serde_json::json!({
            "Quotas": [
                {"QuotaName": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", "QuotaCode": "L-1216C47A", "Value": 5.0},
                // Another case is another name: AWS writes "G and VT".
                {"QuotaName": "Running On-Demand G and vt instances", "QuotaCode": "L-X", "Value": 64.0},
                {"QuotaName": "Running On-Demand P instances", "QuotaCode": "L-417A185B"}
            ],
            "NextToken": "again"
        });
        assert_eq!(r.target(), Some("ListServiceQuotas"));
        (200, page.to_string())
    });
    let sq = JsonApi::with_http_client(crate::json_api::SERVICE_QUOTAS, fake.client());
    let list = ec2_quotas(&sq).await.unwrap();
    assert_eq!(
        fake.requests().len(),
        2,
        "the first page, then the token once"
    );
    let g = quota_name("g6.xlarge", Market::OnDemand).unwrap();
    assert!(
        !list.iter().any(|q| q.quota_name == g),
        "not found, never read as 0"
    );
    let p = list
        .iter()
        .find(|q| Some(q.quota_name.as_str()) == quota_name("p5.48xlarge", Market::OnDemand))
        .unwrap();
    assert_eq!(p.value, None, "a quota without a value has none, not 0");
}

fn g_on_demand() -> UsageMetric {
    UsageMetric {
        metric_namespace: Some("AWS/Usage".into()),
        metric_name: Some("ResourceCount".into()),
        metric_dimensions: [
            ("Class", "G/OnDemand"),
            ("Resource", "vCPU"),
            ("Service", "EC2"),
            ("Type", "Resource"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        metric_statistic_recommendation: Some("Maximum".into()),
    }
}

#[tokio::test]
async fn a_usage_cloudwatch_refuses_or_has_no_datapoint_for_is_an_error_never_zero_mocked() {
    use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    let denied = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_error(|| {
        GetMetricDataError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:iam::111122223333:user/ci is not authorized to perform: cloudwatch:GetMetricData")
                .build(),
        )
    });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&denied]);
    let e = usage(&cw, &g_on_demand()).await.unwrap_err();
    assert_eq!(e.kind, Kind::AccessDenied, "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("reading the usage of AWS/Usage ResourceCount")
            && text.contains("cloudwatch:GetMetricData"),
        "{text}"
    );

    // The query is the metric's own, with the recommended statistic; a series that came back
    // empty is "no datapoint".
    let empty = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| {
            let q = &r.metric_data_queries()[0];
            let m = q.metric_stat().and_then(|s| s.metric());
            let dims: Vec<(&str, &str)> = m
                .map(|m| m.dimensions())
                .unwrap_or_default()
                .iter()
                .map(|d| (d.name().unwrap_or(""), d.value().unwrap_or("")))
                .collect();
            m.and_then(|m| m.namespace()) == Some("AWS/Usage")
                && m.and_then(|m| m.metric_name()) == Some("ResourceCount")
                && dims.contains(&("Class", "G/OnDemand"))
                && dims.len() == 4
                && q.metric_stat().and_then(|s| s.stat()) == Some("Maximum")
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(MetricDataResult::builder().id("usage").build())
                .build()
        });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&empty]);
    let e = usage(&cw, &g_on_demand()).await.unwrap_err().to_string();
    assert!(e.contains("no datapoint"), "{e}");

    // A quota that names no metric is not read, without a call.
    let none = UsageMetric {
        metric_namespace: None,
        ..g_on_demand()
    };
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&denied]);
    let e = usage(&cw, &none).await.unwrap_err().to_string();
    assert!(e.contains("names no usage metric"), "{e}");
    assert_eq!(denied.num_calls(), 1, "only the first client called");
}
