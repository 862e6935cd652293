//! `limits` and `workers.limits` as the workers get them: QFLEET_LIMITS with this stage's
//! limits only, the slot's attributes on the lease table and a query of exactly their keys;
//! none of it for a stage that names no limit.

use super::*;
use serde_yaml_ng::Value;

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer:1.4.2";

/// The worker policy's statements of each fleet stack, and each stage's variables.
fn stages(yaml: &str) -> Vec<(BTreeMap<String, String>, Vec<Value>)> {
    let env = from_str(yaml);
    let stacks = render(&env).unwrap();
    env.stages()
        .into_iter()
        .zip(stacks.iter().filter(|s| s.role == StackRole::Fleet))
        .map(|(stage, fleet)| {
            let vars = worker_variables(&env, stage, fleet, "123456789012").unwrap();
            let doc: Value = serde_yaml_ng::from_str(&fleet.template).unwrap();
            let statements = resource(&doc, "WorkerPolicy")["PolicyDocument"]["Statement"]
                .as_sequence()
                .unwrap()
                .clone();
            (vars, statements)
        })
        .collect()
}

fn sid<'a>(statements: &'a [Value], sid: &str) -> Option<&'a Value> {
    statements.iter().find(|s| s["Sid"].as_str() == Some(sid))
}

#[test]
fn each_stage_gets_the_limits_it_names_and_may_query_their_slots_alone() {
    let got = stages(&format!(
        "region: eu-west-1\nlab: true\njobs: {{}}\nlimits: {{db: 6, cache: 3, other: 2}}\nstages:\n  - name: load\n    workers: {{limits: [db, cache], max: 2}}\n  - name: index\n    workers: {{kind: fargate, image: {IMAGE}, limits: [db], max: 2}}\n  - name: other\n    workers: {{limits: [other], max: 2}}\n  - name: last\n    workers: {{max: 2}}\n"
    ));
    let expect = [
        Some((
            "db=6,cache=3",
            vec!["qfleet-limit/db", "qfleet-limit/cache"],
        )),
        Some(("db=6", vec!["qfleet-limit/db"])),
        Some(("other=2", vec!["qfleet-limit/other"])),
        None,
    ];
    for (i, ((vars, statements), want)) in got.iter().zip(expect).enumerate() {
        let holds = sid(statements, "HoldJobLeases").unwrap();
        let attributes: Vec<&str> =
            holds["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
        match want {
            Some((limits, keys)) => {
                assert_eq!(
                    vars.get("QFLEET_LIMITS").map(String::as_str),
                    Some(limits),
                    "{i}"
                );
                let query = sid(statements, "CountLimitSlots").unwrap();
                assert_eq!(query["Action"].as_str(), Some("dynamodb:Query"), "{i}");
                let leading: Vec<&str> =
                    query["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap())
                        .collect();
                assert_eq!(leading, keys, "{i}");
                for a in qfleet_runtime::job_table::SLOT_ATTRIBUTES {
                    assert!(attributes.contains(&a), "{i}: {a}");
                }
            }
            None => {
                assert!(!vars.contains_key("QFLEET_LIMITS"), "{i}");
                assert!(sid(statements, "CountLimitSlots").is_none(), "{i}");
                assert_eq!(
                    attributes,
                    qfleet_runtime::job_table::LEASE_ATTRIBUTES,
                    "{i}"
                );
            }
        }
    }
}
