//! `targets`: one stack file deployed to several accounts and regions, each target an
//! environment of its own, validated as it is deployed, its errors at the target's own line.

use super::*;
use crate::config::parse;
use crate::config::{Error, Result};
use std::path::PathBuf;

const EU: &str = "111111111111";
const US: &str = "222222222222";

fn parse_str(yaml: &str) -> Result<LoadedFile> {
    parse(PathBuf::from("stacks/orders.yaml"), yaml.to_string())
}

fn errors(yaml: &str) -> Vec<InputError> {
    match parse_str(yaml) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(Error::Input(list)) => list,
        Err(other) => panic!("expected input errors, got {other:?}"),
    }
}

/// A StackSets target's `workers.network` in `region` (each names its own: its VPC and subnets
/// are values of the stack set's template).
fn placed(region: &str) -> String {
    format!(
        "    workers:\n      network: {{vpc: vpc-0123456789abcdef0, subnets: {{{region}a: subnet-0123456789abcdef0, {region}b: subnet-0123456789abcdef1}}}}\n"
    )
}

/// Two accounts, two regions: the shape the docs show.
fn two_by_two(extra: &str) -> String {
    format!(
        "region: eu-west-1\nlab: true\naccounts: ['{EU}', '{US}']\ndeploy_role: qfleet-deployer\n{extra}targets:\n  - name: eu\n    account: '{EU}'\n  - name: us\n    account: '{US}'\n    region: us-east-1\n    workers: {{max: 8, instance_type: c6i.large}}\n"
    )
}

#[test]
fn each_target_is_an_environment_in_its_own_account_and_region() {
    let envs = parse_str(&two_by_two("")).unwrap().expand();
    let seen: Vec<(&str, &str, Option<&str>, Option<&str>)> = envs
        .iter()
        .map(|e| {
            let t = e.target.as_ref().unwrap();
            (
                e.name.as_str(),
                e.spec.region.as_str(),
                t.account.as_deref(),
                t.role_arn.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "orders-eu",
                "eu-west-1",
                Some(EU),
                Some("arn:aws:iam::111111111111:role/qfleet-deployer")
            ),
            (
                "orders-us",
                "us-east-1",
                Some(US),
                Some("arn:aws:iam::222222222222:role/qfleet-deployer")
            ),
        ]
    );
    // Each target is guarded to its own account, not to every account of the file.
    assert_eq!(
        envs[0].spec.accounts.as_deref(),
        Some(&[EU.to_string()][..])
    );
    assert_eq!(
        envs[1].spec.accounts.as_deref(),
        Some(&[US.to_string()][..])
    );
    // The target's overrides, and the file's settings elsewhere.
    assert_eq!(
        (envs[0].spec.workers.max, envs[1].spec.workers.max),
        (envs[0].spec.workers.max, 8)
    );
    assert_ne!(envs[0].spec.workers.max, 8);
    assert_eq!(envs[1].spec.workers.instance_type, "c6i.large");
    assert_ne!(envs[0].spec.workers.instance_type, "c6i.large");
    // Every stack has its own name: nothing is shared between targets.
    let mut stacks: Vec<String> = envs
        .iter()
        .flat_map(|e| [e.data_stack_name(), e.fleet_stack_name()])
        .collect();
    stacks.sort();
    stacks.dedup();
    assert_eq!(stacks.len(), 4, "{stacks:?}");
}

#[test]
fn a_target_without_a_role_uses_the_credentials_qfleet_runs_with() {
    let file = parse_str(&format!(
        "region: eu-west-1\nlab: true\ntargets:\n  - name: eu\n  - name: us\n    region: us-east-1\n    role: arn:aws:iam::{US}:role/path/deployer\n"
    ))
    .unwrap();
    let t: Vec<&Target> = file
        .targets
        .iter()
        .map(|e| e.target.as_ref().unwrap())
        .collect();
    assert_eq!(
        (t[0].account.as_deref(), t[0].role_arn.as_deref()),
        (None, None)
    );
    // A role names its account: the target is guarded to it.
    assert_eq!(t[1].account.as_deref(), Some(US));
    assert_eq!(
        t[1].role_arn.as_deref(),
        Some("arn:aws:iam::222222222222:role/path/deployer")
    );
    assert!(file.targets[0].spec.accounts.is_none());
}

#[test]
fn a_bad_override_is_located_at_the_target_s_own_line() {
    let yaml = two_by_two("").replace("{max: 8,", "{max: 5000,");
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "targets.1.workers.max");
    assert_eq!(list[0].line, 11, "{}", list[0]);
    // The file's min against the target's max: at the target's max, which made it wrong.
    let yaml = two_by_two("workers: {min: 4, max: 10}\n").replace("{max: 8,", "{max: 2,");
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "targets.1.workers.max", "{}", list[0]);
    assert!(
        list[0]
            .message
            .contains("4 is greater than workers.max (2)"),
        "{}",
        list[0]
    );
    // A zone of another region: at the target's zone, with what a subnet's key accepts.
    let yaml = two_by_two("").replace(
        "instance_type: c6i.large}",
        "instance_type: c6i.large, network: {vpc: vpc-0a1b2c3d, subnets: {eu-west-1a: subnet-0a1b2c3d, us-east-1b: subnet-0a1b2c3e}}}",
    );
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(
        list[0].field,
        "targets.1.workers.network.subnets.eu-west-1a"
    );
    assert!(
        list[0]
            .message
            .contains("not an availability zone of us-east-1"),
        "{}",
        list[0]
    );
    assert!(
        list[0]
            .allowed
            .as_deref()
            .is_some_and(|a| a.contains("subnet id")),
        "{:?}",
        list[0].allowed
    );
}

