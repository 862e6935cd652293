//! An account of a whole unit's target: an environment of its own, named `ENV@ACCOUNT`.

use crate::config::{self, Environment};
use crate::placement::{account_pick, of_account};
use std::path::PathBuf;

const EU: &str = "111111111111";

fn parse_str(yaml: &str) -> config::Result<config::LoadedFile> {
    config::parse(PathBuf::from("stacks/orders.yaml"), yaml.to_string())
}

/// A StackSets target's `workers.network` in `region` (each names its own: its VPC and subnets
/// are values of the stack set's template).
fn placed(region: &str) -> String {
    format!(
        "    workers:\n      network: {{vpc: vpc-0123456789abcdef0, subnets: {{{region}a: subnet-0123456789abcdef0, {region}b: subnet-0123456789abcdef1}}}}\n"
    )
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
fn a_target_of_a_whole_unit_names_no_account_and_each_account_of_it_is_an_environment() {
    let envs = parse_str(&whole_units("", "")).unwrap().expand();
    assert!(envs.iter().all(Environment::whole_unit));
    let eu = &envs[0];
    let t = eu.target.as_ref().unwrap();
    assert_eq!((t.account.as_deref(), t.role_arn.as_deref()), (None, None));
    // One account of the unit: named apart, its resources and stacks the target's, guarded
    // to the account and acting there as deploy_role.
    let one = of_account(eu, EU, Some("ou-ab12-0ldun1t0"));
    assert_eq!(one.name, format!("orders-eu@{EU}"));
    assert!(!one.whole_unit());
    assert_eq!(one.resource_name(), "orders-eu");
    assert_eq!(one.file_environment(), "orders");
    assert_eq!(one.stack_names(), eu.stack_names());
    assert_eq!(
        one.stack_set_of(&one.data_stack_name()).as_deref(),
        Some("qfleet-orders-data")
    );
    assert_eq!(
        crate::render::ResourceNames::of(&one).queue,
        crate::render::ResourceNames::of(eu).queue
    );
    let t = one.target.as_ref().unwrap();
    assert_eq!(t.account.as_deref(), Some(EU));
    assert_eq!(
        t.role_arn.as_deref(),
        Some(format!("arn:aws:iam::{EU}:role/qfleet-reader").as_str())
    );
    assert_eq!(t.organizational_unit.as_deref(), Some("ou-ab12-0ldun1t0"));
    assert_eq!(one.spec.accounts.as_deref(), Some(&[EU.to_string()][..]));
}

#[test]
fn an_account_of_a_unit_is_picked_by_name_at_account_and_a_path_never_is() {
    assert_eq!(
        account_pick("orders-eu@111122223333"),
        Some(("orders-eu", "111122223333"))
    );
    for not in [
        "orders-eu",
        "orders-eu@",
        "@111122223333",
        "orders-eu@1234",
        "orders-eu@all",
        "ci/job@2/orders.yaml",
        "job@111122223333/orders.yaml",
        "orders.yaml@111122223333",
    ] {
        assert_eq!(account_pick(not), None, "{not}");
    }
}
