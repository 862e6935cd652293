//! Which stacks and accounts are this stack file's to act on. qfleet changes or deletes only
//! stacks it can prove it created for the environment: a stack carries qfleet's marks, the
//! tags `qfleet:environment` (the environment's name) and, when the stack file names an
//! `owner`, `qfleet:owner`. A stack with the environment's name but not its marks (made by
//! hand, by another tool, or by another team's stack file of the same environment name) is
//! refused by deploy, plan, teardown and the kind switch (exit 4), unless `deploy --adopt`
//! takes it over after the usual preview. The account guard (`accounts:` in the stack file)
//! refuses credentials of any other account before anything is read or changed (deploy, plan,
//! teardown, drift, dlq and send); dlq and send also act only when the data stack is the
//! environment's.

pub(crate) mod errors;
use crate::aws;
use crate::aws::StackState;
use crate::config::{
    COPY_TAG, ENVIRONMENT_TAG, Environment, FILE_TAG, KIND_TAG, OWNER_TAG, STACK_FILE_TAG,
    TARGET_TAG, TARGETS_TAG,
};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The tags that mark a stack as this environment's: put on every stack qfleet deploys. The
/// environment and its owner decide whose a stack is ([`lacks`]); its file, and the copy or
/// target it is, name what made it, so that an environment its file no longer makes is found
/// (a stack without them, deployed before they were, gets them on its next deploy and is
/// never refused for lacking them). The workers' stacks (`workers`) say which kinds of
/// worker the environment runs; the data stack does not, so that a switch of kind never
/// touches the stack that holds the data.
pub fn marks(env: &Environment, workers: bool) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([
        (ENVIRONMENT_TAG.to_string(), env.resource_name().to_string()),
        (FILE_TAG.to_string(), env.file_environment().to_string()),
    ]);
    // The file's name, where a tag can hold it (the marks decide nothing without it).
    if let Some(name) = env
        .source
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| tag_value_ok(n))
    {
        tags.insert(STACK_FILE_TAG.to_string(), name.to_string());
    }
    if workers {
        tags.insert(KIND_TAG.to_string(), env.kinds());
    }
    if let Some(owner) = &env.spec.owner {
        tags.insert(OWNER_TAG.to_string(), owner.clone());
    }
    if let Some(copy) = &env.copy {
        tags.insert(COPY_TAG.to_string(), copy.number.to_string());
    }
    if let Some(t) = &env.target {
        tags.insert(TARGET_TAG.to_string(), t.name.clone());
    }
    tags
}

/// The record of a target's file on its data stack, deployed directly (a target deployed
/// otherwise has its service's record): a tag per target of the file, `qfleet:targets:NAME` = `ACCOUNT
/// REGION [ROLE]`, the role's ARN only where `deploy_role` does not name it. A target the file
/// drops is found, and reached, through the ones that stay. A target without an account (it
/// acts in the credentials' own) is recorded as `-`; a role whose ARN a tag cannot hold (a
/// name with a comma) is left out.
pub fn record(env: &Environment) -> BTreeMap<String, String> {
    let Some(t) = env.target.as_ref().filter(|_| env.deployed_directly()) else {
        return BTreeMap::new();
    };
    let deploy_role = t.file.base.spec.deploy_role.as_deref();
    t.file
        .targets()
        .iter()
        .filter_map(|e| Some((e, e.target.as_ref()?)))
        .map(|(e, other)| {
            let at = (other.account.as_deref(), e.spec.region.as_str());
            record_entry(deploy_role, &other.name, at, other.role_arn.as_deref())
        })
        .collect()
}

/// One target's entry in its file's record ([`record`]): where it is (`account`, `region`),
/// and the role it is reached as where `deploy_role` does not name it.
pub fn record_entry(
    deploy_role: Option<&str>,
    name: &str,
    (account, region): (Option<&str>, &str),
    role: Option<&str>,
) -> (String, String) {
    let account = account.unwrap_or("-");
    let mut value = format!("{account} {region}");
    let derived = deploy_role.map(|r| crate::config::role_in(r, region, account));
    if let Some(role) = role.filter(|r| Some(*r) != derived.as_deref() && tag_value_ok(r)) {
        value.push(' ');
        value.push_str(role);
    }
    (format!("{TARGETS_TAG}{name}"), value)
}

