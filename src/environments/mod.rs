//! What qfleet made in an account and region, found by its marks (the tags every stack it
//! deploys carries, [`crate::ownership::marks`]): each environment of a stack file there,
//! and those the file no longer makes (a copy above `copies`, a target taken out of
//! `targets`). Such an environment keeps running, billed and holding its data, until it is
//! torn down: `plan`, `deploy` and `status` name it, with the command that retires it.
//!
//! The search lists the stack names once per account and region (ListStacks), then reads
//! the data stack of each environment its file may have made (`qfleet-FILE…`) that the
//! command does not read already: its marks decide, never its name. A stack deployed before
//! the file mark (`qfleet:file`) is the file's when it is named as one of its copies are.
//! A directly deployed target's data stack records its file's targets
//! ([`crate::ownership::record`]): a target the file drops is found, and reached, through
//! the ones that stay.
//!
//! The names a command line gives environments are resolved here, in one place: the ENV
//! words (a file's name or path, a copy, a declared name, a target, a glob: `names.rs`) and
//! an environment's place (`NAME@REGION`, `NAME@ACCOUNT/REGION`: `address.rs`).

mod address;
mod alone;
mod directory;
pub(crate) mod errors;
pub(crate) mod identity;
mod names;
mod report;
mod search;

pub(crate) use address::{at_place, check_unambiguous, place_of, stopped};
pub(crate) use alone::from_stacks;
pub(crate) use directory::Directory;
pub(crate) use names::{base_files, file_named, load_from, same_file};
pub(crate) use report::listing;
pub(crate) use search::{Found, every, named, retired};

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;
#[cfg(test)]
pub(crate) use search::{Retired, Unchecked};

use crate::aws::StackState;
use crate::config::{
    COPY_TAG, ENVIRONMENT_TAG, FILE_TAG, KIND_TAG, MOVED_TAG, OWNER_TAG, STACK_FILE_TAG,
    TARGET_TAG, TARGETS_TAG,
};

/// Where an environment's stacks are: a Region, and the account where it is known (`None`:
/// the credentials' own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub account: Option<String>,
    pub region: String,
}

/// What joins an environment's name and its place on a command line (`orders-us1@us-east-1`).
const PLACE_MARK: char = '@';

impl Place {
    /// `name@region`, or `name@account/region` where the account is known: the name of one
    /// environment in one place, which every command that reads or tears down takes
    /// ([`Place::pick`]).
    pub(crate) fn address(&self, name: &str) -> String {
        match &self.account {
            Some(a) => format!("{name}{PLACE_MARK}{a}/{}", self.region),
            None => format!("{name}{PLACE_MARK}{}", self.region),
        }
    }

    /// Where it is, in words: `us-east-1`, or `111122223333 us-east-1`.
    pub(crate) fn describe(&self) -> String {
        match &self.account {
            Some(a) => format!("{a} {}", self.region),
            None => self.region.clone(),
        }
    }

    /// `orders-us1@us-east-1` or `orders-us1@111122223333/us-east-1` on a command line: the
    /// environment `orders-us1` whose stacks are in that Region (and account). `None` for
    /// anything else: a path (`ci/job@2/orders.yaml`), one account of a whole unit
    /// (`orders-eu@111122223333`, [`crate::placement::account_pick`]), or an `@` not followed
    /// by a Region's code.
    pub(crate) fn pick(arg: &str) -> Option<(&str, Place)> {
        let (name, place) = arg.rsplit_once(PLACE_MARK)?;
        if name.is_empty()
            || name.contains(['/', '\\', '*', '?', '['])
            || name.ends_with(".yaml")
            || name.ends_with(".yml")
        {
            return None;
        }
        let (account, region) = match place.split_once('/') {
            Some((a, r)) if crate::config::valid_account(a) => (Some(a.to_string()), r),
            Some(_) => return None,
            None => (None, place),
        };
        crate::config::valid_region(region).then(|| {
            (
                name,
                Place {
                    account,
                    region: region.to_string(),
                },
            )
        })
    }
}

