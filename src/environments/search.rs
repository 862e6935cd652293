//! The search for the environments a stack file made and no longer makes.

use super::{Made, Recorded};
use crate::aws;
use crate::aws::{Aws, Clients};
use crate::config::Environment;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How many data stacks are read at once.
const AT_ONCE: usize = 8;

/// One environment a stack file made that the file no longer makes.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct Retired {
    /// Its name (`class-21`): `status` and `teardown` take it.
    pub environment: String,
    /// The stack file that made it.
    pub file: String,
    /// The account it is in: as its file's record says, else as its data stack's ARN says.
    #[serde(rename = "account")]
    pub in_account: Option<String>,
    /// The account its file or its file's record names (`None`: the credentials' own): the
    /// one its address names, and its record keeps.
    #[serde(skip)]
    #[schemars(skip)]
    pub account: Option<String>,
    pub region: String,
    /// Its stacks there, the data stack first.
    pub stacks: Vec<String>,
    /// Why the file no longer makes it.
    pub why: String,
    /// Which target or copy of its file it was, where its stacks or its file's record say.
    #[serde(skip)]
    #[schemars(skip)]
    pub target: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub copy: Option<u32>,
    /// The role its file's record names to reach it.
    #[serde(skip)]
    #[schemars(skip)]
    pub role: Option<String>,
    /// The file's environment its stacks say made it (`class` before `environment: course`).
    #[serde(skip)]
    #[schemars(skip)]
    pub made_as: Option<String>,
    /// Whether its file made it under that very file's name or environment: its settings
    /// are the file's, renamed. `false`: its marks tie it to the file only by its place (its
    /// own file is gone), and it is read from its stacks alone.
    #[serde(skip)]
    #[schemars(skip)]
    pub by_this_file: bool,
    /// The address that reaches it alone ([`super::identity::World::address`]).
    #[serde(skip)]
    #[schemars(skip)]
    pub reached_as: String,
}

impl Retired {
    /// What to say of it: where it is, why, and the command that retires it. The command
    /// names it with its place (`orders-us1@us-east-1`): after a split or a move, its bare
    /// name may be another, live environment's.
    pub(crate) fn line(&self) -> String {
        format!(
            "{} ({} stack{} in {}{}) is no longer made by {}: {}; it keeps running until `qfleet teardown {}` retires it",
            self.environment,
            self.stacks.len(),
            if self.stacks.len() == 1 { "" } else { "s" },
            self.in_account
                .as_deref()
                .map(|a| format!("{a} "))
                .unwrap_or_default(),
            self.region,
            self.file,
            self.why,
            self.address()
        )
    }

    /// The name that reaches exactly it on any command line: `NAME@REGION`, or
    /// `NAME@ACCOUNT/REGION` where another environment of its name is in its Region
    /// ([`super::identity::World::address`]).
    pub(crate) fn address(&self) -> String {
        self.reached_as.clone()
    }

    /// It as the model of identity knows it: its key, and its marks as far as they are kept.
    pub(crate) fn marked(&self) -> super::identity::Marked {
        super::identity::Marked {
            key: super::identity::Key {
                name: self.environment.clone(),
                account: self.account.clone().or_else(|| self.in_account.clone()),
                region: self.region.clone(),
            },
            made: Made {
                environment: self.environment.clone(),
                file: self.made_as.clone(),
                stack_file: None,
                owner: None,
                kind: None,
                copy: self.copy.map(|c| c.to_string()),
                target: self.target.clone(),
                stacks: self.stacks.clone(),
                record: Vec::new(),
                was: Vec::new(),
                account: self.in_account.clone(),
            },
        }
    }

    /// Whether it is at `place` (an account the place does not name matches any).
    pub(crate) fn at(&self, place: &super::Place) -> bool {
        self.region == place.region
            && place
                .account
                .as_ref()
                .is_none_or(|a| self.account.as_ref() == Some(a))
    }
}

/// What a file's search found: its retired environments, or why it could not be made.
pub(crate) struct Searched {
    /// The stack file.
    pub file: String,
    pub found: Result<Vec<Retired>>,
}