#[test]
fn a_kms_key_is_checked_in_each_target_s_region() {
    let key = |region: &str| {
        format!("arn:aws:kms:{region}:{EU}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    };
    // The file's key is in eu-west-1: the us target needs its own, said once at the file's key.
    let list = errors(&two_by_two(&format!("kms_key: {}\n", key("eu-west-1"))));
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "kms_key");
    assert!(
        list[0].message.contains("(in target us, us-east-1)"),
        "{}",
        list[0]
    );
    // With the us target's own key, in its region, the file is valid.
    let yaml = two_by_two(&format!("kms_key: {}\n", key("eu-west-1"))).replace(
        "region: us-east-1\n",
        &format!("region: us-east-1\n    kms_key: {}\n", key("us-east-1")),
    );
    let envs = parse_str(&yaml).unwrap().expand();
    assert_eq!(
        envs[1].spec.kms_key.as_deref(),
        Some(key("us-east-1").as_str())
    );
    // The target's own key in the wrong region is the target's error, at its line.
    let yaml = two_by_two("").replace(
        "region: us-east-1\n",
        &format!("region: us-east-1\n    kms_key: {}\n", key("eu-west-1")),
    );
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "targets.1.kms_key");
    assert!(list[0].message.contains("us-east-1"), "{}", list[0]);
}

#[test]
fn an_error_of_the_file_is_said_once_naming_the_targets_it_concerns() {
    // Every target has the file's queue: said once, as the file's.
    let list = errors(&two_by_two("queue: {max_receive_count: 0}\n"));
    let queue: Vec<&InputError> = list
        .iter()
        .filter(|e| e.field == "queue.max_receive_count")
        .collect();
    assert_eq!(queue.len(), 1, "said once for both targets: {list:#?}");
    assert!(!queue[0].message.contains("(in target"), "{}", queue[0]);
    // The us target sets its own max: the file's bad max concerns the eu target only.
    let list = errors(&two_by_two("").replace("lab: true\n", "lab: true\nworkers: {max: 1001}\n"));
    let max: Vec<&InputError> = list.iter().filter(|e| e.field == "workers.max").collect();
    assert_eq!(max.len(), 1, "{list:#?}");
    assert_eq!(max[0].line, 3);
    assert!(
        max[0].message.ends_with("(in target eu, eu-west-1)"),
        "{}",
        max[0]
    );
}

#[test]
fn the_account_guard_and_the_roles_are_checked() {
    let yaml = two_by_two("").replace(&format!("account: '{US}'"), "account: '333333333333'");
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "targets.1.account");
    assert!(
        list[0].message.contains("not one of the file's accounts"),
        "{}",
        list[0]
    );

    let list = errors(&two_by_two("").replace(&format!("account: '{US}'"), "account: '2222'"));
    assert_eq!(list[0].field, "targets.1.account");

    // A role in another account than the target's.
    let yaml = two_by_two("").replace(
        &format!("account: '{US}'\n"),
        &format!("account: '{US}'\n    role: arn:aws:iam::{EU}:role/deployer\n"),
    );
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "targets.1.role");
    assert!(list[0].message.contains("own account"), "{}", list[0]);

    // A target without an account whose role is in an account the file does not list: the
    // guard is the file's list, never replaced by the role's account.
    let yaml = two_by_two("").replace(
        &format!("account: '{US}'\n"),
        "role: arn:aws:iam::999999999999:role/other\n",
    );
    let list = errors(&yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "targets.1.role");
    assert!(
        list[0]
            .message
            .contains("999999999999, which is not one of the file's accounts"),
        "{}",
        list[0]
    );

    // A role of another partition than the target's region.
    let yaml = format!(
        "region: eu-west-1\nlab: true\ntargets:\n  - name: eu\n    role: arn:aws-cn:iam::{EU}:role/deployer\n"
    );
    assert_eq!(errors(&yaml)[0].field, "targets.0.role");

    // deploy_role names a role in each target's account: a target without one cannot use it.
    let yaml = "region: eu-west-1\nlab: true\ndeploy_role: deployer\ntargets:\n  - name: eu\n";
    let list = errors(yaml);
    // At the target's entry, with what `account` accepts.
    assert_eq!(
        (list[0].field.as_str(), list[0].line),
        ("targets.0.account", 5)
    );
    assert!(
        list[0]
            .allowed
            .as_deref()
            .unwrap_or_default()
            .contains("12-digit")
    );
    assert!(
        list[0].message.contains("deploy_role needs one"),
        "{}",
        list[0]
    );

    let yaml = two_by_two("").replace("deploy_role: qfleet-deployer", "deploy_role: 'bad role'");
    assert_eq!(errors(&yaml)[0].field, "deploy_role");
}

#[test]
fn target_names_are_short_unique_and_without_hyphens() {
    for bad in ["eu-1", "EU", "1eu", "toolongname", "''"] {
        let yaml = format!("region: eu-west-1\nlab: true\ntargets:\n  - name: {bad}\n");
        let list = errors(&yaml);
        assert_eq!(list[0].field, "targets.0.name", "{bad}: {list:#?}");
    }
    let yaml = "region: eu-west-1\nlab: true\ntargets:\n  - name: eu\n  - name: eu\n";
    let list = errors(yaml);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(
        (list[0].field.as_str(), list[0].line),
        ("targets.1.name", 5)
    );
    assert!(list[0].message.contains("listed twice"), "{}", list[0]);
}

#[test]
fn copies_and_targets_do_not_go_together() {
    let yaml = "region: eu-west-1\nlab: true\ncopies: 3\ntargets:\n  - name: eu\n";
    let list = errors(yaml);
    assert!(
        list.iter()
            .any(|e| e.field == "copies" && e.message.contains("do not go together")),
        "{list:#?}"
    );
}

