//! The worker version: a short hash of a stage's worker definition, which its workers carry as
//! `QFLEET_VERSION` and put on the metrics that judge a deploy (`JobsFailed` and
//! `JobsDeadLettered` with a `Version` dimension). A rollback alarm reads the new version's
//! series only, so failures of the version before it (a backlog already there) never roll a fix
//! back.
//!
//! The templates write [`PENDING`] wherever the version goes; once a stage's template is
//! rendered, the hash of its worker definition (with the placeholder still in it) replaces
//! every occurrence. The definition is what replaces the workers when it changes: an instance's
//! launch template data, a task's definition, a function's properties. A change of scaling alone
//! leaves the version, and so the workers, as they are.

use super::{ids, long_form};
use crate::config::WorkerKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What the templates write in place of the version (longer than the version, so that a
/// size checked before the stamp still holds after it).
pub(crate) const PENDING: &str = "QFLEET_WORKER_VERSION_PENDING";

/// Hex digits of the version.
const LEN: usize = 12;

/// `template` with the worker version in place of every [`PENDING`]; an error names what in
/// the template could not be read.
pub(crate) fn stamp(template: &str, kind: WorkerKind) -> Result<String, String> {
    if !template.contains(PENDING) {
        return Ok(template.to_string());
    }
    let t = long_form(template)?;
    let definition = definition(&t, kind).ok_or_else(|| {
        format!("the template declares no worker definition ({kind:?}) to take its version from")
    })?;
    let text = serde_json::to_string(definition).map_err(|e| e.to_string())?;
    Ok(template.replace(PENDING, &version(&text)))
}

/// The first [`LEN`] hex digits of the SHA-256 of `definition`.
fn version(definition: &str) -> String {
    let digest = Sha256::digest(definition.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..LEN].to_string()
}

/// The resource properties whose change replaces the workers.
fn definition(t: &Value, kind: WorkerKind) -> Option<&Value> {
    let resources = t["Resources"].as_object()?;
    let found = match kind {
        WorkerKind::Ec2 => resources
            .values()
            .find(|r| r["Type"] == "AWS::EC2::LaunchTemplate")
            .map(|r| &r["Properties"]["LaunchTemplateData"]),
        WorkerKind::Fargate | WorkerKind::EcsManaged => resources
            .values()
            .find(|r| r["Type"] == "AWS::ECS::TaskDefinition")
            .map(|r| &r["Properties"]),
        WorkerKind::Lambda => ids::FUNCTIONS
            .iter()
            .find_map(|id| resources.get(*id))
            .map(|r| &r["Properties"]),
    };
    found.filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC2: &str = "Resources:\n  LaunchTemplate:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n      LaunchTemplateData:\n        UserData: !Base64 \"QFLEET_VERSION=QFLEET_WORKER_VERSION_PENDING\\nA=1\"\n  Alarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Dimensions: [{Name: Version, Value: QFLEET_WORKER_VERSION_PENDING}]\n      Threshold: 1\n";

    fn stamped(t: &str) -> String {
        stamp(t, WorkerKind::Ec2).unwrap()
    }

    fn version_in(t: &str) -> String {
        let at = t.find("QFLEET_VERSION=").unwrap() + "QFLEET_VERSION=".len();
        t[at..at + LEN].to_string()
    }

    #[test]
    fn every_placeholder_gets_the_same_hex_version() {
        let t = stamped(EC2);
        assert!(!t.contains(PENDING), "{t}");
        let v = version_in(&t);
        assert!(v.chars().all(|c| c.is_ascii_hexdigit()), "{v}");
        assert_eq!(t.matches(&v).count(), 2, "{t}");
    }

    #[test]
    fn the_definition_changes_the_version_and_the_rest_does_not() {
        let v = version_in(&stamped(EC2));
        assert_eq!(version_in(&stamped(EC2)), v, "a render is repeatable");
        assert_eq!(
            version_in(&stamped(&EC2.replace("Threshold: 1", "Threshold: 5"))),
            v,
            "an alarm (or scaling) setting is not the workers' definition"
        );
        assert_ne!(version_in(&stamped(&EC2.replace("A=1", "A=2"))), v);
    }

    #[test]
    fn a_template_without_the_definition_is_an_error_not_a_blank_version() {
        let t = "Resources:\n  Alarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Dimensions: [{Name: Version, Value: QFLEET_WORKER_VERSION_PENDING}]\n";
        let e = stamp(t, WorkerKind::Fargate).unwrap_err();
        assert!(e.contains("no worker definition"), "{e}");
        assert_eq!(
            stamp("Resources: {}\n", WorkerKind::Lambda).unwrap(),
            "Resources: {}\n"
        );
    }
}