/// A stack file whose search for what it no longer makes could not be made.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct Unchecked {
    pub file: String,
    /// Why (the error).
    pub why: String,
    /// No credentials, or ones AWS rejects: the run's own error says so (no note of its own).
    #[serde(skip)]
    #[schemars(skip)]
    pub credentials: bool,
}

/// What the searches of a command's stack files found, as its document's own keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct Found {
    /// The environments the stack files made and no longer make: each keeps running, billed
    /// and holding its data, until `qfleet teardown ENV` retires it.
    pub retired: Vec<Retired>,
    /// The stack files whose search could not be made: whether they left environments behind
    /// is not known.
    pub unchecked: Vec<Unchecked>,
}

impl Found {
    pub(crate) fn of(searched: Vec<Searched>) -> Found {
        let mut found = Found::default();
        for s in searched {
            match s.found {
                Ok(retired) => found.retired.extend(retired),
                Err(e) => found.unchecked.push(Unchecked {
                    file: s.file,
                    why: e.to_string(),
                    credentials: matches!(
                        &e,
                        Error::Aws(a) if a.kind == crate::aws::ErrorKind::Credentials
                    ),
                }),
            }
        }
        found
    }

    /// The lines that say it, on stderr in every format: a search that could not be made is
    /// an `error:` where it counts in the exit code (`counts`), else a warning.
    pub(crate) fn notes(&self, counts: bool) -> Vec<String> {
        let retired = self
            .retired
            .iter()
            .map(|r| format!("warning: {}", r.line()));
        let level = if counts { "error" } else { "warning" };
        let unchecked = self.unchecked.iter().filter(|u| !u.credentials).map(|u| {
            format!(
                "{level}: could not check whether {} left environments it no longer makes running: {}",
                u.file, u.why
            )
        });
        retired.chain(unchecked).collect()
    }

    /// The run's error where a search could not be made (exit 1): the document's top-level
    /// `error`, never `null` beside that exit code. `None` when every search was made, or
    /// the credentials failed (the run's own error says so).
    pub(crate) fn error(&self) -> Option<crate::error::ErrorReport> {
        let each: Vec<String> = self
            .unchecked
            .iter()
            .filter(|u| !u.credentials)
            .map(|u| format!("{}: {}", u.file, u.why))
            .collect();
        (!each.is_empty()).then(|| {
            Error::aws(format!(
                "could not check whether the stack files left environments they no longer make running ({})",
                each.join("; ")
            ))
            .report()
        })
    }