#[test]
fn a_pipeline_s_targets_cannot_set_workers_but_each_stage_moves_with_the_target() {
    let pipeline = "region: eu-west-1\nlab: true\nstages:\n  - name: parse\n  - name: index\n";
    let yaml = format!("{pipeline}targets:\n  - name: eu\n  - name: us\n    region: us-east-1\n");
    let envs = parse_str(&yaml).unwrap().expand();
    assert_eq!(envs.len(), 2);
    let us = &envs[1];
    assert_eq!(us.stages().len(), 2);
    assert!(
        us.stages()
            .iter()
            .all(|s| s.spec.region == "us-east-1" && s.target.is_some())
    );
    let list = errors(&format!(
        "{pipeline}targets:\n  - name: eu\n    workers: {{max: 3}}\n"
    ));
    assert_eq!(list[0].field, "targets.0.workers");
}

#[test]
fn a_target_s_instance_types_replace_the_file_s_one_type() {
    let yaml = "region: eu-west-1\nlab: true\nworkers: {instance_type: t3.small}\ntargets:\n  - name: eu\n    workers: {instance_types: [m6i.large, m5.large]}\n  - name: ie\n";
    let envs = parse_str(yaml).unwrap().expand();
    assert_eq!(
        envs[0].spec.workers.instance_types.as_deref(),
        Some(&["m6i.large".to_string(), "m5.large".to_string()][..])
    );
    assert_eq!(envs[1].spec.workers.instance_type, "t3.small");
    assert!(envs[1].spec.workers.instance_types.is_none());
}

#[test]
fn more_than_the_limit_of_targets_is_refused() {
    let mut yaml = String::from("region: eu-west-1\nlab: true\ntargets:\n");
    for i in 0..=MAX_TARGETS {
        yaml.push_str(&format!("  - name: t{i}\n"));
    }
    let list = errors(&yaml);
    assert!(
        list.iter()
            .any(|e| e.field == "targets" && e.message.contains("at most 20")),
        "{list:#?}"
    );
}

#[test]
fn role_arns_are_parsed_strictly() {
    assert_eq!(
        role_account(&format!("arn:aws:iam::{EU}:role/x"), "aws"),
        Ok(EU.to_string())
    );
    for bad in [
        "arn:aws:iam::1111:role/x",
        "arn:aws:iam::111111111111:user/x",
        "arn:aws:sts::111111111111:role/x",
        "arn:aws:iam::111111111111:role/",
        "deployer",
    ] {
        assert!(role_account(bad, "aws").is_err(), "{bad}");
    }
}

#[test]
fn waves_are_numbered_from_1_and_a_short_bake_is_a_warning() {
    let yaml = "region: eu-west-1\nlab: true\nrollout: {bake: 2m}\ntargets:\n  - name: canary\n  - name: eu\n    wave: 2\n";
    let envs = parse_str(yaml).unwrap().expand();
    let waves: Vec<(u32, u32)> = envs
        .iter()
        .map(|e| e.target.as_ref().map(|t| (t.wave, t.file.waves())).unwrap())
        .collect();
    assert_eq!(waves, [(1, 2), (2, 2)]);
    let warning = rollout_warning(&envs[0]).expect("a warning");
    assert_eq!(
        warning,
        "rollout.bake: 2m is shorter than the 21m the oldest-message alarm (queue.oldest_message_alarm 15m, then 3 one-minute periods) needs to fire, with 3 minutes for its data to arrive: a wave can pass its bake with a problem its alarms have not seen yet (docs/targets.md#waves)"
    );
    assert!(crate::config::warnings::warnings(&envs[1]).contains(&warning));
    // As long as the slowest alarm needs, or no bake given (that long), or one wave: nothing
    // to say.
    let envs = parse_str(&yaml.replace("2m", "21m")).unwrap().expand();
    assert_eq!(rollout_warning(&envs[0]), None);
    let envs = parse_str(&yaml.replace("rollout: {bake: 2m}\n", ""))
        .unwrap()
        .expand();
    assert_eq!((rollout_warning(&envs[0]), bake(&envs[0])), (None, 21 * 60));
    let envs = parse_str(
        &yaml
            .replace("    wave: 2\n", "")
            .replace("rollout: {bake: 2m}\n", ""),
    )
    .unwrap()
    .expand();
    assert_eq!(rollout_warning(&envs[0]), None);
    // A bake with one wave bakes nothing: said.
    let envs = parse_str(&yaml.replace("    wave: 2\n", ""))
        .unwrap()
        .expand();
    assert!(
        rollout_warning(&envs[0])
            .unwrap()
            .starts_with("rollout.bake: every target is in wave 1, so nothing is baked")
    );

    let list = errors(&yaml.replace("wave: 2", "wave: 11"));
    assert_eq!(
        (list[0].field.as_str(), list[0].line),
        ("targets.1.wave", 7)
    );
    let list = errors(&yaml.replace("2m}", "25h}"));
    assert_eq!(list[0].field, "rollout.bake");
    // A rollout without targets has no wave to go on from.
    let list = errors("region: eu-west-1\nlab: true\nrollout: {bake: 5m}\n");
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!((list[0].field.as_str(), list[0].line), ("rollout", 3));
}

