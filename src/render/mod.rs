//! The templates of the offline engine (crates/qfleet-engine) as the rest of qfleet uses
//! them, and `qfleet render`'s errors. The command's document, with each environment's
//! folder and the stack sets' templates, is placement's (`src/placement/rendered.rs`).

pub(crate) mod errors;
pub(crate) use qfleet_engine::render::*;

#[cfg(test)]
mod tests {
    use crate::config::{self, Environment};
    use serde_yaml_ng::Value;
    use std::path::PathBuf;

    fn from_str(yaml: &str) -> Environment {
        config::parse(PathBuf::from("stacks/t.yaml"), yaml.to_string())
            .unwrap()
            .into_only()
    }

    fn docs(env: &Environment) -> Vec<Value> {
        super::render(env)
            .unwrap()
            .iter()
            .map(|s| serde_yaml_ng::from_str::<Value>(&s.template).unwrap())
            .collect()
    }

    fn resource<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["Resources"][name]["Properties"]
    }

    /// Issue 85: in a pipeline every command an alarm's description prints runs as printed: it
    /// splits as a shell splits it and parses, and each that takes a stage names the alarm's own,
    /// the first stage's too (`qfleet dlq ENV redrive` of a pipeline is refused without one).
    /// The no-worker alarm points at why no worker runs, never at failures to filter (none run).
    #[test]
    fn every_alarms_commands_parse_and_name_their_stage_in_a_pipeline_by_render() {
        use crate::cli::Command;
        let env = from_str(
            "region: eu-west-1\nalerts: {email: ops@example.com}\njobs: {}\nstages:\n  - name: split\n    scaling: {max_latency_seconds: 60, seconds_per_message: 1}\n  - name: encode\n    workers: {kind: lambda}\n",
        );
        let data = &docs(&env)[0];
        let mut checked = 0;
        for (id, r) in data["Resources"].as_mapping().unwrap() {
            if r["Type"] != "AWS::CloudWatch::Alarm" {
                continue;
            }
            let id = id.as_str().unwrap();
            let d = r["Properties"]["AlarmDescription"].as_str().unwrap();
            if !d.contains(" Next: ") {
                continue;
            }
            // The stage an alarm is about: a later stage's resources start with its id.
            let stage = if id.starts_with("StageEncode") {
                "encode"
            } else {
                "split"
            };
            for cli in crate::cli::printed::parse_all(d) {
                let named = match &cli.command {
                    Command::Dlq(a) => Some(a.stage.as_deref()),
                    Command::Logs(a) => Some(a.stage.as_deref()),
                    _ => None,
                };
                if let Some(named) = named {
                    assert_eq!(named, Some(stage), "{id}: {d}");
                    // The stage it names is one of the environment's, and one stage alone.
                    assert_eq!(
                        crate::session::chosen_stages(&env, named).unwrap().len(),
                        1,
                        "{id}: {d}"
                    );
                }
                checked += 1;
            }
            if id.ends_with("NoWorkerAlarm") {
                assert!(d.contains("`qfleet status t --details`"), "{id}: {d}");
                assert!(!d.contains("outcome=failed"), "{id}: {d}");
            }
        }
        assert!(checked >= 10, "{checked} commands");
        let first = resource(data, "DeadLetterQueueNotEmptyAlarm")["AlarmDescription"]
            .as_str()
            .unwrap();
        assert!(
            first.contains("`qfleet dlq t --stage split redrive`"),
            "{first}"
        );
    }
}
