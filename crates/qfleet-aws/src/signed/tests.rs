use super::*;

/// https://docs.aws.amazon.com/general/latest/gr/rande.html (regional endpoints, FIPS,
/// dual-stack), https://docs.aws.amazon.com/general/latest/gr/ec2-service.html,
/// https://docs.aws.amazon.com/general/latest/gr/ecs-service.html,
/// https://docs.aws.amazon.com/general/latest/gr/cwl_region.html
#[test]
fn the_endpoint_is_the_regions_in_its_partition() {
    assert_eq!(
        endpoint("ec2", "eu-west-1", false, false),
        "https://ec2.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        endpoint("ecs", "us-gov-west-1", true, false),
        "https://ecs-fips.us-gov-west-1.amazonaws.com"
    );
    assert_eq!(
        endpoint("logs", "us-east-1", false, true),
        "https://logs.us-east-1.api.aws"
    );
    assert_eq!(
        endpoint("ec2", "cn-north-1", false, false),
        "https://ec2.cn-north-1.amazonaws.com.cn"
    );
}

#[test]
fn a_services_own_endpoint_url_comes_before_the_general_one() {
    use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
    /// The environment `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://logs.local` as the loader
    /// reads it.
    #[derive(Debug)]
    struct LogsOnly;
    impl LoadServiceConfig for LogsOnly {
        fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
            (key.service_id() == "CloudWatch Logs").then(|| "http://logs.local".to_string())
        }
    }
    let conf = SdkConfig::builder()
        .endpoint_url("http://everything.local")
        .service_config(LogsOnly)
        .build();
    let logs = Signed::from_config(
        Service {
            id: "CloudWatch Logs",
            name: "logs",
        },
        "eu-west-1",
        &conf,
    );
    let ecs = Signed::from_config(
        Service {
            id: "ECS",
            name: "ecs",
        },
        "eu-west-1",
        &conf,
    );
    assert_eq!(logs.endpoint, "http://logs.local");
    assert_eq!(ecs.endpoint, "http://everything.local");
}
