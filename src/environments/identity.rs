//! Identity: which environment a name reaches, and which stack file makes it.
//!
//! An environment is its stacks. qfleet names them after the environment
//! (`qfleet-NAME-data`, `qfleet-NAME-fleet`, …), and a stack's name is unique in its account
//! and Region, so a name, an account and a Region ([`Key`]) are one environment: whatever
//! file makes it now, made it, or made it first. Every decision here is a function of two
//! lists, so that it is tested on generated sequences of edits and deploys (`tests.rs`):
//! what the stack files of the directory make ([`Making`], read from each file alone) and
//! what qfleet's marks on the stacks say exists ([`Marked`], read from AWS).
//!
//! - An environment a file makes is that file's (two files making it is a conflict, which
//!   names them). One the marks say exists and no file makes is *retired*: it keeps running
//!   until a teardown by its address retires it.
//! - A name reaches every environment of that name, wherever it is. More than one is
//!   refused, and each is named by an address that reaches it alone ([`World::address`]).
//! - A retired environment is shown by the files its marks tie it to
//!   ([`World::retired_of`]). A file that makes it is never told it is retired.

use super::{Made, Place};
use std::path::{Path, PathBuf};

/// One environment: its name, its account (`None` only where the credentials' own account
/// is not known) and its Region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    pub name: String,
    pub account: Option<String>,
    pub region: String,
}

impl Key {
    /// Whether it is at `place` (an account the place does not name matches any).
    pub(crate) fn at(&self, place: &Place) -> bool {
        self.region == place.region
            && place
                .account
                .as_ref()
                .is_none_or(|a| self.account.as_ref() == Some(a))
    }
}

/// An environment a stack file of the directory makes now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Making {
    pub key: Key,
    /// The stack file.
    pub file: PathBuf,
    /// The file's own environment (`orders` of `orders-us1`): what the marks will say.
    pub file_environment: String,
    pub owner: Option<String>,
}

/// An environment whose data stack carries qfleet's marks, as they say.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Marked {
    pub key: Key,
    pub made: Made,
}

/// A stack file of the directory: what ties a retired environment to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileOf {
    pub path: PathBuf,
    /// Its own environment (`environment:`, else its file name's stem).
    pub file_environment: String,
    pub owner: Option<String>,
    /// Its targets' names, for a stack deployed before the file mark.
    pub targets: Vec<String>,
    /// Where it makes environments.
    pub places: Vec<Place>,
}

impl FileOf {
    /// Its file name (`orders.yaml`), as the stack-file mark says it.
    pub(crate) fn name(&self) -> Option<&str> {
        self.path.file_name().and_then(|n| n.to_str())
    }

    fn stem(&self) -> Option<&str> {
        self.path.file_stem().and_then(|n| n.to_str())
    }
}

/// A stack file of the directory that could not be read: what it makes is not known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unreadable {
    pub path: PathBuf,
    pub why: String,
}

impl Unreadable {
    /// Whether it could make an environment named `name`: its file name's stem is the name
    /// or begins it (a copy or a target). A name it declares inside is not read.
    fn could_make(&self, name: &str) -> bool {
        self.path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|stem| name == stem || name.starts_with(&format!("{stem}-")))
    }
}

/// What the directory's stack files make and what the marks say exists, joined by [`Key`].
#[derive(Debug, Clone, Default)]
pub(crate) struct World {
    pub making: Vec<Making>,
    pub marked: Vec<Marked>,
    pub files: Vec<FileOf>,
    pub unreadable: Vec<Unreadable>,
}

/// One environment of a [`World`]: the files that make it, and its marks where its stacks are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entity<'w> {
    pub key: &'w Key,
    /// Usually one, or none: retired (or not deployed, without marks). Two are a conflict.
    pub makers: &'w [Making],
    pub marked: Option<&'w Marked>,
}

impl Entity<'_> {
    pub(crate) fn retired(&self) -> bool {
        self.makers.is_empty() && self.marked.is_some()
    }
}