/// How many tags qfleet puts on the environment's stacks beside the stack file's `tags`:
/// its marks, and on a target's data stack the record of its file's targets (at most: the
/// kind is on the workers' stacks only).
#[cfg(test)]
pub fn tag_count(env: &Environment) -> usize {
    marks(env, true).len() + record(env).len()
}

/// Whether a tag value can hold `v`: letters, digits, spaces and `+ - = . _ : / @`, at most
/// 256 characters
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Tag.html>).
fn tag_value_ok(v: &str) -> bool {
    v.len() <= 256
        && v.chars()
            .all(|c| c.is_alphanumeric() || " +-=._:/@".contains(c))
}

/// What `owner` protects against, said once for the stack files of `envs` that set none
/// (`validate`, `plan`): `None` when every one does.
pub fn owner_note<'a>(envs: impl IntoIterator<Item = &'a Environment>) -> Option<String> {
    let mut files: Vec<String> = envs
        .into_iter()
        .filter(|e| e.spec.owner.is_none())
        .map(|e| e.source.display())
        .collect();
    files.dedup();
    (!files.is_empty()).then(|| {
        format!(
            "note: {} set{} no owner: another stack file of the same environment name (another team's, or another Copilot application's) would deploy over these stacks; set owner: (a team or an application) and qfleet refuses stacks another owner made (exit 4)",
            files.join(", "),
            if files.len() == 1 { "s" } else { "" }
        )
    })
}

/// What the stack lacks of the environment's marks (empty: it is the environment's). A stack
/// in REVIEW_IN_PROGRESS without any tag holds nothing and names no one (a first change set
/// not executed yet, made without tags): it needs no marks. One with tags is someone's first
/// deploy waiting at its question (CreateChangeSet puts its tags on the review stack): its
/// tags are compared like any stack's, so another team's review is never taken or deleted.
pub fn lacks(env_name: &str, owner: Option<&str>, state: &StackState) -> Vec<String> {
    if state.is_review() && state.tags.is_empty() {
        return Vec::new();
    }
    lacks_tags(env_name, owner, &state.tags)
}

/// What these tags lack of the environment's marks (a stack's, or a kept bucket's).
pub fn lacks_tags(
    env_name: &str,
    owner: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut missing = Vec::new();
    let tag = |key: &str| tags.get(key).map(String::as_str);
    let said = |key: &str| match tag(key) {
        Some(v) => format!("it has {key}={v}"),
        None => "it has none".to_string(),
    };
    if tag(ENVIRONMENT_TAG) != Some(env_name) {
        missing.push(format!(
            "the tag {ENVIRONMENT_TAG}={env_name} ({})",
            said(ENVIRONMENT_TAG)
        ));
    }
    match (owner, tag(OWNER_TAG)) {
        (Some(want), got) if got != Some(want) => {
            missing.push(format!("the tag {OWNER_TAG}={want} ({})", said(OWNER_TAG)))
        }
        (None, Some(got)) => missing.push(format!(
            "no {OWNER_TAG} tag: it belongs to owner `{got}`, and this stack file names no owner"
        )),
        _ => {}
    }
    missing
}

/// The refusal of a stack that is not the environment's (`None`: it is).
pub fn refusal(env: &Environment, state: &StackState) -> Option<Error> {
    let missing = lacks(env.resource_name(), env.spec.owner.as_deref(), state);
    if missing.is_empty() {
        return None;
    }
    Some(
        crate::ownership::errors::Refusal::StackNotOurs {
            env: env.name.clone(),
            stack: state.name.clone(),
            lacks: missing,
        }
        .into(),
    )
}

/// The account guard: with `accounts:` in the stack file, the credentials must be for one of
/// them (GetCallerIdentity; a failure to ask is a refusal too, never "any account").
pub async fn check_account(sts: &aws_sdk_sts::Client, env: &Environment) -> Result<()> {
    if allowed_accounts(env).is_empty() {
        return Ok(());
    }
    let id = aws::account_id(sts).await?;
    account_allowed(env, &id)
}

