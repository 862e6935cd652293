//! What a change set means for data: which changes lose it, and a switch of worker kind.

use crate::aws::ResourceChange as Change;
use aws_sdk_cloudformation::types::ChangeAction;

pub use crate::aws::STATEFUL_TYPES;

/// What a change that loses data does, in words.
pub(super) fn describe_loss(c: &Change) -> String {
    let what = if c.action == ChangeAction::Remove {
        "REMOVES"
    } else if c.replaces().is_none() {
        "MAY REPLACE"
    } else {
        "REPLACES"
    };
    format!(
        "{what} {} ({}): whatever it holds is lost unless its policy retains it",
        c.logical_id, c.resource_type
    )
}

/// What a fleet change set switches: `(from, to)` when it removes one kind of worker and adds
/// the other (`workers.kind` changed in the stack file).
pub(super) fn kind_switch(changes: &[Change]) -> Option<(&'static str, &'static str)> {
    let has = |action: ChangeAction, ty: &str| {
        changes
            .iter()
            .any(|c| c.action == action && c.resource_type == ty)
    };
    const FUNCTION: &str = "AWS::Lambda::Function";
    // A function's package type: the zip package's and the image's functions have logical
    // ids of their own (templates/lambda.yaml.j2).
    let id = |action: ChangeAction, logical: &str| {
        changes
            .iter()
            .any(|c| c.action == action && c.logical_id == logical && c.resource_type == FUNCTION)
    };
    use crate::render::ids::{FUNCTION as ZIP_ID, IMAGE_FUNCTION as IMAGE_ID};
    if id(ChangeAction::Remove, ZIP_ID) && id(ChangeAction::Add, IMAGE_ID) {
        return Some((LAMBDA_ZIP, LAMBDA_IMAGE));
    }
    if id(ChangeAction::Remove, IMAGE_ID) && id(ChangeAction::Add, ZIP_ID) {
        return Some((LAMBDA_IMAGE, LAMBDA_ZIP));
    }
    // Latest first: an ECS service on Managed Instances comes with its capacity provider,
    // which tells it from a service on Fargate.
    // Between Fargate and ECS Managed Instances the service stays, updated in place: the
    // capacity providers tell the way.
    const SERVICE: &str = "AWS::ECS::Service";
    const PROVIDER: &str = "AWS::ECS::CapacityProvider";
    if has(ChangeAction::Modify, SERVICE) && !has(ChangeAction::Remove, SERVICE) {
        if has(ChangeAction::Add, PROVIDER) && !has(ChangeAction::Remove, PROVIDER) {
            return Some(("fargate", "ecs_managed"));
        }
        if has(ChangeAction::Remove, PROVIDER) && !has(ChangeAction::Add, PROVIDER) {
            return Some(("ecs_managed", "fargate"));
        }
    }
    let kinds = crate::config::WorkerKind::ALL.map(crate::kinds::of);
    let from = kinds
        .iter()
        .rev()
        .find(|k| has(ChangeAction::Remove, k.consumer_type()))?;
    let to = kinds
        .iter()
        .rev()
        .find(|k| k.id() != from.id() && has(ChangeAction::Add, k.consumer_type()))?;
    Some((from.id().as_str(), to.id().as_str()))
}

/// A function from a zip package, and one from a container image, in a switch event.
const LAMBDA_ZIP: &str = "lambda (zip package)";
const LAMBDA_IMAGE: &str = "lambda (container image)";