/// What a name reaches.
#[derive(Debug)]
pub(crate) enum Reach<'w> {
    One(Entity<'w>),
    None,
    /// More than one environment: each with the address that reaches it alone.
    Several(Vec<(Entity<'w>, String)>),
}

impl World {
    /// The world of `making` (every file's, as read) and `marked` (as found): one entry per
    /// key, the same stacks found twice counted once.
    pub(crate) fn new(
        mut making: Vec<Making>,
        mut marked: Vec<Marked>,
        files: Vec<FileOf>,
        unreadable: Vec<Unreadable>,
    ) -> World {
        making.sort_by(|a, b| (&a.key, &a.file).cmp(&(&b.key, &b.file)));
        making.dedup_by(|a, b| a.key == b.key && a.file == b.file);
        marked.sort_by(|a, b| a.key.cmp(&b.key));
        marked.dedup_by(|a, b| a.key == b.key);
        World {
            making,
            marked,
            files,
            unreadable,
        }
    }

    /// Every environment, each once, by key.
    pub(crate) fn entities(&self) -> Vec<Entity<'_>> {
        let mut keys: Vec<&Key> = self
            .making
            .iter()
            .map(|m| &m.key)
            .chain(self.marked.iter().map(|m| &m.key))
            .collect();
        keys.sort();
        keys.dedup();
        keys.into_iter().filter_map(|k| self.entity(k)).collect()
    }

    /// The environment `key`, where a file makes it or marks say it exists.
    fn entity<'w>(&'w self, key: &Key) -> Option<Entity<'w>> {
        let start = self.making.partition_point(|m| m.key < *key);
        let end = start + self.making[start..].partition_point(|m| m.key == *key);
        let makers = &self.making[start..end];
        let marked = self
            .marked
            .binary_search_by(|m| m.key.cmp(key))
            .ok()
            .map(|i| &self.marked[i]);
        let key = makers.first().map(|m| &m.key).or(marked.map(|m| &m.key))?;
        Some(Entity {
            key,
            makers,
            marked,
        })
    }

    /// The environments named `name` (at `place`, where one is given).
    pub(crate) fn named(&self, name: &str, place: Option<&Place>) -> Vec<Entity<'_>> {
        self.entities()
            .into_iter()
            .filter(|e| e.key.name == name && place.is_none_or(|p| e.key.at(p)))
            .collect()
    }

    /// What `name` (at `place`) reaches: one environment, none, or several, each then named
    /// by its own address.
    pub(crate) fn reach(&self, name: &str, place: Option<&Place>) -> Reach<'_> {
        let mut found = self.named(name, place);
        match found.len() {
            0 => Reach::None,
            1 => Reach::One(found.remove(0)),
            _ => Reach::Several(
                found
                    .into_iter()
                    .map(|e| {
                        let a = self.address(e.key);
                        (e, a)
                    })
                    .collect(),
            ),
        }
    }

    /// The address that reaches the environment `key` alone: `NAME@REGION`, or
    /// `NAME@ACCOUNT/REGION` where another environment of that name is in that Region in
    /// another account (or its account is not known beside one whose account is).
    pub(crate) fn address(&self, key: &Key) -> String {
        let short = Place {
            account: None,
            region: key.region.clone(),
        };
        let alone = self.named(&key.name, Some(&short)).len() <= 1;
        match (&key.account, alone) {
            (Some(a), false) => Place {
                account: Some(a.clone()),
                region: key.region.clone(),
            }
            .address(&key.name),
            _ => short.address(&key.name),
        }
    }

    /// The retired environments tied to `file`: by their marks, made by its environment (a
    /// copy or target it dropped or moved, or the file renamed keeping its environment); made
    /// by it under another environment name (`environment:` renamed in the same file), by
    /// the same owner; made before the marks said, named as its copies or targets are, or
    /// under its file name's stem by the same owner; or made by a file of its directory that
    /// is gone (renamed with its environment) in a place it deploys to, by the same owner.
    /// The owner must be set where only a file's name ties them. An environment an
    /// unreadable file of the directory could make is left out (it is in
    /// [`World::unchecked_for`]): never called retired on no evidence.
    pub(crate) fn retired_of<'w>(&'w self, file: &FileOf) -> Vec<Entity<'w>> {
        self.entities()
            .into_iter()
            .filter(|e| e.retired())
            .filter(|e| !self.unreadable.iter().any(|u| u.could_make(&e.key.name)))
            .filter(|e| e.marked.is_some_and(|m| self.ties(&m.made, e.key, file)))
            .collect()
    }

    /// The unreadable files of the directory that could make a retired environment tied to
    /// nothing else: what `retired_of` cannot say.
    pub(crate) fn unchecked_for(&self, file: &FileOf) -> Vec<&Unreadable> {
        let dir = file.path.parent();
        self.unreadable
            .iter()
            .filter(|u| u.path.parent() == dir)
            .filter(|u| {
                self.entities()
                    .iter()
                    .any(|e| e.retired() && u.could_make(&e.key.name))
            })
            .collect()
    }

    /// Whether the marks `m` of the environment `key` tie it to `file`. A file name or a
    /// file gone from the directory ties it only with the same owner, set: two checkouts in
    /// one account (two teams' `prod.yaml`) share file names, never an environment's name.
    fn ties(&self, m: &Made, key: &Key, file: &FileOf) -> bool {
        let same_owner = m.owner == file.owner;
        let owned_alike = file.owner.is_some() && same_owner;
        let by_another = |environment: &str| {
            self.files
                .iter()
                .any(|f| f.path != file.path && f.file_environment == environment)
        };
        // Made under the file's stem before `environment:` renamed it (`class.yaml` that
        // said `environment: class`): a name no other place can have for another file.
        let stem = same_owner
            && file.stem().is_some_and(|stem| {
                m.file.as_deref() == Some(stem) && stem != file.file_environment
            });
        match (&m.file, &m.stack_file) {
            (Some(f), _) if *f == file.file_environment => true,
            (Some(f), _) if by_another(f) => false,
            (None, _) => m.of_file(&file.file_environment, &file.targets),
            (_, Some(s)) if Some(s.as_str()) == file.name() => owned_alike || stem,
            (Some(_), stack_file) => {
                // Made by a file of this directory that is not here any more.
                let gone = stack_file.as_deref().is_some_and(|s| {
                    !self
                        .files
                        .iter()
                        .any(|f| f.path.parent() == file.path.parent() && f.name() == Some(s))
                }) && file.places.iter().any(|p| key.at(p));
                stem || (gone && owned_alike)
            }
        }
    }

    /// The file that makes `key`, when exactly one does.
    pub(crate) fn maker(&self, key: &Key) -> Option<&Making> {
        match self.entity(key)?.makers {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The files of the world, by path.
    pub(crate) fn file(&self, path: &Path) -> Option<&FileOf> {
        self.files.iter().find(|f| super::same_file(&f.path, path))
    }
}

/// The stack file at `path` as [`crate::config::declared`] read it, and each environment it
/// makes (`own`: the credentials' account where it is known, for an environment its file
/// places in no account).
pub(crate) fn file_of(
    path: &Path,
    makes: crate::config::FileMakes,
    own: Option<&str>,
) -> (FileOf, Vec<Making>) {
    let making: Vec<Making> = makes
        .environments
        .into_iter()
        .map(|d| Making {
            key: Key {
                name: d.name,
                account: d.account.or_else(|| own.map(str::to_string)),
                region: d.region,
            },
            file: path.to_path_buf(),
            file_environment: d.file_environment,
            owner: d.owner,
        })
        .collect();
    let mut places: Vec<Place> = making
        .iter()
        .map(|m| Place {
            account: m.key.account.clone(),
            region: m.key.region.clone(),
        })
        .collect();
    places.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    places.dedup();
    let of = FileOf {
        path: path.to_path_buf(),
        file_environment: makes.file_environment,
        owner: makes.owner,
        targets: makes.targets,
        places,
    };
    (of, making)
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
