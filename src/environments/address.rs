//! An environment named with its place (`orders-us1@us-east-1`), and a bare name that more
//! than one environment has. After a split (a target moved to a file of its own), a move (a
//! target or a file to another Region or account) or a rename, one name can stand for a live
//! environment and one its file no longer makes. A command that reads or tears down reaches
//! exactly the one meant, and asks when a name alone does not say which.

use super::Place;
use crate::aws::Aws;
use crate::aws::cfn::stacks;
use crate::config::{Environment, StackFiles};
use crate::error::{Error, Result, Usage};
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
    match super::load_from(&[name.to_string()], stacks_dir, files) {
        Ok(envs) => {
            for env in envs {
                let path = env.source.path.clone();
                if env.name == name && place_matches(&place_of(aws, &env), place) {
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
        Err(Error::Usage(Usage::NotInFile { file, .. })) => {
            if let Some(r) = super::named(aws, &files.load(&file)?, name, Some(place)).await? {
                found.push(r);
            }
            searched.push(file);
        }
        // No file makes the name: the file whose target or copy it was may have made it.
        Err(Error::Usage(_)) => {}
        Err(other) => return Err(other),
    }
    for base in super::base_files(name, stacks_dir) {
        if searched.iter().any(|p| super::same_file(p, &base)) {
            continue;
        }
        if let Some(r) = super::named(aws, &files.load(&base)?, name, Some(place)).await? {
            found.push(r);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Usage::NotAtPlace {
            name: name.to_string(),
            place: place.describe(),
            stacks_dir: stacks_dir.to_path_buf(),
            why: "its stacks there are not marked as made by one of them, or there are none"
                .to_string(),
        }
        .into()),
        _ => Err(Usage::Ambiguous {
            name: place.address(name),
            candidates: found
                .iter()
                .map(|e| {
                    format!(
                        "{} (made by {})",
                        place_of(aws, e).address(&e.name),
                        e.source.display()
                    )
                })
                .collect(),
        }
        .into()),
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
    let Some(data) = stacks::describe(&clients.cfn, &env.data_stack_name())
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
    let names = stacks::names(&clients.cfn, "qfleet-")
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
/// to) and also for one that a stack file made and no longer makes: the file whose target or
/// copy it would be (`orders.yaml`, or the file declaring `orders`, of `orders-us1`: after a
/// split), or the file it is the name of (`class.yaml`, renamed to `course`, made `class`). The
/// name alone would reach the live ones, and a teardown meant for the retired one would delete
/// them.
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
    let mut others: Vec<std::path::PathBuf> = super::base_files(arg, stacks_dir)
        .into_iter()
        .filter(|b| !envs.iter().any(|e| super::same_file(b, &e.source.path)))
        .collect();
    // The file the name is the file name of, when it resolved to environments of other names.
    if let Some(own) = super::file_named(arg, stacks_dir)
        && envs.iter().all(|e| e.name != arg)
    {
        others.push(own);
    }
    for file in others {
        let Some(other) = super::named(aws, &files.load(&file)?, arg, None).await? else {
            continue;
        };
        let live = envs.iter().take(3).map(|e| {
            format!(
                "{} (made by {})",
                place_of(aws, e).address(&e.name),
                e.source.display()
            )
        });
        let retired = format!(
            "{} (made by {}, which no longer makes it)",
            place_of(aws, &other).address(&other.name),
            other.source.display()
        );
        return Err(Usage::Ambiguous {
            name: arg.to_string(),
            candidates: live.chain(std::iter::once(retired)).collect(),
        }
        .into());
    }
    Ok(())
}
