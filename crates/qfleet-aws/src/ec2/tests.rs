use super::*;
use crate::error::{Kind, MISSING_CREDENTIALS};
use crate::signed::fake::{Fake, error};

/// DescribeVpcs' answer as the API reference shows it: the VPC's own fields beside nested
/// sets whose `item`s hold fields of the same names (`cidrBlock`).
const VPCS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
    <vpcSet>
        <item>
            <vpcId>vpc-1a2b3c4d</vpcId>
            <ownerId>123456789012</ownerId>
            <state>available</state>
            <cidrBlock>172.31.0.0/16</cidrBlock>
            <cidrBlockAssociationSet>
                <item>
                    <cidrBlock>10.0.0.0/16</cidrBlock>
                    <associationId>vpc-cidr-assoc-0d5d4c66EXAMPLE</associationId>
                    <cidrBlockState><state>associated</state></cidrBlockState>
                </item>
            </cidrBlockAssociationSet>
            <dhcpOptionsId>dopt-7a8b9c2d</dhcpOptionsId>
            <instanceTenancy>default</instanceTenancy>
            <isDefault>true</isDefault>
            <tagSet/>
        </item>
    </vpcSet>
</DescribeVpcsResponse>"#;

fn client(fake: &Fake) -> Ec2 {
    Ec2::with_http_client("eu-west-1", fake.client())
}

/// DescribeVpcs without filters, through `fake`.
async fn vpcs(fake: &Fake) -> Result<Vec<Item>, AwsError> {
    describe_vpcs(&client(fake)).await
}

async fn describe_vpcs(c: &Ec2) -> Result<Vec<Item>, AwsError> {
    c.describe(
        "finding the default VPC",
        "DescribeVpcs",
        "vpcSet",
        &[],
        &[],
    )
    .await
}

