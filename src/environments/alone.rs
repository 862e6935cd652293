//! An environment reached from its stacks alone: no stack file here makes it or made it (its
//! file renamed along with its environment, deleted, or in another checkout), yet
//! `teardown NAME@REGION` and `status NAME@REGION` reach it. Its data stack's marks say it is
//! qfleet's and whose; each fleet stack's resources say its kind of workers. Everything
//! `status` and `teardown` decide is read from AWS ([`crate::snapshot`]); the settings made
//! up here only name what to read.

use super::{Made, Place};
use crate::aws;
use crate::aws::Aws;
use crate::config::Environment;
use crate::error::{Error, Result};

/// The environment `name` at `place` as its stacks say it is; `None` when there is no data
/// stack of that name there, or it does not carry qfleet's mark of that name. Reached with
/// the credentials' own account: a place naming another account is refused (no file names a
/// role to reach it).
pub(crate) async fn from_stacks(
    aws: &Aws,
    name: &str,
    place: &Place,
) -> Result<Option<Environment>> {
    let clients = aws.clients(&place.region).await;
    let Some(data) = aws::describe_stack(&clients.cfn, &format!("qfleet-{name}-data"))
        .await
        .map_err(Error::from)?
    else {
        return Ok(None);
    };
    if let Some(want) = &place.account
        && data.account() != Some(want.as_str())
    {
        return Err(Error::aws(format!(
            "{}: no stack file here names a role to reach account {want}; run this with credentials of that account, as {}",
            place.address(name),
            Place {
                account: None,
                region: place.region.clone()
            }
            .address(name)
        )));
    }
    let names = aws::stack_names(&clients.cfn, &format!("qfleet-{name}-"))
        .await
        .map_err(Error::from)?;
    let Some(made) = Made::of(&data, &names).filter(|m| m.environment == name) else {
        return Ok(None);
    };
    let mut kinds: Vec<(Option<String>, &'static str)> = Vec::new();
    for stack in made.stacks.iter().skip(1) {
        let stage = stack
            .strip_prefix(&format!("qfleet-{name}--"))
            .and_then(|s| s.strip_suffix("-fleet"))
            .map(str::to_string);
        let resources = aws::stack_resources(&clients.cfn, stack)
            .await
            .map_err(Error::from)?
            .unwrap_or_default();
        let types: Vec<&str> = resources
            .values()
            .map(|r| r.resource_type.as_str())
            .collect();
        let Some(kind) = kind_of(&types) else {
            return Err(Error::aws(format!(
                "{}: the resources of stack {stack} do not say which kind of workers it runs; delete it yourself once its data is safe",
                place.address(name)
            )));
        };
        kinds.push((stage, kind));
    }
    let text = stack_file(name, &place.region, made.owner.as_deref(), &kinds);
    let path = std::path::PathBuf::from(format!("{} (its stacks)", place.address(name)));
    let file = crate::config::parse(path, text).map_err(|e| {
        Error::aws(format!(
            "{}: its stacks could not be read as an environment: {e}",
            place.address(name)
        ))
    })?;
    let mut env = file.base;
    if let Some(account) = data.account() {
        env.spec.accounts = Some(vec![account.to_string()]);
        for s in &mut env.pipeline {
            s.spec.accounts.clone_from(&env.spec.accounts);
        }
    }
    Ok(Some(env))
}

/// The kind of workers a fleet stack runs, by its resources' types.
fn kind_of(types: &[&str]) -> Option<&'static str> {
    let has = |t: &str| types.contains(&t);
    match (
        has("AWS::AutoScaling::AutoScalingGroup"),
        has("AWS::Lambda::EventSourceMapping") || has("AWS::Lambda::Function"),
        has("AWS::ECS::Service"),
    ) {
        (true, false, false) => Some("ec2"),
        (false, true, false) => Some("lambda"),
        // A service on Managed Instances comes with its capacity provider.
        (false, false, true) if has("AWS::ECS::CapacityProvider") => Some("ecs_managed"),
        (false, false, true) => Some("fargate"),
        _ => None,
    }
}

