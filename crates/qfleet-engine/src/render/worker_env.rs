//! The environment variables a stage's workers get, read from its rendered fleet template as
//! CloudFormation fills them in: an instance's `/etc/qfleet/worker.env` (in the launch
//! template's user data), a task's container `Environment`, a function's `Variables`.
//! Pseudo parameters are filled in for the Region and the account given; `${AWS::StackName}`
//! is the stage's fleet stack; the data stack's export is its name.

use super::{RenderedStack, ids, long_form};
use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// The heredoc of the user data that writes the workers' variables
/// (templates/user-data.sh.j2).
const ENV_FILE_START: &str = "cat > /etc/qfleet/worker.env <<'QFLEET_ENV'\n";
const ENV_FILE_END: &str = "\nQFLEET_ENV\n";

/// The variables `stage`'s workers get, in `account`, from its fleet stack `fleet` (of the
/// environment `env`).
pub fn variables(
    env: &Environment,
    stage: &Environment,
    fleet: &RenderedStack,
    account: &str,
) -> Result<BTreeMap<String, String>> {
    let (t, fill) = filled(env, stage, fleet, account)?;
    let resources = &t["Resources"];
    let value = |v: &Value| resolve(v, &fill, env).map_err(|e| unreadable(stage, &e));
    let mut out = BTreeMap::new();
    match stage.spec.workers.kind {
        WorkerKind::Ec2 => {
            let text = value(user_data_of(resources))?;
            let start = text
                .find(ENV_FILE_START)
                .ok_or_else(|| unreadable(stage, "the user data writes no worker.env"))?;
            let body = &text[start + ENV_FILE_START.len()..];
            let end = body
                .find(ENV_FILE_END)
                .ok_or_else(|| unreadable(stage, "the worker.env heredoc does not end"))?;
            for line in body[..end].lines() {
                if let Some((k, v)) = line.split_once('=') {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        WorkerKind::Fargate | WorkerKind::EcsManaged => {
            let task = resources
                .as_object()
                .and_then(|r| r.values().find(|r| r["Type"] == "AWS::ECS::TaskDefinition"))
                .ok_or_else(|| unreadable(stage, "no task definition"))?;
            let env_list = &task["Properties"]["ContainerDefinitions"][0]["Environment"];
            for e in env_list.as_array().into_iter().flatten() {
                let name = e["Name"].as_str().unwrap_or_default().to_string();
                out.insert(name, value(&e["Value"])?);
            }
        }
        WorkerKind::Lambda => {
            let f = ids::FUNCTIONS
                .iter()
                .map(|id| &resources[*id])
                .find(|f| !f.is_null())
                .ok_or_else(|| unreadable(stage, "no function"))?;
            let vars = &f["Properties"]["Environment"]["Variables"];
            for (k, v) in vars.as_object().into_iter().flatten() {
                out.insert(k.clone(), value(v)?);
            }
        }
    }
    Ok(out)
}

/// The launch template's user data in a fleet template (long form).
fn user_data_of(resources: &Value) -> &Value {
    &resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
}

/// The whole user data of `stage`'s instances, as CloudFormation fills it in: what the tests
/// read the bootstrap's steps from.
#[cfg(any(test, feature = "test-util"))]
pub fn user_data(
    env: &Environment,
    stage: &Environment,
    fleet: &RenderedStack,
    account: &str,
) -> Result<String> {
    let (t, fill) = filled(env, stage, fleet, account)?;
    resolve(user_data_of(&t["Resources"]), &fill, env).map_err(|e| unreadable(stage, &e))
}

/// The fleet template in long form, and what fills in its pseudo parameters: the Region and
/// partition of `stage`, the account given, the fleet stack's name, the data stack's.
#[allow(clippy::type_complexity)]
fn filled(
    env: &Environment,
    stage: &Environment,
    fleet: &RenderedStack,
    account: &str,
) -> Result<(Value, Box<dyn Fn(&str) -> Option<String>>)> {
    let t = long_form(&fleet.template).map_err(|e| unreadable(stage, &e))?;
    let region = stage.spec.region.clone();
    let partition = crate::config::partition(&region)
        .unwrap_or("aws")
        .to_string();
    let (account, stack, data) = (
        account.to_string(),
        fleet.stack_name.clone(),
        env.data_stack_name(),
    );
    let fill = move |name: &str| -> Option<String> {
        Some(match name {
            "AWS::Region" => region.clone(),
            "AWS::AccountId" => account.clone(),
            "AWS::Partition" => partition.clone(),
            "AWS::URLSuffix" => match partition.as_str() {
                "aws-cn" => "amazonaws.com.cn".to_string(),
                _ => "amazonaws.com".to_string(),
            },
            "AWS::StackName" => stack.clone(),
            "QfleetDataStack" => data.clone(),
            _ => return None,
        })
    };
    Ok((t, Box::new(fill)))
}

fn unreadable(stage: &Environment, why: &str) -> Error {
    Error::internal(format!(
        "{}: the workers' variables could not be read from the rendered fleet template: {why}",
        stage.name
    ))
}

/// A value as CloudFormation gives it: text, or `Ref` to a pseudo parameter, `Fn::Sub`
/// (with its own variables), `Fn::ImportValue` of the data stack's export, `Fn::Base64`.
fn resolve(
    v: &Value,
    fill: &dyn Fn(&str) -> Option<String>,
    env: &Environment,
) -> std::result::Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Object(o) => {
            let (k, arg) = match (o.len(), o.iter().next()) {
                (1, Some(one)) => one,
                _ => return Err(format!("{v} is not one function")),
            };
            match k.as_str() {
                "Ref" => arg
                    .as_str()
                    .and_then(fill)
                    .ok_or_else(|| format!("Ref {arg} is not a value qfleet knows")),
                "Fn::Base64" => resolve(arg, fill, env),
                "Fn::ImportValue" => Ok(env.data_stack_name()),
                "Fn::Sub" => {
                    let (text, vars) = match arg {
                        Value::String(s) => (s.as_str(), None),
                        Value::Array(a) => match a.first().and_then(Value::as_str) {
                            Some(text) => (text, a.get(1)),
                            None => return Err("a Fn::Sub pair without its text".into()),
                        },
                        _ => return Err("a Fn::Sub that is neither text nor a pair".into()),
                    };
                    let mut own = BTreeMap::new();
                    for (name, value) in vars.and_then(Value::as_object).into_iter().flatten() {
                        own.insert(name.clone(), resolve(value, fill, env)?);
                    }
                    super::check::sub(text, |name| own.get(name).cloned().or_else(|| fill(name)))
                }
                other => Err(format!("{other} is not a function qfleet fills in")),
            }
        }
        other => Err(format!("{other} is not a value qfleet fills in")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(yaml: &str) -> Environment {
        crate::config::parse(std::path::PathBuf::from("stacks/we.yaml"), yaml.to_string())
            .unwrap()
            .into_only()
    }

    fn of(yaml: &str, stage: usize) -> BTreeMap<String, String> {
        let e = env(yaml);
        let rendered = crate::render::render(&e).unwrap();
        let stages = e.stages();
        let fleet = rendered
            .iter()
            .find(|s| s.stack_name == stages[stage].fleet_stack_name())
            .unwrap();
        variables(&e, stages[stage], fleet, "123456789012").unwrap()
    }

    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/qfleet-we-jobs";

    #[test]
    fn an_instance_gets_its_worker_env_file_filled_in() {
        let v = of(
            "region: eu-west-1\nlab: true\njobs: {}\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n  queue_url_as: [COPILOT_QUEUE_URI]\n  environment:\n    DATABASE_HOST: db.internal\n    PRICE: \"1.50\"\n",
            0,
        );
        assert_eq!(v["COPILOT_QUEUE_URI"], QUEUE);
        assert_eq!(v["QFLEET_QUEUE_URL"], QUEUE);
        assert_eq!(v["QFLEET_BUCKET"], "we-uploads-123456789012-eu-west-1");
        assert_eq!(v["QFLEET_SIGNAL_STACK"], "qfleet-we-fleet");
        assert_eq!(v["QFLEET_JOBS_STACK"], "qfleet-we-data");
        assert_eq!(v["AWS_REGION"], "eu-west-1");
        assert_eq!(v["DATABASE_HOST"], "db.internal");
        assert_eq!(v["PRICE"], "1.50");
        assert!(!v.values().any(|x| x.contains("${")), "{v:?}");
    }

    /// A GPU worker run on a laptop (`qfleet dev`) is told how many GPUs the fleet's have.
    #[test]
    fn a_gpu_worker_gets_its_gpu_count_as_an_instance_does() {
        let v = of(
            "region: eu-west-1\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 1}\n",
            0,
        );
        assert_eq!(v.get("QFLEET_GPUS").map(String::as_str), Some("1"));
        assert!(!of("region: eu-west-1\n", 0).contains_key("QFLEET_GPUS"));
    }

    #[test]
    fn a_task_and_a_function_get_their_variables_filled_in() {
        let task = of(
            "region: eu-west-1\nlab: true\njobs: {}\nworkers:\n  kind: fargate\n  image: public.ecr.aws/org/worker:1\n  min: 1\n  max: 2\n  public_ip: true\n  queue_url_as: [COPILOT_QUEUE_URI]\n  environment:\n    MODE: fast\n",
            0,
        );
        assert_eq!(task["COPILOT_QUEUE_URI"], QUEUE);
        assert_eq!(task["QFLEET_QUEUE_URL"], QUEUE);
        assert_eq!(task["QFLEET_JOBS_STACK"], "qfleet-we-data");
        assert_eq!(task["MODE"], "fast");
        assert_eq!(task["AWS_REGION"], "eu-west-1");
        let function = of(
            "region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  environment:\n    MODE: fast\n",
            0,
        );
        assert_eq!(function["MODE"], "fast");
        assert!(
            function.contains_key("QFLEET_BUCKET") || function.contains_key("QFLEET_ENVIRONMENT"),
            "{function:?}"
        );
        assert!(!function.values().any(|x| x.contains("${")), "{function:?}");
    }

    #[test]
    fn each_stage_gets_its_own_queue_prefixes_and_stack() {
        let yaml = "region: eu-west-1\nlab: true\nstages:\n  - name: split\n    workers:\n      min: 1\n      max: 2\n      public_ip: true\n  - name: encode\n    workers:\n      min: 1\n      max: 2\n      public_ip: true\n";
        let first = of(yaml, 0);
        let second = of(yaml, 1);
        assert_eq!(first["QFLEET_STAGE"], "split");
        assert_eq!(second["QFLEET_STAGE"], "encode");
        // The first stage writes where the second reads.
        assert_eq!(
            first["QFLEET_PROCESSED_PREFIX"],
            second["QFLEET_UPLOAD_PREFIX"]
        );
        assert_ne!(first["QFLEET_QUEUE_URL"], second["QFLEET_QUEUE_URL"]);
        assert_ne!(first["QFLEET_SIGNAL_STACK"], second["QFLEET_SIGNAL_STACK"]);
    }

    #[test]
    fn a_value_that_is_not_one_function_is_an_error_not_a_panic() {
        let e = env("region: eu-west-1\nlab: true\nworkers:\n  public_ip: true\n");
        let none = |_: &str| None;
        for v in [
            serde_json::json!({"Fn::Sub": []}),
            serde_json::json!({}),
            serde_json::json!({"Ref": "AWS::Region", "Fn::Sub": "x"}),
        ] {
            assert!(resolve(&v, &none, &e).is_err(), "{v}");
        }
    }
}
