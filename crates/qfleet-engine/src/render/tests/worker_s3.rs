//! The workers' S3 rights: a worker reads and deletes what it takes in and writes only where
//! its output goes. One that could put objects under its own input prefix could create jobs
//! for itself (every object created there becomes a message on its queue).

use super::*;

/// Every action of an Allow statement, and its resources as written (`!Sub` looked through).
fn allow_statements(doc: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let strings = |v: &Value| -> Vec<String> {
        match untagged(v) {
            Value::String(s) => vec![s.clone()],
            Value::Sequence(s) => s
                .iter()
                .filter_map(|x| untagged(x).as_str().map(String::from))
                .collect(),
            _ => vec![],
        }
    };
    let mut out = Vec::new();
    for (id, r) in doc["Resources"].as_mapping().unwrap() {
        let mut documents = Vec::new();
        match r["Type"].as_str() {
            Some("AWS::IAM::ManagedPolicy") | Some("AWS::IAM::Policy") => {
                documents.push(&r["Properties"]["PolicyDocument"])
            }
            Some("AWS::IAM::Role") => {
                if let Some(ps) = r["Properties"]["Policies"].as_sequence() {
                    documents.extend(ps.iter().map(|p| &p["PolicyDocument"]));
                }
            }
            _ => {}
        }
        for d in documents {
            for s in d["Statement"].as_sequence().into_iter().flatten() {
                if s["Effect"].as_str() == Some("Allow") {
                    out.push((
                        format!(
                            "{}/{}",
                            id.as_str().unwrap(),
                            s["Sid"].as_str().unwrap_or("?")
                        ),
                        strings(&s["Action"]),
                        strings(&s["Resource"]),
                    ));
                }
            }
        }
    }
    out
}

/// Whether an IAM action pattern (`s3:Put*`, `*`) matches `action`.
fn matches(pattern: &str, action: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let a = action.to_ascii_lowercase();
    match p.split_once('*') {
        Some((head, tail)) => a.starts_with(head) && a[head.len()..].ends_with(tail),
        None => p == a,
    }
}

/// Checks the fleet template `fleet` whose worker takes in objects under `input` and writes
/// under `output`: no statement allows s3:PutObject on the input (or the whole bucket), and
/// the worker still has what it needs.
fn check(what: &str, fleet: &Value, input: &str, output: &str) {
    let statements = allow_statements(fleet);
    let on = |resources: &[String], prefix: &str| {
        resources.iter().any(|r| {
            // The object key pattern after the bucket: the prefix, or everything.
            let key = r
                .split_once(":::")
                .and_then(|(_, rest)| rest.split_once('/'));
            r == "*" || key.is_some_and(|(_, k)| k == format!("{prefix}*") || k == "*")
        })
    };
    let grants = |action: &str, prefix: &str| {
        statements
            .iter()
            .any(|(_, a, r)| a.iter().any(|p| matches(p, action)) && on(r, prefix))
    };
    for (sid, actions, resources) in &statements {
        if actions.iter().any(|p| matches(p, "s3:PutObject")) {
            assert!(
                !on(resources, input),
                "{what}: {sid} grants s3:PutObject on the input prefix {input}: {resources:?}"
            );
        }
    }
    // Not vacuous: the worker reads and removes its input and writes its output.
    assert!(
        grants("s3:GetObject", input),
        "{what}: no GetObject on {input}"
    );
    assert!(
        grants("s3:DeleteObject", input),
        "{what}: no DeleteObject on {input}"
    );
    assert!(
        grants("s3:PutObject", output),
        "{what}: no PutObject on {output}"
    );
}

#[test]
fn no_worker_policy_grants_put_object_on_its_input_prefix() {
    // One stage of each kind, from the shipped stack files.
    for rel in [
        "stacks/lab.yaml",
        "examples/fargate.yaml",
        "examples/lambda.yaml",
    ] {
        let env = load(rel);
        let (_, fleet) = rendered(&env);
        let b = &env.spec.bucket;
        check(rel, &fleet, &b.upload_prefix, &b.processed_prefix);
    }
    // Pipelines: each stage reads its own input prefix and writes the next one's.
    let env = load("examples/pipeline.yaml");
    let stacks: Vec<Value> = render(&env)
        .unwrap()
        .iter()
        .map(|s| serde_yaml_ng::from_str(&s.template).unwrap())
        .collect();
    assert_eq!(stacks.len(), 3);
    check("pipeline transcode", &stacks[1], "uploads/", "transcoded/");
    check(
        "pipeline thumbnail",
        &stacks[2],
        "transcoded/",
        "processed/",
    );
    for kind in [
        "ec2",
        "fargate\n      image: public.ecr.aws/docker/library/python:3.12",
        "lambda",
    ] {
        let env = from_str(&format!(
            "region: eu-west-1\nlab: true\nstages:\n  - name: a\n  - name: b\n    fed_by: objects\n    prefix: mid/\n    workers:\n      kind: {kind}\n"
        ));
        let stacks: Vec<Value> = render(&env)
            .unwrap()
            .iter()
            .map(|s| serde_yaml_ng::from_str(&s.template).unwrap())
            .collect();
        check(
            &format!("stage a before {kind}"),
            &stacks[1],
            "uploads/",
            "mid/",
        );
        check(
            &format!("stage b, {kind}"),
            &stacks[2],
            "mid/",
            "processed/",
        );
    }
}
