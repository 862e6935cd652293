//! The rules a stack file's values must follow beyond their types (ranges, names, ARNs,
//! settings that go together): each error names the file, line, column and field.

use super::*;
use super::{error, errors, parse_str};
use crate::config::Error;

#[test]
fn min_greater_than_max() {
    let e = error(
        "region: eu-west-1\nworkers:\n  min: 5\n  max: 2\n",
        "workers.min",
        3,
    );
    assert_eq!(e.column, 8);
    assert!(e.message.contains("greater than workers.max (2)"), "{e}");
    assert!(e.allowed.is_some());
}

#[test]
fn max_out_of_range() {
    let e = error(
        "region: eu-west-1\nworkers:\n  min: 0\n  max: 1001\n  \nscaling: {scale_from_zero: true}\n",
        "workers.max",
        4,
    );
    assert!(e.message.contains("out of range"), "{e}");
    // The range says what 0 does.
    assert!(e.message.contains("0 parks the environment"), "{e}");
}

#[test]
fn min_zero_needs_scale_from_zero() {
    let e = error("region: eu-west-1\nworkers:\n  min: 0\n", "workers.min", 3);
    assert!(e.message.contains("scale_from_zero"), "{e}");
    parse_str("region: eu-west-1\nworkers: {min: 0}\nscaling: {scale_from_zero: true}\n").unwrap();
}

#[test]
fn fewer_than_two_availability_zones() {
    let yaml = "region: eu-west-1\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n";
    let e = error(yaml, "workers.network.subnets", 5);
    assert!(e.message.contains("at least 2"), "{e}");
}

#[test]
fn subnets_must_be_in_the_region_and_well_formed() {
    let yaml = "region: eu-west-1\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      us-east-1b: subnet-xyz\n";
    let list = errors(yaml);
    assert_eq!(list.len(), 2, "{list:#?}");
    assert!(list.iter().all(|e| e.line == 7));
    assert!(
        list.iter()
            .any(|e| e.message.contains("not an availability zone of eu-west-1"))
    );
    assert!(list.iter().any(|e| e.message.contains("not a subnet id")));
}

#[test]
fn one_subnet_under_two_zones_is_an_error_at_the_second() {
    let yaml = "region: eu-west-1\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef0\n";
    let e = error(yaml, "workers.network.subnets.eu-west-1b", 7);
    assert!(
        e.message
            .contains("`subnet-0123456789abcdef0` is listed under eu-west-1a too"),
        "{e}"
    );
}

#[test]
fn network_must_be_default_or_a_mapping() {
    let e = error(
        "region: eu-west-1\nworkers:\n  network: private\n",
        "workers.network",
        3,
    );
    assert!(e.message.contains("`default`"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  network:\n    vpc: vpc-01234567\n    subnet: {}\n",
        "workers.network.subnet",
        5,
    );
    assert!(e.message.contains("unknown field `subnet`"), "{e}");
    assert!(e.message.contains("did you mean `subnets`?"), "{e}");
}

#[test]
fn visibility_timeout_shorter_than_processing_time() {
    let yaml = "region: eu-west-1\nqueue:\n  visibility_timeout: 5\nscaling:\n  max_latency_seconds: 60\n  seconds_per_message: 10\n";
    let e = error(yaml, "queue.visibility_timeout", 3);
    assert!(
        e.message
            .contains("shorter than scaling.seconds_per_message"),
        "{e}"
    );
}

#[test]
fn visibility_timeout_against_the_default_points_at_the_queue_key_or_file() {
    // visibility_timeout is the default (60 s) and the processing time exceeds it: the error
    // names the setting even though the file does not spell it out.
    let yaml =
        "region: eu-west-1\nscaling:\n  max_latency_seconds: 600\n  seconds_per_message: 90\n";
    let list = errors(yaml);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].field, "queue.visibility_timeout");
}

#[test]
fn max_receive_count_below_one() {
    let e = error(
        "region: eu-west-1\nqueue:\n  max_receive_count: 0\n",
        "queue.max_receive_count",
        3,
    );
    assert!(e.message.contains("out of range (1 to 1000)"), "{e}");
    let e = error(
        "region: eu-west-1\nqueue:\n  max_receive_count: -2\n",
        "queue.max_receive_count",
        3,
    );
    assert!(e.message.contains("-2"), "{e}");
}