/// How a switch of worker kind happens, for the preview.
pub(super) fn describe_switch(from: &str, to: &str) -> String {
    // ECS refuses to take a capacity provider off the cluster while tasks use it
    // (PutClusterCapacityProviders,
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html).
    if [from, to] == ["fargate", "ecs_managed"] || [from, to] == ["ecs_managed", "fargate"] {
        return format!(
            "the ECS service moves from {from} to {to} in place: its tasks are replaced on the new capacity, and the cluster's old capacity providers are dropped. ECS refuses to drop a provider that running tasks use, so while tasks run this update may fail and roll back, leaving the service on {from}. Park it first (workers.max: 0, deploy), then switch with max 0, then raise max. The queue keeps every waiting message meanwhile"
        );
    }
    if [LAMBDA_ZIP, LAMBDA_IMAGE].contains(&to) {
        return format!(
            "the function switches from a {} to a {}: Lambda cannot change a function's package type, so CloudFormation first creates the new function and points the queue mapping at it; then, in its cleanup phase, it deletes the old function (a batch in flight finishes or becomes visible again). The queue keeps every waiting message meanwhile, and the log group stays",
            from.trim_start_matches("lambda (").trim_end_matches(')'),
            to.trim_start_matches("lambda (").trim_end_matches(')'),
        );
    }
    let kind = |name: &str| {
        crate::config::WorkerKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .map(crate::kinds::of)
    };
    let (new, old) = match (kind(to), kind(from)) {
        (Some(to), Some(from)) => (to.arrives(), from.leaves()),
        _ => ("the new workers", "the old ones"),
    };
    format!(
        "workers switch from {from} to {to}: CloudFormation first creates {new}; then, in its cleanup phase, it removes {old}. The queue keeps every waiting message meanwhile"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::Replacement;

    fn change(action: &str, ty: &str, replacement: Option<&str>) -> Change {
        Change {
            action: ChangeAction::from(action),
            logical_id: "X".into(),
            resource_type: ty.into(),
            replacement: replacement.map(Replacement::from),
            details: Some(vec![]),
            drift: None,
        }
    }

    #[test]
    fn a_change_of_worker_kind_is_named_both_ways() {
        let to_lambda = [
            change("Remove", "AWS::AutoScaling::AutoScalingGroup", None),
            change("Add", "AWS::Lambda::Function", None),
            change("Add", "AWS::Lambda::EventSourceMapping", None),
        ];
        assert_eq!(kind_switch(&to_lambda), Some(("ec2", "lambda")));
        let to_ec2 = [
            change("Add", "AWS::AutoScaling::AutoScalingGroup", None),
            change("Remove", "AWS::Lambda::Function", None),
        ];
        assert_eq!(kind_switch(&to_ec2), Some(("lambda", "ec2")));
        let mut to_image = [
            change("Remove", "AWS::Lambda::Function", None),
            change("Add", "AWS::Lambda::Function", None),
            change("Modify", "AWS::Lambda::EventSourceMapping", Some("False")),
        ];
        to_image[0].logical_id = crate::render::ids::FUNCTION.into();
        to_image[1].logical_id = crate::render::ids::IMAGE_FUNCTION.into();
        assert_eq!(kind_switch(&to_image), Some((LAMBDA_ZIP, LAMBDA_IMAGE)));
        to_image.swap(0, 1);
        to_image[0].action = ChangeAction::Remove;
        to_image[1].action = ChangeAction::Add;
        assert_eq!(kind_switch(&to_image), Some((LAMBDA_IMAGE, LAMBDA_ZIP)));
        let text = describe_switch(LAMBDA_ZIP, LAMBDA_IMAGE);
        assert!(
            text.contains("from a zip package to a container image")
                && text.contains("first creates the new function"),
            "{text}"
        );
        let update = [change("Modify", "AWS::Lambda::Function", None)];
        assert_eq!(kind_switch(&update), None);
        assert!(describe_switch("ec2", "lambda").contains("first creates the function"));
        let to_fargate = [
            change("Remove", "AWS::AutoScaling::AutoScalingGroup", None),
            change("Add", "AWS::ECS::Cluster", None),
            change("Add", "AWS::ECS::Service", None),
        ];
        assert_eq!(kind_switch(&to_fargate), Some(("ec2", "fargate")));
        let fargate_to_lambda = [
            change("Remove", "AWS::ECS::Service", None),
            change("Add", "AWS::Lambda::Function", None),
        ];
        assert_eq!(kind_switch(&fargate_to_lambda), Some(("fargate", "lambda")));
        let to_managed = [
            change("Remove", "AWS::AutoScaling::AutoScalingGroup", None),
            change("Add", "AWS::ECS::Service", None),
            change("Add", "AWS::ECS::CapacityProvider", None),
        ];
        assert_eq!(kind_switch(&to_managed), Some(("ec2", "ecs_managed")));
        let managed_to_ec2 = [
            change("Remove", "AWS::ECS::Service", None),
            change("Remove", "AWS::ECS::CapacityProvider", None),
            change("Add", "AWS::AutoScaling::AutoScalingGroup", None),
        ];
        assert_eq!(kind_switch(&managed_to_ec2), Some(("ecs_managed", "ec2")));
        assert!(describe_switch("ecs_managed", "ec2").contains("then the capacity provider"));
        // Between Fargate and Managed Instances the service is updated in place.
        let onto_managed = [
            change("Modify", "AWS::ECS::Service", Some("False")),
            change("Modify", "AWS::ECS::Cluster", Some("False")),
            change("Add", "AWS::ECS::CapacityProvider", None),
            change("Add", "AWS::ECS::CapacityProvider", None),
        ];
        assert_eq!(kind_switch(&onto_managed), Some(("fargate", "ecs_managed")));
        let onto_fargate = [
            change("Modify", "AWS::ECS::Service", Some("False")),
            change("Remove", "AWS::ECS::CapacityProvider", None),
        ];
        assert_eq!(kind_switch(&onto_fargate), Some(("ecs_managed", "fargate")));
        assert!(describe_switch("fargate", "ecs_managed").contains("Park it first"));
        // A change of the service alone is no switch.
        assert_eq!(
            kind_switch(&[change("Modify", "AWS::ECS::Service", Some("False"))]),
            None
        );
        let text = describe_switch("fargate", "lambda");
        assert!(
            text.contains("first creates the function")
                && text.contains("removes the ECS service (its tasks get SIGTERM"),
            "{text}"
        );
    }

    #[test]
    fn only_removing_or_replacing_a_stateful_resource_loses_data() {
        assert!(change("Remove", "AWS::SQS::Queue", None).loses_data());
        assert!(change("Modify", "AWS::S3::Bucket", Some("True")).loses_data());
        assert!(change("Modify", "AWS::KMS::Key", Some("Conditional")).loses_data());
        // The job table (`jobs:`): its replacement loses every job's record.
        assert!(change("Modify", "AWS::DynamoDB::Table", Some("True")).loses_data());
        assert!(!change("Modify", "AWS::SQS::Queue", Some("False")).loses_data());
        assert!(!change("Add", "AWS::SQS::Queue", None).loses_data());
        assert!(!change("Remove", "AWS::AutoScaling::AutoScalingGroup", None).loses_data());
    }

    #[test]
    fn a_property_that_requires_recreation_loses_data_whatever_replacement_says() {
        let mut c = change("Modify", "AWS::SQS::Queue", Some("False"));
        c.details = Some(vec![crate::aws::PropertyChange {
            name: Some("FifoQueue".into()),
            requires_recreation: Some("Always".into()),
            ..Default::default()
        }]);
        assert!(c.loses_data());
        assert!(
            describe_loss(&c).starts_with("REPLACES X"),
            "{}",
            describe_loss(&c)
        );
        c.details.as_mut().unwrap()[0].requires_recreation = Some("Conditionally".into());
        assert!(c.loses_data());
        assert!(describe_loss(&c).starts_with("MAY REPLACE"));
        c.details.as_mut().unwrap()[0].requires_recreation = Some("Never".into());
        assert!(!c.loses_data());
    }
}