#[test]
fn an_ami_id_cannot_serve_two_regions_but_a_parameter_path_can() {
    let head = "region: eu-west-1\nlab: true\n";
    let targets = "targets:\n  - name: eu\n  - name: us\n    region: us-east-1\n";
    // The file's AMI id for both regions: said at the file's workers.ami.
    let list = errors(&format!(
        "{head}workers: {{ami: ami-0123456789abcdef0}}\n{targets}"
    ));
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!((list[0].field.as_str(), list[0].line), ("workers.ami", 3));
    assert!(
        list[0].message.contains("eu-west-1 and us-east-1"),
        "{}",
        list[0]
    );
    // Each target's own id, one per region: valid.
    let yaml = format!(
        "{head}workers: {{ami: ami-0123456789abcdef0}}\ntargets:\n  - name: eu\n  - name: us\n    region: us-east-1\n    workers: {{ami: ami-0fedcba9876543210}}\n"
    );
    parse_str(&yaml).unwrap();
    // The targets' own ids, the same in two regions: at each target's line.
    let yaml = format!(
        "{head}targets:\n  - name: eu\n    workers: {{ami: ami-0123456789abcdef0}}\n  - name: us\n    region: us-east-1\n    workers: {{ami: ami-0123456789abcdef0}}\n"
    );
    let list = errors(&yaml);
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["targets.0.workers.ami", "targets.1.workers.ami"]);
    // An SSM parameter path (the default) names each region's image.
    parse_str(&format!("{head}{targets}")).unwrap();
}

#[test]
fn the_bake_by_default_is_as_long_as_the_slowest_alarm_needs_to_fire() {
    let base =
        "region: eu-west-1\nlab: true\ntargets:\n  - name: canary\n  - name: eu\n    wave: 2\n";
    let window = |extra: &str| {
        let envs = parse_str(&format!("{base}{extra}")).unwrap().expand();
        (alarm_window(&envs[0]), bake(&envs[0]))
    };
    // Defaults: the oldest-message alarm, 15 minutes and 3 periods, and 3 periods for the
    // data to arrive.
    assert_eq!(window("").0.0, 15 * 60 + 180 + 180);
    // A job failing 10 times with a visibility timeout of 5 minutes reaches the dead-letter
    // queue after 50 minutes, then one period.
    let ((secs, what), bake_secs) =
        window("queue: {max_receive_count: 10, visibility_timeout: 5m}\n");
    assert_eq!((secs, bake_secs), (50 * 60 + 60 + 180, 50 * 60 + 60 + 180));
    assert!(
        what.starts_with(
            "dead-letter alarm (queue.max_receive_count 10 x queue.visibility_timeout 5m"
        ),
        "{what}"
    );
    // A latency goal over the oldest-message threshold: the goal and 5 periods.
    let ((secs, what), _) = window(
        "queue: {oldest_message_alarm: 60s}\nscaling: {max_latency_seconds: 1200, seconds_per_message: 5}\n",
    );
    assert_eq!(secs, 1200 + 300 + 180);
    assert!(what.starts_with("latency-goal alarm"), "{what}");
    // Longer than a bake can be: the bake is cut to 24h, and said so.
    let long = "queue: {max_receive_count: 1000, visibility_timeout: 12h}\n";
    assert_eq!(window(long).1, MAX_BAKE_SECONDS);
    let envs = parse_str(&format!("{base}{long}")).unwrap().expand();
    let w = rollout_warning(&envs[0]).expect("a warning");
    assert!(w.contains("longer than a bake can be (24h)"), "{w}");
}

#[test]
fn an_empty_targets_list_and_a_deploy_role_without_targets_are_errors() {
    for (yaml, field, line) in [
        ("region: eu-west-1\nlab: true\ntargets: []\n", "targets", 3),
        ("region: eu-west-1\nlab: true\ntargets:\n", "targets", 3),
        (
            "region: eu-west-1\nlab: true\ndeploy_role: qfleet-deployer\n",
            "deploy_role",
            3,
        ),
    ] {
        let list = errors(yaml);
        assert_eq!(list.len(), 1, "{list:#?}");
        assert_eq!(
            (list[0].field.as_str(), list[0].line),
            (field, line),
            "{yaml}"
        );
    }
}

#[test]
fn what_a_target_inherits_from_another_account_is_a_warning() {
    let yaml = "region: eu-west-1\nlab: true\nkms_key: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\nservice_role_arn: arn:aws:iam::111122223333:role/cfn\ntargets:\n  - name: a\n    account: '111122223333'\n  - name: b\n    account: '444455556666'\n";
    let envs = parse_str(yaml).unwrap().expand();
    // The file's own account: nothing to say but the missing role among two accounts.
    let a = account_warnings(&envs[0]);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert!(
        a[0].starts_with("targets.0: target `a` has no role"),
        "{}",
        a[0]
    );
    let b = account_warnings(&envs[1]);
    assert_eq!(b.len(), 3, "{b:#?}");
    assert!(
        b[0].starts_with(
            "kms_key: the key is in account 111122223333, and target `b` in 444455556666"
        ),
        "{}",
        b[0]
    );
    assert!(
        b[1].starts_with("service_role_arn: the role is in account 111122223333"),
        "{}",
        b[1]
    );
    assert!(crate::config::warnings::warnings(&envs[1]).contains(&b[0]));
    // Its own key, and a deploy_role: only the service role is left.
    let fixed = yaml.replace(
        "    account: '444455556666'\n",
        "    account: '444455556666'\n    kms_key: arn:aws:kms:eu-west-1:444455556666:key/2234abcd-12ab-34cd-56ef-1234567890ab\n",
    ) + "deploy_role: qfleet-deployer\n";
    let envs = parse_str(&fixed).unwrap().expand();
    let b = account_warnings(&envs[1]);
    assert_eq!(b.len(), 1, "{b:#?}");
    assert!(b[0].starts_with("service_role_arn:"), "{}", b[0]);
    assert!(account_warnings(&envs[0]).is_empty());
}

#[test]
fn a_file_name_too_long_for_its_targets_is_said_once_at_the_file_s_name() {
    let list = errors(
        "environment: averyverylongenvname20\nregion: eu-west-1\nlab: true\ntargets:\n  - name: eu\n  - name: usa\n",
    );
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!((list[0].field.as_str(), list[0].line), ("environment", 1));
    assert!(
        list[0].message.contains(
            "with target `usa` that is 26 characters, over 24; shorten the environment name to 20 characters"
        ),
        "{}",
        list[0]
    );
    // Within the limit with the longest target: nothing to say.
    parse_str("environment: averyverylongenvname\nregion: eu-west-1\nlab: true\ntargets:\n  - name: eu\n  - name: usa\n").unwrap();
}

