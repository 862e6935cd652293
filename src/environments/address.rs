//! An environment named with its place (`orders-us1@us-east-1`), and a bare name that more
//! than one environment has. After a split (a target moved to a file of its own), a move (a
//! target or a file to another Region or account) or a rename, one name can stand for a live
//! environment and one its file no longer makes. A command that reads or tears down reaches
//! exactly the one meant, and asks when a name alone does not say which.

use super::Place;
use crate::aws;
use crate::aws::Aws;
use crate::config::{Environment, StackFiles};
use crate::error::{Error, Result};
use std::path::Path;

/// Where `env` is: its Region (`--region` where the file lets it), and its account where its
/// file names one.
pub(crate) fn place_of(aws: &Aws, env: &Environment) -> Place {
    Place {
        account: env
            .target
            .as_ref()
            .and_then(|t| t.account.clone())
            .or_else(|| match env.spec.accounts.as_deref() {
                Some([one]) => Some(one.clone()),
                _ => None,
            }),
        region: aws.region_for(&env.spec.region),
    }
}

/// Where an interrupted run left each of `session`'s environments, as its reporter's ledger
/// says: each at its place, with its lock when the run still holds it.
pub(crate) fn stopped<E>(
    session: &crate::session::Session,
    reporter: &crate::output::Reporter<E>,
) -> Vec<crate::error::Stopped> {
    session
        .envs
        .iter()
        .map(|env| {
            let at = place_of(&session.aws, env);
            let mut s = reporter
                .ledger
                .stopped(&env.name, &at.region, at.account.as_deref());
            s.left_behind.extend(crate::lock::left_behind(&env.name));
            s
        })
        .collect()
}

/// The one environment named `name` at `place`: one a stack file here makes there, one it
/// made there and no longer makes (found by its marks), or a file's environment whose stacks
/// are still there after the file moved it. None, or more than one, is an error naming what
/// was looked for.
pub(crate) async fn at_place(
    aws: &Aws,
    files: &StackFiles,
    stacks_dir: &Path,
    name: &str,
    place: &Place,
) -> Result<Environment> {
    let mut found: Vec<Environment> = Vec::new();
    let mut searched: Vec<std::path::PathBuf> = Vec::new();
    // A file that names no account is in the credentials' own: asked of STS only where the
    // address names an account.
    let own = match &place.account {
        Some(_) => {
            let clients = aws.clients(&place.region).await;
            Some(
                crate::aws::account_id(&clients.sts)
                    .await
                    .map_err(Error::from)?,
            )
        }
        None => None,
    };
    match super::load_from(&[name.to_string()], stacks_dir, files) {
        Ok(envs) => {
            for env in envs {
                let path = env.source.path.clone();
                let mut at = place_of(aws, &env);
                at.account = at.account.or_else(|| own.clone());
                if env.name == name && place_matches(&at, place) {
                    found.push(env);
                    continue;
                }
                // The file the name resolved to may have made an environment of that very
                // name there (`class.yaml`, renamed to `course`, made `class`): once a file.
                if searched.iter().any(|p| super::same_file(p, &path)) {
                    continue;
                }
                searched.push(path.clone());
                if let Some(r) = super::named(aws, &files.load(&path)?, name, Some(place)).await? {
                    found.push(r);
                } else if env.name == name
                    && let Some(moved) = moved_here(aws, &env, place).await?
                {
                    found.push(moved);
                }
            }
        }
        Err(e) => match e.of::<super::errors::Usage>() {
            Some(super::errors::Usage::NotInFile { file, .. }) => {
                let file = file.clone();
                if let Some(r) = super::named(aws, &files.load(&file)?, name, Some(place)).await? {
                    found.push(r);
                }
                searched.push(file);
            }
            // No file makes the name: the file whose target or copy it was may have made it.
            _ if matches!(e, Error::Usage(_)) => {}
            _ => return Err(e),
        },
    }
    for base in super::base_files(name, stacks_dir) {
        if searched.iter().any(|p| super::same_file(p, &base)) {
            continue;
        }
        if let Some(r) = super::named(aws, &files.load(&base)?, name, Some(place)).await? {
            found.push(r);
        }
    }
    // No file here makes or made it: from its stacks alone.
    if found.is_empty()
        && let Some(env) = super::from_stacks(aws, name, place).await?
    {
        found.push(env);
    }
    // What the name reaches there, as the model of identity says: the same stacks reached
    // through two files (a split whose new file has not deployed yet) are one environment.
    let key = |e: &Environment| super::identity::Key {
        name: e.resource_name().to_string(),
        account: place_of(aws, e).account.or_else(|| own.clone()),
        region: aws.region_for(&e.spec.region),
    };
    let making = found
        .iter()
        .map(|e| super::identity::Making {
            key: key(e),
            file: e.source.path.clone(),
            file_environment: e.file_environment().to_string(),
            owner: e.spec.owner.clone(),
        })
        .collect();
    let world = super::identity::World::new(making, Vec::new(), Vec::new(), Vec::new());
    match world.reach(name, Some(place)) {
        super::identity::Reach::One(one) => match found.iter().position(|e| key(e) == *one.key) {
            Some(at) => Ok(found.swap_remove(at)),
            None => Err(Error::aws(format!(
                "{}: the environment it reaches was not among those found",
                place.address(name)
            ))),
        },
        super::identity::Reach::None => Err(crate::environments::errors::Usage::NotAtPlace {
            name: name.to_string(),
            place: place.describe(),
            stacks_dir: stacks_dir.to_path_buf(),
            why: "its stacks there are not marked as made by one of them, or there are none"
                .to_string(),
        }
        .into()),
        super::identity::Reach::Several(list) => {
            Err(crate::environments::errors::Usage::Ambiguous {
                name: place.address(name),
                candidates: list
                    .iter()
                    .map(|(e, address)| {
                        let files: Vec<String> = e
                            .makers
                            .iter()
                            .map(|m| m.file.display().to_string())
                            .collect();
                        format!("{address} (made by {})", files.join(" and "))
                    })
                    .collect(),
            }
            .into())
        }
    }
}

