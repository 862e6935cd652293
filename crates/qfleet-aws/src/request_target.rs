//! Which resource a request is about, for the request log (`--debug`): the stack, queue,
//! bucket, group, topic or log group it names. Read from the request as sent, whatever the protocol:
//! form-encoded query parameters, a JSON body, or an S3 URL.

/// Parameters that name a request's resource, most specific first.
const NAMING: &[&str] = &[
    "StackName",
    "QueueUrl",
    "AutoScalingGroupName",
    "AutoScalingGroupNames.member.1",
    "SubscriptionArn",
    "TopicArn",
    "QueueName",
    // CloudWatch Logs' JSON names the log group in camel case.
    "logGroupName",
    // ECR's names the repository so; its ARN for ListTagsForResource.
    "repositoryName",
    "resourceArn",
];

/// The resource a request to `service` names, if any.
pub(super) fn of(
    service: &str,
    uri: &str,
    host: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Option<String> {
    // S3's REST requests name their bucket and key in the address, whatever their body.
    if service.eq_ignore_ascii_case("s3") {
        return s3_object(uri, host);
    }
    if content_type.contains("x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        return NAMING.iter().find_map(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        });
    }
    if content_type.contains("json") {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        return NAMING
            .iter()
            .find_map(|name| v.get(name)?.as_str().map(str::to_string))
            // ECR's DescribeRepositories names its repositories in a list.
            .or_else(|| {
                v.get("repositoryNames")?
                    .get(0)?
                    .as_str()
                    .map(str::to_string)
            });
    }
    if service.eq_ignore_ascii_case("lambda") {
        return lambda_target(uri);
    }
    None
}

/// Lambda's REST paths name the function (`/2015-03-31/functions/NAME`) or the mapping
/// (`/2015-03-31/event-source-mappings/UUID`); a listing names the function in its query.
fn lambda_target(uri: &str) -> Option<String> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut segments = path.split('/').skip_while(|s| !s.starts_with("20"));
    segments.next()?;
    match (segments.next(), segments.next()) {
        (Some("functions"), Some(name)) if !name.is_empty() => Some(name.to_string()),
        (Some("event-source-mappings"), Some(id)) if !id.is_empty() => {
            Some(format!("event-source-mapping:{id}"))
        }
        _ => form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "FunctionName")
            .map(|(_, v)| v.into_owned()),
    }
}

/// `s3://BUCKET` of an S3 request on a bucket, `s3://BUCKET/KEY` of one on an object: the
/// bucket is the first label of a virtual-hosted name, else the first path segment.
fn s3_object(uri: &str, host: Option<&str>) -> Option<String> {
    let after_scheme = uri.split_once("://").map(|(_, r)| r).unwrap_or(uri);
    let (authority, path) = match after_scheme.find('/') {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, ""),
    };
    let host = host.unwrap_or(authority);
    let path = path.split('?').next().unwrap_or_default();
    let path = path.trim_start_matches('/');
    let (bucket, key) = match host.split_once('.') {
        Some((bucket, rest)) if rest.starts_with("s3.") || rest.starts_with("s3-") => {
            (bucket, path)
        }
        _ => path.split_once('/').unwrap_or((path, "")),
    };
    if bucket.is_empty() {
        return None;
    }
    Some(match key {
        "" => format!("s3://{bucket}"),
        key => format!("s3://{bucket}/{key}"),
    })
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn the_query_protocol_names_its_stack_or_group() {
        let body = b"Action=DescribeStacks&Version=2010-05-15&StackName=qfleet-lab-data";
        assert_eq!(
            of(
                "cloudformation",
                "https://cloudformation.eu-west-1.amazonaws.com/",
                None,
                "application/x-www-form-urlencoded",
                body
            ),
            Some("qfleet-lab-data".into())
        );
        let body =
            b"Action=DescribeAutoScalingGroups&AutoScalingGroupNames.member.1=qfleet-lab-workers";
        assert_eq!(
            of(
                "autoscaling",
                "https://autoscaling.eu-west-1.amazonaws.com/",
                None,
                "application/x-www-form-urlencoded",
                body
            ),
            Some("qfleet-lab-workers".into())
        );
    }

    #[test]
    fn ecr_names_its_repository_alone_or_in_a_list() {
        let json = "application/x-amz-json-1.1";
        let url = "https://api.ecr.eu-west-1.amazonaws.com/";
        let one = br#"{"repositoryName":"qfleet/orders","imageIds":[{"imageTag":"src-1"}]}"#;
        assert_eq!(
            of("ECR", url, None, json, one),
            Some("qfleet/orders".into())
        );
        let listed = br#"{"repositoryNames":["qfleet/orders"]}"#;
        assert_eq!(
            of("ECR", url, None, json, listed),
            Some("qfleet/orders".into())
        );
        assert_eq!(of("ECR", url, None, json, b"{}"), None);
    }

    #[test]
    fn json_names_its_queue() {
        let body =
            br#"{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/q","AttributeNames":["All"]}"#;
        assert_eq!(
            of(
                "sqs",
                "https://sqs.eu-west-1.amazonaws.com/",
                None,
                "application/x-amz-json-1.0",
                body
            ),
            Some("https://sqs.eu-west-1.amazonaws.com/1/q".into())
        );
    }

    #[test]
    fn lambda_names_its_function_or_mapping_in_the_path() {
        let base = "https://lambda.eu-west-1.amazonaws.com/2015-03-31";
        assert_eq!(
            of(
                "Lambda",
                &format!("{base}/functions/qfleet-lab-worker"),
                None,
                "",
                b""
            ),
            Some("qfleet-lab-worker".into())
        );
        assert_eq!(
            of(
                "Lambda",
                &format!("{base}/event-source-mappings/3d9c"),
                None,
                "",
                b""
            ),
            Some("event-source-mapping:3d9c".into())
        );
        assert_eq!(
            of(
                "Lambda",
                &format!("{base}/event-source-mappings/?FunctionName=f"),
                None,
                "",
                b""
            ),
            Some("f".into())
        );
    }

    #[test]
    fn s3_names_its_bucket_in_either_addressing_style() {
        assert_eq!(
            of(
                "S3",
                "https://b-1.s3.eu-west-1.amazonaws.com/?versions",
                None,
                "",
                b""
            ),
            Some("s3://b-1".into())
        );
        assert_eq!(
            of(
                "S3",
                "http://127.0.0.1:5000/b-1?delete",
                None,
                "application/xml",
                b"<Delete/>"
            ),
            Some("s3://b-1".into())
        );
        assert_eq!(of("S3", "http://127.0.0.1:5000/", None, "", b""), None);
        // An object's key too, whatever the body (a lock object is JSON).
        assert_eq!(
            of(
                "S3",
                "http://127.0.0.1:5000/qfleet-locks-1-eu-west-1/lab-01?x-id=PutObject",
                None,
                "application/json",
                b"{}"
            ),
            Some("s3://qfleet-locks-1-eu-west-1/lab-01".into())
        );
        assert_eq!(
            of(
                "S3",
                "https://b-1.s3.eu-west-1.amazonaws.com/uploads/a.txt",
                None,
                "",
                b""
            ),
            Some("s3://b-1/uploads/a.txt".into())
        );
        // CloudWatch's RPC v2 paths are not buckets.
        let rpc = "https://monitoring.eu-west-1.amazonaws.com/service/GraniteServiceVersion20100801/operation/GetMetricData";
        assert_eq!(
            of("CloudWatch", rpc, None, "application/cbor", b"\xa0"),
            None
        );
    }
}
