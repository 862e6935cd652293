//! Where an environment's stacks are. Under their own names (`qfleet-ENV-data`), or, for a
//! target its stack file deploys through StackSets (`rollout.mode: stack_sets`), as the stacks
//! of its file's stack sets' instances in the target's account and region: CloudFormation names
//! them (`StackSet-qfleet-FILE-data-…`) and puts the stack set's tags on them, the file's
//! marks (`qfleet:environment` = the file's environment; "the key-value pairs to associate
//! with this stack set and the stacks created from it",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html>).
//! Which stack is a target's is read from the stack sets themselves (ListStackInstances, in
//! the account and region that hold them), never guessed from a name; a stack set without the
//! file's marks is not the file's, and its instances are no target's.

use crate::aws::{self, CallAs, StackInstance as Instance, StackSetApi as Api};
use crate::aws::{Aws, Clients};
use crate::config::Environment;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Where one environment's stacks are.
#[derive(Debug, Clone, Default)]
pub(crate) struct StackNames {
    /// `None`: under their own names.
    pub(crate) stack_set: Option<StackSetTarget>,
}

/// A target's stacks as its file's stack sets' instances.
#[derive(Debug, Clone)]
pub(crate) struct StackSetTarget {
    /// The clients of the account and region that hold the stack sets (or of their delegated
    /// administrator), and as whom they act there.
    pub(crate) admin: Clients,
    pub(crate) call_as: CallAs,
    /// The file's environment and `owner`: the marks its stack sets and their stacks carry.
    pub(crate) file: String,
    pub(crate) owner: Option<String>,
    pub(crate) account: String,
    /// The account's AWS Organizations unit (service-managed permissions).
    pub(crate) organizational_unit: Option<String>,
    pub(crate) region: String,
    /// Each of the environment's own stack names (`qfleet-orders-eu-data`) with its stack
    /// set's instance there (`None`: the stack set has no instance in this account and region).
    pub(crate) instances: BTreeMap<String, (String, Option<Instance>)>,
}

impl StackNames {
    /// The stacks under their own names.
    pub(crate) fn own() -> StackNames {
        StackNames::default()
    }

    /// The name the stack qfleet calls `own` has in the account and region; `None` when it has
    /// no stack there (no instance, or an instance whose stack was never created).
    pub(crate) fn name(&self, own: &str) -> Option<String> {
        let Some(t) = &self.stack_set else {
            return Some(own.to_string());
        };
        t.instances
            .get(own)
            .and_then(|(_, i)| i.as_ref())
            .and_then(|i| i.stack_id.as_deref())
            .map(|id| aws::stack_name_of(id).to_string())
    }

    /// The environment whose marks the stacks carry.
    pub(crate) fn marked_as<'a>(&'a self, env: &'a Environment) -> &'a str {
        self.stack_set
            .as_ref()
            .map_or(env.name.as_str(), |t| t.file.as_str())
    }
}

impl StackSetTarget {
    /// The stack sets' API as the file acts on them.
    pub(super) fn api(&self) -> Api<'_> {
        Api::new(&self.admin.cfn, self.call_as)
    }

    /// The AWS Organizations unit to name the target's account in for stack set `set`
    /// (service-managed permissions): the one its instance there was created in, as
    /// ListStackInstances says, else the file's.
    pub(crate) fn unit_for(&self, set: &str) -> Option<&str> {
        self.instances
            .values()
            .find(|(s, _)| s == set)
            .and_then(|(_, i)| i.as_ref()?.organizational_unit.as_deref())
            .or(self.organizational_unit.as_deref())
    }

    /// The ids of `env`'s instances' stacks, the data stack's first (what a bake watches); an
    /// instance without a stack, or no instance, is an error.
    pub(super) fn stack_ids(&self, env: &Environment) -> std::result::Result<Vec<String>, String> {
        env.stack_names()
            .iter()
            .map(|own| {
                let (set, instance) = self
                    .instances
                    .get(own)
                    .ok_or_else(|| format!("{own} is no stack set's"))?;
                instance
                    .as_ref()
                    .and_then(|i| i.stack_id.clone())
                    .ok_or_else(|| {
                        format!(
                            "stack set {set} has no stack in {} {}",
                            self.account, self.region
                        )
                    })
            })
            .collect()
    }

    /// The stack set and the instance of the stack named `name` there (an instance's stack
    /// name, or qfleet's own name of a stack).
    pub(crate) fn of_stack(&self, name: &str) -> Option<(&str, &Instance)> {
        match self.instance_of(name)? {
            (set, Some(i)) => Some((set, i)),
            (_, None) => None,
        }
    }

    /// The stack set of the stack `name` (its instance's stack's name, or qfleet's own name
    /// for it), and its instance in the target's account and region, if it has one.
    pub(crate) fn instance_of(&self, name: &str) -> Option<(&str, Option<&Instance>)> {
        self.instances.iter().find_map(|(own, (set, i))| {
            let stack = i
                .as_ref()
                .and_then(|i| i.stack_id.as_deref())
                .map(aws::stack_name_of);
            (own == name || stack == Some(name)).then_some((set.as_str(), i.as_ref()))
        })
    }
}

