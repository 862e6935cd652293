//! `queue.retry` as each kind's workers get it: the three variables the worker and the
//! handler read (QFLEET_RETRY_BACKOFF, _MAX_DELAY, _JITTER), none without it (the kinds'
//! old waits), and on Lambda the queue's URL and the one grant the handler's wait needs.

use super::*;
use serde_yaml_ng::Value;

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer:1.4.2";

fn variables(yaml: &str) -> (BTreeMap<String, String>, Value) {
    let env = from_str(yaml);
    let stacks = render(&env).unwrap();
    let fleet = stacks.iter().find(|s| s.role == StackRole::Fleet).unwrap();
    let vars = worker_variables(&env, &env, fleet, "123456789012").unwrap();
    (vars, serde_yaml_ng::from_str(&fleet.template).unwrap())
}

fn kinds() -> [(&'static str, String); 3] {
    [
        ("ec2", String::new()),
        (
            "fargate",
            format!("workers:\n  kind: fargate\n  image: {IMAGE}\n"),
        ),
        ("lambda", "workers:\n  kind: lambda\n".into()),
    ]
}

#[test]
fn every_kind_gets_the_waits_of_queue_retry_and_none_without_it() {
    for (kind, workers) in kinds() {
        let (vars, _) = variables(&format!(
            "region: eu-west-1\nlab: true\nqueue:\n  visibility_timeout: 2m\n  retry: {{backoff: 30s, max_delay: 10m, jitter: full}}\n{workers}"
        ));
        let retry: Vec<(&str, &str)> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("QFLEET_RETRY_"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            retry,
            [
                ("QFLEET_RETRY_BACKOFF", "30"),
                ("QFLEET_RETRY_JITTER", "full"),
                ("QFLEET_RETRY_MAX_DELAY", "600"),
            ],
            "{kind}"
        );
        let (vars, _) = variables(&format!("region: eu-west-1\nlab: true\n{workers}"));
        assert!(
            !vars.keys().any(|k| k.starts_with("QFLEET_RETRY_")),
            "{kind}: {vars:?}"
        );
    }
}

/// `queue.tenant` as each kind's workers get it: QFLEET_TENANT, the rule the worker and the
/// handler read (`tenant_rule` in qfleet_shared.py), and none without it.
#[test]
fn every_kind_gets_the_tenant_rule_of_queue_tenant_and_none_without_it() {
    for (kind, workers) in kinds() {
        for (tenant, rule) in [
            (
                "jobs: {}\nqueue:\n  tenant: {key_segment: 2}\n",
                "key_segment:2",
            ),
            (
                "queue:\n  tenant: {json: customer.id}\nsources:\n  messages: {}\n",
                "json:customer.id",
            ),
        ] {
            let (vars, _) = variables(&format!("region: eu-west-1\nlab: true\n{tenant}{workers}"));
            assert_eq!(
                vars.get("QFLEET_TENANT").map(String::as_str),
                Some(rule),
                "{kind}"
            );
        }
        let (vars, _) = variables(&format!("region: eu-west-1\nlab: true\n{workers}"));
        assert!(!vars.contains_key("QFLEET_TENANT"), "{kind}");
    }
}

/// The handler hides a failed message itself (ChangeMessageVisibility on its own queue): the
/// function's role may, only with queue.retry, and on that queue alone.
#[test]
fn a_function_may_change_its_queues_visibility_only_with_queue_retry() {
    fn statements<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Mapping(m) => {
                if let Some(Value::Sequence(l)) = m.get("Statement") {
                    out.extend(l.iter());
                }
                m.values().for_each(|x| statements(x, out));
            }
            Value::Sequence(l) => l.iter().for_each(|x| statements(x, out)),
            _ => {}
        }
    }
    let grants = |doc: &Value| -> Vec<String> {
        let mut all = Vec::new();
        statements(&doc["Resources"], &mut all);
        all.into_iter()
            .filter(|s| {
                let a = &s["Action"];
                a.as_str() == Some("sqs:ChangeMessageVisibility")
                    || a.as_sequence().is_some_and(|l| {
                        l.iter()
                            .any(|x| x.as_str() == Some("sqs:ChangeMessageVisibility"))
                    })
            })
            .map(|s| format!("{:?}", s["Resource"]))
            .collect()
    };
    let (vars, doc) = variables("region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n");
    assert_eq!(grants(&doc), Vec::<String>::new());
    assert!(!vars.contains_key("QFLEET_QUEUE_URL"), "{vars:?}");
}

/// `workers.job_timeout`: the workers of EC2 and Fargate get QFLEET_JOB_TIMEOUT (seconds);
/// none without it.
#[test]
fn instances_and_tasks_get_their_job_timeout() {
    for (kind, workers) in &kinds()[..2] {
        let (vars, _) = variables(&format!(
            "region: eu-west-1\nlab: true\n{}  job_timeout: 10m\n",
            if workers.is_empty() {
                "workers:\n".to_string()
            } else {
                workers.clone()
            }
        ));
        assert_eq!(
            vars.get("QFLEET_JOB_TIMEOUT").map(String::as_str),
            Some("600"),
            "{kind}"
        );
        let (vars, _) = variables(&format!("region: eu-west-1\nlab: true\n{workers}"));
        assert!(!vars.contains_key("QFLEET_JOB_TIMEOUT"), "{kind}");
    }
}