#[test]
fn dlq_retention_must_exceed_queue_retention() {
    let e = error(
        "region: eu-west-1\nqueue:\n  message_retention: 14d\n  dlq_retention: 7d\n",
        "queue.dlq_retention",
        4,
    );
    assert!(
        e.message
            .contains("not longer than queue.message_retention"),
        "{e}"
    );
}

#[test]
fn queue_ranges() {
    error(
        "region: eu-west-1\nqueue:\n  receive_wait_time: 30\n",
        "queue.receive_wait_time",
        3,
    );
    error(
        "region: eu-west-1\nqueue:\n  visibility_timeout: 13h\n",
        "queue.visibility_timeout",
        3,
    );
    error(
        "region: eu-west-1\nqueue:\n  oldest_message_alarm: 10s\n",
        "queue.oldest_message_alarm",
        3,
    );
}

#[test]
fn scaling_choices_are_complete_and_a_target_given_wins_over_the_goal() {
    // A target with the goal (what `simulate --tune` prints): the target wins, the goal stays
    // for its alarm.
    let env = crate::config::parse(
        "stacks/t.yaml".into(),
        "region: eu-west-1\nscaling:\n  target_backlog_per_instance: 0.7\n  max_latency_seconds: 10\n  seconds_per_message: 2\n".into(),
    )
    .unwrap()
    .into_only();
    assert!(crate::config::checks::check(&env).is_empty());
    assert_eq!(env.backlog_target(), 0.7);
    let e = error(
        "region: eu-west-1\nscaling:\n  target_backlog_per_instance: 10\n  max_latency_seconds: -5\n",
        "scaling.max_latency_seconds",
        4,
    );
    assert!(e.message.contains("greater than 0"), "{e}");
    let e = error(
        "region: eu-west-1\nscaling:\n  max_latency_seconds: 5\n",
        "scaling.max_latency_seconds",
        3,
    );
    assert!(e.message.contains("needs seconds_per_message"), "{e}");
    let e = error(
        "region: eu-west-1\nscaling:\n  seconds_per_message: 5\n",
        "scaling.seconds_per_message",
        3,
    );
    assert!(e.message.contains("needs max_latency_seconds"), "{e}");
    error(
        "region: eu-west-1\nscaling:\n  target_backlog_per_instance: 0\n",
        "scaling.target_backlog_per_instance",
        3,
    );
    let e = error(
        "region: eu-west-1\nscaling:\n  max_latency_seconds: 1\n  seconds_per_message: 2\nqueue: {visibility_timeout: 60}\n",
        "scaling.max_latency_seconds",
        3,
    );
    assert!(e.message.contains("below one message"), "{e}");
}

#[test]
fn names_regions_and_arns() {
    error("environment: Prod_1\nregion: eu-west-1\n", "environment", 1);
    error("region: Europe\n", "region", 1);
    error("region: eu-west-1\nkms_key: alias/my-key\n", "kms_key", 2);
    let e = error(
        "region: eu-west-1\nkms_key: arn:aws:kms:us-east-1:111122223333:key/abcd\n",
        "kms_key",
        2,
    );
    assert!(e.message.contains("us-east-1"), "{e}");
    error(
        "region: eu-west-1\nservice_role_arn: my-role\n",
        "service_role_arn",
        2,
    );
    error(
        "region: eu-west-1\nalarms: {email: nobody}\n",
        "alarms.email",
        2,
    );
    error(
        "region: eu-west-1\ntags:\n  aws:owner: me\n",
        "tags.aws:owner",
        3,
    );
}

#[test]
fn a_file_name_that_is_no_environment_name() {
    let err = parse(
        PathBuf::from("stacks/My Env.yaml"),
        "region: eu-west-1\n".into(),
    );
    let Err(Error::Input(list)) = err else {
        panic!("expected an error")
    };
    assert!(
        list[0].message.contains("taken from the file name"),
        "{}",
        list[0]
    );
}

