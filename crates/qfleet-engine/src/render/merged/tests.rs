use super::*;
use crate::config;

fn file(rel: &str) -> config::LoadedFile {
    let p = crate::config::workspace_root().join(rel);
    config::load(&p).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn place(env: &config::Environment) -> Place {
    Place::of(env)
}

#[test]
fn every_target_reads_its_own_template_back_from_the_stack_sets() {
    let f = file("examples/stack-sets.yaml");
    let sets = crate::render::stack_sets_of(&f).unwrap();
    assert_eq!(
        sets.iter()
            .map(|s| s.stack_name.as_str())
            .collect::<Vec<_>>(),
        ["qfleet-fleetsets-data", "qfleet-fleetsets-fleet"]
    );
    for (n, set) in sets.iter().enumerate() {
        let merged: Value = serde_json::from_str(&set.template).unwrap();
        assert!(set.template.len() <= MAX_TEMPLATE_BODY);
        for t in &f.targets {
            let p = place(t);
            let own = long_form(&crate::render::render(t).unwrap()[n].template).unwrap();
            let own = normalized(own, "fleetsets", &t.name);
            let back = instantiate(&merged, &p.region, &p.account);
            assert!(same(&back, &own), "{} {}", set.stack_name, t.name);
        }
        // Another target's template is not what this one reads.
        let (a, b) = (place(&f.targets[0]), place(&f.targets[1]));
        assert_ne!(
            instantiate(&merged, &a.region, &a.account),
            instantiate(&merged, &b.region, &b.account)
        );
    }
}

#[test]
fn the_environment_name_in_a_sub_becomes_a_variable_and_other_values_mappings() {
    let f = file("examples/stack-sets.yaml");
    let sets = crate::render::stack_sets_of(&f).unwrap();
    let data: Value = serde_json::from_str(&sets[0].template).unwrap();
    let names = &data["Mappings"][ENVIRONMENT_MAP];
    assert_eq!(names["eu-west-1"]["111122223333"], "fleetsets-eu1");
    assert_eq!(names["us-east-1"]["111122223333"], "fleetsets-us1");
    assert_eq!(names["eu-west-1"]["444455556666"], "fleetsets-eu2");
    // No target's name is left in the resources: each is a lookup or a Sub's variable.
    let resources = data["Resources"].to_string();
    assert!(!resources.contains("fleetsets-eu1"), "{resources}");
    assert!(resources.contains("${QfleetEnvironment}"));
    assert_eq!(data["Metadata"]["qfleet"]["environment"], "fleetsets");
    // The key of each target, in a mapping looked up by the instance's region and account.
    let queue = &data["Resources"]["Queue"]["Properties"]["KmsMasterKeyId"];
    let map = queue["Fn::FindInMap"][0].as_str().unwrap();
    assert!(map.starts_with(VALUE_MAP));
    assert_eq!(queue["Fn::FindInMap"][1], json!({"Ref": "AWS::Region"}));
    assert_eq!(queue["Fn::FindInMap"][2], json!({"Ref": "AWS::AccountId"}));
    assert!(
        data["Mappings"][map]["us-east-1"]["111122223333"]
            .as_str()
            .unwrap()
            .contains(":us-east-1:111122223333:key/2234")
    );
    // What is alike everywhere stays literal.
    assert_eq!(
        data["Resources"]["Queue"]["Properties"]["VisibilityTimeout"],
        120
    );
}

/// A stack set is created and updated with one value per parameter for all its instances
/// (qfleet sends the template's fingerprint alone): every other parameter of its template has
/// a default, and each target's network and AMI id are values of the template, looked up by
/// the instance's account and region. Checked on the example, on its workers as Fargate tasks,
/// and with an AMI id per region.
#[test]
fn a_stack_sets_template_needs_no_parameter_but_its_fingerprint_and_holds_each_targets_network() {
    let example =
        std::fs::read_to_string(crate::config::workspace_root().join("examples/stack-sets.yaml"))
            .unwrap();
    let ssm = "  ami: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64\n";
    let per_region = example
        .replace(ssm, "  ami: ami-0123456789abcdef0\n")
        .replace(
            "      max: 30\n",
            "      max: 30\n      ami: ami-0fedcba9876543210\n",
        );
    let fargate = example.replace(
        ssm,
        "  kind: fargate\n  image: public.ecr.aws/docker/library/busybox:1\n",
    );
    let fargate = fargate.replace("  instance_type: m7g.large\n", "");
    for (what, text) in [
        ("example", &example),
        ("per-region AMI", &per_region),
        ("fargate", &fargate),
    ] {
        assert!(
            what == "example" || *text != example,
            "{what}: the example changed"
        );
        let f = config::parse(
            std::path::PathBuf::from("stacks/fleetsets.yaml"),
            text.clone(),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let sets = crate::render::stack_sets_of(&f).unwrap();
        for set in &sets {
            let template: Value = serde_json::from_str(&set.template).unwrap();
            for (name, p) in template["Parameters"].as_object().unwrap() {
                assert!(
                    name == crate::render::fingerprint::FINGERPRINT_PARAMETER
                        || p.get("Default").is_some(),
                    "{what}: {}'s parameter {name} has no default: {p}",
                    set.stack_name
                );
            }
        }
        let fleet: Value = serde_json::from_str(&sets[1].template).unwrap();
        for t in &f.targets {
            let p = place(t);
            let own = instantiate(&fleet, &p.region, &p.account).to_string();
            let crate::config::Network::Explicit(net) = &t.spec.workers.network else {
                panic!("{what}: the example names every target's network");
            };
            assert!(
                own.contains(&format!("\"{}\"", net.vpc)),
                "{what} {}",
                t.name
            );
            let subnets: Vec<&str> = net.subnets.values().map(String::as_str).collect();
            assert!(own.contains(&subnets.join(",")), "{what} {}", t.name);
            if what == "per-region AMI" {
                assert!(
                    own.contains(&format!("\"{}\"", t.spec.workers.ami)),
                    "{what} {}",
                    t.name
                );
            }
        }
    }
}

fn places() -> Vec<Place> {
    vec![
        Place {
            environment: "o-a".into(),
            account: "111111111111".into(),
            region: "eu-west-1".into(),
            unit: None,
        },
        Place {
            environment: "o-b".into(),
            account: "222222222222".into(),
            region: "us-east-1".into(),
            unit: None,
        },
    ]
}

fn merged(a: Value, b: Value) -> Result<Value, Unmergeable> {
    merge_template(&places(), &[a, b], "qfleet-o-data")
}

#[test]
fn a_resource_only_some_targets_have_is_refused_by_name() {
    let a = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}});
    let b =
        json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "R": {"Type": "AWS::SQS::Queue"}}});
    let e = merged(a, b).unwrap_err();
    assert!(
        e.0.contains("Resources has different keys between targets (o-a lacks R)"),
        "{e}"
    );
}

