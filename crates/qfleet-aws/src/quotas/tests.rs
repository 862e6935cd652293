use super::*;
use crate::signed::fake::Fake;

#[test]
fn each_family_counts_against_its_quota_by_name() {
    use Market::*;
    let g = "Running On-Demand G and VT instances";
    for t in [
        "g6.xlarge",
        "g5g.2xlarge",
        "gr6.4xlarge",
        "g6e.xlarge",
        "vt1.3xlarge",
    ] {
        assert_eq!(quota_name(t, OnDemand), Some(g), "{t}");
        assert_eq!(
            quota_name(t, Spot),
            Some("All G and VT Spot Instance Requests"),
            "{t}"
        );
    }
    let standard = "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances";
    for t in [
        "t3.micro",
        "m7g.large",
        "im4gn.large",
        "c7gn.xlarge",
        "d3en.xlarge",
        "z1d.large",
    ] {
        assert_eq!(quota_name(t, OnDemand), Some(standard), "{t}");
    }
    assert_eq!(
        quota_name("inf2.xlarge", OnDemand),
        Some("Running On-Demand Inf instances")
    );
    assert_eq!(
        quota_name("trn1n.32xlarge", OnDemand),
        Some("Running On-Demand Trn instances")
    );
    assert_eq!(
        quota_name("dl1.24xlarge", OnDemand),
        Some("Running On-Demand DL instances")
    );
    for t in ["p4d.24xlarge", "p5en.48xlarge", "p6-b200.48xlarge"] {
        assert_eq!(
            quota_name(t, OnDemand),
            Some("Running On-Demand P instances"),
            "{t}"
        );
    }
    // Spot P is split by generation; a generation qfleet does not know is unknown, not fine.
    assert_eq!(
        quota_name("p4d.24xlarge", Spot),
        Some("All P4, P3 and P2 Spot Instance Requests")
    );
    assert_eq!(
        quota_name("p5.48xlarge", Spot),
        Some("All P5 Spot Instance Requests")
    );
    assert_eq!(quota_name("p6-b200.48xlarge", Spot), None);
    // High Memory and HPC: an On-Demand quota each, none on Spot (unknown, not fine).
    for t in ["u-6tb1.metal", "u7i-12tb.224xlarge", "u7in-16tb.224xlarge"] {
        assert_eq!(
            quota_name(t, OnDemand),
            Some("Running On-Demand High Memory instances"),
            "{t}"
        );
        assert_eq!(quota_name(t, Spot), None, "{t}");
    }
    assert_eq!(
        quota_name("hpc7g.4xlarge", OnDemand),
        Some("Running On-Demand HPC instances")
    );
    assert_eq!(quota_name("hpc7g.4xlarge", Spot), None);
    assert_eq!(quota_name("h1.2xlarge", OnDemand), Some(standard));
    assert_eq!(quota_name("mac2.metal", OnDemand), None);
    // The Spot groups other than Standard, G and P, by their names on the quotas page.
    for (t, spot) in [
        ("inf2.xlarge", "All Inf Spot Instance Requests"),
        ("trn1.2xlarge", "All Trn Spot Instance Requests"),
        ("dl1.24xlarge", "All DL Spot Instance Requests"),
        ("f2.12xlarge", "All F Spot Instance Requests"),
        ("x2idn.16xlarge", "All X Spot Instance Requests"),
        (
            "m7i.large",
            "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests",
        ),
    ] {
        assert_eq!(quota_name(t, Spot), Some(spot), "{t}");
    }
    assert_eq!(
        quota_name("p5en.48xlarge", Spot),
        Some("All P5 Spot Instance Requests")
    );
    assert_eq!(quota_name("", OnDemand), None);
    assert_eq!(quota_name("7x.large", OnDemand), None);
}

/// DescribeInstanceTypes' answer as the API reference shows it, trimmed: a GPU type and one
/// without GPUs.
const TYPES: &str = r#"<DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>1</requestId>
  <instanceTypeSet>
    <item>
      <instanceType>g6.xlarge</instanceType>
      <vCpuInfo><defaultVCpus>4</defaultVCpus><defaultCores>2</defaultCores>
        <validCores><item>1</item><item>2</item></validCores></vCpuInfo>
      <gpuInfo>
        <gpus><item><name>L4</name><manufacturer>NVIDIA</manufacturer><count>1</count>
          <memoryInfo><sizeInMiB>22888</sizeInMiB></memoryInfo></item></gpus>
        <totalGpuMemoryInMiB>22888</totalGpuMemoryInMiB>
      </gpuInfo>
    </item>
    <item>
      <instanceType>m7i.large</instanceType>
      <vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo>
    </item>
  </instanceTypeSet>
</DescribeInstanceTypesResponse>"#;

#[tokio::test]
async fn instance_types_read_vcpus_and_gpus_mocked() {
    let fake = Fake::by_action(&[("DescribeInstanceTypes", TYPES)]);
    let ec2 = Ec2::with_http_client("us-east-1", fake.client());
    let names = vec!["g6.xlarge".to_string(), "m7i.large".to_string()];
    let types = instance_types(&ec2, &names).await.unwrap();
    assert_eq!(
        types,
        vec![
            InstanceType {
                name: "g6.xlarge".into(),
                vcpus: 4,
                gpus: 1,
                gpu: Some("NVIDIA L4".into())
            },
            InstanceType {
                name: "m7i.large".into(),
                vcpus: 2,
                gpus: 0,
                gpu: None
            },
        ]
    );
    let seen = fake.requests();
    assert_eq!(seen[0].param("InstanceType.2"), Some("m7i.large"));
}

