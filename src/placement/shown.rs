//! How a target is deployed, as `validate` shows it: directly, or through StackSets with its
//! stack sets, permissions and administration account; each stack's stack set. (The size of
//! the template each stack is deployed with is the engine's: `qfleet_engine::validate`.)

use crate::config::Environment;
use schemars::JsonSchema;
use serde::Serialize;

// How the file's targets are deployed (flattened into a target's summary: no doc comment, which
// would become that schema's description).
#[derive(Serialize, JsonSchema)]
pub(crate) struct Mode<'a> {
    /// How the file's targets are deployed (`rollout.mode`).
    #[schemars(extend("enum" = ["direct", "stack_sets"]))]
    mode: &'static str,
    /// With `mode: stack_sets`, how; else null.
    stack_sets: Option<StackSetsBody<'a>>,
}

/// How a target's stack sets are reached (`rollout.mode: stack_sets`).
#[derive(Serialize, JsonSchema)]
pub(crate) struct StackSetsBody<'a> {
    #[schemars(extend("enum" = ["self_managed", "service_managed"]))]
    permission_model: &'static str,
    /// The account qfleet acts on the stack sets from (`rollout.administration_account`, or
    /// the administration role's); null when the file names none.
    administration_account: Option<String>,
    /// As whom (`rollout.call_as`): the account that holds the stack sets, or a delegated
    /// administrator.
    #[schemars(extend("enum" = ["self", "delegated_admin"]))]
    call_as: &'static str,
    /// The AWS Organizations unit of the target's account (service-managed), or the unit the
    /// target stands for (`auto_deployment`); else null.
    organizational_unit: Option<&'a str>,
    /// Whether the target stands for every account of its unit (`rollout.auto_deployment`):
    /// its `account` and `role_arn` are then null, its accounts found when a command runs.
    auto_deployment: bool,
    /// With `auto_deployment`, the role qfleet assumes in each account of the unit
    /// (`arn:PARTITION:iam::ACCOUNT:role/NAME`, ACCOUNT standing for each); else null.
    account_role: Option<String>,
}

// A rendered stack's stack set (flattened into the stack's summary).
#[derive(Serialize, JsonSchema)]
pub(crate) struct SetOf {
    /// For a target deployed through StackSets: the stack set whose instance in the target's
    /// account and region this stack is; else null.
    stack_set: Option<String>,
}

/// How `env`, a target, is deployed; `account_role` is the role assumed in each account of a
/// whole unit, if it is one.
pub(crate) fn mode(env: &Environment, account_role: Option<String>) -> Mode<'_> {
    Mode {
        mode: env.spec.rollout.mode.as_str(),
        stack_sets: env
            .target
            .as_ref()
            .filter(|_| !env.deployed_directly())
            .map(|t| StackSetsBody {
                permission_model: env.spec.rollout.permission_model.as_str(),
                administration_account: crate::config::administration_account(env),
                call_as: env.spec.rollout.call_as.as_str(),
                organizational_unit: t.organizational_unit.as_deref(),
                auto_deployment: env.whole_unit(),
                account_role,
            }),
    }
}

/// The stack set of `env`'s stack `stack`, if any.
pub(crate) fn set_of(env: &Environment, stack: &str) -> SetOf {
    SetOf {
        stack_set: env.stack_set_of(stack),
    }
}

/// A stack as a summary names it: `instance of stack set NAME`, or its own name.
pub(crate) fn stack_label(env: &Environment, stack: &str) -> String {
    match env.stack_set_of(stack) {
        Some(set) => format!("instance of stack set {set}"),
        None => stack.to_string(),
    }
}

/// How a target deployed through StackSets is reached: by which stack sets, with which
/// permissions, from which account; `None` for any other environment.
pub(crate) fn line(env: &Environment) -> Option<String> {
    if env.deployed_directly() {
        return None;
    }
    let r = &env.spec.rollout;
    let sets: Vec<String> = env
        .stack_names()
        .iter()
        .filter_map(|s| env.stack_set_of(s))
        .collect();
    let from = match (crate::config::administration_account(env), r.call_as) {
        (Some(a), crate::config::CallAs::DelegatedAdmin) => {
            format!("delegated administrator account {a}")
        }
        (Some(a), _) => format!("account {a}"),
        (None, _) => "the credentials' account".to_string(),
    };
    let permissions = match r.permission_model {
        crate::config::PermissionModel::ServiceManaged => "service-managed",
        crate::config::PermissionModel::SelfManaged => "self-managed",
    };
    let instances = match env.whole_unit() {
        true => {
            "with automatic deployment: an instance in every account of each target's unit, accounts that join it included"
        }
        false => "an instance per target",
    };
    Some(format!(
        "deployed through CloudFormation StackSets ({permissions} permissions, from {from}): stack sets {}, {instances}",
        sets.join(", ")
    ))
}