/// A refusal names the targets by their value there, and the setting behind the place when
/// qfleet knows it: one target's `workers.min` in the group's creation policy.
#[test]
fn a_value_where_no_function_is_taken_names_the_differing_targets_and_the_setting() {
    let example =
        std::fs::read_to_string(crate::config::workspace_root().join("examples/stack-sets.yaml"))
            .unwrap();
    let text = example.replace("      max: 30\n", "      max: 30\n      min: 2\n");
    assert_ne!(text, example);
    let f = config::parse(std::path::PathBuf::from("stacks/fleetsets.yaml"), text).unwrap();
    let e = crate::render::stack_sets_of(&f).unwrap_err().to_string();
    assert!(
        e.contains("Resources.WorkerGroup.CreationPolicy.ResourceSignal.Count differs where CloudFormation takes no function between targets (fleetsets-eu1, fleetsets-eu2 have 1; fleetsets-us1 has 2)"),
        "{e}"
    );
    assert!(e.contains("the same workers.min"), "{e}");
    // One target without a creation policy (min 0): the keys it lacks, and the same setting.
    let text = example.replace("      max: 30\n", "      max: 30\n      min: 0\n");
    let text = text.replace("\nscaling:\n", "\nscaling:\n  scale_from_zero: true\n");
    let f = config::parse(std::path::PathBuf::from("stacks/fleetsets.yaml"), text)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = crate::render::stack_sets_of(&f).unwrap_err().to_string();
    assert!(
        e.contains("Resources.WorkerGroup has different keys between targets (fleetsets-us1 lacks CreationPolicy)"),
        "{e}"
    );
    assert!(e.contains("the same workers.min"), "{e}");
}