#[tokio::test]
async fn a_describe_is_a_signed_form_post_to_the_regional_endpoint_and_reads_each_item() {
    let fake = Fake::by_action(&[("DescribeVpcs", VPCS)]);
    let items = client(&fake)
        .describe(
            "finding the default VPC",
            "DescribeVpcs",
            "vpcSet",
            &[("MaxResults", "5")],
            &[Filter {
                name: "is-default",
                values: vec!["true".into()],
            }],
        )
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["vpcId"], "vpc-1a2b3c4d");
    // The VPC's own block, not its nested association's.
    assert_eq!(items[0]["cidrBlock"], "172.31.0.0/16");
    assert_eq!(items[0]["isDefault"], "true");
    // A nested set's items are beside them with 1-based indices; a structure read field by
    // field (`cidrBlockState`) and an empty set read as "" themselves.
    assert_eq!(
        items[0]["cidrBlockAssociationSet.1.cidrBlock"],
        "10.0.0.0/16"
    );
    assert_eq!(items[0]["cidrBlockAssociationSet.1.cidrBlockState"], "");
    assert_eq!(
        items[0]["cidrBlockAssociationSet.1.cidrBlockState.state"],
        "associated"
    );
    assert_eq!(items[0]["cidrBlockAssociationSet"], "");
    assert_eq!(items[0]["tagSet"], "");
    assert_eq!(items[0]["dhcpOptionsId"], "dopt-7a8b9c2d");

    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.uri, "https://ec2.eu-west-1.amazonaws.com/");
    assert_eq!(
        r.form,
        [
            ("Action", "DescribeVpcs"),
            ("Version", "2016-11-15"),
            ("MaxResults", "5"),
            ("Filter.1.Name", "is-default"),
            ("Filter.1.Value.1", "true"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert!(
        r.headers["content-type"].starts_with("application/x-www-form-urlencoded"),
        "{:?}",
        r.headers
    );
    // SigV4 for ec2 in the region, with the signed date.
    let auth = &r.headers["authorization"];
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && auth.contains("/eu-west-1/ec2/aws4_request")
            && auth.contains("SignedHeaders=")
            && auth.contains("Signature="),
        "{auth}"
    );
    assert!(r.headers.contains_key("x-amz-date"), "{:?}", r.headers);
}

/// DescribeVpcEndpoints' answer: sets of plain values (`routeTableIdSet`) beside sets of
/// structures (`dnsEntrySet`).
#[tokio::test]
async fn a_set_of_plain_values_reads_each_value_by_its_index() {
    let xml = "<DescribeVpcEndpointsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><vpcEndpointSet><item><vpcEndpointId>vpce-1</vpcEndpointId><routeTableIdSet><item>rtb-1</item><item>rtb-2</item></routeTableIdSet><dnsEntrySet><item><dnsName>a.example</dnsName></item></dnsEntrySet><privateDnsEnabled>false</privateDnsEnabled></item></vpcEndpointSet></DescribeVpcEndpointsResponse>";
    let fake = Fake::by_action(&[("DescribeVpcEndpoints", xml)]);
    let items = client(&fake)
        .describe("x", "DescribeVpcEndpoints", "vpcEndpointSet", &[], &[])
        .await
        .unwrap();
    assert_eq!(items[0]["routeTableIdSet.1"], "rtb-1");
    assert_eq!(items[0]["routeTableIdSet.2"], "rtb-2");
    assert_eq!(items[0]["dnsEntrySet.1.dnsName"], "a.example");
    assert_eq!(items[0]["privateDnsEnabled"], "false");
}

#[tokio::test]
async fn lists_are_flattened_with_indices_and_every_page_is_read() {
    let page = |zones: &[&str], next: Option<&str>| {
        let items: String = zones
            .iter()
            .map(|z| format!("<item><instanceType>t3.micro</instanceType><locationType>availability-zone</locationType><location>{z}</location></item>"))
            .collect();
        let next = next.map_or(String::new(), |n| format!("<nextToken>{n}</nextToken>"));
        format!(
            "<DescribeInstanceTypeOfferingsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><instanceTypeOfferingSet>{items}</instanceTypeOfferingSet>{next}</DescribeInstanceTypeOfferingsResponse>"
        )
    };
    let (first, second) = (
        page(&["eu-west-1a"], Some("tok")),
        page(&["eu-west-1b"], None),
    );
    let fake = Fake::new(move |r| match r.param("NextToken") {
        None => (200, first.clone()),
        Some("tok") => (200, second.clone()),
        Some(t) => (400, error("InvalidParameterValue", &format!("token {t}"))),
    });
    let items = client(&fake)
        .describe(
            "offerings",
            "DescribeInstanceTypeOfferings",
            "instanceTypeOfferingSet",
            &[("LocationType", "availability-zone")],
            &[
                Filter {
                    name: "instance-type",
                    values: vec!["t3.micro".into(), "t3a.micro".into()],
                },
                Filter {
                    name: "location",
                    values: vec!["eu-west-1a".into(), "eu-west-1b".into()],
                },
            ],
        )
        .await
        .unwrap();
    let zones: Vec<&str> = items.iter().map(|i| i["location"].as_str()).collect();
    assert_eq!(zones, ["eu-west-1a", "eu-west-1b"]);
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    for (k, v) in [
        ("LocationType", "availability-zone"),
        ("Filter.1.Name", "instance-type"),
        ("Filter.1.Value.1", "t3.micro"),
        ("Filter.1.Value.2", "t3a.micro"),
        ("Filter.2.Name", "location"),
        ("Filter.2.Value.2", "eu-west-1b"),
    ] {
        assert_eq!(seen[1].param(k), Some(v), "{k}: {:?}", seen[1].form);
    }
    assert_eq!(seen[0].param("NextToken"), None);
    assert_eq!(seen[1].param("NextToken"), Some("tok"));
}

/// EC2's error codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html):
/// `UnauthorizedOperation` is the caller's permission, `RequestLimitExceeded` throttling, which
/// is retried within the budget like every SDK call's.
#[tokio::test]
async fn errors_keep_ec2s_code_throttling_is_retried_and_a_page_that_is_not_xml_is_malformed() {
    let denied = Fake::new(|_| {
        (
            403,
            error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ),
        )
    });
    let e = vpcs(&denied).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("UnauthorizedOperation"), "{e}");
    assert!(e.message.starts_with("finding the default VPC"), "{e}");
    assert_eq!(denied.requests().len(), 1, "not retried");

    let throttled = Fake::new(|_| {
        (
            503,
            error("RequestLimitExceeded", "Request limit exceeded."),
        )
    });
    let e = vpcs(&throttled).await.unwrap_err();
    assert_eq!(e.kind, Kind::Throttled, "{e}");
    assert_eq!(throttled.requests().len(), 3, "every attempt of the budget");

    let once = std::sync::atomic::AtomicBool::new(false);
    let recovers = Fake::new(move |_| {
        if once.swap(true, std::sync::atomic::Ordering::SeqCst) {
            (200, VPCS.to_string())
        } else {
            (
                500,
                error("InternalError", "An internal error has occurred."),
            )
        }
    });
    let items = vpcs(&recovers).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(recovers.requests().len(), 2);

    let html = Fake::new(|_| (200, "<html><body>captive portal</body></html>".into()));
    let e = vpcs(&html).await.unwrap_err();
    assert_eq!(e.kind, Kind::Malformed, "{e}");
    // Said in words, never by qfleet's own error type's name.
    assert!(
        e.message.starts_with(
            "finding the default VPC: the answer could not be read: it was an HTML page"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn without_credentials_no_request_is_sent_and_the_error_is_the_credentials_one() {
    let fake = Fake::by_action(&[("DescribeVpcs", VPCS)]);
    let mut c = client(&fake);
    std::sync::Arc::make_mut(&mut c.0).credentials = None;
    let e = describe_vpcs(&c).await.unwrap_err();
    assert_eq!(e.kind, Kind::Credentials);
    assert_eq!(
        e.message,
        MISSING_CREDENTIALS.message("finding the default VPC", "")
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn an_endpoint_url_in_the_configuration_is_used_as_every_client_uses_it() {
    let conf = SdkConfig::builder()
        .endpoint_url("http://127.0.0.1:5000")
        .build();
    assert_eq!(
        Ec2::from_config("eu-west-1", &conf).0.endpoint,
        "http://127.0.0.1:5000"
    );
    let conf = SdkConfig::builder().use_fips(true).build();
    assert_eq!(
        Ec2::from_config("us-east-1", &conf).0.endpoint,
        "https://ec2-fips.us-east-1.amazonaws.com"
    );
}

/// A clock that always says 2026-01-01T00:00:00Z.
#[derive(Debug)]
struct NewYear;

impl aws_types::sdk_config::TimeSource for NewYear {
    fn now(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600)
    }
}

/// The signature of a known request equals the one botocore's SigV4 signer (an implementation
/// independent of the Rust SDK's) computes for the same request, credentials and time:
/// `SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "ec2", "eu-west-1")` over
/// `POST https://ec2.eu-west-1.amazonaws.com/` with this body, its content type and
/// `x-amz-date: 20260101T000000Z`.
#[tokio::test]
async fn the_signature_is_the_one_an_independent_sigv4_signer_computes() {
    let fake = Fake::by_action(&[("DescribeVpcs", VPCS)]);
    let mut c = client(&fake);
    std::sync::Arc::make_mut(&mut c.0).time =
        Some(aws_types::sdk_config::SharedTimeSource::new(NewYear));
    c.describe(
        "finding the default VPC",
        "DescribeVpcs",
        "vpcSet",
        &[],
        &[Filter {
            name: "is-default",
            values: vec!["true".into()],
        }],
    )
    .await
    .unwrap();
    let seen = fake.requests();
    assert_eq!(seen[0].headers["x-amz-date"], "20260101T000000Z");
    assert_eq!(
        seen[0].headers["authorization"],
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/ec2/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, \
         Signature=7650900423eadee9af658a70e1b2b05de09b5eb2672292003df6a3281ac40144"
    );
}

/// DescribeRegions without AllRegions: the Regions enabled for the account, as the API
/// reference's example answers (a Region not opted in is not listed), sorted.
#[tokio::test]
async fn the_enabled_regions_are_described_without_all_regions() {
    let xml = r#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <regionInfo>
      <item>
         <regionName>us-east-2</regionName>
         <regionEndpoint>ec2.us-east-2.amazonaws.com</regionEndpoint>
         <optInStatus>opt-in-not-required</optInStatus>
      </item>
      <item>
         <regionName>ap-southeast-3</regionName>
         <regionEndpoint>ec2.ap-southeast-3.amazonaws.com</regionEndpoint>
         <optInStatus>opted-in</optInStatus>
      </item>
   </regionInfo>
</DescribeRegionsResponse>"#;
    let fake = Fake::by_action(&[("DescribeRegions", xml)]);
    let regions = enabled_regions(&client(&fake)).await.unwrap();
    assert_eq!(regions, ["ap-southeast-3", "us-east-2"]);
    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].param("AllRegions"), None, "enabled ones only");
}

/// Issue 72: an answer that says the endpoint does not serve the API (HTTP 501, or a 500 that
/// is an HTML page rather than AWS's error document) is asked once, never retried: asking again
/// cannot change it. AWS's own 500, with its error document, is still retried (above).
#[tokio::test]
async fn an_api_the_endpoint_does_not_serve_is_asked_once() {
    for (status, body) in [
        (
            500,
            "<!DOCTYPE html><html><body>Internal Server Error</body></html>",
        ),
        (501, ""),
        (404, "<html><body>Not Found</body></html>"),
    ] {
        let fake = Fake::new(move |_| (status, body.to_string()));
        let e = vpcs(&fake).await.unwrap_err();
        assert_eq!(fake.requests().len(), 1, "{status}: not retried ({e})");
    }
}