/// Whether `have` is the place `want` names (an account `want` does not name matches any).
fn place_matches(have: &Place, want: &Place) -> bool {
    have.region == want.region
        && want
            .account
            .as_ref()
            .is_none_or(|a| have.account.as_ref() == Some(a))
}

/// The file's environment `env` (not a target: a target's record finds a moved one) at
/// `place`, where its data stack there says it is that environment of that file: the stacks
/// its file made before it moved to another Region. Reached in `place`'s account only (the
/// account guard), never another's.
async fn moved_here(aws: &Aws, env: &Environment, place: &Place) -> Result<Option<Environment>> {
    if env.target.is_some() {
        return Ok(None);
    }
    let clients = aws.clients(&place.region).await;
    let Some(data) = aws::describe_stack(&clients.cfn, &env.data_stack_name())
        .await
        .map_err(Error::from)?
    else {
        return Ok(None);
    };
    let tag = |k: &str| data.tags.get(k).map(String::as_str);
    let ours = tag(crate::config::ENVIRONMENT_TAG) == Some(env.resource_name())
        && tag(crate::config::FILE_TAG) == Some(env.file_environment())
        && tag(crate::config::OWNER_TAG) == env.spec.owner.as_deref();
    if !ours {
        return Ok(None);
    }
    // Its stacks there must be the ones its environment is made of now: a stage the file
    // dropped since is refused, never left behind unseen (as `named` does).
    let names = aws::stack_names(&clients.cfn, "qfleet-")
        .await
        .map_err(Error::from)?;
    let own = env.stack_names();
    let strange: Vec<String> = super::Made::of(&data, &names)
        .map(|m| m.stacks)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !own.contains(s))
        .collect();
    if !strange.is_empty() {
        return Err(Error::aws(format!(
            "{}: its stacks in {} include ones its file would not name now ({}): qfleet reads and tears down only the stacks it can name; delete these yourself once their data is safe",
            env.name,
            place.describe(),
            strange.join(", ")
        )));
    }
    let mut moved = env.clone();
    moved.spec.region.clone_from(&place.region);
    if let Some(a) = &place.account {
        moved.spec.accounts = Some(vec![a.clone()]);
    }
    for stage in &mut moved.pipeline {
        stage.spec.region.clone_from(&moved.spec.region);
        stage.spec.accounts.clone_from(&moved.spec.accounts);
    }
    Ok(Some(moved))
}