#[test]
fn a_list_of_objects_of_another_length_is_refused_and_a_list_of_values_is_mapped() {
    let res = |types: Value, subnets: Value| {
        json!({"Resources": {"G": {"Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {"Overrides": types, "VPCZoneIdentifier": subnets}}}})
    };
    let one = json!([{"InstanceType": "m7g.large"}]);
    let two = json!([{"InstanceType": "m7g.large"}, {"InstanceType": "m6g.large"}]);
    let e = merged(res(one.clone(), json!(["s-1"])), res(two, json!(["s-1"]))).unwrap_err();
    assert!(
        e.0.contains("Resources.G.Properties.Overrides differs in shape"),
        "{e}"
    );
    let m = merged(
        res(one.clone(), json!(["s-1", "s-2"])),
        res(one, json!(["s-3"])),
    )
    .unwrap();
    let subnets = &m["Resources"]["G"]["Properties"]["VPCZoneIdentifier"];
    let map = subnets["Fn::FindInMap"][0].as_str().unwrap();
    assert_eq!(
        m["Mappings"][map]["eu-west-1"]["111111111111"],
        json!(["s-1", "s-2"])
    );
    assert_eq!(
        m["Mappings"][map]["us-east-1"]["222222222222"],
        json!(["s-3"])
    );
}

#[test]
fn values_that_take_no_function_are_refused_where_they_differ() {
    // A resource's type, a reference's target, a Sub beyond the environment's name.
    let e = merged(
        json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
        json!({"Resources": {"Q": {"Type": "AWS::SNS::Topic"}}}),
    )
    .unwrap_err();
    assert!(
        e.0.contains("Resources.Q.Type differs where CloudFormation takes no function"),
        "{e}"
    );
    let e = merged(
        json!({"Resources": {"Q": {"Type": "T", "Properties": {"A": {"Ref": "X"}}}}}),
        json!({"Resources": {"Q": {"Type": "T", "Properties": {"A": {"Ref": "Y"}}}}}),
    )
    .unwrap_err();
    assert!(e.0.contains("names a different resource"), "{e}");
    let e = merged(
        json!({"Resources": {"Q": {"Type": "T", "Properties": {"A": {"Fn::Sub": "o-a-x-${AWS::Region}"}}}}}),
        json!({"Resources": {"Q": {"Type": "T", "Properties": {"A": {"Fn::Sub": "o-b-y-${AWS::Region}"}}}}}),
    )
    .unwrap_err();
    assert!(e.0.contains("by more than the environment's name"), "{e}");
}

#[test]
fn numbers_and_booleans_are_mapped_as_strings_and_read_back_alike() {
    let m = merged(
        json!({"Resources": {"G": {"Type": "T", "Properties": {"Max": 10, "On": true}}}}),
        json!({"Resources": {"G": {"Type": "T", "Properties": {"Max": 30, "On": false}}}}),
    )
    .unwrap();
    let max = m["Resources"]["G"]["Properties"]["Max"]["Fn::FindInMap"][0]
        .as_str()
        .unwrap();
    assert_eq!(m["Mappings"][max]["us-east-1"]["222222222222"], "30");
    // Equal values share one mapping.
    let m = merged(
        json!({"Resources": {"G": {"Type": "T", "Properties": {"A": "x", "B": "x"}}}}),
        json!({"Resources": {"G": {"Type": "T", "Properties": {"A": "y", "B": "y"}}}}),
    )
    .unwrap();
    assert_eq!(m["Mappings"].as_object().unwrap().len(), 1);
}

#[test]
fn short_forms_read_as_their_long_forms() {
    let doc =
        long_form("A: !Ref X\nB: !GetAtt Q.Arn\nC: !Sub 'a-${AWS::Region}'\nD: !If [c, 1, 2]\n")
            .unwrap();
    assert_eq!(
        doc,
        json!({"A": {"Ref": "X"}, "B": {"Fn::GetAtt": ["Q", "Arn"]},
               "C": {"Fn::Sub": "a-${AWS::Region}"}, "D": {"Fn::If": ["c", 1, 2]}})
    );
    assert!(long_form("A: !Bogus x\n").unwrap_err().contains("!Bogus"));
}

#[test]
fn a_target_with_a_shape_of_its_own_names_the_file_and_the_way_out() {
    let f = file("examples/multi-account.yaml");
    // us1 there has two instance types, the others one: not one template.
    let e = crate::render::stack_sets_of(&f).unwrap_err().to_string();
    assert!(e.contains("multi-account.yaml"), "{e}");
    assert!(e.contains("rollout.mode: direct"), "{e}");
}

/// Targets are grouped by their whole value, which is shown cut at 100 characters: two long
/// values alike for longer than that are still two groups.
#[test]
fn values_alike_beyond_what_is_shown_are_still_told_apart() {
    let long = "x".repeat(150);
    let (a, b) = (json!(format!("{long}a")), json!(format!("{long}b")));
    let said = by_value(&places(), &[&a, &b]);
    assert!(said.starts_with("o-a has \"xxx"), "{said}");
    assert!(said.contains("…; o-b has \"xxx"), "{said}");
    let same = by_value(&places(), &[&a, &a]);
    assert!(same.starts_with("o-a, o-b have "), "{same}");
}

/// Targets that each stand for a whole unit (`rollout.auto_deployment`): every lookup is by
/// the instance's region and the literal key `EveryAccount`, so that any account of the unit,
/// one that joins it later too, reads its target's own template.
#[test]
fn whole_units_key_their_values_by_region_alone_and_any_account_reads_its_targets_template() {
    let f = file("examples/org-units.yaml");
    let sets = crate::render::stack_sets_of(&f).unwrap();
    for (n, set) in sets.iter().enumerate() {
        let merged: Value = serde_json::from_str(&set.template).unwrap();
        let text = merged.to_string();
        assert!(!text.contains("AWS::AccountId\"}]"), "{}", set.stack_name);
        let lookups = text.matches("\"Fn::FindInMap\"").count();
        let by_region = text
            .matches(&format!("{{\"Ref\":\"AWS::Region\"}},\"{EVERY_ACCOUNT}\"]"))
            .count();
        assert!(lookups > 0 && lookups == by_region, "{}", set.stack_name);
        for t in &f.targets {
            let p = place(t);
            assert!(p.whole_unit());
            let own = long_form(&crate::render::render(t).unwrap()[n].template).unwrap();
            let own = normalized(own, "orgunits", &t.name);
            for account in ["111122223333", "444455556666", ""] {
                let back = instantiate(&merged, &p.region, account);
                assert!(same(&back, &own), "{} {} {account}", set.stack_name, t.name);
            }
        }
    }
}

/// `jobs:` with StackSets, for each kind of worker: StackSets names a target's data stack
/// (`StackSet-qfleet-FILE-data-…`), so the workers' job-stack setting and their grants on the
/// stack and the table take its name from the data stack's export, never a name a direct
/// deploy would give it; the data stack set exports it under the name they import.
#[test]
fn with_jobs_every_kinds_workers_find_the_data_stack_stacksets_names_through_its_export() {
    let workers = [
        ("ec2", "workers:\n  min: 1\n  max: 4\n"),
        (
            "fargate",
            "workers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n  min: 1\n  max: 4\n",
        ),
        (
            "lambda",
            "workers:\n  kind: lambda\n  lambda:\n    image: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/worker:1\n",
        ),
    ];
    for (kind, w) in workers {
        let network = |region: &str, vpc: &str| match kind {
            "lambda" => String::new(),
            _ => format!(
                "    workers:\n      network: {{vpc: {vpc}, subnets: {{{region}a: subnet-0a1b2c3d4e5f6{}1, {region}b: subnet-0a1b2c3d4e5f6{}2}}}}\n",
                &vpc[vpc.len() - 3..],
                &vpc[vpc.len() - 3..]
            ),
        };
        // A function's image is of its own Region: the second target there too.
        let second = match kind {
            "lambda" => "eu-west-1",
            _ => "us-east-1",
        };
        let yaml = format!(
            "environment: js\nregion: eu-west-1\nlab: true\njobs: {{}}\ndeploy_role: qfleet-reader\n{w}rollout:\n  mode: stack_sets\n  administration_account: '999999999999'\ntargets:\n  - name: eu\n    account: '111122223333'\n{}  - name: us\n    account: '444455556666'\n    region: {second}\n{}",
            network("eu-west-1", "vpc-0a1b2c3d4e5f60711"),
            network("us-east-1", "vpc-0a1b2c3d4e5f60712")
        );
        let f = config::parse(std::path::PathBuf::from("stacks/js.yaml"), yaml)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let sets = crate::render::stack_sets_of(&f).unwrap();
        let data: Value = serde_json::from_str(&sets[0].template).unwrap();
        assert_eq!(
            data["Outputs"]["DataStackName"]["Export"]["Name"], "qfleet-js-data-stack",
            "{kind}"
        );
        assert_eq!(
            data["Outputs"]["DataStackName"]["Value"],
            json!({"Ref": "AWS::StackName"}),
            "{kind}"
        );
        let fleet = &sets[1].template;
        for t in ["js-eu", "js-us"] {
            assert!(
                !fleet.contains(&format!("qfleet-{t}-data")),
                "{kind}: the fleet names the data stack as a direct deploy would:\n{fleet}"
            );
        }
        let import = json!({"Fn::ImportValue": "qfleet-js-data-stack"});
        let fleet: Value = serde_json::from_str(fleet).unwrap();
        let mut found = Vec::new();
        find(&fleet, &import, "", &mut found);
        // The job-stack setting (or the bootstrap's), the stack grant and the table grant.
        assert!(found.len() >= 3, "{kind}: {found:?}");
    }
}

/// The paths in `v` where `wanted` stands.
fn find(v: &Value, wanted: &Value, at: &str, out: &mut Vec<String>) {
    if v == wanted {
        out.push(at.to_string());
        return;
    }
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| find(x, wanted, &format!("{at}.{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| find(x, wanted, &format!("{at}.{i}"), out)),
        _ => {}
    }
}