#[test]
fn a_target_without_an_account_among_several_accounts_is_warned_about() {
    let yaml = "region: eu-west-1\nlab: true\ntargets:\n  - name: a\n    account: '111122223333'\n  - name: b\n    role: arn:aws:iam::444455556666:role/deployer\n  - name: c\n";
    let envs = parse_str(yaml).unwrap().expand();
    // b's account is its role's: the targets span two accounts.
    assert_eq!(
        envs[2].target.as_ref().unwrap().file.accounts(),
        ["111122223333", "444455556666"]
    );
    let c = account_warnings(&envs[2]);
    assert_eq!(c.len(), 1, "{c:#?}");
    assert!(
        c[0].starts_with("targets.2: target `c` names no account"),
        "{}",
        c[0]
    );
    // a has no role among two accounts; b has one: nothing to say about b.
    assert!(account_warnings(&envs[0])[0].contains("has no role"));
    assert!(account_warnings(&envs[1]).is_empty());
}

#[test]
fn stack_sets_need_an_account_per_target_one_target_per_place_and_preferences_aws_takes() {
    let base = "region: eu-west-1\nlab: true\n";
    let e = errors(&format!(
        "{base}rollout: {{mode: stack_sets, max_concurrent_accounts: 3, failure_tolerance: 1}}\ntargets:\n  - name: a\n    account: '111111111111'\n  - name: b\n    account: '111111111111'\n  - name: c\n"
    ));
    let said: Vec<(&str, &str)> = e
        .iter()
        .map(|x| (x.field.as_str(), x.message.as_str()))
        .collect();
    assert!(
        said.iter()
            .any(|(f, m)| *f == "rollout.max_concurrent_accounts" && m.contains("lower it to 2")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|(f, m)| *f == "targets.1.region"
                && m.contains("one instance per account and region")),
        "{said:?}"
    );
    assert!(
        said.iter().any(
            |(f, m)| *f == "targets.2.account" && m.contains("StackSets creates each instance")
        ),
        "{said:?}"
    );
    // The StackSets settings without the mode.
    let e = errors(&format!(
        "{base}rollout: {{failure_tolerance: 1}}\ntargets:\n  - name: a\n"
    ));
    assert!(
        e.iter().any(|x| x.field == "rollout.failure_tolerance"
            && x.message.contains("needs rollout.mode: stack_sets")),
        "{e:?}"
    );
    // A file whose targets are each in an account and a region of their own is fine.
    assert!(
        parse_str(&format!(
            "{base}rollout: {{mode: stack_sets}}\ntargets:\n  - name: a\n    account: '111111111111'\n{}  - name: b\n    account: '111111111111'\n    region: us-east-1\n{}",
            placed("eu-west-1"),
            placed("us-east-1")
        ))
        .is_ok()
    );
}

/// The account that holds the stack sets: `rollout.administration_account`, else the
/// administration role's; both must agree, and the key needs the mode.
#[test]
fn the_stack_sets_account_is_declared_or_the_administration_roles_and_both_agree() {
    let base = "region: eu-west-1\nlab: true\ndeploy_role: reader\n";
    let targets = format!(
        "targets:\n  - name: a\n    account: '111111111111'\n{}",
        placed("eu-west-1")
    );
    let of = |rollout: &str| {
        let f = parse_str(&format!("{base}rollout: {rollout}\n{targets}")).unwrap();
        administration_account(&f.base)
    };
    assert_eq!(
        of("{mode: stack_sets, administration_account: '222222222222'}").as_deref(),
        Some("222222222222")
    );
    assert_eq!(
        of("{mode: stack_sets, administration_role: 'arn:aws:iam::333333333333:role/path/Admin'}")
            .as_deref(),
        Some("333333333333")
    );
    assert_eq!(of("{mode: stack_sets}"), None);
    let said = |rollout: &str| -> Vec<(String, String)> {
        errors(&format!("{base}rollout: {rollout}\n{targets}"))
            .into_iter()
            .map(|x| (x.field, x.message))
            .collect()
    };
    let e = said(
        "{mode: stack_sets, administration_account: '222222222222', administration_role: 'arn:aws:iam::333333333333:role/Admin'}",
    );
    assert!(
        e.iter().any(|(f, m)| f == "rollout.administration_role"
            && m.contains(
                "a role of account 333333333333, and rollout.administration_account is 222222222222"
            )),
        "{e:?}"
    );
    let e = said("{mode: stack_sets, administration_account: '2222'}");
    assert!(
        e.iter().any(|(f, m)| f == "rollout.administration_account"
            && m.contains("not a 12-digit AWS account id")),
        "{e:?}"
    );
    let e = said("{administration_account: '222222222222'}");
    assert!(
        e.iter().any(|(f, m)| f == "rollout.administration_account"
            && m.contains("needs rollout.mode: stack_sets")),
        "{e:?}"
    );
}

/// The start of a lab stack file in eu-west-1.
const LAB: &str = "region: eu-west-1\nlab: true\n";

/// The errors of a lab stack file in eu-west-1 that goes on with `yaml`: (field, message).
fn said(yaml: &str) -> Vec<(String, String)> {
    errors(&format!("{LAB}{yaml}"))
        .into_iter()
        .map(|x| (x.field, x.message))
        .collect()
}

/// Whether `e` has an error at `field` that says `text`.
fn has(e: &[(String, String)], field: &str, text: &str) -> bool {
    e.iter().any(|(f, m)| f == field && m.contains(text))
}

