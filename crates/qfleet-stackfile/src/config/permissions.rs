//! What a worker may do and know beyond qfleet's own grants: plain settings
//! (`workers.environment`), secrets resolved when it starts (`workers.secrets`), managed policies
//! (`workers.policies`) and IAM statements (`workers.statements`) for its role.

use super::language::{Kind, Setting, choices, settings};
use serde::{Deserialize, Serialize};

settings! {
    /// One IAM policy statement as the stack file writes it (IAM's own key names).
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct Statement {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sid: Option<String> as "Sid" => "letters and digits only",
        pub effect: Effect as "Effect" = required => "{choices}",
        pub action: OneOrMany as "Action" = required
            => "an action or a list of them, each service:Action (wildcards inside a name such as s3:Get* allowed; not \"*\" and not service:*)",
        pub resource: OneOrMany as "Resource" = required
            => "an ARN or a list of them naming the resources (not \"*\": name the resources; an action with no resource type is the one exception)",
        #[serde(skip_serializing_if = "Option::is_none")]
        pub condition: Option<serde_json::Value> as "Condition"
            => "an IAM condition block: operator → condition key → value or list of values",
    }
}

choices! {
    /// Whether a statement allows or denies.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
    pub enum Effect {
        Allow = "Allow",
        Deny = "Deny",
    }
}

/// The pseudo parameters a statement's resource may name (`workers.statements`): the stack's
/// own partition, Region, account and URL suffix, filled in by CloudFormation
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html>).
pub const PSEUDO_PARAMETERS: [&str; 4] = [
    "${AWS::Partition}",
    "${AWS::Region}",
    "${AWS::AccountId}",
    "${AWS::URLSuffix}",
];

/// One value or a list of them, as IAM accepts for `Action` and `Resource`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Free-form to the key table: IAM's own rules for actions and resources check it.
impl Setting for OneOrMany {
    const KIND: Kind = Kind::Any;
}

impl OneOrMany {
    pub(super) fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Where a secret is kept, as `workers.secrets` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "store", rename_all = "lowercase")]
pub enum SecretSource {
    /// An SSM Parameter Store parameter: `ssm:/name` (this account and region) or its ARN.
    Ssm { name: String, arn: Option<String> },
    /// A Secrets Manager secret: `secretsmanager:name` (this account and region) or its ARN.
    #[serde(rename = "secretsmanager")]
    SecretsManager { name: String, arn: Option<String> },
}