/// One environment qfleet made, as its data stack's marks say.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Made {
    /// The environment its stacks are marked with (`class-21`).
    pub environment: String,
    /// Its file's environment (`class`), where its stacks say.
    pub file: Option<String>,
    /// Its stack file's name (`classroom.yaml`), where its stacks say.
    pub stack_file: Option<String>,
    pub owner: Option<String>,
    /// The kinds of its workers (`ec2`, `ec2+lambda`), where its stacks say.
    pub kind: Option<String>,
    /// Which copy or target of its file it is, where its stacks say.
    pub copy: Option<String>,
    pub target: Option<String>,
    /// Its stacks there: the data stack first.
    pub stacks: Vec<String>,
    /// The record of its file's targets on its data stack.
    pub record: Vec<Recorded>,
    /// Where it ran before its file moved it, as its data stack records.
    pub was: Vec<Place>,
    /// The account its data stack is in, from the stack's ARN.
    pub account: Option<String>,
}

/// One target of a file as a target's data stack records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub name: String,
    /// `None`: the credentials' own account (the target named none).
    pub account: Option<String>,
    pub region: String,
    /// The role qfleet assumes there, where `deploy_role` does not name it.
    pub role: Option<String>,
}

impl Made {
    /// The environment the data stack `data` says it is, with its stacks among `names`;
    /// `None` for a stack without qfleet's environment mark.
    pub(crate) fn of(data: &StackState, names: &[String]) -> Option<Made> {
        let tag = |k: &str| data.tags.get(k).cloned();
        let environment = tag(ENVIRONMENT_TAG)?;
        // Its fleet stacks by qfleet's names: `qfleet-ENV-fleet` and each stage's
        // `qfleet-ENV--STAGE-fleet` (no environment name holds `--`), never another
        // environment's that only starts like it (`qfleet-ENV-api-fleet`).
        let fleet = format!("qfleet-{environment}-fleet");
        let stage = format!("qfleet-{environment}--");
        let mut stacks = vec![data.name.clone()];
        stacks.extend(
            names
                .iter()
                .filter(|n| {
                    **n != data.name
                        && (**n == fleet || (n.starts_with(&stage) && n.ends_with("-fleet")))
                })
                .cloned(),
        );
        let record = data
            .tags
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(TARGETS_TAG)?, v)))
            .filter_map(|(key, v)| {
                // `NAME@REGION`: a target its file moved, where it was.
                let name = key.split('@').next().unwrap_or(key);
                let mut parts = v.split(' ');
                let account = parts.next()?;
                let region = parts.next()?.to_string();
                Some(Recorded {
                    name: name.to_string(),
                    account: (account != "-").then(|| account.to_string()),
                    region,
                    role: parts.next().map(str::to_string),
                })
            })
            .collect();
        let was = data
            .tags
            .iter()
            .filter_map(|(k, v)| {
                let region = k.strip_prefix(MOVED_TAG)?;
                crate::config::valid_region(region).then(|| Place {
                    account: (v != "-").then(|| v.clone()),
                    region: region.to_string(),
                })
            })
            .collect();
        Some(Made {
            was,
            environment,
            file: tag(FILE_TAG),
            stack_file: tag(STACK_FILE_TAG),
            owner: tag(OWNER_TAG),
            kind: tag(KIND_TAG),
            copy: tag(COPY_TAG),
            target: tag(TARGET_TAG),
            stacks,
            record,
            account: data.account().map(str::to_string),
        })
    }

    /// Whether it is an environment of the file whose own environment is `file`: its stacks
    /// say so, or, deployed before they said, it is named as one of the file's copies or
    /// `targets` are.
    pub(crate) fn of_file(&self, file: &str, targets: &[String]) -> bool {
        match &self.file {
            Some(f) => f == file,
            None => {
                crate::config::copy_names(file, 100)
                    .iter()
                    .chain(&crate::config::copy_names(file, 99))
                    .any(|n| *n == self.environment)
                    || targets
                        .iter()
                        .any(|t| format!("{file}-{t}") == self.environment)
            }
        }
    }
}

#[cfg(test)]
mod tests;