/// Service-managed StackSets: each target names the AWS Organizations unit of its account
/// (an id AWS takes), never the management account that holds the stack sets; the
/// self-managed roles are refused, and a unit without that model is an error.
#[test]
fn service_managed_targets_name_their_unit_and_are_never_the_management_account() {
    let base = LAB;
    let ok = format!(
        "deploy_role: reader\nrollout: {{mode: stack_sets, permission_model: service_managed, administration_account: '999999999999'}}\ntargets:\n  - name: a\n    account: '111111111111'\n    organizational_unit: ou-ab12-34cd56ef\n{net}  - name: b\n    account: '222222222222'\n    organizational_unit: r-ab12\n{net}",
        net = placed("eu-west-1")
    );
    let f = parse_str(&format!("{base}{ok}")).unwrap();
    let units: Vec<Option<String>> = f
        .expand()
        .iter()
        .map(|e| e.target.as_ref().unwrap().organizational_unit.clone())
        .collect();
    assert_eq!(
        units,
        [
            Some("ou-ab12-34cd56ef".to_string()),
            Some("r-ab12".to_string())
        ]
    );
    let e = said(
        "deploy_role: reader\nrollout: {mode: stack_sets, permission_model: service_managed, administration_account: '111111111111', execution_role: X}\ntargets:\n  - name: a\n    account: '111111111111'\n    organizational_unit: ou-ab12-34cd56ef\n  - name: b\n    account: '222222222222'\n  - name: c\n    account: '333333333333'\n    organizational_unit: ou-AB12-34cd56ef\n",
    );
    assert!(
        has(
            &e,
            "rollout.execution_role",
            "role of self-managed permissions"
        ),
        "{e:?}"
    );
    assert!(has(&e, "targets.0.account", "management account"), "{e:?}");
    assert!(
        has(
            &e,
            "targets.1.organizational_unit",
            "has no organizational_unit"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "targets.2.organizational_unit",
            "not an AWS Organizations unit id"
        ),
        "{e:?}"
    );
    // A unit without service-managed permissions, with StackSets or without.
    for rollout in ["rollout: {mode: stack_sets}\n", ""] {
        let e = said(&format!(
            "{rollout}targets:\n  - name: a\n    account: '111111111111'\n    organizational_unit: ou-ab12-34cd56ef\n  - name: b\n    account: '111111111111'\n    region: us-east-1\n    organizational_unit: ou-ab12-99zz88yy\n"
        ));
        for i in 0..2 {
            assert!(
                has(
                    &e,
                    &format!("targets.{i}.organizational_unit"),
                    "needs rollout.mode: stack_sets with rollout.permission_model: service_managed"
                ),
                "{e:?}"
            );
        }
        // Only that: units are not compared where they mean nothing.
        assert!(
            !e.iter()
                .any(|(_, m)| m.contains("an account is in one AWS Organizations unit")),
            "{e:?}"
        );
    }
    let e = said("rollout: {permission_model: service_managed}\ntargets:\n  - name: a\n");
    assert!(
        has(
            &e,
            "rollout.permission_model",
            "needs rollout.mode: stack_sets"
        ),
        "{e:?}"
    );
    // A target in another account than the one qfleet acts from, without a role there.
    let no_role = ok.replace("deploy_role: reader\n", "");
    let e = said(&no_role);
    for i in 0..2 {
        assert!(
            has(
                &e,
                &format!("targets.{i}.role"),
                "acts on the stack sets from 999999999999"
            ),
            "{e:?}"
        );
    }
}

/// Service-managed: the account qfleet acts from is required; one account's targets agree
/// on its unit; call_as needs the model, and a delegated administrator is a member account a
/// target may be in.
#[test]
fn service_managed_needs_its_acting_account_and_one_unit_per_account() {
    let base = LAB;
    let e = said(
        "rollout: {mode: stack_sets, permission_model: service_managed}\ntargets:\n  - name: a\n    account: '111111111111'\n    organizational_unit: ou-ab12-34cd56ef\n  - name: b\n    account: '111111111111'\n    region: us-east-1\n    organizational_unit: ou-ab12-99zz88yy\n  - name: c\n    account: '111111111111'\n    region: eu-central-1\n    organizational_unit: ou-ab12-34cd56ef\n",
    );
    // Each target is compared with the account's first: c agrees with a.
    assert!(
        !e.iter().any(|(f, _)| f == "targets.2.organizational_unit"),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "rollout.administration_account",
            "name the account qfleet acts on the stack sets from"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "targets.1.organizational_unit",
            "targets.0 names ou-ab12-34cd56ef for account 111111111111"
        ),
        "{e:?}"
    );
    let e = said(
        "rollout: {mode: stack_sets, call_as: delegated_admin}\ntargets:\n  - name: a\n    account: '111111111111'\n",
    );
    assert!(
        has(
            &e,
            "rollout.call_as",
            "needs rollout.permission_model: service_managed"
        ),
        "{e:?}"
    );
    // A delegated administrator is a member account: a target may be in it.
    let delegated = format!(
        "rollout: {{mode: stack_sets, permission_model: service_managed, call_as: delegated_admin, administration_account: '111111111111'}}\ntargets:\n  - name: a\n    account: '111111111111'\n    organizational_unit: ou-ab12-34cd56ef\n{}",
        placed("eu-west-1")
    );
    assert!(parse_str(&format!("{base}{delegated}")).is_ok());
    let own = delegated.replace("call_as: delegated_admin, ", "");
    assert!(
        has(&said(&own), "targets.0.account", "management account"),
        "{:?}",
        said(&own)
    );
}