#[test]
fn bucket_prefixes() {
    error(
        "region: eu-west-1\nbucket:\n  upload_prefix: uploads\n",
        "bucket.upload_prefix",
        3,
    );
    let e = error(
        "region: eu-west-1\nbucket:\n  processed_prefix: uploads/done/\n",
        "bucket.processed_prefix",
        3,
    );
    assert!(e.message.contains("overlaps"), "{e}");
    // bodies/ holds the job bodies stored over SQS's limit (docs/jobs.md): no prefix meets it.
    for (key, prefix) in [
        ("upload_prefix", "bodies/in/"),
        ("processed_prefix", "bodies/"),
    ] {
        let e = error(
            &format!("region: eu-west-1\nbucket:\n  {key}: {prefix}\n"),
            &format!("bucket.{key}"),
            3,
        );
        assert!(
            e.message
                .contains("where job bodies over SQS's size limit are stored"),
            "{e}"
        );
    }
    let e = error(
        "region: eu-west-1\nstages:\n  - name: a\n  - name: b\n    prefix: bodies/\n",
        "stages.1.prefix",
        5,
    );
    assert!(e.message.contains("stored job bodies"), "{e}");
    error(
        "region: eu-west-1\nbucket:\n  access_log_bucket: Not_A_Bucket\n",
        "bucket.access_log_bucket",
        3,
    );
}

#[test]
fn workers_fields() {
    error(
        "region: eu-west-1\nworkers:\n  ami: ubuntu\n",
        "workers.ami",
        3,
    );
    error(
        "region: eu-west-1\nworkers:\n  instance_type: huge\n",
        "workers.instance_type",
        3,
    );
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_type: t4g.small\n",
        "workers.instance_type",
        3,
    );
    assert!(e.message.contains("arm64"), "suggests the arm64 image: {e}");
    error(
        "region: eu-west-1\nworkers:\n  root_volume_gib: 4\n",
        "workers.root_volume_gib",
        3,
    );
    parse_str(
        "region: eu-west-1\nworkers:\n  ami: ami-0123456789abcdef0\n  instance_type: t4g.small\n",
    )
    .unwrap();
}

#[test]
fn copies_are_bounded_and_their_names_must_fit() {
    error("region: eu-west-1\ncopies: 0\n", "copies", 2);
    error("region: eu-west-1\ncopies: 101\n", "copies", 2);
    let e = error(
        "environment: a-very-long-lab-name-x\nregion: eu-west-1\ncopies: 5\n",
        "copies",
        3,
    );
    assert!(e.message.contains("longer than 24"), "{e}");
}

#[test]
fn express_mode_is_never_a_protected_environments_default() {
    // A lab deploys in express mode unless it says otherwise; elsewhere it is off.
    let lab = parse_str("region: eu-west-1\nlab: true\n")
        .unwrap()
        .into_only();
    assert!(lab.express());
    let quiet_lab = parse_str("region: eu-west-1\nlab: true\nexpress: false\n")
        .unwrap()
        .into_only();
    assert!(!quiet_lab.express());
    let prod = parse_str("region: eu-west-1\n").unwrap().into_only();
    assert!(!prod.express());
    // A protected lab is not deployed in express mode by default...
    let protected_lab = parse_str("region: eu-west-1\nlab: true\ntermination_protection: true\n")
        .unwrap()
        .into_only();
    assert!(!protected_lab.express());
    // ...and a stack file cannot ask for it on a protected environment.
    let e = error("region: eu-west-1\nexpress: true\n", "express", 2);
    assert!(
        e.message
            .contains("protection is on by default outside labs"),
        "{e}"
    );
    assert!(e.message.contains("--express"), "{e}");
    let e = error(
        "region: eu-west-1\nlab: true\ntermination_protection: true\nexpress: true\n",
        "express",
        4,
    );
    assert!(e.message.contains("termination_protection is on"), "{e}");
    let unprotected =
        parse_str("region: eu-west-1\ntermination_protection: false\nexpress: true\n")
            .unwrap()
            .into_only();
    assert!(unprotected.express());
}

