//! The account a deploying policy is for (`iam-policy`): a policy's ARNs are one account's,
//! and where an environment's stacks are decides which. A StackSets file's policy is the
//! account's that holds its stack sets; a direct target's, the account it names; else
//! `--account`'s or the credentials'.

use super::errors::Usage as PlacementUsage;
use crate::aws::{self, Aws, Settings};
use crate::config::Environment;
use crate::error::{Result, Usage};
use std::collections::BTreeSet;

/// With `--account`, the direct targets of that account among `envs` (a file's targets in
/// several accounts make a policy per account), and the environments that are no such target;
/// without it, `envs`. A flag that leaves no target of several accounts is refused, naming
/// each account's targets.
pub(crate) fn in_account(envs: Vec<Environment>, flag: Option<&str>) -> Result<Vec<Environment>> {
    let account = |e: &Environment| -> Option<String> {
        match e.through_stack_sets() {
            true => None,
            false => e.target.as_ref()?.account.clone(),
        }
    };
    let Some(flag) = flag else {
        return Ok(envs);
    };
    if !(flag.len() == 12 && flag.chars().all(|c| c.is_ascii_digit())) {
        return Err(Usage::FlagValue {
            flag: "--account",
            value: flag.to_string(),
            why: "an AWS account id is 12 digits".to_string(),
        }
        .into());
    }
    let (kept, left): (Vec<Environment>, Vec<Environment>) = envs
        .into_iter()
        .partition(|e| account(e).is_none_or(|a| a == flag));
    if !left.is_empty() && !kept.iter().any(|e| account(e).is_some()) {
        return Err(crate::placement::errors::Usage::TargetAccounts {
            accounts: format!("{}, not {flag} (--account)", by_account(&left, account)),
        }
        .into());
    }
    Ok(kept)
}