#[test]
fn organizational_unit_ids_are_what_the_api_takes() {
    for ok in [
        "ou-ab12-34cd56ef",
        "r-ab12",
        "ou-abcd-0123456789abcdef",
        "r-0123456789abcdefghijklmnopqrstuv",
    ] {
        assert!(valid_organizational_unit(ok), "{ok}");
    }
    for bad in [
        "",
        "ou-",
        "ou-ab1-34cd56ef",
        "ou-ab12-34cd56e",
        "ou-ab12",
        "r-ab1",
        "OU-ab12-34cd56ef",
        "ou-ab12-34cd56ef-",
        "r-ab12_",
        "123456789012",
    ] {
        assert!(!valid_organizational_unit(bad), "{bad}");
    }
}

#[test]
fn a_targets_stack_is_its_files_stack_set_by_the_whole_name_prefix() {
    assert_eq!(
        stack_set_name("orders", "orders-eu1", "qfleet-orders-eu1-data"),
        "qfleet-orders-data"
    );
    // A target named like its file: the name inside `qfleet-` is never taken for it.
    assert_eq!(
        stack_set_name("et", "et-et", "qfleet-et-et-data"),
        "qfleet-et-data"
    );
    assert_eq!(
        stack_set_name("et", "et-et", "qfleet-et-et--thumbs-fleet"),
        "qfleet-et--thumbs-fleet"
    );
}

/// StackSets: a target whose workers run in a network names it (its VPC and subnets are values
/// of the stack set's template; `network: default` is found only by a direct deploy), each at
/// the setting that would name it; a function has no network, and direct targets keep the
/// default VPC.
#[test]
fn stack_sets_targets_name_their_network() {
    let rollout = "rollout: {mode: stack_sets}\n";
    let e = said(&format!(
        "{rollout}targets:\n  - name: a\n    account: '111111111111'\n  - name: b\n    account: '111111111111'\n    region: us-east-1\n    workers: {{network: default}}\n  - name: c\n    account: '111111111111'\n    region: eu-central-1\n{}",
        placed("eu-central-1")
    ));
    assert!(
        has(
            &e,
            "targets.0",
            "target `a` runs its workers in the default VPC"
        ) && has(
            &e,
            "targets.0",
            "set targets.0.workers.network to {vpc: vpc-…"
        ),
        "{e:?}"
    );
    assert!(has(&e, "targets.1.workers.network", "target `b`"), "{e:?}");
    assert!(!e.iter().any(|(f, _)| f.starts_with("targets.2")), "{e:?}");
    // The file's own `network: default` is where every target gets it.
    let e = said(&format!(
        "workers: {{network: default}}\n{rollout}targets:\n  - name: a\n    account: '111111111111'\n"
    ));
    assert!(has(&e, "workers.network", "target `a`"), "{e:?}");
    // Fargate tasks too; a pipeline's stage names it for every target.
    let e = said(&format!(
        "workers: {{kind: fargate, image: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/w:1}}\n{rollout}targets:\n  - name: a\n    account: '111111111111'\n"
    ));
    assert!(has(&e, "targets.0", "default VPC"), "{e:?}");
    let e = said(&format!(
        "stages:\n  - name: one\n  - name: two\n{rollout}targets:\n  - name: a\n    account: '111111111111'\n"
    ));
    for (i, stage) in ["one", "two"].iter().enumerate() {
        assert!(
            has(
                &e,
                &format!("stages.{i}.workers.network"),
                &format!("stage {stage}'s workers in the default VPC")
            ),
            "{e:?}"
        );
    }
    // One error per setting, naming the targets it concerns; a one-stage pipeline too.
    let e = said(&format!(
        "stages:\n  - name: one\n{rollout}targets:\n  - name: a\n    account: '111111111111'\n  - name: b\n    account: '111111111111'\n    region: us-east-1\n"
    ));
    let at: Vec<&(String, String)> = e
        .iter()
        .filter(|(f, _)| f.contains("network") || f.starts_with("targets"))
        .collect();
    assert_eq!(at.len(), 1, "{e:?}");
    assert_eq!(at[0].0, "stages.0.workers.network", "{e:?}");
    assert!(
        at[0]
            .1
            .starts_with("targets a, b run stage one's workers in the default VPC"),
        "{e:?}"
    );
    // A function's workers, and a direct target, are fine without one.
    let image = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/w:1";
    assert!(
        parse_str(&format!(
            "{LAB}workers: {{kind: lambda, lambda: {{image: '{image}'}}}}\n{rollout}targets:\n  - name: a\n    account: '111111111111'\n"
        ))
        .is_ok()
    );
    assert!(
        parse_str(&format!(
            "{LAB}targets:\n  - name: a\n    account: '111111111111'\n"
        ))
        .is_ok()
    );
}

/// A target's own problems (its account, its wave) do not hide the others of its settings:
/// every problem at once.
#[test]
fn a_targets_own_problems_do_not_hide_its_other_settings_problems() {
    let yaml = two_by_two("")
        .replace(&format!("account: '{US}'"), "account: '2222'\n    wave: 0")
        .replace("{max: 8,", "{max: 5000,");
    let e: Vec<(String, String)> = errors(&yaml)
        .into_iter()
        .map(|x| (x.field, x.message))
        .collect();
    assert!(
        has(&e, "targets.1.account", "is not an AWS account id"),
        "{e:?}"
    );
    assert!(has(&e, "targets.1.wave", "out of range"), "{e:?}");
    assert!(has(&e, "targets.1.workers.max", "out of range"), "{e:?}");
    // One problem per setting.
    assert_eq!(
        e.iter().filter(|(f, _)| f == "targets.1.account").count(),
        1,
        "{e:?}"
    );
    // A target with a valid account and a problem of its own is checked as that account's:
    // the file's other (bad) account is the file's problem, not at the target's line.
    let yaml = two_by_two("")
        .replace(&format!("'{US}']"), &format!("'{US}', '12345']"))
        .replace(
            &format!("account: '{EU}'"),
            &format!("account: '{EU}'\n    wave: 99"),
        );
    let e: Vec<(String, String)> = errors(&yaml)
        .into_iter()
        .map(|x| (x.field, x.message))
        .collect();
    assert!(has(&e, "targets.0.wave", "out of range"), "{e:?}");
    assert!(!e.iter().any(|(f, _)| f == "targets.0.account"), "{e:?}");
}