#[tokio::test]
async fn the_quotas_are_read_page_by_page_and_a_refusal_names_the_call_mocked() {
    let fake = Fake::new(|r| {
        assert_eq!(r.target(), Some("ListServiceQuotas"));
        assert_eq!(r.json()["ServiceCode"], "ec2");
        match r.json()["NextToken"].as_str() {
            None => (
                200,
                r#"{"Quotas":[{"QuotaName":"Running On-Demand G and VT instances","QuotaCode":"L-DB2E81BA","Value":8.0,"UsageMetric":{"MetricNamespace":"AWS/Usage","MetricName":"ResourceCount","MetricDimensions":{"Class":"G/OnDemand","Resource":"vCPU","Service":"EC2","Type":"Resource"},"MetricStatisticRecommendation":"Maximum"}}],"NextToken":"2"}"#.into(),
            ),
            Some(_) => (
                200,
                r#"{"Quotas":[{"QuotaName":"Running On-Demand P instances","QuotaCode":"L-417A185B","Value":0.0}]}"#.into(),
            ),
        }
    });
    let sq = JsonApi::with_http_client(crate::json_api::SERVICE_QUOTAS, fake.client());
    let q = ec2_quotas(&sq).await.unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(
        (q[0].quota_code.as_str(), q[0].value),
        ("L-DB2E81BA", Some(8.0))
    );
    let m = q[0].usage_metric.as_ref().unwrap();
    assert_eq!(m.metric_dimensions["Class"], "G/OnDemand");
    assert_eq!(q[1].usage_metric, None);

    let denied = Fake::new(|_| {
        (
            400,
            r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: servicequotas:ListServiceQuotas"}"#.into(),
        )
    });
    let sq = JsonApi::with_http_client(crate::json_api::SERVICE_QUOTAS, denied.client());
    let e = ec2_quotas(&sq).await.unwrap_err().to_string();
    assert!(
        e.contains("listing the account's EC2 quotas")
            && e.contains("servicequotas:ListServiceQuotas"),
        "{e}"
    );
}

/// A quota without an applied value is not in ListServiceQuotas' answer; AWS's default list
/// has it. A P Spot quota is found by its code or its one-name form too.
#[tokio::test]
async fn defaults_are_read_and_p_spot_quotas_are_found_by_code_or_alias_mocked() {
    let fake = Fake::new(|r| {
        assert_eq!(r.target(), Some("ListAWSDefaultServiceQuotas"));
        (
            200,
            r#"{"Quotas":[{"QuotaName":"All P Spot Instance Requests","QuotaCode":"L-7212CCBC","Value":0.0}]}"#.into(),
        )
    });
    let sq = JsonApi::with_http_client(crate::json_api::SERVICE_QUOTAS, fake.client());
    let q = ec2_default_quotas(&sq).await.unwrap();
    let p4 = quota_name("p4d.24xlarge", Market::Spot).unwrap();
    assert!(is(&q[0], p4), "by code and by its other name");
    assert!(
        is(&q[0], "All P5 Spot Instance Requests"),
        "the one-name form"
    );
    assert!(!is(&q[0], "All G and VT Spot Instance Requests"));
    let by_code = Quota {
        quota_name: "renamed".into(),
        quota_code: "L-C4BD4855".into(),
        value: Some(192.0),
        usage_metric: None,
    };
    assert!(is(&by_code, "All P5 Spot Instance Requests"));
    assert!(!is(&by_code, p4));
}

fn metric() -> UsageMetric {
    UsageMetric {
        metric_namespace: Some("AWS/Usage".into()),
        metric_name: Some("ResourceCount".into()),
        metric_dimensions: [("Class".to_string(), "G/OnDemand".to_string())].into(),
        metric_statistic_recommendation: Some("Maximum".into()),
    }
}

/// The usage's highest datapoint of the window and its latest, whatever order CloudWatch
/// gives them in; none at all is not read, never zero.
#[tokio::test]
async fn usage_is_the_highest_and_the_latest_datapoint_and_none_is_not_read_mocked() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;
    let points = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| {
            let q = &r.metric_data_queries()[0];
            q.metric_stat().and_then(|s| s.stat()) == Some("Maximum")
                && q.metric_stat().and_then(|s| s.period()) == Some(60)
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("usage")
                        // Newest first, as CloudWatch's default order.
                        .timestamps(DateTime::from_secs(1_800))
                        .timestamps(DateTime::from_secs(1_200))
                        .values(0.0)
                        .values(40.0)
                        .build(),
                )
                .build()
        });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&points]);
    let u = usage(&cw, &metric()).await.unwrap();
    assert_eq!((u.highest, u.latest), (40.0, 0.0));
    let empty = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .then_output(|| GetMetricDataOutput::builder().build());
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&empty]);
    let e = usage(&cw, &metric()).await.unwrap_err().to_string();
    assert!(e.contains("no datapoint"), "{e}");
}