/// The accounts the stack file allows (empty: no guard; validate refuses `accounts: []`).
fn allowed_accounts(env: &Environment) -> &[String] {
    env.spec.accounts.as_deref().unwrap_or_default()
}

/// The guard's decision once the account is known (no `accounts:`: any account).
pub fn account_allowed(env: &Environment, account: &str) -> Result<()> {
    let allowed = allowed_accounts(env);
    if allowed.is_empty() || allowed.iter().any(|a| a == account) {
        return Ok(());
    }
    Err(crate::ownership::errors::Refusal::WrongAccount {
        env: env.name.clone(),
        account: account.to_string(),
        file: env.source.path.clone(),
        allowed: allowed.to_vec(),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::StackStatus;

    fn file(text: &str) -> crate::config::LoadedFile {
        crate::config::parse(std::path::PathBuf::from("stacks/alien.yaml"), text.into()).unwrap()
    }

    fn env(text: &str) -> Environment {
        file(text).into_only()
    }

    fn stack(tags: &[(&str, &str)]) -> StackState {
        let mut s = StackState::new("qfleet-alien-data", StackStatus::UpdateComplete);
        s.tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s
    }

    #[test]
    fn a_stack_made_by_hand_lacks_the_environment_tag_and_is_refused() {
        let e = env("region: eu-west-1\n");
        let refused = refusal(&e, &stack(&[("team", "x")])).unwrap();
        assert_eq!(refused.exit_code(), crate::error::Exit::Refused);
        let text = refused.to_string();
        assert!(text.contains("qfleet-alien-data is not qfleet's"), "{text}");
        assert!(
            text.contains("qfleet:environment=alien (it has none)"),
            "{text}"
        );
        assert!(text.contains("qfleet deploy alien --adopt"), "{text}");
    }

    #[test]
    fn another_environments_tag_is_not_ours() {
        let e = env("region: eu-west-1\n");
        let missing = lacks("alien", None, &stack(&[(ENVIRONMENT_TAG, "other")]));
        assert_eq!(
            missing,
            ["the tag qfleet:environment=alien (it has qfleet:environment=other)"]
        );
        assert!(refusal(&e, &stack(&[(ENVIRONMENT_TAG, "alien")])).is_none());
    }

    #[test]
    fn owners_must_agree_both_ways() {
        let ours = stack(&[(ENVIRONMENT_TAG, "alien"), (OWNER_TAG, "team-a")]);
        assert!(lacks("alien", Some("team-a"), &ours).is_empty());
        // Another team's file of the same environment name.
        assert_eq!(lacks("alien", Some("team-b"), &ours).len(), 1);
        // A file that names no owner cannot take an owned stack.
        assert!(lacks("alien", None, &ours)[0].contains("belongs to owner `team-a`"));
        // A file that names an owner does not silently claim an unowned stack.
        let unowned = stack(&[(ENVIRONMENT_TAG, "alien")]);
        assert!(lacks("alien", Some("team-a"), &unowned)[0].contains("(it has none)"));
    }

    #[test]
    fn a_review_stack_without_tags_needs_no_marks_but_another_teams_review_is_theirs() {
        let mut s = StackState::new("qfleet-alien-data", StackStatus::ReviewInProgress);
        assert!(lacks("alien", Some("x"), &s).is_empty());
        s.tags = BTreeMap::from([
            (ENVIRONMENT_TAG.to_string(), "alien".to_string()),
            (OWNER_TAG.to_string(), "team-a".to_string()),
        ]);
        assert!(lacks("alien", Some("team-a"), &s).is_empty());
        assert_eq!(lacks("alien", Some("team-b"), &s).len(), 1);
    }

    #[test]
    fn the_marks_are_the_environment_its_file_and_the_owner() {
        let e = env("region: eu-west-1\nowner: team-a\n");
        assert_eq!(
            marks(&e, true),
            BTreeMap::from([
                (ENVIRONMENT_TAG.to_string(), "alien".to_string()),
                (FILE_TAG.to_string(), "alien".to_string()),
                (STACK_FILE_TAG.to_string(), "alien.yaml".to_string()),
                (KIND_TAG.to_string(), "ec2".to_string()),
                (OWNER_TAG.to_string(), "team-a".to_string()),
            ])
        );
        // A file name a tag cannot hold is not marked (and decides nothing).
        let mut odd = e.clone();
        odd.source.path = "stacks/team (old)!.yaml".into();
        assert!(!marks(&odd, true).contains_key(STACK_FILE_TAG));
        // The data stack does not say the kind: a switch of kind leaves it as it is.
        let mut data = marks(&e, true);
        data.remove(KIND_TAG);
        assert_eq!(marks(&e, false), data);
        // Every stack lacking nothing of its own marks is the environment's.
        let mut s = stack(&[]);
        s.tags = marks(&e, true);
        assert!(refusal(&e, &s).is_none());
        // A stack deployed before the file's mark was: still the environment's.
        s.tags.remove(FILE_TAG);
        assert!(refusal(&e, &s).is_none());
    }

    #[test]
    fn a_copy_and_a_target_say_which_of_their_file_they_are_and_a_target_records_the_others() {
        let copies = file("region: eu-west-1\nlab: true\ncopies: 3\n").expand();
        let m = marks(&copies[2], false);
        assert_eq!(m.get(ENVIRONMENT_TAG).map(String::as_str), Some("alien-03"));
        assert_eq!(m.get(FILE_TAG).map(String::as_str), Some("alien"));
        assert_eq!(m.get(COPY_TAG).map(String::as_str), Some("3"));
        assert!(record(&copies[2]).is_empty());
        let targets = file(
            "region: eu-west-1\nlab: true\ndeploy_role: deployer\ntargets:\n  - name: eu\n    account: '111122223333'\n  - name: us\n    account: '444455556666'\n    region: us-east-1\n  - name: ap\n    account: '777788889999'\n    region: ap-southeast-2\n    role: arn:aws:iam::777788889999:role/other\n",
        )
        .expand();
        let m = marks(&targets[1], false);
        assert_eq!(m.get(ENVIRONMENT_TAG).map(String::as_str), Some("alien-us"));
        assert_eq!(m.get(FILE_TAG).map(String::as_str), Some("alien"));
        assert_eq!(m.get(TARGET_TAG).map(String::as_str), Some("us"));
        // Every target of the file, where it is and as whom it is reached (the role only
        // where deploy_role does not name it).
        assert_eq!(
            record(&targets[1]),
            BTreeMap::from([
                (
                    "qfleet:targets:eu".to_string(),
                    "111122223333 eu-west-1".to_string()
                ),
                (
                    "qfleet:targets:us".to_string(),
                    "444455556666 us-east-1".to_string()
                ),
                (
                    "qfleet:targets:ap".to_string(),
                    "777788889999 ap-southeast-2 arn:aws:iam::777788889999:role/other".to_string()
                ),
            ])
        );
        // validate counts what deploy puts on, for every one of them.
        for e in copies.iter().chain(&targets) {
            assert_eq!(
                crate::config::qfleet_tags(e).len(),
                tag_count(e),
                "{}",
                e.name
            );
        }
    }

    #[test]
    fn the_account_guard_refuses_any_other_account() {
        let e = env("region: eu-west-1\naccounts: ['111111111111', '222222222222']\n");
        assert!(account_allowed(&e, "222222222222").is_ok());
        let refused = account_allowed(&e, "333333333333").unwrap_err();
        assert_eq!(refused.exit_code(), crate::error::Exit::Refused);
        assert!(refused.to_string().contains("account 333333333333"));
        assert!(
            refused
                .to_string()
                .contains("allows only 111111111111, 222222222222")
        );
        // Without accounts: any account; `accounts:` without a value is the same.
        assert!(account_allowed(&env("region: eu-west-1\n"), "333333333333").is_ok());
        assert!(account_allowed(&env("region: eu-west-1\naccounts:\n"), "333333333333").is_ok());
        // An empty list is no guard a reader would expect: refused, not "any account".
        let empty = crate::config::parse(
            std::path::PathBuf::from("stacks/alien.yaml"),
            "region: eu-west-1\naccounts: []\n".into(),
        );
        assert!(
            matches!(&empty, Err(crate::config::Error::Input(list)) if list[0].field == "accounts"),
            "{empty:?}"
        );
    }

    /// `dlq`, `send` and `jobs` act on a StackSets target's data stack only as its stack set's
    /// instance there, marked as the file's (SDK-level mocks: no emulator here runs qfleet's
    /// stacks as instances).
    #[tokio::test]
    async fn mocked_the_data_stack_of_a_stack_set_target_is_its_instances_marked_as_the_file() {
        use crate::aws::{
            mock::Rules, mock::instance_stacks, mock::list_instances, mock::stack_sets, mock::state,
        };
        use crate::placement::{StackNames, instances_of};
        use aws_smithy_mocks::mock;
        const A: &str = "111122223333";
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
        let canary = crate::config::load(&p).unwrap().targets.remove(0);
        let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account(A)
                .build()
        });
        let check = |data: Option<&'static str>, marked_as: &'static str| {
            let st = state(&[("qfleet-fleetsets-data", A, "eu-west-1", data)]);
            let (sets, list) = (stack_sets("fleetsets"), list_instances(&st));
            let stacks = instance_stacks(&st, A, "eu-west-1", marked_as);
            let admin = Rules {
                cfn: vec![&sets, &list],
                ..Default::default()
            }
            .clients();
            let target = Rules {
                cfn: vec![&stacks],
                sts: vec![&sts],
                ..Default::default()
            }
            .clients();
            let canary = canary.clone();
            async move {
                let at = StackNames {
                    stack_set: Some(instances_of(admin, &canary).await.unwrap()),
                };
                crate::placement::check_data_stack(&target.cfn, &target.sts, &canary, &at).await
            }
        };
        assert_eq!(
            check(Some("StackSet-qfleet-fleetsets-data-aaa"), "fleetsets")
                .await
                .unwrap(),
            "StackSet-qfleet-fleetsets-data-aaa"
        );
        let e = check(Some("StackSet-qfleet-fleetsets-data-aaa"), "other")
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), crate::error::Exit::Refused);
        assert!(
            e.to_string().contains("qfleet:environment=fleetsets"),
            "{e}"
        );
        let e = check(None, "fleetsets").await.unwrap_err().to_string();
        assert!(
            e.contains("stack set qfleet-fleetsets-data's instance there has no stack"),
            "{e}"
        );
    }

    /// Every command finds a StackSets target's stacks through `stacks_of`: with credentials of
    /// another account than the one the file keeps its stack sets in, it refuses before a
    /// stack set is read (there, they would be "none" and the target "not deployed").
    #[tokio::test]
    async fn mocked_locating_a_stack_set_target_refuses_credentials_of_another_account_than_the_stack_sets_one()
     {
        use crate::aws::{mock::Rules, mock::list_instances, mock::stack_sets, mock::state};
        use aws_smithy_mocks::mock;
        const ADMIN: &str = "999999999999";
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
        let file = crate::config::load(&p).unwrap();
        let canary = file.targets[0].clone();
        for (account, refused) in [("111122223333", true), (ADMIN, false)] {
            let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
                aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                    .account(account)
                    .build()
            });
            let st = state(&[(
                "qfleet-fleetsets-data",
                "111122223333",
                "eu-west-1",
                Some("StackSet-qfleet-fleetsets-data-aaa"),
            )]);
            let (sets, list) = (stack_sets("fleetsets"), list_instances(&st));
            let admin = Rules {
                cfn: vec![&sets, &list],
                sts: vec![&sts],
                ..Default::default()
            }
            .clients();
            let aws =
                crate::aws::Aws::with_clients([((file.base.spec.region.clone(), None), admin)]);
            let found = crate::placement::stacks_of(&aws, &canary).await;
            if refused {
                let e = found.unwrap_err();
                assert_eq!(e.exit_code(), crate::error::Exit::Refused);
                let e = e.to_string();
                assert!(
                    e.contains("the credentials are for account 111122223333, and ")
                        && e.contains("acts on its stack sets from account 999999999999"),
                    "{e}"
                );
                assert_eq!(sets.num_calls(), 0, "no stack set read");
            } else {
                let at = found.unwrap();
                assert_eq!(
                    at.name("qfleet-fleetsets-eu1-data").as_deref(),
                    Some("StackSet-qfleet-fleetsets-data-aaa")
                );
            }
        }
    }
}