/// Each stack of `env` by the name it has there, with the template the file renders for it. A
/// StackSets target's stacks get their stack sets' templates (what its instances get).
pub(crate) fn wanted_templates(
    env: &Environment,
    at: &StackNames,
) -> Result<Vec<(String, String)>> {
    // Each stack by the name it has there, with the template it should have.
    Ok(match &at.stack_set {
        None => crate::render::render(env)?
            .into_iter()
            .map(|r| (r.stack_name, r.template))
            .collect(),
        Some(t) => {
            // The file the target came from, loaded with it.
            let Some(file) = env.target.as_ref().map(|t| &t.file) else {
                return Err(Error::aws(format!(
                    "{}: its stacks are stack set instances, and it is no target of a file",
                    env.name
                )));
            };
            let sets = crate::render::stack_sets_for(&file.base, file.targets())?;
            let mut wanted = Vec::new();
            for (own, (set, _)) in &t.instances {
                let Some(name) = at.name(own) else { continue };
                // Every stack there has its stack set in the file, or nothing can be said.
                let template = sets
                    .iter()
                    .find(|s| &s.stack_name == set)
                    .ok_or_else(|| {
                        Error::aws(format!(
                            "{}: stack {name} is stack set {set}'s instance, and {} renders no such stack set: cannot say whether it is up to date",
                            env.name,
                            env.source.path.display()
                        ))
                    })?
                    .template
                    .clone();
                wanted.push((name, template));
            }
            wanted
        }
    })
}

/// As whom `env`'s file acts on its stack sets (`rollout.call_as`).
pub(super) fn call_as(env: &Environment) -> CallAs {
    match env.spec.rollout.call_as {
        crate::config::CallAs::SelfAccount => CallAs::Holder,
        crate::config::CallAs::DelegatedAdmin => CallAs::DelegatedAdmin,
    }
}

/// The stack set `set`, which must carry the marks of the file's environment `file` (and
/// `owner`), else refused for `env` (exit 4); `None` when there is none.
pub(super) async fn describe_ours(
    api: Api<'_>,
    set: &str,
    env: &str,
    file: &str,
    owner: Option<&str>,
) -> Result<Option<aws::StackSet>> {
    let Some(current) = aws::describe_stack_set(api, set).await? else {
        return Ok(None);
    };
    let lacks = crate::ownership::lacks_tags(file, owner, &current.tags);
    if !lacks.is_empty() {
        return Err(super::errors::Refusal::StackSetNotOurs {
            env: env.to_string(),
            set: set.to_string(),
            lacks,
        }
        .into());
    }
    Ok(Some(current))
}

/// Where `env`'s stacks are: its own names, or, for a target deployed through StackSets, its
/// instances, read in the account and region that hold the file's stack sets (the
/// credentials' own account, in the file's `region`). A stack set that could not be read is
/// an error: never "no instance".
pub(crate) async fn stacks_of(aws: &Aws, env: &Environment) -> Result<StackNames> {
    if !env.through_stack_sets() {
        return Ok(StackNames::own());
    }
    let admin = admin_clients(aws, file_of(env)?, &env.name).await?;
    Ok(StackNames {
        stack_set: Some(instances_of(admin, env).await?),
    })
}

