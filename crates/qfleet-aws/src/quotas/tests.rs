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
    assert_eq!(quota_name("hpc7g.4xlarge", OnDemand), None);
    assert_eq!(quota_name("u-6tb1.metal", OnDemand), None);
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