/// A setting of the whole file under a target is said to be the file's, not taken for a
/// key indented at the wrong level.
#[test]
fn a_files_setting_under_a_target_is_said_to_be_the_files() {
    for (yaml, field, says) in [
        (
            "    queue: {visibility_timeout: 2m}\n",
            "targets.0.queue",
            "`queue` is a setting of the whole file, which targets.0 cannot set",
        ),
        (
            "    workers: {user_data: x.sh}\n",
            "targets.0.workers.user_data",
            "`workers.user_data` is a setting of the whole file, which targets.0.workers cannot set",
        ),
    ] {
        let e = said(&format!("targets:\n  - name: a\n{yaml}"));
        assert!(has(&e, field, says), "{e:?}");
        assert!(
            !e.iter().any(|(_, m)| m.contains("indented under")),
            "{e:?}"
        );
    }
}

/// `rollout.auto_deployment`: a file whose targets each stand for a whole AWS Organizations
/// unit, in `region_of_us` for its second target.
fn whole_units(extra: &str, us_extra: &str) -> String {
    format!(
        "region: eu-west-1\nlab: true\ndeploy_role: qfleet-reader\n{extra}rollout:\n  mode: stack_sets\n  permission_model: service_managed\n  auto_deployment: true\n  administration_account: '999999999999'\ntargets:\n  - name: eu\n    organizational_unit: ou-ab12-34cd56ef\n{}  - name: us\n    organizational_unit: ou-ab12-99zz88yy\n    region: us-east-1\n{us_extra}{}",
        placed("eu-west-1"),
        placed("us-east-1")
    )
}

#[test]
fn a_whole_unit_target_refuses_an_account_a_role_a_second_target_in_its_region_and_accounts() {
    let fields = |yaml: &str| -> Vec<String> {
        let mut f: Vec<String> = errors(yaml).into_iter().map(|e| e.field).collect();
        f.sort();
        f
    };
    assert_eq!(
        fields(&whole_units("", &format!("    account: '{US}'\n"))),
        ["targets.1.account"]
    );
    assert_eq!(
        fields(&whole_units(
            "",
            &format!("    role: arn:aws:iam::{US}:role/r\n")
        )),
        ["targets.1.role"]
    );
    // One target per region: the templates are keyed by region alone.
    let same_region = whole_units("", "").replace("    region: us-east-1\n", "");
    let same_region = same_region.replace("us-east-1", "eu-west-1");
    let e = errors(&same_region);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, "targets.1.region");
    assert!(e[0].message.contains("keyed by region alone"), "{}", e[0]);
    assert_eq!(
        fields(&whole_units(&format!("accounts: ['{EU}']\n"), "")),
        ["accounts"]
    );
    // deploy_role is how each account is read and protected.
    let e = errors(&whole_units("", "").replace("deploy_role: qfleet-reader\n", ""));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, "rollout.auto_deployment");
    assert!(e[0].message.contains("set deploy_role"), "{}", e[0]);
}

#[test]
fn automatic_deployment_needs_service_managed_stack_sets() {
    let self_managed = whole_units("", "")
        .replace("  permission_model: service_managed\n", "")
        .replace("    organizational_unit: ou-ab12-34cd56ef\n", "")
        .replace("    organizational_unit: ou-ab12-99zz88yy\n", "");
    let e = errors(&self_managed);
    assert!(
        e.iter().any(|e| e.field == "rollout.auto_deployment"
            && e.message
                .contains("needs rollout.permission_model: service_managed")),
        "{e:?}"
    );
    // That is the problem: the targets are not also told to name an account.
    assert!(!e.iter().any(|e| e.field.ends_with(".account")), "{e:?}");
    let direct = two_by_two("rollout:\n  auto_deployment: true\n");
    let e = errors(&direct);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, "rollout.auto_deployment");
}

/// A StackSets file whose function's code is a package to upload (files beside the handler,
/// requirements) is refused once the code is read: a stack set's template is one for every
/// account, and qfleet would upload the package to one account's bucket.
#[test]
fn a_stack_sets_function_package_is_refused_once_its_code_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("lambda-deps");
    std::fs::create_dir(&code).unwrap();
    let examples = crate::config::workspace_root().join("examples/lambda-deps");
    for f in ["job.py", "qfleet_handler.py", "requirements.txt"] {
        std::fs::copy(examples.join(f), code.join(f)).unwrap();
    }
    let file = dir.path().join("pkg.yaml");
    let rollout = "rollout:\n  mode: stack_sets\n  administration_account: '999999999999'\n";
    let yaml = format!(
        "region: eu-west-1\nlab: true\ndeploy_role: qfleet-reader\nqueue:\n  visibility_timeout: 2m\nworkers:\n  kind: lambda\n  lambda:\n    code: lambda-deps\n    handler: job.handler\n    timeout: 20s\n{rollout}targets:\n  - name: eu\n    account: '{EU}'\n"
    );
    std::fs::write(&file, &yaml).unwrap();
    let e = match crate::config::load(&file) {
        Err(Error::Input(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, "rollout.mode");
    assert!(e[0].message.contains("code package"), "{}", e[0]);
    // The same file deployed directly is fine.
    std::fs::write(&file, yaml.replace(rollout, "rollout:\n  mode: direct\n")).unwrap();
    crate::config::load(&file).unwrap();
}