/// The own settings of the stack file target `env` came from ([`TargetFile::base`], loaded
/// with it).
///
/// [`TargetFile::base`]: crate::config::TargetFile::base
pub(super) fn file_of(env: &Environment) -> Result<&Environment> {
    env.target.as_ref().map(|t| &t.file.base).ok_or_else(|| {
        Error::aws(format!(
            "{}: not a target of a stack file, so it has no stack sets",
            env.name
        ))
    })
}

/// The clients of the account and region that hold StackSets file `file`'s stack sets: the
/// credentials qfleet runs with, in the file's region. When the file names that account
/// ([`crate::config::administration_account`]), credentials of another
/// account are refused for `env` before anything is read: there, the file's stack sets would
/// be "none", and its targets "not deployed".
pub(crate) async fn admin_clients(aws: &Aws, file: &Environment, env: &str) -> Result<Clients> {
    let admin = aws
        .clients_as(&aws.region_for(&file.spec.region), None)
        .await;
    if let Some(expected) = crate::config::administration_account(file) {
        let account = crate::aws::account_id(&admin.sts).await?;
        if account != expected {
            return Err(super::errors::Refusal::WrongAdministrationAccount {
                env: env.to_string(),
                account,
                file: file.source.path.clone(),
                expected,
            }
            .into());
        }
    }
    Ok(admin)
}

/// The detailed status of an instance whose account StackSets skipped as suspended.
const SKIPPED_SUSPENDED: &str = "SKIPPED_SUSPENDED_ACCOUNT";

/// The target's instance in each of its file's stack sets, read with `admin`.
pub(crate) async fn instances_of(admin: Clients, env: &Environment) -> Result<StackSetTarget> {
    let file = env.file_environment().to_string();
    if env.whole_unit() {
        return unit_without_accounts(admin, env).await;
    }
    // Validation requires it of every StackSets target; without it, no instance is the
    // target's, and "none" must not be said.
    let account = env
        .target
        .as_ref()
        .and_then(|t| t.account.clone())
        .ok_or_else(|| {
            crate::error::Error::aws(format!(
                "{}: a target deployed through StackSets names no account: its instances cannot be told apart",
                env.name
            ))
        })?;
    let region = env.spec.region.clone();
    let mut instances = BTreeMap::new();
    let api = Api::new(&admin.cfn, call_as(env));
    for (name, set) in env.stack_set_names() {
        let owner = env.spec.owner.as_deref();
        let found = match describe_ours(api, &set, &env.name, &file, owner).await? {
            None => None,
            Some(_) => aws::stack_instance_in(api, &set, &account, &region).await?,
        };
        // StackSets skips a suspended account, and its instance then names no stack although
        // one may be there with its data ("SKIPPED_SUSPENDED_ACCOUNT: The operation in the
        // specified account and Region has been skipped because the account was suspended",
        // <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceComprehensiveStatus.html>):
        // not "no stack".
        if let Some(i) = found
            .as_ref()
            .filter(|i| i.detailed.as_deref() == Some(SKIPPED_SUSPENDED))
        {
            return Err(crate::error::Error::aws(format!(
                "{}: its instance of stack set {set} in {} {} is {SKIPPED_SUSPENDED}: StackSets skipped the account, as it does a suspended one, and the instance cannot say whether a stack is there; nothing is taken for absent",
                env.name, i.account, i.region
            )));
        }
        instances.insert(name, (set, found));
    }
    Ok(at(admin, env, file, account, instances))
}

/// `env`'s stacks as its file's stack sets' `instances` in `account` and its region.
fn at(
    admin: Clients,
    env: &Environment,
    file: String,
    account: String,
    instances: BTreeMap<String, (String, Option<Instance>)>,
) -> StackSetTarget {
    StackSetTarget {
        call_as: call_as(env),
        admin,
        file,
        owner: env.spec.owner.clone(),
        account,
        organizational_unit: env
            .target
            .as_ref()
            .and_then(|t| t.organizational_unit.clone()),
        region: env.spec.region.clone(),
        instances,
    }
}