/// A stack file of the environment as its stacks say it: its name, Region and owner, and
/// each stage's kind (the first stage's name is not in its stacks' names: `first`, or
/// `stage1` where a later stage is named `first`). A Fargate stage's image only names one:
/// nothing is deployed from this file.
fn stack_file(
    name: &str,
    region: &str,
    owner: Option<&str>,
    kinds: &[(Option<String>, &str)],
) -> String {
    // No stack file asks for anything now, termination protection included: whether its
    // stacks have it is read from them, and a protected one is refused as ever.
    let mut t = format!("environment: {name}\nregion: {region}\ntermination_protection: false\n");
    if let Some(o) = owner {
        t.push_str(&format!("owner: {o}\n"));
    }
    let workers = |kind: &str, indent: &str| {
        let mut w = format!("{indent}workers:\n{indent}  kind: {kind}\n");
        if kind == "fargate" || kind == "ecs_managed" {
            w.push_str(&format!(
                "{indent}  image: public.ecr.aws/docker/library/busybox:latest\n"
            ));
        }
        w
    };
    match kinds {
        [] => t,
        [(None, kind)] => t + &workers(kind, ""),
        _ => {
            let taken = kinds.iter().any(|(s, _)| s.as_deref() == Some("first"));
            t.push_str("stages:\n");
            for (stage, kind) in kinds {
                let stage = stage
                    .clone()
                    .unwrap_or_else(|| if taken { "stage1" } else { "first" }.to_string());
                t.push_str(&format!("  - name: {stage}\n"));
                t.push_str(&workers(kind, "    "));
            }
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_stacks_kind_is_told_by_its_resources() {
        assert_eq!(
            kind_of(&["AWS::IAM::Role", "AWS::AutoScaling::AutoScalingGroup"]),
            Some("ec2")
        );
        assert_eq!(kind_of(&["AWS::Lambda::Function"]), Some("lambda"));
        assert_eq!(kind_of(&["AWS::ECS::Service"]), Some("fargate"));
        assert_eq!(
            kind_of(&["AWS::ECS::Service", "AWS::ECS::CapacityProvider"]),
            Some("ecs_managed")
        );
        // Two kinds at once (a switch half done), or none: not told.
        assert_eq!(
            kind_of(&["AWS::ECS::Service", "AWS::AutoScaling::AutoScalingGroup"]),
            None
        );
        assert_eq!(kind_of(&["AWS::IAM::Role"]), None);
    }

    /// Every shape a data stack and its fleets can have is read as a valid stack file of the
    /// same stacks' names.
    #[test]
    fn the_stacks_alone_make_a_stack_file_of_the_same_names() {
        let cases: Vec<Vec<(Option<String>, &str)>> = vec![
            vec![],
            vec![(None, "ec2")],
            vec![(None, "lambda")],
            vec![(None, "fargate")],
            vec![(None, "ec2"), (Some("thumbs".into()), "lambda")],
            vec![(None, "fargate"), (Some("first".into()), "ec2")],
            vec![(None, "ecs_managed"), (Some("gpu".into()), "fargate")],
        ];
        for kinds in cases {
            let text = stack_file("walkb1", "eu-west-1", Some("team"), &kinds);
            let file = crate::config::parse("x.yaml".into(), text.clone())
                .unwrap_or_else(|e| panic!("{text}\n{e}"));
            let env = file.base;
            let mut want = vec!["qfleet-walkb1-data".to_string()];
            if !kinds.is_empty() {
                want.push("qfleet-walkb1-fleet".into());
            }
            want.extend(
                kinds
                    .iter()
                    .filter_map(|(s, _)| s.as_ref())
                    .map(|s| format!("qfleet-walkb1--{s}-fleet")),
            );
            if kinds.is_empty() {
                // A data stack alone: the file still names a fleet, which is not there.
                assert_eq!(env.stack_names()[0], want[0]);
                continue;
            }
            assert_eq!(env.stack_names(), want, "{text}");
            assert_eq!(env.spec.owner.as_deref(), Some("team"));
            // No file asks for protection: the stacks' own says (a teardown reads it).
            assert!(!env.termination_protection(), "{text}");
            // Nothing is lost: the bucket is kept as outside a lab.
            assert!(env.retain_bucket(), "{text}");
        }
    }
}