/// Refuses a bare name (`arg`) that stands for the live environments `envs` (those it resolved
/// to) where one of their names also reaches an environment a stack file made and no longer
/// makes: one of their own files' (a target moved to another Region keeps its name there
/// until it is torn down), the file whose target or copy the name would be (`orders.yaml`,
/// or the file declaring `orders`, of `orders-us1`: after a split), or the file the name is
/// the file name of (`class.yaml`, renamed to `course`, made `class`). The name alone would
/// reach the live ones, and a teardown meant for the retired one would delete them. Each is
/// named by the address that reaches it alone.
pub(crate) async fn check_unambiguous(
    aws: &Aws,
    files: &StackFiles,
    stacks_dir: &Path,
    arg: &str,
    envs: &[&Environment],
) -> Result<()> {
    if envs.is_empty() {
        return Ok(());
    }
    let mut sources: Vec<std::path::PathBuf> = Vec::new();
    let candidates = envs
        .iter()
        .map(|e| e.source.path.clone())
        .chain(super::base_files(arg, stacks_dir))
        .chain(super::file_named(arg, stacks_dir));
    for path in candidates {
        if !sources.iter().any(|p| super::same_file(p, &path)) {
            sources.push(path);
        }
    }
    // The names the word reaches: its environments', and the word itself where it is a bare
    // name that resolved to environments of other names (a file's: `class.yaml` renamed to
    // `course` made `class`).
    let mut names: std::collections::BTreeSet<&str> =
        envs.iter().map(|e| e.name.as_str()).collect();
    let as_file = super::names::bare(arg) && !names.contains(arg);
    if as_file {
        names.insert(arg);
    }
    let mut retired: Vec<super::search::Retired> = Vec::new();
    for path in sources {
        for r in super::search::retired_of_file(aws, &files.load(&path)?).await? {
            let known = retired.iter().any(|o| o.marked().key == r.marked().key);
            if names.contains(r.environment.as_str()) && !known {
                retired.push(r);
            }
        }
    }
    // The live ones and the retired ones as one world: what each name reaches.
    let key = |e: &Environment| super::identity::Key {
        name: e.name.clone(),
        account: place_of(aws, e).account,
        region: aws.region_for(&e.spec.region),
    };
    let making: Vec<super::identity::Making> = envs
        .iter()
        .map(|e| super::identity::Making {
            key: key(e),
            file: e.source.path.clone(),
            file_environment: e.file_environment().to_string(),
            owner: e.spec.owner.clone(),
        })
        .collect();
    let marked = retired.iter().map(|r| r.marked()).collect();
    let world = super::identity::World::new(making, marked, Vec::new(), Vec::new());
    // A live one in the credentials' own account beside a retired one of its name in its
    // Region (in another account): its address must name the account to reach it alone.
    let crowded = envs.iter().any(|env| {
        let at = place_of(aws, env);
        at.account.is_none()
            && retired
                .iter()
                .any(|r| r.environment == env.name && r.region == aws.region_for(&env.spec.region))
    });
    let own = match (crowded, envs.first()) {
        (true, Some(env)) => {
            let clients = aws.clients(&aws.region_for(&env.spec.region)).await;
            Some(
                crate::aws::account_id(&clients.sts)
                    .await
                    .map_err(Error::from)?,
            )
        }
        _ => None,
    };
    // Each candidate by the address that reaches it alone: a live one's place, a retired one's
    // printed address.
    let said = |e: &super::identity::Entity| -> String {
        if let Some(env) = envs.iter().find(|env| key(env) == *e.key) {
            let mut at = place_of(aws, env);
            at.account = at.account.or_else(|| own.clone());
            return format!(
                "{} (made by {})",
                at.address(&env.name),
                env.source.display()
            );
        }
        match retired.iter().find(|r| r.marked().key == *e.key) {
            Some(r) => format!(
                "{} (made by {}, which no longer makes it)",
                r.address(),
                r.file
            ),
            None => world.address(e.key),
        }
    };
    for name in &names {
        let reached = world.named(name, None);
        // A file's word that is also a retired environment's name: the file's environments
        // and that one.
        let several = if as_file && *name == arg && !reached.is_empty() {
            let mut all: Vec<String> = envs
                .iter()
                .take(3)
                .map(|env| {
                    format!(
                        "{} (made by {})",
                        place_of(aws, env).address(&env.name),
                        env.source.display()
                    )
                })
                .collect();
            all.extend(reached.iter().map(said));
            Some(all)
        } else {
            (reached.len() > 1).then(|| reached.iter().map(said).collect())
        };
        if let Some(candidates) = several {
            return Err(crate::environments::errors::Usage::Ambiguous {
                name: arg.to_string(),
                candidates,
            }
            .into());
        }
    }
    Ok(())
}