/// Whether instance `i` is one of whole-unit target `env`'s: in its region, named in its unit
/// (as ListStackInstances says).
fn of_unit(env: &Environment, i: &Instance) -> bool {
    let unit = env
        .target
        .as_ref()
        .and_then(|t| t.organizational_unit.as_deref());
    i.region == env.spec.region && unit.is_some() && i.organizational_unit.as_deref() == unit
}

/// Whole-unit target `env`'s stacks, each with its stack set's name and that set's instances
/// in the unit ([`of_unit`]); `None` where the file's stack set is not there. A stack set that
/// could not be read, or is not the file's, is an error.
pub(super) async fn unit_sets(
    admin: &Clients,
    env: &Environment,
) -> Result<Vec<(String, String, Option<Vec<Instance>>)>> {
    let api = Api::new(&admin.cfn, call_as(env));
    let file = env.file_environment();
    let owner = env.spec.owner.as_deref();
    let mut out = Vec::new();
    for (name, set) in env.stack_set_names() {
        let instances = match describe_ours(api, &set, &env.name, file, owner).await? {
            None => None,
            Some(_) => Some(
                aws::stack_instances(api, &set)
                    .await?
                    .into_iter()
                    .filter(|i| of_unit(env, i))
                    .collect(),
            ),
        };
        out.push((name, set, instances));
    }
    Ok(out)
}

/// A unit-wide target none of whose accounts has an instance in its region ([`super::accounts::accounts_of`]
/// found none): its stacks are nowhere, read again so that "not deployed" is said only on
/// that evidence. An instance listed now is an error (one was created since): run again.
async fn unit_without_accounts(admin: Clients, env: &Environment) -> Result<StackSetTarget> {
    let mut instances = BTreeMap::new();
    for (name, set, listed) in unit_sets(&admin, env).await? {
        if let Some(i) = listed.into_iter().flatten().next() {
            return Err(crate::error::Error::aws(format!(
                "{}: stack set {set} has an instance in {} {} now, which was not there a moment ago: run the command again",
                env.name, i.account, env.spec.region
            )));
        }
        instances.insert(name, (set, None));
    }
    let file = env.file_environment().to_string();
    Ok(at(admin, env, file, String::new(), instances))
}

/// Before acting on the data stack's resources by their names (`dlq`, `send`, `jobs`): the
/// account guard, then the data stack must exist and carry the environment's marks, so that a
/// queue or bucket of the same name that is another's is never drained, purged or written to.
/// The data stack is where `at` says (a target deployed through StackSets: its stack set's
/// instance, marked as the file's). A stack that could not be read is an error, never "ours".
/// Gives the data stack's name there.
pub(crate) async fn check_data_stack(
    cfn: &aws_sdk_cloudformation::Client,
    sts: &aws_sdk_sts::Client,
    env: &Environment,
    at: &StackNames,
) -> Result<String> {
    crate::ownership::check_account(sts, env).await?;
    let own = env.data_stack_name();
    let Some(name) = at.name(&own) else {
        return Err(crate::error::Error::aws(format!(
            "{}: stack set {}'s instance there has no stack; is the environment deployed? (`qfleet status {}`)",
            env.name,
            env.stack_set_of(&own).unwrap_or_else(|| own.clone()),
            env.name
        )));
    };
    match crate::aws::describe_stack(cfn, &name).await? {
        None => Err(Error::aws(format!(
            "{}: stack {name} does not exist; is the environment deployed? (`qfleet status {}`)",
            env.name, env.name
        ))),
        Some(state) => {
            let missing =
                crate::ownership::lacks(at.marked_as(env), env.spec.owner.as_deref(), &state);
            if missing.is_empty() {
                return Ok(name);
            }
            Err(crate::ownership::errors::Refusal::StackNotOurs {
                env: env.name.clone(),
                stack: state.name.clone(),
                lacks: missing,
            }
            .into())
        }
    }
}