/// `111122223333 (orders-eu1, orders-us1), 444455556666 (orders-eu2)`: each account with the
/// environments in it.
fn by_account(envs: &[Environment], account: impl Fn(&Environment) -> Option<String>) -> String {
    let mut of: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for e in envs {
        if let Some(a) = account(e) {
            let names = of.entry(a).or_default();
            if !names.contains(&e.name.as_str()) {
                names.push(&e.name);
            }
        }
    }
    of.iter()
        .map(|(a, names)| format!("{a} ({})", names.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The account the environments live in: `flag` (12 digits), else the account their targets
/// name (`targets`), else whom the credentials belong to, by AWS STS in the first one's region.
/// Targets in several accounts, or in another than `flag`'s, are refused: a policy's ARNs are
/// one account's.
pub(crate) fn policy_account(
    flag: Option<String>,
    settings: Settings,
    envs: &[Environment],
) -> Result<String> {
    // An account is in one partition (aws, aws-cn, aws-us-gov), and so are a policy's ARNs.
    let partitions: BTreeSet<&str> = envs
        .iter()
        .map(|e| crate::config::partition(&e.spec.region).unwrap_or("aws"))
        .collect();
    if partitions.len() > 1 {
        return Err(crate::placement::errors::Usage::Partitions {
            partitions: partitions.into_iter().collect::<Vec<_>>().join(" and "),
        }
        .into());
    }
    // One account per policy: a StackSets file's is the one that holds its stack sets (the
    // credentials'), not one its targets name.
    let (through, other): (Vec<&Environment>, Vec<&Environment>) =
        envs.iter().partition(|e| e.through_stack_sets());
    if let (Some(s), Some(o)) = (through.first(), other.first()) {
        return Err(PlacementUsage::StackSetsMixed {
            stack_sets: s.name.clone(),
            other: o.name.clone(),
        }
        .into());
    }
    // Service-managed stack sets are acted on from the management account or from a
    // delegated administrator, never both from one account (the management account cannot
    // be registered as a delegated administrator,
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html>).
    let as_whom = |call_as| {
        through.iter().find(|e| {
            e.spec.rollout.permission_model == crate::config::PermissionModel::ServiceManaged
                && e.spec.rollout.call_as == call_as
        })
    };
    if let (Some(h), Some(d)) = (
        as_whom(crate::config::CallAs::SelfAccount),
        as_whom(crate::config::CallAs::DelegatedAdmin),
    ) {
        return Err(PlacementUsage::CallAsMixed {
            holder: h.name.clone(),
            delegated: d.name.clone(),
        }
        .into());
    }
    // The account a StackSets file says holds its stack sets: the policy is that account's.
    let admin: BTreeSet<String> = through
        .iter()
        .filter_map(|e| crate::config::administration_account(e))
        .collect();
    if admin.len() > 1 {
        return Err(crate::placement::errors::Usage::TargetAccounts {
            accounts: admin.into_iter().collect::<Vec<_>>().join(", "),
        }
        .into());
    }
    if let Some(declared) = admin.first() {
        return match flag {
            Some(f) if f != *declared => Err(Usage::FlagValue {
                flag: "--account",
                value: f,
                why: format!(
                    "the stack file acts on its stack sets from account {declared} (rollout.administration_account, or the account of rollout.administration_role), and the policy is that account's"
                ),
            }
            .into()),
            _ => Ok(declared.clone()),
        };
    }
    // A StackSets target's account holds its instance, not the stack sets the caller acts on.
    let named: BTreeSet<&str> = envs
        .iter()
        .filter(|e| !e.through_stack_sets())
        .filter_map(|e| e.target.as_ref()?.account.as_deref())
        .collect();
    if named.len() > 1 || (named.len() == 1 && flag.as_deref().is_some_and(|f| !named.contains(f)))
    {
        let direct: Vec<Environment> = envs
            .iter()
            .filter(|e| !e.through_stack_sets())
            .cloned()
            .collect();
        let mut accounts = by_account(&direct, |e| e.target.as_ref()?.account.clone());
        if let Some(f) = flag.as_deref().filter(|f| !named.contains(f)) {
            accounts.push_str(&format!(", {f} (--account)"));
        }
        return Err(crate::placement::errors::Usage::TargetAccounts { accounts }.into());
    }
    let flag = flag.or_else(|| named.first().map(|a| a.to_string()));
    let region = envs.first().map_or("us-east-1", |e| e.spec.region.as_str());
    match flag {
        Some(a) if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) => Ok(a),
        Some(a) => Err(Usage::FlagValue {
            flag: "--account",
            value: a,
            why: "an AWS account id is 12 digits".to_string(),
        }
        .into()),
        None => {
            let aws = Aws::new(settings);
            let region = aws.region_for(region);
            crate::session::runtime()?
                .block_on(async {
                    let clients = aws.clients(&region).await;
                    aws::account_id(&clients.sts).await
                })
                .map_err(crate::error::Error::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    /// The account that holds the stack sets of examples/stack-sets.yaml in these tests.
    const ADMIN: &str = "999999999999";

    fn file_from(yaml: &str) -> config::LoadedFile {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.yaml");
        std::fs::write(&p, yaml).unwrap();
        config::load(&p).unwrap()
    }

    /// The stack file of a lab named `name` with `extra` settings (its targets, its copies).
    fn lab_file(name: &str, extra: &str) -> config::LoadedFile {
        file_from(&format!(
            "environment: {name}\nregion: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n{extra}"
        ))
    }

    fn targets() -> Vec<Environment> {
        config::load(&config::workspace_root().join("examples/stack-sets.yaml"))
            .unwrap()
            .expand()
    }

    /// Issue 38: a policy's ARNs are one account's. The targets' own account is the policy's, and
    /// targets in two accounts (or in another than `--account`'s) are refused, never mixed.
    #[test]
    fn a_policy_for_targets_is_their_one_account_s() {
        let file = lab_file(
            "orders",
            "targets:\n  - name: eu\n    account: '111111111111'\n  - name: us\n    account: '222222222222'\n    region: us-east-1\n  - name: ie\n    account: '111111111111'\n",
        );
        let targets = file.expand();
        let settings = || Settings::default();
        let one: Vec<Environment> = vec![targets[0].clone(), targets[2].clone()];
        // No AWS call: the targets say their account.
        assert_eq!(
            super::policy_account(None, settings(), &one).unwrap(),
            "111111111111"
        );
        let policies = qfleet_engine::iam::policies(&one, "111111111111".to_string()).unwrap();
        // Without a role, nothing to say about assuming one.
        assert!(!policies.notes.iter().any(|n| n.contains("sts:AssumeRole")));
        let text = serde_json::to_string(&policies.own.caller).unwrap();
        assert!(
            text.contains(
                "arn:aws:cloudformation:eu-west-1:111111111111:stack/qfleet-orders-eu-data/*"
            ),
            "{text}"
        );
        assert!(!text.contains("222222222222"), "{text}");
        let err = super::policy_account(None, settings(), &targets).unwrap_err();
        assert!(
            err.to_string().contains(
                "these targets are in 111111111111 (orders-eu, orders-ie), 222222222222 (orders-us); pass --account ID"
            ),
            "{err}"
        );
        let err = super::policy_account(Some("222222222222".into()), settings(), &one).unwrap_err();
        assert!(
            err.to_string()
                .contains("111111111111 (orders-eu, orders-ie), 222222222222 (--account)"),
            "{err}"
        );
        // --account picks that account's targets out of the file's.
        let picked = super::in_account(targets.clone(), Some("111111111111")).unwrap();
        let names: Vec<&str> = picked.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["orders-eu", "orders-ie"]);
        assert_eq!(
            super::policy_account(Some("111111111111".into()), settings(), &picked).unwrap(),
            "111111111111"
        );
        let err = super::in_account(targets.clone(), Some("333333333333")).unwrap_err();
        assert!(
            err.to_string().contains(
                "111111111111 (orders-eu, orders-ie), 222222222222 (orders-us), not 333333333333 (--account)"
            ),
            "{err}"
        );
        let err = super::in_account(targets.clone(), Some("1234")).unwrap_err();
        assert!(
            err.to_string().contains("an AWS account id is 12 digits"),
            "{err}"
        );
        assert_eq!(super::in_account(targets.clone(), None).unwrap().len(), 3);
        // Targets of two partitions, even with one account flag: never one policy.
        let china = lab_file(
            "orders",
            "targets:\n  - name: eu\n  - name: cn\n    region: cn-north-1\n",
        )
        .expand();
        let err =
            super::policy_account(Some("111111111111".into()), settings(), &china).unwrap_err();
        assert!(
            err.to_string()
                .contains("these environments are in the partitions aws and aws-cn"),
            "{err}"
        );
    }

    /// A StackSets file's policy is the account's that holds its stack sets: the flag's (or
    /// the credentials'), never mixed with another environment's, nor with targets acted on
    /// as another principal.
    #[test]
    fn a_stack_sets_policy_is_in_the_account_that_holds_the_stack_sets_alone() {
        // With another environment, whose account is another thing: refused.
        let mut mixed = targets();
        let root = crate::config::workspace_root();
        mixed.push(
            crate::config::load(&root.join("stacks/prod.yaml"))
                .unwrap()
                .into_only(),
        );
        let err =
            super::policy_account(Some(ADMIN.into()), Settings::default(), &mixed).unwrap_err();
        assert!(
            err.to_string()
                .contains("(deployed through CloudFormation StackSets) and prod at once"),
            "{err}"
        );
        // The file's targets name their instances' accounts, not the caller's: the account is
        // the flag's (or the credentials').
        assert_eq!(
            super::policy_account(Some(ADMIN.into()), Settings::default(), &targets()).unwrap(),
            ADMIN
        );
        let mut envs = config::stack_sets_service_managed().expand();
        for e in &mut envs {
            e.spec.rollout.call_as = config::CallAs::DelegatedAdmin;
        }
        // With targets acted on as the management account in the same run: refused (exit 2),
        // whatever the account.
        let mut mixed = envs.clone();
        mixed[0].spec.rollout.call_as = crate::config::CallAs::SelfAccount;
        let err = super::policy_account(None, Settings::default(), &mixed).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::Exit::Input);
        assert!(
            err.to_string().starts_with(&format!(
                "iam-policy for {} (rollout.call_as: self, the organization's management account) and {} (rollout.call_as: delegated_admin) at once",
                mixed[0].name, mixed[1].name
            )),
            "{err}"
        );
        assert!(super::policy_account(None, Settings::default(), &envs).is_ok());
    }
}