    /// The record a directly deployed target's data stack keeps beside its file's targets
    /// ([`crate::ownership::record`]): each target the file dropped that is still in AWS, so
    /// that it is found again until it is torn down. Where the file's search could not be
    /// made, every entry the stack records now (`recorded`) for a target the file no longer
    /// lists is kept: never forgotten on no evidence.
    pub(crate) fn kept_record(
        &self,
        env: &Environment,
        recorded: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        use crate::config::TARGETS_TAG;
        if env.target.is_none() {
            return self.kept_moves(env, recorded);
        }
        let Some(t) = env.target.as_ref().filter(|_| env.deployed_directly()) else {
            return Default::default();
        };
        let file = env.source.display();
        let listed: Vec<&str> = t
            .file
            .base
            .spec
            .targets
            .iter()
            .map(|x| x.name.as_str())
            .collect();
        if self.unchecked.iter().any(|u| u.file == file) {
            return recorded
                .iter()
                .filter(|(k, _)| {
                    k.strip_prefix(TARGETS_TAG)
                        .is_some_and(|name| name.contains('@') || !listed.contains(&name))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        let deploy_role = t.file.base.spec.deploy_role.as_deref();
        self.retired
            .iter()
            .filter(|r| r.file == file)
            .filter_map(|r| {
                let name = r.target.as_deref()?;
                let at = (r.account.as_deref(), r.region.as_str());
                let (key, value) =
                    crate::ownership::record_entry(deploy_role, name, at, r.role.as_deref());
                // A target the file moved keeps its old place under a key of its own, beside
                // the one where the file makes it now.
                let key = match listed.contains(&name) {
                    true => format!("{key}@{}", r.region),
                    false => key,
                };
                Some((key, value))
            })
            .collect()
    }

    /// The record a data stack of a file without targets keeps of where its environment ran
    /// before the file moved it ([`crate::config::MOVED_TAG`]): each such place still holding
    /// it, so that it is found again until it is torn down. Where the file's search could not
    /// be made, every place recorded now (`recorded`) is kept.
    fn kept_moves(
        &self,
        env: &Environment,
        recorded: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        use crate::config::MOVED_TAG;
        let file = env.source.display();
        if self.unchecked.iter().any(|u| u.file == file) {
            return recorded
                .iter()
                .filter(|(k, _)| k.starts_with(MOVED_TAG))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        self.retired
            .iter()
            .filter(|r| r.file == file && r.environment == env.resource_name())
            .filter(|r| r.region != env.spec.region)
            .map(|r| {
                (
                    format!("{MOVED_TAG}{}", r.region),
                    r.in_account.clone().unwrap_or_else(|| "-".into()),
                )
            })
            .collect()
    }

    /// Why it counts in a run's exit code where differences count: the environments no
    /// longer made, each by the address that reaches it, and the files whose search could not
    /// be made.
    pub(crate) fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.retired.is_empty() {
            let each: Vec<String> = self.retired.iter().map(Retired::address).collect();
            out.push(format!(
                "{} no longer made by {} stack file{} still running ({})",
                crate::output::words::count(
                    self.retired.len() as u64,
                    "environment",
                    "environments"
                ),
                if self.retired.len() == 1 {
                    "its"
                } else {
                    "their"
                },
                if self.retired.len() == 1 { "" } else { "s" },
                crate::output::words::and_list(&each)
            ));
        }
        for u in &self.unchecked {
            out.push(format!(
                "could not check whether {} left environments running",
                u.file
            ));
        }
        out
    }

    /// How it counts in a run's exit code where differences count (`plan
    /// --detailed-exitcode`, `status`): a retired environment is a difference (3), a search
    /// that could not be made an error (1), never "none".
    pub(crate) fn exit_code(&self) -> crate::error::Exit {
        use crate::error::Exit;
        match (self.unchecked.is_empty(), self.retired.is_empty()) {
            (false, _) => Exit::Aws,
            (true, false) => Exit::Differences,
            (true, true) => Exit::Ok,
        }
    }
}

/// The environments the stack files of `envs` made and no longer make, each file searched
/// where these of its environments are (and a file of targets also where its targets'
/// record says the others are). A file deployed through StackSets is left out: its stack
/// sets' instances are its record, which `plan` reads.
pub(crate) async fn retired(aws: &Aws, envs: &[Environment]) -> Vec<Searched> {
    let mut files: Vec<Vec<&Environment>> = Vec::new();
    for env in envs.iter().filter(|e| e.deployed_directly()) {
        match files
            .iter_mut()
            .find(|f| f[0].source.path == env.source.path)
        {
            Some(f) => f.push(env),
            None => files.push(vec![env]),
        }
    }
    futures::future::join_all(files.into_iter().map(|of_file| async move {
        Searched {
            file: of_file[0].source.display(),
            found: of_file_envs(aws, &of_file).await,
        }
    }))
    .await
}

/// Each account and region listed once: its clients and the stack names there.
type Places = BTreeMap<(Option<String>, String), (Clients, Vec<String>)>;

/// What the marks say is where the command's environments `envs` are (`--region` where the
/// file lets it; a target refuses it): the file's own candidates (`wanted`: its live data
/// stacks hold its records), and, for a file with an `owner` (only an owner ties an
/// environment to a file by the file's name), every other environment there that no file of
/// the `directory` makes.
async fn where_they_are(
    aws: &Aws,
    envs: &[&Environment],
    directory: &super::Directory,
    wanted: &[String],
) -> Result<(Vec<(Made, super::Place)>, Places)> {
    let mut found = Vec::new();
    let mut places = Places::new();
    for env in envs {
        let at = (
            env.target.as_ref().and_then(|t| t.account.clone()),
            aws.region_for(&env.spec.region),
        );
        if places.contains_key(&at) {
            continue;
        }
        let clients = crate::session::clients_for(aws, env).await;
        let names = aws::stack_names(&clients.cfn, "qfleet-").await?;
        let place = super::Place {
            account: at.0.clone(),
            region: at.1.clone(),
        };
        let made_by_directory = directory.names_at(&place);
        let owned = env.spec.owner.is_some();
        let read_here = |n: &str| {
            let Some(name) = n
                .strip_prefix("qfleet-")
                .and_then(|n| n.strip_suffix("-data"))
            else {
                return false;
            };
            wanted.iter().any(|w| w == name) || (owned && !made_by_directory.contains(name))
        };
        for m in read_where(&clients, &names, read_here).await? {
            found.push((m, place.clone()));
        }
        places.insert(at, (clients, names));
    }
    Ok((found, places))
}

/// Where the environments of a file ran before the file moved them to another Region: the
/// places the data stacks of a file without targets record ([`crate::config::MOVED_TAG`];
/// a target's are its file's record), and, for one made anew where it is now (no data stack
/// there: a create, or the first deploy after a move) in the credentials' own account, a
/// scan of every other Region enabled for the account for its data stack (the file's first
/// such environment: a file's copies move together). Adds what it finds to `found`; returns
/// the names and Regions the scan found, which a retired one says.
async fn moved_from(
    aws: &Aws,
    envs: &[&Environment],
    found: &mut Vec<(Made, super::Place)>,
    places: &Places,
) -> Result<BTreeSet<(String, String)>> {
    let mut scanned = BTreeSet::new();
    let plain: Vec<&Environment> = envs
        .iter()
        .filter(|e| e.target.is_none())
        .copied()
        .collect();
    let known = |found: &[(Made, super::Place)], name: &str, region: &str| {
        found
            .iter()
            .any(|(m, p)| m.environment == name && p.region == region)
    };
    let recorded: Vec<(String, super::Place)> = found
        .iter()
        .filter(|(m, _)| plain.iter().any(|e| e.resource_name() == m.environment))
        .flat_map(|(m, _)| m.was.iter().map(|p| (m.environment.clone(), p.clone())))
        .collect();
    for (name, at) in recorded {
        if known(found, &name, &at.region) {
            continue;
        }
        let clients = aws.clients(&at.region).await;
        let names = aws::stack_names(&clients.cfn, &format!("qfleet-{name}-")).await?;
        for m in read(&clients, &names, std::slice::from_ref(&name), &[]).await? {
            found.push((m, at.clone()));
        }
    }
    // The scan: a file without targets, or a target in the credentials' own account (one
    // in another account is found through its file's other targets' record).
    let own: Vec<&Environment> = envs
        .iter()
        .filter(|e| e.target.as_ref().is_none_or(|t| t.account.is_none()))
        .copied()
        .collect();
    let Some(fresh) = own.iter().find(|e| {
        let at = (None, aws.region_for(&e.spec.region));
        places
            .get(&at)
            .is_some_and(|(_, names)| !names.contains(&e.data_stack_name()))
    }) else {
        return Ok(scanned);
    };
    let home = aws.region_for(&fresh.spec.region);
    let regions = crate::aws::enabled_regions(&aws.clients(&home).await.ec2).await?;
    let name = fresh.resource_name().to_string();
    let others: Vec<&String> = regions.iter().filter(|r| **r != home).collect();
    for chunk in others.chunks(AT_ONCE) {
        let read = futures::future::join_all(chunk.iter().map(|region| {
            let stack = format!("qfleet-{name}-data");
            async move {
                let clients = aws.clients(region).await;
                (region, aws::describe_stack(&clients.cfn, &stack).await)
            }
        }))
        .await;
        for (region, state) in read {
            let Some(state) = state.map_err(Error::from)? else {
                continue;
            };
            let Some(m) = Made::of(&state, &[]).filter(|m| m.environment == name) else {
                continue;
            };
            if known(found, &name, region) {
                continue;
            }
            // Its fleet stacks by their names there: one listing of that Region.
            let clients = aws.clients(region).await;
            let names = aws::stack_names(&clients.cfn, &format!("qfleet-{name}-")).await?;
            let m = Made::of(&state, &names).unwrap_or(m);
            scanned.insert((name.clone(), region.to_string()));
            found.push((
                m,
                super::Place {
                    account: None,
                    region: region.to_string(),
                },
            ));
        }
    }
    Ok(scanned)
}

/// The environments the stack file `file` made and no longer makes (none for a file deployed
/// through StackSets: its stack sets' instances are its record).
pub(crate) async fn retired_of_file(
    aws: &Aws,
    file: &crate::config::LoadedFile,
) -> Result<Vec<Retired>> {
    let envs = file.clone().expand();
    let direct: Vec<&Environment> = envs.iter().filter(|e| e.deployed_directly()).collect();
    match direct.is_empty() {
        true => Ok(Vec::new()),
        false => of_file_envs(aws, &direct).await,
    }
}

/// The environments the file of `envs` (one file's) no longer makes, as the model of
/// identity decides ([`super::identity::World::retired_of`]) on what the files of its
/// directory make and what the marks say exists where they were looked for: where the file's
/// environments are, where its targets' record says others were (a target taken out of
/// `targets`, or moved to another account or Region), and every other environment of qfleet's
/// in the places it deploys to that no file of its directory makes (`environment:` renamed,
/// or its file renamed with it).
async fn of_file_envs(aws: &Aws, envs: &[&Environment]) -> Result<Vec<Retired>> {
    let first = envs[0];
    let file = first.file_environment().to_string();
    // The name the file had before an `environment:` renamed it: its file name's.
    let stem = first
        .source
        .path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| *s != file && crate::config::valid_name(s))
        .map(str::to_string);
    let makes = makes(aws, first);
    let targets: Vec<String> = match &first.target {
        Some(t) => t
            .file
            .base
            .spec
            .targets
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        None => Vec::new(),
    };
    let made_here = |name: &str, at: &super::Place| makes.iter().any(|(n, p)| n == name && p == at);
    let directory = super::Directory::read(
        &[first
            .source
            .path
            .parent()
            .unwrap_or(std::path::Path::new("."))],
        &crate::config::StackFiles::default(),
    )
    .with(aws, envs.iter().copied());
    let mut wanted = candidates(&file, &targets);
    if let Some(stem) = &stem {
        wanted.extend(candidates(stem, &targets));
    }
    let (mut found, mut places) = where_they_are(aws, envs, &directory, &wanted).await?;
    let scanned = moved_from(aws, envs, &mut found, &places).await?;
    // Targets the record names where the file no longer makes them (taken out of `targets`,
    // or moved to another account or Region), where the record says they are (reached as the
    // role it names).
    let mut recorded: Vec<Recorded> = found
        .iter()
        .flat_map(|(m, _)| m.record.iter().cloned())
        .filter(|r| {
            let at = super::Place {
                account: r.account.clone(),
                region: r.region.clone(),
            };
            !made_here(&format!("{file}-{}", r.name), &at)
        })
        .collect();
    recorded.sort_by(|a, b| (&a.name, &a.region).cmp(&(&b.name, &b.region)));
    recorded.dedup();
    for r in &recorded {
        let at = (r.account.clone(), r.region.clone());
        if !places.contains_key(&at) {
            let role = role_of(first, r);
            let clients = aws
                .clients_as(&aws.region_for(&r.region), role.as_deref())
                .await;
            let names = aws::stack_names(&clients.cfn, "qfleet-").await?;
            places.insert(at.clone(), (clients, names));
        }
        let Some((clients, names)) = places.get(&at) else {
            continue;
        };
        let place = super::Place {
            account: r.account.clone(),
            region: r.region.clone(),
        };
        let wanted = [format!("{file}-{}", r.name)];
        let already = |n: &str| {
            found
                .iter()
                .any(|(m, p)| *p == place && m.stacks.first().is_some_and(|d| d == n))
        };
        let more: Vec<Made> = read(clients, names, &wanted, &[])
            .await?
            .into_iter()
            .filter(|m| !already(&m.stacks[0]))
            .collect();
        found.extend(more.into_iter().map(|m| (m, place.clone())));
    }
    let world = directory.world(found.iter().map(|(m, p)| (m.clone(), p.clone())));
    let Some(of) = world.file(&first.source.path).cloned() else {
        return Ok(Vec::new());
    };
    if let Some(u) = world.unchecked_for(&of).first() {
        return Err(Error::aws(format!(
            "could not read {} ({}), which may make an environment found beside {}: whether that one is retired is not known",
            u.path.display(),
            u.why,
            first.source.display()
        )));
    }
    let mut out: Vec<Retired> = Vec::new();
    for e in world.retired_of(&of) {
        let Some(marked) = e.marked else { continue };
        let m = &marked.made;
        let Some((_, place)) = found
            .iter()
            .find(|(f, p)| f.environment == m.environment && e.key.at(p))
        else {
            continue;
        };
        // The record of the target this environment was, where it was found.
        let record = recorded.iter().find(|r| {
            (m.target.as_ref() == Some(&r.name) || format!("{file}-{}", r.name) == m.environment)
                && r.region == place.region
        });
        let place = match record {
            Some(r) => super::Place {
                account: r.account.clone(),
                region: place.region.clone(),
            },
            None => place.clone(),
        };
        let by_this_file = m.file.as_deref() == Some(file.as_str())
            || m.stack_file.as_deref() == of.name()
            || (m.file.is_none() && m.of_file(&file, &of.targets))
            || (m.file.is_some() && m.file == stem);
        let how = if scanned.contains(&(m.environment.clone(), place.region.clone())) {
            " (found by a scan of the Regions enabled for the account)"
        } else if found.iter().any(|(f, _)| f.was.contains(&place)) {
            " (found through the record on its data stack where it is now)"
        } else {
            ""
        };
        out.push(Retired {
            why: why(first, m, &makes, &of, &world) + how,
            target: m.target.clone().or_else(|| record.map(|r| r.name.clone())),
            copy: m.copy.as_deref().and_then(|c| c.parse().ok()),
            role: record.and_then(|r| role_of(first, r)),
            made_as: m.file.clone(),
            by_this_file,
            // A place its file or record names an account for is said with it; else the
            // shortest address that reaches it alone.
            reached_as: match &place.account {
                Some(_) => place.address(&m.environment),
                None => world.address(e.key),
            },
            environment: m.environment.clone(),
            file: first.source.display(),
            // Where the record or the file does not name it, the data stack's own ARN does.
            in_account: place.account.clone().or(m.account.clone()),
            account: place.account,
            region: place.region,
            stacks: m.stacks.clone(),
        });
    }
    Ok(out)
}

/// Every environment the file of `env` makes now, and where (in the Region `--region` names,
/// where the file lets it).
fn makes(aws: &Aws, env: &Environment) -> Vec<(String, super::Place)> {
    let at = |e: &Environment| super::Place {
        account: e.target.as_ref().and_then(|t| t.account.clone()),
        region: aws.region_for(&e.spec.region),
    };
    if let Some(t) = &env.target {
        return t
            .file
            .targets()
            .iter()
            .map(|e| (e.resource_name().to_string(), at(e)))
            .collect();
    }
    match (&env.copy, env.spec.copies) {
        (Some(c), Some(n)) => crate::config::copy_names(&c.file, n)
            .into_iter()
            .map(|name| (name, at(env)))
            .collect(),
        _ => vec![(env.name.clone(), at(env))],
    }
}

/// Why the file no longer makes `m`: it is made elsewhere now (moved), the file's
/// environment was renamed, the file that made it is gone, or the copy or target is gone.
fn why(
    env: &Environment,
    m: &Made,
    makes: &[(String, super::Place)],
    of: &super::identity::FileOf,
    world: &super::identity::World,
) -> String {
    if let Some((_, now)) = makes.iter().find(|(n, _)| *n == m.environment) {
        return format!("it is made in {} now", now.describe());
    }
    if let Some(maker) = world
        .making
        .iter()
        .find(|x| x.key.name == m.environment && x.file != of.path)
    {
        return format!(
            "{} makes it in {} now",
            maker.file.display(),
            maker.key.region
        );
    }
    let file = env.file_environment();
    match (&m.file, &m.stack_file) {
        (Some(f), _) if f != file && m.stack_file.as_deref() == of.name() => {
            return format!("the file's environment is `{file}` now");
        }
        (Some(f), Some(s)) if f != file && m.stack_file.as_deref() != of.name() => {
            return format!("{s}, which made it, is not beside it any more");
        }
        (Some(f), None) if f != file => {
            return format!("the file's environment is `{file}` now");
        }
        _ => {}
    }
    match (&m.target, env.spec.copies) {
        (Some(t), _) => format!("target `{t}` is not in its targets"),
        (None, Some(n)) => format!("it has copies: {n}"),
        _ => "the file makes no such environment".to_string(),
    }
}

/// The role a recorded target is reached as: the one recorded, else `deploy_role` in its
/// account; `None`: the credentials' own.
fn role_of(env: &Environment, r: &Recorded) -> Option<String> {
    let deploy_role = env
        .target
        .as_ref()
        .and_then(|t| t.file.base.spec.deploy_role.clone());
    r.role.clone().or_else(|| {
        let account = r.account.as_deref()?;
        deploy_role.map(|name| crate::config::role_in(&name, &r.region, account))
    })
}

/// The environment named `name` that `file` (the stack file, loaded) made and no longer
/// makes (at `place`, where one is given), as it still is in AWS (its settings the file's,
/// where it is and as whom it is reached its record's): `None` when there is none. Its
/// stacks must be the ones its environment is made of; a stack of a stage the file no
/// longer has is refused, never left behind unseen.
pub(crate) async fn named(
    aws: &Aws,
    file: &crate::config::LoadedFile,
    name: &str,
    place: Option<&super::Place>,
) -> Result<Option<Environment>> {
    let envs = file.clone().expand();
    let direct: Vec<&Environment> = envs.iter().filter(|e| e.deployed_directly()).collect();
    if direct.is_empty() {
        return Ok(None);
    }
    let found: Vec<Retired> = of_file_envs(aws, &direct)
        .await?
        .into_iter()
        .filter(|r| r.environment == name && place.is_none_or(|p| r.at(p)))
        .collect();
    // Tied to the file only by its place (the file that made it is gone): its settings are
    // not this file's, so it is read from its stacks alone.
    if let [one] = found.as_slice()
        && !one.by_this_file
    {
        let at = super::Place {
            account: one.account.clone(),
            region: one.region.clone(),
        };
        return super::from_stacks(aws, name, &at).await;
    }
    let r = match found.as_slice() {
        [] => return Ok(None),
        [one] => one,
        several => {
            return Err(crate::environments::errors::Usage::Ambiguous {
                name: name.to_string(),
                candidates: several
                    .iter()
                    .map(|r| format!("{} (made by {})", r.address(), r.file))
                    .collect(),
            }
            .into());
        }
    };
    let mut env = match (&r.target, direct[0].target.as_ref()) {
        (Some(t), Some(any)) => crate::config::retired(
            &any.file,
            t,
            r.account.clone(),
            r.region.clone(),
            r.role.clone(),
        ),
        (None, None) => {
            // A file without targets: its own settings are its environment's, or its copies'.
            let own = &file.base;
            let made_as = r.made_as.as_deref().unwrap_or(own.name.as_str());
            match r.copy {
                Some(_) => file.retired_copy(name, made_as, r.copy),
                None if own.spec.copies.is_none() || made_as != own.name => own.renamed(name),
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    if env.target.is_none() && env.spec.region != r.region {
        env.spec.region.clone_from(&r.region);
        for stage in &mut env.pipeline {
            stage.spec.region.clone_from(&r.region);
        }
    }
    let own = env.stack_names();
    let strange: Vec<&str> = r
        .stacks
        .iter()
        .filter(|s| !own.contains(s))
        .map(String::as_str)
        .collect();
    if !strange.is_empty() {
        return Err(Error::aws(format!(
            "{name}: {} no longer makes it, and it has stacks its file would not name now ({}): qfleet reads and tears down only the stacks it can name; delete these yourself once their data is safe",
            file.base.source.display(),
            strange.join(", ")
        )));
    }
    Ok(Some(env))
}

/// The environments whose data stacks are among `names` (one listing of the account and
/// region), of those named as the file's environments may be (`candidates`, but for `skip`),
/// as their marks say: a name decides only which stacks are read, never whose one is (and a
/// least-privilege policy lets qfleet read only its file's names). A stack that cannot be read
/// fails the search: never fewer environments.
async fn read(
    clients: &Clients,
    names: &[String],
    candidates: &[String],
    skip: &[String],
) -> Result<Vec<Made>> {
    read_where(clients, names, |n| {
        candidates.iter().any(|c| *n == format!("qfleet-{c}-data")) && !skip.iter().any(|s| s == n)
    })
    .await
}

/// Every environment qfleet made in the account and region of `clients`, as its data stack's
/// marks say (the data stacks of the stacks named `qfleet-…`): one listing, then each read.
/// The kind of worker is read from a workers' stack (the data stack does not say it): the
/// environment's own fleet stack, else its first stage's.
pub(crate) async fn every(clients: &Clients) -> Result<Vec<Made>> {
    let names = aws::stack_names(&clients.cfn, "qfleet-").await?;
    let mut made = read_where(clients, &names, |n| n.ends_with("-data")).await?;
    let fleets: Vec<Option<String>> = made
        .iter()
        .map(|m| {
            let own = format!("qfleet-{}-fleet", m.environment);
            m.stacks
                .iter()
                .find(|n| **n == own)
                .or_else(|| m.stacks.iter().find(|n| n.ends_with("-fleet")))
                .cloned()
        })
        .collect();
    for (chunk, fleets) in made.chunks_mut(AT_ONCE).zip(fleets.chunks(AT_ONCE)) {
        let read = futures::future::join_all(fleets.iter().map(|f| async move {
            match f {
                Some(f) => aws::describe_stack(&clients.cfn, f).await,
                None => Ok(None),
            }
        }))
        .await;
        for (m, state) in chunk.iter_mut().zip(read) {
            // None: no workers' stack (a data stack alone), or deleted since the listing.
            if let Some(state) = state.map_err(Error::from)? {
                m.kind = state
                    .tags
                    .get(crate::config::KIND_TAG)
                    .cloned()
                    .or(m.kind.take());
            }
        }
    }
    Ok(made)
}

/// The environments of the data stacks among `names` that `wanted` picks.
async fn read_where(
    clients: &Clients,
    names: &[String],
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<Made>> {
    let data: Vec<&String> = names.iter().filter(|n| wanted(n)).collect();
    let mut made = Vec::new();
    for chunk in data.chunks(AT_ONCE) {
        let read =
            futures::future::join_all(chunk.iter().map(|n| aws::describe_stack(&clients.cfn, n)))
                .await;
        for state in read {
            // None: deleted between the listing and the read, so nothing made there now.
            if let Some(state) = state.map_err(Error::from)? {
                made.extend(Made::of(&state, names));
            }
        }
    }
    Ok(made)
}

/// The names the environments of the file `file` may have: its own, its copies' (two or
/// three digits), its targets' (`targets`: the file's and the ones recorded).
fn candidates(file: &str, targets: &[String]) -> Vec<String> {
    std::iter::once(file.to_string())
        .chain(crate::config::copy_names(file, 99))
        .chain(crate::config::copy_names(file, 100))
        .chain(targets.iter().map(|t| format!("{file}-{t}")))
        .collect()
}