/// Secrets Manager's secret names: 1 to 512 of letters, digits and `/_+=.@-`.
fn secret_name_ok(s: &str) -> bool {
    (1..=512).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

/// Parameter Store's names: letters, digits and `_.-/`, at most 1011 characters (2048 with
/// the ARN prefix), hierarchies of at most 15 levels.
fn parameter_name_ok(s: &str) -> bool {
    (1..=1011).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && s.trim_start_matches('/').split('/').count() <= 15
        && !s
            .trim_start_matches('/')
            .to_ascii_lowercase()
            .starts_with("aws")
        && !s
            .trim_start_matches('/')
            .to_ascii_lowercase()
            .starts_with("ssm")
}

impl SecretSource {
    /// Reads `ssm:/name`, `secretsmanager:name` or an ARN of either; the error says what is
    /// allowed.
    pub fn parse(s: &str) -> Result<SecretSource, String> {
        if let Some(name) = s.strip_prefix("ssm:") {
            return if parameter_name_ok(name) {
                Ok(SecretSource::Ssm {
                    name: name.to_string(),
                    arn: None,
                })
            } else {
                Err(format!("`{name}` is not a Parameter Store name"))
            };
        }
        if let Some(name) = s.strip_prefix("secretsmanager:") {
            return if secret_name_ok(name) {
                Ok(SecretSource::SecretsManager {
                    name: name.to_string(),
                    arn: None,
                })
            } else {
                Err(format!("`{name}` is not a Secrets Manager secret name"))
            };
        }
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if let ["arn", partition, service, region, account, rest] = parts[..]
            && partition.starts_with("aws")
            && !region.is_empty()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
        {
            match (service, rest.split_once(['/', ':'])) {
                ("ssm", Some(("parameter", name))) if parameter_name_ok(name) => {
                    return Ok(SecretSource::Ssm {
                        name: format!("/{name}"),
                        arn: Some(s.to_string()),
                    });
                }
                ("secretsmanager", Some(("secret", name))) if secret_name_ok(name) => {
                    return Ok(SecretSource::SecretsManager {
                        name: name.to_string(),
                        arn: Some(s.to_string()),
                    });
                }
                _ => {}
            }
        }
        Err(format!("`{s}` names no parameter or secret"))
    }

    /// What the worker asks for: the ARN when given, else `ssm:NAME` / `secretsmanager:NAME`.
    pub fn reference(&self) -> String {
        match self {
            SecretSource::Ssm { arn: Some(a), .. }
            | SecretSource::SecretsManager { arn: Some(a), .. } => a.clone(),
            SecretSource::Ssm { name, .. } => format!("ssm:{name}"),
            SecretSource::SecretsManager { name, .. } => format!("secretsmanager:{name}"),
        }
    }

    /// The IAM action that reads it.
    pub fn action(&self) -> &'static str {
        match self {
            SecretSource::Ssm { .. } => "ssm:GetParameter",
            SecretSource::SecretsManager { .. } => "secretsmanager:GetSecretValue",
        }
    }

    /// The resource a policy grants the read on, for CloudFormation's Fn::Sub: the ARN when
    /// given; else this account's and region's ARN. A secret's ARN ends in `-` and six random
    /// characters, which `-??????` matches (Secrets Manager User Guide, "Permissions policy
    /// examples": https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html).
    pub fn resource_sub(&self) -> String {
        let here = "arn:${AWS::Partition}:{svc}:${AWS::Region}:${AWS::AccountId}:";
        match self {
            SecretSource::Ssm { arn: Some(a), .. }
            | SecretSource::SecretsManager { arn: Some(a), .. } => a.replace("${", "${!"),
            SecretSource::Ssm { name, .. } => format!(
                "{}parameter/{}",
                here.replace("{svc}", "ssm"),
                name.trim_start_matches('/')
            ),
            SecretSource::SecretsManager { name, .. } => {
                format!(
                    "{}secret:{name}-??????",
                    here.replace("{svc}", "secretsmanager")
                )
            }
        }
    }

    /// Where ECS reads it for a task's `Secrets` (`ValueFrom`, for Fn::Sub): the ARN when
    /// given; a parameter's ARN in this account and region; a secret named without its ARN by
    /// its partial ARN (`…:secret:NAME`, without the six random characters), which Secrets
    /// Manager resolves to the one secret of that name. ECS asks for "the full ARN of the
    /// Secrets Manager secret" (AWS::ECS::TaskDefinition Secret): give the ARN in the stack
    /// file to be exact.
    pub fn value_from_sub(&self) -> String {
        match self {
            SecretSource::SecretsManager { name, arn: None } => format!(
                "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{name}"
            ),
            other => other.resource_sub(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_sources_read_as_aws_names_them() {
        let p = SecretSource::parse("ssm:/myapp/db-password").unwrap();
        assert_eq!(p.reference(), "ssm:/myapp/db-password");
        assert_eq!(
            p.resource_sub(),
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/myapp/db-password"
        );
        let s = SecretSource::parse("secretsmanager:myapp/api-key").unwrap();
        assert_eq!(s.action(), "secretsmanager:GetSecretValue");
        assert!(s.resource_sub().ends_with(":secret:myapp/api-key-??????"));
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/key-AbCdEf";
        let a = SecretSource::parse(arn).unwrap();
        assert_eq!((a.reference(), a.resource_sub()), (arn.into(), arn.into()));
        let parn = "arn:aws:ssm:eu-west-1:123456789012:parameter/team/token";
        assert_eq!(
            SecretSource::parse(parn).unwrap(),
            SecretSource::Ssm {
                name: "/team/token".into(),
                arn: Some(parn.into())
            }
        );
        for bad in [
            "/myapp/db",
            "ssm:",
            "ssm:/my app",
            "ssm:/aws/reserved",
            "secretsmanager:",
            "secretsmanager:a b",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ssm:eu-west-1:123:parameter/x",
            "vault:/x",
        ] {
            assert!(SecretSource::parse(bad).is_err(), "{bad}");
        }
    }
}
