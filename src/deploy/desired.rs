//! What a stack should look like after a deploy: template, parameters, tags, protection; and
//! whether the deployed stack already looks like that (the fast no-op check).

use crate::aws::NetworkPlacement as Placement;
pub use crate::aws::StackParameter as Param;
use crate::aws::StackState;
use crate::aws::{ChangeSetRequest as Request, RollbackTriggers as Triggers};
use crate::config::Environment;
use crate::render::{RenderedStack, StackRole};
use std::collections::BTreeMap;

pub use qfleet_engine::render::{FINGERPRINT_PARAMETER, fingerprint};

/// The fleet's network parameters: a placement to deploy, or the one already deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FleetNetwork {
    Place(Placement),
    KeepDeployed,
}

#[derive(Debug, Clone)]
pub(super) struct DesiredStack {
    pub(super) role: StackRole,
    pub(super) name: String,
    pub(super) template: String,
    /// What a change set carries: the template, or its compact JSON where the YAML is over
    /// CloudFormation's limit ([`crate::render::request_body`]).
    pub(super) body: String,
    pub(super) parameters: BTreeMap<String, Param>,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) termination_protection: bool,
    pub(super) role_arn: Option<String>,
    /// Change sets in express mode (see [`super::express::express`]).
    pub(super) express: bool,
    /// Drift-aware change sets that bring drifted resources back (`--revert-drift`).
    pub(super) revert_drift: bool,
    /// The stack is in CREATE_FAILED or UPDATE_FAILED: its change set goes on from there with
    /// rollback disabled, as CloudFormation requires.
    pub(super) continue_failed: bool,
    /// The rollback triggers of a fleet's update (see [`super::triggers`]); `None` sends none.
    pub(super) rollback: Option<Triggers>,
}

impl DesiredStack {
    /// The desired stack for a rendered template; `network` is the fleet's.
    pub(super) fn new(
        env: &Environment,
        rendered: &RenderedStack,
        network: Option<&FleetNetwork>,
    ) -> Self {
        let mut parameters = BTreeMap::new();
        parameters.insert(
            FINGERPRINT_PARAMETER.to_string(),
            Param::Value(fingerprint(&rendered.template)),
        );
        match network {
            Some(FleetNetwork::Place(p)) => {
                parameters.insert("VpcId".into(), Param::Value(p.vpc.clone()));
                parameters.insert("SubnetIds".into(), Param::Value(p.subnet_list()));
            }
            Some(FleetNetwork::KeepDeployed) => {
                parameters.insert("VpcId".into(), Param::Previous);
                parameters.insert("SubnetIds".into(), Param::Previous);
            }
            None => {}
        }
        let mut tags = env.spec.tags.clone();
        tags.extend(crate::ownership::marks(
            env,
            rendered.role == crate::render::StackRole::Fleet,
        ));
        if rendered.role == crate::render::StackRole::Data {
            tags.extend(crate::ownership::record(env));
            // The repository of the images deploy builds: teardown deletes it (the tag stays
            // once set; see deploy::flow).
            if env.stages().iter().any(|s| s.image_build.is_some()) {
                tags.insert(
                    crate::config::IMAGES_TAG.to_string(),
                    crate::config::image_repository(env),
                );
            }
        }
        DesiredStack {
            role: rendered.role,
            name: rendered.stack_name.clone(),
            template: rendered.template.clone(),
            body: crate::render::request_body(&rendered.template).into_owned(),
            parameters,
            tags,
            termination_protection: env.termination_protection(),
            role_arn: env.spec.service_role_arn.clone(),
            express: false,
            revert_drift: false,
            continue_failed: false,
            rollback: None,
        }
    }

    /// The change set request for this stack.
    pub(super) fn request(&self, creating: bool) -> Request<'_> {
        Request {
            stack: &self.name,
            template: &self.body,
            parameters: &self.parameters,
            tags: &self.tags,
            role_arn: self.role_arn.as_deref(),
            creating,
            import: None,
            express: self.express,
            revert_drift: self.revert_drift,
            continue_failed: self.continue_failed,
            rollback: self.rollback.as_ref(),
        }
    }

    /// The deployed stack has this template, these parameters and tags: nothing to change
    /// but, perhaps, termination protection.
    pub(super) fn matches(&self, state: &StackState) -> bool {
        self.parameters.iter().all(|(k, v)| match v {
            Param::Value(v) => state.parameters.get(k) == Some(v),
            Param::Previous => state.parameters.contains_key(k),
        }) && self.tags == state.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredStack {
        let mut parameters = BTreeMap::new();
        parameters.insert(
            FINGERPRINT_PARAMETER.to_string(),
            Param::Value(fingerprint("t")),
        );
        parameters.insert("SubnetIds".to_string(), Param::Previous);
        DesiredStack {
            role: StackRole::Data,
            name: "s".into(),
            template: "t".into(),
            body: "t".into(),
            parameters,
            tags: [("a".to_string(), "b".to_string())].into(),
            termination_protection: false,
            role_arn: None,
            express: false,
            revert_drift: false,
            continue_failed: false,
            rollback: None,
        }
    }

    #[test]
    fn every_request_carries_the_environments_marks_so_an_adopted_stack_becomes_ours() {
        let env = crate::config::parse(
            std::path::PathBuf::from("stacks/alien.yaml"),
            "region: eu-west-1\nowner: team-a\ntags: {cost: lab}\n".into(),
        )
        .unwrap()
        .into_only();
        for stack in crate::render::render(&env).unwrap() {
            let d = DesiredStack::new(&env, &stack, None);
            let req = d.request(false);
            for (k, v) in
                crate::ownership::marks(&env, stack.role == crate::render::StackRole::Fleet)
            {
                assert_eq!(req.tags.get(&k), Some(&v), "{}", d.name);
            }
            assert_eq!(req.tags.get("cost").map(String::as_str), Some("lab"));
            let mut state = crate::aws::StackState::new(
                &d.name,
                aws_sdk_cloudformation::types::StackStatus::UpdateComplete,
            );
            state.tags = req.tags.clone();
            assert!(crate::ownership::refusal(&env, &state).is_none());
        }
    }

    #[test]
    fn a_stack_matches_only_with_the_same_fingerprint_parameters_and_tags() {
        let d = desired();
        let deployed: BTreeMap<String, String> = [
            (FINGERPRINT_PARAMETER.to_string(), fingerprint("t")),
            ("SubnetIds".to_string(), "whatever is deployed".to_string()),
        ]
        .into();
        let mut s = StackState::new(
            "s",
            aws_sdk_cloudformation::types::StackStatus::CreateComplete,
        );
        s.parameters = deployed.clone();
        s.tags = d.tags.clone();
        assert!(d.matches(&s));
        s.parameters
            .insert(FINGERPRINT_PARAMETER.into(), fingerprint("other"));
        assert!(!d.matches(&s));
        s.parameters = deployed.clone();
        s.parameters.remove("SubnetIds");
        assert!(!d.matches(&s), "a kept parameter must exist to be kept");
        s.parameters = deployed;
        s.tags.insert("extra".into(), "x".into());
        assert!(!d.matches(&s));
    }
}