/// AWS's tag rules: keys up to 128 and values up to 256 characters of letters, digits, white
/// space and `_ . : / = + - @`, no `aws:` prefix
/// (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions);
/// CloudFormation refuses the stack operation otherwise, after the preview.
#[test]
fn tags_outside_awss_tag_pattern_are_refused_offline() {
    let e = error(
        "region: eu-west-1\ntags:\n  team: \"jobs; rm -rf\"\n",
        "tags.team",
        3,
    );
    assert!(e.message.contains("(;)"), "{e}");
    error(
        "region: eu-west-1\ntags:\n  \"cost#centre\": x\n",
        "tags.cost#centre",
        3,
    );
    // CloudFormation's Tag: "Value … Minimum length of 1"
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Tag.html).
    let e = error("region: eu-west-1\ntags:\n  team: \"\"\n", "tags.team", 3);
    assert!(e.message.contains("is empty"), "{e}");
    error(
        "region: eu-west-1\ntags:\n  qfleet:environment: other\n",
        "tags.qfleet:environment",
        3,
    );
    // Letters of any language, digits, spaces and the allowed punctuation are fine.
    parse(
        PathBuf::from("stacks/t.yaml"),
        "region: eu-west-1\ntags:\n  Équipe: \"traitement des images\"\n  owner: jobs+ops@example.com\n  path: /a/b:c=d_e.f-g\n".into(),
    )
    .unwrap()
    .into_only();
}

#[test]
fn the_scaling_metric_is_sqs_unless_high_resolution_is_asked_for() {
    use crate::config::schema::ScalingMetric;
    let env = parse_str("region: eu-west-1\n").unwrap().into_only();
    assert_eq!(env.spec.scaling.metric, ScalingMetric::Sqs);
    let env = parse_str("region: eu-west-1\nscaling: {metric: high_resolution}\n")
        .unwrap()
        .into_only();
    assert_eq!(env.spec.scaling.metric, ScalingMetric::HighResolution);
    let e = parse_str("region: eu-west-1\nscaling:\n  metric: fast\n").unwrap_err();
    let text = e.to_string();
    assert!(text.contains("scaling.metric"), "{text}");
    assert!(text.contains("high_resolution"), "{text}");
}

#[test]
fn a_high_resolution_metric_is_refused_in_govcloud_where_aws_does_not_offer_it() {
    let e = error(
        "region: us-gov-west-1\nscaling:\n  metric: high_resolution\n",
        "scaling.metric",
        3,
    );
    assert!(e.message.contains("GovCloud"), "{e}");
    parse_str("region: us-gov-west-1\n").unwrap();
}

/// EC2 takes 50 tags on a security group or an instance, and CloudFormation propagates the
/// stack's tags to them: with qfleet's marks and the template's own `Name` tag on the workers'
/// security group and instances, an EC2 or Fargate file keeps 45 tags of its own (environment,
/// file, stack-file and kind marks, Name), a function's 46.
#[test]
fn the_tag_limit_counts_the_name_tag_the_workers_security_group_and_instances_carry() {
    let tags = |n: usize| -> String { (0..n).map(|i| format!("  t{i}: v\n")).collect::<String>() };
    for (kind, most) in [
        ("", 45),
        (
            "workers: {kind: fargate, image: public.ecr.aws/docker/library/python:3.12}\n",
            45,
        ),
        ("workers: {kind: lambda}\n", 46),
    ] {
        let ok = format!("region: eu-west-1\n{kind}tags:\n{}", tags(most));
        let file = parse_str(&ok).unwrap_or_else(|e| panic!("{kind}{most}: {e}"));
        // The room the engine tells (`tag_room`) is the one the check keeps.
        let room = crate::config::tag_room(&file.base);
        assert_eq!(room.most, most, "{kind}");
        let over = format!("region: eu-west-1\n{kind}tags:\n{}", tags(most + 1));
        let e = parse_str(&over).unwrap_err().to_string();
        assert!(
            e.contains(&format!("at most {most} are the file's"))
                && e.contains(&format!(
                    "qfleet adds {}: {}",
                    room.qfleet_adds.len(),
                    room.qfleet_adds.join(", ")
                )),
            "{kind}: {e}"
        );
        if !kind.contains("lambda") {
            assert!(
                e.contains("Name (on the workers' security group and instances)"),
                "{e}"
            );
        }
    }
}
